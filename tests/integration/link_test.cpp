// The cross-border link end to end (issue 5): two nodes (the Vietnamese and the Chinese side)
// on loopback, each with its own database, keys and HTTPS peer listener, exchanging signed
// messages.

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/core/digest.h>
#include <borderflow/core/hs_code.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/link/envelope.h>
#include <borderflow/link/messages.h>
#include <borderflow/link/node_key.h>
#include <borderflow/net/http_client.h>
#include <borderflow/net/http_server.h>
#include <borderflow/net/testing/stream_reader.h>
#include <borderflow/net/testing/tcp_proxy.h>
#include <borderflow/net/tls.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct KeyPair {
  NodeKey key;
  std::string file;
};

KeyPair MakeKey(const std::filesystem::path& dir, const std::string& name) {
  KeyPair k{GenerateNodeKey(*ParseTimestamp("2026-11-01T00:00:00Z")), (dir / name).string()};
  Status written = WriteKeyFile(k.file, k.key, true);
  EXPECT_TRUE(written) << written.error().ToString();
  return k;
}

PinnedPeerKey Pin(const NodeKey& key) {
  return PinnedPeerKey{key.key_id, Base64Encode(key.public_key), std::nullopt, std::nullopt};
}

void ExpectAuditChainOk(TestNode& node) {
  Store& store = node.runtime().store();
  auto verified = VerifyAuditChain([&](int64_t after) { return store.ReadAudit(after, 500); });
  ASSERT_TRUE(verified) << verified.error().ToString();
  EXPECT_TRUE(verified->ok) << verified->reason;
}

// The two nodes of the pair with the link configured both ways. The senders run only when
// `senders` is set; otherwise the test pumps them with Pump().
class LinkPair {
 public:
  explicit LinkPair(bool senders = false, std::string recognise = "clean_and_seal_intact",
                    std::function<void(GateConfig&)> extra = {},
                    size_t max_request_bytes = kMaxBatchBytes)
      : keys_dir_(std::filesystem::temp_directory_path() /
                  fmt::format("bf-link-keys-{}-{}", ::getpid(), ++counter_)) {
    std::filesystem::create_directories(keys_dir_);
    vn_key_ = MakeKey(keys_dir_, "vn.key");
    cn_key_ = MakeKey(keys_dir_, "cn.key");
    auto configure = [this, recognise, extra](const KeyPair& own, const KeyPair& peer) {
      return [&own, &peer, recognise, extra](GateConfig& c) {
        c.link.enabled = true;
        c.link.key_file = own.file;
        c.link.listen = "127.0.0.1:0";
        c.link.recognise_inspections = recognise;
        c.link.retry_min = 20ms;
        c.link.retry_max = 200ms;
        c.counterpart.keys = {Pin(peer.key)};
        c.counterpart.peer_url = "https://127.0.0.1:9/peer/v1";  // set once both listen
        if (extra) extra(c);
      };
    };
    auto tweak = [senders, max_request_bytes](RuntimeOptions& o) {
      o.link.sender = senders;
      o.link.max_request_bytes = max_request_bytes;
      o.link.poll = 20ms;
      o.link.request_timeout = 2000ms;
    };
    vn_ = std::make_unique<TestNode>("huu-nghi.toml", configure(vn_key_, cn_key_), tweak);
    cn_ = std::make_unique<TestNode>("youyiguan.toml", configure(cn_key_, vn_key_), tweak);
    Connect();
  }
  ~LinkPair() {
    vn_.reset();
    cn_.reset();
    std::error_code ec;
    std::filesystem::remove_all(keys_dir_, ec);
  }

  // Points each sender at the other's peer listener (after a start or restart).
  void Connect() {
    vn_->runtime().link()->SetPeerUrl(PeerUrl(*cn_));
    cn_->runtime().link()->SetPeerUrl(PeerUrl(*vn_));
  }
  static std::string PeerUrl(TestNode& node) {
    return fmt::format("https://127.0.0.1:{}/peer/v1", node.runtime().peer_port());
  }

  // Sends both outboxes until both are empty (or a send fails).
  void Pump() {
    for (int round = 0; round < 20; ++round) {
      auto a = vn_->runtime().link()->SendOnce();
      ASSERT_TRUE(a) << a.error().ToString();
      auto b = cn_->runtime().link()->SendOnce();
      ASSERT_TRUE(b) << b.error().ToString();
      if (*a == 0 && *b == 0) return;
    }
    FAIL() << "the outboxes did not drain";
  }

  TestNode& vn() { return *vn_; }
  TestNode& cn() { return *cn_; }
  const NodeKey& vn_key() const { return vn_key_.key; }
  const NodeKey& cn_key() const { return cn_key_.key; }
  const std::filesystem::path& keys_dir() const { return keys_dir_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path keys_dir_;
  KeyPair vn_key_, cn_key_;
  std::unique_ptr<TestNode> vn_, cn_;
};

std::string State(TestNode& node, const std::string& id, std::string_view user = "operator") {
  ApiReply r = node.Call("GET", "/api/v1/crossings/" + id, user);
  if (r.status != 200) return fmt::format("HTTP {}", r.status);
  return std::string(r.body.at("state").as_string());
}

void Step(TestNode& node, const std::string& id, std::string_view type, std::string_view user,
          std::string_view data = "{}") {
  ApiReply r = node.Event(id, type, user, data);
  ASSERT_EQ(r.status, 200) << type << ": " << r.raw;
}

// Moves a declared VN crossing to released through the VN gate: red channel, inspected with no
// finding, seal read intact at the gate.
void ClearAtVietnameseGate(TestNode& vn, const std::string& id) {
  Step(vn, id, "enter_yard", "camera");
  Step(vn, id, "call_forward", "operator");
  Step(vn, id, "arrive_at_gate", "camera");
  ApiReply seal = vn.Call("POST", "/api/v1/crossings/" + id + "/findings", "guard",
                          R"({"kind": "seal", "seal": "intact"})");
  ASSERT_EQ(seal.status, 200) << seal.raw;
  Step(vn, id, "start_inspection", "customs");
  Step(vn, id, "record_inspection", "customs", R"({"outcome": "no_finding"})");
  Step(vn, id, "release", "customs");
}

int64_t CountAudit(TestNode& node, std::string_view action) {
  auto records = node.runtime().store().ReadAudit(0, 10000);
  EXPECT_TRUE(records);
  int64_t n = 0;
  for (const AuditRecord& r : *records) n += r.action == action ? 1 : 0;
  return n;
}

TEST(LinkTest, TruckDeclaredInVietnamCrossesAndClosesOnBothSides) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  ASSERT_FALSE(id.empty());
  // Not announced before its assessment.
  pair.Pump();
  EXPECT_EQ(State(cn, id), "HTTP 404");
  Step(vn, id, "assess", "customs", R"({"channel": "red"})");
  pair.Pump();
  // Pre-announced: the Chinese side expects the truck, with its consignment.
  ApiReply expected = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(expected.status, 200) << expected.raw;
  EXPECT_EQ(expected.body.at("state").as_string(), "expected");
  EXPECT_EQ(expected.body.at("announced_by").as_string(), "vn-huu-nghi");
  EXPECT_EQ(expected.body.at("lines").at(0).at("hs_code").as_string(), "081060");
  EXPECT_EQ(expected.body.at("vehicle").at("plate").at("canonical").as_string(), "12C12345");
  // The declaring company's id is the Vietnamese node's: on the Chinese side it is namespaced,
  // and a Chinese forwarder whose company has the same id sees nothing of it.
  EXPECT_EQ(expected.body.at("company_id").as_string(), "vn-huu-nghi:COMPANY-A");
  EXPECT_EQ(cn.Call("GET", "/api/v1/crossings/" + id, "fwd-a").status, 404);
  EXPECT_EQ(cn.Call("POST", "/api/v1/crossings/" + id + "/events", "fwd-a",
                    R"({"type": "cancel", "data": {"reason": "not mine"}})")
                .status,
            404);

  ClearAtVietnameseGate(vn, id);
  Step(vn, id, "cross", "guard");
  EXPECT_EQ(State(vn, id), "crossed");
  pair.Pump();
  // The clean inspection with the same seal intact is recognised: the handover puts the truck
  // past the second inspection, and the receipt closes it on the Vietnamese side.
  ApiReply handed = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  EXPECT_EQ(handed.body.at("state").as_string(), "checked") << handed.raw;
  EXPECT_EQ(handed.body.at("last_check").at("kind").as_string(), "recognised_inspection");
  EXPECT_EQ(State(vn, id), "received");
  Step(cn, id, "release", "customs");
  EXPECT_EQ(State(cn, id), "received");

  // Both trails record the exchange and verify.
  EXPECT_EQ(CountAudit(cn, "announce"), 1);
  EXPECT_EQ(CountAudit(cn, "hand_over"), 1);
  EXPECT_EQ(CountAudit(vn, "confirm_receipt"), 1);
  EXPECT_GE(CountAudit(cn, "peer_message"), 4);  // pre-arrival, inspection, release, handover
  EXPECT_EQ(CountAudit(cn, "peer_message_rejected"), 0);
  ExpectAuditChainOk(vn);
  ExpectAuditChainOk(cn);

  // The link's state, for operators.
  ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
  ASSERT_EQ(link.status, 200) << link.raw;
  EXPECT_EQ(link.body.at("state").as_string(), "up");
  EXPECT_EQ(link.body.at("backlog").as_int64(), 0);
  EXPECT_EQ(vn.Call("GET", "/api/v1/link", "fwd-a").status, 403);
  ApiReply metrics = cn.Call("GET", "/metrics", "");
  EXPECT_NE(metrics.raw.find("borderflow_link_up 1"), std::string::npos);
  EXPECT_NE(metrics.raw.find("borderflow_link_applied_total"), std::string::npos);
}

TEST(LinkTest, WithoutRecognitionTheTruckIsInspectedAgain) {
  LinkPair pair(false, "never");
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  Step(vn, id, "assess", "customs", R"({"channel": "red"})");
  ClearAtVietnameseGate(vn, id);
  Step(vn, id, "cross", "guard");
  pair.Pump();
  EXPECT_EQ(State(cn, id), "at_gate");
  EXPECT_EQ(State(vn, id), "received");
  Step(cn, id, "check_documents", "customs", R"({"outcome": "ok"})");
  Step(cn, id, "release", "customs");
  EXPECT_EQ(State(cn, id), "received");
}

TEST(LinkTest, CancellationReachesTheOtherSide) {
  LinkPair pair;
  std::string id = pair.vn().Declare();
  Step(pair.vn(), id, "assess", "customs", R"({"channel": "green"})");
  pair.Pump();
  ASSERT_EQ(State(pair.cn(), id), "expected");
  Step(pair.vn(), id, "cancel", "fwd-a", R"({"reason": "harvest delayed"})");
  pair.Pump();
  EXPECT_EQ(State(pair.cn(), id), "cancelled");
}

// Posts a body straight to a node's peer listener, as an attacker could.
Result<net::HttpResponse> PostRawToPeer(TestNode& node, const std::string& body) {
  net::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = node.runtime().peer_port();
  o.tls = true;
  net::HttpClient client(o);
  return client.Send("POST", "/peer/v1/messages", body, {{"content-type", "application/json"}});
}
Result<net::HttpResponse> PostToPeer(TestNode& node, const std::vector<SignedMessage>& batch) {
  return PostRawToPeer(node, EncodeBatch(batch));
}

Ack AckOf(const net::HttpResponse& response) {
  auto signed_ack = DecodeSigned(response.body);
  EXPECT_TRUE(signed_ack) << response.body;
  auto bytes = ParseJson(signed_ack->bytes);
  EXPECT_TRUE(bytes);
  auto ack = DecodeAck(bytes->at("payload").as_object());
  EXPECT_TRUE(ack);
  return ack ? *ack : Ack{};
}

Envelope PreArrivalEnvelope(TestNode& vn, const std::string& id, int64_t seq = 1) {
  auto crossing = vn.runtime().store().GetCrossing(id);
  EXPECT_TRUE(crossing && crossing->has_value());
  PreArrival p;
  p.crossing_id = id;
  p.company_id = "COMPANY-A";
  p.direction = "VN-CN";
  p.lane_class = "fresh_produce";
  p.declaration = EncodeDeclaration((*crossing)->declaration);
  p.channel = "green";
  p.declaration_valid_until = vn.clock().Now() + 24h;
  Envelope e;
  e.from = "vn-huu-nghi";
  e.to = "cn-youyiguan";
  e.type = MessageType::kPreArrival;
  e.stream = "crossing:" + id;
  e.seq = seq;
  e.id = MessageId(e.from, e.stream, e.seq);
  e.sent_at = vn.clock().Now();
  e.payload = Encode(p);
  return e;
}

TEST(LinkTest, TamperedUnknownKeyAndReplayedMessagesAreRefusedLoggedAndChangeNothing) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();  // declared, never assessed: never announced by VN itself
  int64_t before = cn.AuditCount();

  // Tampered: one byte of the signed envelope changed after signing.
  SignedMessage tampered = Sign(PreArrivalEnvelope(vn, id), pair.vn_key());
  size_t at = tampered.bytes.find("fresh_produce");
  ASSERT_NE(at, std::string::npos);
  tampered.bytes[at] = 'F';
  auto r1 = PostToPeer(cn, {tampered});
  ASSERT_TRUE(r1) << r1.error().ToString();
  ASSERT_EQ(r1->status, 200) << r1->body;
  Ack a1 = AckOf(*r1);
  ASSERT_EQ(a1.items.size(), 1u);
  EXPECT_EQ(a1.items[0].status, "rejected");
  EXPECT_EQ(a1.items[0].code, "bad_signature");

  // Signed with a key the Chinese side never pinned.
  NodeKey stranger = GenerateNodeKey(vn.clock().Now());
  auto r2 = PostToPeer(cn, {Sign(PreArrivalEnvelope(vn, id), stranger)});
  ASSERT_TRUE(r2);
  Ack a2 = AckOf(*r2);
  ASSERT_EQ(a2.items.size(), 1u);
  EXPECT_EQ(a2.items[0].code, "unknown_key");

  // Nothing changed, and nothing of either is in the trail: neither is signed by the pinned
  // key, so anyone could have sent them (they are counted and logged instead).
  EXPECT_EQ(State(cn, id), "HTTP 404");
  std::this_thread::sleep_for(50ms);  // what would be recorded is recorded asynchronously
  EXPECT_EQ(CountAudit(cn, "peer_message_rejected"), 0);
  EXPECT_EQ(cn.AuditCount(), before);

  // A genuine message applies once; the same bytes again are a replay: acknowledged as a
  // duplicate, counted and logged, and nothing changes (nor is recorded).
  SignedMessage genuine = Sign(PreArrivalEnvelope(vn, id), pair.vn_key());
  auto r3 = PostToPeer(cn, {genuine});
  ASSERT_TRUE(r3);
  EXPECT_EQ(AckOf(*r3).items.at(0).status, "applied");
  ApiReply first = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(first.status, 200);
  int64_t after_apply = cn.AuditCount();
  auto r4 = PostToPeer(cn, {genuine});
  ASSERT_TRUE(r4);
  EXPECT_EQ(AckOf(*r4).items.at(0).status, "duplicate");
  ApiReply second = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  EXPECT_EQ(second.raw, first.raw);
  std::this_thread::sleep_for(50ms);        // what would be recorded is recorded asynchronously
  EXPECT_EQ(cn.AuditCount(), after_apply);  // a replay is not a change
  // Replayed again and again (someone on the path with a captured message): counted each
  // time, never recorded, so replays cannot fill the append-only trail.
  for (int i = 0; i < 5; ++i) {
    auto again = PostToPeer(cn, {genuine});
    ASSERT_TRUE(again);
    EXPECT_EQ(AckOf(*again).items.at(0).status, "duplicate");
  }
  for (int i = 0; i < 100 && cn.Call("GET", "/api/v1/link", "operator")
                                     .body.at("received")
                                     .at("rejected")
                                     .at("replay")
                                     .to_number<int64_t>() < 6;
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(50ms);  // what would be recorded is recorded asynchronously
  EXPECT_EQ(cn.AuditCount(), after_apply);
  EXPECT_EQ(CountAudit(cn, "peer_message_rejected"), 0);
  EXPECT_EQ(CountAudit(cn, "announce"), 1);

  // A message out of order in its stream waits: refused as a gap, applied after its turn.
  Envelope third = PreArrivalEnvelope(vn, id, 3);
  auto r5 = PostToPeer(cn, {Sign(third, pair.vn_key())});
  ASSERT_TRUE(r5);
  EXPECT_EQ(AckOf(*r5).items.at(0).code, "sequence_gap");

  // Too far in the future (beyond the allowed clock skew).
  Envelope future = PreArrivalEnvelope(vn, id, 2);
  future.sent_at = vn.clock().Now() + 1h;
  auto r6 = PostToPeer(cn, {Sign(future, pair.vn_key())});
  ASSERT_TRUE(r6);
  EXPECT_EQ(AckOf(*r6).items.at(0).code, "too_new");

  ApiReply link = cn.Call("GET", "/api/v1/link", "operator");
  ASSERT_EQ(link.status, 200);
  const json::object& rejected = link.body.at("received").at("rejected").as_object();
  EXPECT_EQ(rejected.at("bad_signature").to_number<int64_t>(), 1);
  EXPECT_EQ(rejected.at("unknown_key").to_number<int64_t>(), 1);
  EXPECT_EQ(rejected.at("replay").to_number<int64_t>(), 6);
  ExpectAuditChainOk(cn);
}

// The acknowledgement of an applied message is lost, so the sender sends it again, signed anew
// each time (another sent_at, another signature, another digest): each resend is answered as a
// duplicate, counted, and adds nothing to the audit trail. Another message with the number
// already used is refused, and recorded once however often it comes.
TEST(LinkTest, ResendsAfterALostAckAreAnsweredWithoutAddingAuditRecords) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  Envelope pre_arrival = PreArrivalEnvelope(vn, id);
  auto first = PostToPeer(cn, {Sign(pre_arrival, pair.vn_key())});
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(AckOf(*first).items.at(0).status, "applied");
  ApiReply applied = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(applied.status, 200);
  const int64_t after_apply = cn.AuditCount();
  auto count = [&](std::string_view what) {
    ApiReply link = cn.Call("GET", "/api/v1/link", "operator");
    const json::object& received = link.body.at("received").as_object();
    if (what == "duplicates") return received.at("duplicates").to_number<int64_t>();
    const json::value* n = received.at("rejected").as_object().if_contains(what);
    return n == nullptr ? int64_t{0} : n->to_number<int64_t>();
  };
  for (int i = 1; i <= 3; ++i) {
    pre_arrival.sent_at += 1s;  // the time of this attempt
    auto again = PostToPeer(cn, {Sign(pre_arrival, pair.vn_key())});
    ASSERT_TRUE(again);
    EXPECT_EQ(AckOf(*again).items.at(0).status, "duplicate");
  }
  EXPECT_EQ(count("duplicates"), 3);
  EXPECT_EQ(count("replay"), 3);
  std::this_thread::sleep_for(100ms);  // what would be recorded is recorded asynchronously
  EXPECT_EQ(cn.AuditCount(), after_apply);
  EXPECT_EQ(cn.Call("GET", "/api/v1/crossings/" + id, "operator").raw, applied.raw);

  // Another message under the same stream and seq: refused, nothing changes; recorded once
  // for its content, not once per signed copy.
  Envelope other = PreArrivalEnvelope(vn, id);
  PreArrival changed = DecodePreArrival(other.payload).value();
  changed.channel = "red";
  other.payload = Encode(changed);
  for (int i = 1; i <= 2; ++i) {
    other.sent_at += 1s;
    auto r = PostToPeer(cn, {Sign(other, pair.vn_key())});
    ASSERT_TRUE(r);
    Ack a = AckOf(*r);
    EXPECT_EQ(a.items.at(0).status, "rejected");
    EXPECT_EQ(a.items.at(0).code, "idempotency_key_reused");
  }
  for (int i = 0; i < 100 && CountAudit(cn, "peer_message_rejected") < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(CountAudit(cn, "peer_message_rejected"), 1);
  EXPECT_EQ(cn.AuditCount(), after_apply + 1);
  EXPECT_EQ(cn.Call("GET", "/api/v1/crossings/" + id, "operator").raw, applied.raw);
  ExpectAuditChainOk(cn);
}

// Waits up to `limit` for `done`.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 15s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

TEST(LinkTest, OutageThenHealDeliversEverythingOnceAndInOrder) {
  LinkPair pair(/*senders=*/true);
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  // The Vietnamese sender goes through a proxy that the test cuts and heals.
  net::testing::TcpProxy proxy("127.0.0.1", cn.runtime().peer_port());
  auto proxy_port = proxy.Start();
  ASSERT_TRUE(proxy_port) << proxy_port.error().ToString();
  vn.runtime().link()->SetPeerUrl(fmt::format("https://127.0.0.1:{}/peer/v1", *proxy_port));
  proxy.Cut();

  // Both sides keep working while the link is down.
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    std::string id = vn.Declare("fwd-a", fmt::format("12C-123.{:02d}", 10 + i));
    ASSERT_FALSE(id.empty());
    Step(vn, id, "assess", "customs", R"({"channel": "green"})");
    ids.push_back(id);
  }
  Step(vn, ids[0], "cancel", "fwd-a", R"({"reason": "changed plans"})");
  ASSERT_TRUE(WaitFor([&] {
    ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
    return link.body.at("state").as_string() == "down" && link.body.at("backlog").as_int64() >= 7;
  })) << vn.Call("GET", "/api/v1/link", "operator").raw;
  ApiReply down = vn.Call("GET", "/api/v1/link", "operator");
  EXPECT_FALSE(down.body.at("last_error").is_null());
  EXPECT_GE(down.body.at("oldest_unacknowledged_age_seconds").as_int64(), 0);
  EXPECT_EQ(State(cn, ids[1]), "HTTP 404");
  ApiReply metrics = vn.Call("GET", "/metrics", "");
  EXPECT_NE(metrics.raw.find("borderflow_link_up 0"), std::string::npos);

  proxy.Heal();
  ASSERT_TRUE(WaitFor([&] {
    return vn.Call("GET", "/api/v1/link", "operator").body.at("backlog").as_int64() == 0;
  })) << vn.Call("GET", "/api/v1/link", "operator").raw;
  // Everything arrived once, in order: the cancelled truck's notice, then its cancellation.
  EXPECT_EQ(State(cn, ids[0]), "cancelled");
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(State(cn, ids[i]), "expected") << i;
  EXPECT_EQ(CountAudit(cn, "announce"), 6);
  EXPECT_EQ(CountAudit(cn, "cancel"), 1);
  EXPECT_EQ(vn.Call("GET", "/api/v1/link", "operator").body.at("state").as_string(), "up");

  // The peer stopped and started again (its database kept): the link recovers by itself.
  cn.Restart();
  proxy.Stop();
  vn.runtime().link()->SetPeerUrl(LinkPair::PeerUrl(cn));
  cn.runtime().link()->SetPeerUrl(LinkPair::PeerUrl(vn));
  std::string late = vn.Declare("fwd-a", "12C-999.99");
  Step(vn, late, "assess", "customs", R"({"channel": "yellow"})");
  ASSERT_TRUE(WaitFor([&] { return State(cn, late) == "expected"; }));
  EXPECT_EQ(CountAudit(cn, "announce"), 7);
  ExpectAuditChainOk(vn);
  ExpectAuditChainOk(cn);
}

TEST(LinkTest, CapacityAnnouncementsBecomeTheQueuesAcceptance) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  // The Chinese side announces what it accepts of VN-CN; the Vietnamese side records it.
  auto announced =
      cn.runtime().engine().Execute(Command{Actor::System(), "", "", AnnounceCapacity{}});
  ASSERT_TRUE(announced) << announced.error().ToString();
  EXPECT_EQ(announced->body.at("announced").as_int64(), 1);
  // Unchanged within the hour: nothing new to announce.
  auto again = cn.runtime().engine().Execute(Command{Actor::System(), "", "", AnnounceCapacity{}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body.at("announced").as_int64(), 0);
  pair.Pump();
  ApiReply changes = vn.Call("GET", "/api/v1/capacity/changes", "operator");
  ASSERT_EQ(changes.status, 200) << changes.raw;
  int acceptance = 0;
  for (const auto& c : changes.body.at("items").as_array()) {
    if (c.at("kind").as_string() == "acceptance" && c.at("direction").as_string() == "VN-CN") {
      ++acceptance;
    }
  }
  EXPECT_GT(acceptance, 0) << changes.raw;
  // The acceptance is in the Vietnamese plan; when the Chinese side closes its fresh-produce
  // lanes for two hours, its next announcement takes that capacity away on the Vietnamese side.
  const std::string window =
      "/api/v1/capacity?direction=VN-CN&lane_class=fresh_produce&from=2026-11-29T03:00:00Z"
      "&until=2026-11-29T04:00:00Z";
  ApiReply plan = vn.Call("GET", window, "operator");
  ASSERT_EQ(plan.status, 200) << plan.raw;
  for (const auto& b : plan.body.at("buckets").as_array()) {
    ASSERT_TRUE(b.at("accepted").is_int64()) << plan.raw;
    EXPECT_GT(b.at("accepted").as_int64(), 0) << plan.raw;
    EXPECT_GT(b.at("effective").as_int64(), 0) << plan.raw;
  }
  ApiReply closed = cn.Call("POST", "/api/v1/capacity/changes", "operator",
                            R"({"kind": "lanes", "from": "2026-11-29T03:00:00Z",
                                "until": "2026-11-29T05:00:00Z", "direction": "VN-CN",
                                "lane_class": "fresh_produce", "lanes": 0,
                                "reason": "quarantine bay maintenance"})");
  ASSERT_EQ(closed.status, 201) << closed.raw;
  auto changed =
      cn.runtime().engine().Execute(Command{Actor::System(), "", "", AnnounceCapacity{}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->body.at("announced").as_int64(), 1);
  pair.Pump();
  ApiReply reduced = vn.Call("GET", window, "operator");
  for (const auto& b : reduced.body.at("buckets").as_array()) {
    EXPECT_EQ(b.at("accepted").as_int64(), 0) << reduced.raw;
    EXPECT_EQ(b.at("effective").as_int64(), 0) << reduced.raw;
  }
  changes = vn.Call("GET", "/api/v1/capacity/changes", "operator");
  acceptance = static_cast<int>(changes.body.at("items").as_array().size());
  // A second announcement of the same plan adds no capacity change.
  cn.clock().Advance(1h);
  ASSERT_TRUE(cn.runtime().engine().Execute(Command{Actor::System(), "", "", AnnounceCapacity{}}));
  pair.Pump();
  ApiReply after = vn.Call("GET", "/api/v1/capacity/changes", "operator");
  int acceptance_after = 0;
  for (const auto& c : after.body.at("items").as_array()) {
    if (c.at("kind").as_string() == "acceptance") ++acceptance_after;
  }
  // Only the hour that came into the window may add changes (one per lane class).
  EXPECT_LE(acceptance_after, acceptance + 3) << after.raw;
}

// Lines logged while it lives (the default logger's), without their prefix.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("%v");
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::vector<std::string> Lines() {
    sink_->flush();
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// The value of one Prometheus sample line of `metrics` ("name{labels} value"), or -1.
int64_t Sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + series.size() + 2));
}

// Found by a black-box review: each message of a batch, signed or not, became a
// peer_message_rejected audit record before anything was authenticated, so anyone who could
// reach the peer listener could grow the append-only trail without limit (30 requests: 15,360
// records). A message whose signature does not verify against a pinned key is now refused,
// counted and logged, never stored.
TEST(LinkTest, UnsignedMessagesAreRefusedAndCountedButNeverStored) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  const int64_t before = cn.AuditCount();
  NodeKey stranger = GenerateNodeKey(vn.clock().Now());
  std::vector<SignedMessage> junk;
  for (int i = 0; i < 40; ++i) {
    junk.push_back(Sign(PreArrivalEnvelope(vn, id), stranger));  // unknown key
    SignedMessage tampered = Sign(PreArrivalEnvelope(vn, id), pair.vn_key());
    tampered.bytes[tampered.bytes.find("fresh_produce")] = 'F';  // bad signature
    junk.push_back(tampered);
    // Not even an envelope, with the pinned key's id and a signature that is not its.
    SignedMessage forged = SignBytes(R"({"id":"x"})", stranger);
    forged.key_id = pair.vn_key().key_id;
    junk.push_back(forged);
  }
  for (int round = 0; round < 3; ++round) {
    auto r = PostToPeer(cn, junk);
    ASSERT_TRUE(r) << r.error().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
    Ack ack = AckOf(*r);
    ASSERT_EQ(ack.items.size(), junk.size());
    for (const Ack::Item& item : ack.items) EXPECT_EQ(item.status, "rejected");
    EXPECT_EQ(ack.items[0].code, "unknown_key");
    EXPECT_EQ(ack.items[1].code, "bad_signature");
    EXPECT_EQ(ack.items[2].code, "bad_signature");
  }
  // A batch that is not one.
  auto bad = PostRawToPeer(cn, R"({"messages":[{"key_id":1}]})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  std::this_thread::sleep_for(100ms);  // refusals used to be recorded asynchronously
  EXPECT_EQ(cn.AuditCount(), before);
  EXPECT_EQ(CountAudit(cn, "peer_message_rejected"), 0);
  EXPECT_EQ(State(cn, id), "HTTP 404");
  auto streams = cn.runtime().store().ListRecords("peer_stream_in");
  ASSERT_TRUE(streams);
  EXPECT_TRUE(streams->empty());
  // Counted, by reason, for /metrics.
  std::string metrics = cn.Call("GET", "/metrics", "").raw;
  EXPECT_EQ(Sample(metrics, R"(borderflow_link_unauthenticated_total{code="unknown_key"})"), 120)
      << metrics;
  EXPECT_EQ(Sample(metrics, R"(borderflow_link_unauthenticated_total{code="bad_signature"})"), 240);
  EXPECT_EQ(Sample(metrics, R"(borderflow_link_unauthenticated_total{code="malformed_batch"})"), 1);

  // A message signed by the pinned key is the counterpart's: refused ones stay audited.
  Envelope wrong = PreArrivalEnvelope(vn, id);
  wrong.to = "somebody-else";
  auto r = PostToPeer(cn, {Sign(wrong, pair.vn_key())});
  ASSERT_TRUE(r);
  EXPECT_EQ(AckOf(*r).items.at(0).code, "wrong_recipient");
  for (int i = 0; i < 100 && CountAudit(cn, "peer_message_rejected") < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(CountAudit(cn, "peer_message_rejected"), 1);
  ExpectAuditChainOk(cn);
}

// Found by a black-box review: the peer listener had no rate limit.
TEST(LinkTest, ThePeerListenerRateLimitsEachAddressAndTheSenderRetries) {
  LinkPair pair(false, "clean_and_seal_intact", [](GateConfig& c) {
    c.link.peer_rate_per_second = 1;
    c.link.peer_rate_burst = 2;
  });
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  for (int i = 0; i < 2; ++i) {
    auto r = PostToPeer(cn, {});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  auto limited = PostToPeer(cn, {});
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->content_type, "application/problem+json");
  auto body = ParseJson(limited->body);
  ASSERT_TRUE(body) << limited->body;
  EXPECT_EQ(body->at("code").as_string(), "rate_limited");
  EXPECT_EQ(body->at("status").as_int64(), 429);
  bool retry_after = false;
  for (const auto& [name, value] : limited->headers) retry_after |= name == "retry-after";
  EXPECT_TRUE(retry_after);

  // The counterpart's sender is refused too while the bucket is empty; it keeps the message
  // and delivers it once the bucket refills.
  std::string id = vn.Declare();
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  auto refused = vn.runtime().link()->SendOnce();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "peer_refused");
  // It reads the problem details of the refusal.
  EXPECT_NE(refused.error().message.find("answered 429: rate_limited"), std::string::npos)
      << refused.error().message;
  cn.clock().Advance(2s);
  auto sent = vn.runtime().link()->SendOnce();
  ASSERT_TRUE(sent) << sent.error().ToString();
  EXPECT_GE(*sent, 1);
  EXPECT_EQ(State(cn, id), "expected");
  std::string metrics = cn.Call("GET", "/metrics", "").raw;
  EXPECT_EQ(Sample(metrics, "borderflow_link_rate_limited_total"), 2) << metrics;
}

// Found by a black-box review: batch errors of the peer listener were {"code","message"}
// while its 404 and 413 payload_too_large were problem details.
TEST(LinkTest, ThePeerListenersErrorsAreProblemDetails) {
  LinkPair pair;
  TestNode& cn = pair.cn();
  auto expect_problem = [](const Result<net::HttpResponse>& r, int status, std::string_view code) {
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->content_type, "application/problem+json") << code;
    auto body = ParseJson(r->body);
    ASSERT_TRUE(body && body->is_object()) << r->body;
    EXPECT_EQ(body->at("code").as_string(), code);
    EXPECT_EQ(body->at("status").as_int64(), status);
    EXPECT_EQ(body->at("type").as_string(), "https://borderflow.dev/problems/" + std::string(code));
    EXPECT_TRUE(body->as_object().contains("title"));
    EXPECT_TRUE(body->as_object().contains("detail"));
  };
  expect_problem(PostRawToPeer(cn, "not json"), 400, "malformed_batch");
  SignedMessage small = SignBytes("{}", pair.vn_key());
  expect_problem(PostToPeer(cn, std::vector<SignedMessage>(513, small)), 413, "too_many_messages");
  SignedMessage large = SignBytes(std::string(kMaxEnvelopeBytes + 1, 'x'), pair.vn_key());
  expect_problem(PostToPeer(cn, {large}), 413, "envelope_too_large");
}

// Found by a black-box review: the id a message claims (up to 256 bytes of the sender's
// choosing) was logged raw, so newlines and escape sequences forged log lines; and each
// refused message was a warning line of its own.
TEST(LinkTest, PeerTextIsLoggedEscapedInOneLinePerBatch) {
  LinkPair pair;
  TestNode& cn = pair.cn();
  LogCapture log;
  std::vector<SignedMessage> batch;
  for (int i = 0; i < 20; ++i) {
    // Signed by the pinned key (so refused as the counterpart's, with the id it claims).
    batch.push_back(SignBytes(
        fmt::format(R"({{"v":1,"id":"x{}\n[error] forged line\r\u001b[2J"}})", i), pair.vn_key()));
  }
  auto r = PostToPeer(cn, batch);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(AckOf(*r).items.at(0).id, "x0\n[error] forged line\r\x1b[2J");
  std::vector<std::string> lines = log.Lines();
  int link_lines = 0;
  for (const std::string& line : lines) {
    EXPECT_NE(line.rfind("[error] forged", 0), 0u) << line;  // no forged line
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    if (line.find("link:") != std::string::npos) {
      ++link_lines;
      EXPECT_NE(line.find("20 refused (malformed_envelope 20)"), std::string::npos) << line;
      EXPECT_NE(line.find(R"("x0\x0A[error] forged line\x0D\x1B[2J")"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(link_lines, 1) << fmt::format("{}", fmt::join(lines, "\n"));
}

// Found by a black-box review: a handover for crossing X was applied on stream
// "unrelated-stream-2" (only pre_arrival checked its stream), and every new stream name
// became a permanent record.
TEST(LinkTest, MessagesAboutACrossingTravelOnlyOnItsStream) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  auto announced = PostToPeer(cn, {Sign(PreArrivalEnvelope(vn, id), pair.vn_key())});
  ASSERT_TRUE(announced);
  ASSERT_EQ(AckOf(*announced).items.at(0).status, "applied");
  ASSERT_EQ(State(cn, id), "expected");

  Envelope handover = PreArrivalEnvelope(vn, id);
  handover.type = MessageType::kHandover;
  handover.stream = "unrelated-stream-2";
  handover.seq = 1;
  handover.id = MessageId(handover.from, handover.stream, handover.seq);
  handover.payload = Encode(Handover{id, vn.clock().Now(), "", ""});
  auto r = PostToPeer(cn, {Sign(handover, pair.vn_key())});
  ASSERT_TRUE(r);
  Ack ack = AckOf(*r);
  EXPECT_EQ(ack.items.at(0).status, "rejected");
  EXPECT_EQ(ack.items.at(0).code, "wrong_stream");
  EXPECT_EQ(State(cn, id), "expected");
  // No record of the stream it claimed; the refusal is in the trail (the counterpart signed it).
  auto streams = cn.runtime().store().ListRecords("peer_stream_in");
  ASSERT_TRUE(streams);
  for (const StoredRecord& s : *streams) EXPECT_NE(s.id, "unrelated-stream-2");
  EXPECT_EQ(streams->size(), 1u);
  // The same on the crossing's own stream is applied.
  handover.stream = "crossing:" + id;
  handover.seq = 2;
  handover.id = MessageId(handover.from, handover.stream, handover.seq);
  auto ok = PostToPeer(cn, {Sign(handover, pair.vn_key())});
  ASSERT_TRUE(ok);
  EXPECT_EQ(AckOf(*ok).items.at(0).status, "applied") << ok->body;
  EXPECT_EQ(State(cn, id), "at_gate");
  ExpectAuditChainOk(cn);
}

// A message waits in the outbox through an outage longer than the counterpart's
// max_message_age (7 days): each attempt is signed with the time it is sent, so it is
// delivered when the link comes back instead of being refused as too old and dropped.
TEST(LinkTest, AMessageThatWaitedOutALongOutageIsDeliveredNotDropped) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  // Eight days without a link.
  vn.clock().Advance(std::chrono::hours(24 * 8));
  cn.clock().Advance(std::chrono::hours(24 * 8));
  pair.Pump();
  EXPECT_EQ(State(cn, id), "expected");
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 0);
  EXPECT_EQ(vn.Call("GET", "/api/v1/link", "operator").body.at("backlog").as_int64(), 0);
  // Later messages on its stream still go through.
  Step(vn, id, "cancel", "fwd-a", R"({"reason": "harvest delayed"})");
  pair.Pump();
  EXPECT_EQ(State(cn, id), "cancelled");
}

// A message refused for good (here: a payload that is not valid for its type) goes dead on the
// sender's side; the receiver consumes its number, so the messages after it on the same stream
// are not refused as a gap forever.
TEST(LinkTest, AMessageRefusedForGoodDoesNotBlockItsStream) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  Envelope broken = PreArrivalEnvelope(vn, id, 1);
  broken.payload = Encode(Receipt{id, vn.clock().Now()});  // not a pre-arrival
  auto r1 = PostToPeer(cn, {Sign(broken, pair.vn_key())});
  ASSERT_TRUE(r1) << r1.error().ToString();
  Ack a1 = AckOf(*r1);
  ASSERT_EQ(a1.items.size(), 1u);
  EXPECT_EQ(a1.items[0].status, "rejected");
  EXPECT_NE(a1.items[0].code, "sequence_gap");
  EXPECT_EQ(State(cn, id), "HTTP 404");

  auto r2 = PostToPeer(cn, {Sign(PreArrivalEnvelope(vn, id, 2), pair.vn_key())});
  ASSERT_TRUE(r2);
  EXPECT_EQ(AckOf(*r2).items.at(0).status, "applied") << r2->body;
  EXPECT_EQ(State(cn, id), "expected");
  // The refusal is in the trail, with the skipped number.
  auto records = cn.runtime().store().ReadAudit(0, 10000);
  ASSERT_TRUE(records);
  int skipped = 0;
  for (const AuditRecord& r : *records) {
    if (r.action != "peer_message") continue;
    auto body = ParseJson(r.body);
    ASSERT_TRUE(body);
    const json::value* s = body->as_object().if_contains("skipped");
    if (s != nullptr && s->is_bool() && s->as_bool()) {
      ++skipped;
      EXPECT_EQ(body->at("seq").as_int64(), 1);
      EXPECT_EQ(body->at("status").as_string(), "rejected");
    }
  }
  EXPECT_EQ(skipped, 1);
  ExpectAuditChainOk(cn);
}

// The skip records (peer_message with "skipped": true and type skip_notice) in a node's trail.
std::vector<json::object> SkipNoticeRecords(TestNode& node) {
  std::vector<json::object> out;
  auto records = node.runtime().store().ReadAudit(0, 10000);
  EXPECT_TRUE(records);
  if (!records) return out;
  for (const AuditRecord& r : *records) {
    if (r.action != "peer_message") continue;
    auto body = ParseJson(r.body);
    if (!body || !body->is_object()) continue;
    const json::value* type = body->as_object().if_contains("type");
    if (type != nullptr && type->is_string() && type->get_string() == "skip_notice") {
      out.push_back(body->as_object());
    }
  }
  return out;
}

// A message of `type` on crossing `id`'s stream, as the Vietnamese side sends it.
Envelope CrossingEnvelope(TestNode& vn, const std::string& id, MessageType type, int64_t seq,
                          json::object payload) {
  Envelope e;
  e.from = "vn-huu-nghi";
  e.to = "cn-youyiguan";
  e.type = type;
  e.stream = "crossing:" + id;
  e.seq = seq;
  e.id = MessageId(e.from, e.stream, e.seq);
  e.sent_at = vn.clock().Now();
  e.payload = std::move(payload);
  return e;
}

// An envelope the receiver cannot open at all (here: signed by the pinned key, but not in
// canonical form) tells it nothing, not even its number, so the messages after it on its stream
// wait as a gap. The sender's signed skip notice for that number (on the same stream, with the
// same seq) consumes it in its turn and is recorded; a notice again, or for a number consumed
// already, is a duplicate; the original message after its number was skipped is refused.
TEST(LinkTest, ASkipNoticeMovesAStreamPastAnEnvelopeThatCouldNotBeOpened) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  auto r1 = PostToPeer(cn, {Sign(PreArrivalEnvelope(vn, id, 1), pair.vn_key())});
  ASSERT_TRUE(r1) << r1.error().ToString();
  ASSERT_EQ(AckOf(*r1).items.at(0).status, "applied");
  ApiReply before = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(before.status, 200) << before.raw;

  Envelope change = CrossingEnvelope(
      vn, id, MessageType::kDriverChange, 2,
      Encode(DriverChange{id, "Le Thi D", "D7654321", "VN", "", vn.clock().Now()}));
  auto r2 = PostToPeer(cn, {SignBytes(EncodeEnvelope(change) + " ", pair.vn_key())});
  ASSERT_TRUE(r2);
  EXPECT_EQ(AckOf(*r2).items.at(0).code, "malformed_envelope");
  Envelope cancel = CrossingEnvelope(vn, id, MessageType::kCancellation, 3,
                                     Encode(Cancellation{id, "harvest delayed", vn.clock().Now()}));
  auto r3 = PostToPeer(cn, {Sign(cancel, pair.vn_key())});
  ASSERT_TRUE(r3);
  EXPECT_EQ(AckOf(*r3).items.at(0).code, "sequence_gap");

  // The sender gives up on 2. A notice for a number beyond the next waits its turn too.
  auto notice_for = [&](int64_t seq) {
    return CrossingEnvelope(vn, id, MessageType::kSkipNotice, seq,
                            Encode(SkipNotice{seq, "driver_change", "malformed_envelope",
                                              "malformed envelope", vn.clock().Now()}));
  };
  auto early = PostToPeer(cn, {Sign(notice_for(4), pair.vn_key())});
  ASSERT_TRUE(early);
  EXPECT_EQ(AckOf(*early).items.at(0).code, "sequence_gap");
  Envelope notice = notice_for(2);
  auto r4 = PostToPeer(cn, {Sign(notice, pair.vn_key()), Sign(cancel, pair.vn_key())});
  ASSERT_TRUE(r4);
  Ack a4 = AckOf(*r4);
  ASSERT_EQ(a4.items.size(), 2u);
  EXPECT_EQ(a4.items[0].status, "applied") << r4->body;
  EXPECT_EQ(a4.items[1].status, "applied") << r4->body;
  EXPECT_EQ(State(cn, id), "cancelled");
  ApiReply after = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  EXPECT_EQ(after.body.at("driver"), before.body.at("driver"));  // the skipped change

  // Sent again (its ack lost, signed anew), and a notice for a number a message consumed:
  // duplicates, nothing changes.
  notice.sent_at += 1s;
  auto again = PostToPeer(cn, {Sign(notice, pair.vn_key())});
  ASSERT_TRUE(again);
  EXPECT_EQ(AckOf(*again).items.at(0).status, "duplicate");
  auto consumed = PostToPeer(cn, {Sign(notice_for(1), pair.vn_key())});
  ASSERT_TRUE(consumed);
  EXPECT_EQ(AckOf(*consumed).items.at(0).status, "duplicate");

  // The original message after its number was skipped is refused, not applied.
  auto late = PostToPeer(cn, {Sign(change, pair.vn_key())});
  ASSERT_TRUE(late);
  EXPECT_EQ(AckOf(*late).items.at(0).status, "rejected");
  EXPECT_EQ(AckOf(*late).items.at(0).code, "sequence_skipped");
  EXPECT_EQ(cn.Call("GET", "/api/v1/crossings/" + id, "operator").body.at("driver"),
            before.body.at("driver"));

  // The skip is in the trail once, naming the number and why it was given up.
  std::vector<json::object> skips = SkipNoticeRecords(cn);
  ASSERT_EQ(skips.size(), 1u);
  EXPECT_EQ(skips[0].at("seq").as_int64(), 2);
  EXPECT_EQ(skips[0].at("stream").as_string(), "crossing:" + id);
  EXPECT_EQ(skips[0].at("status").as_string(), "applied");
  EXPECT_TRUE(skips[0].at("skipped").as_bool());
  EXPECT_EQ(skips[0].at("skipped_type").as_string(), "driver_change");
  EXPECT_EQ(skips[0].at("skipped_code").as_string(), "malformed_envelope");
  ExpectAuditChainOk(cn);
}

// A crossing announced to the other side ("expected" there), then a driver change whose
// message is the one record in the outbox: `before` is the crossing as the other side has it.
struct DriverChangeWaiting {
  std::string id;
  ApiReply before;
  StoredRecord outbox;
};
void WaitingDriverChange(LinkPair& pair, DriverChangeWaiting& w) {
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  w.id = vn.Declare();
  Step(vn, w.id, "assess", "customs", R"({"channel": "green"})");
  pair.Pump();
  ASSERT_EQ(State(cn, w.id), "expected");
  w.before = cn.Call("GET", "/api/v1/crossings/" + w.id, "operator");
  ApiReply changed = vn.Call("POST", "/api/v1/crossings/" + w.id + "/driver", "fwd-a",
                             R"({"driver": {"name": "Le Thi D", "document_number": "D7654321",
                                 "nationality": "VN"}})");
  ASSERT_EQ(changed.status, 200) << changed.raw;
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 1u);
  w.outbox = outbox->front();
}

// The sender gives up on a message the counterpart never opened (here: as after a
// "malformed_envelope" refusal): a signed skip notice takes its place in the outbox, so the
// counterpart consumes its number and the later messages on the stream apply.
TEST(LinkTest, TheSenderSendsASkipNoticeForAMessageItGaveUpOn) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  DriverChangeWaiting w;
  ASSERT_NO_FATAL_FAILURE(WaitingDriverChange(pair, w));
  const std::string& id = w.id;
  const ApiReply& before = w.before;
  const std::string outbox_id = w.outbox.id;
  // What the sender does when the counterpart refuses the message for good without opening it.
  AckPeerMessages gave_up;
  gave_up.dead.push_back({outbox_id, MessageId("vn-huu-nghi", "crossing:" + id, 2),
                          "malformed_envelope", "malformed envelope: not in canonical form"});
  auto acked = vn.runtime().engine().Execute(Command{Actor::System(), "", "", std::move(gave_up)});
  ASSERT_TRUE(acked) << acked.error().ToString();
  Step(vn, id, "cancel", "fwd-a", R"({"reason": "harvest delayed"})");

  // The notice is in the dead message's place (before the cancellation), signed like any.
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 2u);
  EXPECT_EQ(outbox->front().id, outbox_id);
  auto notice = ParseJson(outbox->front().body);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->at("type").as_string(), "skip_notice");
  EXPECT_EQ(notice->at("seq").as_int64(), 2);
  EXPECT_EQ(notice->at("payload").at("skipped_type").as_string(), "driver_change");

  pair.Pump();
  EXPECT_EQ(State(cn, id), "cancelled");
  EXPECT_EQ(cn.Call("GET", "/api/v1/crossings/" + id, "operator").body.at("driver"),
            before.body.at("driver"));
  outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 1);
  std::vector<json::object> skips = SkipNoticeRecords(cn);
  ASSERT_EQ(skips.size(), 1u);
  EXPECT_EQ(skips[0].at("seq").as_int64(), 2);
  EXPECT_EQ(skips[0].at("skipped_code").as_string(), "malformed_envelope");
  ExpectAuditChainOk(vn);
  ExpectAuditChainOk(cn);
}

// The counterpart answers but refuses every message for now (here: the sender's clock is an
// hour ahead, "too_new"): the sender backs off instead of resending at once, and the link's
// error names the refusal, not the rate limit it would otherwise run into.
TEST(LinkTest, RetryableRefusalsAreBackedOffAndReportedAsTheLinksError) {
  LinkPair pair(/*senders=*/true);
  TestNode& vn = pair.vn();
  vn.clock().Advance(1h);
  std::string id = vn.Declare();
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  ASSERT_TRUE(WaitFor([&] {
    ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
    return link.body.at("sent").at("attempts").to_number<int64_t>() >= 3;
  })) << vn.Call("GET", "/api/v1/link", "operator").raw;
  std::this_thread::sleep_for(1500ms);
  ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
  // Backing off from 20 ms to 200 ms: a dozen attempts in 1.5 s, not hundreds.
  EXPECT_LE(link.body.at("sent").at("attempts").to_number<int64_t>(), 25) << link.raw;
  ASSERT_TRUE(link.body.at("last_error").is_string()) << link.raw;
  EXPECT_EQ(std::string(link.body.at("last_error").as_string()).rfind("too_new: ", 0), 0u)
      << link.raw;
  std::string metrics = pair.cn().Call("GET", "/metrics", "").raw;
  EXPECT_EQ(Sample(metrics, "borderflow_link_rate_limited_total"), 0) << metrics;
  EXPECT_EQ(State(pair.cn(), id), "HTTP 404");
  EXPECT_GE(link.body.at("backlog").as_int64(), 1);
}

// A red-channel truck announced to the Chinese side; then, with the link down (nothing pumped),
// the Vietnamese inspection records a finding and the Chinese guard takes the truck over by hand.
// The finding waits in the Vietnamese outbox.
std::string FindingDuringAnOutage(LinkPair& pair) {
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  Step(vn, id, "assess", "customs", R"({"channel": "red"})");
  pair.Pump();
  EXPECT_EQ(State(cn, id), "expected");
  Step(vn, id, "enter_yard", "camera");
  Step(vn, id, "call_forward", "operator");
  Step(vn, id, "arrive_at_gate", "camera");
  Step(vn, id, "start_inspection", "customs");
  Step(vn, id, "record_inspection", "customs",
       R"({"outcome": "finding", "finding_type": "undeclared_goods",
           "note": "undeclared goods behind the pallets"})");
  Step(cn, id, "hand_over", "guard", R"({"note": "link down, taken over by hand"})");
  return id;
}

// The Chinese side took the truck over by hand during an outage; the Vietnamese inspection's
// finding arrives afterwards. It is recorded on the crossing as its last check (for the staff at
// the gate), not dropped as "too late", and the state stays what it is.
TEST(LinkTest, AFindingThatArrivesAfterAManualHandoverIsRecordedNotDropped) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = FindingDuringAnOutage(pair);
  ASSERT_EQ(State(cn, id), "at_gate");

  pair.Pump();
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 0);
  ApiReply after = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(after.status, 200) << after.raw;
  EXPECT_EQ(after.body.at("state").as_string(), "at_gate");
  EXPECT_EQ(after.body.at("last_check").at("outcome").as_string(), "finding") << after.raw;
  EXPECT_EQ(CountAudit(cn, "counterpart_inspection_result"), 1);
  EXPECT_NE(std::string(after.body.at("last_check").at("note").as_string()).find("undeclared"),
            std::string::npos)
      << after.raw;
  ExpectAuditChainOk(cn);
}

// The Vietnamese inspection's finding arrives after the Chinese side closed the crossing (taken
// over by hand during an outage, inspected and released): nothing of the crossing changes, but
// the control room sees it: the live feed's event carries the alert and the result (staff only,
// not the forwarder), and GET /api/v1/link lists it among its alerts for a day.
TEST(LinkTest, AFindingOnAClosedCrossingReachesTheControlRoom) {
  LinkPair pair;
  TestNode& cn = pair.cn();
  std::string id = FindingDuringAnOutage(pair);
  Step(cn, id, "start_inspection", "customs");
  Step(cn, id, "record_inspection", "customs", R"({"outcome": "no_finding"})");
  Step(cn, id, "release", "customs");
  ASSERT_EQ(State(cn, id), "received");
  ApiReply closed = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(closed.status, 200);
  ApiReply quiet = cn.Call("GET", "/api/v1/link", "operator");
  ASSERT_EQ(quiet.status, 200) << quiet.raw;
  EXPECT_TRUE(quiet.body.at("alerts").as_array().empty()) << quiet.raw;

  cn.AddUserWithToken("fwd-vn", Role::kForwarder, "vn-huu-nghi:COMPANY-A");
  net::testing::StreamReader staff(cn.port(), "/api/v1/feed",
                                   {{"Authorization", "Bearer " + cn.tokens().at("operator")}});
  net::testing::StreamReader trader(cn.port(), "/api/v1/feed",
                                    {{"Authorization", "Bearer " + cn.tokens().at("fwd-vn")}});
  ASSERT_TRUE(staff.WaitFor("event: hello\n")) << staff.body();
  ASSERT_TRUE(trader.WaitFor("event: hello\n")) << trader.body();
  pair.Pump();
  EXPECT_EQ(CountAudit(cn, "counterpart_inspection_result"), 1);

  // The staff's feed: the crossing's event with the alert and the counterpart's result.
  ASSERT_TRUE(staff.WaitFor("\"alert\":")) << staff.body();
  EXPECT_NE(staff.body().find("\"action\":\"counterpart_inspection_result\""), std::string::npos)
      << staff.body();
  EXPECT_NE(staff.body().find("undeclared goods behind the pallets"), std::string::npos)
      << staff.body();
  // The forwarder's feed has the event, without the alert or the finding.
  ASSERT_TRUE(trader.WaitFor("\"action\":\"counterpart_inspection_result\"")) << trader.body();
  EXPECT_EQ(trader.body().find("\"alert\""), std::string::npos) << trader.body();
  EXPECT_EQ(trader.body().find("undeclared"), std::string::npos) << trader.body();

  // What the control room reads: the link's alerts.
  ApiReply link = cn.Call("GET", "/api/v1/link", "operator");
  ASSERT_EQ(link.status, 200) << link.raw;
  const json::array& alerts = link.body.at("alerts").as_array();
  ASSERT_EQ(alerts.size(), 1u) << link.raw;
  EXPECT_EQ(alerts[0].at("crossing_id").as_string(), id);
  EXPECT_EQ(alerts[0].at("state").as_string(), "received");
  EXPECT_EQ(alerts[0].at("outcome").as_string(), "finding");
  EXPECT_EQ(alerts[0].at("kind").as_string(), "inspection");
  EXPECT_NE(std::string(alerts[0].at("note").as_string()).find("undeclared goods"),
            std::string::npos)
      << link.raw;
  EXPECT_EQ(alerts[0].at("plate").as_string(),
            closed.body.at("vehicle").at("plate").at("display").as_string());
  EXPECT_EQ(cn.Call("GET", "/api/v1/link", "fwd-vn").status, 403);

  // Nothing of the crossing changed.
  ApiReply after = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  EXPECT_EQ(after.body.at("state").as_string(), "received");
  EXPECT_EQ(after.body.at("version"), closed.body.at("version"));
  EXPECT_EQ(after.body.at("last_check"), closed.body.at("last_check"));

  // A day later it is no longer listed (the trail keeps it).
  cn.clock().Advance(std::chrono::hours(25));
  EXPECT_TRUE(cn.Call("GET", "/api/v1/link", "operator").body.at("alerts").as_array().empty());
  ExpectAuditChainOk(cn);
}

// The driver changes after the pre-arrival notice: the counterpart learns of it (its border
// guard checks the driver who actually comes), on the crossing's stream.
TEST(LinkTest, ADriverChangeAfterThePreArrivalReachesTheOtherSide) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare();
  // Before the assessment nothing was announced: nothing to tell.
  ApiReply early = vn.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                           R"({"driver": {"name": "Tran Van C", "document_number": "C1234567",
                               "nationality": "VN"}})");
  ASSERT_EQ(early.status, 200) << early.raw;
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  pair.Pump();
  ApiReply before = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(before.status, 200) << before.raw;
  EXPECT_EQ(before.body.at("driver").at("document_number").as_string(), "C1234567");

  ApiReply changed = vn.Call("POST", "/api/v1/crossings/" + id + "/driver", "fwd-a",
                             R"({"driver": {"name": "Le Thi D", "document_number": "D7654321",
                                 "nationality": "VN", "phone": "+84 90 111 2222"}})");
  ASSERT_EQ(changed.status, 200) << changed.raw;
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_EQ(outbox->size(), 1u);
  pair.Pump();
  ApiReply after = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(after.status, 200) << after.raw;
  EXPECT_EQ(after.body.at("driver").at("name").as_string(), "Le Thi D");
  EXPECT_EQ(after.body.at("driver").at("document_number").as_string(), "D7654321");
  EXPECT_EQ(after.body.at("state").as_string(), "expected");
  EXPECT_EQ(CountAudit(cn, "counterpart_driver_change"), 1);
  ExpectAuditChainOk(cn);
}

// --- Message sizes ---------------------------------------------------------------------------

// The largest declaration the API takes: kMaxLinesPerCrossing lines and every text at its bound,
// written with '"', which JSON escapes to two bytes (the most a byte of a declaration can take:
// control characters are refused), and numbers with the most digits.
std::string LargestDeclarationJson(std::string_view plate = "12C-123.45",
                                   std::string_view direction = "VN-CN",
                                   std::string_view lane_class = "fresh_produce") {
  auto text = [](size_t n) { return std::string(n, '"'); };
  json::array lines;
  for (size_t i = 0; i < kMaxLinesPerCrossing; ++i) {
    lines.push_back(
        json::object{{"hs_code", "0810.60"},
                     {"description", text(500)},
                     {"packages", 1'000'000},
                     {"gross_weight_kg", 99999.999},
                     {"value", json::object{{"amount", "10000000000.00"}, {"currency", "USD"}}},
                     {"origin_country", "VN"}});
  }
  json::object d{{"direction", direction},
                 {"lane_class", lane_class},
                 {"vehicle", json::object{{"plate", plate},
                                          {"trailer_plate", "12R-012.34"},
                                          {"container_number", "CSQU3054383"},
                                          {"seal_number", text(32)}}},
                 {"driver", json::object{{"name", text(100)},
                                         {"document_number", text(32)},
                                         {"nationality", "VN"},
                                         {"phone", text(32)}}},
                 {"lines", std::move(lines)},
                 {"freshness_deadline", "2026-11-30T20:00:00+07:00"},
                 {"declaration_valid_until", "2026-11-30T20:00:00+07:00"},
                 {"documents", json::object{{"customs_declaration", text(64)},
                                            {"phytosanitary_certificate", text(64)},
                                            {"certificate_of_origin", text(64)}}}};
  return ToJsonText(d);
}

// The envelope of `payload` with every field of the envelope at its bound.
Envelope LargestEnvelope(MessageType type, std::string stream, json::object payload) {
  Envelope e;
  e.from = std::string(kMaxNodeIdLength, 'V');
  e.to = std::string(kMaxNodeIdLength, 'C');
  e.type = type;
  e.stream = std::move(stream);
  e.seq = std::numeric_limits<int64_t>::max();
  e.id = MessageId(e.from, e.stream, e.seq);
  e.sent_at = *ParseTimestamp("2026-11-29T01:37:06.123Z");
  e.payload = std::move(payload);
  return e;
}

// The largest message of each type the engine can put in its outbox, from bounded input: every
// field at the bound the receiver's decoder allows (which is at least what the engine's input
// allows: ids of 64 bytes where the configuration allows 32, say), texts of characters JSON
// escapes. The largest, a pre-arrival notice of the largest declaration, must fit the envelope
// with room to spare (kMaxEnvelopeBytes is twice it and more), and in a batch the peer listener
// takes. Under the old limit of 64 KiB the pre-arrival notice did not fit (about 235 KB).
TEST(LinkLimitsTest, EveryMessageTheEngineCanMakeFitsTheEnvelopeWithRoomToSpare) {
  const std::string id(kMaxLinkIdLength, 'I');
  const std::string stream = "crossing:" + id;
  const Timestamp t = *ParseTimestamp("2026-11-29T01:37:06.123Z");
  auto text = [](size_t n) { return std::string(n, '"'); };

  auto body =
      ParseJson(LargestDeclarationJson("12C-123.45", std::string(32, 'D'), std::string(32, 'L')));
  ASSERT_TRUE(body) << body.error().ToString();
  auto declaration = DecodeDeclaration(*body, *HsNomenclature::Hs2022());
  ASSERT_TRUE(declaration) << declaration.error().ToString();
  ASSERT_EQ(declaration->lines.size(), kMaxLinesPerCrossing);
  PreArrival pre{id,
                 std::string(kMaxLinkIdLength, 'A'),
                 std::string(kMaxLinkIdLength, 'D'),
                 std::string(kMaxLinkIdLength, 'L'),
                 EncodeDeclaration(*declaration),
                 "yellow",
                 true,
                 t,
                 t};

  CapacityAnnouncement capacity{
      std::string(kMaxLinkIdLength, 'D'), *ParseTimestamp("2026-11-29T01:00:00Z"), {}};
  for (size_t i = 0; i < kMaxCapacityEntries; ++i) {
    // The longest numbers a double from 0 to 10000 is written with.
    capacity.entries.push_back({fmt::format("{:0>64}", i),
                                std::vector<double>(kMaxCapacityHours, 1.2345678901234567e-05)});
  }
  InspectionResult inspection{id,   "inspection", "finding", std::string(64, 'F'), "yellow",
                              true, text(32),     "broken",  text(kMaxNoteLength), t};
  std::vector<std::pair<MessageType, json::object>> messages = {
      {MessageType::kPreArrival, Encode(pre)},
      {MessageType::kCapacityAnnouncement, Encode(capacity)},
      {MessageType::kInspectionResult, Encode(inspection)},
      {MessageType::kReleaseNotice, Encode(ReleaseNotice{id, t, "yellow"})},
      {MessageType::kHandover, Encode(Handover{id, t, text(32), "broken"})},
      {MessageType::kReceipt, Encode(Receipt{id, t})},
      {MessageType::kCancellation, Encode(Cancellation{id, text(kMaxNoteLength), t})},
      {MessageType::kDriverChange,
       Encode(DriverChange{id, text(100), text(32), "VN", text(32), t})},
      {MessageType::kSkipNotice,
       Encode(SkipNotice{std::numeric_limits<int64_t>::max(), "capacity_announcement",
                         std::string(64, 'c'), text(kMaxNoteLength), t})}};
  size_t largest = 0;
  std::optional<Envelope> largest_envelope;
  std::map<std::string, size_t> sizes;
  for (auto& [type, payload] : messages) {
    // The receiver takes it: every field is within its bounds.
    Status valid = ValidatePayload(type, payload);
    ASSERT_TRUE(valid) << MessageTypeName(type) << ": " << valid.error().ToString();
    Envelope e = LargestEnvelope(
        type, type == MessageType::kCapacityAnnouncement ? "capacity" : stream, payload);
    size_t size = EncodeEnvelope(e).size();
    sizes[std::string(MessageTypeName(type))] = size;
    RecordProperty(std::string(MessageTypeName(type)) + "_bytes", static_cast<int>(size));
    if (size > largest) {
      largest = size;
      largest_envelope = e;
    }
  }
  // Pinned: the figures kMaxEnvelopeBytes' comment gives. A change of the messages or of the
  // bounds that moves them must revisit the limit.
  EXPECT_GT(sizes["pre_arrival"], 220'000u);
  EXPECT_LT(sizes["pre_arrival"], 250'000u);
  EXPECT_GT(sizes["capacity_announcement"], 90'000u);
  EXPECT_LT(sizes["capacity_announcement"], 130'000u);
  EXPECT_EQ(largest, sizes["pre_arrival"]);
  for (const auto& [type, size] : sizes) {
    if (type != "pre_arrival" && type != "capacity_announcement") {
      EXPECT_LT(size, 8'000u) << type;
    }
  }
  EXPECT_LE(2 * largest, kMaxEnvelopeBytes)
      << "the largest message (" << largest << " bytes) leaves too little room under the limit";

  // Signed, it travels alone in a batch within the peer listener's body limit, and opens.
  NodeKey key = GenerateNodeKey(t - 24h);
  PeerKeyRing ring;
  ASSERT_TRUE(ring.Add(PinnedKey{key.key_id, key.public_key, std::nullopt, std::nullopt}));
  SignedMessage message = Sign(*largest_envelope, key);
  std::string batch = EncodeBatch({message});
  EXPECT_LE(batch.size(), kMaxBatchBytes);
  auto decoded = DecodeBatch(batch);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  VerifyOptions verify{largest_envelope->from, largest_envelope->to, t};
  auto opened = VerifyAndOpen(decoded->at(0), ring, verify);
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(*opened, *largest_envelope);
}

// The largest declaration a forwarder can make crosses the real link between the two nodes
// (under the old 64 KiB limit its pre-arrival notice was refused with 413, the whole batch, for
// ever).
TEST(LinkTest, TheLargestDeclarationIsAnnouncedToTheOtherSide) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  ApiReply declared = vn.Call("POST", "/api/v1/crossings", "fwd-a", LargestDeclarationJson());
  ASSERT_EQ(declared.status, 201) << declared.raw.substr(0, 1000);
  std::string id(declared.body.at("id").as_string());
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_GT(outbox->front().body.size(), 200'000u);
  EXPECT_LT(outbox->front().body.size(), kMaxEnvelopeBytes / 2);

  pair.Pump();
  ApiReply expected = cn.Call("GET", "/api/v1/crossings/" + id, "operator");
  ASSERT_EQ(expected.status, 200) << expected.raw.substr(0, 1000);
  EXPECT_EQ(expected.body.at("state").as_string(), "expected");
  const json::array& lines = expected.body.at("lines").as_array();
  ASSERT_EQ(lines.size(), kMaxLinesPerCrossing);
  EXPECT_EQ(lines.back().at("description").as_string(), std::string(500, '"'));
  EXPECT_EQ(expected.body.at("driver").at("name").as_string(), std::string(100, '"'));
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 0);
  outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());
  ExpectAuditChainOk(cn);
}

// The peer_message_dead records of a node's trail.
std::vector<json::object> DeadRecords(TestNode& node) {
  std::vector<json::object> out;
  auto records = node.runtime().store().ReadAudit(0, 10000);
  EXPECT_TRUE(records);
  if (!records) return out;
  for (const AuditRecord& r : *records) {
    if (r.action != "peer_message_dead") continue;
    auto body = ParseJson(r.body);
    if (body && body->is_object()) out.push_back(body->as_object());
  }
  return out;
}

// A message in the outbox whose envelope is larger than the link takes (no message the engine
// makes from bounded input is, so here a bug is played by hand) is never sent: the sender gives
// it up with a signed skip notice in its place, records it and alerts the control room, and
// the messages after it (on its stream and on others) are delivered.
TEST(LinkTest, AMessageTooLargeToSendIsSkippedWithAnAlertAndTheRestGoOn) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  DriverChangeWaiting w;
  ASSERT_NO_FATAL_FAILURE(WaitingDriverChange(pair, w));
  const std::string& id = w.id;
  const ApiReply& before = w.before;
  StoredRecord inflated = w.outbox;
  auto message = ParseJson(inflated.body);
  ASSERT_TRUE(message);
  message->as_object()["payload"].as_object()["name"] = std::string(kMaxEnvelopeBytes, 'x');
  inflated.body = ToJsonText(*message);
  std::vector<TxnFn> work = {[&](WriteTxn& txn) { return txn.PutRecord(inflated); }};
  for (const Status& s : vn.runtime().store().WriteBatch(work)) ASSERT_TRUE(s);
  Step(vn, id, "cancel", "fwd-a", R"({"reason": "harvest delayed"})");
  std::string other = vn.Declare("fwd-a", "12C-678.90");
  Step(vn, other, "assess", "customs", R"({"channel": "green"})");

  net::testing::StreamReader staff(vn.port(), "/api/v1/feed",
                                   {{"Authorization", "Bearer " + vn.tokens().at("operator")}});
  ASSERT_TRUE(staff.WaitFor("event: hello\n")) << staff.body();
  pair.Pump();

  // The rest went on: the cancellation after it on its stream, the other crossing's notice.
  EXPECT_EQ(State(cn, id), "cancelled");
  EXPECT_EQ(cn.Call("GET", "/api/v1/crossings/" + id, "operator").body.at("driver"),
            before.body.at("driver"));
  EXPECT_EQ(State(cn, other), "expected");
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());

  // Recorded here, with the alert; the counterpart consumed the number from the skip notice.
  std::vector<json::object> dead = DeadRecords(vn);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].at("code").as_string(), "envelope_too_large");
  EXPECT_EQ(dead[0].at("type").as_string(), "driver_change");
  EXPECT_TRUE(dead[0].at("skip_notice").as_bool());
  EXPECT_TRUE(dead[0].at("alert").is_string());
  std::vector<json::object> skips = SkipNoticeRecords(cn);
  ASSERT_EQ(skips.size(), 1u);
  EXPECT_EQ(skips[0].at("seq").as_int64(), 2);
  EXPECT_EQ(skips[0].at("skipped_type").as_string(), "driver_change");
  EXPECT_EQ(skips[0].at("skipped_code").as_string(), "envelope_too_large");

  // The control room sees it: the link's alerts and the staff's live feed.
  ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
  ASSERT_EQ(link.status, 200) << link.raw;
  EXPECT_EQ(link.body.at("sent").at("dead").as_int64(), 1) << link.raw;
  const json::array& alerts = link.body.at("alerts").as_array();
  ASSERT_EQ(alerts.size(), 1u) << link.raw;
  EXPECT_EQ(alerts[0].at("type").as_string(), "undeliverable_message");
  EXPECT_EQ(alerts[0].at("crossing_id").as_string(), id);
  EXPECT_EQ(alerts[0].at("plate").as_string(), "12C-123.45");
  EXPECT_EQ(alerts[0].at("message_type").as_string(), "driver_change");
  EXPECT_EQ(alerts[0].at("code").as_string(), "envelope_too_large");
  EXPECT_EQ(alerts[0].at("seq").as_int64(), 2);
  EXPECT_EQ(alerts[0].at("message_id").as_string(), MessageId("vn-huu-nghi", "crossing:" + id, 2));
  ASSERT_TRUE(staff.WaitFor("\"action\":\"peer_message_dead\"")) << staff.body();
  EXPECT_NE(staff.body().find("event: link_message"), std::string::npos) << staff.body();
  EXPECT_NE(staff.body().find("\"alert\":"), std::string::npos) << staff.body();
  ExpectAuditChainOk(vn);
  ExpectAuditChainOk(cn);
}

// A stand-in for a counterpart with smaller limits than ours (an older version, a proxy in front
// of it): a request body over `max_body` bytes gets 413 problem details, as the peer listener
// answers one over its limits; the others go on to the real node's peer listener.
class SmallerCounterpart {
 public:
  SmallerCounterpart(TestNode& node, size_t max_body) : max_body_(max_body) {
    net::Router router;
    router.Add("POST", "/peer/v1/messages",
               [this, &node](net::HttpRequest& request, net::Respond respond) {
                 if (request.body.size() > max_body_) {
                   refused_.fetch_add(1);
                   respond(net::HttpResponse{
                       413,
                       "application/problem+json",
                       {},
                       fmt::format(R"({{"status":413,"code":"envelope_too_large",)"
                                   R"("detail":"the body is larger than {} bytes"}})",
                                   max_body_),
                       nullptr});
                   return;
                 }
                 passed_.fetch_add(1);
                 auto r = PostRawToPeer(node, request.body);
                 if (!r) {
                   respond(net::HttpResponse{502, "text/plain", {}, r.error().ToString(), nullptr});
                   return;
                 }
                 respond(net::HttpResponse{r->status, r->content_type, {}, r->body, nullptr});
               });
    net::ServerOptions options;
    options.max_body_bytes = kMaxBatchBytes;
    auto certificate = net::MakeSelfSignedCertificate("smaller-counterpart", 2);
    EXPECT_TRUE(certificate);
    options.tls = net::TlsServerOptions{certificate->certificate_pem, certificate->private_key_pem};
    server_ = std::make_unique<net::HttpServer>(
        options, std::move(router), [](int status, std::string_view code, std::string_view detail) {
          return net::HttpResponse{status,
                                   "application/json",
                                   {},
                                   fmt::format(R"({{"code":"{}","detail":"{}"}})", code, detail),
                                   nullptr};
        });
    auto port = server_->Start();
    EXPECT_TRUE(port) << port.error().ToString();
    port_ = port ? *port : 0;
  }
  ~SmallerCounterpart() { server_->Stop(); }

  std::string url() const { return fmt::format("https://127.0.0.1:{}/peer/v1", port_); }
  int refused() const { return refused_.load(); }
  int passed() const { return passed_.load(); }

 private:
  const size_t max_body_;
  std::unique_ptr<net::HttpServer> server_;
  uint16_t port_ = 0;
  std::atomic<int> refused_{0}, passed_{0};
};

// A counterpart that answers every batch with 200 and a body no acknowledgement can be: one
// that never ends (chunked), one over the bound of the largest batch's acknowledgement, one
// over the bound of this batch's, one nested too deep, one signed properly but with more items
// than the batch has messages (made by `sign_ack(messages in the batch)`).
class BadAckCounterpart {
 public:
  enum class Answer { kEndless, kOverLargestBatch, kOverThisBatch, kTooDeep, kTooManyItems };

  explicit BadAckCounterpart(std::function<std::string(size_t)> sign_ack)
      : sign_ack_(std::move(sign_ack)) {
    net::Router router;
    router.Add("POST", "/peer/v1/messages",
               [this](net::HttpRequest& request, net::Respond respond) {
                 requests_.fetch_add(1);
                 net::HttpResponse r{200, "application/json", {}, R"({"key_id":")", nullptr};
                 switch (answer_.load()) {
                   case Answer::kEndless: {
                     auto stream = std::make_shared<net::BodyStream>("", 1h, 64 << 20);
                     r.stream = stream;
                     std::lock_guard lock(mu_);
                     producers_.emplace_back([stream, this] {
                       // Until the client goes away: it must stop reading long before the request's
                       // timeout.
                       while (stream->Push(std::string(64 << 10, 'a'))) {
                         streamed_.fetch_add(64 << 10);
                         std::this_thread::sleep_for(1ms);
                       }
                     });
                     break;
                   }
                   case Answer::kOverLargestBatch:
                     r.body += std::string(MaxAckBytes(kMaxAckItems) + 1, 'a') + "\"}";
                     break;
                   case Answer::kOverThisBatch:
                     r.body += std::string(MaxAckBytes(8), 'a') + "\"}";
                     break;
                   case Answer::kTooDeep:
                     r.body = std::string(64, '[') + std::string(64, ']');
                     break;
                   case Answer::kTooManyItems: {
                     auto batch = DecodeBatch(request.body);
                     r.body = sign_ack_(batch ? batch->size() : 0);
                     break;
                   }
                 }
                 respond(std::move(r));
               });
    net::ServerOptions options;
    auto certificate = net::MakeSelfSignedCertificate("bad-ack-counterpart", 2);
    EXPECT_TRUE(certificate);
    options.tls = net::TlsServerOptions{certificate->certificate_pem, certificate->private_key_pem};
    options.max_body_bytes = kMaxBatchBytes;
    server_ = std::make_unique<net::HttpServer>(
        options, std::move(router), [](int status, std::string_view code, std::string_view) {
          return net::HttpResponse{status, "application/json", {}, std::string(code), nullptr};
        });
    auto port = server_->Start();
    EXPECT_TRUE(port) << port.error().ToString();
    port_ = port ? *port : 0;
  }
  ~BadAckCounterpart() {
    server_->Stop();
    for (std::thread& t : producers_) t.join();
  }

  void AnswerWith(Answer answer) { answer_ = answer; }
  std::string url() const { return fmt::format("https://127.0.0.1:{}/peer/v1", port_); }
  int requests() const { return requests_.load(); }
  size_t streamed() const { return streamed_.load(); }

 private:
  const std::function<std::string(size_t)> sign_ack_;
  std::unique_ptr<net::HttpServer> server_;
  uint16_t port_ = 0;
  std::atomic<Answer> answer_{Answer::kEndless};
  std::atomic<int> requests_{0};
  std::atomic<size_t> streamed_{0};
  std::mutex mu_;
  std::vector<std::thread> producers_;
};

// Found by the link review: the sender read a counterpart's answer to a batch whatever its
// size (the HTTP client's 1 GiB), so a broken or hostile counterpart could make it allocate
// without limit. An answer longer than the acknowledgement of the batch can be (MaxAckBytes),
// nested too deep, or acknowledging more messages than were sent, is refused like any bad answer:
// logged as the link's error, nothing leaves the outbox, and the messages are delivered once the
// counterpart answers properly.
TEST(LinkTest, AnAnswerLongerThanAnAcknowledgementCanBeIsRefusedAndRetried) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string id = vn.Declare("fwd-a", "12C-678.90");
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  const size_t waiting = outbox->size();
  ASSERT_GE(waiting, 1u);
  ASSERT_LE(waiting, 8u);  // kOverThisBatch is over MaxAckBytes(8)
  BadAckCounterpart bad([&](size_t messages) {
    Ack ack;
    for (size_t i = 0; i <= messages; ++i) {
      ack.items.push_back({fmt::format("vn-huu-nghi/crossing:CR-X/{}", i + 1), "applied", "", ""});
    }
    Envelope e;
    e.from = "cn-youyiguan";
    e.to = "vn-huu-nghi";
    e.type = MessageType::kAck;
    e.stream = "ack";
    e.seq = 1;
    e.id = MessageId(e.from, e.stream, e.seq);
    e.sent_at = vn.clock().Now();  // the time of the node that verifies it
    e.payload = Encode(ack);
    return EncodeSigned(Sign(e, pair.cn_key()));
  });
  vn.runtime().link()->SetPeerUrl(bad.url());
  const std::vector<std::pair<BadAckCounterpart::Answer, std::string>> cases = {
      {BadAckCounterpart::Answer::kEndless, "ack_too_large"},
      {BadAckCounterpart::Answer::kOverLargestBatch, "ack_too_large"},
      {BadAckCounterpart::Answer::kOverThisBatch, "ack_too_large"},
      {BadAckCounterpart::Answer::kTooDeep, "malformed_batch"},
      {BadAckCounterpart::Answer::kTooManyItems, "bad_ack"},
  };
  for (const auto& [answer, code] : cases) {
    SCOPED_TRACE(code + " " + std::to_string(static_cast<int>(answer)));
    bad.AnswerWith(answer);
    const auto started = std::chrono::steady_clock::now();
    auto sent = vn.runtime().link()->SendOnce();
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, code) << sent.error().ToString();
    // Well before the request's timeout (2 s): the endless answer is not read to its end.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
    ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
    ASSERT_TRUE(link.body.at("last_error").is_string()) << link.raw;
    EXPECT_EQ(std::string(link.body.at("last_error").as_string()).rfind(code + ": ", 0), 0u)
        << link.raw;
    EXPECT_EQ(link.body.at("state").as_string(), "down") << link.raw;
    outbox = vn.runtime().store().ListRecords("peer_outbox");
    ASSERT_TRUE(outbox);
    EXPECT_EQ(outbox->size(), waiting);
  }
  EXPECT_EQ(bad.requests(), 5);
  // Of the endless answer, no more than the client's bound and what was in flight was sent.
  EXPECT_LT(bad.streamed(), size_t{64} << 20);

  pair.Connect();
  pair.Pump();
  EXPECT_EQ(State(cn, id), "expected");
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 0);
}

// Declares the largest declaration with `plate` and assesses it: its pre-arrival notice is in
// the outbox.
std::string DeclareLargest(TestNode& vn, std::string_view plate) {
  ApiReply declared = vn.Call("POST", "/api/v1/crossings", "fwd-a", LargestDeclarationJson(plate));
  EXPECT_EQ(declared.status, 201) << declared.raw.substr(0, 1000);
  if (declared.status != 201) return "";
  std::string id(declared.body.at("id").as_string());
  Step(vn, id, "assess", "customs", R"({"channel": "green"})");
  return id;
}

// Four of the largest declarations, their pre-arrival notices in the outbox; `one`: the bytes
// one notice takes in a batch (base64: about 4/3 of its outbox record). Empty ids on failure.
struct LargestOutbox {
  std::vector<std::string> ids;
  size_t one = 0;
};
LargestOutbox DeclareFourLargest(TestNode& vn) {
  LargestOutbox out;
  for (std::string_view plate : {"12C-111.11", "12C-222.22", "12C-333.33", "12C-444.44"}) {
    out.ids.push_back(DeclareLargest(vn, plate));
    if (out.ids.back().empty()) return {};
  }
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  EXPECT_TRUE(outbox);
  if (!outbox || outbox->size() != 4) {
    ADD_FAILURE() << "expected 4 outbox records";
    return {};
  }
  out.one = outbox->front().body.size() * 4 / 3;
  return out;
}

// A batch the counterpart refuses whole as too large (413) is sent again in halves, down to
// single messages, instead of being retried as it is for ever: everything is delivered, in
// order, nothing is given up.
TEST(LinkTest, ABatchRefusedAsTooLargeIsSentInHalves) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  const LargestOutbox declared = DeclareFourLargest(vn);
  ASSERT_FALSE(declared.ids.empty());
  const std::vector<std::string>& ids = declared.ids;
  // One message passes, two do not.
  const size_t one = declared.one;
  SmallerCounterpart smaller(cn, one * 3 / 2);
  vn.runtime().link()->SetPeerUrl(smaller.url());

  pair.Pump();
  for (const std::string& id : ids) EXPECT_EQ(State(cn, id), "expected") << id;
  EXPECT_EQ(smaller.refused(), 3);  // the four, then each pair
  EXPECT_EQ(smaller.passed(), 4);
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 0);
  ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
  EXPECT_EQ(link.body.at("sent").at("delivered").as_int64(), 4) << link.raw;
  EXPECT_TRUE(link.body.at("alerts").as_array().empty()) << link.raw;
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());
}

// Found by the link review: a counterpart whose peer listener takes less than our batches (a
// smaller limit, an older version) answered a larger batch with 413 but closed the connection
// after a short drain, so the sender, which writes the whole batch before it reads, was reset
// instead of reading the 413 that makes it send the batch in halves, and retried it whole for
// ever. Now every message arrives, and a raw oversized request gets its 413 problem details.
TEST(LinkTest, APeerListenerWithASmallerLimitAnswers413AndTheBatchArrivesInHalves) {
  constexpr size_t kLimit = 400 << 10;
  LinkPair pair(false, "clean_and_seal_intact", {}, kLimit);
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  const LargestOutbox declared = DeclareFourLargest(vn);
  ASSERT_FALSE(declared.ids.empty());
  const std::vector<std::string>& ids = declared.ids;
  // One message passes, two do not.
  const size_t one = declared.one;
  ASSERT_LT(one + 1024, kLimit);
  ASSERT_GT(2 * one, kLimit);

  pair.Pump();
  for (const std::string& id : ids) EXPECT_EQ(State(cn, id), "expected") << id;
  EXPECT_EQ(CountAudit(vn, "peer_message_dead"), 0);
  ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
  EXPECT_EQ(link.body.at("sent").at("delivered").as_int64(), 4) << link.raw;
  EXPECT_EQ(link.body.at("sent").at("attempts").as_int64(), 7) << link.raw;  // 4, 2+2, 1+1+1+1
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());

  // Straight to the listener: the problem details every error of it has, not a reset.
  auto raw = PostRawToPeer(cn, std::string(4 << 20, ' '));
  ASSERT_TRUE(raw) << raw.error().ToString();
  EXPECT_EQ(raw->status, 413) << raw->body;
  EXPECT_EQ(raw->content_type, "application/problem+json");
  auto problem = ParseJson(raw->body);
  ASSERT_TRUE(problem && problem->is_object()) << raw->body;
  EXPECT_EQ(problem->at("code").as_string(), "payload_too_large");
  EXPECT_EQ(problem->at("status").as_int64(), 413);
  EXPECT_TRUE(problem->as_object().contains("detail"));
  ExpectAuditChainOk(vn);
  ExpectAuditChainOk(cn);
}

// A single message the counterpart refuses as too large (a counterpart still on a smaller
// limit) cannot be delivered however often it is sent: the sender gives it up with a skip
// notice and an alert, and the messages after it are delivered.
TEST(LinkTest, AMessageTheCounterpartRefusesAsTooLargeIsSkippedWithAnAlert) {
  LinkPair pair;
  TestNode& vn = pair.vn();
  TestNode& cn = pair.cn();
  std::string large = DeclareLargest(vn, "12C-111.11");
  ASSERT_FALSE(large.empty());
  std::string small = vn.Declare("fwd-a", "12C-678.90");
  Step(vn, small, "assess", "customs", R"({"channel": "green"})");
  SmallerCounterpart smaller(cn, 64 * 1024);  // the link's limit before
  vn.runtime().link()->SetPeerUrl(smaller.url());

  pair.Pump();
  EXPECT_EQ(State(cn, small), "expected");
  EXPECT_EQ(State(cn, large), "HTTP 404");
  std::vector<json::object> dead = DeadRecords(vn);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].at("code").as_string(), "envelope_too_large");
  EXPECT_EQ(dead[0].at("type").as_string(), "pre_arrival");
  std::vector<json::object> skips = SkipNoticeRecords(cn);
  ASSERT_EQ(skips.size(), 1u);
  EXPECT_EQ(skips[0].at("stream").as_string(), "crossing:" + large);
  EXPECT_EQ(skips[0].at("skipped_type").as_string(), "pre_arrival");
  ApiReply link = vn.Call("GET", "/api/v1/link", "operator");
  const json::array& alerts = link.body.at("alerts").as_array();
  ASSERT_EQ(alerts.size(), 1u) << link.raw;
  EXPECT_EQ(alerts[0].at("type").as_string(), "undeliverable_message");
  EXPECT_EQ(alerts[0].at("crossing_id").as_string(), large);
  EXPECT_EQ(alerts[0].at("message_type").as_string(), "pre_arrival");
  auto outbox = vn.runtime().store().ListRecords("peer_outbox");
  ASSERT_TRUE(outbox);
  EXPECT_TRUE(outbox->empty());
  ExpectAuditChainOk(vn);
  ExpectAuditChainOk(cn);
}

}  // namespace
}  // namespace borderflow::testing

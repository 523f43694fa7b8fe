#include <functional>

#include <boost/json/array.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <borderflow/core/json.h>
#include <borderflow/link/envelope.h>

#include "link_test_util.h"

namespace borderflow {
namespace {

namespace json = boost::json;
using link_test::KeyFromByte;
using link_test::Pin;
using link_test::SampleEnvelope;
using link_test::T0;

// Signs `text` as it is, so that the tests reach the parser with bytes a valid key signed.
SignedMessage SignRaw(const NodeKey& key, std::string text) {
  std::string input = std::string(kSignaturePrefix) + text;
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<uint8_t*>(signature.data()), nullptr,
                       reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                       key.secret_key.data());
  return SignedMessage{key.key_id, signature, std::move(text)};
}

class EnvelopeTest : public ::testing::Test {
 protected:
  EnvelopeTest() : key_(KeyFromByte(1)) { EXPECT_TRUE(ring_.Add(Pin(key_))); }

  VerifyOptions Options(Timestamp now = T0()) const {
    return VerifyOptions{.expected_from = "VN-HN", .expected_to = "CN-YY", .now = now};
  }
  SignedMessage SignAsIs(std::string text) const { return SignRaw(key_, std::move(text)); }

  NodeKey key_;
  PeerKeyRing ring_;
};

TEST_F(EnvelopeTest, EncodesCompactJsonInFixedOrder) {
  EXPECT_EQ(EncodeEnvelope(SampleEnvelope()),
            R"({"v":1,"from":"VN-HN","to":"CN-YY","type":"receipt",)"
            R"("id":"VN-HN/crossing:CR-01ABCDEF0123456/3","stream":"crossing:CR-01ABCDEF0123456",)"
            R"("seq":3,"sent_at":"2026-11-29T01:00:00.123Z",)"
            R"("payload":{"crossing_id":"CR-01ABCDEF0123456",)"
            R"("received_at":"2026-11-29T01:00:00.000Z"}})");
}

TEST_F(EnvelopeTest, SignedEnvelopeRoundTrips) {
  for (MessageType type :
       {MessageType::kPreArrival, MessageType::kCapacityAnnouncement,
        MessageType::kInspectionResult, MessageType::kReleaseNotice, MessageType::kHandover,
        MessageType::kReceipt, MessageType::kCancellation, MessageType::kAck}) {
    Envelope e = SampleEnvelope();
    e.type = type;
    SignedMessage m = Sign(e, key_);
    EXPECT_EQ(m.key_id, key_.key_id);
    EXPECT_EQ(m.signature.size(), 64u);
    EXPECT_EQ(m.bytes, EncodeEnvelope(e));
    // Ed25519 is deterministic: the library signs exactly prefix + bytes, as the helper does.
    EXPECT_EQ(m, SignRaw(key_, EncodeEnvelope(e)));
    EXPECT_EQ(m, SignBytes(EncodeEnvelope(e), key_));
    auto opened = VerifyAndOpen(m, ring_, Options());
    ASSERT_TRUE(opened) << opened.error().ToString();
    EXPECT_EQ(*opened, e);
  }
}

TEST_F(EnvelopeTest, MessageTypeNamesRoundTrip) {
  const char* names[] = {"pre_arrival",       "capacity_announcement",
                         "inspection_result", "release_notice",
                         "handover",          "receipt",
                         "cancellation",      "ack"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(MessageTypeName(static_cast<MessageType>(i)), names[i]);
    auto parsed = ParseMessageType(names[i]);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, static_cast<MessageType>(i));
  }
  EXPECT_EQ(ParseMessageType("Ack").error().code, "unknown_message_type");
  EXPECT_EQ(ParseMessageType("").error().code, "unknown_message_type");
}

TEST_F(EnvelopeTest, AnyChangedByteBreaksTheSignature) {
  SignedMessage m = Sign(SampleEnvelope(), key_);
  for (size_t i = 0; i < m.bytes.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      SignedMessage tampered = m;
      tampered.bytes[i] = static_cast<char>(tampered.bytes[i] ^ flip);
      auto r = VerifyAndOpen(tampered, ring_, Options());
      ASSERT_FALSE(r) << "byte " << i;
      EXPECT_EQ(r.error().code, "bad_signature") << "byte " << i;
      EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated);
    }
  }
  for (size_t i = 0; i < m.signature.size(); ++i) {
    SignedMessage tampered = m;
    tampered.signature[i] = static_cast<char>(tampered.signature[i] ^ 0x01);
    auto r = VerifyAndOpen(tampered, ring_, Options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "bad_signature");
  }
  SignedMessage appended = m;
  appended.bytes += " ";
  EXPECT_EQ(VerifyAndOpen(appended, ring_, Options()).error().code, "bad_signature");
  SignedMessage truncated = m;
  truncated.bytes.pop_back();
  EXPECT_EQ(VerifyAndOpen(truncated, ring_, Options()).error().code, "bad_signature");
  SignedMessage short_signature = m;
  short_signature.signature.pop_back();
  EXPECT_EQ(VerifyAndOpen(short_signature, ring_, Options()).error().code, "bad_signature");
}

TEST_F(EnvelopeTest, SignatureCoversTheDomainPrefix) {
  // A signature over the bare bytes (without "borderflow/peer/v1\n") must not verify: a signature
  // the key made for some other protocol cannot be replayed as a link message.
  SignedMessage m = Sign(SampleEnvelope(), key_);
  std::string bare(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<uint8_t*>(bare.data()), nullptr,
                       reinterpret_cast<const uint8_t*>(m.bytes.data()), m.bytes.size(),
                       key_.secret_key.data());
  m.signature = bare;
  EXPECT_EQ(VerifyAndOpen(m, ring_, Options()).error().code, "bad_signature");
}

TEST_F(EnvelopeTest, SignatureByAnotherPinnedKeyIsBad) {
  NodeKey other = KeyFromByte(2);
  ASSERT_TRUE(ring_.Add(Pin(other)));
  SignedMessage m = Sign(SampleEnvelope(), other);
  m.key_id = key_.key_id;  // claims the first key
  EXPECT_EQ(VerifyAndOpen(m, ring_, Options()).error().code, "bad_signature");
}

TEST_F(EnvelopeTest, UnpinnedKeyIsUnknown) {
  SignedMessage m = Sign(SampleEnvelope(), KeyFromByte(9));
  auto r = VerifyAndOpen(m, ring_, Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unknown_key");
  EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated);
  PeerKeyRing empty;
  EXPECT_EQ(VerifyAndOpen(Sign(SampleEnvelope(), key_), empty, Options()).error().code,
            "unknown_key");
}

// The receiver decides what it may store by VerifySignature alone: it passes only for bytes a
// pinned key signed, whatever they hold, and OpenVerified then judges their content.
TEST_F(EnvelopeTest, VerifySignatureSeparatesAuthenticFromAnyoneElses) {
  SignedMessage good = Sign(SampleEnvelope(), key_);
  EXPECT_TRUE(VerifySignature(good, ring_, T0()));
  auto opened = OpenVerified(good, Options());
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(*opened, SampleEnvelope());
  // Signed junk is authentic (the counterpart's to account for), then refused as malformed.
  SignedMessage junk = SignAsIs(R"({"id":"x\n"})");
  EXPECT_TRUE(VerifySignature(junk, ring_, T0()));
  EXPECT_EQ(OpenVerified(junk, Options()).error().code, "malformed_envelope");
  // Unknown key, changed byte, claimed key: not authentic.
  EXPECT_EQ(VerifySignature(Sign(SampleEnvelope(), KeyFromByte(9)), ring_, T0()).error().code,
            "unknown_key");
  SignedMessage changed = good;
  changed.bytes[10] ^= 1;
  EXPECT_EQ(VerifySignature(changed, ring_, T0()).error().code, "bad_signature");
  SignedMessage claimed = SignRaw(KeyFromByte(9), R"({"id":"x"})");
  claimed.key_id = key_.key_id;
  EXPECT_EQ(VerifySignature(claimed, ring_, T0()).error().kind, ErrorKind::kUnauthenticated);
}

TEST_F(EnvelopeTest, RotationAcceptsBothKeysDuringTheOverlapOnly) {
  NodeKey old_key = KeyFromByte(3), new_key = KeyFromByte(4);
  const Timestamp switch_at = T0() + std::chrono::hours(24);
  const Timestamp overlap_end = switch_at + std::chrono::hours(48);
  PeerKeyRing ring;
  ASSERT_TRUE(ring.Add(Pin(old_key, std::nullopt, overlap_end)));
  ASSERT_TRUE(ring.Add(Pin(new_key, switch_at, std::nullopt)));
  auto verify = [&](const NodeKey& key, Timestamp now) {
    Envelope e = SampleEnvelope();
    e.sent_at = now;
    return VerifyAndOpen(Sign(e, key), ring, Options(now));
  };
  EXPECT_TRUE(verify(old_key, T0()));
  EXPECT_EQ(verify(new_key, T0()).error().code, "key_not_yet_valid");
  EXPECT_EQ(verify(new_key, switch_at - std::chrono::milliseconds(1)).error().code,
            "key_not_yet_valid");
  EXPECT_TRUE(verify(new_key, switch_at));
  EXPECT_TRUE(verify(old_key, switch_at));
  EXPECT_TRUE(verify(old_key, overlap_end));
  EXPECT_TRUE(verify(new_key, overlap_end));
  auto expired = verify(old_key, overlap_end + std::chrono::milliseconds(1));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, "key_expired");
  EXPECT_EQ(expired.error().kind, ErrorKind::kUnauthenticated);
  EXPECT_TRUE(verify(new_key, overlap_end + std::chrono::hours(1000)));
}

TEST_F(EnvelopeTest, TimeWindow) {
  auto at = [&](Duration offset) {
    Envelope e = SampleEnvelope();
    e.sent_at = T0() + offset;
    return VerifyAndOpen(Sign(e, key_), ring_, Options());
  };
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  EXPECT_TRUE(at(minutes(5)));
  auto too_new = at(minutes(5) + milliseconds(1));
  ASSERT_FALSE(too_new);
  EXPECT_EQ(too_new.error().code, "too_new");
  EXPECT_EQ(too_new.error().field, "envelope.sent_at");
  EXPECT_TRUE(at(-hours(24 * 7)));
  auto too_old = at(-hours(24 * 7) - milliseconds(1));
  ASSERT_FALSE(too_old);
  EXPECT_EQ(too_old.error().code, "too_old");

  // The bounds are options.
  Envelope e = SampleEnvelope();
  e.sent_at = T0() - hours(2);
  VerifyOptions strict = Options();
  strict.max_age = hours(1);
  EXPECT_EQ(VerifyAndOpen(Sign(e, key_), ring_, strict).error().code, "too_old");
  e.sent_at = T0() + minutes(1);
  strict.max_skew = std::chrono::seconds(30);
  EXPECT_EQ(VerifyAndOpen(Sign(e, key_), ring_, strict).error().code, "too_new");
}

TEST_F(EnvelopeTest, WrongSenderAndRecipient) {
  Envelope e = SampleEnvelope();
  e.from = "VN-XX";
  e.id = MessageId(e.from, e.stream, e.seq);
  auto r = VerifyAndOpen(Sign(e, key_), ring_, Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "wrong_sender");
  EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
  e = SampleEnvelope();
  e.to = "VN-HN";
  r = VerifyAndOpen(Sign(e, key_), ring_, Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "wrong_recipient");
  EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
}

// The envelope of SampleEnvelope() as a JSON object, for field-by-field mutations.
json::object SampleObject() {
  return ParseJson(EncodeEnvelope(SampleEnvelope())).value().as_object();
}

TEST_F(EnvelopeTest, ValidSignatureOverMalformedEnvelopesIsRefusedPerField) {
  struct Case {
    std::string name;
    std::function<void(json::object&)> mutate;
    std::string field;  // expected Error::field
  };
  std::string long_token(65, 'a');
  std::vector<Case> cases = {
      {"unknown field", [](json::object& o) { o["extra"] = 1; }, "envelope.extra"},
      {"missing from", [](json::object& o) { o.erase("from"); }, "envelope.from"},
      {"from not a string", [](json::object& o) { o["from"] = 5; }, "envelope.from"},
      {"empty from", [](json::object& o) { o["from"] = ""; }, "envelope.from"},
      {"from too long", [&](json::object& o) { o["from"] = long_token; }, "envelope.from"},
      {"from charset", [](json::object& o) { o["from"] = "VN HN"; }, "envelope.from"},
      {"missing to", [](json::object& o) { o.erase("to"); }, "envelope.to"},
      {"to charset", [](json::object& o) { o["to"] = "CN/YY"; }, "envelope.to"},
      {"missing type", [](json::object& o) { o.erase("type"); }, "envelope.type"},
      {"unknown type", [](json::object& o) { o["type"] = "pre-arrival"; }, "envelope.type"},
      {"missing id", [](json::object& o) { o.erase("id"); }, "envelope.id"},
      {"id mismatch", [](json::object& o) { o["id"] = "VN-HN/crossing:CR-01ABCDEF0123456/4"; },
       "envelope.id"},
      {"missing stream", [](json::object& o) { o.erase("stream"); }, "envelope.stream"},
      {"stream charset", [](json::object& o) { o["stream"] = "crossing/CR"; }, "envelope.stream"},
      {"stream too long", [](json::object& o) { o["stream"] = std::string(129, 's'); },
       "envelope.stream"},
      {"missing seq", [](json::object& o) { o.erase("seq"); }, "envelope.seq"},
      {"seq zero", [](json::object& o) { o["seq"] = 0; }, "envelope.seq"},
      {"seq negative", [](json::object& o) { o["seq"] = -3; }, "envelope.seq"},
      {"seq fraction", [](json::object& o) { o["seq"] = 3.5; }, "envelope.seq"},
      {"seq string", [](json::object& o) { o["seq"] = "3"; }, "envelope.seq"},
      {"missing sent_at", [](json::object& o) { o.erase("sent_at"); }, "envelope.sent_at"},
      {"sent_at without zone", [](json::object& o) { o["sent_at"] = "2026-11-29T01:00:00"; },
       "envelope.sent_at"},
      {"sent_at garbage", [](json::object& o) { o["sent_at"] = "yesterday"; }, "envelope.sent_at"},
      {"missing payload", [](json::object& o) { o.erase("payload"); }, "envelope.payload"},
      {"payload array", [](json::object& o) { o["payload"] = json::array(); }, "envelope.payload"},
      {"missing v", [](json::object& o) { o.erase("v"); }, "envelope.v"},
      {"v string", [](json::object& o) { o["v"] = "1"; }, "envelope.v"},
  };
  for (const Case& c : cases) {
    json::object o = SampleObject();
    c.mutate(o);
    auto r = VerifyAndOpen(SignAsIs(ToJsonText(o)), ring_, Options());
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, "malformed_envelope") << c.name << ": " << r.error().ToString();
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument) << c.name;
    EXPECT_EQ(r.error().field, c.field) << c.name << ": " << r.error().ToString();
    EXPECT_NE(r.error().message.find(c.field), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST_F(EnvelopeTest, MalformedDocuments) {
  std::string canonical = EncodeEnvelope(SampleEnvelope());
  std::string deep = "{\"v\":1,\"payload\":" + std::string(20, '[') + std::string(20, ']') + "}";
  std::string duplicate = canonical;
  duplicate.replace(duplicate.find("\"from\""), 0, "\"from\":\"VN-XX\",");
  std::string reordered = canonical;
  reordered.replace(reordered.find(",\"to\":\"CN-YY\""), 12, "");
  reordered.insert(reordered.size() - 1, ",\"to\":\"CN-YY\"");
  for (const std::string& text :
       {std::string(), std::string("not json"), std::string("[1]"), std::string("null"),
        canonical.substr(0, canonical.size() - 1), canonical + " ", " " + canonical,
        std::string(R"({"v": 1})"), deep, duplicate, reordered,
        std::string(kMaxEnvelopeBytes + 1, ' ')}) {
    auto r = VerifyAndOpen(SignAsIs(text), ring_, Options());
    ASSERT_FALSE(r) << text.substr(0, 80);
    EXPECT_EQ(r.error().code, "malformed_envelope") << text.substr(0, 80);
  }
  // Sanity: the canonical text itself is accepted through the same path.
  EXPECT_TRUE(VerifyAndOpen(SignAsIs(canonical), ring_, Options()));
}

TEST_F(EnvelopeTest, OtherVersionsAreUnsupported) {
  for (int v : {0, 2, 99}) {
    json::object o = SampleObject();
    o["v"] = v;
    o["future_field"] = true;  // a later version may add fields: the version is checked first
    auto r = VerifyAndOpen(SignAsIs(ToJsonText(o)), ring_, Options());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "unsupported_version") << v;
  }
}

TEST_F(EnvelopeTest, BatchRoundTrips) {
  std::vector<SignedMessage> messages;
  for (int seq = 1; seq <= 3; ++seq) {
    Envelope e = SampleEnvelope();
    e.seq = seq;
    e.id = MessageId(e.from, e.stream, seq);
    messages.push_back(Sign(e, key_));
  }
  std::string body = EncodeBatch(messages);
  auto decoded = DecodeBatch(body);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(*decoded, messages);
  for (const auto& m : *decoded) EXPECT_TRUE(VerifyAndOpen(m, ring_, Options()));

  auto empty = DecodeBatch(EncodeBatch({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());

  std::string single = EncodeSigned(messages[0]);
  auto one = DecodeSigned(single);
  ASSERT_TRUE(one) << one.error().ToString();
  EXPECT_EQ(*one, messages[0]);
  auto wire = ParseJson(body).value();
  EXPECT_EQ(wire.at("messages").at(0).at("key_id").as_string(), key_.key_id);
  EXPECT_EQ(wire.at("messages").at(0).at("envelope").as_string(), Base64Encode(messages[0].bytes));
}

TEST_F(EnvelopeTest, BatchLimits) {
  SignedMessage m = Sign(SampleEnvelope(), key_);
  std::vector<SignedMessage> four(4, m);
  auto too_many = DecodeBatch(EncodeBatch(four), 3);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, "too_many_messages");
  EXPECT_EQ(too_many.error().kind, ErrorKind::kPayloadTooLarge);
  EXPECT_TRUE(DecodeBatch(EncodeBatch(four), 4));

  auto too_large = DecodeBatch(EncodeBatch({m}), 512, m.bytes.size() - 1);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code, "envelope_too_large");
  EXPECT_EQ(too_large.error().field, "messages[0].envelope");
  EXPECT_TRUE(DecodeBatch(EncodeBatch({m}), 512, m.bytes.size()));
  EXPECT_EQ(DecodeSigned(EncodeSigned(m), m.bytes.size() - 1).error().code, "envelope_too_large");

  // A body far larger than the limits allow is refused before it is parsed.
  std::string huge = "{\"messages\":[" + std::string(100000, ' ') + "]}";
  auto r = DecodeBatch(huge, 1, 100);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kPayloadTooLarge);
}

// DecodeBatch's parse limit follows from its arguments: the largest body that `max_messages`
// items of envelopes of `max_envelope_bytes` can make (each key id escaped at worst), padded to
// exactly MaxBatchBodyBytes, decodes; one byte more is refused before it is parsed. (It was
// 512 bytes an item, less than an item's framing with an escaped key id: such a batch was
// refused, and a batch of one message was bounded by max_messages items.)
TEST_F(EnvelopeTest, TheBatchParseLimitFollowsFromItsArguments) {
  constexpr size_t kMessages = 3, kEnvelope = 100;
  const size_t bound = MaxBatchBodyBytes(kMessages, kEnvelope);
  EXPECT_EQ(bound, 16 + kMessages * MaxBatchItemBytes(kEnvelope));
  std::string escaped_key_id;
  for (size_t i = 0; i < kMaxKeyIdLength; ++i) escaped_key_id += "\\u0041";
  std::string item =
      fmt::format(R"({{"key_id":"{}","signature":"{}","envelope":"{}"}})", escaped_key_id,
                  Base64Encode(std::string(64, 's')), Base64Encode(std::string(kEnvelope, 'e')));
  std::string items = item + "," + item + "," + item;
  const std::string head = "{\"messages\":[", tail = "]}";
  ASSERT_LE(head.size() + items.size() + tail.size(), bound);
  std::string at_bound =
      head + std::string(bound - head.size() - items.size() - tail.size(), ' ') + items + tail;
  ASSERT_EQ(at_bound.size(), bound);
  auto decoded = DecodeBatch(at_bound, kMessages, kEnvelope);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  ASSERT_EQ(decoded->size(), kMessages);
  EXPECT_EQ(decoded->at(0).key_id, std::string(kMaxKeyIdLength, 'A'));

  auto over = DecodeBatch(" " + at_bound, kMessages, kEnvelope);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, "payload_too_large");
  EXPECT_EQ(over.error().kind, ErrorKind::kPayloadTooLarge);
  // The bound is the arguments', not a global one: a body of two items at most.
  auto two = DecodeBatch(at_bound, 2, kEnvelope);
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code, "payload_too_large");

  // Nested deeper than a batch is refused as malformed, whatever its size.
  auto deep = DecodeBatch(R"({"messages":[{"key_id":[[1]]}]})", kMessages, kEnvelope);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, "malformed_batch");
}

// An envelope of the largest size the link takes travels alone in a batch within the peer
// listener's body limit, and BatchItemBytes (the sender's measure of a batch) is an upper bound
// of what EncodeBatch writes.
TEST_F(EnvelopeTest, TheLargestEnvelopeFitsABatch) {
  SignedMessage largest = SignAsIs(std::string(kMaxEnvelopeBytes, 'x'));
  std::string body = EncodeBatch({largest});
  EXPECT_LE(body.size(), kMaxBatchBytes);
  EXPECT_LE(body.size(), 16 + BatchItemBytes(largest));
  EXPECT_LE(BatchItemBytes(largest), MaxBatchItemBytes(kMaxEnvelopeBytes));
  auto decoded = DecodeBatch(body);
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  EXPECT_EQ(decoded->at(0), largest);
  EXPECT_TRUE(VerifySignature(largest, ring_, Options().now));

  SignedMessage over = SignAsIs(std::string(kMaxEnvelopeBytes + 1, 'x'));
  auto refused = DecodeBatch(EncodeBatch({over}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "envelope_too_large");

  std::vector<SignedMessage> many(20, Sign(SampleEnvelope(), key_));
  many.push_back(largest);
  size_t bound = 16;
  for (const SignedMessage& m : many) bound += BatchItemBytes(m);
  EXPECT_LE(EncodeBatch(many).size(), bound);
}

TEST_F(EnvelopeTest, MalformedBatches) {
  SignedMessage m = Sign(SampleEnvelope(), key_);
  json::object item = ParseJson(EncodeSigned(m)).value().as_object();
  auto batch_of = [](json::value item) {
    json::object o;
    o["messages"] = json::array{std::move(item)};
    return ToJsonText(o);
  };
  struct Case {
    std::string body;
    std::string field;
  };
  std::string short_signature = Base64Encode(m.signature.substr(0, 63));
  std::vector<Case> cases = {
      {"", ""},
      {"[]", ""},
      {R"({})", "messages"},
      {R"({"messages":{}})", "messages"},
      {R"({"messages":[],"more":1})", "more"},
      {batch_of(1), "messages[0]"},
  };
  auto with = [&](std::string_view key, json::value v) {
    json::object o = item;
    if (v.is_null()) {
      o.erase(key);
    } else {
      o[key] = std::move(v);
    }
    return batch_of(o);
  };
  cases.push_back({with("extra", "x"), "messages[0].extra"});
  cases.push_back({with("key_id", nullptr), "messages[0].key_id"});
  cases.push_back({with("key_id", json::string(std::string(65, 'k'))), "messages[0].key_id"});
  cases.push_back({with("signature", nullptr), "messages[0].signature"});
  cases.push_back({with("signature", json::string(short_signature)), "messages[0].signature"});
  cases.push_back({with("signature", "not base64!"), "messages[0].signature"});
  cases.push_back({with("envelope", nullptr), "messages[0].envelope"});
  cases.push_back({with("envelope", 7), "messages[0].envelope"});
  cases.push_back({with("envelope", "AAA"), "messages[0].envelope"});
  for (const Case& c : cases) {
    auto r = DecodeBatch(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code, "malformed_batch") << c.body << ": " << r.error().ToString();
    EXPECT_EQ(r.error().field, c.field) << c.body << ": " << r.error().ToString();
  }
  EXPECT_EQ(DecodeSigned("{}").error().code, "malformed_batch");
  EXPECT_EQ(DecodeSigned(R"({"key_id":"k"})").error().field, "signature");
}

TEST_F(EnvelopeTest, LinkTokens) {
  EXPECT_TRUE(IsLinkToken("crossing:CR-01ABCDEF0123456", 128));
  EXPECT_TRUE(IsLinkToken("capacity", 128));
  EXPECT_TRUE(IsLinkToken("a_b.c-d:e", 9));
  EXPECT_FALSE(IsLinkToken("a_b.c-d:e", 8));
  EXPECT_FALSE(IsLinkToken("", 8));
  EXPECT_FALSE(IsLinkToken("a/b", 8));
  EXPECT_FALSE(IsLinkToken("a b", 8));
  EXPECT_FALSE(IsLinkToken("\xC3\xA9", 8));
  EXPECT_EQ(MessageId("VN-HN", "capacity", 12), "VN-HN/capacity/12");
}

}  // namespace
}  // namespace borderflow

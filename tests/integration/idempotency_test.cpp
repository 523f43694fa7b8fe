// Idempotency and concurrency over HTTP: a retried command returns its first result and records
// nothing twice (also after the crossing moved on and after a restart); keys are scoped per
// user; concurrent conflicting commands on one crossing leave exactly one winner.

#include <algorithm>
#include <latch>
#include <map>
#include <thread>

#include <fmt/format.h>

#include <borderflow/net/http_client.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

namespace json = boost::json;

std::string History(TestNode& node, const std::string& id, std::vector<std::string>* actions) {
  ApiReply r = node.Call("GET", "/api/v1/crossings/" + id + "/events", "operator");
  EXPECT_EQ(r.status, 200) << r.raw;
  if (actions != nullptr && r.status == 200) {
    actions->clear();
    for (const auto& item : r.body.at("items").as_array()) {
      actions->push_back(std::string(item.at("action").as_string()));
    }
  }
  return r.raw;
}

size_t CountCrossings(TestNode& node) {
  ApiReply r = node.Call("GET", "/api/v1/crossings?limit=200", "operator");
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.status == 200 ? r.body.at("items").as_array().size() : 0;
}

// (state, version) as the operator sees it.
std::pair<std::string, int64_t> StateOf(TestNode& node, const std::string& id) {
  ApiReply r = node.Call("GET", "/api/v1/crossings/" + id, "operator");
  EXPECT_EQ(r.status, 200) << r.raw;
  if (r.status != 200) return {"", -1};
  return {std::string(r.body.at("state").as_string()), r.body.at("version").as_int64()};
}

// A crossing of fwd-a moved to in_yard (version 3).
std::string InYard(TestNode& node, std::string_view plate = "12C-123.45") {
  std::string id = node.Declare("fwd-a", plate);
  EXPECT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  EXPECT_EQ(node.Event(id, "enter_yard", "camera").status, 200);
  return id;
}

// Frees the lane a raced crossing may hold (a called truck is cancelled, a truck at the gate is
// refused) and moves to the next capacity bucket, so that the next round can call again.
void FreeLane(TestNode& node, const std::string& id) {
  std::string state = StateOf(node, id).first;
  if (state == "called") {
    EXPECT_EQ(node.Event(id, "cancel", "fwd-a", R"({"reason": "round over"})").status, 200);
  } else if (state == "at_gate") {
    EXPECT_EQ(node.Event(id, "refuse", "customs", R"({"reason": "round over"})").status, 200);
  }
  node.clock().Advance(std::chrono::minutes(15));
}

TEST(Idempotency, RetriedDeclarationReturnsFirstResult) {
  TestNode node;
  const int64_t audit = node.AuditCount();
  const std::string body = node.DurianDeclaration();

  ApiReply first = node.Call("POST", "/api/v1/crossings", "fwd-a", body, "declare-1");
  ASSERT_EQ(first.status, 201) << first.raw;
  EXPECT_EQ(first.Header("Idempotent-Replayed"), "");
  EXPECT_EQ(node.AuditCount(), audit + 1);

  node.clock().Advance(std::chrono::minutes(5));  // a retry later: the first result, unchanged
  for (int i = 0; i < 2; ++i) {
    ApiReply retry = node.Call("POST", "/api/v1/crossings", "fwd-a", body, "declare-1");
    EXPECT_EQ(retry.status, 201) << retry.raw;
    EXPECT_EQ(retry.raw, first.raw);
    EXPECT_EQ(retry.body.at("id"), first.body.at("id"));
    EXPECT_EQ(retry.Header("Idempotent-Replayed"), "true");
  }
  EXPECT_EQ(node.AuditCount(), audit + 1);
  EXPECT_EQ(CountCrossings(node), 1u);
}

TEST(Idempotency, SameKeyWithDifferentBodyIsRefused) {
  TestNode node;
  ApiReply first =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration(), "declare-1");
  ASSERT_EQ(first.status, 201) << first.raw;
  const std::string id(first.body.at("id").as_string());
  const int64_t audit = node.AuditCount();

  ApiReply other = node.Call("POST", "/api/v1/crossings", "fwd-a",
                             node.DurianDeclaration("29C-456.78"), "declare-1");
  EXPECT_EQ(other.status, 422) << other.raw;
  EXPECT_EQ(other.Code(), "idempotency_key_reused");
  EXPECT_TRUE(other.Header("Content-Type").starts_with("application/problem+json"));
  EXPECT_EQ(other.Header("Idempotent-Replayed"), "");
  // The same key on another endpoint is a different request too.
  ApiReply event = node.Event(id, "cancel", "fwd-a", R"({"reason": "x"})", "declare-1");
  EXPECT_EQ(event.status, 422) << event.raw;
  EXPECT_EQ(event.Code(), "idempotency_key_reused");

  EXPECT_EQ(node.AuditCount(), audit);
  EXPECT_EQ(CountCrossings(node), 1u);
  EXPECT_EQ(StateOf(node, id), (std::pair<std::string, int64_t>{"declared", 1}));
  // The key still replays its first request.
  ApiReply retry =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration(), "declare-1");
  EXPECT_EQ(retry.raw, first.raw);
  EXPECT_EQ(retry.Header("Idempotent-Replayed"), "true");
}

// Keys are visible ASCII: a key with a space, a control byte or a byte that is not UTF-8 is
// refused and nothing is written (on PostgreSQL a key that is not UTF-8 was a 500).
TEST(Idempotency, KeysOutsideVisibleAsciiAreRefused) {
  TestNode node;
  const int64_t audit = node.AuditCount();
  for (const std::string& key :
       {std::string("a b"), std::string("key\xff"), std::string("ключ"), std::string("k\t1")}) {
    ApiReply r = node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration(), key);
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(r.Code(), "invalid_idempotency_key") << r.raw;
  }
  EXPECT_EQ(node.AuditCount(), audit);
  EXPECT_EQ(CountCrossings(node), 0u);
  ApiReply ok = node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration(),
                          "web-0192a3b4c5d6e7f8a9b0c1d2e3f4a5b6");
  EXPECT_EQ(ok.status, 201) << ok.raw;
}

TEST(Idempotency, KeysAreScopedPerUser) {
  TestNode node;
  const int64_t audit = node.AuditCount();
  const std::string body = node.DurianDeclaration();
  ApiReply a = node.Call("POST", "/api/v1/crossings", "fwd-a", body, "shared-key");
  ApiReply b = node.Call("POST", "/api/v1/crossings", "fwd-b", body, "shared-key");
  ASSERT_EQ(a.status, 201) << a.raw;
  ASSERT_EQ(b.status, 201) << b.raw;
  EXPECT_EQ(b.Header("Idempotent-Replayed"), "");
  EXPECT_NE(a.body.at("id"), b.body.at("id"));
  EXPECT_EQ(a.body.at("company_id").as_string(), "COMPANY-A");
  EXPECT_EQ(b.body.at("company_id").as_string(), "COMPANY-B");
  EXPECT_EQ(node.AuditCount(), audit + 2);
  EXPECT_EQ(CountCrossings(node), 2u);

  // Each user's retry replays that user's own result.
  ApiReply b_again = node.Call("POST", "/api/v1/crossings", "fwd-b", body, "shared-key");
  EXPECT_EQ(b_again.raw, b.raw);
  ApiReply a_again = node.Call("POST", "/api/v1/crossings", "fwd-a", body, "shared-key");
  EXPECT_EQ(a_again.raw, a.raw);
  EXPECT_EQ(node.AuditCount(), audit + 2);

  // A key used by the operator for an event does not collide with fwd-a's declaration key.
  const std::string id(a.body.at("id").as_string());
  ApiReply assess = node.Event(id, "assess", "customs", R"({"channel": "green"})", "shared-key");
  EXPECT_EQ(assess.status, 200) << assess.raw;
  EXPECT_EQ(assess.Header("Idempotent-Replayed"), "");
  EXPECT_EQ(node.AuditCount(), audit + 3);
}

TEST(Idempotency, RetriedEventReturnsFirstResultAfterCrossingMovedOn) {
  TestNode node;
  std::string id = node.Declare("fwd-a");
  ASSERT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  ApiReply book = node.Event(id, "book", "fwd-a", "{}", "book-1");
  ASSERT_EQ(book.status, 200) << book.raw;
  EXPECT_EQ(book.body.at("crossing").at("state").as_string(), "booked");
  ASSERT_EQ(node.Event(id, "enter_yard", "camera").status, 200);
  const int64_t audit = node.AuditCount();
  std::vector<std::string> actions_before;
  const std::string history_before = History(node, id, &actions_before);

  node.clock().Advance(std::chrono::minutes(30));
  ApiReply retry = node.Event(id, "book", "fwd-a", "{}", "book-1");
  EXPECT_EQ(retry.status, 200) << retry.raw;
  EXPECT_EQ(retry.raw, book.raw);
  EXPECT_EQ(retry.body.at("crossing").at("state").as_string(), "booked");
  EXPECT_EQ(retry.body.at("crossing").at("version").as_int64(), 3);
  EXPECT_EQ(retry.Header("Idempotent-Replayed"), "true");

  // Not applied twice: still in the yard, same history.
  EXPECT_EQ(node.AuditCount(), audit);
  EXPECT_EQ(StateOf(node, id), (std::pair<std::string, int64_t>{"in_yard", 4}));
  EXPECT_EQ(History(node, id, nullptr), history_before);
  EXPECT_EQ(std::count(actions_before.begin(), actions_before.end(), "book"), 1);

  // A fresh key for the same event is a new request, refused in this state.
  ApiReply fresh = node.Event(id, "book", "fwd-a", "{}", "book-2");
  EXPECT_EQ(fresh.status, 409) << fresh.raw;
  EXPECT_EQ(fresh.Code(), "invalid_transition");
  EXPECT_EQ(node.AuditCount(), audit);
}

TEST(Idempotency, RetryAfterRestartStillReplays) {
  TestNode node;
  const std::string body = node.DurianDeclaration();
  ApiReply declared = node.Call("POST", "/api/v1/crossings", "fwd-a", body, "restart-declare");
  ASSERT_EQ(declared.status, 201) << declared.raw;
  const std::string id(declared.body.at("id").as_string());
  ApiReply assessed = node.Event(id, "assess", "customs", R"({"channel": "red"})", "restart-ev");
  ASSERT_EQ(assessed.status, 200) << assessed.raw;
  const int64_t audit = node.AuditCount();

  node.Restart();

  ApiReply declare_retry = node.Call("POST", "/api/v1/crossings", "fwd-a", body, "restart-declare");
  EXPECT_EQ(declare_retry.status, 201);
  EXPECT_EQ(declare_retry.raw, declared.raw);
  EXPECT_EQ(declare_retry.Header("Idempotent-Replayed"), "true");
  ApiReply event_retry = node.Event(id, "assess", "customs", R"({"channel": "red"})", "restart-ev");
  EXPECT_EQ(event_retry.status, 200);
  EXPECT_EQ(event_retry.raw, assessed.raw);
  EXPECT_EQ(event_retry.Header("Idempotent-Replayed"), "true");
  // And a different body under the key is still refused after the restart.
  ApiReply reused = node.Event(id, "assess", "customs", R"({"channel": "green"})", "restart-ev");
  EXPECT_EQ(reused.status, 422) << reused.raw;
  EXPECT_EQ(reused.Code(), "idempotency_key_reused");

  EXPECT_EQ(node.AuditCount(), audit);
  EXPECT_EQ(CountCrossings(node), 1u);
  EXPECT_EQ(StateOf(node, id), (std::pair<std::string, int64_t>{"assessed", 2}));
}

// --- concurrency ------------------------------------------------------------------------------

// Sends one request from its own thread and connection; all threads start together.
struct Racer {
  std::string user;
  std::string target;
  std::string body;
  std::string key;
  ApiReply reply;
};

void Race(TestNode& node, std::vector<Racer>& racers) {
  std::vector<std::unique_ptr<net::HttpClient>> clients;
  for (size_t i = 0; i < racers.size(); ++i) {
    clients.push_back(std::make_unique<net::HttpClient>("127.0.0.1", node.port()));
    // Connect ahead, so that the race is between requests, not connection setups.
    ASSERT_TRUE(clients.back()->Send("GET", "/healthz"));
  }
  std::latch start(static_cast<ptrdiff_t>(racers.size()));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < racers.size(); ++i) {
    threads.emplace_back([&, i] {
      Racer& r = racers[i];
      std::vector<std::pair<std::string, std::string>> headers = {
          {"Authorization", "Bearer " + node.tokens().at(r.user)},
          {"Content-Type", "application/json"},
          {"Idempotency-Key", r.key}};
      start.arrive_and_wait();
      auto sent = clients[i]->Send("POST", r.target, r.body, headers);
      if (!sent) return;
      r.reply.status = sent->status;
      r.reply.raw = sent->body;
      r.reply.headers = sent->headers;
      auto parsed = ParseJson(sent->body);
      if (parsed) r.reply.body = *parsed;
    });
  }
  for (auto& t : threads) t.join();
}

// Two events that exclude each other by state, sent at once: exactly one applies, the other gets
// 409 `loser_code`, the crossing ends in the winner's state (`end_states`, by racer) and its
// history holds only the winner's event. Counts the winner's event type in `wins`.
void ExpectOneWinner(TestNode& node, const std::string& id, std::vector<Racer> racers,
                     const std::vector<std::string>& end_states, std::string_view loser_code,
                     std::map<std::string, int>& wins) {
  const int64_t version_before = StateOf(node, id).second;
  const int64_t audit = node.AuditCount();
  Race(node, racers);
  const ApiReply& a = racers[0].reply;
  const ApiReply& b = racers[1].reply;
  ASSERT_TRUE((a.status == 200 && b.status == 409) || (a.status == 409 && b.status == 200))
      << a.status << " " << a.raw << "\n"
      << b.status << " " << b.raw;
  const size_t winner = a.status == 200 ? 0 : 1;
  const size_t loser = 1 - winner;
  auto type_of = [](const Racer& r) {
    return std::string(ParseJson(r.body).value().at("type").as_string());
  };
  ++wins[type_of(racers[winner])];
  EXPECT_EQ(racers[loser].reply.Code(), loser_code) << racers[loser].reply.raw;
  EXPECT_EQ(racers[winner].reply.body.at("crossing").at("state").as_string(), end_states[winner]);

  EXPECT_EQ(node.AuditCount(), audit + 1);
  EXPECT_EQ(StateOf(node, id),
            (std::pair<std::string, int64_t>{end_states[winner], version_before + 1}));
  std::vector<std::string> actions;
  History(node, id, &actions);
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions.back(), type_of(racers[winner]));
  EXPECT_EQ(std::count(actions.begin(), actions.end(), type_of(racers[winner])), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), type_of(racers[loser])), 0);
}

void RecordWins(const std::map<std::string, int>& wins) {
  for (const auto& [type, n] : wins) ::testing::Test::RecordProperty("wins_" + type, n);
}

// From in_yard, the forwarder cancels while the operator calls the truck forward. Both name the
// version they saw (If-Match semantics): `cancel` is also allowed in `called`, so without it a
// cancel that arrives second would still apply, after the call.
TEST(Concurrency, CancelAgainstCallForwardInYard) {
  TestNode node;
  std::map<std::string, int> wins;
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    std::string id = InYard(node, fmt::format("12C-{:03d}.{:02d}", 100 + i, i));
    ASSERT_EQ(StateOf(node, id).second, 3);
    const std::string target = "/api/v1/crossings/" + id + "/events";
    std::vector<Racer> racers = {
        {"fwd-a",
         target,
         R"({"type": "cancel", "data": {"reason": "changed plans"}, "expected_version": 3})",
         fmt::format("cancel-{}", i),
         {}},
        {"operator",
         target,
         R"({"type": "call_forward", "data": {}, "expected_version": 3})",
         fmt::format("call-{}", i),
         {}},
    };
    std::vector<std::string> end_states = {"cancelled", "called"};
    if (i % 2 == 1) {  // alternate which request starts first
      std::swap(racers[0], racers[1]);
      std::swap(end_states[0], end_states[1]);
    }
    ExpectOneWinner(node, id, std::move(racers), end_states, "version_conflict", wins);
    if (HasFatalFailure()) return;
    FreeLane(node, id);
  }
  RecordWins(wins);
}

// From called, the forwarder cancels while the guard records the truck at the gate: whichever
// applies first makes the other invalid in the new state.
TEST(Concurrency, CancelAgainstArriveAtGate) {
  TestNode node;
  std::map<std::string, int> wins;
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    std::string id = InYard(node, fmt::format("12C-{:03d}.{:02d}", 100 + i, i));
    ASSERT_EQ(node.Event(id, "call_forward", "operator").status, 200);
    const std::string target = "/api/v1/crossings/" + id + "/events";
    std::vector<Racer> racers = {
        {"fwd-a",
         target,
         R"({"type": "cancel", "data": {"reason": "changed plans"}})",
         fmt::format("cancel-{}", i),
         {}},
        {"guard",
         target,
         R"({"type": "arrive_at_gate", "data": {}})",
         fmt::format("arrive-{}", i),
         {}},
    };
    std::vector<std::string> end_states = {"cancelled", "at_gate"};
    if (i % 2 == 1) {
      std::swap(racers[0], racers[1]);
      std::swap(end_states[0], end_states[1]);
    }
    ExpectOneWinner(node, id, std::move(racers), end_states, "invalid_transition", wins);
    if (HasFatalFailure()) return;
    FreeLane(node, id);
  }
  RecordWins(wins);
}

TEST(Concurrency, IdenticalRequestsWithOneKeyApplyOnce) {
  TestNode node;
  std::string id = node.Declare("fwd-a", "14C-000.01");
  ASSERT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE(i);
    const int64_t audit = node.AuditCount();
    const size_t crossings = CountCrossings(node);
    const std::string key = fmt::format("same-{}", i);
    const std::string body = node.DurianDeclaration(fmt::format("12C-{:03d}.{:02d}", 200 + i, i));
    std::vector<Racer> racers(3, Racer{"fwd-a", "/api/v1/crossings", body, key, {}});
    Race(node, racers);
    int replayed = 0;
    for (const Racer& r : racers) {
      EXPECT_EQ(r.reply.status, 201) << r.reply.raw;
      EXPECT_EQ(r.reply.raw, racers[0].reply.raw);
      replayed += r.reply.Header("Idempotent-Replayed") == "true";
    }
    EXPECT_EQ(replayed, 2);
    EXPECT_EQ(node.AuditCount(), audit + 1);
    EXPECT_EQ(CountCrossings(node), crossings + 1);
  }
  // The same for an event.
  const int64_t audit = node.AuditCount();
  const std::string target = "/api/v1/crossings/" + id + "/events";
  std::vector<Racer> racers(
      2, Racer{"operator", target, R"({"type": "book", "data": {}})", "book-once", {}});
  Race(node, racers);
  EXPECT_EQ(racers[0].reply.status, 200) << racers[0].reply.raw;
  EXPECT_EQ(racers[1].reply.status, 200) << racers[1].reply.raw;
  EXPECT_EQ(racers[0].reply.raw, racers[1].reply.raw);
  EXPECT_EQ(node.AuditCount(), audit + 1);
  EXPECT_EQ(StateOf(node, id), (std::pair<std::string, int64_t>{"booked", 3}));
}

TEST(Concurrency, ExpectedVersionMismatchIsVersionConflict) {
  TestNode node;
  std::string id = node.Declare("fwd-a");
  const std::string target = "/api/v1/crossings/" + id + "/events";
  const int64_t audit = node.AuditCount();

  ApiReply stale = node.Call("POST", target, "customs",
                             R"({"type": "assess", "data": {"channel": "green"},
                                 "expected_version": 2})");
  EXPECT_EQ(stale.status, 409) << stale.raw;
  EXPECT_EQ(stale.Code(), "version_conflict");
  EXPECT_TRUE(stale.Header("Content-Type").starts_with("application/problem+json"));
  EXPECT_EQ(node.AuditCount(), audit);
  EXPECT_EQ(StateOf(node, id), (std::pair<std::string, int64_t>{"declared", 1}));

  ApiReply current = node.Call("POST", target, "customs",
                               R"({"type": "assess", "data": {"channel": "green"},
                                   "expected_version": 1})");
  EXPECT_EQ(current.status, 200) << current.raw;
  EXPECT_EQ(node.AuditCount(), audit + 1);
  EXPECT_EQ(StateOf(node, id), (std::pair<std::string, int64_t>{"assessed", 2}));

  // expected_version must be a positive integer.
  ApiReply bad = node.Call("POST", target, "fwd-a",
                           R"({"type": "book", "data": {}, "expected_version": "2"})");
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.Code(), "wrong_type");
  EXPECT_EQ(node.AuditCount(), audit + 1);
}

}  // namespace
}  // namespace borderflow::testing

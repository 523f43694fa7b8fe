// Two servers on one database (issue 8), on SQLite and on PostgreSQL: clients write to both at
// once; every acknowledged write is there once, each idempotency key is applied once whichever
// server sees the retry, no slot is booked beyond its capacity, and the audit chain verifies.
// (Each server is a Runtime of its own: its own engine, caches, connections and HTTP server, as
// in two processes; the kill -9 case is in the process tests.)

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <sys/wait.h>

#include <borderflow/core/assert.h>

#include "../../src/store/postgres/pg_test_support.h"
#include "test_node.h"

namespace borderflow::testing {
namespace {

namespace json = boost::json;

std::string Text(const json::value& v, std::string_view key) {
  const json::value* field = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
}

std::string CrossingId(const ApiReply& r) {
  if (!r.body.is_object()) return "";
  if (const json::value* c = r.body.as_object().if_contains("crossing")) return Text(*c, "id");
  return Text(r.body, "id");
}

// A declaration like TestNode::DurianDeclaration with its own plate. The default freshness
// deadline suits the test nodes' manual clocks; servers run as processes keep the real time and
// need one after it (RealTimeDeadline).
std::string Declaration(std::string_view plate,
                        std::string_view freshness_deadline = "2026-11-30T20:00:00+07:00") {
  return fmt::format(R"({{
    "direction": "VN-CN",
    "lane_class": "fresh_produce",
    "vehicle": {{"plate": "{}", "container_number": "CSQU3054383"}},
    "driver": {{"name": "Nguyen Van An", "document_number": "B1234567", "nationality": "VN"}},
    "lines": [{{"hs_code": "0810.60", "description": "Fresh durian", "packages": 800,
                "gross_weight_kg": 16000, "value": {{"amount": "48000.00", "currency": "USD"}},
                "origin_country": "VN"}}],
    "freshness_deadline": "{}"
  }})",
                     plate, freshness_deadline);
}

// Two days after now, on the real clock.
std::string RealTimeDeadline() {
  return FormatUtc(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) +
      std::chrono::hours(48));
}

// How many `declare` audit records each crossing has (one, when nothing was applied twice).
std::map<std::string, int> DeclaresPerCrossing(Store& store) {
  std::map<std::string, int> declares;
  for (int64_t after = 0;;) {
    auto records = store.ReadAudit(after, 1000);
    EXPECT_TRUE(records.has_value()) << records.error().ToString();
    if (!records || records->empty()) return declares;
    for (const AuditRecord& r : *records) {
      if (r.subject_type == "crossing" && r.action == "declare") ++declares[r.subject_id];
      after = r.seq;
    }
  }
}

class SharedDatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      auto base = pg_test::BaseUrl();
      if (!base) {
        if (pg_test::Required()) FAIL() << pg_test::kSkipMessage;
        GTEST_SKIP() << pg_test::kSkipMessage;
      }
      auto schema = pg_test::Schema::Create(*base);
      ASSERT_TRUE(schema.has_value()) << schema.error().ToString();
      schema_ = std::move(*schema);
      url_ = schema_->url();
    }
    a_ = std::make_unique<TestNode>("huu-nghi.toml", nullptr, [this](RuntimeOptions& o) {
      if (!url_.empty()) o.db_path = url_;
      o.api.rate_per_second = 0;
    });
    if (url_.empty()) url_ = a_->db_path();
    clock_b_ = std::make_unique<ManualClock>(a_->clock().Now());
    auto b = Runtime::Start(ServerOptions(), *clock_b_, random_b_);
    ASSERT_TRUE(b.has_value()) << b.error().ToString();
    b_ = std::move(*b);
  }
  void TearDown() override {
    if (b_) b_->Stop();
    b_.reset();
    a_.reset();
    schema_.reset();
  }

  // Another server on the test's database: A's gate configuration, port 0, no rate limit, no
  // queue timer (the tests tick themselves).
  RuntimeOptions ServerOptions() const {
    auto config = LoadGateConfig(std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml");
    BF_ASSERT(config.has_value(), "config/huu-nghi.toml loads");
    RuntimeOptions options;
    options.config = std::move(*config);
    options.db_path = url_;
    options.http.port = 0;
    options.queue_tick = Duration(0);
    options.api.rate_per_second = 0;
    return options;
  }

  uint16_t Port(int node) const { return node == 0 ? a_->port() : b_->port(); }

  ApiReply Send(net::HttpClient& client, std::string_view method, const std::string& target,
                const std::string& user, const std::string& body, const std::string& key) {
    std::vector<std::pair<std::string, std::string>> headers{
        {"Authorization", "Bearer " + a_->tokens().at(user)}};
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    return ToReply(client.Send(method, target, body, headers));
  }

  std::unique_ptr<pg_test::Schema> schema_;
  std::string url_;
  std::unique_ptr<TestNode> a_;
  std::unique_ptr<ManualClock> clock_b_;
  SeededRandom random_b_{43};
  std::unique_ptr<Runtime> b_;
};

TEST_P(SharedDatabaseTest, ClientsWritingToBothServersAtOnceStayConsistent) {
  // Every truck asks for the same slot: its capacity must hold across both servers.
  const std::string slot = "2026-11-29T10:00:00+07:00";
  ApiReply plan = a_->Call("GET",
                           "/api/v1/capacity?direction=VN-CN&lane_class=fresh_produce&from="
                           "2026-11-29T03:00:00Z&until=2026-11-29T03:15:00Z",
                           "operator");
  ASSERT_EQ(plan.status, 200) << plan.raw;
  const int64_t capacity = plan.body.at("buckets").at(0).at("effective").to_number<int64_t>();
  ASSERT_GT(capacity, 0);

  constexpr int kThreads = 4;
  constexpr int kTrucksPerThread = 6;
  std::mutex mu;
  std::set<std::string> declared;  // acknowledged crossing ids
  std::atomic<int> booked{0}, full{0}, other_failures{0};
  std::vector<std::string> problems;
  auto problem = [&](std::string what) {
    std::lock_guard lock(mu);
    problems.push_back(std::move(what));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread writes to one server and retries every request on the other.
      net::HttpClient first("127.0.0.1", Port(t % 2));
      net::HttpClient second("127.0.0.1", Port(1 - t % 2));
      const std::string company = t % 2 == 0 ? "fwd-a" : "fwd-b";
      for (int i = 0; i < kTrucksPerThread; ++i) {
        const std::string plate = fmt::format("12C-{}{:02}.{:02}", t + 1, i, t * 10 + i);
        const std::string key = fmt::format("declare-{}-{}", t, i);
        ApiReply made = Send(first, "POST", "/api/v1/crossings", company, Declaration(plate), key);
        ApiReply again =
            Send(second, "POST", "/api/v1/crossings", company, Declaration(plate), key);
        const std::string id = CrossingId(made);
        if (made.status != 201 || id.empty()) {
          problem(fmt::format("declare {}: {} {}", plate, made.status, made.raw));
          continue;
        }
        if (again.status != made.status || CrossingId(again) != id) {
          problem(
              fmt::format("retry of {} on the other server: {} {}", key, again.status, again.raw));
        }
        {
          std::lock_guard lock(mu);
          declared.insert(id);
        }
        ApiReply assessed =
            Send(second, "POST", "/api/v1/crossings/" + id + "/events", "customs",
                 R"({"type": "assess", "data": {"channel": "green"}})", key + "-assess");
        if (assessed.status != 200) {
          problem(fmt::format("assess {}: {} {}", id, assessed.status, assessed.raw));
          continue;
        }
        ApiReply book = Send(first, "POST", "/api/v1/crossings/" + id + "/events", company,
                             fmt::format(R"({{"type": "book", "data": {{"slot": "{}"}}}})", slot),
                             key + "-book");
        if (book.status == 200) {
          ++booked;
        } else if (book.Code() == "slot_full") {
          ++full;
        } else {
          ++other_failures;
          problem(fmt::format("book {}: {} {}", id, book.status, book.raw));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const std::string& p : problems) ADD_FAILURE() << p;
  EXPECT_EQ(declared.size(), static_cast<size_t>(kThreads * kTrucksPerThread));
  // The slot is filled exactly, whichever server took each booking.
  EXPECT_EQ(booked.load(), std::min<int64_t>(capacity, kThreads * kTrucksPerThread))
      << "capacity " << capacity << ", refused full " << full.load();
  EXPECT_EQ(other_failures.load(), 0);

  // What the database holds: each acknowledged crossing once, one declare record each, and the
  // bookings of the slot within its capacity, seen from either server.
  std::map<std::string, int> declares = DeclaresPerCrossing(a_->runtime().store());
  EXPECT_EQ(declares.size(), declared.size());
  for (const auto& [id, n] : declares) {
    EXPECT_EQ(n, 1) << id;
    EXPECT_TRUE(declared.contains(id)) << id << " was stored but never acknowledged";
  }
  for (int node = 0; node < 2; ++node) {
    net::HttpClient client("127.0.0.1", Port(node));
    ApiReply list =
        Send(client, "GET", "/api/v1/crossings?state=booked&limit=200", "operator", "", "");
    ASSERT_EQ(list.status, 200) << list.raw;
    EXPECT_EQ(static_cast<int>(list.body.at("items").as_array().size()), booked.load())
        << "server " << node;
  }
  ProcessRun verify = RunBinary({"audit", "verify", "--db", url_}, a_->dir());
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  // The engines noticed each other's commits, and say so in /metrics.
  EXPECT_GT(a_->runtime().engine().stats().catch_ups.load(), 0u);
  EXPECT_GT(b_->engine().stats().catch_ups.load(), 0u);
  ApiReply metrics = a_->Call("GET", "/metrics", "");
  EXPECT_NE(metrics.raw.find("borderflow_engine{counter=\"catch_ups\"}"), std::string::npos);
}

// A general-cargo truck (VN-CN: 3 lanes, 20 minutes a truck, so 2 calls in the 15-minute
// bucket from 01:00 UTC) with its own plate.
std::string GeneralCargo(std::string_view plate) {
  return fmt::format(R"({{
    "direction": "VN-CN",
    "lane_class": "general_cargo",
    "vehicle": {{"plate": "{}", "container_number": "CSQU3054383"}},
    "driver": {{"name": "Nguyen Van An", "document_number": "B1234567", "nationality": "VN"}},
    "lines": [{{"hs_code": "8504.40", "description": "Solar inverters", "packages": 40,
                "gross_weight_kg": 9000, "value": {{"amount": "90000.00", "currency": "USD"}},
                "origin_country": "VN"}}]
  }})",
                     plate);
}

// The calls of one bucket count against its capacity whichever server makes them: each server
// reads the lane's calls as committed (another's included) before it calls, and neither
// overwrites the other's count or prediction statistics.
TEST_P(SharedDatabaseTest, BucketCapacityHoldsForCallsFromBothServers) {
  net::HttpClient client_b("127.0.0.1", Port(1));
  ApiReply queue =
      a_->Call("GET", "/api/v1/queue?direction=VN-CN&lane_class=general_cargo", "operator");
  ASSERT_EQ(queue.status, 200) << queue.raw;
  ASSERT_EQ(queue.body.at("lanes").at(0).at("bucket").at("capacity").to_number<int64_t>(), 2)
      << queue.raw;
  ASSERT_EQ(queue.body.at("lanes").at(0).at("lanes_open").to_number<int64_t>(), 3);
  for (int i = 0; i < 4; ++i) {
    const std::string plate = fmt::format("29H-{:03}.{:02}", 100 + i, i);
    ApiReply made = a_->Call("POST", "/api/v1/crossings", "fwd-a", GeneralCargo(plate));
    ASSERT_EQ(made.status, 201) << made.raw;
    const std::string id = CrossingId(made);
    ASSERT_EQ(a_->Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
    // Into the yard through either server's camera.
    ApiReply entered = i % 2 == 0
                           ? a_->Event(id, "enter_yard", "camera")
                           : Send(client_b, "POST", "/api/v1/crossings/" + id + "/events", "camera",
                                  R"({"type": "enter_yard"})", fmt::format("enter-{}", i));
    ASSERT_EQ(entered.status, 200) << entered.raw;
  }
  const std::string lane = R"({"direction": "VN-CN", "lane_class": "general_cargo"})";
  auto call = [&](int node, int n) {
    if (node == 0) return a_->Call("POST", "/api/v1/queue/call-next", "operator", lane);
    return Send(client_b, "POST", "/api/v1/queue/call-next", "operator", lane,
                fmt::format("call-next-{}", n));
  };
  // A, B, A, B: two calls fit in the bucket, the third and fourth find it used up.
  std::vector<int> statuses;
  for (int n = 0; n < 4; ++n) {
    ApiReply r = call(n % 2, n);
    statuses.push_back(r.status);
    if (n >= 2) {
      EXPECT_EQ(r.Code(), "no_call_room") << "call " << n << ": " << r.raw;
    }
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 409, 409}));
  // Both servers (each has written since the other's last call) and the store agree: 2 calls,
  // 2 scored predictions.
  for (int node = 0; node < 2; ++node) {
    net::HttpClient client("127.0.0.1", Port(node));
    ApiReply view = Send(client, "GET", "/api/v1/queue?direction=VN-CN&lane_class=general_cargo",
                         "operator", "", "");
    ASSERT_EQ(view.status, 200) << view.raw;
    EXPECT_EQ(view.body.at("lanes").at(0).at("bucket").at("calls_made").to_number<int64_t>(), 2)
        << "server " << node;
    ApiReply predictions = Send(client, "GET", "/api/v1/queue/predictions", "operator", "", "");
    ASSERT_EQ(predictions.status, 200) << predictions.raw;
    EXPECT_EQ(predictions.body.at("count").to_number<int64_t>(), 2) << "server " << node;
  }
  auto stored = a_->runtime().store().ListRecords("lane");
  ASSERT_TRUE(stored.has_value()) << stored.error().ToString();
  bool found = false;
  for (const StoredRecord& r : *stored) {
    if (r.id != "VN-CN/general_cargo") continue;
    found = true;
    auto v = ParseJson(r.body);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->at("calls_in_bucket").to_number<int64_t>(), 2) << r.body;
    EXPECT_EQ(v->at("calls_total").to_number<int64_t>(), 2) << r.body;
  }
  EXPECT_TRUE(found);
}

// A server's read views (the capacity changes here, the queue and the wait board alike) come
// from its engine's caches. With the queue timer on, it looks for other servers' records every
// `follow` and catches up then, not only at its next write or tick (an hour away here).
TEST_P(SharedDatabaseTest, ReadViewsFollowTheOtherServerWithoutWaitingForATick) {
  RuntimeOptions options = ServerOptions();
  options.queue_tick = std::chrono::hours(1);
  options.follow = std::chrono::milliseconds(100);
  ManualClock clock_c(a_->clock().Now());
  SeededRandom random_c{44};
  auto c = Runtime::Start(std::move(options), clock_c, random_c);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  net::HttpClient client_c("127.0.0.1", (*c)->port());
  auto changes_on_c = [&] {
    ApiReply r = Send(client_c, "GET", "/api/v1/capacity/changes", "operator", "", "");
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.status == 200 ? r.body.at("items").as_array().size() : size_t{0};
  };
  const size_t before = changes_on_c();
  ApiReply closed = a_->Call("POST", "/api/v1/capacity/changes", "operator",
                             R"({"kind": "closure", "direction": "VN-CN",
                                 "lane_class": "fresh_produce",
                                 "from": "2026-11-29T10:00:00+07:00",
                                 "until": "2026-11-29T10:30:00+07:00", "reason": "road works"})");
  ASSERT_EQ(closed.status, 201) << closed.raw;
  const auto start = std::chrono::steady_clock::now();
  size_t now = before;
  while (now == before && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = changes_on_c();
  }
  EXPECT_EQ(now, before + 1) << "server C still lists " << now << " changes";
  EXPECT_GE((*c)->engine().stats().catch_ups.load(), 1u);
  (*c)->Stop();
}

// The timer looks for other servers' records by comparing the store's audit head with the one
// its engine has read. A server's own commit is in the store a moment before its engine has
// noted the new head: a look in that moment must not take it for another server's write and
// tick (a tick in the middle of `borderflow demo`'s seeding called a truck forward before the
// seeder did, and the demo failed to start).
TEST_P(SharedDatabaseTest, AServersOwnWritesDoNotWakeItsQueueTimer) {
  b_->Stop();  // no other server writes during this test
  b_.reset();
  RuntimeOptions options = ServerOptions();
  options.queue_tick = std::chrono::hours(1);
  options.follow = std::chrono::milliseconds(1);  // looks all the time
  ManualClock clock_c(a_->clock().Now());
  SeededRandom random_c{45};
  auto c = Runtime::Start(std::move(options), clock_c, random_c);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  Engine& engine = (*c)->engine();
  const Actor admin{"test", "admin", Role::kAdministrator, ""};
  const uint64_t before = engine.stats().commands.load();
  constexpr int kWrites = 300;
  for (int i = 0; i < kWrites; ++i) {
    auto added = engine.Execute(Command{
        admin, "", "", AddUser{fmt::format("own-write-{}", i), Role::kGateOperator, "", ""}});
    ASSERT_TRUE(added.has_value()) << added.error().ToString();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Every command the engine ran was one of ours: the timer never ticked.
  EXPECT_EQ(engine.stats().commands.load() - before, uint64_t{kWrites});
  (*c)->Stop();
}

// Kills a server process when the test leaves, whatever way it leaves.
struct KilledOnExit {
  pid_t pid = 0;
  ~KilledOnExit() { Kill(); }
  void Kill() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = 0;
  }
};

// Two `borderflow serve` processes on the database; clients write to both; one is killed with
// SIGKILL mid-load. Every write either server acknowledged is there, the survivor goes on
// serving (and answers retries of the dead one's requests from the idempotency records), and
// the chain verifies.
TEST_P(SharedDatabaseTest, KillingOneServerMidLoadLosesNoAcknowledgedWrite) {
  b_->Stop();  // this test runs servers as processes of their own
  const std::string deadline = RealTimeDeadline();  // the same in a retry as in the first try
  b_.reset();
  const std::string config = std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml";
  std::vector<std::filesystem::path> dirs{a_->dir() / "p0", a_->dir() / "p1"};
  std::vector<uint16_t> ports(2, 0);
  std::vector<KilledOnExit> servers(2);
  for (int i = 0; i < 2; ++i) {
    std::filesystem::create_directories(dirs[i]);
    servers[i].pid = StartServerProcess(
        {"serve", "--config", config, "--db", url_, "--rate-limit", "0", "--queue-tick", "0"},
        dirs[i], ports[i]);
    ASSERT_GT(ports[i], 0) << "server " << i << " did not start";
  }
  const std::string token = a_->tokens().at("fwd-a");
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // idempotency key -> crossing id
  std::vector<std::string> unanswered;              // keys sent to the killed server
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      const int server = c % 2;
      net::HttpClient client("127.0.0.1", ports[server], std::chrono::milliseconds(3000));
      while (!stop.load()) {
        const int n = next.fetch_add(1);
        const std::string key = fmt::format("kill-{}", n);
        auto r =
            client.Send("POST", "/api/v1/crossings",
                        Declaration(fmt::format("12C-{:03}.{:02}", n % 1000, n % 100), deadline),
                        {{"Authorization", "Bearer " + token},
                         {"Content-Type", "application/json"},
                         {"Idempotency-Key", key}});
        std::lock_guard lock(mu);
        if (!r) {
          unanswered.push_back(key);
          if (server == 0) return;  // the killed server is gone
          continue;
        }
        if (r->status == 201) {
          auto body = ParseJson(r->body);
          if (body && body->is_object())
            acknowledged[key] = CrossingId(ApiReply{201, *body, {}, {}});
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard lock(mu);
    if (acknowledged.size() >= 120) break;
  }
  servers[0].Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the survivor goes on
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_GT(acknowledged.size(), 0u);

  net::HttpClient survivor("127.0.0.1", ports[1]);
  const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token}};
  for (const auto& [key, id] : acknowledged) {
    auto r = survivor.Send("GET", "/api/v1/crossings/" + id, {}, auth);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200) << "acknowledged crossing " << id << " (" << key << ") was lost";
  }
  // A client whose request died with the server retries it on the survivor: applied at most once.
  for (const std::string& key : unanswered) {
    auto headers = auth;
    headers.emplace_back("Content-Type", "application/json");
    headers.emplace_back("Idempotency-Key", key);
    const int n = std::stoi(key.substr(5));
    auto r = survivor.Send("POST", "/api/v1/crossings",
                           Declaration(fmt::format("12C-{:03}.{:02}", n % 1000, n % 100), deadline),
                           headers);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 201) << r->body;
  }
  // One declare record per crossing, and the chain holds.
  std::map<std::string, int> declares = DeclaresPerCrossing(a_->runtime().store());
  for (const auto& [id, count] : declares) EXPECT_EQ(count, 1) << id;
  EXPECT_GE(declares.size(), acknowledged.size());
  servers[1].Kill();
  ProcessRun verify = RunBinary({"audit", "verify", "--db", url_}, a_->dir());
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, SharedDatabaseTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace borderflow::testing

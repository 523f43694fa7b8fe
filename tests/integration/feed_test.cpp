// The live feed (GET /api/v1/feed) and the static front end over a real node: role and scope
// checks, events as changes commit, resuming after Last-Event-ID (from the ring and, after a
// restart, from the store), and the files of web/dist served safely.

#include <fstream>
#include <regex>
#include <thread>

#include <borderflow/auth/credentials.h>
#include <borderflow/core/hs_code.h>
#include <borderflow/net/testing/stream_reader.h>
#include <borderflow/store/store_factory.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

using net::testing::StreamReader;
using namespace std::chrono_literals;

std::vector<std::pair<std::string, std::string>> Auth(const TestNode& node,
                                                      const std::string& user) {
  return {{"Authorization", "Bearer " + node.tokens().at(user)}};
}

// The ids of the events in an SSE body, in order.
std::vector<int64_t> EventIds(const std::string& body) {
  std::vector<int64_t> ids;
  static const std::regex kId("(^|\n)id: ([0-9]+)\n");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kId); it != std::sregex_iterator();
       ++it) {
    ids.push_back(std::stoll((*it)[2].str()));
  }
  return ids;
}

// The event types in an SSE body, in order.
std::vector<std::string> EventTypes(const std::string& body) {
  std::vector<std::string> types;
  static const std::regex kEvent("(^|\n)event: ([a-z_]+)\n");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kEvent);
       it != std::sregex_iterator(); ++it) {
    types.push_back((*it)[2].str());
  }
  return types;
}

TEST(FeedTest, RefusesCallersWithoutAFeed) {
  TestNode node;
  ApiReply anonymous = node.Call("GET", "/api/v1/feed", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.Code(), "authentication_required");
  ApiReply camera = node.Call("GET", "/api/v1/feed", "camera");
  EXPECT_EQ(camera.status, 403);
  EXPECT_EQ(camera.Code(), "role_not_allowed");
  ApiReply counterpart = node.Call("GET", "/api/v1/feed", "counterpart");
  EXPECT_EQ(counterpart.status, 403);
  EXPECT_EQ(counterpart.Code(), "role_not_allowed");
  ApiReply bad = node.Call("GET", "/api/v1/feed", "operator", {}, {}, {{"Last-Event-ID", "x1"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Code(), "invalid_event_id");
  ApiReply negative = node.Call("GET", "/api/v1/feed?after=-3", "operator");
  EXPECT_EQ(negative.status, 400);
}

TEST(FeedTest, PushesChangesToEachRoleItMayShow) {
  TestNode node;
  StreamReader staff(node.port(), "/api/v1/feed", Auth(node, "operator"));
  StreamReader company_a(node.port(), "/api/v1/feed", Auth(node, "fwd-a"));
  StreamReader company_b(node.port(), "/api/v1/feed", Auth(node, "fwd-b"));
  for (StreamReader* r : {&staff, &company_a, &company_b}) {
    ASSERT_TRUE(r->WaitFor("event: hello\n")) << r->body();
    EXPECT_EQ(r->status(), 200);
    EXPECT_NE(r->header().find("content-type: text/event-stream"), std::string::npos);
  }
  const std::string a = node.Declare("fwd-a", "12C-111.11");
  ASSERT_EQ(node.Event(a, "assess", "customs", R"({"channel": "green"})").status, 200);
  const std::string b = node.Declare("fwd-b", "12C-222.22");

  // Staff see both companies' crossings, with the rules' details.
  ASSERT_TRUE(staff.WaitFor("\"crossing_id\":\"" + b + "\"")) << staff.body();
  EXPECT_NE(staff.body().find("\"crossing_id\":\"" + a + "\""), std::string::npos);
  EXPECT_NE(staff.body().find("\"action\":\"assess\""), std::string::npos);
  EXPECT_NE(staff.body().find("\"to\":\"assessed\""), std::string::npos);

  // Each forwarder sees its own company's trucks only, and no risk scores.
  ASSERT_TRUE(company_b.WaitFor("\"crossing_id\":\"" + b + "\"")) << company_b.body();
  EXPECT_EQ(company_b.body().find(a), std::string::npos);
  EXPECT_EQ(company_b.body().find("12C-111.11"), std::string::npos);
  ASSERT_TRUE(company_a.WaitFor("\"action\":\"assess\"")) << company_a.body();
  EXPECT_EQ(company_a.body().find(b), std::string::npos);
  EXPECT_EQ(company_a.body().find("\"risk\""), std::string::npos);

  // Users and tokens never appear in the feed.
  for (const std::string& body : {staff.body(), company_a.body()}) {
    for (const std::string& type : EventTypes(body)) {
      EXPECT_TRUE(type == "hello" || type == "crossing") << type;
    }
  }
  // Ids increase strictly (each is the audit sequence number).
  std::vector<int64_t> ids = EventIds(staff.body());
  ASSERT_GE(ids.size(), 4u);  // hello, declare, assess, declare
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]);
}

// A driver follows their own truck, not their colleagues' (as GET /crossings answers them).
TEST(FeedTest, ADriverFollowsOnlyTheCrossingsThatNameThem) {
  TestNode node;
  node.AddUserWithToken("drv-an", Role::kDriver, "COMPANY-A", "B0004711");
  StreamReader driver(node.port(), "/api/v1/feed", Auth(node, "drv-an"));
  StreamReader company(node.port(), "/api/v1/feed", Auth(node, "fwd-a"));
  ASSERT_TRUE(driver.WaitFor("event: hello\n")) << driver.body();
  ASSERT_TRUE(company.WaitFor("event: hello\n")) << company.body();
  const std::string colleague = node.Declare("fwd-a", "12C-222.22");  // names B1234567
  std::string body = node.DurianDeclaration("12C-111.11");
  body.replace(body.find("B1234567"), 8, "B0004711");
  ApiReply own = node.Call("POST", "/api/v1/crossings", "fwd-a", body);
  ASSERT_EQ(own.status, 201) << own.raw;
  const std::string mine(own.body.at("id").as_string());
  ASSERT_TRUE(node.Event(mine, "assess", "customs", R"({"channel": "green"})").status == 200);
  ASSERT_TRUE(driver.WaitFor("\"action\":\"assess\"")) << driver.body();
  ASSERT_TRUE(company.WaitFor("\"action\":\"assess\"")) << company.body();
  EXPECT_NE(driver.body().find(mine), std::string::npos) << driver.body();
  EXPECT_EQ(driver.body().find(colleague), std::string::npos) << driver.body();
  EXPECT_EQ(driver.body().find("12C-222.22"), std::string::npos) << driver.body();
  EXPECT_NE(company.body().find(colleague), std::string::npos) << company.body();
}

TEST(FeedTest, ResumesAfterLastEventIdFromTheRingAndAfterARestartFromTheStore) {
  TestNode node;
  int64_t last_seen = 0;
  std::string first;
  // While someone listens the feed keeps recent events in its ring; with nobody listening it
  // renders nothing (the resume below then reads the store).
  auto observer = std::make_unique<StreamReader>(node.port(), "/api/v1/feed", Auth(node, "admin"));
  ASSERT_TRUE(observer->WaitFor("event: hello\n"));
  {
    StreamReader reader(node.port(), "/api/v1/feed", Auth(node, "operator"));
    ASSERT_TRUE(reader.WaitFor("event: hello\n"));
    first = node.Declare("fwd-a", "12C-333.33");
    ASSERT_TRUE(reader.WaitFor(first));
    last_seen = EventIds(reader.body()).back();
  }
  // Missed while disconnected:
  ASSERT_EQ(node.Event(first, "assess", "customs", R"({"channel": "green"})").status, 200);
  const std::string second = node.Declare("fwd-a", "12C-444.44");
  const int64_t head = node.AuditCount();
  {
    StreamReader reader(node.port(), "/api/v1/feed",
                        {{"Authorization", "Bearer " + node.tokens().at("operator")},
                         {"Last-Event-ID", std::to_string(last_seen)}});
    ASSERT_TRUE(reader.WaitFor("\"crossing_id\":\"" + second + "\"")) << reader.body();
    std::vector<int64_t> ids = EventIds(reader.body());
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), last_seen + 1);  // nothing before, nothing skipped
    EXPECT_EQ(ids.back(), head);
    EXPECT_EQ(reader.body().find("\"action\":\"declare\",\"crossing_id\":\"" + first + "\""),
              std::string::npos);  // the event already seen is not sent again
  }
  // Missed while nobody listened at all: from the store, the same way.
  observer.reset();
  const int64_t seen_before_idle = node.AuditCount();
  const std::string idle = node.Declare("fwd-a", "12C-666.66");
  {
    StreamReader reader(node.port(), "/api/v1/feed",
                        {{"Authorization", "Bearer " + node.tokens().at("operator")},
                         {"Last-Event-ID", std::to_string(seen_before_idle)}});
    ASSERT_TRUE(reader.WaitFor("\"crossing_id\":\"" + idle + "\"")) << reader.body();
    std::vector<int64_t> ids = EventIds(reader.body());
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.front(), seen_before_idle + 1);
    EXPECT_EQ(ids.back(), node.AuditCount());
  }
  // After a restart the ring is empty: the missed events come from the store.
  node.Restart();
  const std::string third = node.Declare("fwd-a", "12C-555.55");
  StreamReader reader(node.port(), "/api/v1/feed",
                      {{"Authorization", "Bearer " + node.tokens().at("operator")},
                       {"Last-Event-ID", std::to_string(last_seen)}});
  ASSERT_TRUE(reader.WaitFor("\"crossing_id\":\"" + third + "\"")) << reader.body();
  std::vector<int64_t> ids = EventIds(reader.body());
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), last_seen + 1);
  EXPECT_NE(reader.body().find("\"crossing_id\":\"" + second + "\""), std::string::npos);
  // Live events keep coming on the resumed stream.
  ASSERT_EQ(node.Event(third, "assess", "customs", R"({"channel": "green"})").status, 200);
  ASSERT_TRUE(reader.WaitFor("\"action\":\"assess\",\"crossing_id\":\"" + third + "\""))
      << reader.body();
}

// Found by an adversarial review: the credentials were checked only when the stream opened, so
// a revoked token kept receiving its company's crossings for as long as the stream stayed open.
TEST(FeedTest, ARevokedTokenEndsItsOpenStreams) {
  api::ApiOptions api;
  api.token_cache_ttl = Duration::zero();  // the test's clock stands still
  TestNode node({}, api);
  StreamReader revoked(node.port(), "/api/v1/feed", Auth(node, "fwd-a"));
  StreamReader other(node.port(), "/api/v1/feed", Auth(node, "fwd-b"));
  ASSERT_TRUE(revoked.WaitFor("event: hello\n")) << revoked.body();
  ASSERT_TRUE(other.WaitFor("event: hello\n")) << other.body();
  auto parts = ParseToken(node.tokens().at("fwd-a"));
  ASSERT_TRUE(parts) << parts.error().ToString();
  Actor admin{"cli", "test", Role::kAdministrator, ""};
  ASSERT_TRUE(node.runtime()
                  .engine()
                  .Execute(Command{admin, "", "", RevokeApiToken{parts->id, ""}})
                  .has_value());
  EXPECT_TRUE(revoked.WaitForEnd(5s)) << revoked.body();
  // Its reconnection is refused; the other company's stream goes on.
  EXPECT_EQ(node.Call("GET", "/api/v1/feed", "fwd-a").status, 401);
  const std::string b = node.Declare("fwd-b", "12C-222.22");
  EXPECT_TRUE(other.WaitFor("\"crossing_id\":\"" + b + "\"")) << other.body();
  EXPECT_FALSE(other.ended());
}

// One user cannot take every slot of the feed (also from the review).
TEST(FeedTest, OneUserHasAtMostSixteenStreams) {
  api::ApiOptions api;
  api.feed_keepalive = 100ms;  // a closed client is noticed at the next write
  TestNode node({}, api);
  std::vector<std::unique_ptr<StreamReader>> open;
  for (int i = 0; i < 16; ++i) {
    open.push_back(
        std::make_unique<StreamReader>(node.port(), "/api/v1/feed", Auth(node, "fwd-a")));
    ASSERT_TRUE(open.back()->WaitFor("event: hello\n")) << i << ": " << open.back()->body();
  }
  ApiReply refused = node.Call("GET", "/api/v1/feed", "fwd-a");
  EXPECT_EQ(refused.status, 429) << refused.raw;
  EXPECT_EQ(refused.Code(), "too_many_streams");
  StreamReader someone_else(node.port(), "/api/v1/feed", Auth(node, "fwd-b"));
  EXPECT_TRUE(someone_else.WaitFor("event: hello\n")) << someone_else.body();
  // A closed stream frees its place.
  open.pop_back();
  bool reopened = false;
  for (int attempt = 0; attempt < 50 && !reopened; ++attempt) {
    StreamReader again(node.port(), "/api/v1/feed", Auth(node, "fwd-a"));
    reopened = again.WaitFor("event: hello\n", 2s);
    if (!reopened) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(reopened);
}

// An id beyond the last event (a restored database, an id from another node) cannot be resumed
// after: the client is told to reload instead of waiting for events that never come.
TEST(FeedTest, ALastEventIdBeyondTheHeadGetsAReset) {
  TestNode node;
  node.Declare("fwd-a", "12C-111.11");
  StreamReader reader(
      node.port(), "/api/v1/feed",
      {{"Authorization", "Bearer " + node.tokens().at("operator")}, {"Last-Event-ID", "1000000"}});
  ASSERT_TRUE(reader.WaitFor("event: reset\n")) << reader.body();
  EXPECT_EQ(EventTypes(reader.body()).front(), "reset");
  std::vector<int64_t> ids = EventIds(reader.body());
  ASSERT_FALSE(ids.empty());
  EXPECT_LE(ids.front(), node.AuditCount()) << reader.body();  // the feed's head then
  const std::string next = node.Declare("fwd-a", "12C-222.22");
  EXPECT_TRUE(reader.WaitFor("\"crossing_id\":\"" + next + "\"")) << reader.body();
}

// The feed reads the audit trail, not the engine's events: a change committed by another
// process on the same database (here an engine of its own, as a CLI command or a second server
// would be) reaches the clients too, within the poll interval, with no notification.
TEST(FeedTest, ChangesCommittedByAnotherProcessArriveToo) {
  TestNode node;
  StreamReader staff(node.port(), "/api/v1/feed", Auth(node, "operator"));
  StreamReader company(node.port(), "/api/v1/feed", Auth(node, "fwd-a"));
  ASSERT_TRUE(staff.WaitFor("event: hello\n"));
  ASSERT_TRUE(company.WaitFor("event: hello\n"));

  auto config = LoadGateConfig(std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  auto hs = HsNomenclature::Hs2022();
  auto other_store = OpenStore(node.db_path(), hs);
  ASSERT_TRUE(other_store.has_value()) << other_store.error().ToString();
  ManualClock clock(*ParseTimestamp("2026-11-29T01:05:00Z"));
  SeededRandom random(7);
  Engine other(std::move(*config), hs, **other_store, clock, random,
               EngineOptions{.writer_thread = false});
  Actor admin{"u_other", "other-admin", Role::kAdministrator, ""};
  auto changed = other.Execute(Command{admin, "other-process-1", "", SetQueuePolicy{"fifo"}});
  ASSERT_TRUE(changed.has_value()) << changed.error().ToString();

  ASSERT_TRUE(staff.WaitFor("event: queue\n", 5s)) << staff.body();
  EXPECT_NE(staff.body().find("\"action\":\"set_policy\""), std::string::npos);
  // Queue policy changes are for staff: the forwarder's stream stays quiet.
  const std::string declared = node.Declare("fwd-a", "12C-666.66");
  ASSERT_TRUE(company.WaitFor(declared)) << company.body();
  EXPECT_EQ(company.body().find("event: queue"), std::string::npos);
}

TEST(FeedTest, IdleStreamsGetKeepAlivesAndTheMetricCountsThem) {
  api::ApiOptions options;
  options.feed_keepalive = 100ms;
  TestNode node({}, options);
  StreamReader reader(node.port(), "/api/v1/feed", Auth(node, "guard"));
  ASSERT_TRUE(reader.WaitFor(": keep-alive\n\n: keep-alive\n\n", 5s)) << reader.body();
  ApiReply metrics = node.Call("GET", "/metrics", "");
  EXPECT_NE(metrics.raw.find("borderflow_feed_subscribers 1"), std::string::npos);
}

// The number after `name ` in a Prometheus text page (-1 when absent).
int64_t MetricValue(const std::string& page, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const size_t at = page.find(key);
  return at == std::string::npos ? -1 : std::stoll(page.substr(at + key.size()));
}

TEST(FeedTest, RendersNothingWhileNoStreamIsOpen) {
  TestNode node;
  for (const char* plate : {"12C-111.11", "12C-222.22", "12C-333.33"}) node.Declare("fwd-a", plate);
  std::this_thread::sleep_for(800ms);  // several poll intervals
  EXPECT_EQ(
      MetricValue(node.Call("GET", "/metrics", "").raw, "borderflow_feed_events_rendered_total"),
      0);
  // A stream opens: what follows is rendered and delivered.
  StreamReader reader(node.port(), "/api/v1/feed", Auth(node, "operator"));
  ASSERT_TRUE(reader.WaitFor("event: hello\n"));
  const std::string id = node.Declare("fwd-a", "12C-444.44");
  ASSERT_TRUE(reader.WaitFor(id)) << reader.body();
  EXPECT_GT(
      MetricValue(node.Call("GET", "/metrics", "").raw, "borderflow_feed_events_rendered_total"),
      0);
}

class WebRootTest : public ::testing::Test {
 protected:
  WebRootTest() {
    root_ = std::filesystem::temp_directory_path() /
            ("bf-web-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "assets");
    std::ofstream(root_ / "index.html") << "<!doctype html><title>borderflow</title>";
    std::ofstream(root_ / "assets" / "app-1a2b.js") << "console.log('hi')";
    std::ofstream(root_ / "secret.txt") << "not an asset";
    std::filesystem::create_symlink("/etc/passwd", root_ / "assets" / "escape.txt");
  }
  ~WebRootTest() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(WebRootTest, ServesTheFrontEndAndNothingOutsideIt) {
  api::ApiOptions options;
  options.web_root = root_.string();
  TestNode node({}, options);
  ApiReply index = node.Call("GET", "/", "");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.raw, "<!doctype html><title>borderflow</title>");
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.Header("cache-control"), "no-cache");
  EXPECT_NE(index.Header("content-security-policy").find("script-src 'self'"), std::string::npos);
  ApiReply js = node.Call("GET", "/assets/app-1a2b.js", "");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.raw, "console.log('hi')");
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.Header("cache-control").find("immutable"), std::string::npos);
  for (const char* bad :
       {"/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/assets/%2e%2e%2fsecret.txt",
        "/assets/..%2f..%2fetc%2fpasswd", "/assets/escape.txt", "/assets/missing.js",
        "/assets/.hidden", "/secret.txt"}) {
    ApiReply r = node.Call("GET", bad, "");
    EXPECT_EQ(r.status, 404) << bad << ": " << r.raw;
    EXPECT_EQ(r.raw.find("not an asset"), std::string::npos) << bad;
    EXPECT_EQ(r.raw.find("root:"), std::string::npos) << bad;
  }
  // The built-in status page stays at /status.
  ApiReply status = node.Call("GET", "/status", "");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.raw.find("<html"), std::string::npos);
}

TEST(WebRootFallbackTest, WithoutAFrontEndTheRootIsTheStatusPage) {
  TestNode node;
  ApiReply root = node.Call("GET", "/", "");
  EXPECT_EQ(root.status, 200);
  EXPECT_NE(root.raw.find("<html"), std::string::npos);
  EXPECT_EQ(node.Call("GET", "/assets/app.js", "").status, 404);
}

}  // namespace
}  // namespace borderflow::testing

// One crossing through its whole lifecycle over HTTP, each step sent by the role that owns it;
// then a restart finds the same state and the same audit trail.

#include <fmt/format.h>

#include <borderflow/audit/audit_record.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

namespace json = boost::json;

TEST(LifecycleOverHttp, WholeLifecycleSurvivesRestart) {
  TestNode node;
  std::string id = node.Declare("fwd-a");
  ASSERT_FALSE(id.empty());

  struct Step {
    const char* type;
    const char* user;
    const char* data;
    const char* state;
  };
  const Step steps[] = {
      {"assess", "customs", R"({"channel": "red", "quarantine_inspection": true})", "assessed"},
      {"book", "fwd-a", "{}", "booked"},
      {"enter_yard", "camera", R"({"plate_read": "12C12345", "camera": "yard-in-1"})", "in_yard"},
      {"call_forward", "operator", R"({"lane": "F2"})", "called"},
      {"arrive_at_gate", "guard", "{}", "at_gate"},
      {"start_inspection", "quarantine", "{}", "inspecting"},
      {"record_inspection", "quarantine", R"({"outcome": "no_finding", "note": "clean"})",
       "checked"},
      {"release", "customs", "{}", "released"},
      {"cross", "guard", "{}", "crossed"},
      {"confirm_receipt", "guard", "{}", "received"},  // or the counterpart, over the link
  };
  int64_t version = 1;
  for (const Step& s : steps) {
    node.clock().Advance(std::chrono::minutes(7));
    ApiReply r = node.Event(id, s.type, s.user, s.data);
    ASSERT_EQ(r.status, 200) << s.type << ": " << r.raw;
    EXPECT_EQ(r.body.at("crossing").at("state").as_string(), s.state) << s.type;
    EXPECT_EQ(r.body.at("crossing").at("version").as_int64(), ++version);
  }

  ApiReply before = node.Call("GET", "/api/v1/crossings/" + id, "operator");
  ApiReply history_before = node.Call("GET", "/api/v1/crossings/" + id + "/events", "operator");
  ASSERT_EQ(before.status, 200);
  ASSERT_EQ(history_before.status, 200);
  EXPECT_EQ(before.body.at("state").as_string(), "received");
  EXPECT_EQ(before.body.at("channel").as_string(), "red");
  EXPECT_EQ(before.body.at("allowed_events").as_array().size(), 0u);
  // declare + 10 events, in order, each naming its actor's role.
  const json::array& items = history_before.body.at("items").as_array();
  ASSERT_EQ(items.size(), 11u);
  EXPECT_EQ(items[0].at("action").as_string(), "declare");
  EXPECT_EQ(items[0].at("actor_role").as_string(), "forwarder");
  for (size_t i = 0; i < std::size(steps); ++i) {
    EXPECT_EQ(items[i + 1].at("action").as_string(), steps[i].type);
  }
  EXPECT_EQ(items[6].at("actor_role").as_string(), "quarantine_officer");

  node.Restart();

  ApiReply after = node.Call("GET", "/api/v1/crossings/" + id, "operator");
  ApiReply history_after = node.Call("GET", "/api/v1/crossings/" + id + "/events", "operator");
  EXPECT_EQ(after.raw, before.raw);
  EXPECT_EQ(history_after.raw, history_before.raw);

  auto verification = VerifyAuditChain(
      [&](int64_t after_seq) { return node.runtime().store().ReadAudit(after_seq, 100); });
  ASSERT_TRUE(verification);
  EXPECT_TRUE(verification->ok) << verification->reason;
  EXPECT_EQ(verification->records, node.AuditCount());
}

TEST(LifecycleOverHttp, GreenChannelWithDocumentCheck) {
  TestNode node;
  std::string id = node.Declare("fwd-a");
  EXPECT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  // Live queue: no booking, straight into the yard.
  EXPECT_EQ(node.Event(id, "enter_yard", "camera").status, 200);
  EXPECT_EQ(node.Event(id, "call_forward", "operator").status, 200);
  EXPECT_EQ(node.Event(id, "arrive_at_gate", "camera").status, 200);
  EXPECT_EQ(node.Event(id, "check_documents", "customs", R"({"outcome": "ok"})").status, 200);
  ApiReply released = node.Event(id, "release", "customs");
  EXPECT_EQ(released.status, 200);
  EXPECT_EQ(released.body.at("crossing").at("state").as_string(), "released");
}

// The counterpart node is trusted only through its signed link messages: a counterpart token
// (only a database from an older version can hold one) can neither move a crossing nor read.
TEST(LifecycleOverHttp, CounterpartTokenIsRefused) {
  TestNode node;
  std::string id = node.Declare("fwd-a");
  for (const auto& [event, data] : {std::pair{"assess", R"({"channel": "green"})"},
                                    std::pair{"cancel", R"({"reason": "cancelled"})"}}) {
    int64_t audit = node.AuditCount();
    ApiReply r = node.Event(id, event, "counterpart", data);
    EXPECT_EQ(r.status, 403) << event << ": " << r.raw;
    EXPECT_EQ(r.Code(), "role_not_allowed") << r.raw;
    EXPECT_EQ(node.AuditCount(), audit);
  }
  for (const std::string& path :
       std::vector<std::string>{"/api/v1/crossings/" + id, "/api/v1/crossings", "/api/v1/me"}) {
    ApiReply r = node.Call("GET", path, "counterpart");
    EXPECT_EQ(r.status, 403) << path << ": " << r.raw;
    EXPECT_EQ(r.Code(), "role_not_allowed") << path;
  }
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + id, "operator").body.at("state").as_string(),
            "declared");
  // Nor can one be made any more.
  int64_t audit = node.AuditCount();
  auto added =
      node.runtime().engine().Execute(Command{Actor{"cli", "test", Role::kAdministrator, ""}, "",
                                              "", AddUser{"other-node", Role::kCounterpart, ""}});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, "invalid_role");
  EXPECT_EQ(node.AuditCount(), audit);
}

// Sensors (cameras, weighbridges) act on a crossing's current state: they see no driver's
// personal data, no goods or values, no document numbers, no company and no history; the
// trader and staff do.
TEST(LifecycleOverHttp, SensorsSeeNoPersonalData) {
  TestNode node;
  std::string id = node.Declare("fwd-a");
  ASSERT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  ApiReply moved = node.Event(id, "enter_yard", "camera");
  ASSERT_EQ(moved.status, 200) << moved.raw;
  EXPECT_EQ(moved.raw.find("\"driver\""), std::string::npos) << moved.raw;
  EXPECT_EQ(moved.body.at("crossing").at("state").as_string(), "in_yard");
  ApiReply one = node.Call("GET", "/api/v1/crossings/" + id, "camera");
  ASSERT_EQ(one.status, 200) << one.raw;
  EXPECT_EQ(one.raw.find("\"driver\""), std::string::npos) << one.raw;
  EXPECT_FALSE(one.body.at("vehicle").at("plate").as_object().empty()) << one.raw;
  ApiReply list = node.Call("GET", "/api/v1/crossings?limit=5", "camera");
  ASSERT_EQ(list.status, 200) << list.raw;
  ASSERT_EQ(list.body.at("items").as_array().size(), 1u) << list.raw;
  EXPECT_EQ(list.raw.find("\"driver\""), std::string::npos) << list.raw;
  for (const ApiReply* seen : {&moved, &one, &list}) {
    for (const char* hidden : {"\"lines\"", "\"documents\"", "\"company_id\"", "48000.00",
                               "VN-PC-2026-001234", "Nguyen Van An"}) {
      EXPECT_EQ(seen->raw.find(hidden), std::string::npos) << hidden << " in " << seen->raw;
    }
  }
  ApiReply history = node.Call("GET", "/api/v1/crossings/" + id + "/events", "camera");
  EXPECT_EQ(history.status, 403) << history.raw;
  EXPECT_EQ(history.Code(), "role_not_allowed");
  // The trader and staff still see the driver.
  for (const char* user : {"fwd-a", "operator"}) {
    ApiReply full = node.Call("GET", "/api/v1/crossings/" + id, user);
    EXPECT_TRUE(full.body.at("driver").is_object()) << user << ": " << full.raw;
    EXPECT_EQ(full.body.at("lines").as_array().size(), 1u) << user << ": " << full.raw;
    EXPECT_TRUE(full.body.at("documents").is_object()) << user << ": " << full.raw;
  }
}

// BRIEF.md: a driver sees their own truck's status. A driver of COMPANY-A sees the crossings
// that name their document number, not the rest of their company's trucks (other drivers' names,
// phones and loads) nor another company's crossing that names them.
TEST(LifecycleOverHttp, ADriverSeesOnlyTheCrossingsThatNameThem) {
  TestNode node;
  node.AddUserWithToken("drv-an", Role::kDriver, "COMPANY-A", "B0004711");
  auto naming = [&](std::string_view plate, std::string_view document) {
    std::string body = node.DurianDeclaration(plate);
    body.replace(body.find("B1234567"), 8, document);
    return body;
  };
  ApiReply own = node.Call("POST", "/api/v1/crossings", "fwd-a", naming("12C-111.11", "B0004711"));
  ASSERT_EQ(own.status, 201) << own.raw;
  const std::string mine(own.body.at("id").as_string());
  const std::string colleague = node.Declare("fwd-a", "12C-222.22");  // another driver
  ApiReply other =
      node.Call("POST", "/api/v1/crossings", "fwd-b", naming("24C-333.33", "B0004711"));
  ASSERT_EQ(other.status, 201) << other.raw;
  const std::string other_company(other.body.at("id").as_string());

  ApiReply me = node.Call("GET", "/api/v1/me", "drv-an");
  ASSERT_EQ(me.status, 200) << me.raw;
  EXPECT_EQ(me.body.at("role"), "driver");
  EXPECT_EQ(me.body.at("driver_document"), "B0004711");
  auto listed = [&] {
    ApiReply list = node.Call("GET", "/api/v1/crossings", "drv-an");
    EXPECT_EQ(list.status, 200) << list.raw;
    std::vector<std::string> ids;
    for (const auto& item : list.body.at("items").as_array()) {
      ids.emplace_back(item.at("id").as_string());
    }
    return ids;
  };
  EXPECT_EQ(listed(), std::vector<std::string>{mine});
  ApiReply seen = node.Call("GET", "/api/v1/crossings/" + mine, "drv-an");
  ASSERT_EQ(seen.status, 200) << seen.raw;
  EXPECT_EQ(seen.body.at("driver").at("document_number"), "B0004711");
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + mine + "/events", "drv-an").status, 200);
  // No rule set is active here: the driver learns that, not that the crossing is unknown.
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + mine + "/assessment", "drv-an").Code(),
            "assessment_not_found");
  for (const std::string& hidden : {colleague, other_company}) {
    for (const std::string& path :
         {"/api/v1/crossings/" + hidden, "/api/v1/crossings/" + hidden + "/events",
          "/api/v1/crossings/" + hidden + "/assessment"}) {
      ApiReply r = node.Call("GET", path, "drv-an");
      EXPECT_EQ(r.status, 404) << path << ": " << r.raw;
      EXPECT_EQ(r.Code(), "crossing_not_found") << path;
    }
  }
  // The forwarder hands the colleague's truck to this driver: it follows the driver, as stored.
  ApiReply handed = node.Call(
      "POST", "/api/v1/crossings/" + colleague + "/driver", "fwd-a",
      R"({"driver": {"name": "Nguyen Van An", "document_number": "B0004711", "nationality": "VN"}})");
  ASSERT_EQ(handed.status, 200) << handed.raw;
  EXPECT_EQ(listed(), (std::vector<std::string>{mine, colleague}));
  node.Restart();
  EXPECT_EQ(listed(), (std::vector<std::string>{mine, colleague}));
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + other_company, "drv-an").status, 404);
}

TEST(LifecycleOverHttp, ListFiltersAndPaginates) {
  TestNode node;
  std::vector<std::string> ids;
  for (const char* plate : {"12C-111.11", "12C-222.22", "12C-333.33", "14C-444.44"}) {
    ids.push_back(node.Declare("fwd-a", plate));
  }
  node.Declare("fwd-b", "24C-555.55");
  EXPECT_EQ(node.Event(ids[0], "assess", "customs", R"({"channel": "green"})").status, 200);

  ApiReply assessed = node.Call("GET", "/api/v1/crossings?state=assessed", "operator");
  ASSERT_EQ(assessed.status, 200);
  ASSERT_EQ(assessed.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(assessed.body.at("items").as_array()[0].at("id").as_string(), ids[0]);

  ApiReply by_plate = node.Call("GET", "/api/v1/crossings?plate=14c44444", "operator");
  ASSERT_EQ(by_plate.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(by_plate.body.at("items").as_array()[0].at("id").as_string(), ids[3]);

  // Pages of two: the operator sees all five crossings exactly once.
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    std::string target = "/api/v1/crossings?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor);
    ApiReply page = node.Call("GET", target, "operator");
    ASSERT_EQ(page.status, 200) << page.raw;
    for (const auto& item : page.body.at("items").as_array()) {
      EXPECT_TRUE(seen.insert(std::string(item.at("id").as_string())).second);
    }
    cursor = page.body.at("next_cursor").is_null()
                 ? ""
                 : std::string(page.body.at("next_cursor").as_string());
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);

  // A forwarder lists only its own company's crossings, whatever it asks for.
  ApiReply own = node.Call("GET", "/api/v1/crossings?company_id=COMPANY-A", "fwd-b");
  ASSERT_EQ(own.status, 200);
  ASSERT_EQ(own.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(own.body.at("items").as_array()[0].at("company_id").as_string(), "COMPANY-B");
}

TEST(LifecycleOverHttp, HealthReadinessMetricsAndGate) {
  TestNode node;
  node.Declare("fwd-a");
  EXPECT_EQ(node.Call("GET", "/healthz", "").status, 200);
  EXPECT_EQ(node.Call("GET", "/readyz", "").status, 200);
  ApiReply metrics = node.Call("GET", "/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.raw.find("borderflow_http_requests_total"), std::string::npos);
  EXPECT_NE(metrics.raw.find("route=\"/api/v1/crossings\""), std::string::npos);
  // Made-up method names (any token is a valid one) share one label instead of adding a series
  // each to /metrics.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(node.Call(fmt::format("X{}Y", i), "/api/v1/crossings", "").status, 405);
  }
  std::string after = node.Call("GET", "/metrics", "").raw;
  EXPECT_EQ(after.find("method=\"X1Y\""), std::string::npos) << after;
  EXPECT_NE(after.find("method=\"other\""), std::string::npos) << after;

  ApiReply gate = node.Call("GET", "/api/v1/gate", "");
  ASSERT_EQ(gate.status, 200) << gate.raw;
  EXPECT_EQ(gate.body.at("self").at("node_id").as_string(), "vn-huu-nghi");
  EXPECT_EQ(gate.body.at("self").at("utc_offset").as_string(), "+07:00");
  EXPECT_EQ(gate.body.at("counterpart").at("utc_offset").as_string(), "+08:00");
  // 01:00Z is 08:00 in Vietnam (open from 07:00) and 09:00 in China (open from 08:00).
  EXPECT_TRUE(gate.body.at("self").at("open").as_bool());
  EXPECT_EQ(gate.body.at("self").at("local_time").as_string(), "2026-11-29T08:00:00+07:00");
  // The public board carries no plate and no company.
  EXPECT_EQ(gate.raw.find("12C"), std::string::npos);
  EXPECT_EQ(gate.raw.find("COMPANY-A"), std::string::npos);
  ApiReply page = node.Call("GET", "/", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.raw.find("Tiếng Việt"), std::string::npos);
}

}  // namespace
}  // namespace borderflow::testing

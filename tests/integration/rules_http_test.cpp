// Risk-based selectivity end to end (issue 4): rule sets uploaded and activated over HTTP,
// declarations assessed automatically, explanations for staff and (limited) for forwarders,
// re-assessment by new facts, learning from inspections, red capacity per day, restart.

#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <sys/wait.h>

#include <borderflow/audit/audit_record.h>
#include <borderflow/net/http_client.h>
#include <borderflow/net/testing/stream_reader.h>
#include <borderflow/rules/rule_set.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

namespace json = boost::json;

std::string ExampleRules() {
  std::ifstream in(std::string(BORDERFLOW_SOURCE_DIR) + "/rules/huu-nghi.rules", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TextBody(const std::string& text) { return ToJsonText(json::object{{"text", text}}); }

// Uploads and activates rules/huu-nghi.rules as customs; returns its id.
std::string Activate(TestNode& node) {
  ApiReply up = node.Call("POST", "/api/v1/rules", "customs", TextBody(ExampleRules()));
  EXPECT_EQ(up.status, 201) << up.raw;
  if (up.status != 201) return "";
  std::string id(up.body.at("id").as_string());
  EXPECT_EQ(id, "huu-nghi@1");
  EXPECT_EQ(up.body.at("status").as_string(), "validated");
  EXPECT_FALSE(up.raw.find("secret") != std::string::npos);
  ApiReply on = node.Call("POST", "/api/v1/rules/" + id + "/activate", "customs", "{}");
  EXPECT_EQ(on.status, 200) << on.raw;
  return id;
}

// A declaration body like the durian one, with a chosen value, weight and documents.
std::string Declaration(std::string_view plate, std::string_view amount, std::string_view phyto) {
  return fmt::format(R"({{
    "direction": "VN-CN", "lane_class": "fresh_produce",
    "vehicle": {{"plate": "{}", "container_number": "CSQU3054383", "seal_number": "VN123456"}},
    "driver": {{"name": "Nguyen Van An", "document_number": "B1234567", "nationality": "VN"}},
    "lines": [{{"hs_code": "0810.60", "description": "Fresh durian", "packages": 800,
                "gross_weight_kg": 16000, "value": {{"amount": "{}", "currency": "USD"}},
                "origin_country": "VN"}}],
    "freshness_deadline": "2026-11-30T20:00:00+07:00",
    "documents": {{"customs_declaration": "30612345678", "phytosanitary_certificate": "{}"}}
  }})",
                     plate, amount, phyto);
}

std::vector<std::string> FiredRules(const json::value& assessment_view) {
  std::vector<std::string> out;
  for (const auto& r : assessment_view.at("explanation").at("rules").as_array()) {
    out.emplace_back(r.at("name").as_string());
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void ExpectAuditChainOk(TestNode& node) {
  Store& store = node.runtime().store();
  auto verified = VerifyAuditChain([&](int64_t after) { return store.ReadAudit(after, 500); });
  ASSERT_TRUE(verified) << verified.error().ToString();
  EXPECT_TRUE(verified->ok) << verified->reason;
}

TEST(RulesHttp, BadRuleFileIsRefusedWithLineAndColumnAndNothingStored) {
  TestNode node;
  std::string bad =
      "ruleset \"bad\" version 1\n\nrule \"x\" {\n  when hs.chapter === 08\n"
      "  then channel red\n  reason en \"a\" vi \"b\" zh \"c\"\n}\n";
  int64_t audit_before = node.AuditCount();
  ApiReply r = node.Call("POST", "/api/v1/rules", "customs", TextBody(bad));
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_EQ(r.Code(), "invalid_rules");
  ASSERT_TRUE(r.body.as_object().contains("field")) << r.raw;
  EXPECT_TRUE(
      std::regex_match(std::string(r.body.at("field").as_string()), std::regex(R"(\d+:\d+)")))
      << r.raw;
  EXPECT_EQ(node.AuditCount(), audit_before);
  ApiReply list = node.Call("GET", "/api/v1/rules", "customs");
  EXPECT_EQ(list.status, 200);
  EXPECT_TRUE(list.body.at("items").as_array().empty());
  EXPECT_TRUE(list.body.at("active").is_null());
  // Forwarders may not upload, nor read rule sets.
  EXPECT_EQ(node.Call("POST", "/api/v1/rules", "fwd-a", TextBody(ExampleRules())).status, 403);
  EXPECT_EQ(node.Call("GET", "/api/v1/rules", "fwd-a").status, 403);
  // Unknown set.
  EXPECT_EQ(node.Call("POST", "/api/v1/rules/nope@1/activate", "customs", "{}").Code(),
            "rule_set_not_found");
  // Without an active set a declaration waits for a manual assessment, as before.
  std::string id = node.Declare("fwd-a");
  ApiReply c = node.Call("GET", "/api/v1/crossings/" + id, "customs");
  EXPECT_EQ(c.body.at("state").as_string(), "declared");
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs").Code(),
            "assessment_not_found");
}

TEST(RulesHttp, DeclarationsAreAssessedAndExplained) {
  TestNode node;
  std::string set = Activate(node);
  ASSERT_FALSE(set.empty());
  // Same text again: 200; same id with another text: 409.
  EXPECT_EQ(node.Call("POST", "/api/v1/rules", "admin", TextBody(ExampleRules())).status, 200);
  std::string changed = ExampleRules() + "\n# changed\n";
  EXPECT_EQ(node.Call("POST", "/api/v1/rules", "admin", TextBody(changed)).Code(),
            "rule_set_exists");

  ApiReply declared = node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration());
  ASSERT_EQ(declared.status, 201) << declared.raw;
  EXPECT_EQ(declared.body.at("state").as_string(), "assessed");
  EXPECT_EQ(declared.body.at("channel").as_string(), "yellow");
  EXPECT_TRUE(declared.body.at("quarantine_inspection").as_bool());
  EXPECT_FALSE(declared.body.as_object().contains("risk")) << "forwarders never see scores";
  std::string id(declared.body.at("id").as_string());

  ApiReply staff = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs");
  ASSERT_EQ(staff.status, 200) << staff.raw;
  auto fired = FiredRules(staff.body);
  EXPECT_TRUE(Contains(fired, "durian-quarantine")) << staff.raw;
  EXPECT_TRUE(Contains(fired, "phyto-unchecked")) << staff.raw;
  EXPECT_EQ(staff.body.at("explanation").at("rule_set").as_string(), set);
  EXPECT_EQ(staff.body.at("explanation").at("score").to_number<double>(), 40);
  EXPECT_NE(std::string(staff.body.at("explanation").at("summary").at("vi").as_string()), "");
  EXPECT_TRUE(
      node.Call("GET", "/api/v1/crossings/" + id, "customs").body.as_object().contains("risk"));

  ApiReply own = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "fwd-a");
  ASSERT_EQ(own.status, 200) << own.raw;
  EXPECT_FALSE(own.body.as_object().contains("explanation"));
  EXPECT_EQ(own.body.at("channel").as_string(), "yellow");
  // What to do in the channel, not why: the rules' own reasons would let the trader find them.
  EXPECT_FALSE(own.body.as_object().contains("reasons")) << own.raw;
  EXPECT_NE(std::string(own.body.at("instructions").at("en").as_string()).find("Document check"),
            std::string::npos)
      << own.raw;
  EXPECT_NE(std::string(own.body.at("instructions").at("zh").as_string()).find("植物检疫"),
            std::string::npos)
      << own.raw;
  EXPECT_EQ(own.raw.find("Fresh durian for China"), std::string::npos) << own.raw;
  EXPECT_EQ(own.raw.find("榴莲"), std::string::npos) << own.raw;
  EXPECT_EQ(own.raw.find("score"), std::string::npos) << own.raw;
  EXPECT_EQ(own.raw.find("condition"), std::string::npos) << own.raw;
  EXPECT_FALSE(
      node.Call("GET", "/api/v1/crossings/" + id, "fwd-a").body.as_object().contains("risk"));
  // Nor do the history's records, nor the other role that is not staff: a sensor. (The
  // counterpart reads nothing over the API.) Staff see the rules that fired in both places.
  for (const char* role : {"fwd-a", "camera"}) {
    ApiReply history = node.Call("GET", "/api/v1/crossings/" + id + "/events", role);
    if (std::string_view(role) == "camera") {
      EXPECT_EQ(history.status, 403) << history.raw;  // sensors read no history at all
      history = node.Call("GET", "/api/v1/crossings/" + id + "/events", "fwd-a");
    }
    ASSERT_EQ(history.status, 200) << role << ": " << history.raw;
    EXPECT_NE(history.raw.find("\"assess\""), std::string::npos) << role << ": " << history.raw;
    for (const char* secret : {"\"condition\"", "durian-quarantine", "score", "\"risk\""}) {
      EXPECT_EQ(history.raw.find(secret), std::string::npos)
          << role << " sees " << secret << ": " << history.raw;
    }
    ApiReply one = node.Call("GET", "/api/v1/crossings/" + id, role);
    ASSERT_EQ(one.status, 200) << role << ": " << one.raw;
    EXPECT_FALSE(one.body.as_object().contains("risk")) << role;
    ApiReply listed = node.Call("GET", "/api/v1/crossings?limit=5", role);
    ASSERT_EQ(listed.status, 200) << role << ": " << listed.raw;
    EXPECT_EQ(listed.raw.find("\"risk\""), std::string::npos) << role << ": " << listed.raw;
  }
  ApiReply staff_history = node.Call("GET", "/api/v1/crossings/" + id + "/events", "customs");
  EXPECT_NE(staff_history.raw.find("durian-quarantine"), std::string::npos) << staff_history.raw;
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "fwd-b").status, 404);

  // Listing and dry run for staff.
  ApiReply list = node.Call("GET", "/api/v1/rules", "customs");
  EXPECT_EQ(list.body.at("active").as_string(), set);
  ApiReply dry =
      node.Call("POST", "/api/v1/rules/dry-run", "customs", R"({"id": "huu-nghi@1", "limit": 10})");
  ASSERT_EQ(dry.status, 200) << dry.raw;
  EXPECT_EQ(dry.body.at("total").as_int64(), 1);
  EXPECT_EQ(dry.body.at("changed").as_int64(), 0);
  std::string stricter =
      "ruleset \"strict\" version 1\nrule \"all-red\" {\n  when not empty\n"
      "  then channel red\n  reason en \"a\" vi \"b\" zh \"c\"\n}\n";
  ApiReply dry2 = node.Call("POST", "/api/v1/rules/dry-run", "customs", TextBody(stricter));
  ASSERT_EQ(dry2.status, 200) << dry2.raw;
  EXPECT_EQ(dry2.body.at("changed").as_int64(), 1) << dry2.raw;
  EXPECT_EQ(dry2.body.at("after").at("red").as_int64(), 1) << dry2.raw;
  ExpectAuditChainOk(node);
}

TEST(RulesHttp, NewFactsRaiseTheChannelNeverLowerIt) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  std::string id = node.Declare("fwd-a");
  ASSERT_FALSE(id.empty());
  std::string path = "/api/v1/crossings/" + id + "/findings";
  // A forwarder may not record facts; a document check is for officers.
  EXPECT_EQ(node.Call("POST", path, "fwd-a", R"({"kind": "weighbridge", "measured_kg": 1})").status,
            403);
  EXPECT_EQ(node.Call("POST", path, "camera",
                      R"({"kind": "document", "document": "phytosanitary", "valid": true})")
                .status,
            403);
  // A reading within 1%: nothing rises.
  ApiReply close =
      node.Call("POST", path, "camera", R"({"kind": "weighbridge", "measured_kg": 16100})");
  ASSERT_EQ(close.status, 200) << close.raw;
  EXPECT_FALSE(close.body.at("reassessed").as_bool());
  EXPECT_EQ(close.body.at("crossing").at("channel").as_string(), "yellow");
  // 25% heavier than declared: red (weight-mismatch is mandatory).
  ApiReply far =
      node.Call("POST", path, "camera", R"({"kind": "weighbridge", "measured_kg": 20000})");
  ASSERT_EQ(far.status, 200) << far.raw;
  EXPECT_TRUE(far.body.at("reassessed").as_bool());
  EXPECT_EQ(far.body.at("crossing").at("channel").as_string(), "red");
  ApiReply why = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs");
  EXPECT_TRUE(Contains(FiredRules(why.body), "weight-mismatch")) << why.raw;
  ApiReply history = node.Call("GET", "/api/v1/crossings/" + id + "/events", "customs");
  EXPECT_NE(history.raw.find("\"reassess\""), std::string::npos);
  // The reading corrected back: the channel stays red.
  ApiReply back =
      node.Call("POST", path, "camera", R"({"kind": "weighbridge", "measured_kg": 16000})");
  ASSERT_EQ(back.status, 200) << back.raw;
  EXPECT_EQ(back.body.at("crossing").at("channel").as_string(), "red");
  // The ePhyto hub says the certificate is invalid: quarantine stays, phyto-missing fires.
  ApiReply doc = node.Call("POST", path, "quarantine",
                           R"({"kind": "document", "document": "phytosanitary", "valid": false})");
  ASSERT_EQ(doc.status, 200) << doc.raw;
  EXPECT_EQ(doc.body.at("crossing").at("findings").at("phytosanitary").as_string(), "invalid");
  // Not after release: a cancelled crossing refuses findings.
  std::string other = node.Declare("fwd-a", "29C-456.78");
  EXPECT_EQ(node.Event(other, "cancel", "fwd-a", R"({"reason": "x"})").status, 200);
  EXPECT_EQ(node.Call("POST", "/api/v1/crossings/" + other + "/findings", "guard",
                      R"({"kind": "seal", "seal": "broken"})")
                .Code(),
            "finding_not_allowed");
  ExpectAuditChainOk(node);
}

TEST(RulesHttp, InspectionsTeachTraderComplianceAndTheReport) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  std::string id = node.Declare("fwd-a");
  ASSERT_FALSE(id.empty());
  ApiReply first = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs");
  double score_before = first.body.at("explanation").at("score").to_number<double>();
  const std::pair<const char*, const char*> steps[] = {
      {"book", "fwd-a"},           {"enter_yard", "camera"},        {"call_forward", "operator"},
      {"arrive_at_gate", "guard"}, {"start_inspection", "customs"},
  };
  for (const auto& [type, user] : steps) {
    node.clock().Advance(std::chrono::minutes(5));
    ApiReply r = node.Event(id, type, user);
    ASSERT_EQ(r.status, 200) << type << " " << r.raw;
  }
  ApiReply inspected = node.Event(id, "record_inspection", "customs",
                                  R"({"outcome": "finding", "finding_type": "undeclared_goods"})");
  ASSERT_EQ(inspected.status, 200) << inspected.raw;

  ApiReply report = node.Call("GET", "/api/v1/rules/report?min_inspections=1", "customs");
  ASSERT_EQ(report.status, 200) << report.raw;
  const auto& traders = report.body.at("traders").as_array();
  ASSERT_EQ(traders.size(), 1u) << report.raw;
  EXPECT_EQ(traders[0].at("company_id").as_string(), "COMPANY-A");
  EXPECT_EQ(traders[0].at("findings").as_int64(), 1);
  bool durian_counted = false;
  for (const auto& r : report.body.at("rules").as_array()) {
    if (r.at("rule").as_string() == "durian-quarantine") {
      durian_counted = r.at("inspected").as_int64() == 1 && r.at("findings").as_int64() == 1;
    }
  }
  EXPECT_TRUE(durian_counted) << report.raw;
  EXPECT_EQ(node.Call("GET", "/api/v1/rules/report", "fwd-a").status, 403);

  // The next declaration of the same trader scores higher (trader.risk), also after a restart.
  node.Restart();
  std::string next = node.Declare("fwd-a", "29C-456.78");
  ApiReply second = node.Call("GET", "/api/v1/crossings/" + next + "/assessment", "customs");
  ASSERT_EQ(second.status, 200) << second.raw;
  EXPECT_GT(second.body.at("explanation").at("score").to_number<double>(), score_before)
      << second.raw;
  EXPECT_TRUE(Contains(FiredRules(second.body), "trader-risk")) << second.raw;
  // Another trader is not affected.
  std::string b = node.Declare("fwd-b", "15C-111.22");
  ApiReply third = node.Call("GET", "/api/v1/crossings/" + b + "/assessment", "customs");
  EXPECT_EQ(third.body.at("explanation").at("score").to_number<double>(), score_before);
  ExpectAuditChainOk(node);
}

// Inspection findings become the truck's and the driver's history: rule "vehicle-history"
// (vehicle.findings >= 2 or driver.findings >= 2) fires for the next declaration of that driver
// only after the second finding, also after a restart.
TEST(RulesHttp, FindingsBecomeVehicleAndDriverHistory) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  auto inspect_with_finding = [&](const std::string& id) {
    for (const auto& [type, user] : std::initializer_list<std::pair<const char*, const char*>>{
             {"book", "fwd-a"},
             {"enter_yard", "camera"},
             {"call_forward", "operator"},
             {"arrive_at_gate", "guard"},
             {"start_inspection", "customs"}}) {
      node.clock().Advance(std::chrono::minutes(5));
      ApiReply r = node.Event(id, type, user);
      ASSERT_EQ(r.status, 200) << type << " " << r.raw;
    }
    ApiReply r = node.Event(id, "record_inspection", "customs",
                            R"({"outcome": "finding", "finding_type": "undeclared_goods"})");
    ASSERT_EQ(r.status, 200) << r.raw;
  };
  auto fired = [&](const std::string& id) {
    ApiReply r = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs");
    EXPECT_EQ(r.status, 200) << r.raw;
    return FiredRules(r.body);
  };
  // Every declaration of TestNode has the same driver (document B1234567).
  std::string first = node.Declare("fwd-a", "12C-300.01");
  EXPECT_FALSE(Contains(fired(first), "vehicle-history"));
  inspect_with_finding(first);
  if (HasFatalFailure()) return;
  std::string second = node.Declare("fwd-a", "12C-300.02");
  EXPECT_FALSE(Contains(fired(second), "vehicle-history"));  // one finding is not enough
  inspect_with_finding(second);
  if (HasFatalFailure()) return;

  node.Restart();  // the history is rebuilt from the stored inspection outcomes
  std::string third = node.Declare("fwd-b", "12C-300.03");
  EXPECT_TRUE(Contains(fired(third), "vehicle-history"))
      << node.Call("GET", "/api/v1/crossings/" + third + "/assessment", "customs").raw;
  ExpectAuditChainOk(node);
}

TEST(RulesHttp, RedCapacityPerDayLowersNonMandatoryReds) {
  TestNode node({}, {}, [](GateConfig& config) { config.rules.red_per_day = 1; });
  ASSERT_FALSE(Activate(node).empty());
  auto declare = [&](std::string_view plate, std::string_view amount, std::string_view phyto) {
    ApiReply r = node.Call("POST", "/api/v1/crossings", "fwd-a", Declaration(plate, amount, phyto));
    EXPECT_EQ(r.status, 201) << r.raw;
    return r;
  };
  // Undervalued (not mandatory): the first takes today's only bay, the second is lowered.
  ApiReply one = declare("12C-123.45", "1000.00", "VN-PC-1");
  EXPECT_EQ(one.body.at("channel").as_string(), "red") << one.raw;
  ApiReply two = declare("29C-456.78", "1000.00", "VN-PC-2");
  EXPECT_EQ(two.body.at("channel").as_string(), "yellow") << two.raw;
  std::string two_id(two.body.at("id").as_string());
  ApiReply why = node.Call("GET", "/api/v1/crossings/" + two_id + "/assessment", "customs");
  EXPECT_TRUE(why.body.at("explanation").as_object().contains("capacity")) << why.raw;
  // The trader sees yellow and what to do, not that its truck was red before the bays ran out.
  ApiReply own = node.Call("GET", "/api/v1/crossings/" + two_id + "/assessment", "fwd-a");
  EXPECT_EQ(own.body.at("channel").as_string(), "yellow") << own.raw;
  EXPECT_EQ(own.raw.find("physical inspections are taken"), std::string::npos) << own.raw;
  EXPECT_EQ(own.raw.find("Red lowered"), std::string::npos) << own.raw;
  // No phytosanitary certificate for fruit: mandatory, red beyond the capacity.
  ApiReply three = declare("15C-111.22", "48000.00", "");
  EXPECT_EQ(three.body.at("channel").as_string(), "red") << three.raw;
  // The count survives a restart; the next day has room again.
  node.Restart();
  EXPECT_EQ(declare("16C-222.33", "1000.00", "VN-PC-4").body.at("channel").as_string(), "yellow");
  node.clock().Advance(std::chrono::hours(24));
  EXPECT_EQ(declare("17C-333.44", "1000.00", "VN-PC-5").body.at("channel").as_string(), "red");
}

TEST(RulesHttp, RestartKeepsTheActiveSetAndAnotherVersionRetiresIt) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  node.Restart();
  ApiReply list = node.Call("GET", "/api/v1/rules", "customs");
  EXPECT_EQ(list.body.at("active").as_string(), "huu-nghi@1");
  std::string id = node.Declare("fwd-a");
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + id, "customs").body.at("state").as_string(),
            "assessed");
  // Version 2 replaces version 1.
  std::string v2 = ExampleRules();
  v2.replace(v2.find("version 1"), 9, "version 2");
  ApiReply up = node.Call("POST", "/api/v1/rules", "admin", TextBody(v2));
  ASSERT_EQ(up.status, 201) << up.raw;
  ApiReply on = node.Call("POST", "/api/v1/rules/huu-nghi@2/activate", "admin", "{}");
  ASSERT_EQ(on.status, 200) << on.raw;
  EXPECT_EQ(on.body.at("previous").as_string(), "huu-nghi@1");
  node.Restart();
  list = node.Call("GET", "/api/v1/rules", "customs");
  EXPECT_EQ(list.body.at("active").as_string(), "huu-nghi@2");
  for (const auto& item : list.body.at("items").as_array()) {
    if (item.at("id").as_string() == "huu-nghi@1") {
      EXPECT_EQ(item.at("status").as_string(), "retired");
    }
  }
  ExpectAuditChainOk(node);
}

// --- Watch lists ------------------------------------------------------------------------------

std::string ListBody(std::string_view entries_json, std::string_view extra = "") {
  return fmt::format(R"({{"entries": {}{}}})", entries_json, extra);
}

ApiReply PutList(TestNode& node, std::string_view name, std::string_view user,
                 const std::string& body, std::string key) {
  // TestNode adds Idempotency-Key to POSTs only.
  std::vector<std::pair<std::string, std::string>> headers;
  if (!key.empty()) headers.emplace_back("Idempotency-Key", std::move(key));
  return node.Call("PUT", fmt::format("/api/v1/watchlists/{}", name), user, body, "",
                   std::move(headers));
}

// A truck whose plate is on "stolen-vehicles" (asked by rule "watchlist-vehicle" of the example
// set) goes red, the list and the entry named in the explanation; off the list, it does not.
TEST(RulesHttp, WatchListsSendTrucksRedAndNameTheList) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  const std::string stolen =
      ListBody(R"([{"kind": "plate", "value": "29C-456.78", "note": "reported stolen"}])",
               R"x(, "description": "stolen trucks (police)")x");
  // Roles: forwarders, operators and guards may neither write nor read lists.
  EXPECT_EQ(PutList(node, "stolen-vehicles", "fwd-a", stolen, "k-fwd").status, 403);
  EXPECT_EQ(PutList(node, "stolen-vehicles", "operator", stolen, "k-op").status, 403);
  EXPECT_EQ(node.Call("GET", "/api/v1/watchlists", "guard").status, 403);
  // Bad input: no key, bad entries, bad name.
  EXPECT_EQ(PutList(node, "stolen-vehicles", "customs", stolen, "").Code(),
            "idempotency_key_required");
  ApiReply bad = PutList(node, "stolen-vehicles", "customs",
                         ListBody(R"([{"kind": "plate", "value": "29C-456.78"},
                                      {"kind": "colour", "value": "red"}])"),
                         "k-bad");
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.Code(), "invalid_value");
  EXPECT_EQ(bad.body.at("field").as_string(), "entries[1].kind") << bad.raw;
  EXPECT_EQ(PutList(node, "bad%20name", "customs", stolen, "k-name").Code(), "invalid_value");
  EXPECT_EQ(node.Call("GET", "/api/v1/watchlists/stolen-vehicles", "customs").Code(),
            "watchlist_not_found");

  int64_t audit_before = node.AuditCount();
  ApiReply put = PutList(node, "stolen-vehicles", "quarantine", stolen, "k-1");
  ASSERT_EQ(put.status, 201) << put.raw;
  EXPECT_EQ(put.body.at("version").as_int64(), 1);
  EXPECT_EQ(put.body.at("entries").as_int64(), 1);
  EXPECT_EQ(node.AuditCount(), audit_before + 1);
  // A retry with the same key answers the first result and records nothing.
  ApiReply again = PutList(node, "stolen-vehicles", "quarantine", stolen, "k-1");
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.Header("Idempotent-Replayed"), "true");
  // The same entries under a new key: unchanged, no new version, nothing audited.
  ApiReply same = PutList(node, "stolen-vehicles", "customs", stolen, "k-2");
  EXPECT_EQ(same.status, 200) << same.raw;
  EXPECT_FALSE(same.body.at("changed").as_bool());
  EXPECT_EQ(same.body.at("version").as_int64(), 1);
  EXPECT_EQ(node.AuditCount(), audit_before + 1);
  ApiReply shown = node.Call("GET", "/api/v1/watchlists/stolen-vehicles", "customs");
  ASSERT_EQ(shown.status, 200) << shown.raw;
  EXPECT_EQ(shown.body.at("entries").at(0).at("value").as_string(), "29C45678");  // canonical
  ApiReply lists = node.Call("GET", "/api/v1/watchlists", "admin");
  ASSERT_EQ(lists.body.at("items").as_array().size(), 1u) << lists.raw;

  // On the list: red, mandatory, the list named.
  ApiReply on =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration("29C-456.78"));
  ASSERT_EQ(on.status, 201) << on.raw;
  EXPECT_EQ(on.body.at("channel").as_string(), "red") << on.raw;
  std::string on_id(on.body.at("id").as_string());
  ApiReply why = node.Call("GET", "/api/v1/crossings/" + on_id + "/assessment", "customs");
  ASSERT_EQ(why.status, 200) << why.raw;
  EXPECT_TRUE(Contains(FiredRules(why.body), "watchlist-vehicle")) << why.raw;
  const json::value& listed = why.body.at("explanation").at("watchlists").at(0);
  EXPECT_EQ(listed.at("name").as_string(), "stolen-vehicles");
  EXPECT_EQ(listed.at("version").as_int64(), 1);
  EXPECT_EQ(listed.at("matched").at(0).at("value").as_string(), "29C45678");
  EXPECT_EQ(listed.at("rules").at(0).as_string(), "watchlist-vehicle");
  EXPECT_NE(std::string(listed.at("reason").at("en").as_string()).find("\"stolen-vehicles\""),
            std::string::npos)
      << why.raw;
  // The forwarder sees the rule's reason, never the list (no tipping-off).
  ApiReply own = node.Call("GET", "/api/v1/crossings/" + on_id + "/assessment", "fwd-a");
  EXPECT_EQ(own.raw.find("stolen-vehicles"), std::string::npos) << own.raw;
  // Another truck is not on it.
  ApiReply off =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration("12C-123.45"));
  EXPECT_EQ(off.body.at("channel").as_string(), "yellow") << off.raw;

  // The lists survive a restart; a company entry matches the company's trucks.
  node.Restart();
  ApiReply v2 = PutList(
      node, "stolen-vehicles", "admin",
      ListBody(R"([{"kind": "company", "value": "COMPANY-B"}])", R"(, "expected_version": 1)"),
      "k-3");
  ASSERT_EQ(v2.status, 200) << v2.raw;
  EXPECT_EQ(v2.body.at("version").as_int64(), 2);
  EXPECT_EQ(v2.body.at("added").as_int64(), 1);
  EXPECT_EQ(v2.body.at("removed").as_int64(), 1);
  // A stale expected version is refused.
  EXPECT_EQ(
      PutList(node, "stolen-vehicles", "admin", ListBody("[]", R"(, "expected_version": 1)"), "k-4")
          .Code(),
      "version_conflict");
  // Off the list now: the same truck is assessed without it.
  ApiReply later =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration("29C-456.78"));
  EXPECT_EQ(later.body.at("channel").as_string(), "yellow") << later.raw;
  ApiReply later_why = node.Call(
      "GET", "/api/v1/crossings/" + std::string(later.body.at("id").as_string()) + "/assessment",
      "customs");
  EXPECT_FALSE(Contains(FiredRules(later_why.body), "watchlist-vehicle")) << later_why.raw;
  EXPECT_FALSE(later_why.body.at("explanation").as_object().contains("watchlists"));
  std::string b = node.Declare("fwd-b", "15C-111.22");
  ApiReply b_why = node.Call("GET", "/api/v1/crossings/" + b + "/assessment", "customs");
  EXPECT_EQ(b_why.body.at("channel").as_string(), "red") << b_why.raw;
  EXPECT_EQ(b_why.body.at("explanation")
                .at("watchlists")
                .at(0)
                .at("matched")
                .at(0)
                .at("kind")
                .as_string(),
            "company");
  // The audit trail has both versions with what changed.
  ApiReply audit = node.Call("GET", "/api/v1/watchlists/stolen-vehicles", "customs");
  EXPECT_EQ(audit.body.at("version").as_int64(), 2);
  auto records = node.runtime().store().ListAuditFor("watchlist", "stolen-vehicles", 10);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_NE((*records)[1].body.find("\"removed\":[{\"kind\":\"plate\",\"value\":\"29C45678\""),
            std::string::npos)
      << (*records)[1].body;
  ExpectAuditChainOk(node);
}

std::string RulesSecret(TestNode& node) {
  auto settings = node.runtime().store().ListRecords("setting");
  EXPECT_TRUE(settings);
  for (const auto& r : *settings) {
    if (r.id != "rules_secret") continue;
    auto v = ParseJson(r.body);
    if (v && v->is_object()) return std::string(v->at("secret").as_string());
  }
  return "";
}

std::string UploadAndActivate(TestNode& node, const std::string& text) {
  ApiReply up = node.Call("POST", "/api/v1/rules", "customs", TextBody(text));
  EXPECT_EQ(up.status, 201) << up.raw;
  if (up.status != 201) return "";
  std::string id(up.body.at("id").as_string());
  ApiReply on = node.Call("POST", "/api/v1/rules/" + id + "/activate", "customs", "{}");
  EXPECT_EQ(on.status, 200) << on.raw;
  return id;
}

// `random minimum 30%`: online, every truck whose keyed capacity draw falls within 30% goes red
// at random (reproducible from the node's secret), however green its rules say it is.
TEST(RulesHttp, MinimumRandomRateSendsTrucksRedOnline) {
  TestNode node;
  ASSERT_FALSE(UploadAndActivate(node, "ruleset \"rnd\" version 1\nrandom minimum 30%\n").empty());
  std::string secret = RulesSecret(node);
  ASSERT_FALSE(secret.empty());
  int random = 0;
  for (int i = 0; i < 40; ++i) {
    std::string id = node.Declare("fwd-a", fmt::format("12C-400.{:02d}", i));
    ASSERT_FALSE(id.empty());
    bool drawn = rules::DrawWithin(rules::KeyedDraw(secret, "capacity", id), 0.30);
    ApiReply why = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs");
    ASSERT_EQ(why.status, 200) << why.raw;
    EXPECT_EQ(why.body.at("channel").as_string(), drawn ? "red" : "green") << why.raw;
    if (!drawn) continue;
    ++random;
    EXPECT_EQ(why.body.at("explanation").at("capacity").at("selection").as_string(), "random");
    // The trader sees red and what to do, never that it was drawn at random.
    ApiReply own = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "fwd-a");
    EXPECT_EQ(own.body.at("channel").as_string(), "red") << own.raw;
    EXPECT_EQ(own.raw.find("random"), std::string::npos) << own.raw;
    EXPECT_EQ(own.raw.find("ngẫu nhiên"), std::string::npos) << own.raw;
  }
  std::printf("minimum random rate 30%%: %d of 40 trucks red at random\n", random);
  EXPECT_GT(random, 3);
  EXPECT_LT(random, 25);
  ApiReply report = node.Call("GET", "/api/v1/rules/report", "customs");
  ASSERT_EQ(report.status, 200) << report.raw;
  EXPECT_EQ(report.body.at("today").at("declared").as_int64(), 40);
  EXPECT_EQ(report.body.at("today").at("random").as_int64(), random);
  EXPECT_EQ(report.body.at("today").at("red").as_int64(), random);
}

// `[rules] red_per_day = 2`: with more red candidates than bays, the next day's cut-off gives
// the bays to the highest scores; mandatory reds are never lowered, also past the capacity.
TEST(RulesHttp, HighestScoresGoFirstWhenBaysAreShort) {
  TestNode node({}, {}, [](GateConfig& config) { config.rules.red_per_day = 2; });
  const std::string text = R"(ruleset "bays" version 1
rule "must" {
  when vehicle.plate in ["15C11122"]
  then channel red, score 10, mandatory
  reason en "must" vi "must" zh "must"
}
rule "high" {
  when vehicle.plate in ["16C22233"]
  then channel red, score 90
  reason en "high" vi "high" zh "high"
}
rule "low" {
  when vehicle.plate in ["17C33344"]
  then channel red, score 50
  reason en "low" vi "low" zh "low"
}
)";
  ASSERT_FALSE(UploadAndActivate(node, text).empty());
  auto declare = [&](std::string_view plate) {
    std::string id = node.Declare("fwd-a", plate);
    ApiReply why = node.Call("GET", "/api/v1/crossings/" + id + "/assessment", "customs");
    EXPECT_EQ(why.status, 200) << why.raw;
    return why;
  };
  auto selection = [](const ApiReply& why) -> std::string {
    const json::object& e = why.body.at("explanation").as_object();
    return e.contains("capacity") ? std::string(e.at("capacity").at("selection").as_string()) : "";
  };
  // Day 1, no history: first come, first served.
  EXPECT_EQ(declare("17C-333.44").body.at("channel").as_string(), "red");
  EXPECT_EQ(declare("17C-333.44").body.at("channel").as_string(), "red");
  ApiReply full = declare("16C-222.33");
  EXPECT_EQ(full.body.at("channel").as_string(), "yellow") << full.raw;
  EXPECT_EQ(selection(full), "over_capacity");
  EXPECT_EQ(declare("15C-111.22").body.at("channel").as_string(), "red");  // mandatory, past
  // Day 2 (after a restart): day 1 had 3 candidates for 1 bay left after its mandatory red, so
  // only scores of at least 90 get a bay, though bays are free.
  node.Restart();
  node.clock().Advance(std::chrono::hours(24));
  ApiReply low = declare("17C-333.44");
  EXPECT_EQ(low.body.at("channel").as_string(), "yellow") << low.raw;
  EXPECT_EQ(selection(low), "below_cutoff") << low.raw;
  EXPECT_EQ(low.body.at("explanation").at("capacity").at("score_cutoff").to_number<double>(), 90);
  EXPECT_EQ(declare("16C-222.33").body.at("channel").as_string(), "red");
  EXPECT_EQ(declare("16C-222.33").body.at("channel").as_string(), "red");
  ApiReply third = declare("16C-222.33");
  EXPECT_EQ(third.body.at("channel").as_string(), "yellow") << third.raw;
  EXPECT_EQ(selection(third), "over_capacity");
  ApiReply must = declare("15C-111.22");
  EXPECT_EQ(must.body.at("channel").as_string(), "red") << must.raw;
  ApiReply report = node.Call("GET", "/api/v1/rules/report", "customs");
  const json::value& today = report.body.at("today");
  EXPECT_EQ(today.at("declared").as_int64(), 5) << report.raw;
  EXPECT_EQ(today.at("red").as_int64(), 3) << report.raw;
  EXPECT_EQ(today.at("mandatory").as_int64(), 1) << report.raw;
  EXPECT_EQ(today.at("lowered").as_int64(), 2) << report.raw;
}

// --- Learning compaction --------------------------------------------------------------------

void InspectWith(TestNode& node, const std::string& id, std::string_view outcome,
                 const char* forwarder = "fwd-a") {
  for (const auto& [type, user] : std::initializer_list<std::pair<const char*, const char*>>{
           {"book", forwarder},
           {"enter_yard", "camera"},
           {"call_forward", "operator"},
           {"arrive_at_gate", "guard"},
           {"start_inspection", "customs"}}) {
    node.clock().Advance(std::chrono::minutes(5));
    ApiReply r = node.Event(id, type, user);
    ASSERT_EQ(r.status, 200) << type << " " << r.raw;
  }
  ApiReply r = node.Event(id, "record_inspection", "customs", outcome);
  ASSERT_EQ(r.status, 200) << r.raw;
}

size_t RecordCount(TestNode& node, std::string_view kind) {
  auto records = node.runtime().store().ListRecords(kind);
  EXPECT_TRUE(records);
  return records ? records->size() : 0;
}

// With a snapshot every 2 outcomes, 3 inspections leave a snapshot of 2 and 1 outcome after
// it; a restart reads both and gives the same estimates as before it (traders, rules, the
// random baseline, the driver's history).
TEST(RulesHttp, LearningCompactionKeepsTheEstimatesAcrossARestart) {
  EngineOptions options;
  options.learning_compact_every = 2;
  TestNode node(options);
  ASSERT_FALSE(Activate(node).empty());
  const char* finding = R"({"outcome": "finding", "finding_type": "undeclared_goods"})";
  const char* clean = R"({"outcome": "no_finding"})";
  std::string a1 = node.Declare("fwd-a", "12C-500.01");
  InspectWith(node, a1, finding);
  std::string b1 = node.Declare("fwd-b", "12C-500.02");
  InspectWith(node, b1, finding, "fwd-b");
  if (HasFatalFailure()) return;
  EXPECT_EQ(RecordCount(node, "inspection_outcome"), 0u);
  EXPECT_EQ(RecordCount(node, "inspection_outcome_compacted"), 2u);
  EXPECT_EQ(RecordCount(node, "rules_learning"), 1u);
  std::string a2 = node.Declare("fwd-a", "12C-500.03");
  InspectWith(node, a2, clean);
  if (HasFatalFailure()) return;
  EXPECT_EQ(RecordCount(node, "inspection_outcome"), 1u);
  auto compactions = node.runtime().store().ListAuditFor("rules", "learning", 10);
  ASSERT_TRUE(compactions);
  EXPECT_EQ(compactions->size(), 1u);

  auto estimates = [&]() {
    ApiReply r = node.Call("GET", "/api/v1/rules/report?min_inspections=1", "customs");
    EXPECT_EQ(r.status, 200) << r.raw;
    json::object o = r.body.as_object();
    o.erase("today");
    return ToJsonText(o);
  };
  std::string before = estimates();
  EXPECT_NE(before.find("\"in_snapshot\":2"), std::string::npos) << before;
  EXPECT_NE(before.find("\"after_snapshot\":1"), std::string::npos) << before;
  node.Restart();
  EXPECT_EQ(estimates(), before);
  // The driver's two findings (both in the snapshot) still fire "vehicle-history".
  std::string next = node.Declare("fwd-b", "12C-500.04");
  ApiReply why = node.Call("GET", "/api/v1/crossings/" + next + "/assessment", "customs");
  EXPECT_TRUE(Contains(FiredRules(why.body), "vehicle-history")) << why.raw;
  ExpectAuditChainOk(node);
}

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun RunCli(const TestNode& node, const std::string& args) {
  std::string out_file = (node.dir() / "cli.out").string();
  std::string command = fmt::format("cd '{}' && '{}' {} > '{}' 2>&1", BORDERFLOW_SOURCE_DIR,
                                    BorderflowBinary(), args, out_file);
  int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_file);
  std::ostringstream text;
  text << in.rdbuf();
  run.out = text.str();
  return run;
}

TEST(RulesCli, CheckTestAndExplain) {
  TestNode node;
  CliRun ok = RunCli(node, "rules check rules/huu-nghi.rules");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("huu-nghi@1"), std::string::npos) << ok.out;
  std::string bad_file = (node.dir() / "bad.rules").string();
  std::ofstream(bad_file)
      << "ruleset \"bad\" version 1\nrule \"x\" {\n  when hs.chapter === 08\n}\n";
  CliRun bad = RunCli(node, "rules check '" + bad_file + "'");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_TRUE(std::regex_search(bad.out, std::regex(R"(bad\.rules:\d+:\d+: )"))) << bad.out;
  EXPECT_EQ(RunCli(node, "rules check /nonexistent.rules").exit_code, 2);

  ASSERT_FALSE(Activate(node).empty());
  std::string id = node.Declare("fwd-a");
  CliRun test = RunCli(node, "rules test rules/huu-nghi.rules --against '" + node.db_path() + "'");
  EXPECT_EQ(test.exit_code, 0) << test.out;
  EXPECT_NE(test.out.find("changed: 0"), std::string::npos) << test.out;
  CliRun explain = RunCli(node, "rules explain --db '" + node.db_path() + "' " + id);
  EXPECT_EQ(explain.exit_code, 0) << explain.out;
  EXPECT_NE(explain.out.find("durian-quarantine"), std::string::npos) << explain.out;
}

TEST(RulesCli, WatchlistPutShowList) {
  TestNode node;
  std::string file = (node.dir() / "stolen.txt").string();
  std::ofstream(file) << "# stolen trucks\nplate 29C-456.78  # reported 2026-11-20\n\nhs 0810\n";
  std::string remote =
      fmt::format("--url http://127.0.0.1:{} --token {}", node.port(), node.tokens().at("customs"));
  CliRun put = RunCli(node, "rules watchlist put stolen-vehicles '" + file + "' " + remote +
                                " --description 'police list'");
  EXPECT_EQ(put.exit_code, 0) << put.out;
  EXPECT_NE(put.out.find("stolen-vehicles version 1: 2 entries"), std::string::npos) << put.out;
  CliRun show = RunCli(node, "rules watchlist show stolen-vehicles " + remote);
  EXPECT_EQ(show.exit_code, 0) << show.out;
  EXPECT_NE(show.out.find("plate 29C45678  # reported 2026-11-20"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("hs 0810"), std::string::npos) << show.out;
  CliRun list = RunCli(node, "rules watchlist list " + remote);
  EXPECT_EQ(list.exit_code, 0) << list.out;
  EXPECT_NE(list.out.find("stolen-vehicles"), std::string::npos) << list.out;
  // Refused by the node: exit 1 with its problem.
  std::string fwd =
      fmt::format("--url http://127.0.0.1:{} --token {}", node.port(), node.tokens().at("fwd-a"));
  CliRun refused = RunCli(node, "rules watchlist put stolen-vehicles '" + file + "' " + fwd);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("role_not_allowed"), std::string::npos) << refused.out;
  // A stale --expected-version: exit 1.
  CliRun stale = RunCli(node, "rules watchlist put stolen-vehicles '" + file + "' " + remote +
                                  " --expected-version 0");
  EXPECT_EQ(stale.exit_code, 1) << stale.out;
  EXPECT_NE(stale.out.find("version_conflict"), std::string::npos) << stale.out;
  // Deleted, then again (nothing to delete: still exit 0).
  CliRun del = RunCli(node, "rules watchlist delete stolen-vehicles " + remote);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_NE(del.out.find("watch list stolen-vehicles deleted (was version 1, 2 entries)"),
            std::string::npos)
      << del.out;
  CliRun again = RunCli(node, "rules watchlist delete stolen-vehicles " + remote);
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("nothing deleted"), std::string::npos) << again.out;
}

// --- Security review (rules scope) ----------------------------------------------------------

// A driver of COMPANY-A with a token (TestNode has none), the driver that this file's
// declarations name: returns its Authorization header.
std::vector<std::pair<std::string, std::string>> DriverAuth(TestNode& node) {
  Actor admin{"cli", "test", Role::kAdministrator, ""};
  Engine& engine = node.runtime().engine();
  auto added = engine.Execute(
      Command{admin, "", "", AddUser{"driver-a", Role::kDriver, "COMPANY-A", "B1234567"}});
  EXPECT_TRUE(added) << added.error().ToString();
  auto token = engine.Execute(Command{admin, "", "", IssueApiToken{"driver-a", "test", {}}});
  EXPECT_TRUE(token) << token.error().ToString();
  if (!token) return {};
  return {{"Authorization", "Bearer " + std::string(token->body.at("token").as_string())}};
}

const std::string kStolen =
    R"({"entries": [{"kind": "plate", "value": "29C-456.78", "note": "reported stolen by police"}]})";

// H1: two declarations that differ in one fact (the value, the plate) must not tell the trader
// which rule, threshold or watch list made the difference: forwarders and drivers see the
// channel and what to do; sensors no assessment at all. Nowhere else either.
TEST(RulesSecurity, TradersDriversAndSensorsNeverLearnWhy) {
  TestNode node({}, {}, [](GateConfig& config) { config.rules.red_per_day = 0; });
  ASSERT_FALSE(Activate(node).empty());
  ASSERT_EQ(PutList(node, "stolen-vehicles", "customs", kStolen, "k-stolen").status, 201);
  auto driver = DriverAuth(node);
  ASSERT_FALSE(driver.empty());
  // Undervalued (below the reference range), on the watch list, and an ordinary one.
  ApiReply low = node.Call("POST", "/api/v1/crossings", "fwd-a",
                           Declaration("12C-123.45", "1000.00", "VN-PC-1"));
  ApiReply listed =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration("29C-456.78"));
  ApiReply plain =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration("15C-111.22"));
  for (const ApiReply* r : {&low, &listed, &plain}) ASSERT_EQ(r->status, 201) << r->raw;
  EXPECT_EQ(low.body.at("channel").as_string(), "red") << low.raw;
  EXPECT_EQ(listed.body.at("channel").as_string(), "red") << listed.raw;
  const std::vector<std::string> secrets = {
      "reference", "watch list",         "watchlist", "stolen",      "random",
      "score",     "condition",          "reasons",   "explanation", "durian-quarantine",
      "rule_set",  "danh sách theo dõi", "监控名单",  "\"risk\"",    "fired"};
  auto expect_nothing_of = [&](const std::string& who, const ApiReply& r) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(r.raw.find(secret), std::string::npos)
          << who << " sees " << secret << ": " << r.raw;
    }
  };
  for (const ApiReply* r : {&low, &listed, &plain}) expect_nothing_of("declare", *r);
  for (const ApiReply* r : {&low, &listed, &plain}) {
    std::string id(r->body.at("id").as_string());
    std::string path = "/api/v1/crossings/" + id;
    for (const auto& [who, reply] : std::initializer_list<std::pair<std::string, ApiReply>>{
             {"fwd-a", node.Call("GET", path + "/assessment", "fwd-a")},
             {"driver", node.Call("GET", path + "/assessment", "", {}, {}, driver)}}) {
      ASSERT_EQ(reply.status, 200) << who << ": " << reply.raw;
      EXPECT_EQ(reply.body.at("channel"), r->body.at("channel")) << reply.raw;
      EXPECT_TRUE(reply.body.at("instructions").at("vi").is_string()) << reply.raw;
      expect_nothing_of(who + " assessment", reply);
    }
    EXPECT_NE(std::string(node.Call("GET", path + "/assessment", "fwd-a")
                              .body.at("instructions")
                              .at("en")
                              .as_string())
                  .find(r->body.at("channel") == "red" ? "Physical inspection" : "Document check"),
              std::string::npos);
    ApiReply sensor = node.Call("GET", path + "/assessment", "camera");
    EXPECT_EQ(sensor.status, 403) << sensor.raw;
    EXPECT_EQ(sensor.Code(), "role_not_allowed");
    expect_nothing_of("fwd-a view", node.Call("GET", path, "fwd-a"));
    expect_nothing_of("driver view", node.Call("GET", path, "", {}, {}, driver));
    expect_nothing_of("camera view", node.Call("GET", path, "camera"));
    expect_nothing_of("fwd-a history", node.Call("GET", path + "/events", "fwd-a"));
    expect_nothing_of("driver history", node.Call("GET", path + "/events", "", {}, {}, driver));
  }
  expect_nothing_of("fwd-a list", node.Call("GET", "/api/v1/crossings?limit=50", "fwd-a"));
  expect_nothing_of("driver list",
                    node.Call("GET", "/api/v1/crossings?limit=50", "", {}, {}, driver));
  // A lifecycle event's answer and a cancellation's.
  std::string plain_id(plain.body.at("id").as_string());
  expect_nothing_of("book", node.Event(plain_id, "book", "fwd-a"));
  std::string low_id(low.body.at("id").as_string());
  expect_nothing_of("cancel", node.Event(low_id, "cancel", "fwd-a", R"({"reason": "x"})"));
  // Staff still see why (customs: the lists too).
  ApiReply customs = node.Call(
      "GET", "/api/v1/crossings/" + std::string(listed.body.at("id").as_string()) + "/assessment",
      "customs");
  EXPECT_NE(customs.raw.find("reported stolen by police"), std::string::npos) << customs.raw;
}

// M1: staff who may not read watch lists (gate operators, border guards) do not learn them
// from an assessment, a crossing's history, the live feed or a dry run either.
TEST(RulesSecurity, WatchListsOnlyReachTheRolesThatMayReadThem) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  net::testing::StreamReader guard_feed(node.port(), "/api/v1/feed",
                                        {{"Authorization", "Bearer " + node.tokens().at("guard")}});
  net::testing::StreamReader customs_feed(
      node.port(), "/api/v1/feed", {{"Authorization", "Bearer " + node.tokens().at("customs")}});
  ASSERT_TRUE(guard_feed.WaitFor("event: hello\n")) << guard_feed.body();
  ASSERT_TRUE(customs_feed.WaitFor("event: hello\n")) << customs_feed.body();
  ASSERT_EQ(PutList(node, "stolen-vehicles", "customs", kStolen, "k-stolen").status, 201);
  std::string id = node.Declare("fwd-a", "29C-456.78");
  // The declaration reaches both feeds; the list's change only the customs officer's.
  ASSERT_TRUE(guard_feed.WaitFor(id)) << guard_feed.body();
  ASSERT_TRUE(customs_feed.WaitFor(id)) << customs_feed.body();
  EXPECT_NE(customs_feed.body().find("watchlist_put"), std::string::npos) << customs_feed.body();
  EXPECT_NE(customs_feed.body().find("reported stolen by police"), std::string::npos);
  EXPECT_EQ(guard_feed.body().find("watchlist_put"), std::string::npos) << guard_feed.body();
  EXPECT_EQ(guard_feed.body().find("reported stolen"), std::string::npos) << guard_feed.body();

  const std::string path = "/api/v1/crossings/" + id;
  for (const char* role : {"operator", "guard"}) {
    ApiReply why = node.Call("GET", path + "/assessment", role);
    ASSERT_EQ(why.status, 200) << role << ": " << why.raw;
    EXPECT_EQ(why.body.at("channel").as_string(), "red");
    // The decision, not its grounds: no rule, visible or not, no count of withheld ones.
    const json::object& e = why.body.at("explanation").as_object();
    EXPECT_FALSE(e.contains("watchlists")) << why.raw;
    EXPECT_FALSE(e.contains("rules")) << why.raw;
    EXPECT_FALSE(e.contains("withheld_rules")) << why.raw;
    EXPECT_EQ(e.at("summary").at("en").as_string(), "Red channel, quarantine inspection.");
    for (const char* secret : {"stolen", "watchlist-vehicle", "watchlist \\\"", "withheld"}) {
      EXPECT_EQ(why.raw.find(secret), std::string::npos) << role << " sees " << secret << why.raw;
    }
    ApiReply history = node.Call("GET", path + "/events", role);
    ASSERT_EQ(history.status, 200) << history.raw;
    EXPECT_NE(history.raw.find("Red channel, quarantine inspection."), std::string::npos)
        << history.raw;
    for (const char* secret : {"stolen", "watchlist-vehicle", "durian-quarantine", "withheld"}) {
      EXPECT_EQ(history.raw.find(secret), std::string::npos)
          << role << " sees " << secret << history.raw;
    }
    // A dry run of `watchlist "X" then channel red` would list the crossings on X.
    ApiReply dry = node.Call("POST", "/api/v1/rules/dry-run", role,
                             TextBody("ruleset \"p\" version 1\nrule \"p\" {\n  when watchlist "
                                      "\"stolen-vehicles\"\n  then channel red\n  reason en \"a\" "
                                      "vi \"b\" zh \"c\"\n}\n"));
    EXPECT_EQ(dry.status, 403) << role << ": " << dry.raw;
  }
  // Quarantine officers read the lists but do not write rules: no dry run either.
  EXPECT_EQ(
      node.Call("POST", "/api/v1/rules/dry-run", "quarantine", R"({"id": "huu-nghi@1"})").status,
      403);
  // The roles that may read them see everything.
  for (const char* role : {"customs", "quarantine", "admin"}) {
    ApiReply why = node.Call("GET", path + "/assessment", role);
    EXPECT_NE(why.raw.find("reported stolen by police"), std::string::npos) << role << why.raw;
    EXPECT_TRUE(Contains(FiredRules(why.body), "watchlist-vehicle")) << role << why.raw;
    EXPECT_NE(node.Call("GET", path + "/events", role).raw.find("stolen-vehicles"),
              std::string::npos)
        << role;
  }
  EXPECT_EQ(node.Call("POST", "/api/v1/rules/dry-run", "admin", R"({"id": "huu-nghi@1"})").status,
            200);
}

// The rule indices of every "fired" list anywhere in `v` (a crossing's "risk", a command's
// answer, an audit body, a feed frame).
void FiredIndices(const json::value& v, std::vector<int64_t>& out) {
  if (v.is_array()) {
    for (const auto& item : v.as_array()) FiredIndices(item, out);
    return;
  }
  if (!v.is_object()) return;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "fired" && value.is_array()) {
      for (const auto& f : value.as_array()) {
        if (f.is_object() && f.as_object().contains("rule")) {
          out.push_back(f.at("rule").to_number<int64_t>());
        }
      }
    }
    FiredIndices(value, out);
  }
}

// The names of the rules fired in `raw` (a JSON body, or a feed's frames), as anyone who reads
// the rules report can name them: its rules are every rule of the set, in rule order.
std::vector<std::string> FiredRuleNames(const std::string& raw, const json::array& report_rules) {
  std::vector<int64_t> indices;
  std::vector<std::string> bodies;
  if (raw.rfind("event: ", 0) == 0 || raw.find("\ndata: ") != std::string::npos) {
    std::istringstream lines(raw);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("data: ", 0) == 0) bodies.push_back(line.substr(6));
    }
  } else {
    bodies.push_back(raw);
  }
  for (const std::string& body : bodies) {
    auto v = ParseJson(body, JsonLimits{64 << 20, 64});
    EXPECT_TRUE(v.has_value()) << body;
    if (v) FiredIndices(*v, indices);
  }
  std::vector<std::string> names;
  for (int64_t i : indices) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, static_cast<int64_t>(report_rules.size()));
    if (i >= 0 && i < static_cast<int64_t>(report_rules.size())) {
      names.emplace_back(report_rules[static_cast<size_t>(i)].at("rule").as_string());
    }
  }
  return names;
}

// Gate operators and border guards see a crossing's decision, not its grounds: a crossing's
// "risk" names its fired rules by index into the rule set, whose rules customs read in order in
// the rules report, so no index (nor a count of withheld rules, nor the score) may reach them -
// in a crossing, a list of crossings, a history, a command's answer or the live feed. Their
// rules report has today's channels, not their causes, and no per-rule counts.
TEST(RulesSecurity, NoRiskIndexTellsWhichWatchListRuleFired) {
  TestNode node;
  ASSERT_FALSE(Activate(node).empty());
  const std::vector<std::string> restricted = {"operator", "guard"};
  std::map<std::string, std::unique_ptr<net::testing::StreamReader>> feeds;
  for (const char* role : {"operator", "guard", "customs"}) {
    feeds[role] = std::make_unique<net::testing::StreamReader>(
        node.port(), "/api/v1/feed",
        std::vector<std::pair<std::string, std::string>>{
            {"Authorization", "Bearer " + node.tokens().at(role)}});
    ASSERT_TRUE(feeds[role]->WaitFor("event: hello\n")) << role << feeds[role]->body();
  }
  ASSERT_EQ(PutList(node, "stolen-vehicles", "customs", kStolen, "k-stolen").status, 201);
  const std::string id = node.Declare("fwd-a", "29C-456.78");
  ASSERT_FALSE(id.empty());
  const std::string path = "/api/v1/crossings/" + id;

  // What customs sees, named through the report: the watch-list rule among the fired.
  ApiReply report = node.Call("GET", "/api/v1/rules/report", "customs");
  ASSERT_EQ(report.status, 200) << report.raw;
  const json::array& rules = report.body.at("rules").as_array();
  auto report_names = [](const ApiReply& r) {
    std::vector<std::string> names;
    for (const auto& row : r.body.at("rules").as_array()) {
      names.emplace_back(row.at("rule").as_string());
    }
    return names;
  };
  EXPECT_TRUE(Contains(report_names(report), "watchlist-vehicle")) << report.raw;
  // Theirs: today's channels, not their causes; no per-rule or random-selection counts.
  for (const std::string& role : restricted) {
    ApiReply theirs = node.Call("GET", "/api/v1/rules/report", role);
    ASSERT_EQ(theirs.status, 200) << theirs.raw;
    EXPECT_EQ(theirs.body.at("rule_set").as_string(), "huu-nghi@1") << theirs.raw;
    EXPECT_EQ(theirs.body.at("today").at("red").as_int64(), 1) << theirs.raw;
    for (const char* key : {"rules", "below_random", "random"}) {
      EXPECT_FALSE(theirs.body.as_object().contains(key)) << key << ": " << theirs.raw;
    }
    for (const char* cause : {"mandatory", "random", "random_rate", "score", "lowered"}) {
      EXPECT_FALSE(theirs.body.at("today").as_object().contains(cause)) << cause << theirs.raw;
    }
  }
  EXPECT_TRUE(report.body.at("today").as_object().contains("mandatory")) << report.raw;
  ApiReply full = node.Call("GET", path, "customs");
  ASSERT_EQ(full.status, 200) << full.raw;
  EXPECT_TRUE(Contains(FiredRuleNames(full.raw, rules), "watchlist-vehicle")) << full.raw;
  EXPECT_TRUE(Contains(FiredRuleNames(full.raw, rules), "durian-quarantine")) << full.raw;
  EXPECT_FALSE(full.body.at("risk").as_object().contains("withheld_rules")) << full.raw;
  EXPECT_TRUE(full.body.at("risk").as_object().contains("score")) << full.raw;
  ApiReply full_why = node.Call("GET", path + "/assessment", "customs");
  EXPECT_TRUE(full_why.body.at("explanation").as_object().contains("score")) << full_why.raw;
  EXPECT_NE(std::string(full_why.body.at("explanation").at("summary").at("en").as_string())
                .find("(score "),
            std::string::npos)
      << full_why.raw;

  // Command answers: a weighbridge reading by the operator, a seal check by the guard.
  const std::string findings = path + "/findings";
  std::map<std::string, ApiReply> answers;
  answers["operator"] =
      node.Call("POST", findings, "operator", R"({"kind": "weighbridge", "measured_kg": 16100})");
  answers["guard"] = node.Call("POST", findings, "guard", R"({"kind": "seal", "seal": "intact"})");
  ApiReply customs_answer =
      node.Call("POST", findings, "customs", R"({"kind": "weighbridge", "measured_kg": 16050})");
  ASSERT_EQ(customs_answer.status, 200) << customs_answer.raw;
  EXPECT_TRUE(Contains(FiredRuleNames(customs_answer.raw, rules), "watchlist-vehicle"))
      << customs_answer.raw;

  // Nothing of the grounds: no fired rule, no count of withheld ones, no score.
  auto expect_not_named = [&](const std::string& what, const std::string& raw) {
    EXPECT_TRUE(FiredRuleNames(raw, rules).empty()) << what << " names rules: " << raw;
    for (const char* secret : {"withheld", "\"score\"", "\"fired\"", "mandatory_channel"}) {
      EXPECT_EQ(raw.find(secret), std::string::npos) << what << " has " << secret << ": " << raw;
    }
  };
  auto expect_decision_only = [](const std::string& what, const json::value& risk) {
    ASSERT_TRUE(risk.is_object()) << what;
    std::vector<std::string> keys;
    for (const auto& [key, value] : risk.as_object()) keys.emplace_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"rule_set", "fingerprint"})) << what;
  };
  for (const std::string& role : restricted) {
    ApiReply view = node.Call("GET", path, role);
    ASSERT_EQ(view.status, 200) << role << view.raw;
    expect_not_named(role + " crossing", view.raw);
    expect_decision_only(role + " crossing", view.body.at("risk"));
    EXPECT_EQ(view.body.at("channel").as_string(), "red") << view.raw;
    EXPECT_EQ(view.Header("ETag"), fmt::format("\"{}-w\"", view.body.at("version").as_int64()));
    ApiReply list = node.Call("GET", "/api/v1/crossings?limit=50", role);
    ASSERT_EQ(list.status, 200) << list.raw;
    expect_not_named(role + " list", list.raw);
    ApiReply history = node.Call("GET", path + "/events", role);
    ASSERT_EQ(history.status, 200) << history.raw;
    expect_not_named(role + " history", history.raw);
    ApiReply why = node.Call("GET", path + "/assessment", role);
    ASSERT_EQ(why.status, 200) << why.raw;
    expect_not_named(role + " assessment", why.raw);
    const json::object& e = why.body.at("explanation").as_object();
    EXPECT_FALSE(e.contains("rules")) << why.raw;
    for (const char* lang : {"en", "vi", "zh"}) {
      std::string summary(e.at("summary").at(lang).as_string());
      EXPECT_FALSE(summary.empty()) << lang << why.raw;
      for (const char* score : {"score", "điểm", "分数"}) {
        EXPECT_EQ(summary.find(score), std::string::npos) << lang << ": " << summary;
      }
    }
    EXPECT_EQ(std::string(e.at("summary").at("en").as_string()).rfind("Red channel", 0), 0)
        << why.raw;
    const ApiReply& answer = answers[role];
    ASSERT_EQ(answer.status, 200) << role << answer.raw;
    expect_not_named(role + " answer", answer.raw);
    expect_decision_only(role + " answer", answer.body.at("crossing").at("risk"));
  }

  // The live feed: every change of the crossing reached every feed (the customs officer's
  // last weighbridge reading is the latest); only customs reads which rules fired.
  const std::string last = fmt::format("\"seq\":{},", [&] {
    ApiReply h = node.Call("GET", path + "/events", "customs");
    return h.body.at("items").as_array().back().at("seq").as_int64();
  }());
  for (const auto& [role, feed] : feeds) {
    ASSERT_TRUE(feed->WaitFor(last)) << role << ": " << feed->body();
  }
  EXPECT_TRUE(Contains(FiredRuleNames(feeds["customs"]->body(), rules), "watchlist-vehicle"))
      << feeds["customs"]->body();
  for (const std::string& role : restricted) {
    expect_not_named(role + " feed", feeds[role]->body());
    EXPECT_NE(feeds[role]->body().find("\"risk\":{\"rule_set\""), std::string::npos)
        << feeds[role]->body();
  }
}

// Every path at which `a` and `b` differ ("crossing.risk.fired"; array items as "[]").
void Differences(const json::value& a, const json::value& b, const std::string& path,
                 std::vector<std::string>& out) {
  auto child = [&](std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  };
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.as_object()) {
      const json::value* other = b.as_object().if_contains(key);
      if (other == nullptr) {
        out.push_back(child(key));
      } else {
        Differences(value, *other, child(key), out);
      }
    }
    for (const auto& [key, value] : b.as_object()) {
      if (!a.as_object().contains(key)) out.push_back(child(key));
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    if (a.as_array().size() != b.as_array().size()) {
      out.push_back(path + "[]");
      return;
    }
    for (size_t i = 0; i < a.as_array().size(); ++i) {
      Differences(a.as_array()[i], b.as_array()[i], path + "[]", out);
    }
    return;
  }
  if (a != b) out.push_back(path);
}

// The paths of Differences that are not about the crossing's identity, its declared vehicle
// and goods, or when and in which order things were recorded.
std::vector<std::string> RiskDifferences(const json::value& a, const json::value& b) {
  static const std::set<std::string, std::less<>> kAllowed = {
      "id",         "crossing_id", "subject_id", "vehicle", "lines", "created_at",
      "updated_at", "at",          "decided_at", "seq",     "hash",  "prev_hash",
      "audit_seq",  "key",         "request_id", "etag"};
  std::vector<std::string> all, out;
  Differences(a, b, "", all);
  for (const std::string& path : all) {
    bool allowed = false;
    std::istringstream parts(path);
    for (std::string part; std::getline(parts, part, '.');) {
      if (part.ends_with("[]")) part.resize(part.size() - 2);
      allowed = allowed || kAllowed.contains(part);
    }
    if (!allowed) out.push_back(path);
  }
  return out;
}

// A crossing sent red by a watch-list rule, and one sent red (quarantine too, both) by a rule
// everyone may read: gate operators, border guards, forwarders and drivers get the same answers
// for both, but for the crossing's identity, its declared vehicle and goods, and times and
// sequence numbers. The channel and the quarantine inspection stay visible. Customs (who may
// read watch lists) still see which rules fired.
TEST(RulesSecurity, AHiddenRuleLooksLikeAVisibleRuleWithTheSameChannel) {
  TestNode node({}, {}, [](GateConfig& config) { config.rules.red_per_day = 0; });
  ASSERT_FALSE(Activate(node).empty());
  ASSERT_EQ(PutList(node, "stolen-vehicles", "customs", kStolen, "k-stolen").status, 201);
  auto driver = DriverAuth(node);
  ASSERT_FALSE(driver.empty());
  // Undervalued (rule "undervalued", red) and on the watch list ("watchlist-vehicle", red);
  // both durian for China ("durian-quarantine").
  ApiReply visible = node.Call("POST", "/api/v1/crossings", "fwd-a",
                               Declaration("12C-123.45", "1000.00", "VN-PC-1"));
  ApiReply hidden = node.Call("POST", "/api/v1/crossings", "fwd-a",
                              Declaration("29C-456.78", "64000.00", "VN-PC-1"));
  ASSERT_EQ(visible.status, 201) << visible.raw;
  ASSERT_EQ(hidden.status, 201) << hidden.raw;
  for (const ApiReply* r : {&visible, &hidden}) {
    EXPECT_EQ(r->body.at("channel").as_string(), "red") << r->raw;
    EXPECT_TRUE(r->body.at("quarantine_inspection").as_bool()) << r->raw;
  }
  const std::string visible_path =
      "/api/v1/crossings/" + std::string(visible.body.at("id").as_string());
  const std::string hidden_path =
      "/api/v1/crossings/" + std::string(hidden.body.at("id").as_string());

  // Customs: the rules that fired, each its own.
  ApiReply customs_visible = node.Call("GET", visible_path + "/assessment", "customs");
  ApiReply customs_hidden = node.Call("GET", hidden_path + "/assessment", "customs");
  EXPECT_TRUE(Contains(FiredRules(customs_visible.body), "undervalued")) << customs_visible.raw;
  EXPECT_FALSE(Contains(FiredRules(customs_visible.body), "watchlist-vehicle"));
  EXPECT_TRUE(Contains(FiredRules(customs_hidden.body), "watchlist-vehicle")) << customs_hidden.raw;
  EXPECT_FALSE(Contains(FiredRules(customs_hidden.body), "undervalued"));
  EXPECT_FALSE(RiskDifferences(customs_visible.body, customs_hidden.body).empty());

  struct Caller {
    std::string name, user;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  const std::vector<Caller> callers = {{"operator", "operator", {}},
                                       {"guard", "guard", {}},
                                       {"fwd-a", "fwd-a", {}},
                                       {"driver", "", driver}};
  for (const Caller& who : callers) {
    for (const char* suffix : {"", "/assessment", "/events"}) {
      ApiReply a = node.Call("GET", visible_path + suffix, who.user, {}, {}, who.headers);
      ApiReply b = node.Call("GET", hidden_path + suffix, who.user, {}, {}, who.headers);
      ASSERT_EQ(a.status, 200) << who.name << suffix << a.raw;
      ASSERT_EQ(b.status, 200) << who.name << suffix << b.raw;
      EXPECT_EQ(RiskDifferences(a.body, b.body), std::vector<std::string>{})
          << who.name << " GET crossing" << suffix << "\nvisible: " << a.raw
          << "\nhidden: " << b.raw;
      EXPECT_EQ(a.Header("ETag"), b.Header("ETag")) << who.name << suffix;
      if (std::string_view(suffix) != "/events") {
        EXPECT_EQ(b.body.at("channel").as_string(), "red") << who.name << suffix << b.raw;
      }
    }
  }
}

// M2: a dry run runs off the I/O threads, one at a time, within a work budget.
TEST(RulesSecurity, DryRunsDoNotStallTheServerAndHaveABudget) {
  auto entered = std::make_shared<std::promise<void>>();
  auto once = std::make_shared<std::once_flag>();
  std::promise<void> release;
  std::shared_future<void> open = release.get_future().share();
  api::ApiOptions api;
  api.dry_run_hook = [entered, once, open] {
    std::call_once(*once, [&] { entered->set_value(); });
    open.wait();
  };
  TestNode node({}, api);
  ASSERT_FALSE(Activate(node).empty());
  node.Declare("fwd-a");
  const std::string token = node.tokens().at("customs");
  std::thread first([&] {
    net::HttpClient client("127.0.0.1", node.port(), std::chrono::seconds(30));
    ApiReply r = ToReply(
        client.Send("POST", "/api/v1/rules/dry-run", R"({"id": "huu-nghi@1"})",
                    {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}));
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_GE(r.body.at("total").as_int64(), 1) << r.raw;  // it reads them after the hold
  });
  ASSERT_EQ(entered->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // While it runs: health, reads and writes answer; another dry run is refused, not queued.
  EXPECT_EQ(node.Call("GET", "/healthz", "").status, 200);
  EXPECT_EQ(node.Call("GET", "/api/v1/rules", "customs").status, 200);
  EXPECT_FALSE(node.Declare("fwd-a", "29C-456.78").empty());
  ApiReply busy = node.Call("POST", "/api/v1/rules/dry-run", "customs", R"({"id": "huu-nghi@1"})");
  EXPECT_EQ(busy.status, 503) << busy.raw;
  EXPECT_EQ(busy.Code(), "busy");
  EXPECT_EQ(busy.Header("Retry-After"), "5");
  release.set_value();
  first.join();
  EXPECT_EQ(node.Call("POST", "/api/v1/rules/dry-run", "customs", R"({"id": "huu-nghi@1"})").status,
            200);

  // Beyond the budget (rules of both sets x consignment lines): refused before any work.
  EngineOptions small;
  small.dry_run_budget = 100;
  TestNode tight(small);
  ASSERT_FALSE(Activate(tight).empty());
  for (int i = 0; i < 3; ++i) tight.Declare("fwd-a", fmt::format("12C-600.{:02d}", i));
  ApiReply big = tight.Call("POST", "/api/v1/rules/dry-run", "customs", R"({"id": "huu-nghi@1"})");
  EXPECT_EQ(big.status, 422) << big.raw;
  EXPECT_EQ(big.Code(), "dry_run_too_large");
  ApiReply one =
      tight.Call("POST", "/api/v1/rules/dry-run", "customs", R"({"id": "huu-nghi@1", "limit": 1})");
  EXPECT_EQ(one.status, 200) << one.raw;
}

// Low 1 and 2: unknown lists are warned about; company entries match whatever their case; a
// list can be deleted (audited, idempotent, same roles as PUT).
TEST(RulesSecurity, WatchListsUnknownCaseAndDelete) {
  TestNode node;
  ApiReply up = node.Call("POST", "/api/v1/rules", "customs", TextBody(ExampleRules()));
  ASSERT_EQ(up.status, 201) << up.raw;
  std::string warnings = ToJsonText(up.body.at("warnings"));
  EXPECT_NE(warnings.find("unknown_watchlist"), std::string::npos) << up.raw;
  EXPECT_NE(warnings.find("stolen-vehicles"), std::string::npos) << up.raw;
  ApiReply on = node.Call("POST", "/api/v1/rules/huu-nghi@1/activate", "customs", "{}");
  ASSERT_EQ(on.status, 200) << on.raw;
  EXPECT_NE(ToJsonText(on.body.at("warnings")).find("stolen-vehicles"), std::string::npos);
  // Typed in lower case, matches COMPANY-B (stored as matched).
  ApiReply put = PutList(node, "stolen-vehicles", "customs",
                         R"({"entries": [{"kind": "company", "value": " company-b "}]})", "k-1");
  ASSERT_EQ(put.status, 201) << put.raw;
  EXPECT_EQ(node.Call("GET", "/api/v1/watchlists/stolen-vehicles", "customs")
                .body.at("entries")
                .at(0)
                .at("value")
                .as_string(),
            "COMPANY-B");
  std::string b = node.Declare("fwd-b", "15C-111.22");
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + b, "customs").body.at("channel").as_string(),
            "red");
  // The list exists now: no warning.
  ApiReply again = node.Call("POST", "/api/v1/rules", "customs", TextBody(ExampleRules()));
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_FALSE(again.body.as_object().contains("warnings")) << again.raw;

  auto del = [&](const char* user, std::string key) {
    return node.Call("DELETE", "/api/v1/watchlists/stolen-vehicles", user, {}, {},
                     {{"Idempotency-Key", std::move(key)}});
  };
  EXPECT_EQ(del("operator", "d-0").status, 403);
  EXPECT_EQ(del("fwd-a", "d-00").status, 403);
  EXPECT_EQ(node.Call("DELETE", "/api/v1/watchlists/stolen-vehicles", "customs").Code(),
            "idempotency_key_required");
  int64_t audit_before = node.AuditCount();
  ApiReply gone = del("quarantine", "d-1");
  ASSERT_EQ(gone.status, 200) << gone.raw;
  EXPECT_TRUE(gone.body.at("deleted").as_bool());
  EXPECT_EQ(node.AuditCount(), audit_before + 1);
  ApiReply twice = del("quarantine", "d-2");
  ASSERT_EQ(twice.status, 200) << twice.raw;
  EXPECT_FALSE(twice.body.at("deleted").as_bool());
  EXPECT_EQ(node.AuditCount(), audit_before + 1);
  EXPECT_EQ(node.Call("GET", "/api/v1/watchlists/stolen-vehicles", "customs").Code(),
            "watchlist_not_found");
  auto records = node.runtime().store().ListAuditFor("watchlist", "stolen-vehicles", 10);
  ASSERT_TRUE(records);
  EXPECT_EQ(records->back().action, "watchlist_delete");
  // Gone after a restart too, and no longer matched.
  node.Restart();
  EXPECT_EQ(node.Call("GET", "/api/v1/watchlists", "customs").body.at("items").as_array().size(),
            0u);
  std::string b2 = node.Declare("fwd-b", "15C-111.22");
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings/" + b2, "customs").body.at("channel").as_string(),
            "yellow");
}

// Low 3, 4 and 5: names that cannot be activated, thresholds that make every truck red, a 100%
// random minimum, an empty set, and the documented size are handled at upload.
TEST(RulesSecurity, RuleSetHeaderBoundsAndSize) {
  TestNode node;
  auto upload = [&](const std::string& text) {
    return node.Call("POST", "/api/v1/rules", "customs", TextBody(text));
  };
  for (const char* name : {"a/b", "my rules", "Upper"}) {
    ApiReply r = upload(fmt::format("ruleset \"{}\" version 1\n", name));
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(r.Code(), "invalid_rules");
    EXPECT_EQ(r.body.at("field").as_string(), "1:9") << r.raw;
  }
  ApiReply negative = upload("ruleset \"n\" version 1\nthreshold yellow -10\nthreshold red -5\n");
  EXPECT_EQ(negative.body.at("field").as_string(), "2:1") << negative.raw;
  ApiReply order = upload("ruleset \"o\" version 1\nthreshold yellow 50\nthreshold red 40\n");
  EXPECT_EQ(order.body.at("field").as_string(), "3:1") << order.raw;
  ApiReply all = upload("ruleset \"r\" version 1\nrandom minimum 100%\n");
  EXPECT_EQ(all.body.at("field").as_string(), "2:1") << all.raw;
  ApiReply empty = upload("ruleset \"e\" version 1\n");
  ASSERT_EQ(empty.status, 201) << empty.raw;
  EXPECT_EQ(empty.body.at("warnings").at(0).at("code").as_string(), "no_rules") << empty.raw;
  // The largest text fits the 1 MiB request body; one byte more is refused as too long (not
  // 413 for the body), and `rules check` says the same.
  std::string big = "ruleset \"big\" version 1\n";
  big += std::string(rules::kMaxRuleSetTextBytes - big.size(), '#');
  for (size_t at = 100; at < big.size(); at += 100) big[at] = '\n';
  ApiReply fits = upload(big);
  EXPECT_EQ(fits.status, 201) << fits.raw.substr(0, 300);
  ApiReply over = upload(big + "\n");
  EXPECT_EQ(over.status, 400) << over.raw.substr(0, 300);
  EXPECT_EQ(over.Code(), "field_too_long") << over.raw.substr(0, 300);
  std::string file = (node.dir() / "big.rules").string();
  std::ofstream(file, std::ios::binary) << big << "\n";
  CliRun check = RunCli(node, "rules check '" + file + "'");
  EXPECT_EQ(check.exit_code, 1) << check.out;
  EXPECT_NE(check.out.find("exceeds the limit"), std::string::npos) << check.out;
}

// Low 5: the documented 25,000 watch-list entries fit the 1 MiB body; one more is refused by
// count (it was documented as 100,000, which no body could carry).
TEST(RulesSecurity, TheDocumentedWatchListSizeFits) {
  TestNode node;
  json::array entries;
  for (int i = 0; i < static_cast<int>(kMaxWatchlistEntries); ++i) {
    entries.push_back(json::object{{"kind", "plate"},
                                   {"value", fmt::format("12C-{:03d}.{:02d}", i / 100, i % 100)}});
  }
  std::string body = ToJsonText(json::object{{"entries", entries}});
  ASSERT_LT(body.size(), 1u << 20);
  ApiReply full = PutList(node, "big", "customs", body, "k-big");
  ASSERT_EQ(full.status, 201) << full.raw.substr(0, 300);
  EXPECT_EQ(full.body.at("entries").as_int64(), static_cast<int64_t>(kMaxWatchlistEntries));
  entries.push_back(json::object{{"kind", "hs"}, {"value", "08"}});
  ApiReply over = PutList(node, "big", "customs",
                          ToJsonText(json::object{{"entries", std::move(entries)}}), "k-over");
  EXPECT_EQ(over.status, 400) << over.raw.substr(0, 300);
  EXPECT_EQ(over.Code(), "wrong_item_count") << over.raw.substr(0, 300);
}

}  // namespace
}  // namespace borderflow::testing

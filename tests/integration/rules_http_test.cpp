// Risk-based selectivity end to end (issue 4): rule sets uploaded and activated over HTTP,
// declarations assessed automatically, explanations for staff and (limited) for forwarders,
// re-assessment by new facts, learning from inspections, red capacity per day, restart.

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <sys/wait.h>

#include <borderflow/audit/audit_record.h>

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
  std::string reasons = ToJsonText(own.body.at("reasons"));
  EXPECT_NE(reasons.find("Fresh durian for China"), std::string::npos) << own.raw;
  EXPECT_NE(reasons.find("榴莲"), std::string::npos) << own.raw;
  EXPECT_EQ(own.raw.find("score"), std::string::npos) << own.raw;
  EXPECT_EQ(own.raw.find("condition"), std::string::npos) << own.raw;
  EXPECT_FALSE(
      node.Call("GET", "/api/v1/crossings/" + id, "fwd-a").body.as_object().contains("risk"));
  ApiReply history = node.Call("GET", "/api/v1/crossings/" + id + "/events", "fwd-a");
  EXPECT_EQ(history.raw.find("\"condition\""), std::string::npos) << history.raw;
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
  ApiReply own = node.Call("GET", "/api/v1/crossings/" + two_id + "/assessment", "fwd-a");
  EXPECT_NE(ToJsonText(own.body.at("reasons")).find("physical inspections are taken"),
            std::string::npos)
      << own.raw;
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

}  // namespace
}  // namespace borderflow::testing

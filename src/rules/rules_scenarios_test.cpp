// Runs the data-driven selectivity scenarios in tests/scenarios/rules/*.json (format in
// tests/scenarios/rules/README.md): a declaration and what is known about it go in; the channel,
// quarantine flag, fired rules and reasons must come out. One test per file.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/domain/perishable.h>
#include <borderflow/rules/assessment.h>
#include <borderflow/rules/learning.h>

namespace borderflow::rules {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kSourceDir = fs::path(BORDERFLOW_SOURCE_DIR);
const fs::path kScenarioDir = kSourceDir / "tests/scenarios/rules";
const char* kSecret = "scenario-secret-0123456789";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kScenarioDir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".json") {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<HistoryFacts> ReadHistory(const JsonObjectReader& r) {
  BF_TRY(r.RejectUnknown({"crossings", "inspections", "findings"}));
  HistoryFacts h;
  BF_ASSIGN_OR_RETURN(auto c, r.OptionalInt("crossings", 0, 1000000));
  BF_ASSIGN_OR_RETURN(auto i, r.OptionalInt("inspections", 0, 1000000));
  BF_ASSIGN_OR_RETURN(auto f, r.OptionalInt("findings", 0, 1000000));
  h.crossings = c.value_or(0);
  h.inspections = i.value_or(0);
  h.findings = f.value_or(0);
  return h;
}

// Builds the facts of `crossing` from the scenario's "facts" object.
Result<RiskFacts> ReadFacts(const json::object& facts, const Crossing& crossing,
                            const GateConfig& config) {
  JsonObjectReader r(facts, "facts");
  BF_TRY(r.RejectUnknown({"compliance_class", "trader", "vehicle", "driver", "weighbridge_kg",
                          "documents", "seal", "watchlists", "usd_per_unit"}));
  FactSources s;
  s.config = &config;
  TraderCompliance compliance;
  BF_ASSIGN_OR_RETURN(auto cls, r.OptionalString("compliance_class", 8));
  s.compliance_class = cls.value_or("");
  BF_ASSIGN_OR_RETURN(auto trader, r.OptionalObject("trader"));
  if (trader) {
    BF_TRY(trader->RejectUnknown({"inspections", "findings"}));
    BF_ASSIGN_OR_RETURN(int64_t n, trader->Int("inspections", 0, 10000));
    BF_ASSIGN_OR_RETURN(int64_t k, trader->Int("findings", 0, n));
    for (int64_t i = 0; i < n; ++i) compliance.Record(crossing.company_id, i < k);
  }
  s.compliance = &compliance;
  BF_ASSIGN_OR_RETURN(auto vehicle, r.OptionalObject("vehicle"));
  if (vehicle) {
    BF_ASSIGN_OR_RETURN(s.vehicle, ReadHistory(*vehicle));
  }
  BF_ASSIGN_OR_RETURN(auto driver, r.OptionalObject("driver"));
  if (driver) {
    BF_ASSIGN_OR_RETURN(s.driver, ReadHistory(*driver));
  }
  if (r.Has("weighbridge_kg")) {
    BF_ASSIGN_OR_RETURN(double kg, r.Number("weighbridge_kg", 0, 200000));
    s.weighbridge_kg = kg;
  }
  BF_ASSIGN_OR_RETURN(auto docs, r.OptionalObject("documents"));
  if (docs) {
    BF_TRY(docs->RejectUnknown({"phytosanitary", "certificate_of_origin", "customs_declaration"}));
    for (auto [key, slot] : {std::pair{"phytosanitary", &s.phytosanitary},
                             std::pair{"certificate_of_origin", &s.certificate_of_origin},
                             std::pair{"customs_declaration", &s.customs_declaration}}) {
      BF_ASSIGN_OR_RETURN(auto text, docs->OptionalString(key, 16));
      if (text) {
        BF_ASSIGN_OR_RETURN(*slot, ParseDocumentStatus(*text));
      }
    }
  }
  BF_ASSIGN_OR_RETURN(auto seal, r.OptionalString("seal", 16));
  if (seal) {
    BF_ASSIGN_OR_RETURN(s.seal, ParseSealStatus(*seal));
  }
  if (r.Has("watchlists")) {
    BF_ASSIGN_OR_RETURN(const json::array* lists, r.Array("watchlists", 0, 64));
    for (const auto& v : *lists) {
      if (!v.is_string()) return InvalidArgument("invalid_value", "watch list names are strings");
      s.watchlists.emplace_back(v.as_string());
    }
  }
  BF_ASSIGN_OR_RETURN(auto rates, r.OptionalObject("usd_per_unit"));
  if (rates) {
    for (const auto& [k, v] : rates->object()) {
      if (!v.is_number()) return InvalidArgument("invalid_value", "rates are numbers");
      s.usd_per_unit[std::string(k)] = v.to_number<double>();
    }
  }
  return BuildRiskFacts(crossing, s);
}

// Checks one "expect" object against an assessment; returns the failures.
std::vector<std::string> Check(const json::object& expect, const RuleSet& rs, const Assessment& a,
                               const std::string& where) {
  std::vector<std::string> failures;
  auto fail = [&](std::string m) { failures.push_back(where + ": " + m); };
  JsonObjectReader r(expect, where);
  if (auto s = r.RejectUnknown({"channel", "quarantine", "fired", "score", "mandatory", "reasons",
                                "held_from_previous"});
      !s) {
    fail(s.error().ToString());
    return failures;
  }
  auto e = Explain(rs, a);
  if (!e) {
    fail(e.error().ToString());
    return failures;
  }
  auto channel = r.String("channel", 16);
  if (!channel) {
    fail(channel.error().ToString());
  } else if (std::string(ChannelName(a.channel)) != *channel) {
    fail("channel " + std::string(ChannelName(a.channel)) + ", expected " + *channel + " (" +
         e->summary.en + ")");
  }
  if (auto q = r.OptionalBool("quarantine"); q && q->has_value() && **q != a.quarantine) {
    fail(std::string("quarantine ") + (a.quarantine ? "yes" : "no") + " (" + e->summary.en + ")");
  }
  if (auto m = r.OptionalString("mandatory", 16);
      m && m->has_value() && std::string(ChannelName(a.mandatory_channel)) != **m) {
    fail("mandatory channel " + std::string(ChannelName(a.mandatory_channel)) + ", expected " +
         **m);
  }
  if (auto h = r.OptionalBool("held_from_previous");
      h && h->has_value() && **h != a.held_from_previous) {
    fail("held_from_previous differs");
  }
  if (r.Has("score")) {
    auto s = r.Number("score", -1e9, 1e9);
    if (!s || std::abs(*s - a.score) > 1e-6) {
      fail("score " + std::to_string(a.score) + " (" + e->summary.en + ")");
    }
  }
  if (r.Has("fired")) {
    std::vector<std::string> expected, actual;
    for (const auto& v : expect.at("fired").as_array()) expected.emplace_back(v.as_string());
    for (const auto& rule : e->rules) actual.push_back(rule.name);
    if (expected != actual) fail("fired rules differ: " + e->summary.en);
  }
  if (auto reasons = r.OptionalObject("reasons"); reasons && reasons->has_value()) {
    for (const auto& [lang, text] : (*reasons)->object()) {
      std::string all = lang == "en" ? e->summary.en : lang == "vi" ? e->summary.vi : e->summary.zh;
      for (const auto& rule : e->rules) {
        all += "\n" + (lang == "en"   ? rule.reason.en
                       : lang == "vi" ? rule.reason.vi
                                      : rule.reason.zh);
      }
      if (lang != "en" && lang != "vi" && lang != "zh") {
        fail("unknown language " + std::string(lang));
      } else if (!text.is_string() ||
                 all.find(std::string(text.as_string())) == std::string::npos) {
        fail("reasons in " + std::string(lang) + " do not contain " + json::serialize(text) +
             ":\n" + all);
      }
    }
  }
  return failures;
}

class RuleScenarioTest : public testing::TestWithParam<std::string> {};

TEST_P(RuleScenarioTest, Runs) {
  auto doc = ParseJson(ReadFile(kScenarioDir / GetParam()));
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  ASSERT_TRUE(doc->is_object());
  const json::object& s = doc->as_object();
  JsonObjectReader r(s, "");
  auto known = r.RejectUnknown(
      {"name", "description", "rules", "crossing", "declaration", "facts", "expect", "then"});
  ASSERT_TRUE(known) << known.error().ToString();
  ASSERT_TRUE(r.String("name", 200)) << "name missing";
  ASSERT_TRUE(r.String("description", 2000)) << "description missing";

  auto rules_path = r.String("rules", 200);
  ASSERT_TRUE(rules_path);
  RuleCompileOptions options;
  options.secret = kSecret;
  options.hs = HsNomenclature::Hs2022().get();
  auto rs = CompileRuleSet(ReadFile(kSourceDir / *rules_path), options);
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();

  auto config = ParseGateConfig(ReadFile(kSourceDir / "config/huu-nghi.toml"));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();

  auto decl = DecodeDeclaration(s.at("declaration"), *HsNomenclature::Hs2022());
  ASSERT_TRUE(decl.has_value()) << decl.error().ToString();
  Crossing crossing;
  crossing.declaration = *decl;
  auto c = JsonObjectReader::Of(s.at("crossing"), "crossing");
  ASSERT_TRUE(c);
  crossing.id = c->String("id", 40).value();
  crossing.company_id = c->String("company", 40).value();

  json::object facts = s.contains("facts") ? s.at("facts").as_object() : json::object{};
  auto f = ReadFacts(facts, crossing, *config);
  ASSERT_TRUE(f.has_value()) << f.error().ToString();
  Assessment a = Assess(*rs, *f);
  for (const auto& m : Check(s.at("expect").as_object(), *rs, a, "expect")) ADD_FAILURE() << m;

  if (s.contains("then")) {
    int step = 0;
    for (const auto& v : s.at("then").as_array()) {
      const json::object& st = v.as_object();
      JsonObjectReader sr(st, "then");
      auto ok = sr.RejectUnknown({"comment", "facts", "expect"});
      ASSERT_TRUE(ok) << ok.error().ToString();
      // The step's facts replace the keys they name.
      for (const auto& [k, val] : st.at("facts").as_object()) facts[k] = val;
      auto nf = ReadFacts(facts, crossing, *config);
      ASSERT_TRUE(nf.has_value()) << nf.error().ToString();
      Assessment next = Reassess(*rs, a, *nf);
      EXPECT_GE(next.channel, a.channel);
      for (const auto& m :
           Check(st.at("expect").as_object(), *rs, next, "then[" + std::to_string(step) + "]")) {
        ADD_FAILURE() << m;
      }
      a = next;
      ++step;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, RuleScenarioTest, testing::ValuesIn(ScenarioFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(RuleScenarios, TheRequiredStoriesArePresent) {
  std::set<std::string> files;
  for (const auto& f : ScenarioFiles()) files.insert(f);
  for (const char* required :
       {"fresh_durian_vn_cn.json", "frozen_seafood.json", "electronics_undervalued.json",
        "empty_truck_returning.json", "weight_mismatch_at_gate.json", "trader_bad_record.json"}) {
    EXPECT_TRUE(files.count(required)) << required;
  }
}

// The rules' `perishable` fact is the queue's definition (IsPerishableLoad): a freshness
// deadline on a truck of inverters does not make it perishable (it once did, for the rules
// only); fruit with a deadline in the general-cargo lane, and anything in a perishable lane
// class, is.
TEST(RuleFacts, PerishableAsTheQueueSeesIt) {
  auto config = ParseGateConfig(ReadFile(kSourceDir / "config/huu-nghi.toml"));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  auto declared = [](std::string_view lane_class, std::string_view hs_code, bool deadline) {
    std::string body = fmt::format(
        R"({{"direction": "VN-CN", "lane_class": "{}", "vehicle": {{"plate": "12C-123.45"}},
            "driver": {{"name": "Nguyen Van An", "document_number": "B1234567",
                        "nationality": "VN"}},
            "lines": [{{"hs_code": "{}", "description": "goods", "packages": 10,
                        "gross_weight_kg": 9000,
                        "value": {{"amount": "90000.00", "currency": "USD"}},
                        "origin_country": "VN"}}]{}}})",
        lane_class, hs_code,
        deadline ? R"(, "freshness_deadline": "2026-11-30T20:00:00+07:00")" : "");
    auto doc = ParseJson(body);
    EXPECT_TRUE(doc.has_value()) << body;
    auto d = DecodeDeclaration(*doc, *HsNomenclature::Hs2022());
    EXPECT_TRUE(d.has_value()) << d.error().ToString();
    Crossing c;
    c.id = "CR-0000FACTS";
    c.company_id = "CO";
    if (d) c.declaration = *d;
    return c;
  };
  FactSources sources;
  sources.config = &*config;
  auto perishable = [&](const Crossing& c) { return BuildRiskFacts(c, sources).perishable; };
  const Crossing inverters = declared("general_cargo", "8504.40", true);
  EXPECT_FALSE(perishable(inverters));
  EXPECT_FALSE(IsPerishableLoad(inverters.declaration, config->FindLaneClass("general_cargo")));
  EXPECT_FALSE(BuildRiskFacts(inverters, FactSources{}).perishable);  // no configuration
  EXPECT_TRUE(perishable(declared("general_cargo", "0810.90", true)));
  EXPECT_FALSE(perishable(declared("general_cargo", "0810.90", false)));
  EXPECT_TRUE(perishable(declared("fresh_produce", "0810.90", true)));
  EXPECT_TRUE(perishable(declared("fresh_produce", "8504.40", true)));
}

}  // namespace
}  // namespace borderflow::rules

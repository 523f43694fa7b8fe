// Fuzz target: the selectivity rule language (include/borderflow/rules/rule_set.h). Rule files
// are written by analysts and arrive through the API (`rules check`, activation).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/json.h>
#include <borderflow/rules/assessment.h>
#include <borderflow/rules/rule_set.h>

#include "fuzz_check.h"

namespace bf = borderflow;
namespace rules = borderflow::rules;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

namespace {

const char* kSecret = "fuzz-secret-0123456789";

// Two trucks that exercise most fields: a durian truck with every fact known, and an empty truck
// with nothing known.
rules::RiskFacts Durian() {
  rules::RiskFacts f;
  f.crossing_id = "CR-FUZZ0001";
  f.direction = "VN-CN";
  f.lane_class = "fresh_produce";
  f.from_country = "VN";
  f.to_country = "CN";
  f.perishable = true;
  f.lines.push_back(rules::LineFacts{"08106000", "VN", 16000, 48000, 800});
  f.lines.push_back(rules::LineFacts{"8517130000", "CN", 100, 1000, 10});
  f.trader = rules::TraderFacts{"FRUITCO", "B", true, 10, 2, 0.12};
  f.vehicle_plate = "12C12345";
  f.vehicle = rules::HistoryFacts{30, 3, 1};
  f.driver_document = "B1234567";
  f.weighbridge_kg = 17500;
  f.phytosanitary = rules::DocumentStatus::kUnchecked;
  f.seal = rules::SealStatus::kBroken;
  f.watchlists = {"stolen-vehicles", "x"};
  return f;
}

void CheckAssessment(const rules::RuleSet& rs, const rules::RiskFacts& facts) {
  rules::Assessment a = rules::Assess(rs, facts);
  FUZZ_CHECK(a.rule_set_fingerprint == rs.fingerprint64(), "fingerprint not recorded");
  FUZZ_CHECK(a.channel >= bf::Channel::kGreen, "no channel");
  FUZZ_CHECK(a.channel >= a.mandatory_channel, "channel below the mandatory channel");
  for (size_t i = 0; i < a.fired.size(); ++i) {
    FUZZ_CHECK(a.fired[i].rule < rs.size(), "fired rule out of range");
    FUZZ_CHECK(i == 0 || a.fired[i - 1].rule < a.fired[i].rule, "fired rules out of order");
    const rules::RuleInfo& info = rs.rule(a.fired[i].rule);
    FUZZ_CHECK(a.channel >= info.channel, "channel below a fired rule's channel: " + info.name);
    FUZZ_CHECK(!info.quarantine || a.quarantine, "quarantine lost: " + info.name);
  }
  auto e = rules::Explain(rs, a);
  FUZZ_CHECK(e.has_value(), "explain failed: " + e.error().ToString());
  FUZZ_CHECK(IsValidUtf8(e->summary.en) && IsValidUtf8(e->summary.vi) && IsValidUtf8(e->summary.zh),
             "summary is not UTF-8");
  std::string json = bf::ToJsonText(rules::ExplanationToJson(*e));
  FUZZ_CHECK(bf::ParseJson(json).has_value(), "explanation JSON does not parse");
  // Re-assessment with a calmer truck never lowers the decision.
  rules::RiskFacts calm = facts;
  calm.weighbridge_kg.reset();
  calm.seal = rules::SealStatus::kIntact;
  calm.watchlists.clear();
  rules::Assessment b = rules::Reassess(rs, a, calm);
  FUZZ_CHECK(b.channel >= a.channel, "re-assessment lowered the channel");
  FUZZ_CHECK(!a.quarantine || b.quarantine, "re-assessment dropped quarantine");
  FUZZ_CHECK(b.score >= a.score, "re-assessment lowered the score");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  rules::RuleCompileOptions options;
  options.secret = kSecret;
  options.max_bytes = 64 * 1024;
  auto rs = rules::CompileRuleSet(text, options);
  if (!rs) {
    const bf::Error& err = rs.error();
    FUZZ_CHECK(err.code == "invalid_rules", err.ToString());
    FUZZ_CHECK(IsValidUtf8(err.message), "error message is not UTF-8: " + Escaped(err.message));
    if (size <= options.max_bytes) {
      auto pos = rules::ErrorPosition(err);
      FUZZ_CHECK(pos.has_value(), "no position: " + err.ToString());
      size_t lines = 1;
      for (char c : text) lines += c == '\n' ? 1 : 0;
      FUZZ_CHECK(pos->line >= 1 && static_cast<size_t>(pos->line) <= lines,
                 "line out of range: " + err.ToString());
      FUZZ_CHECK(pos->column >= 1 && static_cast<size_t>(pos->column) <= size + 1,
                 "column out of range: " + err.ToString());
    }
    return 0;
  }
  // An accepted set compiles again from its own source to the same set.
  auto again = rules::CompileRuleSet(rs->source(), options);
  FUZZ_CHECK(again.has_value() && again->fingerprint() == rs->fingerprint(),
             "source does not recompile");
  FUZZ_CHECK(again->size() == rs->size(), "recompiled set differs");
  for (size_t i = 0; i < rs->size(); ++i) {
    const rules::RuleInfo& info = rs->rule(i);
    FUZZ_CHECK(!info.name.empty() && IsValidUtf8(info.reason.en) && IsValidUtf8(info.reason.vi) &&
                   IsValidUtf8(info.reason.zh),
               "bad rule info: " + Escaped(info.name));
    FUZZ_CHECK(rs->FindRule(info.name) == i, "rule names are not unique");
  }
  CheckAssessment(*rs, Durian());
  rules::RiskFacts empty;
  empty.crossing_id = "CR-FUZZ0002";
  CheckAssessment(*rs, empty);
  return 0;
}

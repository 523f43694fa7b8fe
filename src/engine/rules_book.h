#pragma once

// The engine's in-memory picture of the risk rules (issue 4): every stored rule set that
// compiles, the active one, the node's rule-set secret and what was learned from inspection
// outcomes. Loaded from the store's records at start (Engine::LoadRules) and changed by the
// writer only; readers (API threads) take the mutex.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/json/object.hpp>

#include <borderflow/rules/assessment.h>
#include <borderflow/rules/learning.h>
#include <borderflow/rules/rule_set.h>

namespace borderflow {

// Record kinds in the store (StoredRecord::kind).
inline constexpr std::string_view kRuleSetRecord = "rule_set";      // id: "huu-nghi@3"
inline constexpr std::string_view kRulesSecretId = "rules_secret";  // kind "setting"
inline constexpr std::string_view kRedDayRecord = "rules_red_day";  // id: local day
inline constexpr std::string_view kInspectionOutcomeRecord = "inspection_outcome";

struct RulesBook {
  mutable std::mutex mu;
  std::string secret;
  std::map<std::string, rules::RuleSet> sets;          // by id
  std::map<std::string, boost::json::object> records;  // stored bodies by id (with "status")
  std::shared_ptr<const rules::RuleSet> active;
  rules::TraderCompliance compliance;
  rules::RuleHitRates hits;
  std::set<std::string> companies;  // traders with recorded inspections
  // Past inspections and findings per truck (canonical plate) and per driver (document number),
  // from the inspection outcomes: the `vehicle.*` and `driver.*` history of the rules.
  std::map<std::string, rules::HistoryFacts> vehicles;
  std::map<std::string, rules::HistoryFacts> drivers;
  std::map<std::string, int> red_per_day;  // local day "YYYY-MM-DD" -> red decisions
};

}  // namespace borderflow

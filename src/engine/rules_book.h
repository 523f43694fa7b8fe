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
#include <unordered_map>
#include <vector>

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
// Outcomes folded into the learning snapshot move here (kept, never read at start).
inline constexpr std::string_view kCompactedOutcomeRecord = "inspection_outcome_compacted";
inline constexpr std::string_view kLearningSnapshotRecord = "rules_learning";  // id: "snapshot"
inline constexpr std::string_view kWatchlistRecord = "watchlist";              // id: list name

// One watch list as the engine matches it: normalised entries and an index per kind.
struct WatchlistBook {
  std::string name;
  int64_t version = 0;
  std::string description;
  std::string updated_by;
  std::string updated_at;
  struct Entry {
    std::string kind;  // "plate", "company", "driver", "hs"
    std::string value;
    std::string note;
  };
  std::vector<Entry> entries;
  // kind -> value -> index into entries ("hs" values are prefixes of the lines' codes).
  std::map<std::string, std::unordered_map<std::string, size_t>, std::less<>> index;
};

// The risk decisions of one local day, for capacity matching online (AssessByRules).
struct RedDay {
  int red = 0;  // red decisions (every cause, re-assessments included)
  int yellow = 0;
  int green = 0;
  int declared = 0;   // declarations assessed
  int mandatory = 0;  // red by a mandatory rule
  int random = 0;     // red by random selection (a random rule or the minimum random rate)
  int score = 0;      // red by the rules' channel or score, within capacity
  int lowered = 0;    // red by the rules, lowered to yellow (capacity or score cut-off)
  int competing = 0;  // red by the rules' channel or score (not mandatory, not random)
  std::vector<double> candidates;  // the highest scores among them (red_per_day), highest first
};

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
  std::map<std::string, RedDay> red_per_day;                     // by local day "YYYY-MM-DD"
  std::map<std::string, WatchlistBook, std::less<>> watchlists;  // by name
  // Learning: outcomes in the snapshot, and the ids of the outcome records stored after it.
  int64_t compacted_outcomes = 0;
  std::vector<std::string> outcome_ids;
};

}  // namespace borderflow

#pragma once

// Assessing a crossing against a compiled rule set, re-assessing it when new facts arrive,
// explaining a decision, and dry-running a candidate rule set against past crossings.
//
// Semantics:
// * A condition is evaluated for the declaration; when it names a line field (hs.*, origin,
//   unit_value, value, gross_weight, packages, reference.*), it holds if one consignment line
//   satisfies the whole condition. A truck without lines is evaluated once with an empty line
//   (no HS code, unknown numbers).
// * A comparison with an unknown number (no weighbridge reading, no reference price, an
//   unconverted currency) is false, whatever the operator.
// * The channel is the highest channel of the rules that fired, raised by the score thresholds
//   of the set; green when nothing fired. Quarantine is asked when any fired rule asks it.
// * The score is the sum of the fired rules' scores (each optionally scaled by learned weights).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/core/error.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/rules/facts.h>
#include <borderflow/rules/rule_set.h>

namespace borderflow::rules {

struct FiredRule {
  uint32_t rule = 0;  // index in the rule set
  int32_t line = -1;  // the consignment line that satisfied it, -1 for declaration-level rules
  double score = 0;   // its contribution to the total
  friend bool operator==(const FiredRule&, const FiredRule&) = default;
};

struct Assessment {
  Channel channel = Channel::kGreen;
  bool quarantine = false;
  // The highest channel asked by a mandatory (100%) rule: capacity matching never goes below it.
  Channel mandatory_channel = Channel::kNone;
  bool random = false;  // a random-selection rule fired
  double score = 0;
  std::vector<FiredRule> fired;  // in rule order
  uint32_t rule_set_version = 0;
  uint64_t rule_set_fingerprint = 0;
  // Set by Reassess when the previous decision kept the channel or quarantine higher than the
  // new facts alone would give.
  bool held_from_previous = false;
  Channel previous_channel = Channel::kNone;
  uint32_t previous_version = 0;
};

// Learned per-rule weights (RuleHitRates::Weights): a fired rule's score is multiplied by
// weights[rule]. Empty means 1 for every rule.
using RuleWeights = std::span<const double>;

// Assesses `facts`. Pure and thread-safe; allocation-free when `out` is reused.
void Assess(const RuleSet& rules, const RiskFacts& facts, Assessment* out,
            RuleWeights weights = {});
Assessment Assess(const RuleSet& rules, const RiskFacts& facts, RuleWeights weights = {});

// Assesses `facts` again after new facts arrived (weighbridge reading, invalid document, broken
// seal). The channel and the quarantine flag never fall below `previous`; the score never drops.
// Rules fired before stay recorded when `previous` was made by the same rule set.
Assessment Reassess(const RuleSet& rules, const Assessment& previous, const RiskFacts& facts,
                    RuleWeights weights = {});

struct ExplainedRule {
  std::string name;
  int source_line = 0;
  int consignment_line = -1;  // 0-based line of the declaration, -1 for declaration-level
  Channel channel = Channel::kNone;
  bool quarantine = false;
  bool mandatory = false;
  bool random = false;
  double score = 0;
  std::string condition;
  LocalizedText reason;
};

struct Explanation {
  std::string rule_set;  // "huu-nghi@7"
  std::string fingerprint;
  Channel channel = Channel::kGreen;
  bool quarantine = false;
  double score = 0;
  std::vector<ExplainedRule> rules;
  bool held_from_previous = false;
  Channel previous_channel = Channel::kNone;
  uint32_t previous_version = 0;
  // One sentence per language: "Red channel (score 85): weight-mismatch; trader-bad-record."
  LocalizedText summary;
};

// Explains `a` with the rule set that made it. Error "rule_set_mismatch" (409) when `a` was made
// by another rule set (compare fingerprints, then fetch that version).
Result<Explanation> Explain(const RuleSet& rules, const Assessment& a);
// The JSON form for the audit record and the API.
boost::json::object ExplanationToJson(const Explanation& e);

// What would change if `candidate` replaced `current` for these past crossings.
struct DryRunChange {
  size_t index = 0;  // into `past`
  Channel before = Channel::kGreen;
  Channel after = Channel::kGreen;
  bool quarantine_before = false;
  bool quarantine_after = false;
};
struct DryRunReport {
  size_t total = 0;
  size_t before[4] = {};  // count per Channel (indexed by the enum value)
  size_t after[4] = {};
  size_t quarantine_before = 0;
  size_t quarantine_after = 0;
  size_t changed = 0;
  std::vector<DryRunChange> changes;  // the first `max_changes` changed decisions
};
DryRunReport DryRun(const RuleSet& current, const RuleSet& candidate,
                    std::span<const RiskFacts> past, size_t max_changes = 1000);

}  // namespace borderflow::rules

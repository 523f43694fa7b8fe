#pragma once

// Learning from inspection outcomes.
//
// * TraderCompliance keeps a Beta-Bernoulli estimate per trader of the probability that an
//   inspection of its truck finds something: with prior Beta(a, b) and k findings in n
//   inspections, risk = (a + k) / (a + b + n). BuildRiskFacts puts it into trader.risk, which
//   rules use in conditions and scores (`score 300 * trader.risk`).
// * RuleHitRates counts, per rule name, inspections of trucks on which the rule fired and their
//   findings, next to the hit rate of random selection (the baseline); Report() lists the rules
//   whose hit rate is below random selection, and Weights() turns hit rates into score weights
//   for Assess().
//
// Both are plain values (not thread-safe for writing); keyed by names, so they survive new
// rule-set versions.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/rules/assessment.h>
#include <borderflow/rules/facts.h>
#include <borderflow/rules/rule_set.h>

namespace borderflow::rules {

struct BetaPrior {
  double alpha = 1;  // pseudo-findings
  double beta = 19;  // pseudo-clean inspections: prior risk 5%
};

// Inspections and findings: what both learners count, per trader and per rule.
struct OutcomeCounts {
  int64_t inspections = 0;
  int64_t findings = 0;
  friend bool operator==(const OutcomeCounts&, const OutcomeCounts&) = default;
};

struct ComplianceEstimate {
  int64_t inspections = 0;
  int64_t findings = 0;
  double risk = 0;        // posterior mean of the finding probability
  double compliance = 1;  // 1 - risk
};

class TraderCompliance {
 public:
  explicit TraderCompliance(BetaPrior prior = {}) : prior_(prior) {}

  // Records one inspection of a truck of `company`.
  void Record(std::string_view company, bool finding);
  ComplianceEstimate Estimate(std::string_view company) const;
  // Sets trader.inspections, trader.findings and trader.risk from the estimate.
  void Fill(TraderFacts& trader) const;

  // For a compacted snapshot: the counts per trader (the posterior is Beta(alpha + findings,
  // beta + inspections - findings)), and adding counts back when it is read.
  const BetaPrior& prior() const { return prior_; }
  const std::map<std::string, OutcomeCounts, std::less<>>& counts() const { return counts_; }
  void Add(std::string_view company, OutcomeCounts counts);

 private:
  BetaPrior prior_;
  std::map<std::string, OutcomeCounts, std::less<>> counts_;
};

struct RuleHitRate {
  std::string rule;
  int64_t inspected = 0;  // inspections of trucks on which the rule fired
  int64_t findings = 0;
  double hit_rate = 0;  // posterior mean, prior Beta(1, 1)
  bool below_random = false;
};

struct HitRateReport {
  int64_t random_inspected = 0;  // inspections of trucks picked at random
  int64_t random_findings = 0;
  double random_hit_rate = 0;
  std::vector<RuleHitRate> rules;         // every rule of the set, in rule order
  std::vector<std::string> below_random;  // names of rules worse than random selection
};

class RuleHitRates {
 public:
  // Records the outcome of a physical inspection of a truck assessed as `a` by `rules`.
  // `random_selected`: the truck was inspected because it was drawn at random (a random rule or
  // the capacity plan's random quota); it then also counts for the baseline.
  void Record(const RuleSet& rules, const Assessment& a, bool random_selected, bool finding);

  // Rules with fewer than `min_inspections` are never reported below random.
  HitRateReport Report(const RuleSet& rules, int64_t min_inspections = 20) const;

  // Per-rule score weights for Assess(): hit rate / random hit rate, clamped to
  // [min_weight, max_weight]; 1 for rules with fewer than `min_inspections`.
  std::vector<double> Weights(const RuleSet& rules, int64_t min_inspections = 20,
                              double min_weight = 0.25, double max_weight = 4) const;

  // For a compacted snapshot: the baseline's and each rule's counts (inspections = trucks
  // inspected), and adding counts back when it is read.
  const OutcomeCounts& random() const { return random_; }
  const std::map<std::string, OutcomeCounts, std::less<>>& by_rule() const { return by_rule_; }
  void AddRandom(OutcomeCounts counts);
  void AddRule(std::string_view rule, OutcomeCounts counts);

 private:
  OutcomeCounts random_;
  std::map<std::string, OutcomeCounts, std::less<>> by_rule_;
};

}  // namespace borderflow::rules

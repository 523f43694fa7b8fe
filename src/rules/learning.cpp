// Learning from inspection outcomes (learning.h).

#include <algorithm>

#include <borderflow/rules/learning.h>

namespace borderflow::rules {

void TraderCompliance::Record(std::string_view company, bool finding) {
  auto it = counts_.find(company);
  if (it == counts_.end()) it = counts_.emplace(std::string(company), OutcomeCounts{}).first;
  ++it->second.inspections;
  if (finding) ++it->second.findings;
}

ComplianceEstimate TraderCompliance::Estimate(std::string_view company) const {
  ComplianceEstimate e;
  auto it = counts_.find(company);
  if (it != counts_.end()) {
    e.inspections = it->second.inspections;
    e.findings = it->second.findings;
  }
  e.risk = (prior_.alpha + static_cast<double>(e.findings)) /
           (prior_.alpha + prior_.beta + static_cast<double>(e.inspections));
  e.compliance = 1.0 - e.risk;
  return e;
}

void TraderCompliance::Fill(TraderFacts& trader) const {
  ComplianceEstimate e = Estimate(trader.company);
  trader.inspections = e.inspections;
  trader.findings = e.findings;
  trader.risk = e.risk;
}

void TraderCompliance::Add(std::string_view company, OutcomeCounts counts) {
  auto it = counts_.find(company);
  if (it == counts_.end()) it = counts_.emplace(std::string(company), OutcomeCounts{}).first;
  it->second.inspections += counts.inspections;
  it->second.findings += counts.findings;
}

void RuleHitRates::AddRandom(OutcomeCounts counts) {
  random_.inspections += counts.inspections;
  random_.findings += counts.findings;
}

void RuleHitRates::AddRule(std::string_view rule, OutcomeCounts counts) {
  auto it = by_rule_.find(rule);
  if (it == by_rule_.end()) it = by_rule_.emplace(std::string(rule), OutcomeCounts{}).first;
  it->second.inspections += counts.inspections;
  it->second.findings += counts.findings;
}

void RuleHitRates::Record(const RuleSet& rules, const Assessment& a, bool random_selected,
                          bool finding) {
  if (random_selected) {
    ++random_.inspections;
    if (finding) ++random_.findings;
  }
  if (a.rule_set_fingerprint != rules.fingerprint64()) return;
  for (const auto& f : a.fired) {
    if (f.rule >= rules.size()) continue;
    const RuleInfo& info = rules.rule(f.rule);
    if (info.random && random_selected) continue;  // counted in the baseline
    auto it = by_rule_.find(info.name);
    if (it == by_rule_.end()) it = by_rule_.emplace(info.name, OutcomeCounts{}).first;
    ++it->second.inspections;
    if (finding) ++it->second.findings;
  }
}

HitRateReport RuleHitRates::Report(const RuleSet& rules, int64_t min_inspections) const {
  HitRateReport r;
  r.random_inspected = random_.inspections;
  r.random_findings = random_.findings;
  r.random_hit_rate = (1.0 + static_cast<double>(random_.findings)) /
                      (2.0 + static_cast<double>(random_.inspections));
  for (size_t i = 0; i < rules.size(); ++i) {
    RuleHitRate row;
    row.rule = rules.rule(i).name;
    auto it = by_rule_.find(row.rule);
    if (it != by_rule_.end()) {
      row.inspected = it->second.inspections;
      row.findings = it->second.findings;
    }
    row.hit_rate =
        (1.0 + static_cast<double>(row.findings)) / (2.0 + static_cast<double>(row.inspected));
    row.below_random = random_.inspections > 0 && row.inspected >= min_inspections &&
                       !rules.rule(i).random && row.hit_rate < r.random_hit_rate;
    if (row.below_random) r.below_random.push_back(row.rule);
    r.rules.push_back(std::move(row));
  }
  return r;
}

std::vector<double> RuleHitRates::Weights(const RuleSet& rules, int64_t min_inspections,
                                          double min_weight, double max_weight) const {
  HitRateReport r = Report(rules, min_inspections);
  std::vector<double> w(rules.size(), 1.0);
  if (random_.inspections == 0) return w;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (r.rules[i].inspected < min_inspections) continue;
    w[i] = std::clamp(r.rules[i].hit_rate / r.random_hit_rate, min_weight, max_weight);
  }
  return w;
}

}  // namespace borderflow::rules

// Learning from outcomes, and the seeded scenario with planted violations: with the same
// inspection capacity, the rules plus learning must find at least twice as many violations as
// random selection.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/core/random.h>
#include <borderflow/rules/learning.h>
#include <borderflow/rules/selection.h>

namespace borderflow::rules {
namespace {

const char* kSecret = "learning-secret-0123456789";

RuleSet CompileOrDie(std::string_view text) {
  RuleCompileOptions o;
  o.secret = kSecret;
  auto r = CompileRuleSet(text, o);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return std::move(r).value();
}

TEST(TraderCompliance, BetaBernoulliEstimate) {
  TraderCompliance tc(BetaPrior{1, 19});
  ComplianceEstimate none = tc.Estimate("NEWCO");
  EXPECT_EQ(none.inspections, 0);
  EXPECT_DOUBLE_EQ(none.risk, 0.05);  // the prior mean
  for (int i = 0; i < 10; ++i) tc.Record("BADCO", i < 6);
  ComplianceEstimate bad = tc.Estimate("BADCO");
  EXPECT_EQ(bad.inspections, 10);
  EXPECT_EQ(bad.findings, 6);
  EXPECT_DOUBLE_EQ(bad.risk, 7.0 / 30.0);
  EXPECT_DOUBLE_EQ(bad.compliance, 1 - 7.0 / 30.0);
  for (int i = 0; i < 30; ++i) tc.Record("GOODCO", false);
  EXPECT_DOUBLE_EQ(tc.Estimate("GOODCO").risk, 1.0 / 50.0);
  TraderFacts t;
  t.company = "BADCO";
  tc.Fill(t);
  EXPECT_EQ(t.inspections, 10);
  EXPECT_EQ(t.findings, 6);
  EXPECT_DOUBLE_EQ(t.risk, 7.0 / 30.0);
}

TEST(RuleHitRates, ReportsRulesBelowRandomAndWeighs) {
  RuleSet rs = CompileOrDie(R"(ruleset "h" version 1
rule "good" { when trader.class == "D" then channel red reason en "e" vi "v" zh "z" }
rule "poor" { when trader.class == "C" then channel red reason en "e" vi "v" zh "z" }
rule "dice" { when trader.class == "" and random 100% then channel red reason en "e" vi "v" zh "z" }
)");
  RuleHitRates h;
  RiskFacts f;
  f.crossing_id = "CR-1";
  f.trader.compliance_class = "D";
  Assessment good = Assess(rs, f);
  f.trader.compliance_class = "C";
  Assessment poor = Assess(rs, f);
  f.trader.compliance_class = "";
  Assessment dice = Assess(rs, f);
  for (int i = 0; i < 40; ++i) {
    h.Record(rs, good, false, i % 2 == 0);  // 50%
    h.Record(rs, poor, false, i == 0);      // 2.5%
    h.Record(rs, dice, true, i % 5 == 0);   // 20%
  }
  HitRateReport r = h.Report(rs);
  EXPECT_EQ(r.random_inspected, 40);
  EXPECT_EQ(r.random_findings, 8);
  ASSERT_EQ(r.rules.size(), 3u);
  EXPECT_EQ(r.rules[0].inspected, 40);
  EXPECT_EQ(r.rules[0].findings, 20);
  EXPECT_FALSE(r.rules[0].below_random);
  EXPECT_TRUE(r.rules[1].below_random);
  EXPECT_EQ(r.rules[2].inspected, 0);  // random picks count for the baseline only
  EXPECT_EQ(r.below_random, std::vector<std::string>{"poor"});
  EXPECT_TRUE(h.Report(rs, 50).below_random.empty());  // not enough inspections yet
  std::vector<double> w = h.Weights(rs);
  EXPECT_GT(w[0], 2.0);
  EXPECT_LT(w[1], 0.5);
  EXPECT_DOUBLE_EQ(w[2], 1.0);
}

// --- The planted-violation scenario ----------------------------------------------------------

const char* kPlantedRules = R"(ruleset "planted" version 1
random minimum 1%
reference hs.heading 8517 unit_value 25 .. 3000
reference hs.heading 0810 unit_value 0.8 .. 10
reference hs.heading 0306 unit_value 3 .. 60

rule "undervalued" {
  when unit_value < reference.min
  then channel red, score 50
  reason en "Unit value below reference" vi "Giá thấp hơn tham chiếu" zh "单价低于参考价"
}
rule "weight" {
  when weight.deviation > 5%
  then channel red, score 40
  reason en "Weight mismatch" vi "Sai lệch khối lượng" zh "重量不符"
}
rule "many-packages" {
  when hs.chapter == 03 and packages > 900
  then channel red, score 45
  reason en "Many packages" vi "Nhiều kiện" zh "件数多"
}
rule "trader-risk" {
  when trader.risk > 0
  then score 300 * trader.risk
  reason en "Trader risk" vi "Rủi ro doanh nghiệp" zh "企业风险"
}
)";

struct Truck {
  RiskFacts facts;
  bool violation = false;
};

double Uniform(Random& r) { return static_cast<double>(r.Next64() >> 11) * 0x1.0p-53; }

// One day of declarations: 300 traders, 10% of them bad (35% of their trucks violate), the
// others 2%. A violating truck is undervalued half the time and overweight a third of the time;
// honest trucks have weighbridge noise that sometimes exceeds 5%, and declare any number of
// packages (violators keep under 900, so the "many-packages" rule is useless).
std::vector<Truck> Day(Random& rng, int day, int trucks) {
  static const char* kHs[] = {"08106000", "03061719", "85171300"};
  static const double kUnitValue[] = {3.0, 8.0, 200.0};
  std::vector<Truck> out;
  for (int i = 0; i < trucks; ++i) {
    Truck t;
    int trader = static_cast<int>(rng.Next64() % 300);
    bool bad_trader = trader < 30;
    t.violation = Uniform(rng) < (bad_trader ? 0.35 : 0.02);
    int kind = static_cast<int>(rng.Next64() % 3);
    RiskFacts& f = t.facts;
    f.crossing_id = "CR-D" + std::to_string(day) + "-" + std::to_string(i);
    f.direction = "VN-CN";
    f.trader.company = "T" + std::to_string(trader);
    double kg = 5000 + Uniform(rng) * 20000;
    double unit = kUnitValue[kind] * (0.8 + 0.6 * Uniform(rng));
    if (t.violation && Uniform(rng) < 0.5) unit = kUnitValue[kind] * 0.1;  // undervalued
    double measured = kg * (1 + (Uniform(rng) - 0.5) * 0.11);              // noise up to 5.5%
    if (t.violation && Uniform(rng) < 0.33) measured = kg * 1.2;           // hidden load
    f.weighbridge_kg = measured;
    int64_t packages = 100 + static_cast<int64_t>(rng.Next64() % 1000);
    if (t.violation) packages = std::min<int64_t>(packages, 800);
    f.lines.push_back(LineFacts{kHs[kind], "VN", kg, unit * kg, packages});
    out.push_back(std::move(t));
  }
  return out;
}

// A compacted snapshot keeps counts only: counts added back, plus the outcomes recorded after
// the snapshot, give the same estimates, reports and weights as recording every outcome.
TEST(Learning, CountsAddedBackGiveTheSameEstimates) {
  RuleSet rules = CompileOrDie(R"(ruleset "s" version 1
rule "a" {
  when trader.company == "A"
  then score 10
  reason en "a" vi "a" zh "a"
}
rule "r" {
  when random 50%
  then channel red
  reason en "r" vi "r" zh "r"
}
)");
  SeededRandom random(7);
  TraderCompliance all, restored;
  RuleHitRates all_hits, restored_hits;
  TraderCompliance after;
  RuleHitRates after_hits;
  for (int i = 0; i < 200; ++i) {
    std::string company = i % 3 == 0 ? "A" : "B";
    bool finding = random.Next64() % 4 == 0;
    bool random_selected = i % 5 == 0;
    Assessment a;
    a.rule_set_fingerprint = rules.fingerprint64();
    if (company == "A") a.fired.push_back(FiredRule{0, -1, 10});
    if (random_selected) a.fired.push_back(FiredRule{1, -1, 0});
    all.Record(company, finding);
    all_hits.Record(rules, a, random_selected, finding);
    // The first 150 go into the "snapshot", the rest are recorded after it.
    if (i < 150) {
      after.Record(company, finding);
      after_hits.Record(rules, a, random_selected, finding);
      if (i == 149) {
        for (const auto& [name, c] : after.counts()) restored.Add(name, c);
        for (const auto& [name, c] : after_hits.by_rule()) restored_hits.AddRule(name, c);
        restored_hits.AddRandom(after_hits.random());
      }
    } else {
      restored.Record(company, finding);
      restored_hits.Record(rules, a, random_selected, finding);
    }
  }
  for (const char* company : {"A", "B", "C"}) {
    EXPECT_DOUBLE_EQ(restored.Estimate(company).risk, all.Estimate(company).risk) << company;
    EXPECT_EQ(restored.Estimate(company).inspections, all.Estimate(company).inspections);
  }
  EXPECT_EQ(restored.counts(), all.counts());
  EXPECT_EQ(restored_hits.by_rule(), all_hits.by_rule());
  EXPECT_EQ(restored_hits.random(), all_hits.random());
  EXPECT_EQ(restored_hits.Weights(rules, 1), all_hits.Weights(rules, 1));
  EXPECT_GT(all_hits.random().inspections, 0);
}

TEST(PlantedViolations, RulesPlusLearningFindTwiceAsManyAsRandom) {
  constexpr int kDays = 30;
  constexpr int kTrucksPerDay = 400;
  constexpr int kCapacity = 20;  // 5% of the trucks can be inspected
  RuleSet rs = CompileOrDie(kPlantedRules);
  SeededRandom world(20260401);
  SeededRandom picker(7);
  TraderCompliance compliance;
  RuleHitRates hit_rates;
  int violations = 0, found_random = 0, found_rules = 0, inspected_rules = 0;

  for (int day = 0; day < kDays; ++day) {
    std::vector<Truck> trucks = Day(world, day, kTrucksPerDay);
    for (const auto& t : trucks) violations += t.violation ? 1 : 0;

    // Random selection: kCapacity trucks drawn uniformly.
    std::vector<size_t> order(trucks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = 0; i < static_cast<size_t>(kCapacity); ++i) {
      size_t j = i + static_cast<size_t>(picker.Next64() % (order.size() - i));
      std::swap(order[i], order[j]);
      found_random += trucks[order[i]].violation ? 1 : 0;
    }

    // Rules plus learning: facts carry the learned trader risk, scores the learned weights.
    std::vector<double> weights = hit_rates.Weights(rs, 30);
    std::vector<Assessment> assessments(trucks.size());
    std::vector<SelectionCandidate> candidates;
    for (size_t i = 0; i < trucks.size(); ++i) {
      compliance.Fill(trucks[i].facts.trader);
      Assess(rs, trucks[i].facts, &assessments[i], weights);
    }
    for (size_t i = 0; i < trucks.size(); ++i) {
      candidates.push_back({trucks[i].facts.crossing_id, &assessments[i]});
    }
    CapacityLimits limits{kCapacity};
    limits.fill_spare_capacity = true;
    SelectionPlan plan = SelectForCapacity(rs, candidates, limits);
    for (size_t i = 0; i < trucks.size(); ++i) {
      const Selection& s = plan.decisions[i];
      if (s.channel != Channel::kRed) continue;
      ++inspected_rules;
      bool finding = trucks[i].violation;
      found_rules += finding ? 1 : 0;
      compliance.Record(trucks[i].facts.trader.company, finding);
      hit_rates.Record(rs, assessments[i], s.reason == SelectionReason::kRandom, finding);
    }
  }
  HitRateReport report = hit_rates.Report(rs, 30);
  std::printf(
      "planted violations: %d trucks over %d days, %d violations (%.1f%%); capacity %d/day\n"
      "  random selection found %d violations in %d inspections (%.1f%%)\n"
      "  rules + learning found %d violations in %d inspections (%.1f%%): %.1fx random\n"
      "  random baseline hit rate %.3f; rules below random:",
      kDays * kTrucksPerDay, kDays, violations, 100.0 * violations / (kDays * kTrucksPerDay),
      kCapacity, found_random, kDays * kCapacity, 100.0 * found_random / (kDays * kCapacity),
      found_rules, inspected_rules, 100.0 * found_rules / std::max(1, inspected_rules),
      static_cast<double>(found_rules) / std::max(1, found_random), report.random_hit_rate);
  for (const auto& r : report.below_random) std::printf(" %s", r.c_str());
  std::printf("\n");
  EXPECT_EQ(inspected_rules, kDays * kCapacity);  // the same capacity, fully used
  EXPECT_GE(found_rules, 2 * found_random);
  EXPECT_GT(found_random, 0);
  // The useless rule is reported as worse than random selection.
  EXPECT_NE(std::find(report.below_random.begin(), report.below_random.end(), "many-packages"),
            report.below_random.end());
}

}  // namespace
}  // namespace borderflow::rules

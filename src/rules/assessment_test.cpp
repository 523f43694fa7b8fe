// Evaluation of every criterion and operator, the combination of fired rules, re-assessment,
// explanations, dry runs and the reproducible random selection.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/rules/assessment.h>

#include "program.h"

namespace borderflow::rules {
namespace {

const char* kSecret = "test-secret-0123456789";

RuleSet CompileOrDie(std::string_view text) {
  RuleCompileOptions o;
  o.secret = kSecret;
  auto r = CompileRuleSet(text, o);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return std::move(r).value();
}

std::string OneRule(std::string_view when, std::string_view then = "channel red",
                    std::string_view header = "") {
  return "ruleset \"t\" version 1\n" + std::string(header) + "rule \"r\" {\n  when " +
         std::string(when) + "\n  then " + std::string(then) +
         "\n  reason en \"e\" vi \"v\" zh \"z\"\n}\n";
}

// A durian truck from Vietnam to China by a known company.
RiskFacts Durian() {
  RiskFacts f;
  f.crossing_id = "CR-TEST0001";
  f.direction = "VN-CN";
  f.lane_class = "fresh_produce";
  f.from_country = "VN";
  f.to_country = "CN";
  f.perishable = true;
  f.lines.push_back(LineFacts{"08106000", "VN", 16000, 48000, 800});
  f.trader.company = "FRUITCO";
  f.trader.compliance_class = "B";
  f.trader.risk = 0.05;
  f.vehicle_plate = "12C12345";
  f.driver_document = "B1234567";
  f.phytosanitary = DocumentStatus::kValid;
  f.customs_declaration = DocumentStatus::kUnchecked;
  f.seal = SealStatus::kIntact;
  return f;
}

bool Fires(std::string_view when, const RiskFacts& f) {
  RuleSet rs = CompileOrDie(OneRule(when));
  return Assess(rs, f).channel == Channel::kRed;
}

struct Case {
  const char* when;
  bool expected;
};

void ExpectCases(const RiskFacts& f, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    EXPECT_EQ(Fires(c.when, f), c.expected) << c.when;
  }
}

TEST(Assess, HsCriteria) {
  ExpectCases(Durian(), {
                            {"hs.chapter == 08", true},
                            {"hs.chapter == 8", true},
                            {"hs.chapter != 08", false},
                            {"hs.chapter in [06..14]", true},
                            {"hs.chapter in [01..07, 09..97]", false},
                            {"hs.chapter not in [03]", true},
                            {"hs.heading == 0810", true},
                            {"hs.heading == 0804", false},
                            {"hs.heading in [0801..0814]", true},
                            {"hs.subheading == 081060", true},
                            {"hs.subheading == 081090", false},
                            {"hs.code == 08106000", true},
                            {"hs.code == 081060", false},
                            {"hs.code in [08106000..08106099]", true},
                            {"hs.code in [08106001..08106099]", false},
                        });
}

TEST(Assess, CountriesDirectionAndLaneClass) {
  ExpectCases(Durian(), {
                            {"origin == \"VN\"", true},
                            {"origin != \"VN\"", false},
                            {"origin in [\"TH\", \"VN\"]", true},
                            {"origin not in [\"TH\", \"VN\"]", false},
                            {"from == \"VN\" and destination == \"CN\"", true},
                            {"destination == \"VN\"", false},
                            {"direction == \"VN-CN\"", true},
                            {"direction == \"CN-VN\"", false},
                            {"lane_class == \"fresh_produce\"", true},  // interned (> 7 bytes)
                            {"lane_class == \"general_cargo\"", false},
                            {"lane_class in [\"general_cargo\", \"fresh_produce\"]", true},
                            {"perishable", true},
                            {"empty", false},
                            {"not empty", true},
                        });
}

TEST(Assess, TraderCriteria) {
  RiskFacts f = Durian();
  f.trader.inspections = 10;
  f.trader.findings = 3;
  f.trader.risk = 0.25;
  ExpectCases(f, {
                     {"trader.company == \"FRUITCO\"", true},
                     {"trader.company == \"OTHERCO\"", false},
                     {"trader.company == \"FRUITCO-HOLDINGS\"", false},
                     {"trader.class == \"B\"", true},
                     {"trader.class in [\"C\", \"D\"]", false},
                     {"trader.trusted", false},
                     {"not trader.trusted", true},
                     {"trader.trusted == no", true},
                     {"trader.risk > 0.2", true},
                     {"trader.risk > 25%", false},
                     {"trader.risk >= 25%", true},
                     {"trader.compliance < 80%", true},
                     {"trader.inspections == 10 and trader.findings >= 3", true},
                     {"trader.findings > 3", false},
                 });
  f.trader.trusted = true;
  f.trader.company = "A-VERY-LONG-COMPANY-ID";
  ExpectCases(f, {{"trader.trusted", true},
                  {"trader.trusted == yes", true},
                  {"trader.company == \"A-VERY-LONG-COMPANY-ID\"", true}});
}

TEST(Assess, UnknownNumbersNeverCompare) {
  RiskFacts f = Durian();
  f.trader.risk = kUnknown;
  ExpectCases(f, {{"trader.risk > 0.5", false},
                  {"trader.risk <= 0.5", false},
                  {"trader.risk != 0.5", false},
                  {"not trader.risk > 0.5", true},
                  {"weight.deviation > 1%", false},  // no weighbridge reading
                  {"weight.deviation <= 1%", false},
                  {"weight.measured >= 0", false},
                  {"not weighed", true}});
}

TEST(Assess, ValueAgainstReference) {
  const char* refs =
      "reference hs.heading 0810 unit_value 2 .. 5\n"
      "reference hs.subheading 081060 unit_value 4 .. 6\n";
  RiskFacts f = Durian();  // 48000 USD / 16000 kg = 3 USD/kg
  auto fires = [&](std::string_view when, const RiskFacts& facts) {
    return Assess(CompileOrDie(OneRule(when, "channel red", refs)), facts).channel == Channel::kRed;
  };
  EXPECT_TRUE(fires("unit_value < reference.min", f));  // the subheading (most specific) wins
  EXPECT_FALSE(fires("unit_value > reference.max", f));
  EXPECT_TRUE(fires("unit_value < reference.min * 0.8", f));   // 3 < 3.2
  EXPECT_FALSE(fires("unit_value < reference.min * 0.7", f));  // 3 < 2.8
  EXPECT_TRUE(fires("unit_value == 3 and value == 48000 and gross_weight == 16000", f));
  EXPECT_TRUE(fires("packages == 800 and lines == 1", f));
  f.lines[0].hs_code = "08109040";  // heading 0810 only: 2..5
  EXPECT_FALSE(fires("unit_value < reference.min", f));
  f.lines[0].hs_code = "08045010";  // no reference: unknown, never compares
  EXPECT_FALSE(fires("unit_value < reference.min", f));
  EXPECT_FALSE(fires("unit_value >= reference.min", f));
  f.lines[0].value_usd = kUnknown;  // a currency without a rate
  EXPECT_FALSE(fires("unit_value < 100", f));
  EXPECT_FALSE(fires("value > 0", f));
}

TEST(Assess, WeighbridgeCriteria) {
  RiskFacts f = Durian();
  f.weighbridge_kg = 17000;  // declared 16000: 6.25 %
  ExpectCases(f, {{"weighed", true},
                  {"weight.deviation > 5%", true},
                  {"weight.deviation > 7%", false},
                  {"weight.measured > weight.declared * 1.05", true},
                  {"weight.measured > weight.declared * 1.1", false},
                  {"weight.declared == 16000", true}});
  f.weighbridge_kg = 15000;  // deviation is absolute
  EXPECT_TRUE(Fires("weight.deviation > 5%", f));
  RiskFacts empty = Durian();
  empty.lines.clear();
  empty.weighbridge_kg = 2500;
  ExpectCases(empty, {{"empty and weight.measured > 500", true},
                      {"weight.deviation > 0", false},  // nothing declared: no deviation
                      {"weight.declared == 0", true}});
}

TEST(Assess, DocumentsSealHistoryWatchLists) {
  RiskFacts f = Durian();
  f.certificate_of_origin = DocumentStatus::kMissing;
  f.seal = SealStatus::kBroken;
  f.vehicle = HistoryFacts{40, 5, 2};
  f.driver = HistoryFacts{12, 1, 0};
  f.watchlists = {"stolen-vehicles"};
  ExpectCases(f, {
                     {"phyto == valid", true},
                     {"phytosanitary in [missing, invalid]", false},
                     {"origin_certificate == missing", true},
                     {"form_e == unchecked", false},
                     {"customs_declaration == unchecked", true},
                     {"seal == broken", true},
                     {"seal in [none, intact]", false},
                     {"vehicle.crossings == 40 and vehicle.inspections == 5", true},
                     {"vehicle.findings >= 2", true},
                     {"driver.crossings == 12 and driver.inspections == 1", true},
                     {"driver.findings >= 1", false},
                     {"vehicle.plate == \"12C12345\"", true},
                     {"driver.document == \"B1234567\"", true},
                     {"watchlist \"stolen-vehicles\"", true},
                     {"watchlist \"sanctioned-companies\"", false},
                 });
  RuleSet rs = CompileOrDie(
      "ruleset \"t\" version 1\nlist \"plates\" [\"29H99999\", \"12C12345\"]\n"
      "rule \"r\" { when vehicle.plate in list \"plates\" then channel red "
      "reason en \"e\" vi \"v\" zh \"z\" }");
  EXPECT_EQ(Assess(rs, f).channel, Channel::kRed);
  f.vehicle_plate = "12C12346";
  EXPECT_EQ(Assess(rs, f).channel, Channel::kGreen);
}

TEST(Assess, BooleanOperatorsAndPrecedence) {
  RiskFacts f = Durian();
  ExpectCases(f, {
                     {"origin == \"TH\" or hs.chapter == 08", true},
                     {"origin == \"TH\" and hs.chapter == 08", false},
                     {"origin == \"TH\" and hs.chapter == 08 or empty", false},
                     {"origin == \"VN\" or origin == \"TH\" and empty", true},  // and binds tighter
                     {"(origin == \"VN\" or origin == \"TH\") and empty", false},
                     {"not (origin == \"TH\" or empty)", true},
                     {"not not perishable", true},
                 });
}

TEST(Assess, LineConditionsHoldOnOneLine) {
  RiskFacts f = Durian();
  f.lines.push_back(LineFacts{"85171300", "CN", 100, 50000, 10});
  // Each line alone: no line is durian from China.
  EXPECT_FALSE(Fires("hs.subheading == 081060 and origin == \"CN\"", f));
  EXPECT_TRUE(Fires("hs.subheading == 081060 and origin == \"VN\"", f));
  EXPECT_TRUE(Fires("hs.chapter == 85 and origin == \"CN\"", f));
  EXPECT_TRUE(Fires("hs.chapter == 85 and direction == \"VN-CN\"", f));
  EXPECT_TRUE(Fires("origin == \"CN\" or hs.chapter == 03", f));  // not indexed by chapter
  RuleSet rs = CompileOrDie(OneRule("hs.chapter in [08, 85]"));
  Assessment a = Assess(rs, f);
  ASSERT_EQ(a.fired.size(), 1u);  // fires once, on the first line that satisfies it
  EXPECT_EQ(a.fired[0].line, 0);
  rs = CompileOrDie(OneRule("origin == \"CN\""));
  a = Assess(rs, f);
  ASSERT_EQ(a.fired.size(), 1u);
  EXPECT_EQ(a.fired[0].line, 1);
  rs = CompileOrDie(OneRule("trader.company == \"FRUITCO\""));
  EXPECT_EQ(Assess(rs, f).fired.at(0).line, -1);  // declaration level
}

TEST(Assess, TruckWithoutLines) {
  RiskFacts f = Durian();
  f.lines.clear();
  EXPECT_FALSE(Fires("hs.chapter == 08", f));
  EXPECT_TRUE(Fires("hs.chapter != 08", f));
  EXPECT_TRUE(Fires("origin != \"VN\"", f));
  EXPECT_FALSE(Fires("unit_value < 1000", f));
  EXPECT_TRUE(Fires("empty and lines == 0", f));
}

const char* kCombined = R"(ruleset "combo" version 3
threshold yellow 30
threshold red 60
rule "quarantine-fruit" {
  when hs.chapter == 08
  then quarantine yes, score 20
  reason en "fruit" vi "trái cây" zh "水果"
}
rule "yellow-doc" {
  when customs_declaration == unchecked
  then channel yellow, score 5
  reason en "doc" vi "tờ khai" zh "报关单"
}
rule "risky-trader" {
  when trader.risk > 0
  then score 100 * trader.risk
  reason en "risk" vi "rủi ro" zh "风险"
}
rule "trusted" {
  when trader.trusted
  then score -50
  reason en "trusted" vi "ưu tiên" zh "信用"
}
rule "seal" {
  when seal == broken
  then channel red, score 80, mandatory
  reason en "seal broken" vi "niêm phong hỏng" zh "封志损坏"
}
rule "weight" {
  when weight.deviation > 10%
  then channel red, score 50, mandatory
  reason en "weight" vi "khối lượng" zh "重量"
}
)";

TEST(Assess, ChannelScoreAndQuarantineCombine) {
  RuleSet rs = CompileOrDie(kCombined);
  RiskFacts f = Durian();  // risk 0.05: 20 + 5 + 5 = 30 -> yellow by threshold and by rule
  Assessment a = Assess(rs, f);
  EXPECT_EQ(a.channel, Channel::kYellow);
  EXPECT_TRUE(a.quarantine);
  EXPECT_DOUBLE_EQ(a.score, 30);
  EXPECT_EQ(a.mandatory_channel, Channel::kNone);
  ASSERT_EQ(a.fired.size(), 3u);
  EXPECT_EQ(a.fired[0], (FiredRule{0, 0, 20}));
  EXPECT_EQ(a.fired[1], (FiredRule{1, -1, 5}));
  EXPECT_EQ(a.fired[2].rule, 2u);
  EXPECT_DOUBLE_EQ(a.fired[2].score, 5);
  EXPECT_EQ(a.rule_set_version, 3u);
  EXPECT_EQ(a.rule_set_fingerprint, rs.fingerprint64());

  f.trader.risk = 0.4;  // 20 + 5 + 40 = 65 -> red by threshold
  a = Assess(rs, f);
  EXPECT_EQ(a.channel, Channel::kRed);
  EXPECT_EQ(a.mandatory_channel, Channel::kNone);

  f.trader.trusted = true;  // 65 - 50 = 15: the rules' own channel (yellow) still holds
  a = Assess(rs, f);
  EXPECT_EQ(a.channel, Channel::kYellow);
  EXPECT_DOUBLE_EQ(a.score, 15);

  f.seal = SealStatus::kBroken;
  a = Assess(rs, f);
  EXPECT_EQ(a.channel, Channel::kRed);
  EXPECT_EQ(a.mandatory_channel, Channel::kRed);

  RiskFacts quiet = Durian();
  quiet.lines.clear();
  quiet.customs_declaration = DocumentStatus::kValid;
  quiet.trader.risk = 0;
  a = Assess(rs, quiet);
  EXPECT_EQ(a.channel, Channel::kGreen);
  EXPECT_FALSE(a.quarantine);
  EXPECT_TRUE(a.fired.empty());
}

TEST(Assess, ReusedAssessmentIsReset) {
  RuleSet rs = CompileOrDie(kCombined);
  Assessment a;
  RiskFacts f = Durian();
  f.seal = SealStatus::kBroken;
  Assess(rs, f, &a);
  EXPECT_EQ(a.channel, Channel::kRed);
  RiskFacts quiet = Durian();
  quiet.lines.clear();
  quiet.trader.risk = 0;
  quiet.customs_declaration = DocumentStatus::kValid;
  Assess(rs, quiet, &a);
  EXPECT_EQ(a.channel, Channel::kGreen);
  EXPECT_EQ(a.mandatory_channel, Channel::kNone);
  EXPECT_TRUE(a.fired.empty());
  EXPECT_EQ(a.score, 0);
}

TEST(Assess, LearnedWeightsScaleScores) {
  RuleSet rs = CompileOrDie(kCombined);
  RiskFacts f = Durian();
  std::vector<double> w(rs.size(), 1.0);
  w[0] = 0.5;
  Assessment a = Assess(rs, f, w);
  EXPECT_DOUBLE_EQ(a.fired[0].score, 10);
  EXPECT_DOUBLE_EQ(a.score, 20);
}

TEST(Reassess, ChannelNeverFalls) {
  RuleSet rs = CompileOrDie(kCombined);
  RiskFacts f = Durian();
  Assessment first = Assess(rs, f);
  ASSERT_EQ(first.channel, Channel::kYellow);

  f.weighbridge_kg = 19000;  // 18.75% over: red, mandatory
  Assessment second = Reassess(rs, first, f);
  EXPECT_EQ(second.channel, Channel::kRed);
  EXPECT_EQ(second.mandatory_channel, Channel::kRed);
  EXPECT_FALSE(second.held_from_previous);
  EXPECT_EQ(second.previous_channel, Channel::kYellow);
  EXPECT_TRUE(rs.rule(second.fired.back().rule).name == "weight");

  f.weighbridge_kg = 16000;  // re-weighed, fine now: still red
  Assessment third = Reassess(rs, second, f);
  EXPECT_EQ(third.channel, Channel::kRed);
  EXPECT_EQ(third.mandatory_channel, Channel::kRed);
  EXPECT_TRUE(third.held_from_previous);
  EXPECT_GE(third.score, second.score);
  bool weight_kept = false;
  for (const auto& fr : third.fired) weight_kept |= rs.rule(fr.rule).name == "weight";
  EXPECT_TRUE(weight_kept);

  // Quarantine is sticky too.
  RiskFacts nofruit = Durian();
  nofruit.lines[0].hs_code = "85171300";
  Assessment q = Reassess(rs, first, nofruit);
  EXPECT_TRUE(q.quarantine);
  EXPECT_TRUE(q.held_from_previous);
}

TEST(Reassess, AcrossRuleSetVersions) {
  RuleSet v1 = CompileOrDie(kCombined);
  std::string text2 = kCombined;
  text2.replace(text2.find("version 3"), 9, "version 4");
  RuleSet v2 = CompileOrDie(text2);
  RiskFacts f = Durian();
  f.seal = SealStatus::kBroken;
  Assessment red = Assess(v1, f);
  f.seal = SealStatus::kIntact;
  Assessment again = Reassess(v2, red, f);
  EXPECT_EQ(again.channel, Channel::kRed);
  EXPECT_EQ(again.rule_set_version, 4u);
  EXPECT_EQ(again.previous_version, 3u);
  EXPECT_TRUE(again.held_from_previous);
  for (const auto& fr : again.fired) EXPECT_NE(v2.rule(fr.rule).name, "seal");
  auto e = Explain(v2, again);
  ASSERT_TRUE(e.has_value()) << e.error().ToString();
  EXPECT_NE(e->summary.en.find("previous decision (red, rule set version 3)"), std::string::npos)
      << e->summary.en;
}

TEST(Explain, NamesRulesReasonsAndVersion) {
  RuleSet rs = CompileOrDie(kCombined);
  RiskFacts f = Durian();
  f.seal = SealStatus::kBroken;
  Assessment a = Assess(rs, f);
  auto e = Explain(rs, a);
  ASSERT_TRUE(e.has_value()) << e.error().ToString();
  EXPECT_EQ(e->rule_set, "combo@3");
  EXPECT_EQ(e->fingerprint, rs.fingerprint());
  EXPECT_EQ(e->channel, Channel::kRed);
  ASSERT_EQ(e->rules.size(), 4u);
  EXPECT_EQ(e->rules[0].name, "quarantine-fruit");
  EXPECT_EQ(e->rules[0].consignment_line, 0);
  EXPECT_EQ(e->rules[0].reason.vi, "trái cây");
  EXPECT_EQ(e->rules[0].condition, "hs.chapter == 08");
  EXPECT_EQ(e->rules[0].source_line, 4);
  EXPECT_EQ(e->rules[3].name, "seal");
  EXPECT_TRUE(e->rules[3].mandatory);
  EXPECT_EQ(e->summary.en,
            "Red channel, quarantine inspection (score 110): quarantine-fruit, yellow-doc, "
            "risky-trader, seal.");
  EXPECT_EQ(e->summary.vi.rfind("Luồng đỏ, kiểm dịch (điểm 110)", 0), 0u) << e->summary.vi;
  EXPECT_EQ(e->summary.zh.rfind("红色通道，检疫查验（分数 110）", 0), 0u) << e->summary.zh;

  std::string json = ToJsonText(ExplanationToJson(*e));
  EXPECT_NE(json.find(R"("rule_set":"combo@3")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("name":"seal")"), std::string::npos) << json;
  EXPECT_NE(json.find("封志损坏"), std::string::npos);

  RuleSet other = CompileOrDie(OneRule("empty"));
  auto mismatch = Explain(other, a);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, "rule_set_mismatch");
}

TEST(Explain, GreenWithoutRules) {
  RuleSet rs = CompileOrDie(OneRule("empty"));
  Assessment a = Assess(rs, Durian());
  auto e = Explain(rs, a);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->summary.en, "Green channel (score 0): no rule fired.");
  EXPECT_EQ(e->summary.zh, "绿色通道（分数 0）：未触发任何规则。");
}

TEST(RandomSelection, ReproducibleKeyedAndAtTheRate) {
  RuleSet rs = CompileOrDie(OneRule("random 10%"));
  int fired = 0;
  const int n = 20000;
  RiskFacts f = Durian();
  std::vector<bool> first;
  for (int i = 0; i < n; ++i) {
    f.crossing_id = "CR-" + std::to_string(i);
    bool red = Assess(rs, f).channel == Channel::kRed;
    first.push_back(red);
    fired += red ? 1 : 0;
  }
  EXPECT_NEAR(fired / static_cast<double>(n), 0.10, 0.01);
  // The audit recomputation gives the same answer.
  for (int i = 0; i < 500; ++i) {
    std::string id = "CR-" + std::to_string(i);
    EXPECT_EQ(DrawWithin(RuleDraw(rs, 0, id), 0.10), first[static_cast<size_t>(i)]) << id;
  }
  // Same secret, same rule name: the same draws, even after a recompile.
  RuleSet again = CompileOrDie(OneRule("random 10%"));
  for (int i = 0; i < 200; ++i) {
    f.crossing_id = "CR-" + std::to_string(i);
    EXPECT_EQ(Assess(again, f).channel == Channel::kRed, first[static_cast<size_t>(i)]);
  }
  // Another secret gives other draws.
  RuleCompileOptions o;
  o.secret = "another-secret-9876543210";
  RuleSet other = std::move(CompileRuleSet(OneRule("random 10%"), o)).value();
  int same = 0;
  for (int i = 0; i < 2000; ++i) {
    f.crossing_id = "CR-" + std::to_string(i);
    same += (Assess(other, f).channel == Channel::kRed) == first[static_cast<size_t>(i)] ? 1 : 0;
  }
  EXPECT_LT(same, 1950);  // independent draws agree ~82% of the time at 10%
  EXPECT_EQ(KeyedDraw(kSecret, "r", "CR-1"), KeyedDraw(kSecret, "r", "CR-1"));
  EXPECT_NE(KeyedDraw(kSecret, "r", "CR-1"), KeyedDraw(kSecret, "s", "CR-1"));
  EXPECT_NE(KeyedDraw(kSecret, "r", "CR-1"), KeyedDraw("x" + std::string(kSecret), "r", "CR-1"));
  // A long secret is accepted (hashed down to a BLAKE2b key).
  EXPECT_NE(KeyedDraw(std::string(100, 'k'), "r", "CR-1"), 0u);
  EXPECT_TRUE(DrawWithin(0, 0.01));
  EXPECT_FALSE(DrawWithin(UINT64_MAX, 0.99));
  EXPECT_TRUE(DrawWithin(UINT64_MAX, 1.0));
  EXPECT_FALSE(DrawWithin(0, 0.0));
}

// Assess computes the crossing's keyed hash with its own BLAKE2b from a chaining value prepared
// per rule set; it must equal libsodium's keyed hash for every secret and id length (ids that
// fill the first block exactly, spill into a second, fill two).
TEST(RandomSelection, PreparedDrawEqualsKeyedDraw) {
  for (size_t secret_len : {16u, 23u, 64u, 65u, 100u}) {
    std::string secret(secret_len, 's');
    for (size_t i = 0; i < secret_len; ++i) secret[i] = static_cast<char>('a' + (i * 7) % 26);
    internal::RandomDrawState st = internal::PrepareRandomDraw(secret);
    for (size_t id_len : {0u, 1u, 11u, 100u, 101u, 102u, 128u, 228u, 229u, 230u, 400u}) {
      std::string id(id_len, 'x');
      for (size_t i = 0; i < id_len; ++i) id[i] = static_cast<char>('0' + (i * 3 + id_len) % 10);
      EXPECT_EQ(internal::CrossingKey(st, id), KeyedDraw(secret, "random", id))
          << secret_len << " " << id_len;
    }
  }
}

// Conditions with `or` and `not` over line and declaration fields, on a truck of several lines:
// a rule fires once, on the first line that satisfies it as a whole.
TEST(Assess, OrAndNotOverSeveralLines) {
  RiskFacts f = Durian();
  f.lines.push_back(LineFacts{"85171300", "CN", 100, 90000, 10});
  f.lines.push_back(LineFacts{"08106000", "TH", 1000, 500, 10});
  auto fired_line = [&](std::string_view when) {
    Assessment a = Assess(CompileOrDie(OneRule(when)), f);
    return a.fired.empty() ? -2 : a.fired[0].line;
  };
  EXPECT_EQ(fired_line("(hs.chapter == 85 or hs.chapter == 08) and origin != \"VN\""), 1);
  EXPECT_EQ(fired_line("hs.chapter == 08 and not (origin == \"VN\" or value > 1000)"), 2);
  EXPECT_EQ(fired_line("not (hs.chapter in [01..84] or direction == \"CN-VN\")"), 1);
  EXPECT_EQ(fired_line("hs.heading == 0810 and (trader.class == \"B\" or random 0%)"), 0);
  EXPECT_EQ(fired_line("hs.heading == 0810 and not (trader.class == \"B\" or random 0%)"), -2);
  EXPECT_EQ(fired_line("not (not trader.trusted) or origin == \"TH\""), 2);
  EXPECT_EQ(fired_line("hs.code in [0810000000..0810999999, 85171300]"), 1);
}

TEST(RandomSelection, AlwaysAndNever) {
  RiskFacts f = Durian();
  EXPECT_TRUE(Fires("random 100%", f));
  EXPECT_FALSE(Fires("random 0%", f));
  RuleSet rs = CompileOrDie(OneRule("random 100%"));
  EXPECT_TRUE(Assess(rs, f).random);
}

TEST(DryRun, ReportsWhatWouldChange) {
  RuleSet current = CompileOrDie(OneRule("hs.chapter == 08", "channel yellow"));
  RuleSet candidate = CompileOrDie(OneRule("hs.chapter == 08 and origin == \"VN\"", "channel red"));
  std::vector<RiskFacts> past(3, Durian());
  past[1].lines[0].origin = "TH";
  past[2].lines[0].hs_code = "85171300";
  DryRunReport r = DryRun(current, candidate, past);
  EXPECT_EQ(r.total, 3u);
  EXPECT_EQ(r.before[static_cast<int>(Channel::kYellow)], 2u);
  EXPECT_EQ(r.before[static_cast<int>(Channel::kGreen)], 1u);
  EXPECT_EQ(r.after[static_cast<int>(Channel::kRed)], 1u);
  EXPECT_EQ(r.after[static_cast<int>(Channel::kGreen)], 2u);
  EXPECT_EQ(r.changed, 2u);
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_EQ(r.changes[0].index, 0u);
  EXPECT_EQ(r.changes[0].after, Channel::kRed);
  EXPECT_EQ(r.changes[1].index, 1u);
  EXPECT_EQ(r.changes[1].after, Channel::kGreen);
  EXPECT_EQ(DryRun(current, candidate, past, 1).changes.size(), 1u);
}

TEST(RuleSetValue, CopiesShareTheCompiledProgram) {
  RuleSet a = CompileOrDie(kCombined);
  RuleSet b = a;
  EXPECT_EQ(&a.program(), &b.program());
  EXPECT_EQ(Assess(a, Durian()).channel, Assess(b, Durian()).channel);
}

}  // namespace
}  // namespace borderflow::rules

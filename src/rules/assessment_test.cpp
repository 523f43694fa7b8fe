// Evaluation of every criterion and operator, the combination of fired rules, re-assessment,
// explanations, dry runs and the reproducible random selection.

#include <bit>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/core/random.h>
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
    internal::RandomDrawState st = internal::PrepareRandomDraw(secret, DrawAlgorithm::kBlake2b);
    internal::RandomDrawState sip = internal::PrepareRandomDraw(secret, DrawAlgorithm::kSipHash24);
    for (size_t id_len : {0u, 1u, 11u, 100u, 101u, 102u, 128u, 228u, 229u, 230u, 400u}) {
      std::string id(id_len, 'x');
      for (size_t i = 0; i < id_len; ++i) id[i] = static_cast<char>('0' + (i * 3 + id_len) % 10);
      EXPECT_EQ(internal::CrossingKey(st, id), KeyedDraw(secret, "random", id))
          << secret_len << " " << id_len;
      EXPECT_EQ(internal::CrossingKey(sip, id),
                internal::SipHashDraw(internal::SipHashKey(secret), id))
          << secret_len << " " << id_len;
    }
  }
}

// The draw algorithm is part of the rule text (`random draw`, default blake2b). These values
// were computed before `random draw` existed (and agree with an independent BLAKE2b): a set
// stored then, recompiled from its text, draws exactly as it did when it decided.
constexpr std::string_view kAuditSecret = "borderflow-test-secret-0123456789";

std::string AuditRules(std::string_view header = "") {
  return "ruleset \"audit\" version 1\n" + std::string(header) +
         "rule \"random-check\" {\n  when random 50%\n  then channel red\n"
         "  reason en \"Random\" vi \"Ng\u1eabu nhi\u00ean\" zh \"\u968f\u673a\"\n}\n";
}

RuleSet CompileWith(std::string_view text, std::string_view secret) {
  RuleCompileOptions o;
  o.secret = std::string(secret);
  auto r = CompileRuleSet(text, o);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return std::move(r).value();
}

RiskFacts Crossing(std::string_view id) {
  RiskFacts f;
  f.crossing_id = std::string(id);
  return f;
}

TEST(DrawAlgorithm, StoredSetsKeepTheirBlake2bDraw) {
  RuleSet stored = CompileWith(AuditRules(), kAuditSecret);
  EXPECT_EQ(stored.draw(), DrawAlgorithm::kBlake2b);
  EXPECT_EQ(KeyedDraw(kAuditSecret, "random", "CR-1"), 0x15943c10b02c15c2ull);
  EXPECT_EQ(RuleDraw(stored, 0, "CR-1"), 0x6669321282883911ull);
  EXPECT_EQ(RuleDraw(stored, 0, "CR-2"), 0x1b753e868a99eff8ull);
  EXPECT_EQ(RuleDraw(stored, 0, "CR-20261129-000042"), 0x8638be70dc473587ull);
  EXPECT_EQ(Assess(stored, Crossing("CR-1")).channel, Channel::kRed);
  EXPECT_EQ(Assess(stored, Crossing("CR-2")).channel, Channel::kRed);
  EXPECT_EQ(Assess(stored, Crossing("CR-20261129-000042")).channel, Channel::kGreen);
  // Naming the default draws the same numbers (the text, so the fingerprint, differs).
  RuleSet named = CompileWith(AuditRules("random draw blake2b\n"), kAuditSecret);
  EXPECT_EQ(named.draw(), DrawAlgorithm::kBlake2b);
  EXPECT_NE(named.fingerprint(), stored.fingerprint());
  for (int i = 0; i < 200; ++i) {
    const std::string id = "CR-" + std::to_string(i);
    EXPECT_EQ(RuleDraw(named, 0, id), RuleDraw(stored, 0, id)) << id;
  }
}

// SipHash-2-4 of the crossing id under BLAKE2b-128(key = secret,
// "borderflow.rules.siphash24.random"); the values agree with an independent implementation.
TEST(DrawAlgorithm, SipHashIsKeyedAndReproducible) {
  RuleSet rs = CompileWith(AuditRules("random draw siphash24\n"), kAuditSecret);
  EXPECT_EQ(rs.draw(), DrawAlgorithm::kSipHash24);
  EXPECT_EQ(DrawAlgorithmName(rs.draw()), "siphash24");
  EXPECT_EQ(internal::SipHashDraw(internal::SipHashKey(kAuditSecret), "CR-1"),
            0xa675d817f493e3afull);
  EXPECT_EQ(RuleDraw(rs, 0, "CR-1"), 0xe37c1686f3a11050ull);
  EXPECT_EQ(RuleDraw(rs, 0, "CR-2"), 0xa703873ac17be8f4ull);
  EXPECT_EQ(RuleDraw(rs, 0, "CR-20261129-000042"), 0xd83c9db18a4b19cfull);

  RuleSet again = CompileWith(AuditRules("random draw siphash24\n"), kAuditSecret);
  RuleSet other_secret =
      CompileWith(AuditRules("random draw siphash24\n"), "another-secret-9876543210");
  RuleSet blake = CompileWith(AuditRules(), kAuditSecret);
  int red = 0, same_other = 0, same_blake = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const std::string id = "CR-" + std::to_string(i);
    const uint64_t d = RuleDraw(rs, 0, id);
    EXPECT_EQ(RuleDraw(again, 0, id), d) << id;  // deterministic for (crossing, secret)
    same_other += RuleDraw(other_secret, 0, id) == d ? 1 : 0;
    same_blake += RuleDraw(blake, 0, id) == d ? 1 : 0;
    const Assessment a = Assess(rs, Crossing(id));
    EXPECT_EQ(a.channel == Channel::kRed, DrawWithin(d, 0.5)) << id;  // the audit recomputation
    EXPECT_EQ(a.channel, Assess(again, Crossing(id)).channel) << id;
    red += a.channel == Channel::kRed ? 1 : 0;
  }
  EXPECT_EQ(same_other, 0);  // another secret: other draws
  EXPECT_EQ(same_blake, 0);  // another algorithm: other draws
  EXPECT_NEAR(red / static_cast<double>(n), 0.5, 0.03);
}

// A decision made by a stored (blake2b) set: after the node restarts (the set is compiled
// again from its stored text) the decision is explained and recomputed exactly; a copy of the
// text switched to siphash24 is another set and refuses to explain it.
TEST(DrawAlgorithm, ExplainReproducesADecisionOfAStoredSet) {
  const std::string text = R"(ruleset "stored" version 4
threshold red 50
rule "fruit" {
  when hs.chapter == 08 and random 30%
  then channel yellow, score 30
  reason en "Fruit check" vi "Kiểm tra trái cây" zh "水果检查"
}
rule "spot-check" {
  when not empty and random 20%
  then channel red, score 20
  reason en "Random" vi "Ngẫu nhiên" zh "随机"
}
)";
  RuleSet before = CompileWith(text, kAuditSecret);
  RuleSet reloaded = CompileWith(text, kAuditSecret);
  ASSERT_EQ(reloaded.draw(), DrawAlgorithm::kBlake2b);
  const size_t header_end = text.find('\n') + 1;
  RuleSet switched =
      CompileWith(text.substr(0, header_end) + "random draw siphash24\n" + text.substr(header_end),
                  kAuditSecret);
  int fired = 0;
  for (int i = 0; i < 300; ++i) {
    RiskFacts f = Durian();
    f.crossing_id = "CR-" + std::to_string(i);
    const Assessment a = Assess(before, f);
    fired += static_cast<int>(a.fired.size());
    const Assessment b = Assess(reloaded, f);
    EXPECT_EQ(b.channel, a.channel);
    EXPECT_EQ(b.fired, a.fired);
    EXPECT_EQ(b.score, a.score);
    EXPECT_EQ(b.rule_set_fingerprint, a.rule_set_fingerprint);
    for (const auto& r : a.fired) {
      EXPECT_TRUE(DrawWithin(RuleDraw(reloaded, r.rule, f.crossing_id), r.rule == 0 ? 0.3 : 0.2));
    }
    auto e = Explain(reloaded, a);
    ASSERT_TRUE(e) << e.error().ToString();
    EXPECT_EQ(e->rules.size(), a.fired.size());
    EXPECT_EQ(e->channel, a.channel);
    EXPECT_FALSE(Explain(switched, a));
  }
  EXPECT_GT(fired, 100);
}

// A generated rule set over every kind of test, and declarations to assess against it: the
// evaluation plan must decide them as it always did (the digest below was computed before the
// plan's candidate lists and literal kinds changed).
std::string MixedRules(uint64_t seed) {
  SeededRandom rng(seed);
  auto pick = [&](std::initializer_list<const char*> xs) {
    return std::string(xs.begin()[rng.Next64() % xs.size()]);
  };
  std::string out =
      "ruleset \"mixed\" version 3\nthreshold yellow 90\nthreshold red 130\n"
      "reference hs.heading 0810 unit_value 1 .. 20\nreference hs.subheading 851713 unit_value "
      "30 .. 900\nlist \"plates\" [\"12C99999\", \"LONGPLATE-001\"]\n"
      "list \"firms\" [\"FRUITCO\", \"COMPANY-7\", \"SEAFOOD-TRADING-LTD\"]\n";
  for (int i = 0; i < 120; ++i) {
    std::vector<std::string> atoms;
    const int n = 3;
    for (int k = 0; k < n; ++k) {
      switch (rng.Next64() % 22) {
        case 0:
          atoms.push_back("hs.chapter == " + pick({"08", "03", "85", "07"}));
          break;
        case 1:
          atoms.push_back("hs.heading in [" + pick({"0810", "0306", "8517"}) + ", 8471]");
          break;
        case 2:
          atoms.push_back("hs.subheading == " + pick({"081060", "851713", "030617"}));
          break;
        case 3:
          atoms.push_back("hs.chapter in [" + pick({"06..14", "84..85", "01..99"}) + "]");
          break;
        case 4:
          atoms.push_back("origin " + pick({"==", "!="}) + " \"" + pick({"VN", "CN", "TH"}) + "\"");
          break;
        case 5:
          atoms.push_back("origin " + pick({"in", "not in"}) + " [\"VN\", \"LA\"]");
          break;
        case 6:
          atoms.push_back("direction == \"" + pick({"VN-CN", "CN-VN"}) + "\"");
          break;
        case 7:
          atoms.push_back("lane_class != \"fresh_produce\"");
          break;
        case 8:
          atoms.push_back("trader.class in [\"C\", \"D\"]");
          break;
        case 9:
          atoms.push_back("trader.company " +
                          pick({"in list \"firms\"", "== \"SEAFOOD-TRADING-LTD\""}));
          break;
        case 10:
          atoms.push_back("trader.risk > 0." + std::to_string(1 + rng.Next64() % 4));
          break;
        case 11:
          atoms.push_back(pick({"not trader.trusted", "perishable", "not empty", "weighed"}));
          break;
        case 12:
          atoms.push_back("weight.deviation > " + std::to_string(2 + rng.Next64() % 10) + "%");
          break;
        case 13:
          atoms.push_back("unit_value " + pick({"<", ">"}) + " reference." + pick({"min", "max"}) +
                          " * 0." + std::to_string(5 + rng.Next64() % 5));
          break;
        case 14:
          atoms.push_back(pick({"value", "gross_weight", "packages"}) + " " +
                          pick({">", "<=", "!="}) + " " + std::to_string(rng.Next64() % 20000));
          break;
        case 15:
          atoms.push_back("phyto in [missing, invalid]");
          break;
        case 16:
          atoms.push_back("seal " + pick({"==", "!="}) + " broken");
          break;
        case 17:
          atoms.push_back("(vehicle.plate in list \"plates\" or watchlist \"stolen\")");
          break;
        case 18:
          atoms.push_back("vehicle.findings >= " + std::to_string(1 + rng.Next64() % 2));
          break;
        case 19:
          atoms.push_back("random " + std::to_string(5 + rng.Next64() % 40) + "%");
          break;
        case 20:
          atoms.push_back("not (hs.chapter == 08 or origin == \"CN\")");
          break;
        default:
          atoms.push_back("(trader.findings > 2 or driver.findings > 1) and not seal == none");
          break;
      }
    }
    std::string when;
    for (size_t k = 0; k < atoms.size(); ++k) {
      if (k > 0) when += rng.Next64() % 6 == 0 ? " or " : " and ";
      when += atoms[k];
    }
    const uint64_t c = rng.Next64() % 40;
    std::string then = c < 34   ? ""
                       : c < 37 ? "channel yellow, "
                       : c < 38 ? "channel red, "
                                : "channel green, ";
    then += rng.Next64() % 2 == 0 ? "score " + std::to_string(1 + rng.Next64() % 5)
                                  : "score 1 + 9.7 * trader.risk";
    if (rng.Next64() % 5 == 0) then += ", quarantine yes";
    const bool random = when.find("random") != std::string::npos;
    if (!random && c >= 34 && c < 38 && rng.Next64() % 2 == 0) {
      then += ", mandatory";
    }
    out += "rule \"m" + std::to_string(i) + "\" {\n  when " + when + "\n  then " + then +
           "\n  reason en \"e\" vi \"v\" zh \"z\"\n}\n";
  }
  return out;
}

std::vector<RiskFacts> MixedFacts(uint64_t seed, size_t count) {
  SeededRandom rng(seed);
  const char* hs[] = {"08106000", "08109040", "03061719", "85171300", "84713020",
                      "07099990", "0810",     "",         "40012200"};
  const char* origins[] = {"VN", "CN", "TH", "LA", ""};
  std::vector<RiskFacts> out;
  for (size_t i = 0; i < count; ++i) {
    RiskFacts f;
    f.crossing_id = "CR-MIX" + std::to_string(i);
    const bool vn_cn = rng.Next64() % 2 == 0;
    f.direction = vn_cn ? "VN-CN" : "CN-VN";
    f.from_country = vn_cn ? "VN" : "CN";
    f.to_country = vn_cn ? "CN" : "VN";
    f.lane_class = rng.Next64() % 3 == 0 ? "fresh_produce" : "general_cargo";
    f.perishable = f.lane_class == "fresh_produce";
    const size_t lines = rng.Next64() % 4;
    for (size_t l = 0; l < lines; ++l) {
      const double kg = static_cast<double>(rng.Next64() % 20000);
      f.lines.push_back(LineFacts{
          hs[rng.Next64() % std::size(hs)], origins[rng.Next64() % std::size(origins)], kg,
          kg * static_cast<double>(rng.Next64() % 60), static_cast<int64_t>(rng.Next64() % 1000)});
    }
    const char* firms[] = {"FRUITCO", "COMPANY-7", "SEAFOOD-TRADING-LTD", "OTHER-FIRM"};
    f.trader.company = firms[rng.Next64() % std::size(firms)];
    f.trader.compliance_class = std::string(1, static_cast<char>('A' + rng.Next64() % 4));
    f.trader.trusted = rng.Next64() % 5 == 0;
    f.trader.risk = static_cast<double>(rng.Next64() % 1000) / 2000.0;
    f.trader.findings = static_cast<int64_t>(rng.Next64() % 4);
    f.vehicle_plate =
        rng.Next64() % 10 == 0 ? "LONGPLATE-001" : "12C" + std::to_string(rng.Next64() % 100000);
    f.vehicle.findings = static_cast<int64_t>(rng.Next64() % 3);
    f.driver.findings = static_cast<int64_t>(rng.Next64() % 3);
    if (rng.Next64() % 2 == 0) {
      double declared = 0;
      for (const auto& l : f.lines) declared += l.gross_weight_kg;
      f.weighbridge_kg = declared * (0.9 + static_cast<double>(rng.Next64() % 200) / 1000.0);
    }
    f.phytosanitary = static_cast<DocumentStatus>(rng.Next64() % 4);
    f.seal = static_cast<SealStatus>(rng.Next64() % 3);
    if (rng.Next64() % 10 == 0) f.watchlists.push_back("stolen");
    out.push_back(std::move(f));
  }
  return out;
}

// FNV-1a over every decision: channel, flags, score bits, fired rules with line and score.
uint64_t DecisionDigest(const RuleSet& rs, const std::vector<RiskFacts>& facts) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  Assessment a;
  for (const auto& f : facts) {
    Assess(rs, f, &a);
    mix(static_cast<uint64_t>(a.channel));
    mix(static_cast<uint64_t>(a.mandatory_channel));
    mix(a.quarantine);
    mix(a.random);
    mix(std::bit_cast<uint64_t>(a.score));
    mix(a.fired.size());
    for (const auto& r : a.fired) {
      mix(r.rule);
      mix(static_cast<uint64_t>(static_cast<int64_t>(r.line)));
      mix(std::bit_cast<uint64_t>(r.score));
    }
  }
  return h;
}

// The evaluation plan decides a generated set over every kind of test (line and declaration
// fields, `!=`, `not in`, sets, lists, watch lists, fields against fields, `or`, `not`, random
// draws, learned-looking fractional scores) exactly as it did before its candidate lists and
// literal kinds were reworked for speed: the digest of 3,000 decisions was computed then.
TEST(Assess, GeneratedSetDecidesAsBefore) {
  RuleSet rs = CompileOrDie(MixedRules(7));
  ASSERT_EQ(rs.draw(), DrawAlgorithm::kBlake2b);
  EXPECT_EQ(DecisionDigest(rs, MixedFacts(11, 3000)), 0x77a66456e00e6152ull);
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

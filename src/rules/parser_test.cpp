// The rule language: what compiles, and where refused text is refused (line and column).

#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/core/hs_code.h>
#include <borderflow/rules/rule_set.h>

namespace borderflow::rules {
namespace {

const char* kSecret = "test-secret-0123456789";

RuleCompileOptions Options() {
  RuleCompileOptions o;
  o.secret = kSecret;
  return o;
}

Result<RuleSet> Compile(std::string_view text) { return CompileRuleSet(text, Options()); }

// A rule set with one rule whose condition is `when`.
std::string OneRule(std::string_view when, std::string_view then = "channel red") {
  return "ruleset \"t\" version 1\nrule \"r\" {\n  when " + std::string(when) + "\n  then " +
         std::string(then) + "\n  reason en \"e\" vi \"v\" zh \"z\"\n}\n";
}

// Expects `text` to be refused at line:column with a message containing `what`.
void ExpectError(std::string_view text, int line, int column, std::string_view what) {
  auto r = Compile(text);
  ASSERT_FALSE(r.has_value()) << text;
  EXPECT_EQ(r.error().code, "invalid_rules") << r.error().ToString();
  auto pos = ErrorPosition(r.error());
  ASSERT_TRUE(pos.has_value()) << r.error().ToString();
  EXPECT_EQ(pos->line, line) << r.error().ToString();
  EXPECT_EQ(pos->column, column) << r.error().ToString();
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.rfind(
                "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ", 0),
            0u)
      << r.error().message;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RuleParser, ExampleRuleSetCompilesAgainstHs2022) {
  std::string text = ReadFile(std::string(BORDERFLOW_SOURCE_DIR) + "/rules/huu-nghi.rules");
  ASSERT_FALSE(text.empty());
  RuleCompileOptions o = Options();
  o.hs = HsNomenclature::Hs2022().get();
  auto r = CompileRuleSet(text, o);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->name(), "huu-nghi");
  EXPECT_EQ(r->version(), 1u);
  EXPECT_EQ(r->Id(), "huu-nghi@1");
  EXPECT_EQ(r->fingerprint().size(), 64u);
  EXPECT_GT(r->size(), 15u);
  auto i = r->FindRule("durian-quarantine");
  ASSERT_TRUE(i.has_value());
  const RuleInfo& info = r->rule(*i);
  EXPECT_EQ(info.channel, Channel::kYellow);
  EXPECT_TRUE(info.quarantine);
  EXPECT_FALSE(info.mandatory);
  EXPECT_EQ(info.score, 30);
  EXPECT_EQ(info.condition,
            "hs.subheading == 081060 and origin == \"VN\" and direction == \"VN-CN\"");
  EXPECT_EQ(info.reason.zh, "输华鲜榴莲须查验注册果园和包装厂的检疫情况");
  EXPECT_TRUE(r->rule(*r->FindRule("phyto-missing")).mandatory);
  EXPECT_TRUE(r->rule(*r->FindRule("random-check")).random);
  EXPECT_EQ(r->settings().red_threshold, 80);
  EXPECT_EQ(r->settings().yellow_threshold, 30);
  EXPECT_DOUBLE_EQ(r->settings().min_random_rate, 0.01);
  EXPECT_DOUBLE_EQ(*r->settings().expected_red_rate, 0.08);
}

TEST(RuleParser, EveryCriterionAndOperatorCompiles) {
  const char* conditions[] = {
      "hs.chapter in [08]",
      "hs.chapter in [06..14, 44]",
      "hs.chapter == 8",
      "hs.heading == 0810",
      "hs.heading not in [0801..0804]",
      "hs.subheading == 081060",
      "hs.subheading == \"081060\"",
      "hs.code == 0810600000",
      "hs.code in [08106000..08106099]",
      "origin == \"VN\"",
      "origin != \"CN\"",
      "from == \"VN\" and destination == \"CN\"",
      "export_country == \"VN\"",
      "direction == \"VN-CN\"",
      "lane_class in [\"fresh_produce\", \"general_cargo\"]",
      "trader.company == \"FRUITCO\"",
      "trader.company == \"A-VERY-LONG-COMPANY-ID\"",
      "trader.class in [\"C\", \"D\"]",
      "trader.trusted",
      "not trader.trusted",
      "trader.trusted == no",
      "trader.risk > 0.2",
      "trader.compliance < 90%",
      "trader.inspections >= 10 and trader.findings >= 3",
      "vehicle.crossings > 100",
      "vehicle.inspections > 1 and vehicle.findings >= 1",
      "driver.crossings >= 0 and driver.inspections >= 0 and driver.findings >= 2",
      "vehicle.plate == \"12C12345\"",
      "driver.document == \"B1234567\"",
      "weight.deviation > 5%",
      "weight.measured > weight.declared * 1.05",
      "weight.measured <= 500",
      "weight.declared == 0",
      "weighed",
      "lines >= 3",
      "unit_value < reference.min",
      "unit_value > reference.max * 1.5",
      "unit_value < 0.5",
      "value > 100000",
      "gross_weight >= 20000",
      "packages != 0",
      "phyto in [missing, invalid]",
      "phytosanitary == valid",
      "origin_certificate == unchecked",
      "form_e != valid",
      "customs_declaration == missing",
      "seal == broken",
      "empty",
      "perishable",
      "watchlist \"stolen-vehicles\"",
      "random 5%",
      "random 0.5%",
      "random 100%",
      "(origin == \"VN\" or origin == \"TH\") and not (hs.chapter == 08)",
      "weight.deviation > -1",
  };
  for (const char* c : conditions) {
    auto r = Compile(OneRule(c));
    EXPECT_TRUE(r.has_value()) << c << ": " << r.error().ToString();
  }
}

TEST(RuleParser, ActionsScoresAndHeader) {
  auto r = Compile(R"(# comment
ruleset "x" version 42   # trailing comment
threshold yellow 10
threshold red 20.5
random minimum 0.5%
expected yellow 12%
list "l" ["A", "B"]
reference hs.code 0810600000 unit_value 0.5 .. 1.5
rule "a.b_c-1" {
  when trader.company in list "l"
  then score 20 + 100 * trader.risk - trader.findings * 2, quarantine no
  reason en "x" vi "y" zh "z"
}
rule "neg" { when empty then score -5 reason en "e" vi "v" zh "z" }
)");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->version(), 42u);
  EXPECT_EQ(r->Id(), "x@42");
  EXPECT_EQ(r->rule(0).score, 20);
  EXPECT_EQ(r->rule(0).channel, Channel::kNone);
  EXPECT_EQ(r->rule(1).score, -5);
  EXPECT_EQ(r->rule(1).line, 14);
  EXPECT_DOUBLE_EQ(r->settings().min_random_rate, 0.005);
  EXPECT_DOUBLE_EQ(*r->settings().red_threshold, 20.5);
}

TEST(RuleParser, RandomDraw) {
  auto blake = Compile(OneRule("random 5%"));
  ASSERT_TRUE(blake.has_value()) << blake.error().ToString();
  EXPECT_EQ(blake->draw(), DrawAlgorithm::kBlake2b);  // a file without `random draw`
  auto sip = Compile("ruleset \"t\" version 1\nrandom minimum 1%\nrandom draw siphash24\n");
  ASSERT_TRUE(sip.has_value()) << sip.error().ToString();
  EXPECT_EQ(sip->draw(), DrawAlgorithm::kSipHash24);
  EXPECT_DOUBLE_EQ(sip->settings().min_random_rate, 0.01);
  EXPECT_EQ(ParseDrawAlgorithm("blake2b"), DrawAlgorithm::kBlake2b);
  EXPECT_EQ(ParseDrawAlgorithm("sha1"), std::nullopt);
  ExpectError("ruleset \"t\" version 1\nrandom draw md5\n", 2, 13,
              "unknown random draw 'md5' (expected blake2b or siphash24)");
  ExpectError("ruleset \"t\" version 1\nrandom draw blake2b\nrandom draw siphash24\n", 3, 1,
              "'random draw' given twice");
  ExpectError("ruleset \"t\" version 1\nrandom draw 5%\n", 2, 13, "blake2b or siphash24");
  ExpectError("ruleset \"t\" version 1\nrandom maximum 5%\n", 2, 8,
              "'random minimum N%' or 'random draw NAME'");
}

TEST(RuleParser, ReasonLanguagesCanBeOptional) {
  std::string text =
      "ruleset \"t\" version 1\nrule \"r\" { when empty then channel yellow\n"
      "reason en \"only English\" }";
  ExpectError(text, 3, 1, "missing vi");
  RuleCompileOptions o = Options();
  o.require_all_languages = false;
  EXPECT_TRUE(CompileRuleSet(text, o).has_value());
}

TEST(RuleParser, FingerprintFollowsTheText) {
  auto a = Compile(OneRule("empty"));
  auto b = Compile(OneRule("empty") + "# changed\n");
  auto c = Compile(OneRule("empty"));
  ASSERT_TRUE(a && b && c);
  EXPECT_NE(a->fingerprint(), b->fingerprint());
  EXPECT_EQ(a->fingerprint(), c->fingerprint());
  EXPECT_EQ(a->fingerprint64(), c->fingerprint64());
}

TEST(RuleParser, WeakSecretIsRefused) {
  RuleCompileOptions o;
  o.secret = "short";
  auto r = CompileRuleSet(OneRule("empty"), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "weak_secret");
  EXPECT_FALSE(ErrorPosition(r.error()).has_value());
}

TEST(RuleParser, SyntaxErrorsGiveLineAndColumn) {
  ExpectError("", 1, 1, "ruleset");
  ExpectError("rule \"r\" {}", 1, 1, "a rule file starts with");
  ExpectError("ruleset \"t\"\nversion 0", 2, 9, "whole number");
  ExpectError("ruleset \"t\" version 1.5", 1, 21, "whole number");
  ExpectError("ruleset \"t\" version 1\nrules \"r\"", 2, 1, "expected 'rule'");
  ExpectError("ruleset \"t\" version 1\nrule r {", 2, 6, "rule name in double quotes");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" {\n  when origin = \"VN\"", 3, 15,
              "compare with '=='");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" {\n  when origin == \"VN\n", 3, 18,
              "unterminated string");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" {\n  when origin == \"VN\" then\n}", 4, 1,
              "expected 'channel'");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" {\n  when origin == \"VN\" channel red", 3, 23,
              "expected 'and', 'or' or 'then'");
  ExpectError(OneRule("origin == \"VN\" and"), 4, 3, "expected a condition");
  ExpectError(OneRule("(empty"), 4, 3, "expected ')'");
  ExpectError(OneRule("random 5"), 3, 15, "percentage");
  ExpectError(OneRule("random 150%"), 3, 15, "cannot exceed 100%");
  ExpectError(OneRule("hs.chapter in [08"), 4, 3, "expected ',' or ']'");
  ExpectError(OneRule("empty", "channel purple"), 4, 16, "'green', 'yellow' or 'red'");
  ExpectError(OneRule("empty", "quarantine maybe"), 4, 19, "'yes' or 'no'");
  ExpectError(OneRule("empty", "channel red, channel red"), 4, 21, "channel given twice");
  ExpectError(OneRule("empty", "score"), 5, 3, "expected a score");
  ExpectError(OneRule("empty", "score 5 *"), 5, 3, "field after '*'");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" { when empty then channel red }", 2, 40,
              "expected ',' or 'reason'");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" { when empty then channel red reason }", 2, 47,
              "expected a language");
  ExpectError(
      "ruleset \"t\" version 1\nrule \"r\" { when empty then channel red reason en \"a\" en "
      "\"b\" }",
      2, 54, "reason 'en' given twice");
  ExpectError("ruleset \"t\" version 1\n@", 2, 1, "unexpected character '@'");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" { when origin == \"\\q\" }", 2, 28,
              "unknown escape");
  ExpectError("ruleset \"t\" version 1\nthreshold blue 5", 2, 11, "'yellow' or 'red'");
  ExpectError("ruleset \"t\" version 1\nthreshold red 5\nthreshold red 6", 3, 11,
              "threshold given twice");
  ExpectError("ruleset \"t\" version 1\nlist \"l\" [\"a\" \"b\"]", 2, 15, "expected ',' or ']'");
  ExpectError("ruleset \"t\" version 1\nreference hs.heading 0810 unit_value 5 .. 1", 2, 43,
              "maximum is below the minimum");
  ExpectError(OneRule("12abc"), 3, 10, "number must not run into a word");
  ExpectError("ruleset \"t\" version 1\nrule \"r\" { when vị", 2, 18, "non-ASCII");
}

TEST(RuleParser, SemanticErrorsGiveLineAndColumn) {
  ExpectError(OneRule("colour == \"red\""), 3, 8, "unknown field 'colour'");
  ExpectError(OneRule("origin == VN"), 3, 18, "text in double quotes");
  ExpectError(OneRule("origin == \"Vietnam\""), 3, 18, "two capital letters");
  ExpectError(OneRule("origin < \"VN\""), 3, 8, "only be compared with == and !=");
  ExpectError(OneRule("hs.chapter == 100"), 3, 22, "takes 2 digits");
  ExpectError(OneRule("hs.chapter == 00"), 3, 22, "chapter 00 does not exist");
  ExpectError(OneRule("hs.heading == 810"), 3, 22, "takes 4 digits");
  ExpectError(OneRule("hs.heading in [0801..0701]"), 3, 23, "ends before it starts");
  ExpectError(OneRule("hs.code in [081060..08106099]"), 3, 20, "same number of digits");
  ExpectError(OneRule("hs.subheading == \"08 10 60\""), 3, 25, "not an HS code");
  ExpectError(OneRule("trader.risk == \"high\""), 3, 23, "is a number");
  ExpectError(OneRule("trader.risk in [1, 2]"), 3, 8, "cannot be used with 'in'");
  ExpectError(OneRule("trader.risk > origin"), 3, 22, "origin is not a number");
  ExpectError(OneRule("trader.trusted == maybe"), 3, 26, "yes or no");
  ExpectError(OneRule("phyto == expired"), 3, 17, "missing, unchecked, valid, invalid");
  ExpectError(OneRule("seal in [intact, cut]"), 3, 25, "none, intact, broken");
  ExpectError(OneRule("origin"), 3, 8, "not a yes/no field");
  ExpectError(OneRule("origin in list \"nope\""), 3, 23, "no list named \"nope\"");
  ExpectError(OneRule("origin in [\"VN\", 12]"), 3, 25, "text in double quotes");
  ExpectError(OneRule("lane_class in [\"a\"..\"b\"]"), 3, 26, "expected ',' or ']'");
  ExpectError(OneRule("origin == \"VN\" * 2"), 3, 23, "expected 'and', 'or' or 'then'");
  ExpectError(OneRule("empty", "mandatory"), 4, 8, "must set channel yellow or red");
  ExpectError(OneRule("random 5%", "channel red, mandatory"), 4, 21, "cannot select at random");
  ExpectError(OneRule("empty", "quarantine no"), 2, 1, "sets no channel, quarantine or score");
  ExpectError(OneRule("empty", "score 10 * origin"), 4, 19, "origin is not a number");
  ExpectError(
      "ruleset \"t\" version 1\nrule \"has space\" { when empty then channel red "
      "reason en \"a\" vi \"b\" zh \"c\" }",
      2, 6, "no spaces");
  ExpectError(OneRule("empty") +
                  "rule \"r\" { when empty then channel red reason en \"a\" vi "
                  "\"b\" zh \"c\" }",
              7, 6, "rule \"r\" defined twice");
  ExpectError("ruleset \"t\" version 1\nlist \"l\" []\nlist \"l\" []", 3, 1, "defined twice");
  ExpectError("ruleset \"t\" version 1\nreference origin 08 unit_value 1 .. 2", 2, 11,
              "expected hs.chapter");
  // At the threshold line that contradicts the other (it was 1:1, the file's start).
  ExpectError("ruleset \"t\" version 1\nthreshold yellow 50\nthreshold red 40", 3, 1,
              "yellow is above threshold red");
  ExpectError("ruleset \"t\" version 1\nthreshold red 40\n\nthreshold yellow 50", 4, 1,
              "yellow is above threshold red");
}

// Bounds that make a rule set select every truck, and names that cannot be activated.
TEST(RuleParser, ThresholdsRandomMinimumAndSetNamesAreBounded) {
  ExpectError("ruleset \"t\" version 1\nthreshold yellow -10\nthreshold red -5", 2, 1,
              "threshold yellow must be above 0");
  ExpectError("ruleset \"t\" version 1\n\nthreshold red 0", 3, 1, "threshold red must be above 0");
  ExpectError("ruleset \"t\" version 1\nthreshold red 20\nrandom minimum 100%", 3, 1,
              "random minimum is at most 50%");
  EXPECT_TRUE(Compile("ruleset \"t\" version 1\nrandom minimum 50%").has_value());
  for (const char* name : {"a/b", "my rules", "Huu-Nghi", "-x", ".x", "x@1", "x%2F", ""}) {
    ExpectError(fmt::format("ruleset \"{}\" version 1\n", name), 1, 9,
                name[0] == 0 ? "1 to 64 characters" : "a rule set name has 1 to 64 of a-z");
  }
  EXPECT_TRUE(Compile("ruleset \"huu-nghi.v2_b\" version 1\n").has_value());
  EXPECT_TRUE(Compile("ruleset \"2026.harvest\" version 1\n").has_value());
  // A set stored by an earlier version still compiles (a node must start with its active set).
  RuleCompileOptions stored = Options();
  stored.stored = true;
  EXPECT_TRUE(CompileRuleSet("ruleset \"a b\" version 1\nthreshold red -5\n", stored));
}

TEST(RuleParser, TheSetNamesTheWatchListsItAsksFor) {
  auto set = Compile(
      "ruleset \"t\" version 1\n"
      "rule \"a\" { when watchlist \"stolen\" or watchlist \"sanctioned\" then channel red "
      "reason en \"a\" vi \"b\" zh \"c\" }\n"
      "rule \"b\" { when watchlist \"stolen\" then score 5 reason en \"a\" vi \"b\" zh \"c\" }\n");
  ASSERT_TRUE(set) << set.error().ToString();
  EXPECT_EQ(set->watchlists(), (std::vector<std::string>{"stolen", "sanctioned"}));
}

TEST(RuleParser, UnknownHsCodesAreRefusedWithANomenclature) {
  RuleCompileOptions o = Options();
  o.hs = HsNomenclature::Hs2022().get();
  auto r = CompileRuleSet(OneRule("hs.heading == 0899"), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "3:22");
  EXPECT_NE(r.error().message.find("'0899' is not in the nomenclature"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(CompileRuleSet(OneRule("hs.heading == 0810"), o).has_value());
  EXPECT_TRUE(Compile(OneRule("hs.heading == 0899")).has_value());  // no nomenclature given
}

TEST(RuleParser, DeepNestingIsRefusedNotOverflowed) {
  std::string deep(100000, '(');
  auto r = Compile(OneRule(deep));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 50000; ++i) nots += "not ";
  r = Compile(OneRule(nots + "empty"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);
}

TEST(RuleParser, SizeLimitsAreEnforced) {
  RuleCompileOptions o = Options();
  o.max_bytes = 10;
  EXPECT_FALSE(CompileRuleSet(OneRule("empty"), o).has_value());
  o = Options();
  o.max_rules = 1;
  std::string two = OneRule("empty") +
                    "rule \"s\" { when empty then channel red reason en \"a\" vi \"b\" zh \"c\" }";
  auto r = CompileRuleSet(two, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too many rules"), std::string::npos);
}

}  // namespace
}  // namespace borderflow::rules

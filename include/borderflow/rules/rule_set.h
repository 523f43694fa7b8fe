#pragma once

// Versioned selectivity rule sets: text in the rule language (docs in rules/README.md and the
// grammar at the top of src/rules/parser.cpp), compiled once into an immutable value that the
// evaluator (assessment.h) runs without any string comparison.
//
//   ruleset "huu-nghi" version 7
//   threshold red 70
//   rule "durian-quarantine" {
//     when hs.heading == 0810 and origin == "VN" and direction == "VN-CN"
//     then quarantine yes, channel yellow, score 40
//     reason en "Fresh fruit needs a phytosanitary check"
//            vi "Trái cây tươi cần kiểm dịch thực vật" zh "鲜果需要植物检疫"
//   }
//
// A RuleSet is either completely compiled or not built at all (CompileRuleSet returns an error),
// so a decision can never use a half-loaded rule set. It is cheap to copy (shared immutable
// state) and safe to use from any number of threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/hs_code.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/gate_config.h>

namespace borderflow::rules {

// The largest rule file accepted (upload, dry run, `bf rules check`): it must fit, as a JSON
// string, in the API's 1 MiB request body, with room for escaped quotes and line breaks.
inline constexpr size_t kMaxRuleSetTextBytes = 768 << 10;

struct RuleCompileOptions {
  // Key of the reproducible random selection (random N%, the capacity plan's random quota):
  // at least 16 bytes, kept secret from traders. Two sets compiled with the same secret draw the
  // same numbers for the same crossing and rule.
  std::string secret;
  // When set, every HS chapter, heading, subheading and code in the rules must exist in it.
  const HsNomenclature* hs = nullptr;
  // Every rule must give its reason in Vietnamese, Chinese and English.
  bool require_all_languages = true;
  size_t max_bytes = kMaxRuleSetTextBytes;
  size_t max_rules = 20000;
  // A set stored by an earlier version: its name may be any 1 to 64 characters (new sets use
  // [a-z0-9][a-z0-9._-]*, so that the id "NAME@VERSION" is one safe URL path segment).
  bool stored = false;
};

// One rule as written, for explanations, reports and the API.
struct RuleInfo {
  std::string name;                  // "durian-quarantine", unique within the set
  int line = 0;                      // where the rule starts in the source
  Channel channel = Channel::kNone;  // kNone: the rule only adds score
  bool quarantine = false;           // asks for a quarantine (SPS) inspection
  bool mandatory = false;            // a 100% rule: never dropped by capacity matching
  bool random = false;               // its condition contains `random N%`
  double score = 0;                  // the constant part of its score
  std::string condition;             // the `when` clause as written
  LocalizedText reason;
};

// The keyed hash behind a rule set's `random N%` draws, named in the file by `random draw NAME`.
// It is part of the text, so of the fingerprint: a stored set compiles to the same draws for
// as long as it is kept, and a past decision is recomputed exactly.
enum class DrawAlgorithm : uint8_t {
  // "blake2b": keyed BLAKE2b-256 (see KeyedDraw). The default when the file names none: every
  // set written before `random draw` existed draws as it always did.
  kBlake2b,
  // "siphash24": SipHash-2-4 (libsodium's crypto_shorthash) of the crossing id under a 16-byte
  // key derived from the secret (see RuleDraw); about ten times cheaper. New sets name it.
  kSipHash24,
};
std::string_view DrawAlgorithmName(DrawAlgorithm a);  // "blake2b", "siphash24"
std::optional<DrawAlgorithm> ParseDrawAlgorithm(std::string_view name);

// Rule-set wide settings (the header lines of the file).
struct SelectionSettings {
  std::optional<double> yellow_threshold;  // total score from which the channel is at least yellow
  std::optional<double> red_threshold;     // ... at least red
  double min_random_rate = 0;  // `random minimum 1%`: share of trucks sent red at random
  std::optional<double> expected_red_rate;  // planning figures (`expected red 8%`)
  std::optional<double> expected_yellow_rate;
};

namespace internal {
struct Program;
}

class RuleSet {
 public:
  const std::string& name() const;  // "huu-nghi"
  uint32_t version() const;         // the version in the header
  std::string Id() const;           // "huu-nghi@7"
  // Lower-case hex SHA-256 of the source text: two sets with the same fingerprint are the same.
  const std::string& fingerprint() const;
  uint64_t fingerprint64() const;  // its first 8 bytes, stored in every Assessment
  const std::string& source() const;
  const SelectionSettings& settings() const;
  DrawAlgorithm draw() const;  // the keyed hash of its random draws (`random draw`)

  size_t size() const;
  const RuleInfo& rule(size_t index) const;
  // The watch lists its rules ask for (`watchlist "NAME"`), in order of first use.
  const std::vector<std::string>& watchlists() const;
  std::optional<size_t> FindRule(std::string_view name) const;

  // Internal: the compiled program run by Assess().
  const internal::Program& program() const { return *program_; }

 private:
  friend Result<RuleSet> CompileRuleSet(std::string_view text, const RuleCompileOptions& options);
  explicit RuleSet(std::shared_ptr<const internal::Program> p) : program_(std::move(p)) {}
  std::shared_ptr<const internal::Program> program_;
};

// Parses, checks and compiles a rule set. Errors (kind invalid_argument, code "invalid_rules")
// give the position: `field` is "LINE:COLUMN" (1-based, columns in bytes) and the message starts
// with "line L, column C: ". Semantic errors (unknown fields, type mismatches, unknown lists,
// duplicate rule names, HS codes not in the nomenclature, missing reason languages) are placed
// at the offending token too. A weak secret is refused with code "weak_secret".
[[nodiscard]] Result<RuleSet> CompileRuleSet(std::string_view text,
                                             const RuleCompileOptions& options);

// The position of a CompileRuleSet error, parsed back from its `field`; nullopt for other errors.
struct SourcePosition {
  int line = 0;
  int column = 0;
};
std::optional<SourcePosition> ErrorPosition(const Error& error);

// The 64-bit keyed draw behind random selection: BLAKE2b-256 keyed with `secret` over
// "borderflow.rules.v1" \0 domain \0 crossing_id, first 8 bytes little-endian. `domain` is
// "random" for the rules' draws (see RuleDraw) and "capacity" for the capacity plan's random
// quota. Uniform, reproducible with the secret, unpredictable without it.
uint64_t KeyedDraw(std::string_view secret, std::string_view domain, std::string_view crossing_id);

// The draw of rule `rule` (an index) for a crossing, as `random N%` in that rule uses it: the rule
// fires when the draw is below N% of 2^64. It is MurmurHash3's fmix64 of the crossing's keyed
// hash XOR the first 8 bytes of BLAKE2b-128(rule name), so an assessment costs one keyed hash
// however many random rules it reaches. The crossing's keyed hash depends on the set's draw():
//   blake2b    KeyedDraw(secret, "random", crossing_id);
//   siphash24  SipHash-2-4 of crossing_id under the key BLAKE2b-128(key = the secret as
//              KeyedDraw keys it, message "borderflow.rules.siphash24.random"), little-endian.
// For audit: anyone holding the secret can recompute why a truck was (not) picked. Computed
// here with libsodium alone (the reference for the evaluator's own code path).
uint64_t RuleDraw(const RuleSet& rules, size_t rule, std::string_view crossing_id);

// Whether a draw falls within `rate` (0..1).
inline bool DrawWithin(uint64_t draw, double rate) {
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  // 2^64 * rate, computed in long double to keep small rates exact enough.
  return static_cast<long double>(draw) < static_cast<long double>(rate) * 18446744073709551616.0L;
}

}  // namespace borderflow::rules

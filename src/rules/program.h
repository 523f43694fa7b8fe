#pragma once

// Internal: the compiled form of a rule set. Every value a rule compares is an integer key or a
// double: strings of up to 7 bytes are packed into the key itself, longer ones interned at
// compile time; HS chapters, headings and subheadings are integers; sets are sorted intervals.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <borderflow/rules/facts.h>
#include <borderflow/rules/rule_set.h>

namespace borderflow::rules::internal {

enum class FieldType : uint8_t { kString, kHs, kNumber, kBool, kEnum };

#define BORDERFLOW_RULE_FIELDS(X)                               \
  X(kDirection, "direction", kString, false)                    \
  X(kLaneClass, "lane_class", kString, false)                   \
  X(kFrom, "from", kString, false)                              \
  X(kDestination, "destination", kString, false)                \
  X(kTraderCompany, "trader.company", kString, false)           \
  X(kTraderClass, "trader.class", kString, false)               \
  X(kVehiclePlate, "vehicle.plate", kString, false)             \
  X(kDriverDocument, "driver.document", kString, false)         \
  X(kOrigin, "origin", kString, true)                           \
  X(kHsChapter, "hs.chapter", kHs, true)                        \
  X(kHsHeading, "hs.heading", kHs, true)                        \
  X(kHsSubheading, "hs.subheading", kHs, true)                  \
  X(kHsCode, "hs.code", kHs, true)                              \
  X(kTraderRisk, "trader.risk", kNumber, false)                 \
  X(kTraderCompliance, "trader.compliance", kNumber, false)     \
  X(kTraderInspections, "trader.inspections", kNumber, false)   \
  X(kTraderFindings, "trader.findings", kNumber, false)         \
  X(kVehicleCrossings, "vehicle.crossings", kNumber, false)     \
  X(kVehicleInspections, "vehicle.inspections", kNumber, false) \
  X(kVehicleFindings, "vehicle.findings", kNumber, false)       \
  X(kDriverCrossings, "driver.crossings", kNumber, false)       \
  X(kDriverInspections, "driver.inspections", kNumber, false)   \
  X(kDriverFindings, "driver.findings", kNumber, false)         \
  X(kWeightDeclared, "weight.declared", kNumber, false)         \
  X(kWeightMeasured, "weight.measured", kNumber, false)         \
  X(kWeightDeviation, "weight.deviation", kNumber, false)       \
  X(kLines, "lines", kNumber, false)                            \
  X(kUnitValue, "unit_value", kNumber, true)                    \
  X(kValue, "value", kNumber, true)                             \
  X(kGrossWeight, "gross_weight", kNumber, true)                \
  X(kPackages, "packages", kNumber, true)                       \
  X(kReferenceMin, "reference.min", kNumber, true)              \
  X(kReferenceMax, "reference.max", kNumber, true)              \
  X(kTraderTrusted, "trader.trusted", kBool, false)             \
  X(kEmpty, "empty", kBool, false)                              \
  X(kPerishable, "perishable", kBool, false)                    \
  X(kWeighed, "weighed", kBool, false)                          \
  X(kPhyto, "phyto", kEnum, false)                              \
  X(kOriginCertificate, "origin_certificate", kEnum, false)     \
  X(kCustomsDeclaration, "customs_declaration", kEnum, false)   \
  X(kSeal, "seal", kEnum, false)

enum class Field : uint8_t {
#define BORDERFLOW_FIELD_ENUM(id, name, type, line) id,
  BORDERFLOW_RULE_FIELDS(BORDERFLOW_FIELD_ENUM)
#undef BORDERFLOW_FIELD_ENUM
      kCount
};
inline constexpr size_t kFieldCount = static_cast<size_t>(Field::kCount);

struct FieldSpec {
  std::string_view name;
  FieldType type;
  bool line;  // a consignment-line field
};
const FieldSpec& SpecOf(Field f);
// Looks a field up by its name (or an alias: "phytosanitary", "form_e", "export_country").
bool FindField(std::string_view name, Field* out);
// The names of the values of an enum field ("missing", "unchecked", ...), in enum order.
const std::vector<std::string_view>& EnumValues(Field f);
std::string FieldList();  // every field name, for error messages

enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn, kTrue, kRandom, kWatchlist };

struct Interval {
  uint64_t lo;
  uint64_t hi;
};

struct Atom {
  Op op = Op::kTrue;
  Field field = Field::kCount;
  Field rhs_field = Field::kCount;  // numeric comparisons against another field
  double number = 0;                // constant, or the factor of rhs_field
  uint64_t key = 0;                 // kEq/kNe on keys; kRandom: threshold; kWatchlist: bit
  uint32_t set_begin = 0;           // kIn/kNotIn: intervals [set_begin, set_end)
  uint32_t set_end = 0;
  uint32_t rule = 0;  // kRandom: the rule whose name keys the draw
  bool numeric = false;
};

struct Node {
  enum class Kind : uint8_t { kAtom, kAnd, kOr, kNot };
  Kind kind = Kind::kAtom;
  uint32_t begin = 0;  // kAtom: atom index; others: children [begin, end) in Program::children
  uint32_t end = 0;
};

struct ScoreTerm {
  double coefficient = 0;
  Field field = Field::kCount;  // kCount: constant
};

struct CompiledRule {
  uint32_t root = 0;
  bool line_level = false;
  Channel channel = Channel::kNone;
  bool quarantine = false;
  bool mandatory = false;
  bool random = false;
  uint64_t salt = 0;  // random draws: mixes the crossing's keyed hash with this rule
  // A condition that is one atom or an `and` of atoms (most rules) runs as a flat loop over
  // Program::flat[flat_begin, flat_end) instead of walking the tree.
  bool flat = false;
  uint32_t flat_begin = 0;
  uint32_t flat_end = 0;
  uint32_t terms_begin = 0;
  uint32_t terms_end = 0;
};

// Long strings (more than 7 bytes) that some rule compares with: interned to ids.
class InternTable {
 public:
  uint32_t Intern(std::string_view s);
  // The id, or UINT32_MAX when no rule mentions `s`.
  uint32_t Find(std::string_view s) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
};

inline constexpr uint64_t kNoKey = 0xFEull << 56;  // a long string no rule mentions

// The key of a string value: up to 7 bytes packed with their length, longer ones interned.
uint64_t PackKey(std::string_view s, const InternTable& table);
// HS keys: chapter 8, heading 810, subheading 81060, code (length << 40 | digits). 0 = none.
uint64_t HsKey(Field f, std::string_view digits);

struct ReferencePrice {
  double min = 0;
  double max = 0;
};

// The per-crossing keyed hash behind every random draw: BLAKE2b-256 keyed with the secret over
// "borderflow.rules.v1" \0 "random" \0 crossing_id, first 8 bytes little-endian.
uint64_t CrossingKey(std::string_view secret, std::string_view crossing_id);
// A rule's draw for a crossing: a 64-bit finaliser of CrossingKey ^ the rule's salt (the first
// 8 bytes of unkeyed BLAKE2b of its name). One keyed hash per assessment, not per rule.
uint64_t MixDraw(uint64_t crossing_key, uint64_t salt);
uint64_t RuleSalt(std::string_view rule_name);

struct Program {
  std::string name;
  uint32_t version = 0;
  std::string fingerprint;
  uint64_t fingerprint64 = 0;
  std::string source;
  std::string secret;
  SelectionSettings settings;

  std::vector<RuleInfo> info;
  std::vector<CompiledRule> rules;
  std::vector<Node> nodes;
  std::vector<uint32_t> children;
  std::vector<Atom> atoms;
  std::vector<uint32_t> flat;  // atom indices of flat conditions
  std::vector<Interval> intervals;
  std::vector<ScoreTerm> terms;
  InternTable strings;
  std::vector<std::string> watchlists;  // bit i = watchlists[i]
  // Reference unit values (USD/kg) by HS key, one map per level (code, subheading, heading,
  // chapter; the most specific wins).
  std::array<std::unordered_map<uint64_t, ReferencePrice>, 4> references;
  bool has_references = false;

  // Which rules to evaluate: declaration-level rules once; line-level rules per line, those with
  // a required HS chapter only for lines of that chapter.
  std::vector<uint32_t> declaration_rules;
  std::vector<uint32_t> line_rules_any;
  std::array<std::vector<uint32_t>, 100> line_rules_by_chapter;
  std::array<bool, kFieldCount> used{};  // fields any rule reads
};

}  // namespace borderflow::rules::internal

#pragma once

// Internal: the compiled form of a rule set. Every value a rule compares is an integer key or a
// double: strings of up to 7 bytes are packed into the key itself, longer ones interned at
// compile time; HS chapters, headings and subheadings are integers; sets are sorted intervals.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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

// A numeric comparison as the outcomes it accepts: bit 0 less, bit 1 equal, bit 2 greater. An
// unknown (NaN) side has none of the three, so every operator is false on it.
constexpr uint8_t NumberOutcomes(Op op) {
  switch (op) {
    case Op::kLt:
      return 1;
    case Op::kLe:
      return 3;
    case Op::kEq:
      return 2;
    case Op::kNe:
      return 5;
    case Op::kGt:
      return 4;
    case Op::kGe:
      return 6;
    default:
      return 0;
  }
}
inline bool CompareNumbers(uint8_t outcomes, double lhs, double rhs) {
  const unsigned outcome = static_cast<unsigned>(lhs < rhs) |
                           (static_cast<unsigned>(lhs == rhs) << 1) |
                           (static_cast<unsigned>(lhs > rhs) << 2);
  return (outcomes & outcome) != 0;
}

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
  // The whole condition requires an HS test (`hs.* ==` or `hs.* in` as a top-level conjunct):
  // an empty truck never reaches the rule, and on a line it is evaluated before the line rules
  // without one (this order fixes the order in which scores are summed).
  bool hs_anchored = false;
  // Every score term is a constant: the score is `constant_score_value` (summed in term order).
  bool constant_score = false;
  double constant_score_value = 0;
};

// Long strings (more than 7 bytes) that some rule compares with: interned to ids.
class InternTable {
 public:
  uint32_t Intern(std::string_view s);
  // The id, or UINT32_MAX when no rule mentions `s`.
  uint32_t Find(std::string_view s) const;

 private:
  // Open addressing (linear probing, at most half full): Find hashes once and usually compares
  // one string; a string of a length no rule mentions is refused before hashing.
  struct Entry {
    uint64_t hash = 0;
    uint32_t id = UINT32_MAX;  // UINT32_MAX: free
    std::string text;
  };
  static uint64_t Hash(std::string_view s);
  void Grow();
  std::vector<Entry> slots_;
  size_t size_ = 0;
  uint64_t lengths_ = 0;  // bit n: a string of n bytes is interned (n >= 63: bit 63)
};

inline constexpr uint64_t kNoKey = 0xFEull << 56;  // a long string no rule mentions

// The key of a string value: up to 7 bytes packed with their length, longer ones interned.
uint64_t PackKey(std::string_view s, const InternTable& table);
// HS keys: chapter 8, heading 810, subheading 81060, code (length << 40 | digits). 0 = none.
uint64_t HsKey(Field f, std::string_view digits);
// The chapter of an HS key of field `f`.
uint64_t ChapterOf(Field f, uint64_t key);

struct ReferencePrice {
  double min = 0;
  double max = 0;
};

// The per-crossing keyed hash behind every random draw (RuleDraw in rule_set.h documents both
// algorithms). For blake2b: BLAKE2b-256 keyed with the secret over
// "borderflow.rules.v1" \0 "random" \0 crossing_id, first 8 bytes little-endian, computed by
// libsodium.
uint64_t CrossingKey(std::string_view secret, std::string_view crossing_id);
// siphash24: the 16-byte key of a secret, and the crossing's keyed hash under it (libsodium).
std::array<unsigned char, 16> SipHashKey(std::string_view secret);
uint64_t SipHashDraw(const std::array<unsigned char, 16>& key, std::string_view crossing_id);
// What Assess() computes once per rule set so that a draw costs only the hash of the crossing
// id. blake2b: the chaining value after the (secret) key block, so each draw compresses only
// the block(s) holding the crossing id (one for ids up to 101 bytes). siphash24: its key.
struct RandomDrawState {
  DrawAlgorithm algorithm = DrawAlgorithm::kBlake2b;
  std::array<uint64_t, 8> h{};
  std::array<uint64_t, 2> sip_key{};  // the key's two little-endian words
};
RandomDrawState PrepareRandomDraw(std::string_view secret, DrawAlgorithm algorithm);
uint64_t CrossingKey(const RandomDrawState& state, std::string_view crossing_id);
// A rule's draw for a crossing: a 64-bit finaliser of CrossingKey ^ the rule's salt (the first
// 8 bytes of unkeyed BLAKE2b of its name). One keyed hash per assessment, not per rule.
uint64_t MixDraw(uint64_t crossing_key, uint64_t salt);
uint64_t RuleSalt(std::string_view rule_name);

// ---------------------------------------------------------------------------------------------
// The evaluation plan: what Assess() runs instead of walking every rule's tree (plan.cpp builds
// it once per rule set, after all rules are compiled).
//
// 1. Declaration tests. Every distinct atom that reads only declaration-level facts (not a line
//    field, not a random draw) gets a slot; the same test written in several rules shares one
//    slot. Assess evaluates all slots once per declaration, in a fixed order and without early
//    exit, into a bitset: one bit per slot. The loop's branches do not depend on the facts, so
//    they are predicted; the facts only decide the bits.
// 2. Terms. Each rule's condition is rewritten in disjunctive normal form (negations pushed down
//    to the atoms): an `or` of terms, each term an `and` of literals. A literal is a slot bit, a
//    line atom (evaluated on the line's values), a random draw (evaluated last: the keyed hash
//    is only computed when every other literal of a term holds), or, for a condition whose
//    normal form would be too large (kMaxTerms, kMaxLiterals), the rule's whole tree. A literal
//    may be negated. Negating the atom's truth value keeps "an unknown number compares false".
// 3. Candidates. A term is only checked when it can hold:
//    * a declaration-level term is listed under one of its slot literals, its anchor (the most
//      selective kind of test it has): Assess walks the set bits of the bitset (clear bits for
//      a negated anchor) and checks only the terms listed there. Terms without slot literals
//      (`random 2%`) are checked for every declaration;
//    * a line-level term with a positive `hs.* ==` / `hs.* in` literal is listed in the line
//      index under each HS key (chapter, heading, subheading or full code) that satisfies it;
//      a line looks up its four keys. Large code ranges are listed by chapter and re-checked.
//      Other line-level terms are checked on every line.
//    A term reached through the exact key of its HS literal skips that literal (it holds);
//    every other literal, and the HS literal of a chapter-listed range, is checked, so the
//    index only has to return a superset of the terms that can hold.
// 4. An empty truck (no lines) is assessed as before: the line-level rules without a required
//    HS test (line_rules_any), each on its tree, on the empty line.
// The fired rules are sorted by rule; the score is their sum, taken in the order of the former
// rule-by-rule evaluator unless every score is a whole number (then any order is exact).
// ---------------------------------------------------------------------------------------------

struct Literal {
  enum class Kind : uint8_t { kSlot, kLine, kRandom, kTree };
  Kind kind = Kind::kSlot;
  bool negated = false;
  // kLine and kRandom: the test copied here, so that checking it reads neither the atom nor
  // the general evaluator: kKeyEquals (`origin == "VN"`, and `!=` as its negation:
  // key[field] == key), kKeyInSet (`origin in [...]`, `not in` as its negation: key[field] in
  // intervals [set_begin, set_end)), kNumberVsConstant (`gross_weight > 10000`:
  // CompareNumbers(outcomes, num[field], number)), kNumberVsField (`unit_value <
  // reference.min * 0.5`: the same against num[rhs_field] * number), kRandom (`random 2%`:
  // rate `number`, the draw of rule `rule` below `key`). kNone: EvalAtom on atom `index`.
  enum class Fast : uint8_t {
    kNone,
    kKeyEquals,
    kKeyInSet,
    kNumberVsConstant,
    kNumberVsField,
    kRandom
  };
  Fast fast = Fast::kNone;
  uint8_t outcomes = 0;
  Field field = Field::kCount;
  Field rhs_field = Field::kCount;
  uint32_t index = 0;  // kSlot: slot; kLine, kRandom: atom; kTree: node (the rule's root)
  uint64_t key = 0;
  double number = 0;
  uint32_t set_begin = 0;
  uint32_t set_end = 0;
  uint32_t rule = 0;
};

struct Term {
  uint32_t rule = 0;
  // Literals [begin, slots_end) are slot bits, [slots_end, end) the others in evaluation order:
  // line atoms (HS first; a line-index anchor first of all), then random draws and trees.
  uint32_t begin = 0;
  uint32_t slots_end = 0;
  uint32_t end = 0;
  // When every slot literal is in bitset word `word` (always, below 64 distinct tests), they
  // are checked at once: the term needs (bits[word] & must_set) == must_set and
  // (bits[word] & must_clear) == 0. Otherwise `one_word` is false and they are checked in turn.
  bool one_word = true;
  uint32_t word = 0;
  uint64_t must_set = 0;
  uint64_t must_clear = 0;
};

// A term as the candidate lists (anchors, line index) hold it: what its slot test needs copied
// next to the list entry, so that the usual candidate, failing on a slot bit, costs one
// sequential read and no look-up of the term or its literals.
struct TermRef {
  static constexpr uint32_t kSeveralWords = UINT32_MAX;  // slot literals in several words
  uint64_t must_set = 0;  // as Term (no slot literal: both 0, always holds)
  uint64_t must_clear = 0;
  uint32_t word = 0;  // kSeveralWords: check Term's slot literals in turn
  uint32_t rule = 0;
  uint32_t literals = 0;  // its other literals: [literals, literals_end) (Term::slots_end, end)
  uint32_t literals_end = 0;
  uint32_t term = 0;
};

// HS keys of a line, one per level; the line index is keyed by (level << 60 | key).
enum class HsLevel : uint8_t { kChapter, kHeading, kSubheading, kCode };
inline constexpr uint64_t LineIndexKey(HsLevel level, uint64_t hs_key) {
  return (static_cast<uint64_t>(level) << 60) | hs_key;
}

// Open-addressing hash table from a line index key to the terms listed under it and the
// reference price set for that code (the `reference` lines of the file).
struct LineIndexEntry {
  uint64_t key = UINT64_MAX;  // UINT64_MAX: free
  // Terms listed under this key, in EvalPlan::line_index_terms: [terms_begin, exact_end) hold
  // their anchor literal for every line with this key, so it is skipped (it comes first after
  // the slot literals); [exact_end, terms_end) are listed by chapter for a large HS range and
  // are checked in full.
  uint32_t terms_begin = 0;
  uint32_t exact_end = 0;
  uint32_t terms_end = 0;
  bool has_reference = false;
  ReferencePrice reference;
};

struct LineIndex {
  std::vector<LineIndexEntry> slots;  // a power of two, at most half full; empty if no entry
  const LineIndexEntry* Find(uint64_t key) const {
    if (slots.empty()) return nullptr;
    const size_t mask = slots.size() - 1;
    for (size_t i = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;;
         i = (i + 1) & mask) {
      if (slots[i].key == key) return &slots[i];
      if (slots[i].key == UINT64_MAX) return nullptr;
    }
  }
};

struct EvalPlan {
  static constexpr size_t kMaxTerms = 32;     // per rule
  static constexpr size_t kMaxLiterals = 32;  // per term

  std::vector<uint32_t> slot_atoms;  // the atom evaluated for each slot
  size_t slot_words = 0;             // 64-bit words of the bitset
  // The slots again, by kind, each kind evaluated by its own loop with no branch on the facts:
  // key comparisons (==, !=, a yes/no field), numeric comparisons, and the rest (sets, watch
  // lists) through the general atom evaluator.
  struct KeySlot {
    uint32_t slot;
    Field field;
    bool equal;  // key == `key`, else key != `key` (a yes/no field: != 0)
    uint64_t key;
  };
  struct NumberSlot {
    uint32_t slot;
    Field field;
    Field rhs_field;   // kCount: compare with `number`, else with rhs_field * number
    uint8_t outcomes;  // NumberOutcomes(op)
    double number;
  };
  std::vector<KeySlot> key_slots;
  std::vector<NumberSlot> number_slots;
  std::vector<uint32_t> other_slots;

  std::vector<Literal> literals;
  std::vector<Term> terms;

  // Declaration-level terms by anchor: anchor_begin[2 * slot + negated] .. [+1] in
  // anchored_terms. The masks flag the slots that anchor a term (positive / negated), so that
  // Assess only visits those bits.
  std::vector<uint32_t> anchor_begin;
  std::vector<TermRef> anchored_terms;
  std::vector<uint64_t> anchor_mask;          // per word: slots anchoring a positive literal
  std::vector<uint64_t> negated_anchor_mask;  // ... a negated literal
  std::vector<TermRef> unanchored_terms;      // declaration-level, checked every time

  LineIndex line_index;
  std::vector<TermRef> line_index_terms;
  std::vector<TermRef> line_terms_any;  // line-level terms not in the index, every line
};

struct Program {
  std::string name;
  uint32_t version = 0;
  std::string fingerprint;
  uint64_t fingerprint64 = 0;
  std::string source;
  std::string secret;
  RandomDrawState random_draw;  // PrepareRandomDraw(secret, draw)
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
  // Reference unit values (USD/kg) by line index key (HS level and key); the most specific
  // level of a line's code wins. BuildPlan moves them into the line index.
  std::vector<std::pair<uint64_t, ReferencePrice>> references;
  bool has_references = false;

  // Line-level rules without a required HS test, in rule order: the rules an empty truck (no
  // consignment lines) is assessed against, on its empty line.
  std::vector<uint32_t> line_rules_any;
  std::array<bool, kFieldCount> used{};  // fields any rule reads

  EvalPlan plan;  // how Assess() runs the rules (BuildPlan, plan.cpp)
};

// Builds `p.plan` from the compiled rules (plan.cpp).
void BuildPlan(Program& p);

}  // namespace borderflow::rules::internal

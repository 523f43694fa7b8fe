// Checks a parsed rule file and compiles it into a Program (program.h).

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>
#include <sodium.h>

#include <borderflow/core/digest.h>
#include <borderflow/rules/rule_set.h>

#include "ast.h"
#include "program.h"

namespace borderflow::rules {
namespace internal {

namespace {

constexpr FieldSpec kSpecs[] = {
#define BORDERFLOW_FIELD_SPEC(id, name, type, line) {name, FieldType::type, line},
    BORDERFLOW_RULE_FIELDS(BORDERFLOW_FIELD_SPEC)
#undef BORDERFLOW_FIELD_SPEC
};

}  // namespace

const FieldSpec& SpecOf(Field f) { return kSpecs[static_cast<size_t>(f)]; }

bool FindField(std::string_view name, Field* out) {
  if (name == "phytosanitary") name = "phyto";
  if (name == "form_e") name = "origin_certificate";
  if (name == "export_country") name = "from";
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (kSpecs[i].name == name) {
      *out = static_cast<Field>(i);
      return true;
    }
  }
  return false;
}

const std::vector<std::string_view>& EnumValues(Field f) {
  static const std::vector<std::string_view> kDocument = {"missing", "unchecked", "valid",
                                                          "invalid"};
  static const std::vector<std::string_view> kSeal = {"none", "intact", "broken"};
  static const std::vector<std::string_view> kNone = {};
  switch (f) {
    case Field::kPhyto:
    case Field::kOriginCertificate:
    case Field::kCustomsDeclaration:
      return kDocument;
    case Field::kSeal:
      return kSeal;
    default:
      return kNone;
  }
}

std::string FieldList() {
  std::string out;
  for (const auto& s : kSpecs) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

namespace {

// Up to 7 bytes, byte i at bits 8i: two overlapping 4-byte loads (4..7 bytes) or three single
// bytes (1..3) instead of a loop.
uint64_t LoadShort(const unsigned char* b, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, b, 4);
      std::memcpy(&hi, b + n - 4, 4);
      return lo | (static_cast<uint64_t>(hi) << (8 * (n - 4)));
    }
    if (n == 0) return 0;
    return b[0] | (static_cast<uint64_t>(b[n / 2]) << (8 * (n / 2))) |
           (static_cast<uint64_t>(b[n - 1]) << (8 * (n - 1)));
  } else {
    uint64_t k = 0;
    for (size_t i = 0; i < n; ++i) k |= static_cast<uint64_t>(b[i]) << (8 * i);
    return k;
  }
}

uint64_t Load64(const unsigned char* b) {
  uint64_t w;
  std::memcpy(&w, b, 8);
  return w;
}

}  // namespace

uint64_t InternTable::Hash(std::string_view s) {
  // Eight bytes at a time, multiply-xorshift mixed; not keyed (the strings come from the rules).
  // Only ever compared within one process: Intern and Find use the same function.
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ Load64(b + i)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  if (i < n) {
    // The last n - i bytes: from the last 8 (overlapping the words above) when there are 8.
    const uint64_t w = n >= 8 ? Load64(b + n - 8) >> (8 * (8 - (n - i))) : LoadShort(b, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  }
  return h ^ (h >> 29);
}

void InternTable::Grow() {
  std::vector<Entry> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : 2 * old.size(), Entry{});
  const size_t mask = slots_.size() - 1;
  for (auto& e : old) {
    if (e.id == UINT32_MAX) continue;
    size_t i = static_cast<size_t>(e.hash) & mask;
    while (slots_[i].id != UINT32_MAX) i = (i + 1) & mask;
    slots_[i] = std::move(e);
  }
}

uint32_t InternTable::Intern(std::string_view s) {
  if (uint32_t id = Find(s); id != UINT32_MAX) return id;
  if (2 * (size_ + 1) > slots_.size()) Grow();
  const uint64_t h = Hash(s);
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(h) & mask;
  while (slots_[i].id != UINT32_MAX) i = (i + 1) & mask;
  const uint32_t id = static_cast<uint32_t>(size_++);
  slots_[i] = Entry{h, id, std::string(s)};
  lengths_ |= 1ull << std::min<size_t>(s.size(), 63);
  return id;
}

uint32_t InternTable::Find(std::string_view s) const {
  if (((lengths_ >> std::min<size_t>(s.size(), 63)) & 1) == 0) return UINT32_MAX;
  const uint64_t h = Hash(s);
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(h) & mask; slots_[i].id != UINT32_MAX; i = (i + 1) & mask) {
    if (slots_[i].hash == h && slots_[i].text == s) return slots_[i].id;
  }
  return UINT32_MAX;
}

uint64_t PackKey(std::string_view s, const InternTable& table) {
  const size_t n = s.size();
  if (n <= 7) {  // byte i at bits 8i, the length at bits 56..63
    if (n == 0) return 0;
    return LoadShort(reinterpret_cast<const unsigned char*>(s.data()), n) |
           (static_cast<uint64_t>(n) << 56);
  }
  uint32_t id = table.Find(s);
  return id == UINT32_MAX ? kNoKey : ((0xFFull << 56) | id);
}

uint64_t HsKey(Field f, std::string_view digits) {
  size_t need = f == Field::kHsChapter ? 2 : f == Field::kHsHeading ? 4 : 6;
  if (digits.size() < need || digits.size() > 10) return 0;
  uint64_t v = 0;
  size_t n = f == Field::kHsCode ? digits.size() : need;
  for (size_t i = 0; i < n; ++i) {
    char c = digits[i];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (f == Field::kHsCode) return (static_cast<uint64_t>(n) << 40) | v;
  return v;
}

uint64_t ChapterOf(Field f, uint64_t key) {
  switch (f) {
    case Field::kHsChapter:
      return key;
    case Field::kHsHeading:
      return key / 100;
    case Field::kHsSubheading:
      return key / 10000;
    case Field::kHsCode: {
      uint64_t len = key >> 40;
      uint64_t v = key & ((1ull << 40) - 1);
      for (uint64_t i = 2; i < len; ++i) v /= 10;
      return v;
    }
    default:
      return 0;
  }
}

namespace {

using ast::ErrorAt;
using ast::Pos;

bool IsCountry(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

bool IsRuleName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// A new rule set's name: [a-z0-9][a-z0-9._-]*, at most 64 bytes.
bool IsRuleSetName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return lower_or_digit(c) || c == '-' || c == '_' || c == '.'; });
}

// The largest `random minimum`: more than half of the trucks is not a minimum but the rule.
constexpr double kMaxRandomMinimum = 0.5;

class Compiler {
 public:
  Compiler(const ast::File& file, const RuleCompileOptions& options, Program& p)
      : file_(file), options_(options), p_(p) {}

  Status Run() {
    for (const auto& l : file_.lists) {
      if (l.name.empty() || l.name.size() > 64) {
        return ErrorAt(l.pos, "a list name must have 1 to 64 characters");
      }
      if (!lists_.emplace(l.name, &l).second) {
        return ErrorAt(l.pos, fmt::format("list \"{}\" defined twice", l.name));
      }
    }
    if (!options_.stored && !IsRuleSetName(file_.name)) {
      // The id NAME@VERSION is a URL path segment (/api/v1/rules/{id}/activate) and a file
      // name for operators: "a/b" or "my rules" could be uploaded but not activated.
      return ErrorAt(file_.name_pos,
                     "a rule set name has 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a "
                     "letter or digit");
    }
    BF_TRY(CompileSettings());
    BF_TRY(CompileReferences());
    std::set<std::string, std::less<>> names;
    for (const auto& r : file_.rules) {
      if (!IsRuleName(r.name)) {
        return ErrorAt(r.name_pos,
                       "a rule name has 1 to 64 letters, digits, '-', '_' or '.' (no spaces)");
      }
      if (!names.insert(r.name).second) {
        return ErrorAt(r.name_pos, fmt::format("rule \"{}\" defined twice", r.name));
      }
      BF_TRY(CompileRule(r));
    }
    return {};
  }

 private:
  Status CompileSettings() {
    SelectionSettings& s = p_.settings;
    s.yellow_threshold = file_.yellow_threshold;
    s.red_threshold = file_.red_threshold;
    s.min_random_rate = file_.min_random_rate.value_or(0);
    s.expected_red_rate = file_.expected_red;
    s.expected_yellow_rate = file_.expected_yellow;
    DrawAlgorithm draw = DrawAlgorithm::kBlake2b;  // a file without `random draw`
    if (file_.draw) {
      auto named = ParseDrawAlgorithm(*file_.draw);
      if (!named) {
        return ErrorAt(file_.draw_pos,
                       fmt::format("unknown random draw '{}' (expected blake2b or siphash24)",
                                   file_.draw->substr(0, 32)));
      }
      draw = *named;
    }
    p_.random_draw = PrepareRandomDraw(options_.secret, draw);
    if (s.yellow_threshold && s.red_threshold && *s.yellow_threshold > *s.red_threshold) {
      // At the later of the two lines: the one that contradicts the other.
      const Pos& yellow = file_.yellow_threshold_pos;
      const Pos& red = file_.red_threshold_pos;
      bool red_later =
          red.line > yellow.line || (red.line == yellow.line && red.column > yellow.column);
      return ErrorAt(red_later ? red : yellow, "threshold yellow is above threshold red");
    }
    if (options_.stored) return {};  // the bounds below came later: stored sets keep working
    // A score threshold at or below zero makes every truck that channel (a truck that no rule
    // scores has score 0); a random minimum of more than half is not a minimum any more.
    for (const auto& [value, pos, name] :
         {std::tuple{s.yellow_threshold, file_.yellow_threshold_pos, "yellow"},
          std::tuple{s.red_threshold, file_.red_threshold_pos, "red"}}) {
      if (value && *value <= 0) {
        return ErrorAt(pos, fmt::format("threshold {} must be above 0 (at {} every truck would "
                                        "be at least {})",
                                        name, *value, name));
      }
    }
    if (s.min_random_rate > kMaxRandomMinimum) {
      return ErrorAt(file_.min_random_pos,
                     fmt::format("random minimum is at most {}% (the share of trucks sent to a "
                                 "physical inspection at random)",
                                 kMaxRandomMinimum * 100));
    }
    return {};
  }

  Status CompileReferences() {
    for (const auto& r : file_.references) {
      Field f;
      if (!FindField(r.field, &f) || SpecOf(f).type != FieldType::kHs) {
        return ErrorAt(r.field_pos, "expected hs.chapter, hs.heading, hs.subheading or hs.code");
      }
      BF_ASSIGN_OR_RETURN(uint64_t key, HsConstant(f, r.code.text, r.code.pos));
      const HsLevel level = f == Field::kHsCode         ? HsLevel::kCode
                            : f == Field::kHsSubheading ? HsLevel::kSubheading
                            : f == Field::kHsHeading    ? HsLevel::kHeading
                                                        : HsLevel::kChapter;
      const uint64_t index_key = LineIndexKey(level, key);
      if (!reference_keys_.insert(index_key).second) {
        return ErrorAt(r.pos, "reference price given twice for this code");
      }
      p_.references.emplace_back(index_key, ReferencePrice{r.min, r.max});
      p_.has_references = true;
    }
    return {};
  }

  // An HS constant written as digits ("08", "0810", "081060"), checked against the
  // nomenclature when one is given.
  Result<uint64_t> HsConstant(Field f, std::string_view text, Pos pos) {
    for (char c : text) {
      if (c < '0' || c > '9') {
        return ErrorAt(pos,
                       fmt::format("'{}' is not an HS code (digits only)", text.substr(0, 20)));
      }
    }
    std::string digits(text);
    if (f == Field::kHsChapter && digits.size() == 1) digits = "0" + digits;
    size_t want = f == Field::kHsChapter ? 2 : f == Field::kHsHeading ? 4 : 6;
    if (f == Field::kHsCode ? (digits.size() < 6 || digits.size() > 10) : digits.size() != want) {
      return ErrorAt(
          pos, fmt::format("{} takes {} digits, found '{}'", SpecOf(f).name,
                           f == Field::kHsCode ? std::string("6 to 10") : std::to_string(want),
                           digits.substr(0, 20)));
    }
    uint64_t key = HsKey(f, digits);
    if (f == Field::kHsChapter && (key < 1 || key > 99)) {
      return ErrorAt(pos, fmt::format("chapter {} does not exist", digits));
    }
    if (options_.hs != nullptr) {
      std::string_view probe =
          std::string_view(digits).substr(0, std::min<size_t>(6, digits.size()));
      if (options_.hs->Find(probe) == nullptr) {
        return ErrorAt(pos, fmt::format("HS {} '{}' is not in the nomenclature",
                                        SpecOf(f).name.substr(3), probe));
      }
    }
    return key;
  }

  Result<Field> LookupField(const std::string& name, Pos pos) {
    Field f;
    if (!FindField(name, &f)) {
      return ErrorAt(pos, fmt::format("unknown field '{}' (fields: {})", name, FieldList()));
    }
    p_.used[static_cast<size_t>(f)] = true;
    if (SpecOf(f).line) line_level_ = true;
    return f;
  }

  // The key of a value compared with a key field (string, HS, bool, enum).
  Result<uint64_t> KeyOf(Field f, const ast::Value& v) {
    const FieldSpec& spec = SpecOf(f);
    using K = ast::Value::Kind;
    switch (spec.type) {
      case FieldType::kString:
        if (v.kind != K::kString) {
          return ErrorAt(v.pos,
                         fmt::format("{} is compared with text in double quotes", spec.name));
        }
        if ((f == Field::kOrigin || f == Field::kFrom || f == Field::kDestination) &&
            !IsCountry(v.text)) {
          return ErrorAt(v.pos, fmt::format("{} is a country code of two capital letters (\"VN\")",
                                            spec.name));
        }
        if (v.text.size() > 7) p_.strings.Intern(v.text);
        return PackKey(v.text, p_.strings);
      case FieldType::kHs:
        if (v.kind == K::kWord || v.percent || v.negative ||
            (v.kind == K::kNumber && v.text.find('.') != std::string::npos)) {
          return ErrorAt(
              v.pos, fmt::format("{} is compared with digits (08, 0810, \"081060\")", spec.name));
        }
        return HsConstant(f, v.text, v.pos);
      case FieldType::kBool:
        if (v.kind == K::kWord && (v.text == "yes" || v.text == "true")) return 1;
        if (v.kind == K::kWord && (v.text == "no" || v.text == "false")) return 0;
        return ErrorAt(v.pos, fmt::format("{} is yes or no", spec.name));
      case FieldType::kEnum: {
        const auto& values = EnumValues(f);
        if (v.kind == K::kWord) {
          for (size_t i = 0; i < values.size(); ++i) {
            if (values[i] == v.text) return i;
          }
        }
        std::string list;
        for (auto s : values) list += (list.empty() ? "" : ", ") + std::string(s);
        return ErrorAt(v.pos, fmt::format("{} is one of: {}", spec.name, list));
      }
      case FieldType::kNumber:
        break;
    }
    return ErrorAt(v.pos, "internal: not a key field");
  }

  Result<uint32_t> CompileAtom(const ast::Expr& e, uint32_t rule_index) {
    using EK = ast::Expr::Kind;
    Atom a;
    switch (e.kind) {
      case EK::kRandom:
        a.op = Op::kRandom;
        a.number = e.rate;
        a.key =
            e.rate >= 1.0
                ? UINT64_MAX
                : static_cast<uint64_t>(static_cast<long double>(e.rate) * 18446744073709551616.0L);
        a.rule = rule_index;
        random_ = true;
        break;
      case EK::kWatchlist: {
        if (e.list_name.empty() || e.list_name.size() > 64) {
          return ErrorAt(e.list_pos, "a watch list name has 1 to 64 characters");
        }
        auto it = std::find(p_.watchlists.begin(), p_.watchlists.end(), e.list_name);
        if (it == p_.watchlists.end()) {
          if (p_.watchlists.size() >= 64) return ErrorAt(e.list_pos, "more than 64 watch lists");
          p_.watchlists.push_back(e.list_name);
          it = p_.watchlists.end() - 1;
        }
        a.op = Op::kWatchlist;
        a.key = static_cast<uint64_t>(it - p_.watchlists.begin());
        break;
      }
      case EK::kBoolField: {
        BF_ASSIGN_OR_RETURN(a.field, LookupField(e.field, e.field_pos));
        if (SpecOf(a.field).type != FieldType::kBool) {
          return ErrorAt(e.field_pos, fmt::format("{} is not a yes/no field: compare it "
                                                  "({} == ..., {} in [...])",
                                                  e.field, e.field, e.field));
        }
        a.op = Op::kTrue;
        break;
      }
      case EK::kCompare: {
        BF_ASSIGN_OR_RETURN(a.field, LookupField(e.field, e.field_pos));
        const FieldSpec& spec = SpecOf(a.field);
        static const std::map<std::string, Op, std::less<>> kOps = {
            {"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt},
            {"<=", Op::kLe}, {">", Op::kGt},  {">=", Op::kGe}};
        a.op = kOps.at(e.op);
        if (spec.type == FieldType::kNumber) {
          a.numeric = true;
          if (e.value.kind == ast::Value::Kind::kNumber) {
            a.number = e.value.number;
          } else if (e.value.kind == ast::Value::Kind::kWord) {
            BF_ASSIGN_OR_RETURN(a.rhs_field, LookupField(e.value.text, e.value.pos));
            if (SpecOf(a.rhs_field).type != FieldType::kNumber) {
              return ErrorAt(e.value.pos, fmt::format("{} is not a number", e.value.text));
            }
            a.number = e.factor.value_or(1.0);
          } else {
            return ErrorAt(e.value.pos, fmt::format("{} is a number", spec.name));
          }
        } else {
          if (a.op != Op::kEq && a.op != Op::kNe) {
            return ErrorAt(
                e.pos, fmt::format("{} can only be compared with == and != (or in)", spec.name));
          }
          if (e.factor) return ErrorAt(e.value.pos, "a factor applies to numbers only");
          BF_ASSIGN_OR_RETURN(a.key, KeyOf(a.field, e.value));
        }
        break;
      }
      case EK::kIn:
      case EK::kNotIn: {
        BF_ASSIGN_OR_RETURN(a.field, LookupField(e.field, e.field_pos));
        const FieldSpec& spec = SpecOf(a.field);
        if (spec.type == FieldType::kNumber || spec.type == FieldType::kBool) {
          return ErrorAt(e.pos,
                         fmt::format("{} cannot be used with 'in': use comparisons", spec.name));
        }
        a.op = e.kind == EK::kIn ? Op::kIn : Op::kNotIn;
        const std::vector<ast::Value>* values = &e.set;
        if (!e.list_name.empty()) {
          auto it = lists_.find(e.list_name);
          if (it == lists_.end()) {
            return ErrorAt(e.list_pos, fmt::format("no list named \"{}\" (define it with list "
                                                   "\"{}\" [...] before the rule)",
                                                   e.list_name, e.list_name));
          }
          values = &it->second->values;
        }
        std::vector<Interval> set;
        for (const auto& v : *values) {
          BF_ASSIGN_OR_RETURN(uint64_t lo, KeyOf(a.field, v));
          uint64_t hi = lo;
          if (v.range_hi) {
            if (spec.type != FieldType::kHs) {
              return ErrorAt(v.pos, "ranges (A..B) are for HS codes only");
            }
            ast::Value end = v;
            end.text = *v.range_hi;
            end.range_hi.reset();
            BF_ASSIGN_OR_RETURN(hi, KeyOf(a.field, end));
            if (a.field == Field::kHsCode && (hi >> 40) != (lo >> 40)) {
              return ErrorAt(v.pos, "both ends of an hs.code range need the same number of digits");
            }
            if (hi < lo) return ErrorAt(v.pos, "the range ends before it starts");
          }
          set.push_back(Interval{lo, hi});
        }
        std::sort(set.begin(), set.end(),
                  [](const Interval& x, const Interval& y) { return x.lo < y.lo; });
        a.set_begin = static_cast<uint32_t>(p_.intervals.size());
        for (const auto& iv : set) {
          if (p_.intervals.size() > a.set_begin && p_.intervals.back().hi >= iv.lo - 1 &&
              iv.lo > 0) {
            p_.intervals.back().hi = std::max(p_.intervals.back().hi, iv.hi);
          } else {
            p_.intervals.push_back(iv);
          }
        }
        a.set_end = static_cast<uint32_t>(p_.intervals.size());
        break;
      }
      default:
        return ErrorAt(e.pos, "internal: not an atom");
    }
    p_.atoms.push_back(a);
    return static_cast<uint32_t>(p_.atoms.size() - 1);
  }

  // Evaluation cost class of a node: HS tests first, random draws last.
  int CostOf(uint32_t node) const {
    const Node& n = p_.nodes[node];
    if (n.kind != Node::Kind::kAtom) return 3;
    const Atom& a = p_.atoms[n.begin];
    if (a.op == Op::kRandom) return 4;
    if (a.field != Field::kCount && SpecOf(a.field).type == FieldType::kHs) return 0;
    if (a.numeric) return 2;
    return 1;
  }

  Result<uint32_t> CompileExpr(const ast::Expr& e, uint32_t rule_index) {
    using EK = ast::Expr::Kind;
    if (e.kind == EK::kAnd || e.kind == EK::kOr || e.kind == EK::kNot) {
      std::vector<uint32_t> kids;
      for (const auto& c : e.children) {
        BF_ASSIGN_OR_RETURN(uint32_t k, CompileExpr(*c, rule_index));
        kids.push_back(k);
      }
      if (e.kind != EK::kNot) {
        std::stable_sort(kids.begin(), kids.end(),
                         [&](uint32_t x, uint32_t y) { return CostOf(x) < CostOf(y); });
      }
      Node n;
      n.kind = e.kind == EK::kAnd  ? Node::Kind::kAnd
               : e.kind == EK::kOr ? Node::Kind::kOr
                                   : Node::Kind::kNot;
      n.begin = static_cast<uint32_t>(p_.children.size());
      p_.children.insert(p_.children.end(), kids.begin(), kids.end());
      n.end = static_cast<uint32_t>(p_.children.size());
      p_.nodes.push_back(n);
      return static_cast<uint32_t>(p_.nodes.size() - 1);
    }
    BF_ASSIGN_OR_RETURN(uint32_t atom, CompileAtom(e, rule_index));
    p_.nodes.push_back(Node{Node::Kind::kAtom, atom, atom + 1});
    return static_cast<uint32_t>(p_.nodes.size() - 1);
  }

  // The chapters a line must be in for the rule to fire, from an HS test that the whole
  // condition requires; empty when there is none.
  std::vector<uint64_t> RequiredChapters(uint32_t root) const {
    std::vector<uint32_t> conjuncts;
    const Node& n = p_.nodes[root];
    if (n.kind == Node::Kind::kAnd) {
      conjuncts.assign(p_.children.begin() + n.begin, p_.children.begin() + n.end);
    } else {
      conjuncts.push_back(root);
    }
    for (uint32_t c : conjuncts) {
      const Node& cn = p_.nodes[c];
      if (cn.kind != Node::Kind::kAtom) continue;
      const Atom& a = p_.atoms[cn.begin];
      if (a.field == Field::kCount || SpecOf(a.field).type != FieldType::kHs) continue;
      std::vector<uint64_t> chapters;
      if (a.op == Op::kEq) {
        chapters.push_back(ChapterOf(a.field, a.key));
      } else if (a.op == Op::kIn) {
        for (uint32_t i = a.set_begin; i < a.set_end; ++i) {
          uint64_t lo = ChapterOf(a.field, p_.intervals[i].lo);
          uint64_t hi = ChapterOf(a.field, p_.intervals[i].hi);
          for (uint64_t ch = lo; ch <= hi && ch < 100; ++ch) chapters.push_back(ch);
        }
      } else {
        continue;
      }
      std::sort(chapters.begin(), chapters.end());
      chapters.erase(std::unique(chapters.begin(), chapters.end()), chapters.end());
      return chapters;
    }
    return {};
  }

  Status CompileRule(const ast::Rule& r) {
    uint32_t index = static_cast<uint32_t>(p_.rules.size());
    line_level_ = false;
    random_ = false;
    CompiledRule cr;
    BF_ASSIGN_OR_RETURN(cr.root, CompileExpr(*r.when, index));
    RuleInfo info;
    info.name = r.name;
    info.line = r.pos.line;
    if (r.channel) {
      auto ch = ParseChannel(*r.channel);
      cr.channel = ch ? *ch : Channel::kNone;
    }
    cr.quarantine = r.quarantine.value_or(false);
    cr.mandatory = r.mandatory;
    cr.random = random_;
    cr.salt = RuleSalt(r.name);
    if (r.mandatory && cr.channel != Channel::kYellow && cr.channel != Channel::kRed) {
      return ErrorAt(r.mandatory_pos, "a mandatory rule must set channel yellow or red");
    }
    if (r.mandatory && random_) {
      return ErrorAt(r.mandatory_pos, "a mandatory rule cannot select at random");
    }
    if (cr.channel == Channel::kNone && !cr.quarantine && !r.has_score) {
      return ErrorAt(r.pos, "the rule sets no channel, quarantine or score");
    }
    cr.terms_begin = static_cast<uint32_t>(p_.terms.size());
    for (const auto& t : r.score) {
      ScoreTerm st;
      st.coefficient = t.coefficient;
      if (!t.field.empty()) {
        BF_ASSIGN_OR_RETURN(st.field, LookupField(t.field, t.pos));
        if (SpecOf(st.field).type != FieldType::kNumber) {
          return ErrorAt(t.pos, fmt::format("{} is not a number", t.field));
        }
      } else {
        info.score += t.coefficient;
      }
      if (!std::isfinite(st.coefficient)) return ErrorAt(t.pos, "score out of range");
      p_.terms.push_back(st);
    }
    cr.terms_end = static_cast<uint32_t>(p_.terms.size());
    cr.constant_score = true;
    for (uint32_t i = cr.terms_begin; i < cr.terms_end; ++i) {
      if (p_.terms[i].field != Field::kCount) cr.constant_score = false;
      cr.constant_score_value += p_.terms[i].coefficient;
    }
    cr.line_level = line_level_;
    {
      const Node& root = p_.nodes[cr.root];
      std::vector<uint32_t> atoms;
      if (root.kind == Node::Kind::kAtom) {
        atoms.push_back(root.begin);
      } else if (root.kind == Node::Kind::kAnd) {
        for (uint32_t i = root.begin; i < root.end; ++i) {
          const Node& c = p_.nodes[p_.children[i]];
          if (c.kind != Node::Kind::kAtom) {
            atoms.clear();
            break;
          }
          atoms.push_back(c.begin);
        }
      }
      if (!atoms.empty()) {
        cr.flat = true;
        cr.flat_begin = static_cast<uint32_t>(p_.flat.size());
        p_.flat.insert(p_.flat.end(), atoms.begin(), atoms.end());
        cr.flat_end = static_cast<uint32_t>(p_.flat.size());
      }
    }

    if (options_.require_all_languages) {
      const char* missing = !r.reason_en   ? "en"
                            : !r.reason_vi ? "vi"
                            : !r.reason_zh ? "zh"
                                           : nullptr;
      if (missing != nullptr) {
        return ErrorAt(r.reason_pos, fmt::format("the reason must be given in en, vi and zh "
                                                 "(missing {})",
                                                 missing));
      }
    }
    info.channel = cr.channel;
    info.quarantine = cr.quarantine;
    info.mandatory = cr.mandatory;
    info.random = cr.random;
    info.reason.en = r.reason_en.value_or("");
    info.reason.vi = r.reason_vi.value_or("");
    info.reason.zh = r.reason_zh.value_or("");
    info.condition = std::string(text_.substr(r.when_begin, r.when_end - r.when_begin));

    if (cr.line_level) {
      cr.hs_anchored = !RequiredChapters(cr.root).empty();
      if (!cr.hs_anchored) p_.line_rules_any.push_back(index);
    }
    p_.rules.push_back(cr);
    p_.info.push_back(std::move(info));
    return {};
  }

 public:
  std::string_view text_;

 private:
  const ast::File& file_;
  const RuleCompileOptions& options_;
  Program& p_;
  std::map<std::string, const ast::List*, std::less<>> lists_;
  std::set<uint64_t> reference_keys_;
  bool line_level_ = false;
  bool random_ = false;
};

}  // namespace
}  // namespace internal

const std::string& RuleSet::name() const { return program_->name; }
uint32_t RuleSet::version() const { return program_->version; }
std::string RuleSet::Id() const { return fmt::format("{}@{}", program_->name, program_->version); }
const std::string& RuleSet::fingerprint() const { return program_->fingerprint; }
uint64_t RuleSet::fingerprint64() const { return program_->fingerprint64; }
const std::string& RuleSet::source() const { return program_->source; }
const SelectionSettings& RuleSet::settings() const { return program_->settings; }
DrawAlgorithm RuleSet::draw() const { return program_->random_draw.algorithm; }

std::string_view DrawAlgorithmName(DrawAlgorithm a) {
  switch (a) {
    case DrawAlgorithm::kBlake2b:
      return "blake2b";
    case DrawAlgorithm::kSipHash24:
      return "siphash24";
  }
  return "unknown";
}

std::optional<DrawAlgorithm> ParseDrawAlgorithm(std::string_view name) {
  for (DrawAlgorithm a : {DrawAlgorithm::kBlake2b, DrawAlgorithm::kSipHash24}) {
    if (DrawAlgorithmName(a) == name) return a;
  }
  return std::nullopt;
}
size_t RuleSet::size() const { return program_->info.size(); }
const std::vector<std::string>& RuleSet::watchlists() const { return program_->watchlists; }
const RuleInfo& RuleSet::rule(size_t index) const { return program_->info.at(index); }

std::optional<size_t> RuleSet::FindRule(std::string_view name) const {
  for (size_t i = 0; i < program_->info.size(); ++i) {
    if (program_->info[i].name == name) return i;
  }
  return std::nullopt;
}

Result<RuleSet> CompileRuleSet(std::string_view text, const RuleCompileOptions& options) {
  if (options.secret.size() < 16) {
    return InvalidArgument("weak_secret", "the random-selection secret must have at least 16 bytes",
                           "secret");
  }
  if (text.size() > options.max_bytes) {
    return InvalidArgument("invalid_rules",
                           fmt::format("rule text of {} bytes exceeds the limit of {}", text.size(),
                                       options.max_bytes));
  }
  BF_ASSIGN_OR_RETURN(ast::File file, ast::Parse(text, options.max_rules));
  auto program = std::make_shared<internal::Program>();
  program->name = file.name;
  program->version = file.version;
  program->source = std::string(text);
  program->secret = options.secret;
  program->fingerprint = Sha256Hex(text);
  program->fingerprint64 = std::stoull(program->fingerprint.substr(0, 16), nullptr, 16);
  internal::Compiler compiler(file, options, *program);
  compiler.text_ = text;
  BF_TRY(compiler.Run());
  internal::BuildPlan(*program);
  return RuleSet(std::move(program));
}

std::optional<SourcePosition> ErrorPosition(const Error& error) {
  if (error.code != "invalid_rules") return std::nullopt;
  auto colon = error.field.find(':');
  if (colon == std::string::npos) return std::nullopt;
  SourcePosition p;
  try {
    p.line = std::stoi(error.field.substr(0, colon));
    p.column = std::stoi(error.field.substr(colon + 1));
  } catch (...) {
    return std::nullopt;
  }
  return p;
}

namespace {

// The BLAKE2b key actually used for a secret: BLAKE2b accepts keys of 16..64 bytes; longer
// (or shorter) secrets are hashed down first. Returns the key length.
size_t DrawKey(std::string_view secret, unsigned char (&key)[crypto_generichash_KEYBYTES_MAX]) {
  static const int kInit = sodium_init();
  (void)kInit;
  size_t key_len = secret.size();
  if (key_len > sizeof key || key_len < crypto_generichash_KEYBYTES_MIN) {
    crypto_generichash(key, crypto_generichash_KEYBYTES,
                       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                       nullptr, 0);
    key_len = crypto_generichash_KEYBYTES;
  } else {
    std::memcpy(key, secret.data(), key_len);
  }
  return key_len;
}

constexpr char kDrawTag[] = "borderflow.rules.v1";

}  // namespace

uint64_t KeyedDraw(std::string_view secret, std::string_view domain, std::string_view crossing_id) {
  crypto_generichash_state st;
  unsigned char key[crypto_generichash_KEYBYTES_MAX];
  const size_t key_len = DrawKey(secret, key);
  crypto_generichash_init(&st, key, key_len, 32);
  const unsigned char zero = 0;
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kDrawTag),
                            sizeof kDrawTag - 1);
  crypto_generichash_update(&st, &zero, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(domain.data()),
                            domain.size());
  crypto_generichash_update(&st, &zero, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(crossing_id.data()),
                            crossing_id.size());
  unsigned char out[32];
  crypto_generichash_final(&st, out, sizeof out);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

uint64_t RuleDraw(const RuleSet& rules, size_t rule, std::string_view crossing_id) {
  const internal::Program& p = rules.program();
  uint64_t key = 0;
  switch (rules.draw()) {
    case DrawAlgorithm::kBlake2b:
      key = internal::CrossingKey(p.secret, crossing_id);
      break;
    case DrawAlgorithm::kSipHash24:
      key = internal::SipHashDraw(internal::SipHashKey(p.secret), crossing_id);
      break;
  }
  return internal::MixDraw(key, p.rules.at(rule).salt);
}

namespace internal {

uint64_t CrossingKey(std::string_view secret, std::string_view crossing_id) {
  return KeyedDraw(secret, "random", crossing_id);
}

namespace {

// The message BLAKE2b hashes, keyed by the secret, into the SipHash key: one key per purpose.
constexpr char kSipHashKeyTag[] = "borderflow.rules.siphash24.random";

}  // namespace

std::array<unsigned char, 16> SipHashKey(std::string_view secret) {
  unsigned char key[crypto_generichash_KEYBYTES_MAX];
  const size_t key_len = DrawKey(secret, key);
  std::array<unsigned char, 16> out{};
  static_assert(crypto_shorthash_siphash24_KEYBYTES == 16);
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kSipHashKeyTag),
                     sizeof kSipHashKeyTag - 1, key, key_len);
  return out;
}

uint64_t SipHashDraw(const std::array<unsigned char, 16>& key, std::string_view crossing_id) {
  unsigned char out[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(out, reinterpret_cast<const unsigned char*>(crossing_id.data()),
                             crossing_id.size(), key.data());
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

// BLAKE2b (RFC 7693) written out, for the one hash Assess() may compute per crossing. Keyed
// BLAKE2b first compresses the key, padded to a block, on its own: that chaining value depends
// only on the secret, so it is computed once per rule set (RandomDrawState) and each draw
// compresses only the message block(s). The result equals KeyedDraw(secret, "random", id)
// bit for bit (checked by the tests); libsodium stays the reference implementation.
namespace {

constexpr uint64_t kBlake2bIv[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};

constexpr uint8_t kBlake2bSigma[12][16] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
                                           {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
                                           {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
                                           {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
                                           {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
                                           {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
                                           {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
                                           {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
                                           {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
                                           {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
                                           {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
                                           {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

constexpr uint64_t Rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

[[gnu::always_inline]] inline void G(uint64_t& a, uint64_t& b, uint64_t& c, uint64_t& d, uint64_t x,
                                     uint64_t y) {
  a = a + b + x;
  d = Rotr(d ^ a, 32);
  c = c + d;
  b = Rotr(b ^ c, 24);
  a = a + b + y;
  d = Rotr(d ^ a, 16);
  c = c + d;
  b = Rotr(b ^ c, 63);
}

// One round, its message schedule a compile-time constant.
template <int R>
[[gnu::always_inline]] inline void Round(uint64_t (&v)[16], const uint64_t (&m)[16]) {
  constexpr const uint8_t* s = kBlake2bSigma[R];
  G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
  G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
  G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
  G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
  G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
  G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
  G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
  G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
}

void LoadMessage(const unsigned char block[128], uint64_t (&m)[16]) {
  for (int i = 0; i < 16; ++i) {
    uint64_t w;
    std::memcpy(&w, block + 8 * i, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    m[i] = w;
  }
}

// Compresses one 128-byte block into `h`; `counter`: bytes hashed so far including this block.
void Blake2bCompress(uint64_t h[8], const unsigned char block[128], uint64_t counter, bool last) {
  uint64_t m[16];
  LoadMessage(block, m);
  uint64_t v[16];
  for (int i = 0; i < 8; ++i) {
    v[i] = h[i];
    v[i + 8] = kBlake2bIv[i];
  }
  v[12] ^= counter;  // the high word of the 128-bit counter stays 0
  if (last) v[14] = ~v[14];
  Round<0>(v, m);
  Round<1>(v, m);
  Round<2>(v, m);
  Round<3>(v, m);
  Round<4>(v, m);
  Round<5>(v, m);
  Round<6>(v, m);
  Round<7>(v, m);
  Round<8>(v, m);
  Round<9>(v, m);
  Round<10>(v, m);
  Round<11>(v, m);
  for (int i = 0; i < 8; ++i) h[i] ^= v[i] ^ v[i + 8];
}

// The message of a rule draw before the crossing id: tag \0 "random" \0.
constexpr std::string_view kRandomPrefix("borderflow.rules.v1\0random\0", 27);

}  // namespace

namespace {

// SipHash-2-4 (Aumasson and Bernstein, 2012) written out, for the one hash Assess() computes
// per crossing under siphash24: no call into libsodium and no per-call key loading. It equals
// SipHashDraw (libsodium's crypto_shorthash) bit for bit, checked by the tests.
[[gnu::always_inline]] inline void SipRound(uint64_t& v0, uint64_t& v1, uint64_t& v2,
                                            uint64_t& v3) {
  v0 += v1;
  v1 = std::rotl(v1, 13);
  v1 ^= v0;
  v0 = std::rotl(v0, 32);
  v2 += v3;
  v3 = std::rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = std::rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = std::rotl(v1, 17);
  v1 ^= v2;
  v2 = std::rotl(v2, 32);
}

uint64_t LoadLittle64(const unsigned char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

uint64_t SipHash24(const std::array<uint64_t, 2>& k, std::string_view message) {
  uint64_t v0 = k[0] ^ 0x736f6d6570736575ull, v1 = k[1] ^ 0x646f72616e646f6dull;
  uint64_t v2 = k[0] ^ 0x6c7967656e657261ull, v3 = k[1] ^ 0x7465646279746573ull;
  const auto* m = reinterpret_cast<const unsigned char*>(message.data());
  const size_t n = message.size();
  const size_t full = n & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    const uint64_t w = LoadLittle64(m + i);
    v3 ^= w;
    SipRound(v0, v1, v2, v3);
    SipRound(v0, v1, v2, v3);
    v0 ^= w;
  }
  uint64_t last = static_cast<uint64_t>(n & 0xff) << 56;
  for (size_t i = full; i < n; ++i) last |= static_cast<uint64_t>(m[i]) << (8 * (i - full));
  v3 ^= last;
  SipRound(v0, v1, v2, v3);
  SipRound(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  SipRound(v0, v1, v2, v3);
  SipRound(v0, v1, v2, v3);
  SipRound(v0, v1, v2, v3);
  SipRound(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace

RandomDrawState PrepareRandomDraw(std::string_view secret, DrawAlgorithm algorithm) {
  RandomDrawState st;
  st.algorithm = algorithm;
  if (algorithm == DrawAlgorithm::kSipHash24) {
    const std::array<unsigned char, 16> key = SipHashKey(secret);
    st.sip_key = {LoadLittle64(key.data()), LoadLittle64(key.data() + 8)};
    return st;
  }
  unsigned char key[crypto_generichash_KEYBYTES_MAX];
  const size_t key_len = DrawKey(secret, key);
  for (int i = 0; i < 8; ++i) st.h[i] = kBlake2bIv[i];
  st.h[0] ^= 0x01010000ull ^ (static_cast<uint64_t>(key_len) << 8) ^ 32;  // 32-byte digest
  unsigned char block[128] = {};
  std::memcpy(block, key, key_len);
  Blake2bCompress(st.h.data(), block, 128, false);  // the message is never empty
  return st;
}

uint64_t CrossingKey(const RandomDrawState& state, std::string_view crossing_id) {
  if (state.algorithm == DrawAlgorithm::kSipHash24) return SipHash24(state.sip_key, crossing_id);
  uint64_t h[8];
  std::copy(state.h.begin(), state.h.end(), h);
  unsigned char block[128];
  size_t fill = kRandomPrefix.size();
  std::memcpy(block, kRandomPrefix.data(), fill);
  uint64_t counter = 128;
  size_t pos = 0;
  for (;;) {
    const size_t take = std::min(crossing_id.size() - pos, sizeof block - fill);
    std::memcpy(block + fill, crossing_id.data() + pos, take);
    fill += take;
    pos += take;
    if (pos == crossing_id.size()) break;  // the block just filled may be the last one
    counter += 128;
    Blake2bCompress(h, block, counter, false);
    fill = 0;
  }
  std::memset(block + fill, 0, sizeof block - fill);
  Blake2bCompress(h, block, counter + fill, true);
  return h[0];  // the first 8 bytes of the digest, little-endian
}

uint64_t MixDraw(uint64_t crossing_key, uint64_t salt) {
  uint64_t z = crossing_key ^ salt;  // MurmurHash3 fmix64: a bijection, so uniform stays uniform
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdull;
  z ^= z >> 33;
  z *= 0xc4ceb9fe1a85ec53ull;
  z ^= z >> 33;
  return z;
}

uint64_t RuleSalt(std::string_view rule_name) {
  static const int kInit = sodium_init();
  (void)kInit;
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(rule_name.data()),
                     rule_name.size(), nullptr, 0);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

}  // namespace internal

}  // namespace borderflow::rules

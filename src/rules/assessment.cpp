// The evaluator: binds the facts to integer keys and numbers once, then runs the compiled
// conditions (program.h) without any string comparison.

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <tuple>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <borderflow/rules/assessment.h>

#include "program.h"

namespace borderflow::rules {
namespace {

using internal::Atom;
using internal::Field;
using internal::Node;
using internal::Op;
using internal::Program;

constexpr size_t F(Field f) { return static_cast<size_t>(f); }

struct Frame {
  uint64_t key[internal::kFieldCount];
  double num[internal::kFieldCount];
  uint64_t watch_mask = 0;
};

struct Context {
  const Program& p;
  const RiskFacts& facts;
  bool have_key = false;
  uint64_t crossing_key = 0;

  // The rule's random draw; the keyed hash of the crossing is computed once, when first needed.
  uint64_t Draw(uint32_t rule) {
    if (!have_key) {
      crossing_key = internal::CrossingKey(p.random_draw, facts.crossing_id);
      have_key = true;
    }
    return internal::MixDraw(crossing_key, p.rules[rule].salt);
  }
};

double Nan() { return std::numeric_limits<double>::quiet_NaN(); }

void BindDeclaration(const Program& p, const RiskFacts& f, Frame& fr) {
  const auto& u = p.used;
  auto key = [&](Field field, std::string_view s) {
    if (u[F(field)]) fr.key[F(field)] = internal::PackKey(s, p.strings);
  };
  key(Field::kDirection, f.direction);
  key(Field::kLaneClass, f.lane_class);
  key(Field::kFrom, f.from_country);
  key(Field::kDestination, f.to_country);
  key(Field::kTraderCompany, f.trader.company);
  key(Field::kTraderClass, f.trader.compliance_class);
  key(Field::kVehiclePlate, f.vehicle_plate);
  key(Field::kDriverDocument, f.driver_document);

  fr.num[F(Field::kTraderRisk)] = f.trader.risk;
  fr.num[F(Field::kTraderCompliance)] = 1.0 - f.trader.risk;
  fr.num[F(Field::kTraderInspections)] = static_cast<double>(f.trader.inspections);
  fr.num[F(Field::kTraderFindings)] = static_cast<double>(f.trader.findings);
  fr.num[F(Field::kVehicleCrossings)] = static_cast<double>(f.vehicle.crossings);
  fr.num[F(Field::kVehicleInspections)] = static_cast<double>(f.vehicle.inspections);
  fr.num[F(Field::kVehicleFindings)] = static_cast<double>(f.vehicle.findings);
  fr.num[F(Field::kDriverCrossings)] = static_cast<double>(f.driver.crossings);
  fr.num[F(Field::kDriverInspections)] = static_cast<double>(f.driver.inspections);
  fr.num[F(Field::kDriverFindings)] = static_cast<double>(f.driver.findings);
  double declared = 0;
  for (const auto& l : f.lines) declared += l.gross_weight_kg;
  fr.num[F(Field::kWeightDeclared)] = declared;
  double measured = f.weighbridge_kg ? *f.weighbridge_kg : Nan();
  fr.num[F(Field::kWeightMeasured)] = measured;
  // Relative deviation of the weighbridge from the declared gross weight; unknown without a
  // reading or without declared weight (empty trucks: compare weight.measured instead).
  fr.num[F(Field::kWeightDeviation)] =
      f.weighbridge_kg && declared > 0 ? std::fabs(measured - declared) / declared : Nan();
  fr.num[F(Field::kLines)] = static_cast<double>(f.lines.size());

  fr.key[F(Field::kTraderTrusted)] = f.trader.trusted ? 1 : 0;
  fr.key[F(Field::kEmpty)] = f.lines.empty() ? 1 : 0;
  fr.key[F(Field::kPerishable)] = f.perishable ? 1 : 0;
  fr.key[F(Field::kWeighed)] = f.weighbridge_kg ? 1 : 0;
  fr.key[F(Field::kPhyto)] = static_cast<uint64_t>(f.phytosanitary);
  fr.key[F(Field::kOriginCertificate)] = static_cast<uint64_t>(f.certificate_of_origin);
  fr.key[F(Field::kCustomsDeclaration)] = static_cast<uint64_t>(f.customs_declaration);
  fr.key[F(Field::kSeal)] = static_cast<uint64_t>(f.seal);

  fr.watch_mask = 0;
  if (!p.watchlists.empty()) {
    for (const auto& name : f.watchlists) {
      for (size_t i = 0; i < p.watchlists.size(); ++i) {
        if (p.watchlists[i] == name) fr.watch_mask |= 1ull << i;
      }
    }
  }
}

// The line's HS keys looked up in the line index: entries for its code, subheading, heading
// and chapter (nullptr where the index has none), most specific first.
using LineEntries = std::array<const internal::LineIndexEntry*, 4>;

// Binds one line (nullptr: the empty line of a truck without lines) and looks its HS keys up.
void BindLine(const Program& p, const LineFacts* l, Frame& fr, LineEntries& entries) {
  entries = {};
  if (l == nullptr) {
    fr.key[F(Field::kOrigin)] = 0;
    fr.key[F(Field::kHsChapter)] = fr.key[F(Field::kHsHeading)] = 0;
    fr.key[F(Field::kHsSubheading)] = fr.key[F(Field::kHsCode)] = 0;
    for (Field f : {Field::kUnitValue, Field::kValue, Field::kGrossWeight, Field::kPackages,
                    Field::kReferenceMin, Field::kReferenceMax}) {
      fr.num[F(f)] = Nan();
    }
    return;
  }
  fr.key[F(Field::kOrigin)] = internal::PackKey(l->origin, p.strings);
  // The keys of every HS level in one pass: HsKey(kHsCode, ...) and its first 2, 4, 6 digits;
  // all 0 unless the code has 6 to 10 digits.
  const std::string& hs = l->hs_code;
  uint64_t code = 0, chapter = 0, heading = 0, sub = 0;
  if (const size_t n = hs.size(); n >= 6 && n <= 10) {
    uint64_t v = 0;
    bool digits = true;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t d = static_cast<uint64_t>(static_cast<unsigned char>(hs[i])) - '0';
      digits &= d <= 9;
      v = v * 10 + d;
      if (i == 1) chapter = v;
      if (i == 3) heading = v;
      if (i == 5) sub = v;
    }
    if (digits) {
      code = (static_cast<uint64_t>(n) << 40) | v;
    } else {
      chapter = heading = sub = 0;
    }
  }
  fr.key[F(Field::kHsChapter)] = chapter;
  fr.key[F(Field::kHsHeading)] = heading;
  fr.key[F(Field::kHsSubheading)] = sub;
  fr.key[F(Field::kHsCode)] = code;
  fr.num[F(Field::kValue)] = l->value_usd;
  fr.num[F(Field::kGrossWeight)] = l->gross_weight_kg;
  fr.num[F(Field::kPackages)] = static_cast<double>(l->packages);
  fr.num[F(Field::kUnitValue)] = l->gross_weight_kg > 0 ? l->value_usd / l->gross_weight_kg : Nan();
  double rmin = Nan(), rmax = Nan();
  const internal::LineIndex& index = p.plan.line_index;
  if (!index.slots.empty()) {
    using internal::HsLevel;
    using internal::LineIndexKey;
    entries[0] = index.Find(LineIndexKey(HsLevel::kCode, code));
    entries[1] = index.Find(LineIndexKey(HsLevel::kSubheading, sub));
    entries[2] = index.Find(LineIndexKey(HsLevel::kHeading, heading));
    entries[3] = index.Find(LineIndexKey(HsLevel::kChapter, chapter));
    // Reference prices: the most specific level wins; none for a line without a valid code.
    if (p.has_references && code != 0) {
      for (const auto* e : entries) {
        if (e != nullptr && e->has_reference) {
          rmin = e->reference.min;
          rmax = e->reference.max;
          break;
        }
      }
    }
  }
  fr.num[F(Field::kReferenceMin)] = rmin;
  fr.num[F(Field::kReferenceMax)] = rmax;
}

// Whether `k` is in the sorted intervals [begin, end).
[[gnu::always_inline]] inline bool InSet(const Program& p, uint32_t begin, uint32_t end,
                                         uint64_t k) {
  const internal::Interval* iv = p.intervals.data();
  if (end - begin <= 8) {
    bool in = false;
    for (uint32_t i = begin; i < end; ++i) in |= (k >= iv[i].lo) & (k <= iv[i].hi);
    return in;
  }
  uint32_t lo = begin, hi = end;
  while (lo < hi) {  // first interval with hi >= k
    uint32_t mid = lo + (hi - lo) / 2;
    if (iv[mid].hi < k) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < end && iv[lo].lo <= k;
}

bool InSet(const Program& p, const Atom& a, uint64_t k) {
  return InSet(p, a.set_begin, a.set_end, k);
}

bool EvalAtom(Context& ctx, const Atom& a, const Frame& fr) {
  const Program& p = ctx.p;
  if (a.numeric) {
    double rhs = a.rhs_field == Field::kCount ? a.number : fr.num[F(a.rhs_field)] * a.number;
    return internal::CompareNumbers(internal::NumberOutcomes(a.op), fr.num[F(a.field)], rhs);
  }
  switch (a.op) {
    case Op::kEq:
      return fr.key[F(a.field)] == a.key;
    case Op::kNe:
      return fr.key[F(a.field)] != a.key;
    case Op::kIn:
      return InSet(p, a, fr.key[F(a.field)]);
    case Op::kNotIn:
      return !InSet(p, a, fr.key[F(a.field)]);
    case Op::kTrue:
      return fr.key[F(a.field)] != 0;
    case Op::kWatchlist:
      return (fr.watch_mask >> a.key) & 1;
    case Op::kRandom:
      return a.number >= 1.0 || ctx.Draw(a.rule) < a.key;
    default:
      return false;
  }
}

bool EvalNode(Context& ctx, uint32_t index, const Frame& fr) {
  const Program& p = ctx.p;
  const Node& n = p.nodes[index];
  switch (n.kind) {
    case Node::Kind::kAtom:
      return EvalAtom(ctx, p.atoms[n.begin], fr);
    case Node::Kind::kAnd:
      for (uint32_t i = n.begin; i < n.end; ++i) {
        if (!EvalNode(ctx, p.children[i], fr)) return false;
      }
      return true;
    case Node::Kind::kOr:
      for (uint32_t i = n.begin; i < n.end; ++i) {
        if (EvalNode(ctx, p.children[i], fr)) return true;
      }
      return false;
    case Node::Kind::kNot:
      return !EvalNode(ctx, p.children[n.begin], fr);
  }
  return false;
}

bool EvalRule(Context& ctx, uint32_t r, const Frame& fr) {
  const Program& p = ctx.p;
  const internal::CompiledRule& cr = p.rules[r];
  if (cr.flat) {
    for (uint32_t i = cr.flat_begin; i < cr.flat_end; ++i) {
      if (!EvalAtom(ctx, p.atoms[p.flat[i]], fr)) return false;
    }
    return true;
  }
  return EvalNode(ctx, cr.root, fr);
}

// Evaluates every declaration-level test of the plan into `bits` (one bit per slot).
void EvalSlots(Context& ctx, const Frame& fr, uint64_t* bits) {
  const internal::EvalPlan& plan = ctx.p.plan;
  std::fill(bits, bits + plan.slot_words, 0);
  auto set = [&](uint32_t slot, bool v) {
    bits[slot / 64] |= static_cast<uint64_t>(v) << (slot % 64);
  };
  for (const auto& k : plan.key_slots) set(k.slot, (fr.key[F(k.field)] == k.key) == k.equal);
  for (const auto& n : plan.number_slots) {
    const double rhs = n.rhs_field == Field::kCount ? n.number : fr.num[F(n.rhs_field)] * n.number;
    set(n.slot, internal::CompareNumbers(n.outcomes, fr.num[F(n.field)], rhs));
  }
  for (uint32_t slot : plan.other_slots) {
    set(slot, EvalAtom(ctx, ctx.p.atoms[plan.slot_atoms[slot]], fr));
  }
}

// Whether the slot literals of a candidate hold: at once from one bitset word (the usual case;
// a term without slot literals always passes), else bit by bit.
[[gnu::always_inline]] inline bool SlotsHold(const Program& p, const internal::TermRef& ref,
                                             const uint64_t* bits) {
  if (ref.word != internal::TermRef::kSeveralWords) [[likely]] {
    const uint64_t w = bits[ref.word];
    return (((w & ref.must_set) ^ ref.must_set) | (w & ref.must_clear)) == 0;
  }
  const internal::Term& term = p.plan.terms[ref.term];
  const internal::Literal* lits = p.plan.literals.data();
  bool ok = true;
  for (uint32_t i = term.begin; i < term.slots_end; ++i) {
    const uint32_t s = lits[i].index;
    ok &= (((bits[s / 64] >> (s % 64)) & 1) != 0) != lits[i].negated;
  }
  return ok;
}

// Whether the literals [first, end) hold (line atoms, random draws, trees), stopping at the
// first that fails.
[[gnu::always_inline]] inline bool LiteralsHold(Context& ctx, uint32_t first, uint32_t end,
                                                const Frame& fr) {
  const Program& p = ctx.p;
  const internal::Literal* lits = p.plan.literals.data();
  for (uint32_t i = first; i < end; ++i) {
    const internal::Literal& l = lits[i];
    using Fast = internal::Literal::Fast;
    bool v;
    // Tested in turn, the most common kinds first (a chain of predictable branches rather
    // than one indirect jump).
    if (l.fast == Fast::kKeyEquals) {
      v = fr.key[F(l.field)] == l.key;
    } else if (l.fast == Fast::kNumberVsConstant) {
      v = internal::CompareNumbers(l.outcomes, fr.num[F(l.field)], l.number);
    } else if (l.fast == Fast::kKeyInSet) {
      v = InSet(p, l.set_begin, l.set_end, fr.key[F(l.field)]);
    } else if (l.fast == Fast::kNumberVsField) {
      v = internal::CompareNumbers(l.outcomes, fr.num[F(l.field)],
                                   fr.num[F(l.rhs_field)] * l.number);
    } else if (l.fast == Fast::kRandom) {
      v = l.number >= 1.0 || ctx.Draw(l.rule) < l.key;
    } else if (l.kind == internal::Literal::Kind::kTree) {
      v = EvalNode(ctx, l.index, fr);
    } else {
      v = EvalAtom(ctx, p.atoms[l.index], fr);
    }
    if (v == l.negated) return false;
  }
  return true;
}

// Applies the actions of rule `r`, which fired, to `out`; returns its score.
double Fire(const Program& p, uint32_t r, const Frame& fr, RuleWeights weights, Assessment* out) {
  const internal::CompiledRule& cr = p.rules[r];
  double score = cr.constant_score_value;
  if (!cr.constant_score) {
    score = 0;
    for (uint32_t i = cr.terms_begin; i < cr.terms_end; ++i) {
      const internal::ScoreTerm& t = p.terms[i];
      double v = t.field == Field::kCount ? t.coefficient : t.coefficient * fr.num[F(t.field)];
      if (!std::isnan(v)) score += v;
    }
  }
  if (r < weights.size()) score *= weights[r];
  if (cr.channel > out->channel) out->channel = cr.channel;
  if (cr.mandatory && cr.channel > out->mandatory_channel) out->mandatory_channel = cr.channel;
  out->quarantine = out->quarantine || cr.quarantine;
  out->random = out->random || cr.random;
  return score;
}

// The rules fired so far: one bit per rule, and what each fired with in a per-thread table
// indexed by rule (only the entries whose bit is set are read), so that the list comes out in
// rule order without sorting.
class FiredSet {
 public:
  explicit FiredSet(size_t rules) {
    const size_t n = (rules + 63) / 64;
    if (n > kInlineWords) {
      thread_local std::vector<uint64_t> heap;  // grows once per thread, then reused
      heap.resize(n);
      words_ = heap.data();
    }
    words_count_ = n;
    std::fill(words_, words_ + n, 0);
    thread_local std::vector<FiredRule> table;  // grows once per thread, then reused
    if (table.size() < rules) table.resize(rules);
    table_ = table.data();
  }
  bool Has(uint32_t r) const { return ((words_[r / 64] >> (r % 64)) & 1) != 0; }
  void Add(uint32_t r, int32_t line, double score) {
    words_[r / 64] |= 1ull << (r % 64);
    table_[r] = FiredRule{r, line, score};
    ++count_;
    // Whole scores of moderate size add up exactly in any order.
    whole_ &= std::trunc(score) == score && std::fabs(score) < 0x1p40;
  }
  bool AllScoresWhole() const { return whole_; }
  // Replaces `out` with the fired rules in rule order.
  void Collect(std::vector<FiredRule>* out) const {
    out->resize(count_);
    FiredRule* next = out->data();
    for (size_t w = 0; w < words_count_; ++w) {
      for (uint64_t m = words_[w]; m != 0; m &= m - 1) {
        *next++ = table_[w * 64 + static_cast<size_t>(std::countr_zero(m))];
      }
    }
  }

 private:
  static constexpr size_t kInlineWords = 16;  // up to 1024 rules on the stack
  uint64_t inline_words_[kInlineWords];
  uint64_t* words_ = inline_words_;
  size_t words_count_ = 0;
  FiredRule* table_ = nullptr;
  size_t count_ = 0;
  bool whole_ = true;
};

bool AlreadyFired(const Assessment* out, uint32_t r) {
  for (const auto& f : out->fired) {
    if (f.rule == r) return true;
  }
  return false;
}

// Sums the fired rules' scores into out->score in the order of the rule-by-rule evaluator this
// plan replaced (the sum of doubles depends on its order, so totals stay the same to the last
// bit): declaration-level rules, then per consignment line the rules with a required HS test
// before the others, each in rule order. Leaves `fired` in that order.
void SumInOrder(const Program& p, Assessment* out) {
  auto& fired = out->fired;
  auto order = [&](const FiredRule& f) {
    const internal::CompiledRule& cr = p.rules[f.rule];
    const uint64_t line =
        cr.line_level ? static_cast<uint64_t>(static_cast<int64_t>(f.line) + 1) : 0;
    return std::pair((line << 2) | (cr.line_level ? 2u : 0u) | (cr.hs_anchored ? 0u : 1u), f.rule);
  };
  std::sort(fired.begin(), fired.end(),
            [&](const FiredRule& a, const FiredRule& b) { return order(a) < order(b); });
  for (const auto& f : fired) out->score += f.score;
}

constexpr size_t kInlineWords = 16;  // slot bits kept on the stack: up to 1024 distinct tests

}  // namespace

void Assess(const RuleSet& rules, const RiskFacts& facts, Assessment* out, RuleWeights weights) {
  const Program& p = rules.program();
  const internal::EvalPlan& plan = p.plan;
  out->channel = Channel::kGreen;
  out->quarantine = false;
  out->mandatory_channel = Channel::kNone;
  out->random = false;
  out->score = 0;
  out->fired.clear();
  out->rule_set_version = p.version;
  out->rule_set_fingerprint = p.fingerprint64;
  out->held_from_previous = false;
  out->previous_channel = Channel::kNone;
  out->previous_version = 0;

  Frame fr;
  BindDeclaration(p, facts, fr);
  Context ctx{p, facts};

  // 1. Every declaration-level test once.
  uint64_t inline_bits[kInlineWords];
  uint64_t* bits = inline_bits;
  if (plan.slot_words > kInlineWords) {
    thread_local std::vector<uint64_t> heap_bits;  // grows once per thread, then reused
    heap_bits.resize(plan.slot_words);
    bits = heap_bits.data();
  }
  bits[0] = 0;  // read (and masked out) by terms without slot literals when there are no slots
  EvalSlots(ctx, fr, bits);
  FiredSet fired_set(p.rules.size());

  // A candidate term: its slot bits, then its other literals from `first` (a line-index anchor
  // known to hold is skipped), then whether its rule fired already (on an earlier line).
  auto check = [&](const internal::TermRef& ref, uint32_t skip, int32_t line)
      __attribute__((always_inline)) {
    if (SlotsHold(p, ref, bits) && LiteralsHold(ctx, ref.literals + skip, ref.literals_end, fr) &&
        !fired_set.Has(ref.rule)) {
      fired_set.Add(ref.rule, line, Fire(p, ref.rule, fr, weights, out));
    }
  };

  // 2. Declaration-level terms whose anchor holds, and those without an anchor.
  for (size_t w = 0; w < plan.slot_words; ++w) {
    for (int negated = 0; negated < 2; ++negated) {
      uint64_t m = negated ? ~bits[w] & plan.negated_anchor_mask[w] : bits[w] & plan.anchor_mask[w];
      while (m != 0) {
        const size_t slot = w * 64 + static_cast<size_t>(std::countr_zero(m));
        m &= m - 1;
        const size_t list = 2 * slot + static_cast<size_t>(negated);
        for (uint32_t i = plan.anchor_begin[list]; i < plan.anchor_begin[list + 1]; ++i) {
          check(plan.anchored_terms[i], 0, -1);
        }
      }
    }
  }
  for (const auto& ref : plan.unanchored_terms) check(ref, 0, -1);

  // 3. Line-level rules: a truck without lines on its empty line, else every line against the
  // terms its HS keys select and the terms without an HS key. A rule fires on the first line
  // that satisfies it.
  if (facts.lines.empty()) {
    LineEntries entries;
    BindLine(p, nullptr, fr, entries);
    for (uint32_t r : p.line_rules_any) {
      if (EvalRule(ctx, r, fr)) fired_set.Add(r, -1, Fire(p, r, fr, weights, out));
    }
  } else {
    for (size_t i = 0; i < facts.lines.size(); ++i) {
      LineEntries entries;
      BindLine(p, &facts.lines[i], fr, entries);
      const auto line = static_cast<int32_t>(i);
      for (const auto* e : entries) {
        if (e == nullptr) continue;
        for (uint32_t j = e->terms_begin; j < e->exact_end; ++j) {
          check(plan.line_index_terms[j], 1, line);  // the anchor holds: skip it
        }
        for (uint32_t j = e->exact_end; j < e->terms_end; ++j) {
          check(plan.line_index_terms[j], 0, line);
        }
      }
      for (const auto& ref : plan.line_terms_any) check(ref, 0, line);
    }
  }

  // 4. The fired rules in rule order, and the total score.
  auto& fired = out->fired;
  fired_set.Collect(&fired);
  // Whole scores of moderate size add up exactly in any order (the usual case: constant
  // integer scores); others are summed in the evaluator's historical order.
  const bool exact = fired_set.AllScoresWhole();
  if (fired.size() > 1 && !exact) {
    SumInOrder(p, out);
    fired_set.Collect(&fired);  // back in rule order
  } else {
    for (const auto& f : fired) out->score += f.score;
  }
  const SelectionSettings& s = p.settings;
  if (s.red_threshold && out->score >= *s.red_threshold) {
    out->channel = Channel::kRed;
  } else if (s.yellow_threshold && out->score >= *s.yellow_threshold &&
             out->channel < Channel::kYellow) {
    out->channel = Channel::kYellow;
  }
}

Assessment Assess(const RuleSet& rules, const RiskFacts& facts, RuleWeights weights) {
  Assessment a;
  Assess(rules, facts, &a, weights);
  return a;
}

Assessment Reassess(const RuleSet& rules, const Assessment& previous, const RiskFacts& facts,
                    RuleWeights weights) {
  Assessment a = Assess(rules, facts, weights);
  const Channel fresh_channel = a.channel;
  const bool fresh_quarantine = a.quarantine;
  if (previous.rule_set_fingerprint == a.rule_set_fingerprint) {
    for (const auto& f : previous.fired) {
      if (!AlreadyFired(&a, f.rule)) a.fired.push_back(f);
    }
    std::sort(a.fired.begin(), a.fired.end(),
              [](const FiredRule& x, const FiredRule& y) { return x.rule < y.rule; });
  }
  a.channel = std::max(a.channel, previous.channel);
  a.quarantine = a.quarantine || previous.quarantine;
  a.mandatory_channel = std::max(a.mandatory_channel, previous.mandatory_channel);
  a.random = a.random || previous.random;
  a.score = std::max(a.score, previous.score);
  a.previous_channel = previous.channel;
  a.previous_version = previous.rule_set_version;
  a.held_from_previous = previous.held_from_previous || a.channel > fresh_channel ||
                         (a.quarantine && !fresh_quarantine);
  return a;
}

namespace {

std::string FormatScore(double s) {
  if (s == std::floor(s) && std::fabs(s) < 1e12) return fmt::format("{}", static_cast<int64_t>(s));
  return fmt::format("{:.2f}", s);
}

std::string_view ChannelWord(Channel c, int lang) {
  static constexpr std::string_view kWords[3][4] = {
      {"No channel", "Green channel", "Yellow channel", "Red channel"},
      {"Chưa phân luồng", "Luồng xanh", "Luồng vàng", "Luồng đỏ"},
      {"未分配通道", "绿色通道", "黄色通道", "红色通道"}};
  return kWords[lang][static_cast<int>(c)];
}

}  // namespace

Result<Explanation> Explain(const RuleSet& rules, const Assessment& a) {
  const Program& p = rules.program();
  if (a.rule_set_fingerprint != p.fingerprint64 || a.rule_set_version != p.version) {
    return Conflict(
        "rule_set_mismatch",
        fmt::format("the assessment was made by rule set version {} (fingerprint "
                    "{:016x}), not by {} ({:016x})",
                    a.rule_set_version, a.rule_set_fingerprint, rules.Id(), p.fingerprint64));
  }
  Explanation e;
  e.rule_set = rules.Id();
  e.fingerprint = p.fingerprint;
  e.channel = a.channel;
  e.quarantine = a.quarantine;
  e.score = a.score;
  e.held_from_previous = a.held_from_previous;
  e.previous_channel = a.previous_channel;
  e.previous_version = a.previous_version;
  std::string names;
  for (const auto& f : a.fired) {
    if (f.rule >= p.info.size()) return Internal("fired rule index out of range");
    const RuleInfo& info = p.info[f.rule];
    ExplainedRule r;
    r.name = info.name;
    r.source_line = info.line;
    r.consignment_line = f.line;
    r.channel = info.channel;
    r.quarantine = info.quarantine;
    r.mandatory = info.mandatory;
    r.random = info.random;
    r.score = f.score;
    r.condition = info.condition;
    r.reason = info.reason;
    e.rules.push_back(std::move(r));
    names += (names.empty() ? "" : ", ") + info.name;
  }
  std::string score = FormatScore(a.score);
  e.summary.en = fmt::format("{}{} (score {}): {}.", ChannelWord(a.channel, 0),
                             a.quarantine ? ", quarantine inspection" : "", score,
                             names.empty() ? "no rule fired" : names);
  e.summary.vi = fmt::format("{}{} (điểm {}): {}.", ChannelWord(a.channel, 1),
                             a.quarantine ? ", kiểm dịch" : "", score,
                             names.empty() ? "không có quy tắc nào áp dụng" : names);
  e.summary.zh = fmt::format("{}{}（分数 {}）：{}。", ChannelWord(a.channel, 2),
                             a.quarantine ? "，检疫查验" : "", score,
                             names.empty() ? "未触发任何规则" : names);
  if (a.held_from_previous) {
    e.summary.en +=
        fmt::format(" Kept at least at the previous decision ({}, rule set version {}).",
                    ChannelName(a.previous_channel), a.previous_version);
    e.summary.vi += fmt::format(" Giữ mức của quyết định trước ({}, phiên bản {}).",
                                ChannelName(a.previous_channel), a.previous_version);
    e.summary.zh += fmt::format("维持先前决定（{}，规则集版本 {}）。",
                                ChannelName(a.previous_channel), a.previous_version);
  }
  return e;
}

boost::json::object ExplanationToJson(const Explanation& e) {
  boost::json::object o;
  o["rule_set"] = e.rule_set;
  o["fingerprint"] = e.fingerprint;
  o["channel"] = ChannelName(e.channel);
  o["quarantine"] = e.quarantine;
  o["score"] = e.score;
  boost::json::array rules;
  for (const auto& r : e.rules) {
    boost::json::object j;
    j["name"] = r.name;
    j["source_line"] = r.source_line;
    if (r.consignment_line >= 0) j["consignment_line"] = r.consignment_line;
    j["channel"] = ChannelName(r.channel);
    j["quarantine"] = r.quarantine;
    j["mandatory"] = r.mandatory;
    j["random"] = r.random;
    j["score"] = r.score;
    j["condition"] = r.condition;
    j["reason"] = {{"en", r.reason.en}, {"vi", r.reason.vi}, {"zh", r.reason.zh}};
    rules.push_back(std::move(j));
  }
  o["rules"] = std::move(rules);
  if (e.held_from_previous) {
    o["held_from_previous"] = {{"channel", ChannelName(e.previous_channel)},
                               {"rule_set_version", e.previous_version}};
  }
  o["summary"] = {{"en", e.summary.en}, {"vi", e.summary.vi}, {"zh", e.summary.zh}};
  return o;
}

DryRunReport DryRun(const RuleSet& current, const RuleSet& candidate,
                    std::span<const RiskFacts> past, size_t max_changes) {
  DryRunReport report;
  Assessment before, after;
  for (size_t i = 0; i < past.size(); ++i) {
    Assess(current, past[i], &before);
    Assess(candidate, past[i], &after);
    ++report.total;
    ++report.before[static_cast<int>(before.channel)];
    ++report.after[static_cast<int>(after.channel)];
    report.quarantine_before += before.quarantine ? 1 : 0;
    report.quarantine_after += after.quarantine ? 1 : 0;
    if (before.channel != after.channel || before.quarantine != after.quarantine) {
      ++report.changed;
      if (report.changes.size() < max_changes) {
        report.changes.push_back(
            DryRunChange{i, before.channel, after.channel, before.quarantine, after.quarantine});
      }
    }
  }
  return report;
}

}  // namespace borderflow::rules

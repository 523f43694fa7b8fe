// Builds the evaluation plan of a compiled rule set (program.h, "The evaluation plan"): slots for
// the distinct declaration-level tests, every condition in disjunctive normal form, declaration
// terms listed by anchor, line terms indexed by HS key.

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "program.h"

namespace borderflow::rules::internal {
namespace {

bool IsLineField(Field f) { return f != Field::kCount && SpecOf(f).line; }

// An atom read once per declaration: it names no line field and draws nothing.
bool IsSlotAtom(const Atom& a) {
  return a.op != Op::kRandom && !IsLineField(a.field) && !IsLineField(a.rhs_field);
}

bool IsHsField(Field f) { return f != Field::kCount && SpecOf(f).type == FieldType::kHs; }

// Literals of one term while building, before they are sorted and stored.
using Conjunction = std::vector<Literal>;

bool SameLiteral(const Literal& x, const Literal& y) {
  return x.kind == y.kind && x.negated == y.negated && x.index == y.index;
}

// `x and y` of two terms; false when it would exceed the literal limit.
bool Conjoin(const Conjunction& x, const Conjunction& y, Conjunction* out) {
  *out = x;
  for (const Literal& l : y) {
    if (std::none_of(out->begin(), out->end(),
                     [&](const Literal& m) { return SameLiteral(l, m); })) {
      out->push_back(l);
    }
  }
  return out->size() <= EvalPlan::kMaxLiterals;
}

class PlanBuilder {
 public:
  explicit PlanBuilder(Program& p) : p_(p), plan_(p.plan) {}

  void Run() {
    // Slots and terms of every rule.
    std::vector<std::vector<Conjunction>> dnf(p_.rules.size());
    // The normal forms may repeat atoms (an `and` of `or`s multiplies out); all of them
    // together stay within a few literals per atom written, or rules keep their trees.
    const size_t literal_budget = 8 * p_.atoms.size() + 4096;
    size_t literals = 0;
    for (uint32_t r = 0; r < p_.rules.size(); ++r) {
      bool ok = ToDnf(p_.rules[r].root, false, &dnf[r]);
      size_t count = 0;
      for (const auto& c : dnf[r]) count += c.size();
      if (ok && literals + count <= literal_budget) {
        literals += count;
      } else {
        // Too large in normal form: one term that evaluates the rule's tree.
        Literal tree;
        tree.kind = Literal::Kind::kTree;
        tree.index = p_.rules[r].root;
        dnf[r].assign(1, Conjunction{tree});
      }
    }
    plan_.slot_words = (plan_.slot_atoms.size() + 63) / 64;
    for (uint32_t i = 0; i < plan_.slot_atoms.size(); ++i) {
      const Atom& a = p_.atoms[plan_.slot_atoms[i]];
      if (a.numeric) {
        plan_.number_slots.push_back(
            EvalPlan::NumberSlot{i, a.field, a.rhs_field, NumberOutcomes(a.op), a.number});
      } else if (a.op == Op::kEq || a.op == Op::kNe || a.op == Op::kTrue) {
        plan_.key_slots.push_back(
            EvalPlan::KeySlot{i, a.field, a.op == Op::kEq, a.op == Op::kTrue ? 0 : a.key});
      } else {
        plan_.other_slots.push_back(i);
      }
    }
    for (uint32_t r = 0; r < p_.rules.size(); ++r) {
      for (auto& c : dnf[r]) AddTerm(r, std::move(c));
    }
    BuildAnchors();
    BuildLineIndex();
    plan_.anchored_terms = Refs(anchored_);
    plan_.unanchored_terms = Refs(unanchored_);
    plan_.line_index_terms = Refs(line_index_terms_);
    plan_.line_terms_any = Refs(line_terms_any_);
  }

 private:
  // The slot of a declaration-level atom; identical atoms (same test, same constants) share one.
  uint32_t SlotOf(uint32_t atom_index) {
    const Atom& a = p_.atoms[atom_index];
    std::string key(reinterpret_cast<const char*>(&a.op), sizeof a.op);
    auto put = [&](const auto& v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(a.field);
    put(a.rhs_field);
    put(a.number);
    put(a.key);
    put(a.numeric);
    for (uint32_t i = a.set_begin; i < a.set_end; ++i) {
      put(p_.intervals[i].lo);
      put(p_.intervals[i].hi);
    }
    auto [it, fresh] =
        slots_.emplace(std::move(key), static_cast<uint32_t>(plan_.slot_atoms.size()));
    if (fresh) plan_.slot_atoms.push_back(atom_index);
    return it->second;
  }

  // The disjunctive normal form of `node` (negated when `negate`), literals as built by
  // LiteralOf; false when it exceeds the limits.
  bool ToDnf(uint32_t node, bool negate, std::vector<Conjunction>* out) {
    const Node& n = p_.nodes[node];
    switch (n.kind) {
      case Node::Kind::kAtom:
        out->assign(1, Conjunction{LiteralOf(n.begin, negate)});
        return true;
      case Node::Kind::kNot:
        return ToDnf(p_.children[n.begin], !negate, out);
      case Node::Kind::kAnd:
      case Node::Kind::kOr: {
        // `and`, or a negated `or` (De Morgan), multiplies the children's forms out; `or`, or a
        // negated `and`, concatenates them.
        const bool conjunction = (n.kind == Node::Kind::kAnd) != negate;
        std::vector<Conjunction> acc;
        if (conjunction) acc.emplace_back();
        for (uint32_t i = n.begin; i < n.end; ++i) {
          std::vector<Conjunction> child;
          if (!ToDnf(p_.children[i], negate, &child)) return false;
          if (conjunction) {
            if (acc.size() * child.size() > EvalPlan::kMaxTerms) return false;
            std::vector<Conjunction> product;
            for (const auto& x : acc) {
              for (const auto& y : child) {
                Conjunction c;
                if (!Conjoin(x, y, &c)) return false;
                product.push_back(std::move(c));
              }
            }
            acc = std::move(product);
          } else {
            if (acc.size() + child.size() > EvalPlan::kMaxTerms) return false;
            for (auto& c : child) acc.push_back(std::move(c));
          }
        }
        *out = std::move(acc);
        return true;
      }
    }
    return false;
  }

  Literal LiteralOf(uint32_t atom_index, bool negate) {
    const Atom& a = p_.atoms[atom_index];
    if (a.op == Op::kRandom) {
      Literal l;
      l.kind = Literal::Kind::kRandom;
      l.fast = Literal::Fast::kRandom;
      l.negated = negate;
      l.index = atom_index;
      l.key = a.key;
      l.number = a.number;
      l.rule = a.rule;
      return l;
    }
    Literal l;
    l.negated = negate;
    if (IsSlotAtom(a)) {
      l.kind = Literal::Kind::kSlot;
      l.index = SlotOf(atom_index);
      return l;
    }
    l.kind = Literal::Kind::kLine;
    l.index = atom_index;
    l.field = a.field;
    l.rhs_field = a.rhs_field;
    if (a.numeric) {
      l.fast = a.rhs_field == Field::kCount ? Literal::Fast::kNumberVsConstant
                                            : Literal::Fast::kNumberVsField;
      l.outcomes = NumberOutcomes(a.op);
      l.number = a.number;
    } else if (a.op == Op::kEq || a.op == Op::kNe) {
      l.fast = Literal::Fast::kKeyEquals;  // `!=` is the negated `==`
      l.key = a.key;
      l.negated = negate != (a.op == Op::kNe);
    } else if (a.op == Op::kIn || a.op == Op::kNotIn) {
      l.fast = Literal::Fast::kKeyInSet;  // `not in` is the negated `in`
      l.set_begin = a.set_begin;
      l.set_end = a.set_end;
      l.negated = negate != (a.op == Op::kNotIn);
    }
    return l;
  }

  // The candidate-list form of terms.
  std::vector<TermRef> Refs(const std::vector<uint32_t>& terms) const {
    std::vector<TermRef> out;
    out.reserve(terms.size());
    for (uint32_t t : terms) {
      const Term& term = plan_.terms[t];
      TermRef r;
      r.must_set = term.must_set;
      r.must_clear = term.must_clear;
      r.word = term.one_word ? term.word : TermRef::kSeveralWords;
      r.rule = term.rule;
      r.literals = term.slots_end;
      r.literals_end = term.end;
      r.term = t;
      out.push_back(r);
    }
    return out;
  }

  // Evaluation order of the literals after the slot bits: HS tests, other key tests, numbers,
  // then trees and random draws (the keyed hash only when everything else holds).
  int CostOf(const Literal& l) const {
    if (l.kind == Literal::Kind::kTree) return 3;
    if (l.kind == Literal::Kind::kRandom) return 4;
    const Atom& a = p_.atoms[l.index];
    if (IsHsField(a.field)) return 0;
    return a.numeric ? 2 : 1;
  }

  void AddTerm(uint32_t rule, Conjunction c) {
    std::stable_sort(c.begin(), c.end(), [&](const Literal& x, const Literal& y) {
      const bool xs = x.kind == Literal::Kind::kSlot, ys = y.kind == Literal::Kind::kSlot;
      if (xs != ys) return xs;
      if (xs) return false;
      return CostOf(x) < CostOf(y);
    });
    Term t;
    t.rule = rule;
    t.begin = t.slots_end = static_cast<uint32_t>(plan_.literals.size());
    for (const Literal& l : c) {
      plan_.literals.push_back(l);
      if (l.kind == Literal::Kind::kSlot)
        t.slots_end = static_cast<uint32_t>(plan_.literals.size());
    }
    t.end = static_cast<uint32_t>(plan_.literals.size());
    if (t.slots_end > t.begin) t.word = plan_.literals[t.begin].index / 64;
    for (uint32_t i = t.begin; i < t.slots_end; ++i) {
      const Literal& l = plan_.literals[i];
      if (l.index / 64 != t.word) t.one_word = false;
      (l.negated ? t.must_clear : t.must_set) |= 1ull << (l.index % 64);
    }
    plan_.terms.push_back(t);
  }

  // How selective a slot literal is likely to be, lower is better: an equality on text or an
  // HS code, a watch list; a set or an enum value; a number; a yes/no field; an inequality;
  // anything negated.
  int AnchorRank(const Literal& l) const {
    if (l.negated) return 5;
    const Atom& a = p_.atoms[plan_.slot_atoms[l.index]];
    if (a.op == Op::kWatchlist) return 0;
    if (a.numeric) return a.op == Op::kNe ? 4 : 2;
    switch (a.op) {
      case Op::kEq:
        return SpecOf(a.field).type == FieldType::kEnum ? 1 : 0;
      case Op::kIn:
        return 1;
      case Op::kTrue:
        return 3;
      default:
        return 4;
    }
  }

  // Declaration-level terms listed under their anchor slot.
  void BuildAnchors() {
    const size_t slots = plan_.slot_atoms.size();
    std::vector<std::vector<uint32_t>> lists(2 * slots);
    plan_.anchor_mask.assign(plan_.slot_words, 0);
    plan_.negated_anchor_mask.assign(plan_.slot_words, 0);
    for (uint32_t t = 0; t < plan_.terms.size(); ++t) {
      const Term& term = plan_.terms[t];
      if (p_.rules[term.rule].line_level) continue;
      const Literal* best = nullptr;
      for (uint32_t i = term.begin; i < term.slots_end; ++i) {
        const Literal& l = plan_.literals[i];
        if (best == nullptr || AnchorRank(l) < AnchorRank(*best)) best = &l;
      }
      if (best == nullptr) {
        unanchored_.push_back(t);
        continue;
      }
      lists[2 * best->index + (best->negated ? 1 : 0)].push_back(t);
      auto& mask = best->negated ? plan_.negated_anchor_mask : plan_.anchor_mask;
      mask[best->index / 64] |= 1ull << (best->index % 64);
    }
    plan_.anchor_begin.assign(1, 0);
    for (const auto& l : lists) {
      anchored_.insert(anchored_.end(), l.begin(), l.end());
      plan_.anchor_begin.push_back(static_cast<uint32_t>(anchored_.size()));
    }
  }

  static HsLevel LevelOf(Field f) {
    return f == Field::kHsCode         ? HsLevel::kCode
           : f == Field::kHsSubheading ? HsLevel::kSubheading
           : f == Field::kHsHeading    ? HsLevel::kHeading
                                       : HsLevel::kChapter;
  }

  // The line index keys under which a line term is listed, from its most specific positive
  // `hs.* ==` / `hs.* in` literal; false when it has none (or its sets are unusable).
  // `*exact`: the keys are those of the literal itself (it holds on every line with one of
  // them), and `*anchor` is its position in the term.
  bool IndexKeys(const Term& term, std::vector<uint64_t>* keys, bool* exact,
                 uint32_t* anchor) const {
    const Atom* best = nullptr;
    for (uint32_t i = term.slots_end; i < term.end; ++i) {
      const Literal& l = plan_.literals[i];
      if (l.kind != Literal::Kind::kLine || l.negated) continue;
      const Atom& a = p_.atoms[l.index];
      if (!IsHsField(a.field) || (a.op != Op::kEq && a.op != Op::kIn)) continue;
      if (best == nullptr || LevelOf(a.field) > LevelOf(best->field)) {
        best = &a;
        *anchor = i;
      }
    }
    if (best == nullptr) return false;
    *exact = true;
    const HsLevel level = LevelOf(best->field);
    if (best->op == Op::kEq) {
      keys->push_back(LineIndexKey(level, best->key));
      return true;
    }
    // A set: every key of its intervals when they are few, else the chapters they span.
    uint64_t count = 0;
    bool same_length = true;
    for (uint32_t i = best->set_begin; i < best->set_end; ++i) {
      const Interval& iv = p_.intervals[i];
      count += iv.hi - iv.lo + 1;
      if (level == HsLevel::kCode && (iv.lo >> 40) != (iv.hi >> 40)) same_length = false;
      if (count > 256) break;
    }
    if (count <= 256 && same_length) {
      for (uint32_t i = best->set_begin; i < best->set_end; ++i) {
        for (uint64_t k = p_.intervals[i].lo; k <= p_.intervals[i].hi; ++k) {
          keys->push_back(LineIndexKey(level, k));
        }
      }
      return true;
    }
    *exact = false;
    for (uint32_t i = best->set_begin; i < best->set_end; ++i) {
      const uint64_t lo = ChapterOf(best->field, p_.intervals[i].lo);
      const uint64_t hi = ChapterOf(best->field, p_.intervals[i].hi);
      if (hi < lo || hi > 99) return false;  // not a plain range: check on every line
      for (uint64_t ch = lo; ch <= hi; ++ch) keys->push_back(LineIndexKey(HsLevel::kChapter, ch));
    }
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
    return true;
  }

  void BuildLineIndex() {
    std::map<uint64_t, std::vector<uint32_t>> exact, checked;  // terms by line index key
    // A bound on the index's size whatever the rules (each term may list up to 256 keys).
    constexpr size_t kMaxListed = size_t{1} << 18;
    size_t listed = 0;
    for (uint32_t t = 0; t < plan_.terms.size(); ++t) {
      Term& term = plan_.terms[t];
      if (!p_.rules[term.rule].line_level) continue;
      std::vector<uint64_t> keys;
      bool is_exact = false;
      uint32_t anchor = 0;
      if (!IndexKeys(term, &keys, &is_exact, &anchor) || listed + keys.size() > kMaxListed) {
        line_terms_any_.push_back(t);  // checked on every line instead
        continue;
      }
      listed += keys.size();
      // The anchor goes first after the slot literals (HS literals come first anyway).
      std::rotate(plan_.literals.begin() + term.slots_end, plan_.literals.begin() + anchor,
                  plan_.literals.begin() + anchor + 1);
      for (uint64_t k : keys) (is_exact ? exact : checked)[k].push_back(t);
    }
    std::map<uint64_t, std::vector<uint32_t>> by_key;  // only the keys
    for (const auto& [k, terms] : exact) by_key[k];
    for (const auto& [k, terms] : checked) by_key[k];
    std::map<uint64_t, ReferencePrice> references(p_.references.begin(), p_.references.end());
    size_t entries = by_key.size();
    for (const auto& [k, price] : references) entries += by_key.count(k) ? 0 : 1;
    if (entries == 0) return;
    size_t capacity = 16;
    while (capacity < 2 * entries) capacity *= 2;
    LineIndex& index = plan_.line_index;
    index.slots.assign(capacity, LineIndexEntry{});
    auto insert = [&](uint64_t key) -> LineIndexEntry& {
      const size_t mask = capacity - 1;
      for (size_t i = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;;
           i = (i + 1) & mask) {
        if (index.slots[i].key == key || index.slots[i].key == UINT64_MAX) {
          index.slots[i].key = key;
          return index.slots[i];
        }
      }
    };
    auto& list = line_index_terms_;
    auto append = [&](const std::vector<uint32_t>& terms) {
      list.insert(list.end(), terms.begin(), terms.end());
    };
    for (const auto& [k, unused] : by_key) {
      LineIndexEntry& e = insert(k);
      e.terms_begin = static_cast<uint32_t>(list.size());
      if (auto it = exact.find(k); it != exact.end()) append(it->second);
      e.exact_end = static_cast<uint32_t>(list.size());
      if (auto it = checked.find(k); it != checked.end()) append(it->second);
      e.terms_end = static_cast<uint32_t>(list.size());
    }
    for (const auto& [k, price] : references) {
      LineIndexEntry& e = insert(k);
      e.has_reference = true;
      e.reference = price;
    }
  }

  Program& p_;
  EvalPlan& plan_;
  std::unordered_map<std::string, uint32_t> slots_;
  // The candidate lists as term indices, until Refs() copies them into the plan.
  std::vector<uint32_t> anchored_, unanchored_, line_index_terms_, line_terms_any_;
};

}  // namespace

void BuildPlan(Program& p) { PlanBuilder(p).Run(); }

}  // namespace borderflow::rules::internal

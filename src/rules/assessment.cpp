// The evaluator: binds the facts to integer keys and numbers once, then runs the compiled
// conditions (program.h) without any string comparison.

#include <algorithm>
#include <cmath>

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
      crossing_key = internal::CrossingKey(p.secret, facts.crossing_id);
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

// Binds one line (nullptr: the empty line of a truck without lines). Returns its chapter.
uint64_t BindLine(const Program& p, const LineFacts* l, Frame& fr) {
  if (l == nullptr) {
    fr.key[F(Field::kOrigin)] = 0;
    fr.key[F(Field::kHsChapter)] = fr.key[F(Field::kHsHeading)] = 0;
    fr.key[F(Field::kHsSubheading)] = fr.key[F(Field::kHsCode)] = 0;
    for (Field f : {Field::kUnitValue, Field::kValue, Field::kGrossWeight, Field::kPackages,
                    Field::kReferenceMin, Field::kReferenceMax}) {
      fr.num[F(f)] = Nan();
    }
    return 0;
  }
  fr.key[F(Field::kOrigin)] = internal::PackKey(l->origin, p.strings);
  const std::string& hs = l->hs_code;
  uint64_t code = internal::HsKey(Field::kHsCode, hs);
  uint64_t chapter = 0, heading = 0, sub = 0;
  if (code != 0) {
    uint64_t v = 0;
    for (size_t i = 0; i < 6; ++i) {
      v = v * 10 + static_cast<uint64_t>(hs[i] - '0');
      if (i == 1) chapter = v;
      if (i == 3) heading = v;
    }
    sub = v;
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
  if (p.has_references && code != 0) {
    const uint64_t keys[4] = {code, sub, heading, chapter};
    for (size_t level = 0; level < 4; ++level) {
      const auto& m = p.references[level];
      if (m.empty()) continue;
      auto it = m.find(keys[level]);
      if (it != m.end()) {
        rmin = it->second.min;
        rmax = it->second.max;
        break;
      }
    }
  }
  fr.num[F(Field::kReferenceMin)] = rmin;
  fr.num[F(Field::kReferenceMax)] = rmax;
  return chapter < 100 ? chapter : 0;
}

bool InSet(const Program& p, const Atom& a, uint64_t k) {
  uint32_t lo = a.set_begin, hi = a.set_end;
  if (hi - lo <= 8) {
    for (uint32_t i = lo; i < hi; ++i) {
      if (k >= p.intervals[i].lo && k <= p.intervals[i].hi) return true;
    }
    return false;
  }
  while (lo < hi) {  // first interval with hi >= k
    uint32_t mid = lo + (hi - lo) / 2;
    if (p.intervals[mid].hi < k) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < a.set_end && p.intervals[lo].lo <= k;
}

bool EvalAtom(Context& ctx, const Atom& a, const Frame& fr) {
  const Program& p = ctx.p;
  if (a.numeric) {
    double lhs = fr.num[F(a.field)];
    double rhs = a.rhs_field == Field::kCount ? a.number : fr.num[F(a.rhs_field)] * a.number;
    if (std::isnan(lhs) || std::isnan(rhs)) return false;
    switch (a.op) {
      case Op::kEq:
        return lhs == rhs;
      case Op::kNe:
        return lhs != rhs;
      case Op::kLt:
        return lhs < rhs;
      case Op::kLe:
        return lhs <= rhs;
      case Op::kGt:
        return lhs > rhs;
      case Op::kGe:
        return lhs >= rhs;
      default:
        return false;
    }
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

void Fire(const Program& p, uint32_t r, int32_t line, const Frame& fr, RuleWeights weights,
          Assessment* out) {
  const internal::CompiledRule& cr = p.rules[r];
  double score = 0;
  for (uint32_t i = cr.terms_begin; i < cr.terms_end; ++i) {
    const internal::ScoreTerm& t = p.terms[i];
    double v = t.field == Field::kCount ? t.coefficient : t.coefficient * fr.num[F(t.field)];
    if (!std::isnan(v)) score += v;
  }
  if (r < weights.size()) score *= weights[r];
  out->fired.push_back(FiredRule{r, line, score});
  out->score += score;
  if (cr.channel > out->channel) out->channel = cr.channel;
  if (cr.mandatory && cr.channel > out->mandatory_channel) out->mandatory_channel = cr.channel;
  out->quarantine = out->quarantine || cr.quarantine;
  out->random = out->random || cr.random;
}

bool AlreadyFired(const Assessment* out, uint32_t r) {
  for (const auto& f : out->fired) {
    if (f.rule == r) return true;
  }
  return false;
}

}  // namespace

void Assess(const RuleSet& rules, const RiskFacts& facts, Assessment* out, RuleWeights weights) {
  const Program& p = rules.program();
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
  for (uint32_t r : p.declaration_rules) {
    if (EvalRule(ctx, r, fr)) Fire(p, r, -1, fr, weights, out);
  }
  const bool many = facts.lines.size() > 1;
  if (facts.lines.empty()) {
    BindLine(p, nullptr, fr);
    for (uint32_t r : p.line_rules_any) {
      if (EvalRule(ctx, r, fr)) Fire(p, r, -1, fr, weights, out);
    }
  } else {
    for (size_t i = 0; i < facts.lines.size(); ++i) {
      uint64_t chapter = BindLine(p, &facts.lines[i], fr);
      for (const auto* list : {&p.line_rules_by_chapter[chapter], &p.line_rules_any}) {
        for (uint32_t r : *list) {
          if (many && AlreadyFired(out, r)) continue;
          if (EvalRule(ctx, r, fr)) {
            Fire(p, r, static_cast<int32_t>(i), fr, weights, out);
          }
        }
      }
    }
  }
  if (out->fired.size() > 1) {
    std::sort(out->fired.begin(), out->fired.end(),
              [](const FiredRule& a, const FiredRule& b) { return a.rule < b.rule; });
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

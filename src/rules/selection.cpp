// Selection matched to capacity (selection.h).

#include <algorithm>
#include <cmath>

#include <borderflow/rules/selection.h>

#include "program.h"

namespace borderflow::rules {

std::string_view SelectionReasonName(SelectionReason r) {
  switch (r) {
    case SelectionReason::kUnchanged:
      return "unchanged";
    case SelectionReason::kMandatory:
      return "mandatory";
    case SelectionReason::kRandom:
      return "random";
    case SelectionReason::kScore:
      return "score";
    case SelectionReason::kOverCapacity:
      return "over_capacity";
    case SelectionReason::kFill:
      return "fill";
  }
  return "unknown";
}

SelectionPlan SelectForCapacity(const RuleSet& rules,
                                std::span<const SelectionCandidate> candidates,
                                const CapacityLimits& limits) {
  const size_t n = candidates.size();
  SelectionPlan plan;
  plan.decisions.resize(n);
  std::vector<uint64_t> draws(n);
  std::vector<bool> taken(n, false);
  const std::string& secret = rules.program().secret;
  for (size_t i = 0; i < n; ++i) {
    const Assessment& a = *candidates[i].assessment;
    plan.decisions[i] = Selection{a.channel, a.quarantine, SelectionReason::kUnchanged};
    draws[i] = KeyedDraw(secret, "capacity", candidates[i].crossing_id);
  }
  int budget = std::max(0, limits.red_capacity);

  // 1. Mandatory reds, whatever the capacity.
  for (size_t i = 0; i < n; ++i) {
    const Assessment& a = *candidates[i].assessment;
    if (a.mandatory_channel == Channel::kRed) {
      taken[i] = true;
      plan.decisions[i] = Selection{Channel::kRed, a.quarantine, SelectionReason::kMandatory};
      ++plan.mandatory_red;
      if (budget > 0) {
        --budget;
      } else {
        ++plan.mandatory_over_capacity;
      }
    }
  }

  // 2. The random quota: trucks picked by a random rule first, then the lowest draws.
  double rate =
      limits.min_random_rate >= 0 ? limits.min_random_rate : rules.settings().min_random_rate;
  int quota = std::min(budget, static_cast<int>(std::ceil(rate * static_cast<double>(n) - 1e-9)));
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  auto by_draw = [&](size_t x, size_t y) { return draws[x] < draws[y]; };
  std::sort(order.begin(), order.end(), by_draw);
  auto take_random = [&](bool rule_picked_only) {
    for (size_t i : order) {
      if (quota <= 0) return;
      if (taken[i]) continue;
      const Assessment& a = *candidates[i].assessment;
      if (rule_picked_only && !(a.random && a.channel == Channel::kRed)) continue;
      taken[i] = true;
      plan.decisions[i] = Selection{Channel::kRed, a.quarantine, SelectionReason::kRandom};
      ++plan.random_red;
      --quota;
      --budget;
    }
  };
  take_random(true);
  take_random(false);

  // 3. The other reds by score, highest first; 4. the rest lowered to yellow.
  std::vector<size_t> reds;
  for (size_t i = 0; i < n; ++i) {
    if (!taken[i] && candidates[i].assessment->channel == Channel::kRed) reds.push_back(i);
  }
  auto by_score = [&](size_t x, size_t y) {
    double sx = candidates[x].assessment->score, sy = candidates[y].assessment->score;
    if (sx != sy) return sx > sy;
    return draws[x] < draws[y];
  };
  std::sort(reds.begin(), reds.end(), by_score);
  for (size_t i : reds) {
    taken[i] = true;
    const Assessment& a = *candidates[i].assessment;
    if (budget > 0) {
      --budget;
      plan.decisions[i] = Selection{Channel::kRed, a.quarantine, SelectionReason::kScore};
      ++plan.score_red;
    } else {
      Channel lowered = std::max(Channel::kYellow, a.mandatory_channel);
      plan.decisions[i] = Selection{lowered, a.quarantine, SelectionReason::kOverCapacity};
      ++plan.lowered;
    }
  }

  // 5. Spare capacity to the highest scores that were not red.
  if (limits.fill_spare_capacity && budget > 0) {
    std::vector<size_t> rest;
    for (size_t i = 0; i < n; ++i) {
      if (!taken[i] && candidates[i].assessment->score > limits.fill_min_score) rest.push_back(i);
    }
    std::sort(rest.begin(), rest.end(), by_score);
    for (size_t i : rest) {
      if (budget <= 0) break;
      --budget;
      plan.decisions[i] =
          Selection{Channel::kRed, candidates[i].assessment->quarantine, SelectionReason::kFill};
      ++plan.fill_red;
    }
  }
  for (const auto& d : plan.decisions) plan.red += d.channel == Channel::kRed ? 1 : 0;
  return plan;
}

}  // namespace borderflow::rules

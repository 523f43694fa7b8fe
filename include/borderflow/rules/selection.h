#pragma once

// Selection matched to capacity: the rules say which trucks qualify for red; the inspection bays
// say how many can be inspected in a period. SelectForCapacity reconciles the two:
//
//  1. every candidate whose red channel comes from a mandatory (100%) rule stays red, even past
//     the capacity (the overflow is reported, never dropped);
//  2. a minimum random share of the candidates is sent red at random (trucks picked by a
//     `random N%` rule first, then the lowest keyed draws), within the capacity left;
//  3. the remaining capacity goes to the other red candidates by score, highest first (ties by
//     keyed draw, so the plan is reproducible);
//  4. red candidates left without a bay are lowered to yellow (document check);
//  5. optionally, spare capacity is filled with the highest-scoring candidates that were not red.
//
// The quarantine flag is never changed here.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <borderflow/domain/crossing.h>
#include <borderflow/rules/assessment.h>
#include <borderflow/rules/rule_set.h>

namespace borderflow::rules {

struct SelectionCandidate {
  std::string_view crossing_id;
  const Assessment* assessment = nullptr;
};

struct CapacityLimits {
  int red_capacity = 0;         // physical inspections available in the period
  double min_random_rate = -1;  // share of candidates sent red at random; < 0: the rule set's
  bool fill_spare_capacity = false;
  double fill_min_score = 0;  // only candidates scoring above this fill spare capacity
};

enum class SelectionReason : uint8_t {
  kUnchanged,     // not red before, not red now
  kMandatory,     // red by a mandatory rule
  kRandom,        // red by the random quota
  kScore,         // red by rules, within capacity
  kOverCapacity,  // red by rules, lowered to yellow for lack of capacity
  kFill,          // raised to red to use spare capacity
};
std::string_view SelectionReasonName(SelectionReason r);

struct Selection {
  Channel channel = Channel::kGreen;
  bool quarantine = false;
  SelectionReason reason = SelectionReason::kUnchanged;
};

struct SelectionPlan {
  std::vector<Selection> decisions;  // one per candidate, same order
  int red = 0;
  int mandatory_red = 0;
  int random_red = 0;
  int score_red = 0;
  int fill_red = 0;
  int lowered = 0;                  // red candidates lowered to yellow
  int mandatory_over_capacity = 0;  // mandatory reds beyond the capacity
};

SelectionPlan SelectForCapacity(const RuleSet& rules,
                                std::span<const SelectionCandidate> candidates,
                                const CapacityLimits& limits);

}  // namespace borderflow::rules

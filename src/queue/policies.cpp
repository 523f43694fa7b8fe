// Queue policies: which live truck takes each free call slot.
//
//   fifo    order of arrival (ticket order).
//   cyclic  a weighted cycle over the priority classes (eCherha's 1:1:1:5 by default).
//   smart   fewer spoiled perishables and expired declarations and less weighted wait, under a
//           hard fairness bound: nobody is called later than its FIFO slot + fairness_bound.

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <borderflow/core/assert.h>
#include <borderflow/queue/planner.h>

#include "range_trees.h"

namespace borderflow {
namespace {

constexpr std::array<std::string_view, 3> kPolicyNames = {"fifo", "cyclic", "smart"};

constexpr size_t kClassCount = 4;
// Classes in cycle and weight order: trusted_perishable, perishable, trusted, regular.
constexpr std::array<PriorityClass, kClassCount> kClasses = {
    PriorityClass::kTrustedPerishable, PriorityClass::kPerishable, PriorityClass::kTrusted,
    PriorityClass::kRegular};

// An out-of-range value (a bug upstream) counts as regular rather than indexing out of bounds.
size_t ClassIndex(PriorityClass c) { return std::min(static_cast<size_t>(c), kClassCount - 1); }

std::string CyclicReason(PriorityClass c) { return fmt::format("cyclic:{}", PriorityClassName(c)); }

// ---------------------------------------------------------------------------------------------
// fifo

class FifoPolicy final : public QueuePolicy {
 public:
  std::string_view name() const override { return "fifo"; }
  std::optional<Duration> SlotLookahead() const override { return Duration(0); }
  bool KeepsChoicesAfterHeadCall() const override { return true; }

  std::vector<Choice> Fill(std::span<const QueueTruck> live, std::span<const Slot> slots,
                           const PolicyContext&) const override {
    std::vector<Choice> choices(std::min(live.size(), slots.size()));
    for (size_t k = 0; k < choices.size(); ++k) choices[k] = {k, "fifo"};
    return choices;
  }

  // The joining truck is last in ticket order: it takes the slot after the others'.
  std::optional<std::string_view> JoinBehind(std::span<const QueueTruck* const> live,
                                             std::span<const Slot> slots,
                                             const QueueTruck&) const override {
    return live.size() < slots.size() ? "fifo" : "";
  }
};

// ---------------------------------------------------------------------------------------------
// cyclic

class CyclicPolicy final : public QueuePolicy {
 public:
  explicit CyclicPolicy(const QueueSettings& settings) {
    weights_ = {std::max(0, settings.weight_trusted_perishable),
                std::max(0, settings.weight_perishable), std::max(0, settings.weight_trusted),
                std::max(0, settings.weight_regular)};
    // The cycle as a sequence of class turns, e.g. TP, P, T, R, R, R, R, R for 1:1:1:5.
    for (size_t c = 0; c < kClassCount; ++c) turns_.insert(turns_.end(), weights_[c], c);
  }

  std::string_view name() const override { return "cyclic"; }
  std::optional<Duration> SlotLookahead() const override { return Duration(0); }

  std::vector<Choice> Fill(std::span<const QueueTruck> live, std::span<const Slot> slots,
                           const PolicyContext& context) const override {
    const size_t fill = std::min(live.size(), slots.size());
    // Each class's trucks, oldest first.
    std::array<std::vector<size_t>, kClassCount> waiting;
    for (size_t i = 0; i < live.size(); ++i) waiting[ClassIndex(live[i].priority)].push_back(i);
    for (auto& list : waiting) {
      std::stable_sort(list.begin(), list.end(),
                       [&](size_t a, size_t b) { return live[a].ticket < live[b].ticket; });
    }
    std::array<size_t, kClassCount> next{};  // next waiting truck of each class
    auto has_waiting = [&](size_t c) { return next[c] < waiting[c].size(); };
    size_t weighted_waiting = 0;  // trucks of classes that get turns
    for (size_t c = 0; c < kClassCount; ++c) {
      if (weights_[c] > 0) weighted_waiting += waiting[c].size();
    }

    const auto cycle = static_cast<int64_t>(turns_.size());
    size_t turn =
        cycle == 0 ? 0 : static_cast<size_t>(((context.cyclic_phase % cycle) + cycle) % cycle);
    std::vector<Choice> choices;
    choices.reserve(fill);
    while (choices.size() < fill) {
      size_t c = 0;
      if (weighted_waiting > 0) {
        // The class whose turn it is; turns of classes with nobody waiting are consumed.
        while (!has_waiting(turns_[turn])) turn = (turn + 1) % turns_.size();
        c = turns_[turn];
        turn = (turn + 1) % turns_.size();
        --weighted_waiting;
      } else {
        // Only classes without turns are left: serve them oldest first.
        size_t best = kClassCount;
        for (size_t k = 0; k < kClassCount; ++k) {
          if (has_waiting(k) &&
              (best == kClassCount ||
               live[waiting[k][next[k]]].ticket < live[waiting[best][next[best]]].ticket)) {
            best = k;
          }
        }
        c = best;
      }
      choices.push_back({waiting[c][next[c]++], CyclicReason(kClasses[c])});
    }
    return choices;
  }

 private:
  std::array<int, kClassCount> weights_{};
  std::vector<size_t> turns_;  // class index of each turn of the cycle
};

// ---------------------------------------------------------------------------------------------
// smart: data structures

using queue_internal::ArgMinTree;
using queue_internal::kInf;
using queue_internal::MinAddTree;

// ---------------------------------------------------------------------------------------------
// smart
//
// Slots are filled in time order. Trucks are identified by their FIFO position i (their index
// in `live`, which is in ticket order); under fifo truck i takes slot i.
//
// Fairness (hard). The fairness deadline of truck i < |slots| is D_i, the last slot index whose
// time is <= slots[i].at + bound (trucks at i >= |slots|, not planned under fifo, have none
// inside the slots and are never chosen; see Fill).
// Slot times never decrease, so D_i >= i and D is non-decreasing in i: FIFO order is also
// deadline order. When slot t is next, let the remaining trucks in FIFO order have ranks
// 1, 2, ...; if nobody jumped from here on, the truck of rank j would take slot
// P = t + j - 1 (its projected slot). Its slack is D - P.
//
//   Invariant: every remaining truck has slack >= 0.
//
// By the exchange argument for unit jobs released together (EDF is optimal, and FIFO order is
// EDF order here), the invariant holds iff the remaining trucks can all still be served by their
// fairness deadlines. It holds at t = 0 (slack_i = D_i - i >= 0). Serving the truck at rank p in
// slot t moves every remaining truck of rank < p one projected slot later (slack - 1) and leaves
// the ranks > p unchanged (rank - 1, t + 1). So serving rank p keeps the invariant iff every
// remaining truck before it has slack >= 1: the allowed choices are exactly the trucks up to
// and including the first one with slack 0 (all of them when none has slack 0). The head
// (rank 1) is always allowed, so the policy never gets stuck, and when the slots run out every
// truck with a fairness deadline has been served in a slot <= D_i, i.e. at a time <= its FIFO
// time + bound.
//
// Choice among the allowed trucks, in this order:
//   1. smart:deadline  urgent trucks, earliest deadline (then ticket) first. A truck's deadline
//      is the earlier of its freshness deadline and its declaration expiry; L is the last slot
//      index at or before it. Deadlines are tracked only when they can be made (L >= 0) and
//      missed (L < n - 1: every candidate is served by slot n - 1). A truck is urgent when it
//      can still make it (t <= L) but would miss it if it kept its place (P > L), or when this
//      slot is its last chance (t == L). P only grows while a truck waits, so it stays urgent
//      until it is served or its deadline can no longer be made (t > L: no urgency).
//   2. otherwise the highest class weight (trusted_perishable > perishable > trusted > regular:
//      Smith's rule for weighted wait with equal service times), then the lowest ticket, among
//      the allowed trucks up to the first one with deadline slack L - P == 0: a priority jump
//      over that truck would make it miss its deadline. Reasons: smart:deadline when that
//      truck itself is called instead of a higher class; smart:fairness when the fairness bound
//      changed the choice (without it another truck would have been chosen); fifo when the
//      oldest truck waiting is called; smart:priority when a truck jumps older ones by class.
//
// Every step is O(log n): segment trees over FIFO positions hold the fairness slack and the
// deadline slack L - P (both change by the same prefix range-add), and the keys of urgent trucks;
// a cursor per class finds the oldest truck of each class.
class SmartPolicy final : public QueuePolicy {
 public:
  explicit SmartPolicy(const QueueSettings& settings)
      : bound_(std::max(Duration(0), settings.fairness_bound)) {}

  std::string_view name() const override { return "smart"; }
  // Fill reads slots through last_slot_by: at the fairness deadlines of the candidates (slot
  // times + the bound), and at their freshness and declaration deadlines, where only whether
  // the last slot by then comes before slot n - 1 matters (slots later than the bound past slot
  // n - 1 cannot change that).
  std::optional<Duration> SlotLookahead() const override { return bound_; }
  // The state of Fill after serving the head in slot 0 is the state Fill starts from without
  // the head and slot 0: with truck i (i >= 1) at index i - 1 and slot s at s - 1, the fairness
  // deadlines D and the last slots by the deadlines L are one less, the projected slots P too,
  // so the slacks D - P and L - P are the same; n is one less, so "L < n - 1" (tracked) is the
  // same but for L = 0, whose trucks stop being tracked from slot 1 on anyway; the urgent
  // trucks are the same. The cyclic phase is not read.
  bool KeepsChoicesAfterHeadCall() const override { return true; }

  // A truck joining behind the others leaves their choices as they are, and is called last
  // (reason fifo), when
  //   - there are no more slots than trucks: only the first |slots| trucks are candidates
  //     (see Fill), and the joining truck is not one of them; or else
  //   - its class is not above any other's: best_by_priority never prefers it to a waiting
  //     truck (a class ahead of it or the same class with a lower ticket), and the head is
  //     always allowed;
  //   - its deadline is not tracked: it is before slot 0 (cannot be made) or at or after slot
  //     n - 1 = |live| of the new candidates (cannot be missed), so it is never urgent and
  //     never limits a priority jump;
  //   - no other truck's deadline becomes tracked: with n one more, a truck whose last slot by
  //     its deadline is the old n - 1 = |live| - 1 would be ("now or never" at the last step).
  // Its fairness slack (its slot |live| is its FIFO slot) stays >= 0 while the others are
  // served before it and it is the last position, so it never narrows the allowed choices,
  // nor changes which reason a choice gets (fair_choice and free_choice are the same trucks).
  // The slots are cut after slot |live|: the last slot by a time t is |live| - 1 exactly when
  // slots[|live| - 1] <= t < slots[|live|].
  std::optional<std::string_view> JoinBehind(std::span<const QueueTruck* const> live,
                                             std::span<const Slot> slots,
                                             const QueueTruck& joining) const override {
    const size_t m = live.size();
    if (m >= slots.size()) return "";
    const Timestamp next = slots[m].at;
    const size_t joining_class = ClassIndex(joining.priority);
    const Timestamp joining_deadline = Deadline(joining);
    if (joining_deadline >= slots[0].at && joining_deadline < next) return std::nullopt;
    if (m == 0) return "fifo";
    const Timestamp last = slots[m - 1].at;
    for (const QueueTruck* truck : live) {
      if (ClassIndex(truck->priority) > joining_class) return std::nullopt;
      const Timestamp deadline = Deadline(*truck);
      if (deadline >= last && deadline < next) return std::nullopt;
    }
    return "fifo";
  }

  std::vector<Choice> Fill(std::span<const QueueTruck> live, std::span<const Slot> slots,
                           const PolicyContext&) const override {
    // Only the first min(|live|, |slots|) trucks are candidates: with more trucks than slots, the
    // first |slots| trucks all have fairness deadlines inside the slots and are exactly as many
    // as the slots, so the invariant leaves no room for anybody else (whom fifo leaves unplanned
    // too). From here on every truck i < n has a fairness deadline.
    const size_t n = std::min(live.size(), slots.size());
    std::vector<Choice> choices;
    if (n == 0) return choices;
    choices.reserve(n);

    // The last slot index at or before `t`, or -1.
    auto last_slot_by = [&](Timestamp t) -> int64_t {
      auto it = std::upper_bound(slots.begin(), slots.end(), t,
                                 [](Timestamp value, const Slot& s) { return value < s.at; });
      return static_cast<int64_t>(it - slots.begin()) - 1;
    };

    // At t = 0 the projected slot of truck i is P_i = i.
    std::vector<int64_t> fairness_slack(n);        // D_i - P_i
    std::vector<int64_t> deadline_slack(n, kInf);  // L_i - P_i while tracked for urgency
    std::vector<Timestamp> deadline(n);
    // The tracked trucks whose last slot to make their deadline is slot k.
    std::vector<std::vector<size_t>> unmakeable_after(n);
    for (size_t i = 0; i < n; ++i) {
      const auto fifo_position = static_cast<int64_t>(i);
      fairness_slack[i] = last_slot_by(slots[i].at + bound_) - fifo_position;
      deadline[i] = Deadline(live[i]);
      // L_i. Tracked only when the deadline can be made (L_i >= 0) and missed (every truck is
      // served by slot n - 1).
      const int64_t last = last_slot_by(deadline[i]);
      if (last >= 0 && last < static_cast<int64_t>(n) - 1) {
        deadline_slack[i] = last - fifo_position;
        unmakeable_after[static_cast<size_t>(last)].push_back(i);
      }
    }
    MinAddTree fairness(fairness_slack);
    MinAddTree lateness(deadline_slack);
    ArgMinTree urgent(n);
    // Moves the trucks whose projected slot passed their deadline into the urgent set.
    auto collect_urgent = [&] {
      for (size_t i = lateness.LeftmostAtMost(-1); i != MinAddTree::npos;
           i = lateness.LeftmostAtMost(-1)) {
        lateness.Set(i, kInf);
        urgent.Set(i, {ToUnixMillis(deadline[i]), live[i].ticket});
      }
    };
    collect_urgent();

    std::vector<bool> served(n, false);
    size_t oldest = 0;  // the first position not served
    std::array<std::vector<size_t>, kClassCount> by_class;
    for (size_t i = 0; i < n; ++i) by_class[ClassIndex(live[i].priority)].push_back(i);
    std::array<size_t, kClassCount> class_cursor{};
    // The best truck by class weight then ticket among positions <= last, or npos.
    auto best_by_priority = [&](size_t last) {
      for (size_t c = 0; c < kClassCount; ++c) {
        size_t& k = class_cursor[c];
        while (k < by_class[c].size() && served[by_class[c][k]]) ++k;
        if (k < by_class[c].size() && by_class[c][k] <= last) return by_class[c][k];
      }
      return MinAddTree::npos;
    };

    for (size_t t = 0; t < n; ++t) {
      if (t > 0) {
        for (size_t i : unmakeable_after[t - 1]) {  // deadline before this slot: no urgency
          lateness.Set(i, kInf);
          urgent.Clear(i);
        }
      }
      for (size_t i : unmakeable_after[t]) {  // now or never: urgent even at its place
        if (!served[i]) {
          lateness.Set(i, kInf);
          urgent.Set(i, {ToUnixMillis(deadline[i]), live[i].ticket});
        }
      }
      // Allowed: positions up to and including the first one with fairness slack 0.
      const size_t fair_tight = fairness.LeftmostAtMost(0);
      const size_t fair_last = fair_tight == MinAddTree::npos ? n - 1 : fair_tight;
      size_t chosen = urgent.Query(0, fair_last + 1);
      std::string_view reason = "smart:deadline";
      if (chosen == ArgMinTree::npos) {
        // No priority jump over a truck that would then miss its deadline (deadline slack 0).
        const size_t due_tight = lateness.LeftmostAtMost(0);
        const size_t due_last =
            std::min(fair_last, due_tight == MinAddTree::npos ? n - 1 : due_tight);
        chosen = best_by_priority(due_last);
        // What the fairness bound alone, and no constraint at all, would have chosen.
        const size_t fair_choice = best_by_priority(fair_last);
        size_t free_choice = fair_choice;
        if (fair_tight != MinAddTree::npos) {
          free_choice = urgent.Query(0, n);
          if (free_choice == ArgMinTree::npos) free_choice = best_by_priority(n - 1);
        }
        if (chosen != fair_choice && chosen == due_tight) {
          reason = "smart:deadline";  // called before a higher class so that its deadline holds
        } else if (chosen == fair_choice && chosen != free_choice) {
          reason = "smart:fairness";
        } else if (chosen == oldest) {
          reason = "fifo";
        } else {
          reason = "smart:priority";
        }
      }
      BF_ASSERT(chosen < n && !served[chosen], "the head is always an allowed choice");
      choices.push_back({chosen, std::string(reason)});

      // Serve `chosen`: everybody before it waits one slot more than projected.
      served[chosen] = true;
      fairness.Set(chosen, kInf);
      lateness.Set(chosen, kInf);
      urgent.Clear(chosen);
      fairness.Add(0, chosen, -1);
      lateness.Add(0, chosen, -1);
      BF_ASSERT(fairness.Min() >= 0, "fairness slack stays non-negative (allowed choices only)");
      while (oldest < n && served[oldest]) ++oldest;
      collect_urgent();
    }
    return choices;
  }

 private:
  // The earlier of a truck's freshness deadline and its declaration expiry.
  static Timestamp Deadline(const QueueTruck& truck) {
    Timestamp deadline = truck.declaration_valid_until;
    if (truck.freshness_deadline) deadline = std::min(deadline, *truck.freshness_deadline);
    return deadline;
  }

  Duration bound_;
};

}  // namespace

Result<std::unique_ptr<QueuePolicy>> MakeQueuePolicy(std::string_view name,
                                                     const QueueSettings& settings) {
  if (name == "fifo") return std::unique_ptr<QueuePolicy>(std::make_unique<FifoPolicy>());
  if (name == "cyclic") {
    return std::unique_ptr<QueuePolicy>(std::make_unique<CyclicPolicy>(settings));
  }
  if (name == "smart") {
    return std::unique_ptr<QueuePolicy>(std::make_unique<SmartPolicy>(settings));
  }
  return InvalidArgument("unknown_policy",
                         fmt::format("'{}' is not a queue policy ({})", name.substr(0, 32),
                                     fmt::join(kPolicyNames, ", ")),
                         "policy");
}

std::span<const std::string_view> QueuePolicyNames() { return kPolicyNames; }

}  // namespace borderflow

// The queue planner: bookings first, then the live queue in the order the policy chooses.
// See include/borderflow/queue/planner.h for the contract.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/queue/planner.h>

namespace borderflow {

std::string_view PriorityClassName(PriorityClass c) {
  switch (c) {
#define BORDERFLOW_PRIORITY_NAME(name, text) \
  case PriorityClass::name:                  \
    return text;
    BORDERFLOW_PRIORITY_CLASSES(BORDERFLOW_PRIORITY_NAME)
#undef BORDERFLOW_PRIORITY_NAME
  }
  return "regular";
}

Result<PriorityClass> ParsePriorityClass(std::string_view text) {
#define BORDERFLOW_PRIORITY_PARSE(name, str) \
  if (text == str) return PriorityClass::name;
  BORDERFLOW_PRIORITY_CLASSES(BORDERFLOW_PRIORITY_PARSE)
#undef BORDERFLOW_PRIORITY_PARSE
  return InvalidArgument(
      "unknown_priority_class",
      fmt::format("'{}' is not a priority class (trusted_perishable, perishable, trusted, regular)",
                  text.substr(0, 32)),
      "priority");
}

namespace {

// The free call slots of one bucket: calls k in [next_k, effective) are still open.
struct BucketState {
  Timestamp start;
  int effective = 0;  // the bucket's full effective capacity (slot spacing)
  int next_k = 0;     // first call index not yet taken
  int capacity = 0;   // capacity left for planning when the plan started

  int room() const { return effective - next_k; }
  Timestamp SlotAt(int k, Duration bucket) const {
    return start + Duration(bucket.count() * k / effective);
  }
};

// One planned call before positions are assigned.
struct PendingCall {
  Timestamp at;
  bool live = false;  // booked calls come before live ones at the same moment
  int64_t ticket = 0;
  size_t bucket = 0;
  PlannedCall call;
};

struct Unplanned {
  int64_t ticket = 0;
  std::string crossing_id;
  std::string reason;
};

constexpr std::string_view kBeyondHorizon = "beyond_horizon";

// The buckets PlanJoining sets up first (it takes more when their free slots are too few).
constexpr size_t kJoiningFirstCut = 16;

// Steps 1 and 2 of a plan, shared by PlanLane and PlanJoining: the buckets from the one holding
// `now` to the horizon, the bookings placed in them, and the live trucks.
struct LaneSetup {
  Duration bucket;
  Timestamp current;
  std::vector<BucketState> buckets;
  std::vector<const QueueTruck*> live;  // in the yard without a booking, in ticket order

  // The index of the bucket starting at `start`, if it is planned.
  std::optional<size_t> BucketIndex(Timestamp start) const {
    auto it = std::lower_bound(buckets.begin(), buckets.end(), start,
                               [](const BucketState& b, Timestamp t) { return b.start < t; });
    if (it == buckets.end() || it->start != start) return std::nullopt;
    return static_cast<size_t>(it - buckets.begin());
  }

  // The free slots in time order (and the (bucket index, k) of each), up to `limit` of them;
  // with a lookahead, only up to it past the slot of the last live truck.
  void FreeSlots(std::optional<Duration> lookahead, size_t limit, std::vector<Slot>& slots,
                 std::vector<std::pair<size_t, int>>* origin) const {
    const size_t wanted = live.size();
    for (size_t b = 0; b < buckets.size() && slots.size() < limit; ++b) {
      bool enough = false;
      for (int k = buckets[b].next_k; k < buckets[b].effective; ++k) {
        const Timestamp at = buckets[b].SlotAt(k, bucket);
        if (slots.size() >= limit || (lookahead && slots.size() >= wanted &&
                                      (wanted == 0 || at > slots[wanted - 1].at + *lookahead))) {
          enough = true;
          break;
        }
        slots.push_back({buckets[b].start, at});
        if (origin != nullptr) origin->emplace_back(b, k);
      }
      if (enough) break;
    }
  }
};

// Steps 1 and 2: calls on_booked(truck, bucket index, bucket state, k, reason) for each booking
// placed and on_unplanned(truck) for each booking beyond the horizon. With `range` cut short of
// the horizon, the buckets it holds are set up as with the whole range: a booking is placed in
// its bucket or a later one, never an earlier one, so the bookings placed beyond the cut take
// nothing from the buckets before it (they are reported unplanned instead).
template <class OnBooked, class OnUnplanned>
LaneSetup SetUpLane(const CapacityPlan& capacity, const PlanRequest& request,
                    std::span<const BucketCapacity> range, OnBooked on_booked,
                    OnUnplanned on_unplanned) {
  LaneSetup lane;
  lane.bucket = capacity.bucket();
  lane.current = capacity.BucketStart(request.now);

  // 1. Buckets from the one holding `now` to the horizon, with the calls already made taken out
  // of the current one.
  std::vector<BucketState>& buckets = lane.buckets;
  buckets.reserve(range.size());
  for (const BucketCapacity& b : range) {
    BucketState state;
    state.start = b.start;
    state.effective = std::max(0, b.effective);
    if (b.start == lane.current) {
      state.next_k = std::clamp(request.calls_in_current_bucket, 0, state.effective);
    }
    state.capacity = state.room();
    buckets.push_back(state);
  }

  // 2. Bookings, in (booked bucket, ticket) order. A booking whose bucket already passed keeps
  // holding a place from the current bucket on, in the yard or not: it may have been moved by a
  // capacity drop, or its truck is late. Whether a late booking lapses is the engine's call
  // (late_arrival), not the planner's.
  std::vector<std::pair<size_t, const QueueTruck*>> bookings;  // (bucket index, truck)
  for (const QueueTruck& truck : request.trucks) {
    if (!truck.booked_bucket) {
      if (truck.in_yard) lane.live.push_back(&truck);
      continue;  // a live truck that is not in the yard is not queued
    }
    Timestamp booked = capacity.BucketStart(*truck.booked_bucket);
    if (booked < lane.current) booked = lane.current;
    std::optional<size_t> b = lane.BucketIndex(booked);
    if (!b) {
      on_unplanned(truck);  // booked beyond the horizon (or no buckets at all)
      continue;
    }
    bookings.emplace_back(*b, &truck);
  }
  std::sort(bookings.begin(), bookings.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second->ticket) < std::tie(b.first, b.second->ticket);
  });
  // Bookings come in bucket order and buckets only lose room, so the first bucket with room at
  // or after a booking's bucket never moves backwards: one forward cursor finds it.
  size_t cursor = 0;
  for (const auto& [b, truck] : bookings) {
    cursor = std::max(cursor, b);
    while (cursor < buckets.size() && buckets[cursor].room() <= 0) ++cursor;
    if (cursor == buckets.size()) {
      on_unplanned(*truck);
      continue;
    }
    on_booked(*truck, cursor, buckets[cursor], buckets[cursor].next_k++,
              cursor == b ? std::string_view("booked_slot") : std::string_view("booking_moved"));
  }
  std::sort(lane.live.begin(), lane.live.end(),
            [](const QueueTruck* a, const QueueTruck* b) { return a->ticket < b->ticket; });
  return lane;
}

}  // namespace

LanePlan PlanLane(const CapacityPlan& capacity, const QueuePolicy& policy,
                  const PlanRequest& request) {
  return PlanLane(
      capacity, policy, request,
      capacity.Range(request.direction, request.lane_class, request.now, request.horizon_end));
}

LanePlan PlanLane(const CapacityPlan& capacity, const QueuePolicy& policy,
                  const PlanRequest& request, std::span<const BucketCapacity> range) {
  LanePlan plan;
  plan.direction = request.direction;
  plan.lane_class = request.lane_class;
  const Duration bucket = capacity.bucket();

  std::vector<PendingCall> pending;
  std::vector<Unplanned> unplanned;
  auto add_call = [&](const QueueTruck& truck, size_t b, const BucketState& state, int k, bool live,
                      std::string_view reason) {
    PendingCall p;
    p.at = state.SlotAt(k, bucket);
    p.live = live;
    p.ticket = truck.ticket;
    p.bucket = b;
    p.call.crossing_id = truck.crossing_id;
    p.call.bucket = state.start;
    p.call.expected_call = p.at;
    p.call.reason = std::string(reason);
    pending.push_back(std::move(p));
  };
  auto add_unplanned = [&](const QueueTruck& truck) {
    unplanned.push_back({truck.ticket, truck.crossing_id, std::string(kBeyondHorizon)});
  };
  LaneSetup lane = SetUpLane(
      capacity, request, range,
      [&](const QueueTruck& truck, size_t b, const BucketState& state, int k,
          std::string_view reason) { add_call(truck, b, state, k, /*live=*/false, reason); },
      add_unplanned);
  const std::vector<BucketState>& buckets = lane.buckets;

  // 3. The live queue takes the remaining slots in time order, as the policy chooses. The
  // policy reads the live trucks in ticket order: the queue itself when they are all of it, in
  // its order (no bookings, the common case), else a copy.
  std::vector<QueueTruck> live_copy;
  std::span<const QueueTruck> live = request.trucks;
  bool whole_queue = lane.live.size() == request.trucks.size();
  for (size_t i = 0; whole_queue && i < lane.live.size(); ++i) {
    whole_queue = lane.live[i] == &request.trucks[i];
  }
  if (!whole_queue) {
    live_copy.reserve(lane.live.size());
    for (const QueueTruck* truck : lane.live) live_copy.push_back(*truck);
    live = live_copy;
  }
  // The free slots in time order; with a policy that says how far it reads, only up to its
  // lookahead past the slot of the last live truck.
  std::vector<Slot> slots;
  std::vector<std::pair<size_t, int>> slot_origin;  // (bucket index, k) of each free slot
  lane.FreeSlots(policy.SlotLookahead(), static_cast<size_t>(-1), slots, &slot_origin);
  std::vector<QueuePolicy::Choice> choices =
      policy.Fill(live, slots, PolicyContext{request.now, request.cyclic_phase});
  // A policy that breaks its contract (too many choices, a truck twice, an index out of range)
  // is a bug; the plan still never loses a truck or overfills a bucket: such choices are dropped
  // and the trucks concerned end up unplanned.
  std::vector<bool> placed(live.size(), false);
  const size_t filled = std::min(choices.size(), slots.size());
  for (size_t s = 0; s < filled; ++s) {
    const QueuePolicy::Choice& choice = choices[s];
    if (choice.truck >= live.size() || placed[choice.truck]) continue;
    placed[choice.truck] = true;
    auto [b, k] = slot_origin[s];
    add_call(live[choice.truck], b, buckets[b], k, /*live=*/true, choice.reason);
  }
  for (size_t i = 0; i < live.size(); ++i) {
    if (!placed[i]) add_unplanned(live[i]);
  }

  // 4. Call order and bucket loads.
  std::sort(pending.begin(), pending.end(), [](const PendingCall& a, const PendingCall& b) {
    return std::tie(a.at, a.live, a.ticket) < std::tie(b.at, b.live, b.ticket);
  });
  plan.buckets.reserve(buckets.size());
  for (const BucketState& b : buckets) plan.buckets.push_back({b.start, b.capacity, 0});
  plan.calls.reserve(pending.size());
  for (PendingCall& p : pending) {
    ++plan.buckets[p.bucket].planned;
    p.call.position = static_cast<int>(plan.calls.size()) + 1;
    plan.calls.push_back(std::move(p.call));
  }
  std::sort(unplanned.begin(), unplanned.end(),
            [](const Unplanned& a, const Unplanned& b) { return a.ticket < b.ticket; });
  plan.unplanned.reserve(unplanned.size());
  for (Unplanned& u : unplanned) {
    plan.unplanned.emplace_back(std::move(u.crossing_id), std::move(u.reason));
  }
  return plan;
}

std::optional<JoiningCall> PlanJoining(const CapacityPlan& capacity, const QueuePolicy& policy,
                                       const PlanRequest& request,
                                       std::span<const BucketCapacity> range,
                                       const QueueTruck& joining) {
  if (joining.booked_bucket || !joining.in_yard) return std::nullopt;  // not a live truck
  for (const QueueTruck& truck : request.trucks) {
    if (truck.ticket >= joining.ticket) return std::nullopt;  // not behind every truck
  }
  // Where PlanLane would place the bookings, and the free slots up to the one after the live
  // trucks' (they take the first ones whatever the policy). Those slots are usually in the
  // first few buckets of a horizon of hundreds, so the buckets are set up from a cut of the
  // range that doubles until it holds them or is the whole range (SetUpLane: a cut sets up its
  // buckets as the whole range does).
  size_t cut = std::min(range.size(), kJoiningFirstCut);
  LaneSetup lane;
  std::vector<Slot> slots;
  while (true) {
    lane = SetUpLane(
        capacity, request, range.first(cut),
        [](const QueueTruck&, size_t, const BucketState&, int, std::string_view) {},
        [](const QueueTruck&) {});
    slots.clear();
    lane.FreeSlots(std::nullopt, lane.live.size() + 1, slots, nullptr);
    if (slots.size() > lane.live.size() || cut == range.size()) break;
    cut = std::min(range.size(), 2 * cut);
  }
  std::optional<std::string_view> reason = policy.JoinBehind(lane.live, slots, joining);
  if (!reason) return std::nullopt;
  JoiningCall call;
  call.crossing_id = joining.crossing_id;
  if (lane.live.size() < slots.size()) {
    const Slot& slot = slots[lane.live.size()];
    call.planned = true;
    call.bucket = slot.bucket;
    call.expected_call = slot.at;
    call.reason = *reason;
  }
  return call;
}

void AddJoiningCall(LanePlan& plan, const JoiningCall& call) {
  if (!call.planned) {
    // Unplanned trucks are in ticket order, and the joining truck's ticket is the highest.
    plan.unplanned.emplace_back(call.crossing_id, std::string(kBeyondHorizon));
    return;
  }
  // Calls are in (time, booked before live, ticket) order: the joining truck, live with the
  // highest ticket, comes after every call at its time or before.
  auto at = std::upper_bound(
      plan.calls.begin(), plan.calls.end(), call.expected_call,
      [](Timestamp t, const PlannedCall& other) { return t < other.expected_call; });
  PlannedCall added;
  added.crossing_id = call.crossing_id;
  added.bucket = call.bucket;
  added.expected_call = call.expected_call;
  added.position = static_cast<int>(at - plan.calls.begin()) + 1;
  added.reason = std::string(call.reason);
  at = plan.calls.insert(at, std::move(added));
  for (auto later = std::next(at); later != plan.calls.end(); ++later) ++later->position;
  auto load =
      std::lower_bound(plan.buckets.begin(), plan.buckets.end(), call.bucket,
                       [](const BucketLoad& b, Timestamp start) { return b.start < start; });
  BF_ASSERT(load != plan.buckets.end() && load->start == call.bucket,
            "the joining truck's bucket is planned");
  ++load->planned;
}

bool TakeFirstCall(const QueuePolicy& policy, const QueueTruck& called,
                   std::span<const QueueTruck> others, LanePlan& plan) {
  if (!policy.KeepsChoicesAfterHeadCall() || plan.calls.empty() || plan.buckets.empty()) {
    return false;
  }
  const PlannedCall& first = plan.calls.front();
  // In the current bucket, its first call: the booking placed first, or else the first free
  // slot, whose truck must be the head of the live queue.
  if (first.crossing_id != called.crossing_id || first.bucket != plan.buckets.front().start ||
      !called.in_yard) {
    return false;
  }
  if (!called.booked_bucket) {
    for (const QueueTruck& other : others) {
      if (!other.booked_bucket && other.in_yard && other.ticket < called.ticket) return false;
    }
  }
  plan.calls.erase(plan.calls.begin());
  for (PlannedCall& call : plan.calls) --call.position;
  BucketLoad& current = plan.buckets.front();
  --current.capacity;  // one more call made in it
  --current.planned;
  return true;
}

bool MovePlanOn(const CapacityPlan& capacity, const QueuePolicy& policy, const PlanRequest& request,
                std::span<const BucketCapacity> range, LanePlan& plan) {
  if (range.empty() || plan.buckets.empty()) return false;
  const Timestamp current = capacity.BucketStart(request.now);
  if (range.front().start != current) return false;
  // The first kept bucket: the old plan's bucket starting at `current`.
  auto kept =
      std::lower_bound(plan.buckets.begin(), plan.buckets.end(), current,
                       [](const BucketLoad& b, Timestamp start) { return b.start < start; });
  if (kept == plan.buckets.end() || kept->start != current) return false;
  const auto dropped = static_cast<size_t>(kept - plan.buckets.begin());
  const size_t shared = plan.buckets.size() - dropped;
  if (shared > range.size()) return false;  // the horizon would shrink
  // The buckets both plans hold: the same starts and capacities left.
  for (size_t i = 0; i < shared; ++i) {
    const BucketLoad& load = plan.buckets[dropped + i];
    const int effective = std::max(0, range[i].effective);
    const int calls = i == 0 ? std::clamp(request.calls_in_current_bucket, 0, effective) : 0;
    if (load.start != range[i].start || load.capacity != effective - calls) return false;
  }
  if (dropped > 0) {
    if (!plan.calls.empty() && plan.calls.front().bucket < current) return false;
    for (const QueueTruck& truck : request.trucks) {
      if (truck.booked_bucket && capacity.BucketStart(*truck.booked_bucket) < current) {
        return false;
      }
    }
  }
  if (shared < range.size()) {
    if (!plan.unplanned.empty()) return false;
    std::optional<Timestamp> last_live;
    for (const PlannedCall& call : plan.calls) {
      if (call.reason != "booked_slot" && call.reason != "booking_moved") {
        last_live = call.expected_call;  // calls are in time order
      }
    }
    if (last_live) {
      const std::optional<Duration> lookahead = policy.SlotLookahead();
      if (!lookahead || range[shared].start <= *last_live + *lookahead) return false;
    }
  }
  plan.buckets.erase(plan.buckets.begin(), kept);
  plan.buckets.reserve(range.size());
  for (size_t i = shared; i < range.size(); ++i) {
    plan.buckets.push_back({range[i].start, std::max(0, range[i].effective), 0});
  }
  return true;
}

}  // namespace borderflow

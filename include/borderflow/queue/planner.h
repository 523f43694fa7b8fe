#pragma once

// The queue planner: who is called forward when, per direction × lane class. Pure and
// deterministic: the same request gives the same plan.
//
// A plan fills the capacity plan's buckets from the bucket holding `now` up to the horizon:
//   1. bookings first, each in its booked bucket; when capacity dropped below the bookings of a
//      bucket, the latest-booked move to the next bucket with room ("booking_moved"), in
//      booking order, so that no booking is lost or duplicated;
//   2. the remaining slots go to the live queue (trucks in the yard without a booking), in the
//      order the active policy (fifo, cyclic, smart) chooses.
// A bucket never gets more planned calls than its effective capacity (minus the calls already
// made in the current bucket).

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/queue/capacity.h>

namespace borderflow {

#define BORDERFLOW_PRIORITY_CLASSES(X)        \
  X(kTrustedPerishable, "trusted_perishable") \
  X(kPerishable, "perishable")                \
  X(kTrusted, "trusted")                      \
  X(kRegular, "regular")

enum class PriorityClass {
#define BORDERFLOW_PRIORITY_ENUM(name, text) name,
  BORDERFLOW_PRIORITY_CLASSES(BORDERFLOW_PRIORITY_ENUM)
#undef BORDERFLOW_PRIORITY_ENUM
};

std::string_view PriorityClassName(PriorityClass c);
Result<PriorityClass> ParsePriorityClass(std::string_view text);

// A truck the planner places: booked (holding a slot, in the yard or not yet) or live (in the
// yard, no booking).
struct QueueTruck {
  std::string crossing_id;
  PriorityClass priority = PriorityClass::kRegular;
  int64_t ticket = 0;    // order of joining the queue (unique): the FIFO key and every tie-break
  bool in_yard = false;  // arrived in the staging yard
  std::optional<Timestamp> booked_bucket;       // a booking: the start of its bucket
  std::optional<Timestamp> freshness_deadline;  // perishables: should be called by then
  Timestamp declaration_valid_until;            // must be called by then (or re-declare)
};

// One call opportunity: a bucket and the expected moment within it.
struct Slot {
  Timestamp bucket;
  Timestamp at;  // bucket start + k × bucket / capacity for the k-th call of the bucket
};

// Reason codes of planned calls (stable; the API and the UI translate them):
//   booked_slot       the truck's booking
//   booking_moved     its booked bucket lost capacity; moved to the next bucket with room
//   fifo              order of arrival
//   cyclic:<class>    the weighted cycle's turn for <class> (e.g. "cyclic:perishable")
//   smart:deadline    called early so that a freshness deadline or declaration expiry is met
//   smart:fairness    called now so that it is not later than the fairness bound allows
//   smart:priority    the class weight (perishable > trusted > regular) decides
struct PlannedCall {
  std::string crossing_id;
  Timestamp bucket;
  Timestamp expected_call;
  int position = 0;  // 1-based place in this lane's call order
  std::string reason;
};

struct BucketLoad {
  Timestamp start;
  int capacity = 0;  // effective capacity left for planning (the current bucket: minus calls made)
  int planned = 0;   // calls planned in it (never more than capacity)
};

struct LanePlan {
  std::string direction;
  std::string lane_class;
  std::vector<PlannedCall> calls;  // in call order
  // Trucks not planned, with why: "beyond_horizon" (no room before the horizon).
  std::vector<std::pair<std::string, std::string>> unplanned;
  std::vector<BucketLoad> buckets;  // every bucket from the current one to the horizon
};

struct PlanRequest {
  std::string direction;
  std::string lane_class;
  Timestamp now;
  Timestamp horizon_end;            // plan the buckets that start before this
  int calls_in_current_bucket = 0;  // calls already made in the bucket holding `now`
  int64_t cyclic_phase = 0;         // calls made so far in this lane (where the cycle stands)
  std::vector<QueueTruck> trucks;
};

struct PolicyContext {
  Timestamp now;
  int64_t cyclic_phase = 0;
};

// A queue policy decides which live truck takes each free slot. Deterministic: equal inputs
// give equal choices; ties are broken by ticket.
class QueuePolicy {
 public:
  struct Choice {
    size_t truck = 0;    // index into `live`
    std::string reason;  // a reason code above
  };
  virtual ~QueuePolicy() = default;
  virtual std::string_view name() const = 0;
  // Returns one choice per filled slot, in slot order (slot k gets choices[k]); fills
  // min(live.size(), slots.size()) slots, each truck at most once. `live` is in ticket order.
  virtual std::vector<Choice> Fill(std::span<const QueueTruck> live, std::span<const Slot> slots,
                                   const PolicyContext& context) const = 0;
  // How far past the slot of the last candidate (slot min(|live|, |slots|) − 1) Fill reads
  // `slots`: the planner then passes the slots up to that time only (the horizon can hold
  // thousands of slots for a few trucks). Empty (the default): every slot of the horizon.
  virtual std::optional<Duration> SlotLookahead() const { return std::nullopt; }
  // Whether a live truck joining behind every live truck (its ticket above all of theirs)
  // leaves every other choice as it is, told without filling again: if Fill(live, slots) chose
  // C, then Fill(live + {joining}, slots) chooses C followed by {live.size(), reason} when
  // live.size() < slots.size(), and C alone otherwise. Returns that reason (empty in the second
  // case), or nothing when the policy cannot tell. `slots` are the free slots in time order,
  // cut after slot live.size() (the slot the joining truck would take) or at the horizon.
  // The default: nothing (the planner plans again).
  //
  // And whether the choices neither depend on the cyclic phase nor change when the head of
  // `live` (index 0) has taken slot 0 and is gone: when Fill(live, slots) chose the head
  // first, Fill(live without the head, slots without slot 0) chooses what it chose after that,
  // as the same trucks. The default: no (the planner plans again after a call).
  virtual bool KeepsChoicesAfterHeadCall() const { return false; }
  virtual std::optional<std::string_view> JoinBehind(std::span<const QueueTruck* const> /*live*/,
                                                     std::span<const Slot> /*slots*/,
                                                     const QueueTruck& /*joining*/) const {
    return std::nullopt;
  }
};

// "fifo", "cyclic" (weights from settings) or "smart" (fairness bound from settings).
// Errors: invalid_argument "unknown_policy" listing the names.
Result<std::unique_ptr<QueuePolicy>> MakeQueuePolicy(std::string_view name,
                                                     const QueueSettings& settings);
// The names MakeQueuePolicy accepts.
std::span<const std::string_view> QueuePolicyNames();

// Plans one direction × lane class.
LanePlan PlanLane(const CapacityPlan& capacity, const QueuePolicy& policy,
                  const PlanRequest& request);
// The same with the buckets' capacities already known: `range` must equal
// capacity.Range(request.direction, request.lane_class, request.now, request.horizon_end) (a
// caller that plans a lane often keeps the range per capacity plan instead of evaluating every
// bucket of the horizon again).
LanePlan PlanLane(const CapacityPlan& capacity, const QueuePolicy& policy,
                  const PlanRequest& request, std::span<const BucketCapacity> range);

// The call a live truck in the yard gets when it joins `request` behind every truck of it (its
// ticket above all of theirs), without planning the lane again: what the truck adds to
// PlanLane(capacity, policy, request, range) to make the plan of the request with the truck in
// it (AddJoiningCall). Nothing when the policy cannot tell (QueuePolicy::JoinBehind): plan
// again.
struct JoiningCall {
  std::string crossing_id;
  bool planned = false;  // false: unplanned, beyond the horizon
  Timestamp bucket;      // when planned
  Timestamp expected_call;
  std::string_view reason;
};
std::optional<JoiningCall> PlanJoining(const CapacityPlan& capacity, const QueuePolicy& policy,
                                       const PlanRequest& request,
                                       std::span<const BucketCapacity> range,
                                       const QueueTruck& joining);
// Adds the joining truck's call to `plan`, the plan of the request it joins: its call in call
// order (the later calls' positions move up one) and its bucket's load, or it among the
// unplanned.
void AddJoiningCall(LanePlan& plan, const JoiningCall& call);

// After the first call of `plan` is made: `plan` is PlanLane of a request whose trucks are
// `called` (as it was queued) and `others`; the request after the call has `others` only, one
// more call made in the current bucket and the cycle one turn further. When the policy tells
// that its plan is `plan` without its first call (the first call is in the current bucket, and
// is a booking or the head of the live queue: QueuePolicy::KeepsChoicesAfterHeadCall), makes
// `plan` that plan and returns true; otherwise leaves it and returns false (plan again).
bool TakeFirstCall(const QueuePolicy& policy, const QueueTruck& called,
                   std::span<const QueueTruck> others, LanePlan& plan);

// A later plan of the same queue without planning again, as time moves on (the bucket rolls
// over, the horizon grows): `plan` is PlanLane(capacity, policy, before, ...) for a request
// `before` with the trucks and the cyclic phase of `request`, whose current bucket is not after
// the one holding request.now; `range` is the range of `request` (see PlanLane). The plan of
// `request` is `plan` without the buckets before its current one and with the buckets after
// the old horizon, when
//   - the dropped buckets hold no call, and no booking is for a bucket before the current one
//     (PlanLane would place it from the current bucket on, maybe with another reason);
//   - the buckets both plans hold have the same capacities left (so the same calls made in the
//     current bucket, or none when it is a new bucket);
//   - when buckets are added: no truck is unplanned (it could take their slots), and, when the
//     live queue has calls, they start after the policy's SlotLookahead past the last live call
//     (Fill does not read their slots: the policy's free slots end before them).
// Policies do not read PolicyContext::now (the queue book's kept plans rely on it too). Makes
// `plan` that plan and returns true; otherwise leaves it as it is and returns false (plan
// again).
bool MovePlanOn(const CapacityPlan& capacity, const QueuePolicy& policy, const PlanRequest& request,
                std::span<const BucketCapacity> range, LanePlan& plan);

}  // namespace borderflow

// The engine's electronic-queue commands and views: bookings, the staging yard, call-forward,
// capacity changes with re-planning, plate reads, bans, and wait predictions. The decisions
// themselves are pure (queue/capacity.h, queue/planner.h, queue/plate_match.h); this file
// applies them inside the engine's transactions and records every one in the audit trail.

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/engine/engine.h>

#include "engine_internal.h"
#include "queue_book.h"

namespace borderflow {

namespace json = boost::json;

namespace {

Error RoleNotAllowed(const Actor& actor, std::string_view what, std::string_view allowed) {
  return Error(
      ErrorKind::kPermissionDenied, "role_not_allowed",
      fmt::format("role {} may not {}; allowed roles: {}", RoleName(actor.role), what, allowed));
}

Status RequireRole(const Actor& actor, std::initializer_list<Role> roles, std::string_view what) {
  for (Role r : roles) {
    if (actor.role == r) return {};
  }
  std::string allowed;
  for (Role r : roles) allowed += (allowed.empty() ? "" : ", ") + std::string(RoleName(r));
  return RoleNotAllowed(actor, what, allowed);
}

double Minutes(Duration d) { return std::chrono::duration<double, std::ratio<60>>(d).count(); }

// "CAP-..." / "PR-...": time-ordered ids like crossing ids.
std::string NewRecordId(std::string_view prefix, Timestamp now, Random& random) {
  std::string id = NewCrossingId(now, random);
  return std::string(prefix) + id.substr(2);
}

Error CrossingNotFound(std::string_view id) {
  return NotFound("crossing_not_found", fmt::format("no crossing '{}'", id.substr(0, 64)));
}

// An expected time `t` stretched by the lanes' measured slowness; never before `now` (a slot
// early in the current bucket may lie in the past).
Timestamp Stretch(Timestamp now, Timestamp t, double factor) {
  if (t <= now) return now;
  auto d = std::chrono::duration<double, std::milli>(t - now).count() * factor;
  return now + Duration(static_cast<int64_t>(d));
}

}  // namespace

// --- Rules applied to every transition -----------------------------------------------------

int Engine::CallRoom(std::string_view direction, std::string_view lane_class, Timestamp now) const {
  std::shared_ptr<const CapacityPlan> capacity_plan = queue_->Capacity();
  const CapacityPlan& capacity = *capacity_plan;
  BucketCapacity bucket = capacity.At(direction, lane_class, capacity.BucketStart(now));
  int lanes_free =
      capacity.LanesAt(direction, lane_class, now) - queue_->LaneOccupancy(direction, lane_class);
  int bucket_left = bucket.effective - queue_->CallsInBucket(direction, lane_class, now);
  return std::max(0, std::min(lanes_free, bucket_left));
}

Status Engine::PutRecord(WriteTxn& txn, std::string_view kind, std::string id,
                         const json::object& body, Timestamp now) {
  return txn.PutRecord(StoredRecord{std::string(kind), std::move(id), ToJsonText(body), now});
}

Status Engine::AddStrike(WriteTxn& txn, const Crossing& c, std::string kind, Timestamp now,
                         CommandResult& result) {
  const QueueSettings& qs = config_.queue;
  QueueStrike strike{c.declaration.vehicle.plate.canonical, c.company_id, c.id, std::move(kind),
                     now};
  // One record per strike: the same crossing can be struck twice for the same kind at the same
  // time (two late cancellations in one batch, two missed calls), and each counts towards a
  // ban, also after a restart.
  BF_TRY(PutRecord(txn, kStrikeRecord,
                   fmt::format("{}:{}", strike.plate, NewRecordId("ST", now, random_)),
                   EncodeStrike(strike), now));
  // Strikes and the ban they bring count per company: plates are not bound to a company, and
  // one company's no-shows must not keep another company's bookings of the truck out.
  int strikes = queue_->StrikesSince(strike.plate, strike.company_id, now - qs.strike_window) + 1;
  queue_->AddStrike(strike);
  queue_touched_ = true;
  if (strikes < qs.strikes_for_ban || qs.ban.count() == 0 ||
      queue_->BanFor(strike.plate, strike.company_id, now)) {
    return {};
  }
  QueueBan ban{
      strike.plate,
      now + qs.ban,
      fmt::format("{} no-shows or late cancellations within {} days", strikes,
                  std::chrono::duration_cast<std::chrono::hours>(qs.strike_window).count() / 24),
      now,
      "system",
      strike.company_id};
  BF_TRY(PutRecord(txn, kBanRecord, BanKey(ban.plate, ban.company_id), EncodeBan(ban), now));
  BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(Actor::System(), now, "truck",
                                                                ban.plate, "ban", EncodeBan(ban))));
  result.records.push_back(std::move(record));
  queue_->PutBan(ban);
  return {};
}

Status Engine::ApplyQueueRules(WriteTxn& txn, const Actor& actor, const Crossing& current,
                               const CrossingEvent& event, Timestamp now, Crossing& next,
                               CommandResult& result) {
  const QueueSettings& qs = config_.queue;
  const Declaration& d = current.declaration;
  const std::string& plate = d.vehicle.plate.canonical;
  auto local = [&](Timestamp t) { return FormatLocal(t, config_.self.utc_offset); };
  auto data_text = [&](std::string_view key) -> std::string {
    const json::value* v = event.data.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  std::string lane_key = QueueBook::LaneKey(d.direction, d.lane_class);
  // The expected call of `next` as it joins the live queue now (scored when it is called).
  auto predict = [&] {
    std::shared_ptr<const LanePlan> plan =
        queue_->SharedPlan(d.direction, d.lane_class, now, &next);
    for (const auto& call : plan->calls) {
      if (call.crossing_id != next.id) continue;
      next.queue.predicted_call_at =
          Stretch(now, call.expected_call, queue_->SlownessFactor(d.direction, d.lane_class));
      next.queue.predicted_at = now;
    }
  };

  switch (event.type) {
    case CrossingEventType::kBook: {
      if (current.declaration_valid_until <= now) {
        return Conflict("declaration_expired",
                        fmt::format("the declaration expired at {}; declare again before booking",
                                    local(current.declaration_valid_until)));
      }
      if (auto ban = queue_->BanFor(plate, current.company_id, now)) {
        return Error(ErrorKind::kPermissionDenied, "truck_banned",
                     fmt::format("truck {} may not book until {}: {}", d.vehicle.plate.display,
                                 local(ban->until), ban->reason));
      }
      if (auto other = queue_->OtherWithPlate(plate, current.id)) {
        // Another company's crossing is not named to this one.
        bool own = other->company_id == current.company_id;
        return Conflict("plate_already_booked",
                        fmt::format("truck {} already has an open crossing{}; a truck holds one "
                                    "booking or queue place at a time",
                                    d.vehicle.plate.display, own ? " " + other->id : ""));
      }
      if (current.state != CrossingState::kBooked &&
          queue_->OpenBookings(current.company_id, current.id) >=
              qs.max_open_bookings_per_company) {
        return Conflict("booking_limit_reached",
                        fmt::format("company {} already has {} open bookings, the limit",
                                    current.company_id, qs.max_open_bookings_per_company));
      }
      std::shared_ptr<const CapacityPlan> capacity_plan = queue_->Capacity();
      const CapacityPlan& capacity = *capacity_plan;
      Timestamp current_bucket = capacity.BucketStart(now);
      Timestamp horizon_end = now + qs.booking_horizon;
      auto room_in = [&](Timestamp bucket) {
        BucketCapacity b = capacity.At(d.direction, d.lane_class, bucket);
        int used = queue_->BookingsIn(d.direction, d.lane_class, bucket, current.id);
        if (bucket == current_bucket) used += queue_->CallsInBucket(d.direction, d.lane_class, now);
        return std::pair<BucketCapacity, int>(b, b.effective - used);
      };
      Timestamp bucket;
      std::string slot = data_text("slot");
      if (!slot.empty()) {
        auto at = ParseTimestamp(slot);
        BF_ASSERT(at.has_value(), "DecodeEventData validated the slot");
        bucket = capacity.BucketStart(*at);
        if (bucket < current_bucket || bucket >= horizon_end) {
          return Error(
              ErrorKind::kUnprocessable, "slot_outside_horizon",
              fmt::format(
                  "slots can be booked from now ({}) up to {} ahead, until {}",
                  local(current_bucket),
                  fmt::format(
                      "{} h",
                      std::chrono::duration_cast<std::chrono::hours>(qs.booking_horizon).count()),
                  local(horizon_end)),
              "data.slot");
        }
        auto [b, room] = room_in(bucket);
        if (b.effective == 0) {
          return Conflict("slot_closed",
                          fmt::format("the slot at {} is closed ({})", local(bucket),
                                      b.closed_reason.empty() ? "no capacity" : b.closed_reason));
        }
        if (room <= 0) {
          return Conflict("slot_full", fmt::format("the slot at {} is fully booked ({} trucks)",
                                                   local(bucket), b.effective));
        }
      } else {
        bool found = false;
        for (Timestamp b = current_bucket; b < horizon_end; b += capacity.bucket()) {
          if (room_in(b).second > 0) {
            bucket = b;
            found = true;
            break;
          }
        }
        if (!found) {
          return Conflict("no_slot_available",
                          fmt::format("no slot with room for {} {} before {}", d.direction,
                                      d.lane_class, local(horizon_end)));
        }
      }
      if (bucket >= current.declaration_valid_until) {
        return Conflict("declaration_expires_before_slot",
                        fmt::format("the declaration expires at {}, before the slot at {}",
                                    local(current.declaration_valid_until), local(bucket)));
      }
      next.queue.booked_bucket = bucket;
      next.queue.booked_at = now;
      next.queue.ticket = queue_->NextTicket();
      break;
    }
    case CrossingEventType::kCancelBooking: {
      if (actor.role == Role::kSystem) {
        BF_TRY(AddStrike(txn, current, "no_show", now, result));
      } else if (current.queue.booked_bucket &&
                 now > *current.queue.booked_bucket - qs.late_cancel) {
        BF_TRY(AddStrike(txn, current, "late_cancellation", now, result));
      }
      next.queue.booked_bucket.reset();
      next.queue.booked_at.reset();
      break;
    }
    case CrossingEventType::kEnterYard: {
      if (auto other = queue_->OtherWithPlate(plate, current.id)) {
        return Conflict("plate_already_queued",
                        fmt::format("truck {} already has an open crossing {} in the queue; a "
                                    "truck holds one queue place at a time",
                                    d.vehicle.plate.display, other->id));
      }
      int in_yard = queue_->YardCount();
      if (in_yard >= config_.staging_yard_capacity) {
        return Conflict("yard_full", fmt::format("the staging yard is full ({} of {} places)",
                                                 in_yard, config_.staging_yard_capacity));
      }
      if (current.queue.booked_bucket &&
          now > *current.queue.booked_bucket + qs.bucket + qs.late_arrival) {
        next.queue.booked_bucket.reset();  // too late for its slot: joins the live queue
        next.queue.booked_at.reset();
      }
      if (!next.queue.booked_bucket) next.queue.ticket = queue_->NextTicket();
      next.queue.yard_arrived_at = now;
      predict();
      break;
    }
    case CrossingEventType::kCallForward: {
      if (CallRoom(d.direction, d.lane_class, now) <= 0) {
        return Conflict("no_call_room",
                        fmt::format("no lane of {} {} is free, or this bucket's capacity is used",
                                    d.direction, d.lane_class));
      }
      std::string reason = data_text("reason");
      next.queue.called_at = now;
      next.queue.call_deadline = now + qs.call_window;
      next.queue.call_reason = reason.empty() ? "operator" : reason;
      LaneCounters counters = queue_->Counters(lane_key);
      Timestamp bucket = queue_->Capacity()->BucketStart(now);
      if (counters.bucket != bucket) {
        counters.bucket = bucket;
        counters.calls_in_bucket = 0;
      }
      ++counters.calls_in_bucket;
      ++counters.calls_total;
      BF_TRY(PutRecord(txn, kLaneRecord, lane_key, EncodeLaneCounters(counters), now));
      queue_->PutLaneCounters(lane_key, counters);
      queue_touched_ = true;
      if (current.queue.predicted_call_at) {
        // The book takes the error first (queue_touched_ reloads it if this command fails).
        std::string stats =
            queue_->AddPrediction(std::abs(Minutes(now - *current.queue.predicted_call_at)));
        BF_TRY(txn.PutRecord(
            StoredRecord{std::string(kSettingRecord), "prediction_stats", std::move(stats), now}));
      }
      break;
    }
    case CrossingEventType::kRequeue: {
      if (actor.role == Role::kSystem) BF_TRY(AddStrike(txn, current, "no_show", now, result));
      next.queue.called_at.reset();
      next.queue.call_deadline.reset();
      next.queue.call_reason.clear();
      next.queue.booked_bucket.reset();
      next.queue.booked_at.reset();
      ++next.queue.requeues;
      next.queue.ticket = queue_->NextTicket();  // back of the queue
      // Its earlier prediction was scored at the call it missed: predict again, or the next
      // call would score the old one a second time.
      next.queue.predicted_call_at.reset();
      next.queue.predicted_at.reset();
      predict();
      break;
    }
    case CrossingEventType::kCancel: {
      if (current.state == CrossingState::kBooked && current.queue.booked_bucket &&
          now > *current.queue.booked_bucket - qs.late_cancel) {
        BF_TRY(AddStrike(txn, current, "late_cancellation", now, result));
      }
      break;
    }
    default:
      break;
  }
  // A truck leaving its lane: measure how long lanes are held, for the predictions.
  if (HoldsLane(current.state) && !HoldsLane(next.state) && current.queue.called_at) {
    LaneCounters counters = queue_->Counters(lane_key);
    double held = Minutes(now - *current.queue.called_at);
    counters.occupancy_minutes_ema = counters.occupancy_minutes_ema == 0
                                         ? held
                                         : 0.8 * counters.occupancy_minutes_ema + 0.2 * held;
    BF_TRY(PutRecord(txn, kLaneRecord, lane_key, EncodeLaneCounters(counters), now));
    queue_->PutLaneCounters(lane_key, counters);
    queue_touched_ = true;
  }
  return {};
}

// --- Commands ------------------------------------------------------------------------------

Status Engine::RecordReplan(WriteTxn& txn, const Actor& actor, Timestamp now, std::string cause,
                            const std::map<std::string, LanePlan>& before, CommandResult& result) {
  std::unordered_map<std::string, const PlannedCall*> old_calls;
  for (const auto& [key, plan] : before) {
    for (const auto& call : plan.calls) old_calls[call.crossing_id] = &call;
  }
  std::map<std::string, LanePlan> after = queue_->Plans(now);
  json::array changed;
  for (const auto& [key, plan] : after) {
    for (const auto& call : plan.calls) {
      auto it = old_calls.find(call.crossing_id);
      if (it != old_calls.end() && it->second->expected_call == call.expected_call) continue;
      json::object entry{{"crossing_id", call.crossing_id},
                         {"to", FormatUtc(call.expected_call)},
                         {"reason", call.reason}};
      entry["from"] = it == old_calls.end() ? json::value(nullptr)
                                            : json::value(FormatUtc(it->second->expected_call));
      changed.push_back(std::move(entry));
    }
    for (const auto& [id, why] : plan.unplanned) {
      if (!old_calls.contains(id)) continue;
      changed.push_back(json::object{{"crossing_id", id},
                                     {"from", FormatUtc(old_calls[id]->expected_call)},
                                     {"to", nullptr},
                                     {"reason", why}});
    }
  }
  json::object body{{"cause", cause},
                    {"policy", queue_->policy()},
                    {"changed_count", changed.size()},
                    {"changed", std::move(changed)}};
  BF_ASSIGN_OR_RETURN(AuditRecord record,
                      txn.AppendAudit(Draft(actor, now, "queue", "plan", "replan", body)));
  int64_t replan_seq = record.seq;
  result.records.push_back(std::move(record));
  result.body["replan"] =
      json::object{{"changed_count", body.at("changed_count")}, {"changed", body.at("changed")}};

  // A booking the new capacity cannot hold moves to its new bucket for good: the forwarder
  // sees the new slot, and the truck is not late until that one has passed.
  for (const auto& [key, plan] : after) {
    for (const auto& call : plan.calls) {
      if (call.reason != "booking_moved") continue;
      BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, call.crossing_id));
      if (!current || !current->queue.booked_bucket ||
          *current->queue.booked_bucket == call.bucket) {
        continue;
      }
      Crossing next = *current;
      next.queue.booked_bucket = call.bucket;
      next.version = current->version + 1;
      next.updated_at = now;
      json::object moved{{"type", "booking_moved"},
                         {"from", FormatUtc(*current->queue.booked_bucket)},
                         {"to", FormatUtc(call.bucket)},
                         {"version", next.version},
                         {"cause", cause},
                         {"replan_seq", replan_seq}};
      BF_TRY(
          WriteChange(txn, actor, *current, std::move(next), "booking_moved", moved, now, result));
    }
  }
  return {};
}

Status Engine::ApplyChangeCapacity(WriteTxn& txn, const Actor& actor, const ChangeCapacity& cmd,
                                   Timestamp now, CommandResult& result) {
  bool acceptance = cmd.change.kind == CapacityChangeKind::kAcceptance;
  if (acceptance) {
    BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kAdministrator, Role::kCounterpart},
                       "record the counterpart's acceptance"));
  } else {
    BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kAdministrator}, "change capacity"));
  }
  CapacityChange change = cmd.change;
  BF_TRY(ValidateCapacityChange(change, config_));
  // Plans look a few days ahead: a change for 1970 or 9999 is a typing mistake, not a plan.
  constexpr auto kDay = std::chrono::hours(24);
  if (change.from < now - 7 * kDay || change.from > now + 366 * kDay) {
    return InvalidArgument("invalid_capacity_change",
                           "'from' must lie between 7 days ago and a year from now", "from");
  }
  change.id = NewRecordId("CAP", now, random_);
  change.created_at = now;
  change.created_by = actor.user_id;
  json::object encoded = EncodeCapacityChange(change);
  BF_TRY(PutRecord(txn, kCapacityChangeRecord, change.id, encoded, now));
  BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "capacity", change.id,
                                                                "capacity_change", encoded)));
  result.records.push_back(std::move(record));
  std::map<std::string, LanePlan> before = queue_->Plans(now);
  queue_->AddCapacityChange(change);
  queue_touched_ = true;
  result.status = 201;
  result.body = json::object{{"change", encoded}};
  return RecordReplan(txn, actor, now, "capacity_change:" + change.id, before, result);
}

Status Engine::ApplySetPolicy(WriteTxn& txn, const Actor& actor, const SetQueuePolicy& cmd,
                              Timestamp now, CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kAdministrator}, "change the policy"));
  BF_TRY(MakeQueuePolicy(cmd.policy, config_.queue));  // unknown_policy
  json::object body{{"policy", cmd.policy}, {"previous", queue_->policy()}};
  BF_TRY(PutRecord(txn, kSettingRecord, "queue_policy", json::object{{"policy", cmd.policy}}, now));
  BF_ASSIGN_OR_RETURN(AuditRecord record,
                      txn.AppendAudit(Draft(actor, now, "queue", "policy", "set_policy", body)));
  result.records.push_back(std::move(record));
  std::map<std::string, LanePlan> before = queue_->Plans(now);
  queue_->SetPolicy(cmd.policy);
  queue_touched_ = true;
  result.status = 200;
  result.body = body;
  return RecordReplan(txn, actor, now, "policy:" + cmd.policy, before, result);
}

Result<int> Engine::CallFromPlan(WriteTxn& txn, const Actor& actor, std::string_view direction,
                                 std::string_view lane_class, Timestamp now, int max_calls,
                                 CommandResult& result) {
  if (max_calls <= 0) return 0;
  Timestamp bucket = queue_->Capacity()->BucketStart(now);
  // The plan's calls in this bucket (the first ones), copied: the book may turn the plan into
  // the next one as trucks are called, when nobody else holds it.
  std::vector<PlannedCall> calls;
  {
    std::shared_ptr<const LanePlan> plan = queue_->SharedPlan(direction, lane_class, now);
    for (const auto& call : plan->calls) {
      if (call.bucket != bucket) break;
      calls.push_back(call);
    }
  }
  int called = 0;
  std::string policy, planned_bucket;  // the same for every call of this plan
  for (const auto& call : calls) {
    if (called >= max_calls) break;
    if (queue_->StateOf(call.crossing_id) != CrossingState::kInYard) continue;  // booked, not here
    BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, call.crossing_id));
    BF_ASSERT(current != nullptr, "a crossing of the queue book is in the store");
    if (policy.empty()) {
      policy = queue_->policy();
      planned_bucket = FormatUtc(call.bucket);
    }
    CrossingEvent event{CrossingEventType::kCallForward, json::object{{"reason", call.reason}}};
    json::object why{
        {"policy", policy}, {"position", call.position}, {"planned_bucket", planned_bucket}};
    BF_TRY(Transition(txn, actor, *current, event, now, result, std::move(why)));
    ++called;
  }
  return called;
}

Status Engine::ApplyCallNext(WriteTxn& txn, const Actor& actor, const CallNext& cmd, Timestamp now,
                             CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kSystem}, "call trucks forward"));
  const Direction* direction = config_.FindDirection(cmd.direction);
  if (direction == nullptr || !direction->lanes.contains(cmd.lane_class)) {
    return InvalidArgument("unknown_lane",
                           fmt::format("no lane class '{}' in direction '{}'",
                                       cmd.lane_class.substr(0, 32), cmd.direction.substr(0, 32)),
                           "lane_class");
  }
  if (CallRoom(cmd.direction, cmd.lane_class, now) <= 0) {
    return Conflict("no_call_room",
                    fmt::format("no lane of {} {} is free, or this bucket's capacity is used",
                                cmd.direction, cmd.lane_class));
  }
  BF_ASSIGN_OR_RETURN(int called,
                      CallFromPlan(txn, actor, cmd.direction, cmd.lane_class, now, 1, result));
  if (called == 0) {
    return Conflict("nobody_to_call",
                    fmt::format("no truck in the yard is planned for {} {} in this bucket",
                                cmd.direction, cmd.lane_class));
  }
  const Crossing& c = *result.changed.back();
  result.status = 200;
  result.body = json::object{
      {"called", c.id}, {"reason", c.queue.call_reason}, {"crossing", CrossingView(c)}};
  return {};
}

Status Engine::ApplyQueueTick(WriteTxn& txn, const Actor& actor, Timestamp now,
                              CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kSystem}, "run the queue timer"));
  json::array requeued, lapsed, called;
  for (const std::string& id : queue_->MissedCalls(now)) {
    BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, id));
    if (!current) continue;
    CrossingEvent event{CrossingEventType::kRequeue,
                        json::object{{"note", "did not reach the gate within the call window"}}};
    BF_TRY(Transition(txn, actor, *current, event, now, result,
                      json::object{{"reason", "missed_call_window"}}));
    requeued.push_back(json::value(id));
  }
  for (const std::string& id : queue_->LapsedBookings(now)) {
    BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, id));
    if (!current) continue;
    CrossingEvent event{CrossingEventType::kCancelBooking,
                        json::object{{"reason", "no-show: the truck did not arrive for its slot"}}};
    BF_TRY(Transition(txn, actor, *current, event, now, result,
                      json::object{{"reason", "booking_lapsed"}}));
    lapsed.push_back(json::value(id));
  }
  if (config_.queue.auto_call) {
    for (const auto& d : config_.directions) {
      for (const auto& [lane_class, lanes] : d.lanes) {
        size_t before = result.changed.size();
        BF_ASSIGN_OR_RETURN(int n, CallFromPlan(txn, actor, d.id, lane_class, now,
                                                CallRoom(d.id, lane_class, now), result));
        for (size_t i = before; i < result.changed.size() && n > 0; ++i) {
          called.push_back(json::object{{"crossing_id", result.changed[i]->id},
                                        {"reason", result.changed[i]->queue.call_reason}});
        }
      }
    }
  }
  result.status = 200;
  result.body = json::object{{"requeued", std::move(requeued)},
                             {"lapsed_bookings", std::move(lapsed)},
                             {"called", std::move(called)}};
  return {};
}

Status Engine::ApplyPlateRead(WriteTxn& txn, const Actor& actor, const SubmitPlateRead& cmd,
                              Timestamp now, CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kSensor, Role::kGateOperator, Role::kBorderGuard},
                     "submit plate reads"));
  if (cmd.location != "yard_entrance" && cmd.location != "gate") {
    return InvalidArgument("invalid_value", "'location' must be one of: yard_entrance, gate",
                           "location");
  }
  if (cmd.text.empty() || cmd.text.size() > 32) {
    return InvalidArgument("invalid_value", "'text' must have 1 to 32 bytes", "text");
  }
  if (cmd.camera.size() > 64) {
    return InvalidArgument("field_too_long", "'camera' has at most 64 bytes", "camera");
  }
  if (!(cmd.confidence >= 0 && cmd.confidence <= 1)) {
    return InvalidArgument("invalid_value", "'confidence' must be between 0 and 1", "confidence");
  }
  std::vector<ExpectedPlate> expected = queue_->ExpectedAt(cmd.location);
  PlateMatch match = MatchPlateRead(cmd.text, cmd.confidence, expected);
  CrossingEventType type =
      cmd.location == "gate" ? CrossingEventType::kArriveAtGate : CrossingEventType::kEnterYard;
  std::string outcome(PlateMatchOutcomeName(match.outcome));
  std::string reason = match.reason;
  if (match.outcome == PlateMatchOutcome::kMatched) {
    BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, match.crossing_id));
    BF_ASSERT(current != nullptr, "a crossing of the queue book is in the store");
    CrossingEvent event{type, json::object{{"plate_read", cmd.text}, {"camera", cmd.camera}}};
    auto moved = Transition(txn, actor, *current, event, now, result,
                            json::object{{"match", match.reason}, {"confidence", cmd.confidence}});
    if (moved) {
      result.status = 200;
      result.body = json::object{{"outcome", "matched"},
                                 {"reason", match.reason},
                                 {"crossing_id", (*moved)->id},
                                 {"crossing", CrossingView(**moved)}};
      result.crossing = std::move(*moved);
      return {};
    }
    if (moved.error().kind == ErrorKind::kInternal ||
        moved.error().kind == ErrorKind::kUnavailable) {
      return moved.error();
    }
    // Refused (the yard is full, ...): the read waits for an operator with the reason.
    outcome = "not_applied";
    reason = fmt::format("matched {} ({}) but refused: {}", match.crossing_id, match.reason,
                         moved.error().message);
  }
  PendingPlateRead read{NewRecordId("PR", now, random_),
                        cmd.location,
                        cmd.camera,
                        cmd.text,
                        cmd.confidence,
                        now,
                        outcome,
                        reason,
                        match.candidates};
  json::object encoded = EncodePlateRead(read);
  BF_TRY(PutRecord(txn, kPlateReadRecord, read.id, encoded, now));
  BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "plate_read", read.id,
                                                                "plate_read_pending", encoded)));
  result.records.push_back(std::move(record));
  queue_->PutPlateRead(read);
  queue_touched_ = true;
  result.status = 202;
  result.body = json::object{{"outcome", outcome}, {"reason", reason}, {"read", encoded}};
  return {};
}

Status Engine::ApplyResolvePlateRead(WriteTxn& txn, const Actor& actor, const ResolvePlateRead& cmd,
                                     Timestamp now, CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kBorderGuard}, "resolve plate reads"));
  std::optional<PendingPlateRead> read = queue_->PlateRead(cmd.read_id);
  if (!read) {
    return NotFound("plate_read_not_found",
                    fmt::format("no plate read '{}' is waiting", cmd.read_id.substr(0, 64)));
  }
  json::object body{{"read_id", read->id}, {"text", read->text}, {"note", cmd.note}};
  if (!cmd.crossing_id.empty()) {
    BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, cmd.crossing_id));
    if (!current) return CrossingNotFound(cmd.crossing_id);
    CrossingEventType type =
        read->location == "gate" ? CrossingEventType::kArriveAtGate : CrossingEventType::kEnterYard;
    CrossingEvent event{type, json::object{{"plate_read", read->text},
                                           {"camera", read->camera},
                                           {"note", "confirmed by an operator"}}};
    BF_ASSIGN_OR_RETURN(SharedCrossing moved,
                        Transition(txn, actor, *current, event, now, result,
                                   json::object{{"plate_read_id", read->id}}));
    body["crossing_id"] = moved->id;
    result.crossing = std::move(moved);
  } else {
    body["dismissed"] = true;
  }
  BF_TRY(txn.DeleteRecord(kPlateReadRecord, read->id));
  BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "plate_read", read->id,
                                                                "plate_read_resolved", body)));
  result.records.push_back(std::move(record));
  queue_->RemovePlateRead(read->id);
  queue_touched_ = true;
  result.status = 200;
  result.body = body;
  if (result.crossing) result.body["crossing"] = CrossingView(*result.crossing);
  return {};
}

Status Engine::ApplyUpdateDriver(WriteTxn& txn, const Actor& actor, const UpdateDriver& cmd,
                                 Timestamp now, CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kForwarder, Role::kGateOperator}, "edit the driver"));
  BF_TRY(ValidateDriver(cmd.driver));
  BF_ASSIGN_OR_RETURN(SharedCrossing current,
                      LoadForChange(txn, actor, cmd.crossing_id, cmd.expected_version));
  switch (current->state) {
    case CrossingState::kDeclared:
    case CrossingState::kAssessed:
    case CrossingState::kBooked:
    case CrossingState::kInYard:
    case CrossingState::kCalled:
      break;
    default:
      return Conflict("driver_locked",
                      fmt::format("the driver cannot change in state {}: the truck is at or past "
                                  "the gate",
                                  CrossingStateName(current->state)));
  }
  Crossing next = *current;
  next.declaration.driver = cmd.driver;
  next.version = current->version + 1;
  next.updated_at = now;
  EncodedCrossing encoded;
  BF_ASSIGN_OR_RETURN(
      SharedCrossing changed,
      WriteChange(
          txn, actor, *current, std::move(next), "edit_driver",
          json::object{{"type", "edit_driver"},
                       {"version", next.version},
                       {"driver", json::object{{"name", cmd.driver.name},
                                               {"document_number", cmd.driver.document_number},
                                               {"nationality", cmd.driver.nationality},
                                               {"phone", cmd.driver.phone}}}},
          now, result, &encoded));
  json::object view = std::move(encoded.view);
  result.status = 200;
  result.body = json::object{{"crossing", std::move(view)}};
  result.crossing = std::move(changed);
  return {};
}

Status Engine::ApplySetBan(WriteTxn& txn, const Actor& actor, const SetBan& cmd, Timestamp now,
                           CommandResult& result) {
  BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kAdministrator}, "ban trucks"));
  auto plate = ParsePlate(cmd.plate);
  if (!plate) return plate.error().Within("plate");
  if (cmd.days < 0 || cmd.days > 365) {
    return InvalidArgument("invalid_value", "'days' must be 0 (lift) to 365", "days");
  }
  json::object body;
  if (cmd.days == 0) {
    std::vector<std::string> bans = queue_->BansOn(plate->canonical, now);
    if (bans.empty()) {
      return NotFound("ban_not_found", fmt::format("truck {} is not banned", plate->display));
    }
    for (const std::string& key : bans) BF_TRY(txn.DeleteRecord(kBanRecord, key));
    body = json::object{{"plate", plate->canonical}, {"lifted", true}, {"reason", cmd.reason}};
    BF_ASSIGN_OR_RETURN(
        AuditRecord record,
        txn.AppendAudit(Draft(actor, now, "truck", plate->canonical, "ban_lift", body)));
    result.records.push_back(std::move(record));
    BF_TRY(PutRecord(txn, kBanLiftRecord, plate->canonical, json::object{{"at", FormatUtc(now)}},
                     now));
    queue_->LiftBan(plate->canonical, now);
  } else {
    bool blank = cmd.reason.find_first_not_of(" \t\r\n") == std::string::npos;
    if (blank || cmd.reason.size() > 1000) {
      return InvalidArgument("invalid_value", "a ban needs a 'reason' (1 to 1000 bytes)", "reason");
    }
    QueueBan ban{plate->canonical, now + std::chrono::hours(24 * cmd.days),
                 cmd.reason,       now,
                 actor.user_id,    ""};
    body = EncodeBan(ban);
    BF_TRY(PutRecord(txn, kBanRecord, ban.plate, body, now));
    BF_ASSIGN_OR_RETURN(AuditRecord record,
                        txn.AppendAudit(Draft(actor, now, "truck", ban.plate, "ban", body)));
    result.records.push_back(std::move(record));
    queue_->PutBan(ban);
  }
  queue_touched_ = true;
  result.status = 200;
  result.body = body;
  return {};
}

// --- Views ---------------------------------------------------------------------------------

json::object Engine::LiveCrossingView(const Crossing& c) const {
  json::object view = CrossingView(c);
  if (c.state != CrossingState::kBooked && c.state != CrossingState::kInYard) return view;
  Timestamp now = clock_.Now();
  std::optional<PlannedCall> call = queue_->PlannedCallFor(c.id, now);
  if (!call) return view;
  double factor = queue_->SlownessFactor(c.declaration.direction, c.declaration.lane_class);
  Timestamp at = Stretch(now, call->expected_call, factor);
  Timestamp earliest = Stretch(now, call->expected_call, std::max(0.8, factor * 0.8));
  Timestamp latest = Stretch(now, call->expected_call, factor * 1.25) + config_.queue.bucket;
  UtcOffset local = config_.self.utc_offset;
  view["expected_call"] = json::object{{"at", FormatLocal(at, local)},
                                       {"earliest", FormatLocal(earliest, local)},
                                       {"latest", FormatLocal(latest, local)},
                                       {"position", call->position},
                                       {"reason", call->reason}};
  return view;
}

Result<json::object> Engine::QueueView(const Actor& actor, std::string_view direction,
                                       std::string_view lane_class) {
  if (!IsStaff(actor.role)) {
    return RoleNotAllowed(actor, "see the queue",
                          "gate_operator, customs_officer, quarantine_officer, border_guard, "
                          "administrator");
  }
  Timestamp now = clock_.Now();
  UtcOffset local = config_.self.utc_offset;
  std::map<std::string, LanePlan> plans = queue_->Plans(now);
  std::shared_ptr<const CapacityPlan> capacity_plan = queue_->Capacity();
  const CapacityPlan& capacity = *capacity_plan;
  json::array lanes;
  for (const auto& [key, plan] : plans) {
    if (!direction.empty() && plan.direction != direction) continue;
    if (!lane_class.empty() && plan.lane_class != lane_class) continue;
    BucketCapacity bucket = capacity.At(plan.direction, plan.lane_class, capacity.BucketStart(now));
    json::array calls;
    int waiting = 0, booked = 0;
    for (const auto& call : plan.calls) {
      std::optional<Crossing> c = queue_->Find(call.crossing_id);
      if (!c) continue;
      if (c->state == CrossingState::kInYard) ++waiting;
      if (c->queue.booked_bucket) ++booked;
      if (calls.size() >= 500) continue;
      calls.push_back(json::object{{"position", call.position},
                                   {"crossing_id", call.crossing_id},
                                   {"plate", c->declaration.vehicle.plate.display},
                                   {"company_id", c->company_id},
                                   {"priority", PriorityClassName(queue_->TruckFor(*c).priority)},
                                   {"in_yard", c->state == CrossingState::kInYard},
                                   {"booked", c->queue.booked_bucket.has_value()},
                                   {"bucket", FormatLocal(call.bucket, local)},
                                   {"expected_call", FormatLocal(call.expected_call, local)},
                                   {"reason", call.reason}});
    }
    json::array unplanned;
    for (const auto& [id, why] : plan.unplanned) {
      unplanned.push_back(json::object{{"crossing_id", id}, {"reason", why}});
    }
    json::object bucket_view{
        {"start", FormatLocal(bucket.start, local)},
        {"capacity", bucket.effective},
        {"calls_made", queue_->CallsInBucket(plan.direction, plan.lane_class, now)}};
    if (!bucket.closed_reason.empty()) bucket_view["closed_reason"] = bucket.closed_reason;
    lanes.push_back(
        json::object{{"direction", plan.direction},
                     {"lane_class", plan.lane_class},
                     {"lanes_open", capacity.LanesAt(plan.direction, plan.lane_class, now)},
                     {"lanes_occupied", queue_->LaneOccupancy(plan.direction, plan.lane_class)},
                     {"bucket", std::move(bucket_view)},
                     {"waiting_in_yard", waiting},
                     {"booked", booked},
                     {"planned_calls", plan.calls.size()},
                     {"calls", std::move(calls)},
                     {"unplanned", std::move(unplanned)}});
  }
  return json::object{{"at", FormatLocal(now, local)},
                      {"policy", queue_->policy()},
                      {"yard", json::object{{"count", queue_->YardCount()},
                                            {"capacity", config_.staging_yard_capacity}}},
                      {"lanes", std::move(lanes)}};
}

Result<json::object> Engine::CapacityView(const Actor& actor, std::string_view direction,
                                          std::string_view lane_class, Timestamp from,
                                          Timestamp until) {
  if (actor.role == Role::kPublic) {
    return RoleNotAllowed(actor, "see the capacity plan by bucket", "any signed-in role");
  }
  const Direction* d = config_.FindDirection(direction);
  if (d == nullptr || !d->lanes.contains(std::string(lane_class))) {
    return InvalidArgument("unknown_lane",
                           fmt::format("no lane class '{}' in direction '{}'",
                                       lane_class.substr(0, 32), direction.substr(0, 32)),
                           "lane_class");
  }
  if (until <= from || until - from > std::chrono::hours(24 * 8)) {
    return InvalidArgument("invalid_range", "'until' must be after 'from', at most 8 days later",
                           "until");
  }
  Timestamp now = clock_.Now();
  std::shared_ptr<const CapacityPlan> capacity_plan = queue_->Capacity();
  const CapacityPlan& capacity = *capacity_plan;
  LanePlan plan = queue_->Plan(direction, lane_class, now);
  std::map<Timestamp, int> planned;
  for (const auto& load : plan.buckets) planned[load.start] = load.planned;
  UtcOffset local = config_.self.utc_offset;
  json::array buckets;
  for (const auto& b : capacity.Range(direction, lane_class, from, until)) {
    json::object o{{"start", FormatLocal(b.start, local)},
                   {"lanes", b.lanes},
                   {"self_capacity", b.self_capacity},
                   {"effective", b.effective}};
    o["accepted"] = b.accepted ? json::value(*b.accepted) : json::value(nullptr);
    if (!b.closed_reason.empty()) o["closed_reason"] = b.closed_reason;
    auto it = planned.find(b.start);
    o["planned"] = it == planned.end() ? 0 : it->second;
    buckets.push_back(std::move(o));
  }
  return json::object{{"direction", direction},
                      {"lane_class", lane_class},
                      {"bucket_minutes",
                       std::chrono::duration_cast<std::chrono::minutes>(capacity.bucket()).count()},
                      {"buckets", std::move(buckets)}};
}

Result<json::object> Engine::CapacityChangesView(const Actor& actor) {
  if (!IsStaff(actor.role) && actor.role != Role::kCounterpart) {
    return RoleNotAllowed(actor, "see capacity changes", "staff roles, counterpart");
  }
  json::array items;
  std::shared_ptr<const CapacityPlan> plan = queue_->Capacity();
  const CapacityPlan& capacity = *plan;
  for (const auto& change : capacity.changes()) {
    items.push_back(EncodeCapacityChange(change));
  }
  return json::object{{"items", std::move(items)}};
}

json::object Engine::WaitBoard() {
  Timestamp now = clock_.Now();
  UtcOffset local = config_.self.utc_offset;
  std::shared_ptr<const CapacityPlan> capacity_plan = queue_->Capacity();
  const CapacityPlan& capacity = *capacity_plan;
  Timestamp bucket_now = capacity.BucketStart(now);
  // Today in this side's local calendar.
  int today = LocalDayNumber(now, local);
  Timestamp day_start =
      FromUnixMillis(int64_t{today} * 86'400'000 - int64_t{local.minutes} * 60'000);
  json::array lanes;
  for (const auto& d : config_.directions) {
    for (const auto& [lane_class, count] : d.lanes) {
      if (count == 0) continue;
      const LaneClass* lc = config_.FindLaneClass(lane_class);
      // A truck of this lane arriving now without booking: where would it be called?
      Crossing probe;
      probe.id = "~wait-board";
      probe.state = CrossingState::kInYard;
      probe.declaration.direction = d.id;
      probe.declaration.lane_class = lane_class;
      probe.declaration_valid_until = now + config_.declaration_validity;
      probe.queue.ticket = queue_->NextTicket();
      probe.queue.yard_arrived_at = now;
      LanePlan plan = queue_->Plan(d.id, lane_class, now, &probe);
      json::object lane{
          {"direction", d.id},
          {"lane_class", lane_class},
          {"name", json::object{{"en", lc->name.en}, {"vi", lc->name.vi}, {"zh", lc->name.zh}}}};
      int waiting = 0, booked = 0;
      std::optional<PlannedCall> probe_call;
      for (const auto& call : plan.calls) {
        if (call.crossing_id == probe.id) {
          probe_call = call;
          continue;
        }
        std::optional<Crossing> c = queue_->Find(call.crossing_id);
        if (c && c->state == CrossingState::kInYard) ++waiting;
        if (c && c->queue.booked_bucket) ++booked;
      }
      double factor = queue_->SlownessFactor(d.id, lane_class);
      if (probe_call) {
        double wait = Minutes(Stretch(now, probe_call->expected_call, factor) - now);
        lane["expected_wait_minutes"] = std::lround(wait);
        lane["wait_interval_minutes"] = json::array{
            std::lround(wait * 0.8), std::lround(wait * 1.25 + Minutes(config_.queue.bucket))};
      } else {
        lane["expected_wait_minutes"] = nullptr;
        lane["beyond_hours"] =
            std::chrono::duration_cast<std::chrono::hours>(config_.queue.booking_horizon).count();
      }
      int today_capacity = 0, next_hour = 0;
      for (const auto& b :
           capacity.Range(d.id, lane_class, day_start, day_start + std::chrono::hours(24))) {
        today_capacity += b.effective;
      }
      for (const auto& b :
           capacity.Range(d.id, lane_class, bucket_now, bucket_now + std::chrono::hours(1))) {
        next_hour += b.effective;
      }
      // Open now (hours, closures, lanes, the counterpart's acceptance), however the current
      // bucket's capacity happens to round.
      lane["open"] = capacity.OpenAt(d.id, lane_class, now);
      lane["waiting"] = waiting;
      lane["booked"] = booked;
      lane["capacity_today"] = today_capacity;
      lane["capacity_next_hour"] = next_hour;
      lanes.push_back(std::move(lane));
    }
  }
  auto side = [&](const GateSide& s) {
    return json::object{
        {"id", s.node_id},
        {"country", s.country},
        {"name", json::object{{"en", s.name.en}, {"vi", s.name.vi}, {"zh", s.name.zh}}},
        {"open", s.IsOpenAt(now)},
        {"local_time", FormatLocal(now, s.utc_offset)}};
  };
  return json::object{{"at", FormatLocal(now, local)},
                      {"self", side(config_.self)},
                      {"counterpart", side(config_.counterpart)},
                      {"lanes", std::move(lanes)}};
}

Result<json::object> Engine::PlateReadsView(const Actor& actor) {
  BF_TRY(RequireRole(actor, {Role::kGateOperator, Role::kBorderGuard, Role::kAdministrator},
                     "see plate reads"));
  json::array items;
  for (const auto& read : queue_->PlateReads()) items.push_back(EncodePlateRead(read));
  return json::object{{"items", std::move(items)}};
}

Result<json::object> Engine::BansView(const Actor& actor) {
  if (!IsStaff(actor.role)) return RoleNotAllowed(actor, "see bans", "staff roles");
  Timestamp now = clock_.Now();
  json::array bans, strikes;
  for (const auto& ban : queue_->Bans()) {
    if (ban.until > now) bans.push_back(EncodeBan(ban));
  }
  for (const auto& strike : queue_->Strikes()) {
    if (strike.at >= now - config_.queue.strike_window) strikes.push_back(EncodeStrike(strike));
  }
  return json::object{{"bans", std::move(bans)}, {"strikes", std::move(strikes)}};
}

Engine::PredictionAccuracy Engine::PredictionAccuracyNow() const {
  PredictionStats stats = queue_->Predictions();
  return PredictionAccuracy{stats.count, stats.Mean(), stats.Quantile(0.9)};
}

}  // namespace borderflow

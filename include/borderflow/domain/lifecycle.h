#pragma once

// The crossing lifecycle as one explicit table: for each event, the states it may be sent in,
// the state it leads to, and the roles allowed to send it. Decide() is the pure function every
// driver (HTTP, CLI, simulator, peer link) reaches through the engine.

#include <span>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/core/assert.h>
#include <borderflow/core/error.h>
#include <borderflow/core/time.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/role.h>

namespace borderflow {

#define BORDERFLOW_CROSSING_EVENTS(X)       \
  X(kAssess, "assess")                      \
  X(kBook, "book")                          \
  X(kCancelBooking, "cancel_booking")       \
  X(kEnterYard, "enter_yard")               \
  X(kCallForward, "call_forward")           \
  X(kRequeue, "requeue")                    \
  X(kArriveAtGate, "arrive_at_gate")        \
  X(kCheckDocuments, "check_documents")     \
  X(kStartInspection, "start_inspection")   \
  X(kRecordInspection, "record_inspection") \
  X(kRelease, "release")                    \
  X(kRefuse, "refuse")                      \
  X(kCross, "cross")                        \
  X(kConfirmReceipt, "confirm_receipt")     \
  X(kHandOver, "hand_over")                 \
  X(kCancel, "cancel")

enum class CrossingEventType {
#define BORDERFLOW_EVENT_ENUM(name, text) name,
  BORDERFLOW_CROSSING_EVENTS(BORDERFLOW_EVENT_ENUM)
#undef BORDERFLOW_EVENT_ENUM
};

std::string_view CrossingEventName(CrossingEventType e);
Result<CrossingEventType> ParseCrossingEventType(std::string_view text);

struct Transition {
  CrossingEventType event;
  std::vector<CrossingState> from;
  CrossingState to;
  std::vector<Role> roles;
};

// The lifecycle table (one row per event type).
const std::vector<Transition>& LifecycleTable();
const Transition& TransitionFor(CrossingEventType event);
// Events that may be sent in `state` (by any role).
std::vector<CrossingEventType> AllowedEvents(CrossingState state);

// An event as sent by a driver, its payload already validated for its type.
struct CrossingEvent {
  CrossingEventType type;
  boost::json::object data;  // the event's fields (see DecodeEventData)
};

// Validates an event payload for its type: "channel" for assess, "outcome" for checks and
// inspections, "reason" for refuse and cancel, optional "note", "lane", "plate_read" and so on.
// Unknown fields are refused.
Result<boost::json::object> DecodeEventData(CrossingEventType type, const boost::json::value& data);

// Applies `event` sent by `actor` to `crossing` at `now` and returns the crossing after it.
// Errors:
//   permission_denied "role_not_allowed" (403): the role may not send this event;
//   conflict "invalid_transition" (409): not allowed in the current state; the message names the
//     state and the events allowed in it;
//   conflict "inspection_required" (409): a red-channel crossing, or one selected for quarantine
//     inspection, may not be released without an inspection;
//   conflict "finding_unresolved" (409): an inspection found a problem, so no release.
//
// Two rows read differently for inbound crossings (announced by the counterpart, state
// `expected` first): `hand_over` (the truck crossed the zero line to us) leads to `checked`
// instead of `at_gate` when the counterpart's inspection was recognised (last_check kind
// "recognised_inspection", no second inspection), and `release` leads to `received`: the truck
// has entered the country, the crossing is closed.
Result<Crossing> Decide(const Crossing& crossing, const CrossingEvent& event, const Actor& actor,
                        Timestamp now);
// The same, deciding into `next`, which the caller has made a copy of `crossing` (another
// object) and which is unspecified after an error: for a caller that keeps the next version
// where it is made (the engine decides into the shared version it then hands out).
Status DecideInto(const Crossing& crossing, const CrossingEvent& event, const Actor& actor,
                  Timestamp now, Crossing& next);

}  // namespace borderflow

#include <algorithm>

#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/lifecycle.h>

namespace borderflow {

namespace json = boost::json;

namespace {

using S = CrossingState;
using E = CrossingEventType;
using R = Role;

// The lifecycle. Read a row as: `event` may be sent in any state of `from` by any role of
// `roles`, and moves the crossing to `to`.
const std::vector<Transition> kTable = {
    {E::kAssess, {S::kDeclared}, S::kAssessed, {R::kCustomsOfficer, R::kSystem}},
    // Booking again in state booked moves the booking to another slot (rebooking).
    {E::kBook, {S::kAssessed, S::kBooked}, S::kBooked, {R::kForwarder, R::kGateOperator}},
    {E::kCancelBooking, {S::kBooked}, S::kAssessed, {R::kForwarder, R::kGateOperator, R::kSystem}},
    {E::kEnterYard,
     {S::kAssessed, S::kBooked},
     S::kInYard,
     {R::kSensor, R::kGateOperator, R::kBorderGuard}},
    {E::kCallForward, {S::kInYard}, S::kCalled, {R::kGateOperator, R::kSystem}},
    {E::kRequeue, {S::kCalled}, S::kInYard, {R::kGateOperator, R::kSystem}},
    {E::kArriveAtGate, {S::kCalled}, S::kAtGate, {R::kSensor, R::kGateOperator, R::kBorderGuard}},
    {E::kCheckDocuments, {S::kAtGate}, S::kChecked, {R::kCustomsOfficer, R::kQuarantineOfficer}},
    {E::kStartInspection,
     {S::kAtGate, S::kChecked},
     S::kInspecting,
     {R::kCustomsOfficer, R::kQuarantineOfficer}},
    {E::kRecordInspection,
     {S::kInspecting},
     S::kChecked,
     {R::kCustomsOfficer, R::kQuarantineOfficer}},
    {E::kRelease, {S::kChecked}, S::kReleased, {R::kCustomsOfficer}},
    {E::kRefuse,
     {S::kAtGate, S::kInspecting, S::kChecked},
     S::kRefused,
     {R::kCustomsOfficer, R::kQuarantineOfficer, R::kBorderGuard}},
    {E::kCross, {S::kReleased}, S::kCrossed, {R::kBorderGuard, R::kSensor}},
    {E::kConfirmReceipt, {S::kCrossed}, S::kReceived, {R::kCounterpart, R::kBorderGuard}},
    // Inbound: the counterpart hands the truck over at the zero line (its "handover" message),
    // or our border guard records it when the link is down.
    {E::kHandOver, {S::kExpected}, S::kAtGate, {R::kCounterpart, R::kBorderGuard}},
    {E::kCancel,
     {S::kExpected, S::kDeclared, S::kAssessed, S::kBooked, S::kInYard, S::kCalled},
     S::kCancelled,
     {R::kForwarder, R::kGateOperator, R::kCounterpart}},
};

std::string JoinEvents(const std::vector<CrossingEventType>& events) {
  std::string out;
  for (auto e : events) {
    if (!out.empty()) out += ", ";
    out += CrossingEventName(e);
  }
  return out.empty() ? "none" : out;
}

std::string JoinRoles(const std::vector<Role>& roles) {
  std::string out;
  for (auto r : roles) {
    if (!out.empty()) out += ", ";
    out += RoleName(r);
  }
  return out;
}

Result<std::string> OneOf(const JsonObjectReader& r, std::string_view key,
                          std::initializer_list<std::string_view> values) {
  BF_ASSIGN_OR_RETURN(std::string v, r.String(key, 32));
  for (std::string_view allowed : values) {
    if (v == allowed) return v;
  }
  std::string list;
  for (std::string_view allowed : values) list += (list.empty() ? "" : ", ") + std::string(allowed);
  return InvalidArgument(
      "invalid_value", fmt::format("'{}' must be one of: {}", r.PathOf(key), list), r.PathOf(key));
}

}  // namespace

std::string_view CrossingEventName(CrossingEventType e) {
  switch (e) {
#define BORDERFLOW_EVENT_NAME(name, text) \
  case E::name:                           \
    return text;
    BORDERFLOW_CROSSING_EVENTS(BORDERFLOW_EVENT_NAME)
#undef BORDERFLOW_EVENT_NAME
  }
  return "unknown";
}

Result<CrossingEventType> ParseCrossingEventType(std::string_view text) {
#define BORDERFLOW_EVENT_PARSE(name, str) \
  if (text == str) return E::name;
  BORDERFLOW_CROSSING_EVENTS(BORDERFLOW_EVENT_PARSE)
#undef BORDERFLOW_EVENT_PARSE
  std::vector<CrossingEventType> all;
  for (const auto& t : kTable) all.push_back(t.event);
  return InvalidArgument(
      "unknown_event_type",
      fmt::format("unknown event type '{}'; valid types: {}", text.substr(0, 32), JoinEvents(all)),
      "type");
}

const std::vector<Transition>& LifecycleTable() { return kTable; }

const Transition& TransitionFor(CrossingEventType event) {
  for (const auto& t : kTable) {
    if (t.event == event) return t;
  }
  BF_ASSERT(false, "every event type has a row in the lifecycle table");
  return kTable.front();
}

std::vector<CrossingEventType> AllowedEvents(CrossingState state) {
  std::vector<CrossingEventType> out;
  for (const auto& t : kTable) {
    if (std::find(t.from.begin(), t.from.end(), state) != t.from.end()) out.push_back(t.event);
  }
  return out;
}

Result<json::object> DecodeEventData(CrossingEventType type, const json::value& data) {
  const json::value empty_value = json::object();
  BF_ASSIGN_OR_RETURN(JsonObjectReader r,
                      JsonObjectReader::Of(data.is_null() ? empty_value : data, "data"));
  json::object out;
  auto copy_optional = [&](std::string_view key, size_t max_len) -> Status {
    BF_ASSIGN_OR_RETURN(auto v, r.OptionalString(key, max_len));
    if (v) out[key] = *v;
    return {};
  };
  switch (type) {
    case E::kAssess: {
      BF_TRY(r.RejectUnknown({"channel", "quarantine_inspection", "note"}));
      BF_ASSIGN_OR_RETURN(std::string channel, OneOf(r, "channel", {"green", "yellow", "red"}));
      out["channel"] = channel;
      BF_ASSIGN_OR_RETURN(auto quarantine, r.OptionalBool("quarantine_inspection"));
      out["quarantine_inspection"] = quarantine.value_or(false);
      BF_TRY(copy_optional("note", 1000));
      break;
    }
    case E::kEnterYard:
    case E::kArriveAtGate:
    case E::kCross:
    case E::kHandOver: {
      BF_TRY(r.RejectUnknown({"plate_read", "camera", "lane", "note"}));
      BF_TRY(copy_optional("plate_read", 32));
      BF_TRY(copy_optional("camera", 64));
      BF_TRY(copy_optional("lane", 32));
      BF_TRY(copy_optional("note", 1000));
      break;
    }
    case E::kCheckDocuments: {
      BF_TRY(r.RejectUnknown({"outcome", "note"}));
      BF_ASSIGN_OR_RETURN(std::string outcome, OneOf(r, "outcome", {"ok", "discrepancy"}));
      out["outcome"] = outcome;
      BF_TRY(copy_optional("note", 1000));
      break;
    }
    case E::kRecordInspection: {
      BF_TRY(r.RejectUnknown({"outcome", "finding_type", "note"}));
      BF_ASSIGN_OR_RETURN(std::string outcome, OneOf(r, "outcome", {"no_finding", "finding"}));
      out["outcome"] = outcome;
      if (outcome == "finding") {
        BF_ASSIGN_OR_RETURN(std::string finding, r.String("finding_type", 64));
        out["finding_type"] = finding;
      } else if (r.Has("finding_type")) {
        return InvalidArgument("unexpected_field", "finding_type is only given with a finding",
                               "data.finding_type");
      }
      BF_TRY(copy_optional("note", 1000));
      break;
    }
    case E::kRefuse:
    case E::kCancel: {
      BF_TRY(r.RejectUnknown({"reason"}));
      BF_ASSIGN_OR_RETURN(std::string reason, r.String("reason", 1000));
      out["reason"] = reason;
      break;
    }
    case E::kBook: {
      // Without a slot, the engine books the earliest bucket with room.
      BF_TRY(r.RejectUnknown({"slot", "note"}));
      BF_ASSIGN_OR_RETURN(auto slot, r.OptionalString("slot", 40));
      if (slot) {
        auto at = ParseTimestamp(*slot);
        if (!at) return at.error().Within("data.slot");
        out["slot"] = FormatUtc(*at);
      }
      BF_TRY(copy_optional("note", 1000));
      break;
    }
    case E::kCancelBooking: {
      BF_TRY(r.RejectUnknown({"reason"}));
      BF_TRY(copy_optional("reason", 1000));
      break;
    }
    case E::kCallForward: {
      // `reason`: why this truck now (a planner reason code, or the operator's words).
      BF_TRY(r.RejectUnknown({"note", "lane", "reason"}));
      BF_TRY(copy_optional("note", 1000));
      BF_TRY(copy_optional("lane", 32));
      BF_TRY(copy_optional("reason", 64));
      break;
    }
    case E::kRequeue:
    case E::kStartInspection:
    case E::kRelease:
    case E::kConfirmReceipt: {
      BF_TRY(r.RejectUnknown({"note", "lane"}));
      BF_TRY(copy_optional("note", 1000));
      BF_TRY(copy_optional("lane", 32));
      break;
    }
  }
  return out;
}

Result<Crossing> Decide(const Crossing& crossing, const CrossingEvent& event, const Actor& actor,
                        Timestamp now) {
  Crossing next = crossing;
  BF_TRY(DecideInto(crossing, event, actor, now, next));
  return next;
}

Status DecideInto(const Crossing& crossing, const CrossingEvent& event, const Actor& actor,
                  Timestamp now, Crossing& next) {
  BF_ASSERT(&next != &crossing, "the next version is decided into a copy");
  const Transition& t = TransitionFor(event.type);
  if (std::find(t.roles.begin(), t.roles.end(), actor.role) == t.roles.end()) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 fmt::format("role {} may not send '{}'; allowed roles: {}", RoleName(actor.role),
                             CrossingEventName(event.type), JoinRoles(t.roles)));
  }
  if (std::find(t.from.begin(), t.from.end(), crossing.state) == t.from.end()) {
    return Conflict("invalid_transition",
                    fmt::format("'{}' is not allowed in state {}; allowed events: {}",
                                CrossingEventName(event.type), CrossingStateName(crossing.state),
                                JoinEvents(AllowedEvents(crossing.state))));
  }
  auto text = [&](std::string_view key) -> std::string {
    const json::value* v = event.data.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  switch (event.type) {
    case E::kAssess: {
      auto channel = ParseChannel(text("channel"));
      if (!channel) return channel.error();
      next.channel = *channel;
      const json::value* q = event.data.if_contains("quarantine_inspection");
      next.quarantine_inspection = q != nullptr && q->is_bool() && q->get_bool();
      break;
    }
    case E::kCheckDocuments:
      if (crossing.channel == Channel::kRed) {
        return Conflict("inspection_required",
                        "the crossing is in the red channel: start_inspection, not "
                        "check_documents");
      }
      next.last_check =
          CheckResult{"documents", text("outcome"), text("note"), actor.user_name, now};
      break;
    case E::kRecordInspection:
      next.last_check =
          CheckResult{"inspection", text("outcome"), text("note"), actor.user_name, now};
      break;
    case E::kRelease:
      if ((crossing.channel == Channel::kRed || crossing.quarantine_inspection) &&
          (!crossing.last_check || (crossing.last_check->kind != "inspection" &&
                                    crossing.last_check->kind != "recognised_inspection"))) {
        return Conflict("inspection_required",
                        crossing.channel == Channel::kRed
                            ? "the crossing is in the red channel and has not been inspected"
                            : "the crossing was selected for quarantine inspection and has not "
                              "been inspected");
      }
      if (crossing.last_check && (crossing.last_check->outcome == "finding" ||
                                  crossing.last_check->outcome == "discrepancy")) {
        return Conflict("finding_unresolved",
                        fmt::format("the last {} recorded '{}': refuse the crossing or inspect "
                                    "again before release",
                                    crossing.last_check->kind, crossing.last_check->outcome));
      }
      break;
    case E::kRefuse:
      next.refusal_reason = text("reason");
      break;
    default:
      break;
  }
  next.state = t.to;
  const bool inbound = !crossing.announced_by.empty();
  if (inbound && event.type == E::kRelease) next.state = S::kReceived;
  if (event.type == E::kHandOver && crossing.last_check &&
      crossing.last_check->kind == "recognised_inspection") {
    next.state = S::kChecked;
  }
  next.version = crossing.version + 1;
  next.updated_at = now;
  return {};
}

}  // namespace borderflow

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <borderflow/core/random.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/domain/lifecycle.h>

namespace borderflow {
namespace {

namespace json = boost::json;

using S = CrossingState;
using E = CrossingEventType;
using R = Role;

const Timestamp kNow = FromUnixMillis(1'795'000'000'000);

std::vector<S> AllStates() {
  return {
#define STATE_VALUE(name, text) S::name,
      BORDERFLOW_CROSSING_STATES(STATE_VALUE)
#undef STATE_VALUE
  };
}

std::vector<E> AllEvents() {
  return {
#define EVENT_VALUE(name, text) E::name,
      BORDERFLOW_CROSSING_EVENTS(EVENT_VALUE)
#undef EVENT_VALUE
  };
}

std::vector<R> AllRoles() {
  return {
#define ROLE_VALUE(name, text) R::name,
      BORDERFLOW_ROLES(ROLE_VALUE)
#undef ROLE_VALUE
  };
}

template <class T>
bool Contains(const std::vector<T>& v, T x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The lifecycle as the brief describes it, written out independently of lifecycle.cpp so that an
// accidental edit of the table fails here.
struct ExpectedRow {
  E event;
  std::set<S> from;
  S to;
  std::set<R> roles;
};

const std::vector<ExpectedRow>& ExpectedTable() {
  static const std::vector<ExpectedRow> rows = {
      {E::kAssess, {S::kDeclared}, S::kAssessed, {R::kCustomsOfficer, R::kSystem}},
      {E::kBook, {S::kAssessed, S::kBooked}, S::kBooked, {R::kForwarder, R::kGateOperator}},
      {E::kCancelBooking,
       {S::kBooked},
       S::kAssessed,
       {R::kForwarder, R::kGateOperator, R::kSystem}},
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
      {E::kHandOver, {S::kExpected}, S::kAtGate, {R::kCounterpart, R::kBorderGuard}},
      {E::kCancel,
       {S::kExpected, S::kDeclared, S::kAssessed, S::kBooked, S::kInYard, S::kCalled},
       S::kCancelled,
       {R::kForwarder, R::kGateOperator, R::kCounterpart}},
  };
  return rows;
}

// A valid payload for each event type, validated the way drivers do it.
json::object DataFor(E type) {
  json::value raw;
  switch (type) {
    case E::kAssess:
      raw = json::object{{"channel", "green"}};
      break;
    case E::kCheckDocuments:
      raw = json::object{{"outcome", "ok"}};
      break;
    case E::kRecordInspection:
      raw = json::object{{"outcome", "no_finding"}};
      break;
    case E::kRefuse:
    case E::kCancel:
      raw = json::object{{"reason", "test"}};
      break;
    default:
      raw = json::object{};
      break;
  }
  auto data = DecodeEventData(type, raw);
  EXPECT_TRUE(data.has_value()) << data.error().ToString();
  return data ? *data : json::object();
}

CrossingEvent Event(E type) { return CrossingEvent{type, DataFor(type)}; }

CrossingEvent Event(E type, std::string_view data_json) {
  auto raw = json::parse(data_json);
  auto data = DecodeEventData(type, raw);
  EXPECT_TRUE(data.has_value()) << data_json << ": " << data.error().ToString();
  return CrossingEvent{type, data ? *data : json::object()};
}

Actor As(R role) {
  Actor a{"u_" + std::string(RoleName(role)), std::string(RoleName(role)) + ".user", role, ""};
  if (a.IsCompanyScoped()) a.company_id = "C1";
  return a;
}

Crossing In(S state, Channel channel = Channel::kGreen) {
  Crossing c;
  c.id = "CR-TEST";
  c.company_id = "C1";
  c.declaration.direction = "VN-CN";
  c.declaration.lane_class = "fresh_produce";
  c.state = state;
  c.channel = state == S::kDeclared ? Channel::kNone : channel;
  c.version = 5;
  c.created_at = kNow - std::chrono::hours(2);
  c.updated_at = kNow - std::chrono::hours(1);
  return c;
}

Crossing MustDecide(const Crossing& c, const CrossingEvent& e, R role) {
  auto next = Decide(c, e, As(role), kNow);
  EXPECT_TRUE(next.has_value()) << CrossingEventName(e.type) << " by " << RoleName(role) << " in "
                                << CrossingStateName(c.state) << ": " << next.error().ToString();
  return next ? *next : c;
}

void ExpectRefusal(const Result<Crossing>& r, ErrorKind kind, std::string_view code) {
  ASSERT_FALSE(r.has_value()) << "accepted; now " << CrossingStateName(r->state);
  EXPECT_EQ(r.error().kind, kind) << r.error().ToString();
  EXPECT_EQ(r.error().code, code) << r.error().ToString();
}

TEST(LifecycleTableTest, MatchesTheExpectedTable) {
  const auto& table = LifecycleTable();
  ASSERT_EQ(table.size(), ExpectedTable().size());
  ASSERT_EQ(table.size(), AllEvents().size());  // one row per event type
  for (const ExpectedRow& want : ExpectedTable()) {
    const Transition& got = TransitionFor(want.event);
    SCOPED_TRACE(std::string(CrossingEventName(want.event)));
    EXPECT_EQ(got.event, want.event);
    EXPECT_EQ(std::set<S>(got.from.begin(), got.from.end()), want.from);
    EXPECT_EQ(got.from.size(), want.from.size()) << "duplicate from-state";
    EXPECT_EQ(got.to, want.to);
    EXPECT_EQ(std::set<R>(got.roles.begin(), got.roles.end()), want.roles);
    EXPECT_EQ(got.roles.size(), want.roles.size()) << "duplicate role";
  }
}

TEST(LifecycleTableTest, NamesRoundTrip) {
  for (E e : AllEvents()) {
    auto parsed = ParseCrossingEventType(CrossingEventName(e));
    ASSERT_TRUE(parsed.has_value()) << CrossingEventName(e);
    EXPECT_EQ(*parsed, e);
  }
  auto unknown = ParseCrossingEventType("teleport");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, "unknown_event_type");
  EXPECT_EQ(unknown.error().field, "type");
  EXPECT_NE(unknown.error().message.find("confirm_receipt"), std::string::npos);
  EXPECT_FALSE(ParseCrossingEventType("Assess").has_value());

  for (R r : AllRoles()) EXPECT_EQ(ParseRole(RoleName(r)).value(), r);
  EXPECT_EQ(ParseRole("admin").error().code, "unknown_role");
}

TEST(LifecycleTableTest, AllowedEventsFollowTheTable) {
  for (S s : AllStates()) {
    std::vector<E> allowed = AllowedEvents(s);
    for (E e : AllEvents()) {
      EXPECT_EQ(Contains(allowed, e), Contains(TransitionFor(e).from, s))
          << CrossingStateName(s) << " " << CrossingEventName(e);
    }
    // Terminal states, and only they, accept nothing.
    EXPECT_EQ(allowed.empty(), IsTerminal(s)) << CrossingStateName(s);
  }
  EXPECT_EQ(AllowedEvents(S::kReleased), std::vector<E>{E::kCross});
  EXPECT_EQ(AllowedEvents(S::kCrossed), std::vector<E>{E::kConfirmReceipt});
}

// Crossings start declared (here) or expected (announced by the counterpart).
TEST(LifecycleTableTest, EveryStateIsReachableFromAStartState) {
  std::set<S> reached = {S::kDeclared, S::kExpected};
  std::vector<S> todo = {S::kDeclared, S::kExpected};
  while (!todo.empty()) {
    S s = todo.back();
    todo.pop_back();
    for (E e : AllowedEvents(s)) {
      if (reached.insert(TransitionFor(e).to).second) todo.push_back(TransitionFor(e).to);
    }
  }
  EXPECT_EQ(reached.size(), AllStates().size());
}

// Every (event, from-state, allowed role) is accepted and leads to the row's state.
TEST(DecideTest, EveryTransitionAcceptedForEveryAllowedRole) {
  int accepted = 0;
  for (const Transition& t : LifecycleTable()) {
    for (S from : t.from) {
      for (R role : t.roles) {
        Crossing before = In(from);
        auto after = Decide(before, Event(t.event), As(role), kNow);
        ASSERT_TRUE(after.has_value())
            << CrossingEventName(t.event) << " from " << CrossingStateName(from) << " by "
            << RoleName(role) << ": " << after.error().ToString();
        EXPECT_EQ(after->state, t.to);
        EXPECT_EQ(after->version, before.version + 1);
        EXPECT_EQ(after->updated_at, kNow);
        EXPECT_EQ(after->created_at, before.created_at);
        EXPECT_EQ(after->id, before.id);
        ++accepted;
      }
    }
  }
  EXPECT_EQ(accepted, 64);  // sum over rows of |from| x |roles|
}

// DecideInto (the engine's way: into the version it keeps) decides as Decide does, reads only
// `crossing`, and refuses with the same errors.
TEST(DecideTest, DecideIntoACopyDecidesAsDecide) {
  int compared = 0;
  for (const Transition& t : LifecycleTable()) {
    for (S from : AllStates()) {
      for (R role : AllRoles()) {
        SCOPED_TRACE(std::string(CrossingEventName(t.event)) + " in " +
                     std::string(CrossingStateName(from)) + " by " + std::string(RoleName(role)));
        const Crossing before = In(from, Channel::kRed);
        const auto decided = Decide(before, Event(t.event), As(role), kNow);
        Crossing next = before;
        const Status into = DecideInto(before, Event(t.event), As(role), kNow, next);
        ASSERT_EQ(into.has_value(), decided.has_value());
        if (!decided) {
          EXPECT_EQ(into.error().code, decided.error().code);
          EXPECT_EQ(into.error().message, decided.error().message);
          continue;
        }
        EXPECT_EQ(next.state, t.to);
        EXPECT_EQ(next.version, before.version + 1);
        EXPECT_EQ(EncodeCrossingText(next), EncodeCrossingText(*decided));
        EXPECT_EQ(EncodeCrossingText(before), EncodeCrossingText(In(from, Channel::kRed)));
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 30);
}

TEST(DecideTest, EveryTransitionRefusedForOtherRoles) {
  int refused = 0;
  for (const Transition& t : LifecycleTable()) {
    for (R role : AllRoles()) {
      if (Contains(t.roles, role)) continue;
      for (S from : t.from) {
        auto r = Decide(In(from), Event(t.event), As(role), kNow);
        ASSERT_FALSE(r.has_value()) << CrossingEventName(t.event) << " by " << RoleName(role);
        EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
        EXPECT_EQ(HttpStatusFor(r.error().kind), 403);
        EXPECT_EQ(r.error().code, "role_not_allowed") << r.error().ToString();
        EXPECT_NE(r.error().message.find(RoleName(role)), std::string::npos);
        EXPECT_NE(r.error().message.find(CrossingEventName(t.event)), std::string::npos);
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 100);
}

TEST(DecideTest, EveryTransitionRefusedFromOtherStates) {
  for (const Transition& t : LifecycleTable()) {
    for (S state : AllStates()) {
      if (Contains(t.from, state)) continue;
      for (R role : t.roles) {
        auto r = Decide(In(state), Event(t.event), As(role), kNow);
        SCOPED_TRACE(std::string(CrossingEventName(t.event)) + " in " +
                     std::string(CrossingStateName(state)) + " by " + std::string(RoleName(role)));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().kind, ErrorKind::kConflict);
        EXPECT_EQ(HttpStatusFor(r.error().kind), 409);
        EXPECT_EQ(r.error().code, "invalid_transition") << r.error().ToString();
        const std::string& msg = r.error().message;
        EXPECT_NE(msg.find("state " + std::string(CrossingStateName(state))), std::string::npos)
            << msg;
        std::vector<E> allowed = AllowedEvents(state);
        for (E e : allowed) {
          EXPECT_NE(msg.find(CrossingEventName(e)), std::string::npos) << msg;
        }
        if (allowed.empty()) {
          EXPECT_NE(msg.find("allowed events: none"), std::string::npos) << msg;
        }
      }
    }
  }
}

TEST(DecideTest, InvalidTransitionMessageIsExact) {
  auto r = Decide(In(S::kBooked), Event(E::kRelease), As(R::kCustomsOfficer), kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "'release' is not allowed in state booked; allowed events: book, cancel_booking, "
            "enter_yard, cancel");
}

TEST(DecideTest, TerminalStatesAcceptNothing) {
  for (S s : {S::kReceived, S::kRefused, S::kCancelled}) {
    EXPECT_TRUE(AllowedEvents(s).empty()) << CrossingStateName(s);
    for (E e : AllEvents()) {
      for (R role : TransitionFor(e).roles) {
        auto r = Decide(In(s), Event(e), As(role), kNow);
        ASSERT_FALSE(r.has_value()) << CrossingEventName(e);
        EXPECT_EQ(r.error().code, "invalid_transition");
      }
    }
  }
}

TEST(DecideTest, WrongRoleIsReportedBeforeWrongState) {
  // A driver may send nothing at all; the answer does not reveal whether the state fits.
  for (E e : AllEvents()) {
    auto r = Decide(In(S::kReceived), Event(e), As(R::kDriver), kNow);
    ExpectRefusal(r, ErrorKind::kPermissionDenied, "role_not_allowed");
  }
}

TEST(DecideTest, AssessSetsChannelAndQuarantine) {
  Crossing c = MustDecide(In(S::kDeclared),
                          Event(E::kAssess, R"({"channel":"red","quarantine_inspection":true})"),
                          R::kCustomsOfficer);
  EXPECT_EQ(c.state, S::kAssessed);
  EXPECT_EQ(c.channel, Channel::kRed);
  EXPECT_TRUE(c.quarantine_inspection);

  Crossing y =
      MustDecide(In(S::kDeclared), Event(E::kAssess, R"({"channel":"yellow"})"), R::kSystem);
  EXPECT_EQ(y.channel, Channel::kYellow);
  EXPECT_FALSE(y.quarantine_inspection);

  // An undecoded payload without a channel is refused, not treated as green.
  auto r = Decide(In(S::kDeclared), CrossingEvent{E::kAssess, {}}, As(R::kSystem), kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "invalid_channel");
}

TEST(DecideTest, ChecksRecordOfficerOutcomeAndTime) {
  Crossing c = MustDecide(In(S::kAtGate, Channel::kYellow),
                          Event(E::kCheckDocuments, R"({"outcome":"ok","note":"Form E seen"})"),
                          R::kQuarantineOfficer);
  ASSERT_TRUE(c.last_check.has_value());
  EXPECT_EQ(c.last_check->kind, "documents");
  EXPECT_EQ(c.last_check->outcome, "ok");
  EXPECT_EQ(c.last_check->note, "Form E seen");
  EXPECT_EQ(c.last_check->officer, "quarantine_officer.user");
  EXPECT_EQ(c.last_check->at, kNow);

  Crossing i =
      MustDecide(In(S::kInspecting, Channel::kRed),
                 Event(E::kRecordInspection, R"({"outcome":"finding","finding_type":"pest"})"),
                 R::kCustomsOfficer);
  ASSERT_TRUE(i.last_check.has_value());
  EXPECT_EQ(i.last_check->kind, "inspection");
  EXPECT_EQ(i.last_check->outcome, "finding");
  EXPECT_EQ(i.state, S::kChecked);
}

TEST(DecideTest, RefuseRecordsReason) {
  Crossing c = MustDecide(In(S::kInspecting, Channel::kRed),
                          Event(E::kRefuse, R"({"reason":"undeclared goods"})"), R::kBorderGuard);
  EXPECT_EQ(c.state, S::kRefused);
  EXPECT_EQ(c.refusal_reason, "undeclared goods");
}

TEST(DecideTest, RedChannelMayNotSkipInspection) {
  Crossing at_gate = In(S::kAtGate, Channel::kRed);
  for (R role : {R::kCustomsOfficer, R::kQuarantineOfficer}) {
    auto r = Decide(at_gate, Event(E::kCheckDocuments), As(role), kNow);
    ExpectRefusal(r, ErrorKind::kConflict, "inspection_required");
    EXPECT_EQ(HttpStatusFor(r.error().kind), 409);
  }

  // Release in the red channel needs an inspection as the last check.
  Crossing checked = In(S::kChecked, Channel::kRed);
  ExpectRefusal(Decide(checked, Event(E::kRelease), As(R::kCustomsOfficer), kNow),
                ErrorKind::kConflict, "inspection_required");
  checked.last_check = CheckResult{"documents", "ok", "", "co", kNow};
  ExpectRefusal(Decide(checked, Event(E::kRelease), As(R::kCustomsOfficer), kNow),
                ErrorKind::kConflict, "inspection_required");

  // The inspection path works.
  Crossing c = MustDecide(at_gate, Event(E::kStartInspection), R::kQuarantineOfficer);
  EXPECT_EQ(c.state, S::kInspecting);
  c = MustDecide(c, Event(E::kRecordInspection), R::kCustomsOfficer);
  EXPECT_EQ(c.state, S::kChecked);
  c = MustDecide(c, Event(E::kRelease), R::kCustomsOfficer);
  EXPECT_EQ(c.state, S::kReleased);
}

TEST(DecideTest, OtherChannelsReleaseAfterDocumentCheck) {
  for (Channel ch : {Channel::kGreen, Channel::kYellow}) {
    Crossing c = MustDecide(In(S::kAtGate, ch), Event(E::kCheckDocuments), R::kCustomsOfficer);
    c = MustDecide(c, Event(E::kRelease), R::kCustomsOfficer);
    EXPECT_EQ(c.state, S::kReleased) << ChannelName(ch);
  }
}

TEST(DecideTest, FindingBlocksRelease) {
  Crossing c = In(S::kInspecting, Channel::kRed);
  c = MustDecide(c, Event(E::kRecordInspection, R"({"outcome":"finding","finding_type":"pest"})"),
                 R::kQuarantineOfficer);
  auto r = Decide(c, Event(E::kRelease), As(R::kCustomsOfficer), kNow);
  ExpectRefusal(r, ErrorKind::kConflict, "finding_unresolved");
  EXPECT_NE(r.error().message.find("finding"), std::string::npos);
  EXPECT_EQ(HttpStatusFor(r.error().kind), 409);

  // A document discrepancy blocks release the same way, in any channel.
  Crossing y =
      MustDecide(In(S::kAtGate, Channel::kYellow),
                 Event(E::kCheckDocuments, R"({"outcome":"discrepancy"})"), R::kCustomsOfficer);
  ExpectRefusal(Decide(y, Event(E::kRelease), As(R::kCustomsOfficer), kNow), ErrorKind::kConflict,
                "finding_unresolved");

  // Refusing is always possible; inspecting again with no finding clears the way.
  EXPECT_EQ(MustDecide(c, Event(E::kRefuse), R::kCustomsOfficer).state, S::kRefused);
  Crossing again = MustDecide(c, Event(E::kStartInspection), R::kCustomsOfficer);
  again = MustDecide(again, Event(E::kRecordInspection), R::kCustomsOfficer);
  EXPECT_EQ(MustDecide(again, Event(E::kRelease), R::kCustomsOfficer).state, S::kReleased);
}

TEST(DecideTest, VersionIncrementsAlongAPathAndInputIsUnchanged) {
  Crossing c = In(S::kDeclared);
  c.version = 1;
  const std::vector<std::pair<E, R>> path = {{E::kAssess, R::kSystem},
                                             {E::kBook, R::kForwarder},
                                             {E::kEnterYard, R::kSensor},
                                             {E::kCallForward, R::kSystem},
                                             {E::kRequeue, R::kGateOperator},
                                             {E::kCallForward, R::kGateOperator},
                                             {E::kArriveAtGate, R::kSensor},
                                             {E::kCheckDocuments, R::kCustomsOfficer},
                                             {E::kRelease, R::kCustomsOfficer},
                                             {E::kCross, R::kBorderGuard},
                                             {E::kConfirmReceipt, R::kCounterpart}};
  int64_t version = 1;
  for (const auto& [event, role] : path) {
    Crossing before = c;
    c = MustDecide(c, Event(event), role);
    EXPECT_EQ(c.version, ++version) << CrossingEventName(event);
    EXPECT_EQ(before.version, version - 1);  // Decide returns a new value
  }
  EXPECT_EQ(c.state, S::kReceived);
  EXPECT_EQ(c.version, 12);

  // A refused event changes nothing.
  Crossing same = c;
  EXPECT_FALSE(Decide(c, Event(E::kCancel), As(R::kForwarder), kNow).has_value());
  EXPECT_EQ(c.version, same.version);
  EXPECT_EQ(c.state, same.state);
}

// --- DecodeEventData -----------------------------------------------------------------------

void ExpectDataError(E type, std::string_view data_json, std::string_view code,
                     std::string_view field) {
  auto r = DecodeEventData(type, json::parse(data_json));
  ASSERT_FALSE(r.has_value()) << CrossingEventName(type) << " accepted " << data_json;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(r.error().code, code) << r.error().ToString();
  EXPECT_EQ(r.error().field, field) << r.error().ToString();
}

TEST(DecodeEventDataTest, Assess) {
  auto ok = DecodeEventData(E::kAssess, json::parse(R"({"channel":"red","note":"rule R7"})"));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->at("channel").as_string(), "red");
  EXPECT_EQ(ok->at("quarantine_inspection").as_bool(), false);  // default filled in
  EXPECT_EQ(ok->at("note").as_string(), "rule R7");

  ExpectDataError(E::kAssess, "{}", "missing_field", "data.channel");
  ExpectDataError(E::kAssess, "null", "missing_field", "data.channel");
  ExpectDataError(E::kAssess, R"({"channel":"purple"})", "invalid_value", "data.channel");
  ExpectDataError(E::kAssess, R"({"channel":"none"})", "invalid_value", "data.channel");
  ExpectDataError(E::kAssess, R"({"channel":1})", "wrong_type", "data.channel");
  ExpectDataError(E::kAssess, R"({"channel":"red","colour":"red"})", "unknown_field",
                  "data.colour");
  ExpectDataError(E::kAssess, R"({"channel":"red","quarantine_inspection":"yes"})", "wrong_type",
                  "data.quarantine_inspection");
  ExpectDataError(E::kAssess, R"(["red"])", "wrong_type", "data");
}

TEST(DecodeEventDataTest, ChecksAndInspections) {
  ExpectDataError(E::kCheckDocuments, "{}", "missing_field", "data.outcome");
  ExpectDataError(E::kCheckDocuments, R"({"outcome":"finding"})", "invalid_value", "data.outcome");
  ExpectDataError(E::kRecordInspection, R"({"outcome":"ok"})", "invalid_value", "data.outcome");
  ExpectDataError(E::kRecordInspection, R"({"outcome":"finding"})", "missing_field",
                  "data.finding_type");
  ExpectDataError(E::kRecordInspection, R"({"outcome":"no_finding","finding_type":"pest"})",
                  "unexpected_field", "data.finding_type");
  ExpectDataError(E::kRecordInspection,
                  R"({"outcome":"no_finding","note":")" + std::string(1001, 'n') + R"("})",
                  "field_too_long", "data.note");

  auto finding = DecodeEventData(E::kRecordInspection,
                                 json::parse(R"({"outcome":"finding","finding_type":"pest"})"));
  ASSERT_TRUE(finding.has_value());
  EXPECT_EQ(finding->at("finding_type").as_string(), "pest");
}

TEST(DecodeEventDataTest, ReasonsAndSensors) {
  for (E e : {E::kRefuse, E::kCancel}) {
    ExpectDataError(e, "{}", "missing_field", "data.reason");
    ExpectDataError(e, R"({"reason":""})", "field_too_short", "data.reason");
    ExpectDataError(e, R"({"reason":"x","note":"y"})", "unknown_field", "data.note");
  }
  for (E e : {E::kEnterYard, E::kArriveAtGate, E::kCross}) {
    auto ok = DecodeEventData(e, json::parse(R"({"plate_read":"12C12345","camera":"cam-3",
                                                 "lane":"L2"})"));
    ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
    EXPECT_EQ(ok->at("plate_read").as_string(), "12C12345");
    EXPECT_FALSE(ok->contains("note"));
    ExpectDataError(e, R"({"plate_read":")" + std::string(33, '1') + R"("})", "field_too_long",
                    "data.plate_read");
    ExpectDataError(e, R"({"weight_kg":30000})", "unknown_field", "data.weight_kg");
  }
  for (E e : {E::kRequeue, E::kStartInspection, E::kRelease, E::kConfirmReceipt}) {
    auto empty = DecodeEventData(e, json::value(nullptr));
    ASSERT_TRUE(empty.has_value()) << CrossingEventName(e);
    EXPECT_TRUE(empty->empty());
    ExpectDataError(e, R"({"channel":"green"})", "unknown_field", "data.channel");
    ExpectDataError(e, R"({"note":5})", "wrong_type", "data.note");
  }
}

}  // namespace
}  // namespace borderflow

namespace borderflow {
namespace {

TEST(CrossingIdTest, IdsSortByCreationTime) {
  SeededRandom random(7);
  Timestamp t = *ParseTimestamp("2026-11-29T01:00:00Z");
  std::string previous;
  for (int i = 0; i < 200; ++i) {
    std::string id = NewCrossingId(t + std::chrono::milliseconds(i * 37), random);
    ASSERT_EQ(id.size(), 17u) << id;
    ASSERT_TRUE(id.starts_with("CR-")) << id;
    EXPECT_LT(previous, id) << "ids must ascend with time";
    previous = id;
  }
  // Same millisecond: the random suffix keeps them distinct.
  EXPECT_NE(NewCrossingId(t, random), NewCrossingId(t, random));
  // Years later still sorts after.
  EXPECT_LT(NewCrossingId(t, random),
            NewCrossingId(*ParseTimestamp("2058-01-01T00:00:00Z"), random));
}

}  // namespace
}  // namespace borderflow

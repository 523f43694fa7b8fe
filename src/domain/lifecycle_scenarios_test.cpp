// Runs the data-driven lifecycle scenarios in tests/scenarios/lifecycle/*.json (format in
// tests/scenarios/README.md): one test per file.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/lifecycle.h>

namespace borderflow {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const fs::path kScenarioDir = fs::path(BORDERFLOW_SOURCE_DIR) / "tests/scenarios/lifecycle";
const Timestamp kStart = FromUnixMillis(1'795'000'000'000);

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kScenarioDir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct ExpectedCheck {
  std::optional<std::string> kind;
  std::optional<std::string> outcome;
  std::optional<std::string> officer;
};

struct Step {
  CrossingEventType event;
  Role role;
  json::value data;
  std::optional<CrossingState> expect_state;
  std::optional<std::string> expect_error;
  std::optional<int64_t> expect_status;
  std::optional<std::string> expect_message_contains;
  std::optional<Channel> expect_channel;
  std::optional<int64_t> expect_version;
  std::optional<std::string> expect_refusal_reason;
  std::optional<ExpectedCheck> expect_last_check;
  std::optional<std::vector<CrossingEventType>> expect_allowed_events;
};

struct Scenario {
  std::string name;
  std::string description;
  Crossing crossing;
  std::vector<Step> steps;
};

// An error of the scenario file itself, placed at `where`.
Error InFile(Error e, std::string_view where) {
  e.field = std::string(where);
  return e;
}

Result<std::optional<std::string>> OptionalText(const JsonObjectReader& r, std::string_view key) {
  return r.OptionalString(key, 1000);
}

Result<Step> ParseStep(const json::value& v, std::string path) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, path));
  BF_TRY(r.RejectUnknown({"event", "role", "data", "comment", "expect_state", "expect_error",
                          "expect_status", "expect_message_contains", "expect_channel",
                          "expect_version", "expect_refusal_reason", "expect_last_check",
                          "expect_allowed_events"}));
  Step s;
  BF_ASSIGN_OR_RETURN(std::string event, r.String("event", 64));
  auto type = ParseCrossingEventType(event);
  if (!type) return InFile(type.error(), r.PathOf("event"));
  s.event = *type;
  BF_ASSIGN_OR_RETURN(std::string role, r.String("role", 64));
  auto parsed_role = ParseRole(role);
  if (!parsed_role) return InFile(parsed_role.error(), r.PathOf("role"));
  s.role = *parsed_role;
  const json::value* data = r.object().if_contains("data");
  s.data = data != nullptr ? *data : json::value(json::object());

  BF_ASSIGN_OR_RETURN(auto state, OptionalText(r, "expect_state"));
  if (state) {
    auto parsed = ParseCrossingState(*state);
    if (!parsed) return InFile(parsed.error(), r.PathOf("expect_state"));
    s.expect_state = *parsed;
  }
  BF_ASSIGN_OR_RETURN(s.expect_error, OptionalText(r, "expect_error"));
  if (s.expect_state.has_value() == s.expect_error.has_value()) {
    return InvalidArgument("bad_scenario", "a step needs exactly one of expect_state, expect_error",
                           path);
  }
  BF_ASSIGN_OR_RETURN(s.expect_status, r.OptionalInt("expect_status", 400, 599));
  BF_ASSIGN_OR_RETURN(s.expect_message_contains, OptionalText(r, "expect_message_contains"));
  if ((s.expect_status || s.expect_message_contains) && !s.expect_error) {
    return InvalidArgument("bad_scenario",
                           "expect_status and expect_message_contains go with expect_error", path);
  }

  BF_ASSIGN_OR_RETURN(auto channel, OptionalText(r, "expect_channel"));
  if (channel) {
    auto parsed = ParseChannel(*channel);
    if (!parsed) return InFile(parsed.error(), r.PathOf("expect_channel"));
    s.expect_channel = *parsed;
  }
  BF_ASSIGN_OR_RETURN(s.expect_version, r.OptionalInt("expect_version", 0, INT64_MAX));
  BF_ASSIGN_OR_RETURN(s.expect_refusal_reason, OptionalText(r, "expect_refusal_reason"));
  BF_ASSIGN_OR_RETURN(auto check, r.OptionalObject("expect_last_check"));
  if (check) {
    BF_TRY(check->RejectUnknown({"kind", "outcome", "officer"}));
    ExpectedCheck c;
    BF_ASSIGN_OR_RETURN(c.kind, OptionalText(*check, "kind"));
    BF_ASSIGN_OR_RETURN(c.outcome, OptionalText(*check, "outcome"));
    BF_ASSIGN_OR_RETURN(c.officer, OptionalText(*check, "officer"));
    s.expect_last_check = c;
  }
  if (r.Has("expect_allowed_events")) {
    BF_ASSIGN_OR_RETURN(const json::array* events, r.Array("expect_allowed_events", 0, 32));
    std::vector<CrossingEventType> list;
    for (size_t i = 0; i < events->size(); ++i) {
      std::string where = r.PathOf("expect_allowed_events") + "[" + std::to_string(i) + "]";
      const json::value& e = (*events)[i];
      if (!e.is_string()) return InvalidArgument("wrong_type", "must be an event name", where);
      auto parsed = ParseCrossingEventType(e.get_string());
      if (!parsed) return InFile(parsed.error(), where);
      list.push_back(*parsed);
    }
    s.expect_allowed_events = list;
  }
  bool success_checks = s.expect_channel || s.expect_version || s.expect_refusal_reason ||
                        s.expect_last_check || s.expect_allowed_events;
  if (success_checks && !s.expect_state) {
    return InvalidArgument("bad_scenario", "checks of the new crossing go with expect_state", path);
  }
  return s;
}

Result<Scenario> ParseScenario(const json::value& doc) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(doc, ""));
  BF_TRY(r.RejectUnknown({"name", "description", "crossing", "steps"}));
  Scenario s;
  BF_ASSIGN_OR_RETURN(s.name, r.String("name", 200));
  BF_ASSIGN_OR_RETURN(s.description, r.String("description", 4000));

  Crossing& c = s.crossing;
  c.id = "CR-SCENARIO";
  c.company_id = "C1";
  c.declared_by = "u_forwarder";
  c.declaration.direction = "VN-CN";
  c.declaration.lane_class = "general_cargo";
  c.state = CrossingState::kDeclared;
  c.channel = Channel::kNone;
  c.version = 1;
  c.created_at = kStart;
  c.updated_at = kStart;
  c.declaration_valid_until = kStart + std::chrono::hours(72);
  BF_ASSIGN_OR_RETURN(auto crossing, r.OptionalObject("crossing"));
  if (crossing) {
    BF_TRY(crossing->RejectUnknown({"lane_class", "direction", "state", "channel",
                                    "quarantine_inspection", "version", "announced_by",
                                    "last_check"}));
    BF_ASSIGN_OR_RETURN(auto announced_by, crossing->OptionalString("announced_by", 64));
    c.announced_by = announced_by.value_or("");
    BF_ASSIGN_OR_RETURN(auto last_check, crossing->OptionalObject("last_check"));
    if (last_check) {
      BF_TRY(last_check->RejectUnknown({"kind", "outcome"}));
      CheckResult check;
      BF_ASSIGN_OR_RETURN(check.kind, last_check->String("kind", 32));
      BF_ASSIGN_OR_RETURN(check.outcome, last_check->String("outcome", 32));
      check.at = kStart;
      c.last_check = check;
    }
    BF_ASSIGN_OR_RETURN(auto lane_class, crossing->OptionalString("lane_class", 32));
    if (lane_class) c.declaration.lane_class = *lane_class;
    BF_ASSIGN_OR_RETURN(auto direction, crossing->OptionalString("direction", 32));
    if (direction) c.declaration.direction = *direction;
    BF_ASSIGN_OR_RETURN(auto state, crossing->OptionalString("state", 32));
    if (state) {
      auto parsed = ParseCrossingState(*state);
      if (!parsed) return InFile(parsed.error(), "crossing.state");
      c.state = *parsed;
    }
    BF_ASSIGN_OR_RETURN(auto channel, crossing->OptionalString("channel", 16));
    if (channel) {
      auto parsed = ParseChannel(*channel);
      if (!parsed) return InFile(parsed.error(), "crossing.channel");
      c.channel = *parsed;
    }
    BF_ASSIGN_OR_RETURN(auto quarantine, crossing->OptionalBool("quarantine_inspection"));
    c.quarantine_inspection = quarantine.value_or(false);
    BF_ASSIGN_OR_RETURN(auto version, crossing->OptionalInt("version", 0, 1'000'000));
    if (version) c.version = *version;
  }

  BF_ASSIGN_OR_RETURN(const json::array* steps, r.Array("steps", 1, 1000));
  for (size_t i = 0; i < steps->size(); ++i) {
    BF_ASSIGN_OR_RETURN(Step step, ParseStep((*steps)[i], "steps[" + std::to_string(i) + "]"));
    s.steps.push_back(std::move(step));
  }
  return s;
}

Result<Scenario> LoadScenario(const std::string& file) {
  std::ifstream in(kScenarioDir / file, std::ios::binary);
  if (!in) return NotFound("scenario_not_found", "cannot open " + file);
  std::ostringstream text;
  text << in.rdbuf();
  BF_ASSIGN_OR_RETURN(json::value doc, ParseJson(text.str()));
  return ParseScenario(doc);
}

Actor ActorFor(Role role) {
  Actor a{"u_" + std::string(RoleName(role)), std::string(RoleName(role)) + ".scenario", role, ""};
  if (a.IsCompanyScoped()) a.company_id = "C1";
  return a;
}

std::string EventList(const std::vector<CrossingEventType>& events) {
  std::string out = "[";
  for (auto e : events) out += (out.size() > 1 ? ", " : "") + std::string(CrossingEventName(e));
  return out + "]";
}

// What running a step gave: the new crossing or the error.
Result<Crossing> RunStep(const Crossing& c, const Step& step, Timestamp now) {
  BF_ASSIGN_OR_RETURN(json::object data, DecodeEventData(step.event, step.data));
  return Decide(c, CrossingEvent{step.event, std::move(data)}, ActorFor(step.role), now);
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, Runs) {
  auto scenario = LoadScenario(GetParam());
  ASSERT_TRUE(scenario.has_value()) << GetParam() << ": " << scenario.error().ToString();
  RecordProperty("scenario", scenario->name);
  Crossing c = scenario->crossing;
  for (size_t i = 0; i < scenario->steps.size(); ++i) {
    const Step& step = scenario->steps[i];
    SCOPED_TRACE(GetParam() + " steps[" + std::to_string(i) + "] " +
                 std::string(CrossingEventName(step.event)) + " by " +
                 std::string(RoleName(step.role)) + " in " +
                 std::string(CrossingStateName(c.state)));
    const Timestamp now = kStart + std::chrono::minutes(i + 1);
    Result<Crossing> result = RunStep(c, step, now);

    if (step.expect_error) {
      ASSERT_FALSE(result.has_value()) << "accepted; expected " << *step.expect_error
                                       << ", got state " << CrossingStateName(result->state);
      EXPECT_EQ(result.error().code, *step.expect_error) << result.error().ToString();
      if (step.expect_status) {
        EXPECT_EQ(HttpStatusFor(result.error().kind), *step.expect_status)
            << result.error().ToString();
      }
      if (step.expect_message_contains) {
        EXPECT_NE(result.error().message.find(*step.expect_message_contains), std::string::npos)
            << result.error().message;
      }
      continue;  // the crossing stays as it was
    }

    ASSERT_TRUE(result.has_value()) << result.error().ToString();
    const Crossing& next = *result;
    EXPECT_EQ(next.state, *step.expect_state)
        << "got " << CrossingStateName(next.state) << ", expected "
        << CrossingStateName(*step.expect_state);
    EXPECT_EQ(next.version, c.version + 1);
    EXPECT_EQ(next.updated_at, now);
    if (step.expect_version) {
      EXPECT_EQ(next.version, *step.expect_version);
    }
    if (step.expect_channel) {
      EXPECT_EQ(next.channel, *step.expect_channel) << ChannelName(next.channel);
    }
    if (step.expect_refusal_reason) {
      EXPECT_EQ(next.refusal_reason, *step.expect_refusal_reason);
    }
    if (step.expect_last_check) {
      const ExpectedCheck& want = *step.expect_last_check;
      ASSERT_TRUE(next.last_check.has_value());
      if (want.kind) {
        EXPECT_EQ(next.last_check->kind, *want.kind);
      }
      if (want.outcome) {
        EXPECT_EQ(next.last_check->outcome, *want.outcome);
      }
      if (want.officer) {
        EXPECT_EQ(next.last_check->officer, *want.officer);
      }
      EXPECT_EQ(next.last_check->at, now);
    }
    if (step.expect_allowed_events) {
      EXPECT_EQ(EventList(AllowedEvents(next.state)), EventList(*step.expect_allowed_events));
    }
    c = next;
  }
}

// The runner's own checks must be able to fail: a scenario with a wrong expectation is caught.
TEST(ScenarioRunnerTest, RunStepReportsWhatHappened) {
  Crossing c;
  c.state = CrossingState::kDeclared;
  c.version = 1;
  auto step = ParseStep(json::parse(R"({"event":"assess","role":"customs_officer",
                                        "data":{"channel":"red"},"expect_state":"assessed"})"),
                        "steps[0]");
  ASSERT_TRUE(step.has_value()) << step.error().ToString();
  auto r = RunStep(c, *step, kStart);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->state, CrossingState::kAssessed);
  EXPECT_EQ(r->channel, Channel::kRed);

  auto bad_data = ParseStep(json::parse(R"({"event":"assess","role":"customs_officer",
                                            "data":{"channel":"blue"},"expect_error":"x"})"),
                            "steps[0]");
  ASSERT_TRUE(bad_data.has_value());
  auto refused = RunStep(c, *bad_data, kStart);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, "invalid_value");
}

TEST(ScenarioRunnerTest, MalformedScenariosAreRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name":"n","description":"d","steps":[]})", "steps"},
      {R"({"name":"n","description":"d","stpes":[]})", "stpes"},
      {R"({"name":"n","description":"d","steps":[{"event":"assess","role":"system"}]})",
       "steps[0]"},
      {R"({"name":"n","description":"d","steps":[{"event":"assess","role":"system",
          "expect_state":"assessed","expect_error":"x"}]})",
       "steps[0]"},
      {R"({"name":"n","description":"d","steps":[{"event":"teleport","role":"system",
          "expect_state":"assessed"}]})",
       "steps[0].event"},
      {R"({"name":"n","description":"d","steps":[{"event":"assess","role":"admin",
          "expect_state":"assessed"}]})",
       "steps[0].role"},
      {R"({"name":"n","description":"d","steps":[{"event":"assess","role":"system",
          "expect_state":"asessed"}]})",
       "steps[0].expect_state"},
      {R"({"name":"n","description":"d","steps":[{"event":"assess","role":"system",
          "expect_state":"assessed","expect_stauts":409}]})",
       "steps[0].expect_stauts"},
      {R"({"name":"n","description":"d","steps":[{"event":"assess","role":"system",
          "expect_error":"x","expect_version":2}]})",
       "steps[0]"},
      {R"({"name":"n","description":"d","crossing":{"state":"nowhere"},"steps":[
          {"event":"assess","role":"system","expect_state":"assessed"}]})",
       "crossing.state"},
  };
  for (const auto& [text, field] : cases) {
    auto s = ParseScenario(json::parse(text));
    ASSERT_FALSE(s.has_value()) << text;
    EXPECT_EQ(s.error().field, field) << text << ": " << s.error().ToString();
  }
}

TEST(ScenarioSuiteTest, FolderHasEnoughScenarios) {
  EXPECT_GE(ScenarioFiles().size(), 6u) << kScenarioDir;
}

// Taken together, the scenarios exercise every event type and every lifecycle error.
TEST(ScenarioSuiteTest, ScenariosCoverTheLifecycle) {
  std::set<std::string> succeeded;
  std::set<std::string> errors;
  std::set<std::string> names;
  for (const std::string& file : ScenarioFiles()) {
    auto s = LoadScenario(file);
    ASSERT_TRUE(s.has_value()) << file << ": " << s.error().ToString();
    EXPECT_TRUE(names.insert(s->name).second) << "duplicate scenario name in " << file;
    for (const Step& step : s->steps) {
      if (step.expect_state) succeeded.insert(std::string(CrossingEventName(step.event)));
      if (step.expect_error) errors.insert(*step.expect_error);
    }
  }
  for (const Transition& t : LifecycleTable()) {
    EXPECT_TRUE(succeeded.contains(std::string(CrossingEventName(t.event))))
        << "no scenario makes '" << CrossingEventName(t.event) << "' succeed";
  }
  for (std::string code :
       {"role_not_allowed", "invalid_transition", "inspection_required", "finding_unresolved"}) {
    EXPECT_TRUE(errors.contains(code)) << "no scenario expects " << code;
  }
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()), TestName);

}  // namespace
}  // namespace borderflow

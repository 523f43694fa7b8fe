// Runs the data-driven electronic-queue scenarios in tests/scenarios/queue/*.json (format in
// tests/scenarios/README.md) through a real Engine (inline, on a temporary SqliteStore, with a
// ManualClock): one test per file. Every step is a command as a driver would send it; every
// refused step must change nothing (the audit trail and every truck stay as they were).

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
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/store/sqlite_store.h>

#include "queue_book.h"  // BanKey

namespace borderflow {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const fs::path kScenarioDir = fs::path(BORDERFLOW_SOURCE_DIR) / "tests/scenarios/queue";
const fs::path kConfigFile = fs::path(BORDERFLOW_SOURCE_DIR) / "config/huu-nghi.toml";
constexpr std::string_view kStart = "2026-11-29T01:00:00Z";  // 08:00 in Vietnam

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

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

// --- Configuration overrides -----------------------------------------------------------------

// A JSON value as a TOML value (strings, numbers, booleans, arrays, inline tables).
std::string TomlValue(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: {
      std::string out = "\"";
      for (char c : v.get_string()) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      return out + "\"";
    }
    case json::kind::array: {
      std::vector<std::string> items;
      for (const auto& item : v.get_array()) items.push_back(TomlValue(item));
      return fmt::format("[{}]", fmt::join(items, ", "));
    }
    case json::kind::object: {
      std::vector<std::string> items;
      for (const auto& kv : v.get_object()) {
        items.push_back(fmt::format("{} = {}", std::string_view(kv.key()), TomlValue(kv.value())));
      }
      return fmt::format("{{ {} }}", fmt::join(items, ", "));
    }
    default:
      return json::serialize(v);  // numbers and booleans read the same in TOML
  }
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Whether `line` sets `key` ("key = ...").
bool SetsKey(std::string_view line, std::string_view key) {
  std::string t = Trim(line);
  if (!t.starts_with(key)) return false;
  std::string rest = Trim(std::string_view(t).substr(key.size()));
  return rest.starts_with("=");
}

// Replaces (or adds) `key = value` in the single table `[section]` of `lines`.
Status SetTableKey(std::vector<std::string>& lines, std::string_view section, std::string_view key,
                   const std::string& value) {
  const std::string header = fmt::format("[{}]", section);
  size_t begin = 0;
  for (size_t i = 0; i < lines.size() && begin == 0; ++i) {
    if (Trim(lines[i]) == header) begin = i + 1;
  }
  if (begin == 0) {
    return InvalidArgument("bad_scenario", fmt::format("no [{}] in the configuration", section),
                           "config");
  }
  size_t end = begin;
  while (end < lines.size() && !Trim(lines[end]).starts_with("[")) ++end;
  std::string line = fmt::format("{} = {}", key, value);
  for (size_t i = begin; i < end; ++i) {
    if (SetsKey(lines[i], key)) {
      lines[i] = line;
      return {};
    }
  }
  lines.insert(lines.begin() + static_cast<ptrdiff_t>(end), line);
  return {};
}

// The demo configuration with a scenario's overrides (see README): "node", "counterpart" and
// "queue" replace or add keys of those tables; "lanes" merges lane counts into a direction's
// `lanes`. The result is parsed and validated like any configuration.
Result<GateConfig> ConfigWith(const json::object& overrides) {
  std::string text = ReadText(kConfigFile);
  BF_ASSIGN_OR_RETURN(GateConfig base, ParseGateConfig(text));
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (const auto& kv : overrides) {
    std::string section(kv.key());
    std::string where = "config." + section;
    if (!kv.value().is_object()) return InvalidArgument("bad_scenario", "must be an object", where);
    if (section == "node" || section == "counterpart" || section == "queue") {
      for (const auto& entry : kv.value().get_object()) {
        BF_TRY(SetTableKey(lines, section, entry.key(), TomlValue(entry.value())));
      }
    } else if (section == "lanes") {
      for (const auto& dir : kv.value().get_object()) {
        const Direction* d = base.FindDirection(dir.key());
        if (d == nullptr || !dir.value().is_object()) {
          return InvalidArgument("bad_scenario", "unknown direction or not an object",
                                 where + "." + std::string(dir.key()));
        }
        json::object lanes;
        for (const auto& [lane_class, count] : d->lanes) lanes[lane_class] = count;
        for (const auto& lane : dir.value().get_object()) lanes[lane.key()] = lane.value();
        // The `lanes` line that follows `id = "<direction>"` in its [[directions]] block.
        bool in_block = false, replaced = false;
        for (auto& line : lines) {
          std::string t = Trim(line);
          if (t.starts_with("[")) in_block = false;
          if (t == fmt::format("id = \"{}\"", d->id)) in_block = true;
          if (in_block && SetsKey(t, "lanes")) {
            line = "lanes = " + TomlValue(lanes);
            replaced = true;
            break;
          }
        }
        if (!replaced) {
          return InvalidArgument("bad_scenario", "no lanes line for " + d->id, where);
        }
      }
    } else {
      return InvalidArgument("bad_scenario", "config sections are: node, counterpart, queue, lanes",
                             where);
    }
  }
  std::string joined;
  for (const auto& line : lines) joined += line + "\n";
  auto config = ParseGateConfig(joined);
  if (!config) return InvalidArgument("bad_scenario", config.error().ToString(), "config");
  return *config;
}

// --- The scenario file -----------------------------------------------------------------------

// Keys every step may have, and the keys of each action.
const std::vector<std::string> kCommonKeys = {"do",
                                              "at",
                                              "comment",
                                              "expect_error",
                                              "expect_status",
                                              "expect_message_contains",
                                              "expect_state",
                                              "expect_called",
                                              "expect_requeued",
                                              "expect_lapsed",
                                              "expect_replan",
                                              "expect_plan",
                                              "expect_strikes",
                                              "expect_banned",
                                              "expect_pending_reads",
                                              "expect_outcome",
                                              "expect_truck",
                                              "expect_reason_contains",
                                              "expect_booked",
                                              "expect_last_event"};
const std::map<std::string, std::vector<std::string>> kActionKeys = {
    {"advance", {"minutes"}},
    {"declare",
     {"truck", "plate", "direction", "lane_class", "as", "freshness_deadline",
      "declaration_valid_until"}},
    {"assess", {"truck", "channel", "as"}},
    {"book", {"truck", "slot", "as"}},
    {"event", {"truck", "event", "data", "as"}},
    {"tick", {}},
    {"call_next", {"direction", "lane_class", "as"}},
    {"capacity", {"change", "as"}},
    {"policy", {"policy", "as"}},
    {"plate_read", {"location", "text", "confidence", "camera", "name", "as"}},
    {"resolve_read", {"read", "truck", "as"}},
    {"ban", {"truck", "days", "reason", "as"}},
    {"driver", {"truck", "driver", "as"}},
    {"restart", {}},
};

struct Step {
  std::string action;
  json::object raw;
  std::string path;
};

struct Scenario {
  std::string name;
  std::string description;
  json::object config;
  std::vector<Step> steps;
};

Status CheckKeys(const json::object& o, const std::vector<std::string>& known,
                 const std::string& path) {
  for (const auto& kv : o) {
    if (std::find(known.begin(), known.end(), std::string(kv.key())) == known.end()) {
      return InvalidArgument(
          "unknown_field", fmt::format("unknown key '{}'", std::string_view(kv.key())),
          path.empty() ? std::string(kv.key()) : path + "." + std::string(kv.key()));
    }
  }
  return {};
}

Result<Scenario> ParseScenario(const json::value& doc) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(doc, ""));
  BF_TRY(r.RejectUnknown({"name", "description", "config", "steps"}));
  Scenario s;
  BF_ASSIGN_OR_RETURN(s.name, r.String("name", 200));
  BF_ASSIGN_OR_RETURN(s.description, r.String("description", 4000));
  BF_ASSIGN_OR_RETURN(auto config, r.OptionalObject("config"));
  if (config) s.config = config->object();
  BF_ASSIGN_OR_RETURN(const json::array* steps, r.Array("steps", 1, 1000));
  for (size_t i = 0; i < steps->size(); ++i) {
    std::string path = fmt::format("steps[{}]", i);
    BF_ASSIGN_OR_RETURN(JsonObjectReader step, JsonObjectReader::Of((*steps)[i], path));
    BF_ASSIGN_OR_RETURN(std::string action, step.String("do", 32));
    auto keys = kActionKeys.find(action);
    if (keys == kActionKeys.end()) {
      std::vector<std::string> names;
      for (const auto& [name, unused] : kActionKeys) names.push_back(name);
      return InvalidArgument(
          "bad_scenario", fmt::format("unknown action '{}' ({})", action, fmt::join(names, ", ")),
          path + ".do");
    }
    std::vector<std::string> known = kCommonKeys;
    known.insert(known.end(), keys->second.begin(), keys->second.end());
    BF_TRY(CheckKeys(step.object(), known, path));
    if (step.Has("expect_status") && !step.Has("expect_error")) {
      return InvalidArgument("bad_scenario", "expect_status goes with expect_error", path);
    }
    s.steps.push_back(Step{action, step.object(), path});
  }
  return s;
}

Result<Scenario> ParseScenarioText(std::string_view text) {
  BF_ASSIGN_OR_RETURN(json::value doc, ParseJson(text));
  return ParseScenario(doc);
}

// --- Running ---------------------------------------------------------------------------------

const std::map<std::string, Actor>& Actors() {
  static const std::map<std::string, Actor> actors = {
      {"fwd-a", Actor{"U-FWD-A", "fwd-a", Role::kForwarder, "COMPANY-A"}},
      {"fwd-b", Actor{"U-FWD-B", "fwd-b", Role::kForwarder, "COMPANY-B"}},
      {"operator", Actor{"U-OPERATOR", "operator", Role::kGateOperator, ""}},
      {"customs", Actor{"U-CUSTOMS", "customs", Role::kCustomsOfficer, ""}},
      {"quarantine", Actor{"U-QUARANTINE", "quarantine", Role::kQuarantineOfficer, ""}},
      {"guard", Actor{"U-GUARD", "guard", Role::kBorderGuard, ""}},
      {"camera", Actor{"U-CAMERA", "camera", Role::kSensor, ""}},
      {"counterpart", Actor{"U-COUNTERPART", "counterpart", Role::kCounterpart, ""}},
      {"admin", Actor{"U-ADMIN", "admin", Role::kAdministrator, ""}},
      {"system", Actor::System()},
  };
  return actors;
}

struct Truck {
  std::string id;
  std::string plate;  // canonical
  std::string declared_by;
};

// One scenario run: its engine, store, clock and the trucks by alias. Failures are collected as
// text, so that the runner itself can be tested.
class Run {
 public:
  explicit Run(Scenario scenario) : scenario_(std::move(scenario)) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           fmt::format("borderflow-queue-scenario-{}-{}", getpid(), counter++);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Run() {
    engine_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<std::string> Execute() {
    auto config = ConfigWith(scenario_.config);
    if (!config) return {"config: " + config.error().ToString()};
    config_ = *config;
    auto store = SqliteStore::Open(SqliteOptions{(dir_ / "queue.db").string()}, hs_);
    if (!store) return {"store: " + store.error().ToString()};
    store_ = std::move(*store);
    StartEngine();
    for (const Step& step : scenario_.steps) {
      current_ = &step;
      Status s = RunStep(step);
      if (!s) {
        Fail(s.error().ToString());
        break;  // later steps depend on this one
      }
    }
    return failures_;
  }

 private:
  void StartEngine() {
    engine_.reset();
    engine_ = std::make_unique<Engine>(config_, hs_, *store_, clock_, random_,
                                       EngineOptions{.writer_thread = false});
  }

  void Fail(std::string what) {
    failures_.push_back(fmt::format("{} ({}): {}", current_->path, current_->action, what));
  }

  Result<Actor> ActorOf(const JsonObjectReader& r, std::string_view fallback) const {
    BF_ASSIGN_OR_RETURN(auto as, r.OptionalString("as", 32));
    std::string name = as.value_or(std::string(fallback));
    auto it = Actors().find(name);
    if (it == Actors().end()) {
      return InvalidArgument("bad_scenario", fmt::format("unknown user '{}'", name),
                             r.PathOf("as"));
    }
    return it->second;
  }

  Result<const Truck*> TruckOf(const JsonObjectReader& r, std::string_view key = "truck") const {
    BF_ASSIGN_OR_RETURN(std::string alias, r.String(key, 64));
    auto it = trucks_.find(alias);
    if (it == trucks_.end()) {
      return InvalidArgument("bad_scenario", fmt::format("no truck '{}' declared", alias),
                             r.PathOf(key));
    }
    return &it->second;
  }

  std::string AliasOf(std::string_view id) const {
    for (const auto& [alias, truck] : trucks_) {
      if (truck.id == id) return alias;
    }
    return fmt::format("<unknown {}>", id);
  }

  Result<Timestamp> TimeOf(const JsonObjectReader& r, std::string_view key) const {
    BF_ASSIGN_OR_RETURN(std::string text, r.String(key, 40));
    auto t = ParseTimestamp(text);
    if (!t) return t.error().Within(r.PathOf(key));
    return *t;
  }

  Command MakeCommand(const Actor& actor, CommandBody body) {
    std::string key = fmt::format("scenario-{}", ++keys_);
    return Command{actor, key, key, std::move(body)};
  }

  Result<Command> EventCommand(const Actor& actor, const Truck& truck, CrossingEventType type,
                               const json::value& data) {
    BF_ASSIGN_OR_RETURN(json::object decoded, DecodeEventData(type, data));
    return MakeCommand(actor, RecordCrossingEvent{truck.id, CrossingEvent{type, decoded}, {}});
  }

  Result<Command> DeclareCommand(const JsonObjectReader& r) {
    BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "fwd-a"));
    BF_ASSIGN_OR_RETURN(std::string plate, r.String("plate", 32));
    BF_ASSIGN_OR_RETURN(auto direction, r.OptionalString("direction", 32));
    BF_ASSIGN_OR_RETURN(auto lane_class, r.OptionalString("lane_class", 32));
    json::object body{
        {"direction", direction.value_or("VN-CN")},
        {"lane_class", lane_class.value_or("general_cargo")},
        {"vehicle", json::object{{"plate", plate}, {"container_number", "CSQU3054383"}}},
        {"driver",
         json::object{
             {"name", "Nguyen Van An"}, {"document_number", "B1234567"}, {"nationality", "VN"}}}};
    const LaneClass* lc = config_.FindLaneClass(lane_class.value_or("general_cargo"));
    if (lc == nullptr || !lc->empty) {
      body["lines"] = json::array{
          json::object{{"hs_code", "0810.60"},
                       {"description", "Fresh durian"},
                       {"packages", 800},
                       {"gross_weight_kg", 16000},
                       {"value", json::object{{"amount", "48000.00"}, {"currency", "USD"}}},
                       {"origin_country", "VN"}}};
    } else {
      body["lines"] = json::array();
    }
    for (std::string_view key : {"freshness_deadline", "declaration_valid_until"}) {
      BF_ASSIGN_OR_RETURN(auto t, r.OptionalString(key, 40));
      if (t) body[key] = *t;
    }
    BF_ASSIGN_OR_RETURN(Declaration d, DecodeDeclaration(body, *hs_));
    return MakeCommand(actor, DeclareCrossing{std::move(d)});
  }

  // Everything a refused step must leave as it was.
  struct Snapshot {
    int64_t audit = 0;
    std::map<std::string, std::pair<int64_t, std::string>> trucks;  // alias -> (version, state)
    size_t pending_reads = 0;
    size_t records = 0;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot Take() {
    Snapshot s;
    auto audit = store_->ReadAudit(0, 1'000'000);
    s.audit = audit ? static_cast<int64_t>(audit->size()) : -1;
    for (const auto& [alias, truck] : trucks_) {
      auto c = store_->GetCrossing(truck.id);
      if (c && *c) {
        s.trucks[alias] = {(*c)->version, std::string(CrossingStateName((*c)->state))};
      }
    }
    auto reads = engine_->PlateReadsView(Actors().at("operator"));
    if (reads) s.pending_reads = reads->at("items").as_array().size();
    for (std::string_view kind :
         {"capacity_change", "ban", "strike", "plate_read", "lane", "setting"}) {
      auto records = store_->ListRecords(kind);
      if (records) s.records += records->size();
    }
    return s;
  }

  Status RunStep(const Step& step) {
    JsonObjectReader r(step.raw, step.path);
    if (r.Has("at")) {
      BF_ASSIGN_OR_RETURN(Timestamp at, TimeOf(r, "at"));
      if (at < clock_.Now()) {
        return InvalidArgument("bad_scenario", "'at' goes back in time", r.PathOf("at"));
      }
      clock_.Set(at);
    }
    const std::string& a = step.action;
    if (a == "advance") {
      BF_ASSIGN_OR_RETURN(int64_t minutes, r.Int("minutes", 0, 60 * 24 * 60));
      clock_.Advance(std::chrono::minutes(minutes));
      return {};
    }
    if (a == "restart") {
      StartEngine();
      return Check(r, nullptr);
    }
    Command command;
    std::string declared_alias;
    if (a == "declare") {
      BF_ASSIGN_OR_RETURN(declared_alias, r.String("truck", 64));
      if (trucks_.contains(declared_alias)) {
        return InvalidArgument("bad_scenario", "truck declared twice", r.PathOf("truck"));
      }
      BF_ASSIGN_OR_RETURN(command, DeclareCommand(r));
    } else if (a == "assess") {
      BF_ASSIGN_OR_RETURN(const Truck* truck, TruckOf(r));
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "customs"));
      BF_ASSIGN_OR_RETURN(auto channel, r.OptionalString("channel", 16));
      BF_ASSIGN_OR_RETURN(command,
                          EventCommand(actor, *truck, CrossingEventType::kAssess,
                                       json::object{{"channel", channel.value_or("green")}}));
    } else if (a == "book") {
      BF_ASSIGN_OR_RETURN(const Truck* truck, TruckOf(r));
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, truck->declared_by));
      json::object data;
      BF_ASSIGN_OR_RETURN(auto slot, r.OptionalString("slot", 40));
      if (slot) data["slot"] = *slot;
      BF_ASSIGN_OR_RETURN(command, EventCommand(actor, *truck, CrossingEventType::kBook, data));
    } else if (a == "event") {
      BF_ASSIGN_OR_RETURN(const Truck* truck, TruckOf(r));
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "operator"));
      BF_ASSIGN_OR_RETURN(std::string name, r.String("event", 32));
      BF_ASSIGN_OR_RETURN(CrossingEventType type, ParseCrossingEventType(name));
      const json::value* data = r.object().if_contains("data");
      BF_ASSIGN_OR_RETURN(command,
                          EventCommand(actor, *truck, type, data ? *data : json::object()));
    } else if (a == "tick") {
      command = Command{Actor::System(), "", "", QueueTick{}};
    } else if (a == "call_next") {
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "operator"));
      BF_ASSIGN_OR_RETURN(std::string direction, r.String("direction", 32));
      BF_ASSIGN_OR_RETURN(std::string lane_class, r.String("lane_class", 32));
      command = MakeCommand(actor, CallNext{direction, lane_class});
    } else if (a == "capacity") {
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "operator"));
      const json::value* change = r.object().if_contains("change");
      if (change == nullptr) {
        return InvalidArgument("bad_scenario", "'change' is required", r.PathOf("change"));
      }
      auto decoded = DecodeCapacityChange(*change);
      if (!decoded) return decoded.error().Within(r.PathOf("change"));
      command = MakeCommand(actor, ChangeCapacity{*decoded});
    } else if (a == "policy") {
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "operator"));
      BF_ASSIGN_OR_RETURN(std::string policy, r.String("policy", 16));
      command = MakeCommand(actor, SetQueuePolicy{policy});
    } else if (a == "plate_read") {
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "camera"));
      SubmitPlateRead read;
      BF_ASSIGN_OR_RETURN(read.location, r.String("location", 32));
      BF_ASSIGN_OR_RETURN(read.text, r.String("text", 64));
      BF_ASSIGN_OR_RETURN(auto camera, r.OptionalString("camera", 64));
      read.camera = camera.value_or("cam-1");
      if (r.Has("confidence")) {
        // Any number: the engine's own validation is under test.
        BF_ASSIGN_OR_RETURN(read.confidence, r.Number("confidence", -1e9, 1e9));
      }
      command = MakeCommand(actor, read);
    } else if (a == "resolve_read") {
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "operator"));
      BF_ASSIGN_OR_RETURN(std::string name, r.String("read", 64));
      auto read = reads_.find(name);
      if (read == reads_.end()) {
        return InvalidArgument("bad_scenario", fmt::format("no plate read named '{}'", name),
                               r.PathOf("read"));
      }
      ResolvePlateRead resolve{read->second, "", "scenario"};
      if (r.Has("truck")) {
        BF_ASSIGN_OR_RETURN(const Truck* truck, TruckOf(r));
        resolve.crossing_id = truck->id;
      }
      command = MakeCommand(actor, resolve);
    } else if (a == "ban") {
      BF_ASSIGN_OR_RETURN(const Truck* truck, TruckOf(r));
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, "operator"));
      BF_ASSIGN_OR_RETURN(int64_t days, r.Int("days", -1000, 1000));
      BF_ASSIGN_OR_RETURN(auto reason, r.OptionalString("reason", 1000));
      command =
          MakeCommand(actor, SetBan{truck->plate, static_cast<int>(days), reason.value_or("")});
    } else if (a == "driver") {
      BF_ASSIGN_OR_RETURN(const Truck* truck, TruckOf(r));
      BF_ASSIGN_OR_RETURN(Actor actor, ActorOf(r, truck->declared_by));
      BF_ASSIGN_OR_RETURN(JsonObjectReader driver, r.Object("driver"));
      BF_ASSIGN_OR_RETURN(Driver decoded, DecodeDriver(driver));
      command = MakeCommand(actor, UpdateDriver{truck->id, decoded, {}});
    } else {
      return InvalidArgument("bad_scenario", "unknown action", step.path);
    }

    Snapshot before = Take();
    Result<CommandResult> result = engine_->Execute(std::move(command));
    BF_ASSIGN_OR_RETURN(auto expect_error, r.OptionalString("expect_error", 64));
    if (expect_error) {
      if (result) {
        Fail(fmt::format("accepted; expected error {}: {}", *expect_error,
                         ToJsonText(result->Json())));
        return {};
      }
      if (result.error().code != *expect_error) {
        Fail(fmt::format("error {}, expected {}", result.error().ToString(), *expect_error));
      }
      BF_ASSIGN_OR_RETURN(auto status, r.OptionalInt("expect_status", 100, 599));
      if (status && HttpStatusFor(result.error().kind) != *status) {
        Fail(fmt::format("status {}, expected {}", HttpStatusFor(result.error().kind), *status));
      }
      BF_ASSIGN_OR_RETURN(auto contains, r.OptionalString("expect_message_contains", 1000));
      if (contains && result.error().message.find(*contains) == std::string::npos) {
        Fail(fmt::format("message '{}' lacks '{}'", result.error().message, *contains));
      }
      if (!(Take() == before)) Fail("a refused step changed something");
      return Check(r, nullptr);
    }
    if (!result) return result.error();
    if (a == "declare") {
      const Crossing& c = *result->crossing;
      BF_ASSIGN_OR_RETURN(auto as, r.OptionalString("as", 32));
      trucks_[declared_alias] =
          Truck{c.id, c.declaration.vehicle.plate.canonical, as.value_or("fwd-a")};
    }
    if (a == "plate_read" && r.Has("name")) {
      const json::object body = result->Json();
      const json::value* read = body.if_contains("read");
      if (read == nullptr) {
        Fail("the read was applied: nothing to name: " + ToJsonText(body));
      } else {
        reads_[std::string(r.String("name", 64).value())] = std::string(read->at("id").as_string());
      }
    }
    return Check(r, &*result);
  }

  // --- expectations --------------------------------------------------------------------------

  Status Check(const JsonObjectReader& r, const CommandResult* result) {
    const json::object body = result ? result->Json() : json::object();
    auto require_result = [&](std::string_view key) -> Status {
      if (result == nullptr) {
        return InvalidArgument("bad_scenario", "this expectation needs a successful command",
                               r.PathOf(key));
      }
      return {};
    };
    if (r.Has("expect_state")) {
      BF_ASSIGN_OR_RETURN(JsonObjectReader states, r.Object("expect_state"));
      for (const auto& kv : states.object()) {
        auto it = trucks_.find(std::string(kv.key()));
        if (it == trucks_.end() || !kv.value().is_string()) {
          return InvalidArgument("bad_scenario", "unknown truck or not a state name",
                                 states.PathOf(kv.key()));
        }
        auto c = store_->GetCrossing(it->second.id);
        std::string got = c && *c ? std::string(CrossingStateName((*c)->state)) : "<missing>";
        if (got != kv.value().get_string()) {
          Fail(fmt::format("{} is {}, expected {}", std::string_view(kv.key()), got,
                           std::string_view(kv.value().get_string())));
        }
      }
    }
    if (r.Has("expect_booked")) {
      BF_ASSIGN_OR_RETURN(JsonObjectReader booked, r.Object("expect_booked"));
      for (const auto& kv : booked.object()) {
        auto it = trucks_.find(std::string(kv.key()));
        if (it == trucks_.end()) {
          return InvalidArgument("bad_scenario", "unknown truck", booked.PathOf(kv.key()));
        }
        auto c = store_->GetCrossing(it->second.id);
        std::string got =
            c && *c && (*c)->queue.booked_bucket ? FormatUtc(*(*c)->queue.booked_bucket) : "none";
        std::string want = "none";
        if (!kv.value().is_null()) {
          BF_ASSIGN_OR_RETURN(Timestamp t, TimeOf(booked, kv.key()));
          want = FormatUtc(t);
        }
        if (got != want) {
          Fail(fmt::format("{} booked {}, expected {}", std::string_view(kv.key()), got, want));
        }
      }
    }
    if (r.Has("expect_last_event")) BF_TRY(CheckLastEvents(r));
    if (r.Has("expect_called")) {
      BF_TRY(require_result("expect_called"));
      BF_ASSIGN_OR_RETURN(const json::array* want, r.Array("expect_called", 0, 1000));
      std::vector<std::string> got_list, want_list;
      if (const json::value* called = body.if_contains("called"); called && called->is_array()) {
        for (const auto& c : called->as_array()) {
          got_list.push_back(fmt::format("{}:{}", AliasOf(c.at("crossing_id").as_string()),
                                         std::string_view(c.at("reason").as_string())));
        }
      } else if (called && called->is_string()) {  // call_next
        got_list.push_back(fmt::format("{}:{}", AliasOf(called->as_string()),
                                       std::string_view(body.at("reason").as_string())));
      }
      for (const auto& w : *want) {
        BF_ASSIGN_OR_RETURN(JsonObjectReader call, JsonObjectReader::Of(w, "expect_called[]"));
        BF_TRY(call.RejectUnknown({"truck", "reason"}));
        BF_ASSIGN_OR_RETURN(std::string truck, call.String("truck", 64));
        BF_ASSIGN_OR_RETURN(std::string reason, call.String("reason", 64));
        want_list.push_back(truck + ":" + reason);
      }
      if (got_list != want_list) {
        Fail(fmt::format("called [{}], expected [{}]", fmt::join(got_list, ", "),
                         fmt::join(want_list, ", ")));
      }
    }
    for (std::string_view key : {"expect_requeued", "expect_lapsed"}) {
      if (!r.Has(key)) continue;
      BF_TRY(require_result(key));
      std::string field = key == "expect_requeued" ? "requeued" : "lapsed_bookings";
      BF_ASSIGN_OR_RETURN(std::vector<std::string> want, Aliases(r, key));
      std::vector<std::string> got;
      if (const json::value* ids = body.if_contains(field); ids && ids->is_array()) {
        for (const auto& id : ids->as_array()) got.push_back(AliasOf(id.as_string()));
      }
      if (got != want) {
        Fail(fmt::format("{} [{}], expected [{}]", field, fmt::join(got, ", "),
                         fmt::join(want, ", ")));
      }
    }
    if (r.Has("expect_replan")) {
      BF_TRY(require_result("expect_replan"));
      BF_TRY(CheckReplan(r, body));
    }
    if (r.Has("expect_plan")) BF_TRY(CheckPlan(r));
    if (r.Has("expect_strikes") || r.Has("expect_banned")) BF_TRY(CheckBans(r));
    if (r.Has("expect_pending_reads")) {
      BF_ASSIGN_OR_RETURN(int64_t want, r.Int("expect_pending_reads", 0, 1000));
      BF_ASSIGN_OR_RETURN(json::object view, engine_->PlateReadsView(Actors().at("operator")));
      auto got = static_cast<int64_t>(view.at("items").as_array().size());
      if (got != want) Fail(fmt::format("{} pending reads, expected {}", got, want));
    }
    if (r.Has("expect_outcome")) {
      BF_TRY(require_result("expect_outcome"));
      BF_ASSIGN_OR_RETURN(std::string want, r.String("expect_outcome", 32));
      const json::value* got = body.if_contains("outcome");
      if (got == nullptr || !got->is_string() || got->get_string() != want) {
        Fail(fmt::format("outcome {}, expected {}", got ? json::serialize(*got) : "none", want));
      }
    }
    if (r.Has("expect_truck")) {
      BF_TRY(require_result("expect_truck"));
      BF_ASSIGN_OR_RETURN(std::string want, r.String("expect_truck", 64));
      std::string got = "none";
      for (std::string_view key : {"crossing_id", "called"}) {
        const json::value* id = body.if_contains(key);
        if (id && id->is_string()) got = AliasOf(id->get_string());
      }
      if (got != want) Fail(fmt::format("truck {}, expected {}", got, want));
    }
    if (r.Has("expect_reason_contains")) {
      BF_TRY(require_result("expect_reason_contains"));
      BF_ASSIGN_OR_RETURN(std::string want, r.String("expect_reason_contains", 200));
      const json::value* got = body.if_contains("reason");
      std::string text = got && got->is_string() ? std::string(got->get_string()) : "";
      if (text.find(want) == std::string::npos) {
        Fail(fmt::format("reason '{}' lacks '{}'", text, want));
      }
    }
    return {};
  }

  Result<std::vector<std::string>> Aliases(const JsonObjectReader& r, std::string_view key) const {
    BF_ASSIGN_OR_RETURN(const json::array* list, r.Array(key, 0, 1000));
    std::vector<std::string> out;
    for (const auto& v : *list) {
      if (!v.is_string() || !trucks_.contains(std::string(v.get_string()))) {
        return InvalidArgument("bad_scenario", "must list declared trucks", r.PathOf(key));
      }
      out.emplace_back(v.get_string());
    }
    return out;
  }

  // {"changed_count": n, "changed": [aliases, any order], "unplanned": [aliases now unplanned]}
  Status CheckReplan(const JsonObjectReader& r, const json::object& body) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader want, r.Object("expect_replan"));
    BF_TRY(want.RejectUnknown({"changed_count", "changed", "unplanned"}));
    const json::value* replan = body.if_contains("replan");
    if (replan == nullptr) {
      Fail("no replan in the result: " + ToJsonText(body));
      return {};
    }
    const json::object& got = replan->as_object();
    if (want.Has("changed_count")) {
      BF_ASSIGN_OR_RETURN(int64_t n, want.Int("changed_count", 0, 100000));
      if (got.at("changed_count").to_number<int64_t>() != n) {
        Fail(fmt::format("replan changed {}, expected {}: {}",
                         json::serialize(got.at("changed_count")), n, ToJsonText(got)));
      }
    }
    std::vector<std::string> changed, unplanned;
    for (const auto& entry : got.at("changed").as_array()) {
      std::string alias = AliasOf(entry.at("crossing_id").as_string());
      changed.push_back(alias);
      if (entry.at("to").is_null()) unplanned.push_back(alias);
    }
    std::sort(changed.begin(), changed.end());
    std::sort(unplanned.begin(), unplanned.end());
    for (auto [key, list] :
         {std::pair<std::string_view, std::vector<std::string>*>{"changed", &changed},
          {"unplanned", &unplanned}}) {
      if (!want.Has(key)) continue;
      BF_ASSIGN_OR_RETURN(std::vector<std::string> expected, Aliases(want, key));
      std::sort(expected.begin(), expected.end());
      if (*list != expected) {
        Fail(fmt::format("replan {} [{}], expected [{}]", key, fmt::join(*list, ", "),
                         fmt::join(expected, ", ")));
      }
    }
    return {};
  }

  // {"direction", "lane_class", "calls": [{"truck", "reason"?, "bucket"?, "at"?}],
  //  "unplanned": [{"truck", "reason"}]}: the lane's plan as the queue view shows it now, exactly.
  Status CheckPlan(const JsonObjectReader& r) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader want, r.Object("expect_plan"));
    BF_TRY(want.RejectUnknown({"direction", "lane_class", "calls", "unplanned"}));
    BF_ASSIGN_OR_RETURN(std::string direction, want.String("direction", 32));
    BF_ASSIGN_OR_RETURN(std::string lane_class, want.String("lane_class", 32));
    BF_ASSIGN_OR_RETURN(json::object view,
                        engine_->QueueView(Actors().at("operator"), direction, lane_class));
    const json::array& lanes = view.at("lanes").as_array();
    if (lanes.size() != 1) {
      Fail(fmt::format("{} lanes in the queue view of {} {}", lanes.size(), direction, lane_class));
      return {};
    }
    const json::object& lane = lanes[0].as_object();
    std::vector<std::string> got, expected;
    BF_ASSIGN_OR_RETURN(const json::array* calls, want.Array("calls", 0, 1000));
    const json::array& planned = lane.at("calls").as_array();
    for (size_t i = 0; i < calls->size(); ++i) {
      BF_ASSIGN_OR_RETURN(
          JsonObjectReader call,
          JsonObjectReader::Of((*calls)[i], want.PathOf("calls") + fmt::format("[{}]", i)));
      BF_TRY(call.RejectUnknown({"truck", "reason", "bucket", "at"}));
      BF_ASSIGN_OR_RETURN(std::string truck, call.String("truck", 64));
      std::string w = truck;
      std::string g;
      if (i < planned.size()) g = AliasOf(planned[i].at("crossing_id").as_string());
      BF_ASSIGN_OR_RETURN(auto reason, call.OptionalString("reason", 64));
      if (reason) {
        w += " " + *reason;
        if (i < planned.size()) g += " " + std::string(planned[i].at("reason").as_string());
      }
      for (std::string_view key : {"bucket", "at"}) {
        if (!call.Has(key)) continue;
        BF_ASSIGN_OR_RETURN(Timestamp t, TimeOf(call, key));
        w += fmt::format(" {}={}", key, FormatUtc(t));
        if (i < planned.size()) {
          std::string_view field = key == "bucket" ? "bucket" : "expected_call";
          auto at = ParseTimestamp(planned[i].at(field).as_string());
          g += fmt::format(" {}={}", key, at ? FormatUtc(*at) : "?");
        }
      }
      expected.push_back(w);
      if (i < planned.size()) got.push_back(g);
    }
    for (size_t i = calls->size(); i < planned.size(); ++i) {
      got.push_back(AliasOf(planned[i].at("crossing_id").as_string()) + " (extra)");
    }
    if (got != expected) {
      Fail(fmt::format("plan of {} {}:\n  got      [{}]\n  expected [{}]", direction, lane_class,
                       fmt::join(got, ", "), fmt::join(expected, ", ")));
    }
    if (want.Has("unplanned")) {
      BF_ASSIGN_OR_RETURN(const json::array* list, want.Array("unplanned", 0, 1000));
      std::vector<std::string> got_unplanned, want_unplanned;
      for (const auto& u : lane.at("unplanned").as_array()) {
        got_unplanned.push_back(fmt::format("{} {}", AliasOf(u.at("crossing_id").as_string()),
                                            std::string_view(u.at("reason").as_string())));
      }
      for (const auto& u : *list) {
        BF_ASSIGN_OR_RETURN(JsonObjectReader entry, JsonObjectReader::Of(u, "unplanned[]"));
        BF_ASSIGN_OR_RETURN(std::string truck, entry.String("truck", 64));
        BF_ASSIGN_OR_RETURN(std::string reason, entry.String("reason", 64));
        want_unplanned.push_back(truck + " " + reason);
      }
      if (got_unplanned != want_unplanned) {
        Fail(fmt::format("unplanned [{}], expected [{}]", fmt::join(got_unplanned, ", "),
                         fmt::join(want_unplanned, ", ")));
      }
    }
    return {};
  }

  // "expect_last_event": {alias: {"type": action, key: value...}}: the truck's latest audit
  // record has that action, and its body those top-level values.
  Status CheckLastEvents(const JsonObjectReader& r) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader want, r.Object("expect_last_event"));
    for (const auto& kv : want.object()) {
      auto it = trucks_.find(std::string(kv.key()));
      if (it == trucks_.end() || !kv.value().is_object()) {
        return InvalidArgument("bad_scenario", "unknown truck or not an object",
                               want.PathOf(kv.key()));
      }
      BF_ASSIGN_OR_RETURN(std::vector<AuditRecord> records,
                          store_->ListAuditFor("crossing", it->second.id, 1000));
      if (records.empty()) {
        Fail(fmt::format("{} has no audit records", std::string_view(kv.key())));
        continue;
      }
      const AuditRecord& last = records.back();
      BF_ASSIGN_OR_RETURN(json::value body, ParseJson(last.body));
      for (const auto& field : kv.value().get_object()) {
        std::string got = field.key() == "type" ? ToJsonText(json::value(last.action))
                          : body.is_object() && body.as_object().contains(field.key())
                              ? ToJsonText(body.as_object().at(field.key()))
                              : "<absent>";
        if (got != ToJsonText(field.value())) {
          Fail(fmt::format("{}'s last event has {} = {}, expected {}", std::string_view(kv.key()),
                           std::string_view(field.key()), got, ToJsonText(field.value())));
        }
      }
    }
    return {};
  }

  // "expect_strikes": {alias: strikes of its plate by its company}, "expect_banned": {alias:
  // whether its company may not book its plate}.
  Status CheckBans(const JsonObjectReader& r) {
    BF_ASSIGN_OR_RETURN(json::object view, engine_->BansView(Actors().at("operator")));
    auto text = [](const json::value& o, std::string_view key) {
      const json::value* v = o.as_object().if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    std::map<std::string, int> strikes;  // plate@company (BanKey)
    std::set<std::string> banned;        // plate (every company) or plate@company
    for (const auto& s : view.at("strikes").as_array()) {
      ++strikes[BanKey(text(s, "plate"), text(s, "company_id"))];
    }
    for (const auto& b : view.at("bans").as_array()) {
      banned.insert(BanKey(text(b, "plate"), text(b, "company_id")));
    }
    for (std::string_view key : {"expect_strikes", "expect_banned"}) {
      if (!r.Has(key)) continue;
      BF_ASSIGN_OR_RETURN(JsonObjectReader want, r.Object(key));
      for (const auto& kv : want.object()) {
        auto it = trucks_.find(std::string(kv.key()));
        if (it == trucks_.end()) {
          return InvalidArgument("bad_scenario", "unknown truck", want.PathOf(kv.key()));
        }
        const std::string& plate = it->second.plate;
        const std::string company = Actors().at(it->second.declared_by).company_id;
        const std::string own = BanKey(plate, company);
        if (key == "expect_strikes") {
          if (!kv.value().is_int64()) {
            return InvalidArgument("bad_scenario", "a number", want.PathOf(kv.key()));
          }
          if (strikes[own] != kv.value().get_int64()) {
            Fail(fmt::format("{} has {} strikes, expected {}", std::string_view(kv.key()),
                             strikes[own], kv.value().get_int64()));
          }
        } else {
          if (!kv.value().is_bool()) {
            return InvalidArgument("bad_scenario", "true or false", want.PathOf(kv.key()));
          }
          bool is_banned = banned.contains(plate) || banned.contains(own);
          if (is_banned != kv.value().get_bool()) {
            Fail(fmt::format("{} banned: {}, expected {}", std::string_view(kv.key()), is_banned,
                             kv.value().get_bool()));
          }
        }
      }
    }
    return {};
  }

  Scenario scenario_;
  fs::path dir_;
  GateConfig config_;
  std::shared_ptr<const HsNomenclature> hs_ = HsNomenclature::Hs2022();
  ManualClock clock_{*ParseTimestamp(kStart)};
  SeededRandom random_{11};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, Truck> trucks_;
  std::map<std::string, std::string> reads_;  // name -> plate read id
  std::vector<std::string> failures_;
  const Step* current_ = nullptr;
  int keys_ = 0;
};

std::vector<std::string> RunScenario(Scenario scenario) {
  return Run(std::move(scenario)).Execute();
}

Result<Scenario> LoadScenario(const std::string& file) {
  std::ifstream in(kScenarioDir / file, std::ios::binary);
  if (!in) return NotFound("scenario_not_found", "cannot open " + file);
  return ParseScenarioText(ReadText(kScenarioDir / file));
}

class QueueScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(QueueScenarioTest, Runs) {
  auto scenario = LoadScenario(GetParam());
  ASSERT_TRUE(scenario.has_value()) << GetParam() << ": " << scenario.error().ToString();
  RecordProperty("scenario", scenario->name);
  std::vector<std::string> failures = RunScenario(*scenario);
  EXPECT_TRUE(failures.empty()) << GetParam() << ":\n"
                                << fmt::format("{}", fmt::join(failures, "\n"));
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Queue, QueueScenarioTest, ::testing::ValuesIn(ScenarioFiles()), TestName);

// --- The runner's own checks must be able to fail ----------------------------------------------

constexpr std::string_view kSmallScenario = R"({
  "name": "n", "description": "d",
  "steps": [
    {"do": "declare", "truck": "t", "plate": "12C-123.45"},
    {"do": "assess", "truck": "t", "expect_state": {"t": "%STATE%"}},
    {"do": "book", "truck": "t", "slot": "%SLOT%", "expect_error": "%ERROR%"}
  ]
})";

std::string Small(std::string_view state, std::string_view slot, std::string_view error) {
  std::string text(kSmallScenario);
  auto replace = [&](std::string_view from, std::string_view to) {
    text.replace(text.find(from), from.size(), to);
  };
  replace("%STATE%", state);
  replace("%SLOT%", slot);
  replace("%ERROR%", error);
  return text;
}

TEST(QueueScenarioRunnerTest, PassesWhenExpectationsHold) {
  auto s = ParseScenarioText(Small("assessed", "2026-11-29T23:30:00+07:00", "slot_closed"));
  ASSERT_TRUE(s) << s.error().ToString();
  std::vector<std::string> failures = RunScenario(*s);
  EXPECT_TRUE(failures.empty()) << fmt::format("{}", fmt::join(failures, "\n"));
}

TEST(QueueScenarioRunnerTest, ReportsWrongExpectations) {
  auto wrong_state = ParseScenarioText(Small("booked", "2026-11-29T23:30:00+07:00", "slot_closed"));
  ASSERT_TRUE(wrong_state);
  std::vector<std::string> failures = RunScenario(*wrong_state);
  ASSERT_EQ(failures.size(), 1u) << fmt::format("{}", fmt::join(failures, "\n"));
  EXPECT_EQ(failures[0], "steps[1] (assess): t is assessed, expected booked");

  auto wrong_error = ParseScenarioText(Small("assessed", "2026-11-29T23:30:00+07:00", "slot_full"));
  ASSERT_TRUE(wrong_error);
  failures = RunScenario(*wrong_error);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_TRUE(failures[0].starts_with("steps[2] (book): error slot_closed")) << failures[0];

  // An accepted step where an error was expected.
  auto accepted = ParseScenarioText(Small("assessed", "2026-11-29T10:00:00+07:00", "slot_closed"));
  ASSERT_TRUE(accepted);
  failures = RunScenario(*accepted);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_TRUE(failures[0].starts_with("steps[2] (book): accepted; expected error slot_closed"))
      << failures[0];
}

TEST(QueueScenarioRunnerTest, MalformedScenariosAreRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name":"n","description":"d","steps":[]})", "steps"},
      {R"({"name":"n","description":"d","steps":[{"do":"teleport"}]})", "steps[0].do"},
      {R"({"name":"n","description":"d","steps":[{"do":"tick","expect_calls":[]}]})",
       "steps[0].expect_calls"},
      {R"({"name":"n","description":"d","steps":[{"do":"tick","slot":"x"}]})", "steps[0].slot"},
      {R"({"name":"n","description":"d","steps":[{"do":"tick","expect_status":409}]})", "steps[0]"},
      {R"({"name":"n","description":"d","confg":{},"steps":[{"do":"tick"}]})", "confg"},
  };
  for (const auto& [text, field] : cases) {
    auto s = ParseScenarioText(text);
    ASSERT_FALSE(s.has_value()) << text;
    EXPECT_EQ(s.error().field, field) << text << ": " << s.error().ToString();
  }
  // Errors found while running: an unknown truck, a bad configuration override.
  auto unknown_truck =
      ParseScenarioText(R"({"name":"n","description":"d","steps":[{"do":"book","truck":"x"}]})");
  ASSERT_TRUE(unknown_truck);
  std::vector<std::string> failures = RunScenario(*unknown_truck);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("no truck 'x' declared"), std::string::npos) << failures[0];
  auto bad_config = ParseScenarioText(
      R"({"name":"n","description":"d","config":{"queue":{"policy":"lottery"}},
          "steps":[{"do":"tick"}]})");
  ASSERT_TRUE(bad_config);
  failures = RunScenario(*bad_config);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_TRUE(failures[0].starts_with("config:")) << failures[0];
}

TEST(QueueScenarioRunnerTest, ConfigOverridesReachTheEngine) {
  auto config = ConfigWith(json::parse(R"({"queue": {"policy": "fifo", "strikes_for_ban": 3,
      "service_minutes": {"general_cargo": 15}}, "node": {"staging_yard_capacity": 7},
      "lanes": {"VN-CN": {"general_cargo": 1}}})")
                               .as_object());
  ASSERT_TRUE(config) << config.error().ToString();
  EXPECT_EQ(config->queue.policy, "fifo");
  EXPECT_EQ(config->queue.strikes_for_ban, 3);
  EXPECT_EQ(config->queue.ServiceTime("general_cargo"), std::chrono::minutes(15));
  EXPECT_EQ(config->staging_yard_capacity, 7);
  EXPECT_EQ(config->FindDirection("VN-CN")->lanes.at("general_cargo"), 1);
  EXPECT_EQ(config->FindDirection("VN-CN")->lanes.at("fresh_produce"), 4);  // merged, not replaced
  EXPECT_EQ(config->FindDirection("CN-VN")->lanes.at("general_cargo"), 3);
}

TEST(QueueScenarioSuiteTest, FolderHasTheRequiredScenarios) {
  std::set<std::string> actions;
  std::set<std::string> names;
  for (const std::string& file : ScenarioFiles()) {
    auto s = LoadScenario(file);
    ASSERT_TRUE(s.has_value()) << file << ": " << s.error().ToString();
    EXPECT_TRUE(names.insert(s->name).second) << "duplicate scenario name in " << file;
    for (const Step& step : s->steps) actions.insert(step.action);
  }
  EXPECT_GE(ScenarioFiles().size(), 8u) << kScenarioDir;
  for (const auto& [action, keys] : kActionKeys) {
    EXPECT_TRUE(actions.contains(action)) << "no scenario uses '" << action << "'";
  }
}

}  // namespace
}  // namespace borderflow

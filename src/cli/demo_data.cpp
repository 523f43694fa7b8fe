#include "demo_data.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include <borderflow/core/clock.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/net/http_client.h>

namespace borderflow::cli {

namespace json = boost::json;

namespace {

struct DemoCrossing {
  const char* company;  // forwarder user name
  const char* direction;
  const char* lane_class;
  const char* plate;
  const char* driver;
  const char* nationality;
  const char* hs_code;
  const char* goods;
  int packages;
  double kg;
  const char* value;
  const char* origin;
  int fresh_hours;  // 0: not perishable
  int steps;        // how far along kGreenPath the crossing has gone
};

// The path of a crossing through the gate, and the demo user who sends each event ("forwarder"
// is the crossing's own forwarder).
constexpr std::pair<const char*, const char*> kGreenPath[] = {
    {"assess", "customs"},        {"book", "forwarder"},       {"enter_yard", "camera-yard"},
    {"call_forward", "operator"}, {"arrive_at_gate", "guard"}, {"check_documents", "customs"},
    {"release", "customs"},       {"cross", "guard"},
};

json::value DeclarationBody(const DemoCrossing& d, int n, Timestamp now) {
  json::object body{{"direction", d.direction},
                    {"lane_class", d.lane_class},
                    {"vehicle", json::object{{"plate", d.plate}}},
                    {"driver", json::object{{"name", d.driver},
                                            {"document_number", fmt::format("B{:07d}", 4711 + n)},
                                            {"nationality", d.nationality}}}};
  if (d.hs_code != nullptr) {
    body["lines"] =
        json::array{json::object{{"hs_code", d.hs_code},
                                 {"description", d.goods},
                                 {"packages", d.packages},
                                 {"gross_weight_kg", d.kg},
                                 {"value", json::object{{"amount", d.value}, {"currency", "USD"}}},
                                 {"origin_country", d.origin}}};
    body["documents"] = json::object{{"customs_declaration", "30612345678"}};
  }
  if (d.fresh_hours > 0) {
    body["freshness_deadline"] = FormatUtc(now + std::chrono::hours(d.fresh_hours));
    body["documents"].as_object()["phytosanitary_certificate"] = "VN-PC-2026-001234";
  }
  return body;
}

json::object EventData(std::string_view event) {
  if (event == "assess") return {{"channel", "yellow"}};
  if (event == "check_documents") return {{"outcome", "ok"}};
  if (event == "record_inspection") return {{"outcome", "no_finding"}};
  return {};
}

}  // namespace

Result<std::vector<DemoUser>> SeedDemo(Engine& engine, bool with_crossings) {
  Actor admin{"cli", "demo", Role::kAdministrator, ""};
  std::vector<DemoUser> users = {
      {"admin", "administrator", "", ""},
      {"an.fruitco", "forwarder", "FRUITCO", ""},
      {"li.nanning", "forwarder", "NANNING-TRADE", ""},
      {"operator", "gate_operator", "", ""},
      {"customs", "customs_officer", "", ""},
      {"quarantine", "quarantine_officer", "", ""},
      {"guard", "border_guard", "", ""},
      {"camera-yard", "sensor", "", ""},
      // Nguyễn Văn An, who drives the first demo crossing (DeclarationBody, n = 1: B0004712).
      {"an.driver", "driver", "FRUITCO", "", "B0004712"},
  };
  std::map<std::string, Actor, std::less<>> actors;
  // `demo --keep` starts on the databases of an earlier demo: its users are there (only their
  // tokens are new: the old ones were shown once and are stored hashed), and so are its crossings.
  bool seeded_before = false;
  for (DemoUser& u : users) {
    BF_ASSIGN_OR_RETURN(Role role, ParseRole(u.role));
    Result<CommandResult> added = engine.Execute(
        Command{admin, "", "", AddUser{u.name, role, u.company_id, u.driver_document}});
    if (!added && added.error().code == "user_exists") {
      seeded_before = true;
    } else if (!added) {
      return added.error();
    } else {
      actors[u.name] = Actor{std::string(added->Json().at("id").as_string()), u.name, role,
                             u.company_id, u.driver_document};
    }
    BF_ASSIGN_OR_RETURN(CommandResult token,
                        engine.Execute(Command{admin, "", "", IssueApiToken{u.name, "demo", {}}}));
    u.token = std::string(token.Json().at("token").as_string());
  }

  if (!with_crossings || seeded_before) return users;
  // clang-format off
  const std::vector<DemoCrossing> crossings = {
      {"an.fruitco", "VN-CN", "fresh_produce", "12C-123.45", "Nguyễn Văn An", "VN", "081060", "Fresh durian", 800, 16000, "48000", "VN", 40, 0},
      {"an.fruitco", "VN-CN", "fresh_produce", "12H-045.67", "Trần Văn Bình", "VN", "081090", "Fresh dragon fruit", 1200, 18000, "21600", "VN", 30, 1},
      {"an.fruitco", "VN-CN", "fresh_produce", "14C-234.56", "Lê Thị Cúc", "VN", "081090", "Fresh jackfruit", 900, 17500, "12600", "VN", 48, 2},
      {"an.fruitco", "VN-CN", "fresh_produce", "24C-111.22", "Phạm Văn Dũng", "VN", "081060", "Fresh durian", 750, 15000, "45000", "VN", 36, 3},
      {"an.fruitco", "VN-CN", "fresh_produce", "12C-678.90", "Hoàng Văn Em", "VN", "080450", "Fresh mangoes", 1000, 16500, "15000", "VN", 60, 4},
      {"an.fruitco", "VN-CN", "general_cargo", "12C-345.67", "Vũ Văn Phúc", "VN", "030617", "Frozen shrimp", 1500, 20000, "90000", "VN", 0, 5},
      {"an.fruitco", "VN-CN", "general_cargo", "12C-1234", "Đỗ Văn Giang", "VN", "940360", "Wooden furniture", 120, 9000, "18000", "VN", 0, 7},
      {"an.fruitco", "VN-CN", "fresh_produce", "12C-222.33", "Bùi Văn Hải", "VN", "081060", "Fresh durian", 700, 14000, "42000", "VN", 30, 8},
      {"li.nanning", "CN-VN", "general_cargo", "桂F·12345", "王伟", "CN", "851713", "Smartphones", 400, 6000, "640000", "CN", 0, 1},
      {"li.nanning", "CN-VN", "general_cargo", "桂A·6B789", "李强", "CN", "850440", "Power supplies", 300, 7000, "85000", "CN", 0, 3},
      {"li.nanning", "CN-VN", "empty_return", "桂F·54321", "张磊", "CN", nullptr, nullptr, 0, 0, nullptr, nullptr, 0, 0},
  };
  // clang-format on
  Timestamp now = engine.clock().Now();
  int n = 0;
  for (const DemoCrossing& d : crossings) {
    ++n;
    BF_ASSIGN_OR_RETURN(Declaration decl,
                        DecodeDeclaration(DeclarationBody(d, n, now), engine.hs()));
    BF_ASSIGN_OR_RETURN(
        CommandResult declared,
        engine.Execute(Command{actors.at(d.company), fmt::format("demo-{}", n),
                               fmt::format("demo-{}", n), DeclareCrossing{std::move(decl)}}));
    std::string id(declared.Json().at("id").as_string());
    for (int step = 0; step < d.steps; ++step) {
      auto [event, user] = kGreenPath[step];
      BF_ASSIGN_OR_RETURN(CrossingEventType type, ParseCrossingEventType(event));
      std::string key = fmt::format("demo-{}-{}", n, step + 1);
      const Actor& actor = actors.at(std::string_view(user) == "forwarder" ? d.company : user);
      BF_TRY(engine.Execute(
          Command{actor, key, key,
                  RecordCrossingEvent{id, CrossingEvent{type, EventData(event)}, std::nullopt}}));
    }
  }
  return users;
}

namespace {

std::string TokenOf(const std::vector<DemoUser>& users, std::string_view name) {
  for (const DemoUser& u : users) {
    if (u.name == name) return u.token;
  }
  return "";
}

}  // namespace

Status DriveDemoCrossing(uint16_t vn_port, const std::vector<DemoUser>& vn_users, uint16_t cn_port,
                         const std::vector<DemoUser>& cn_users, const DemoDriveOptions& options,
                         const std::atomic<bool>& stop) {
  net::HttpClient vn("127.0.0.1", vn_port);
  net::HttpClient cn("127.0.0.1", cn_port);
  int key = 0;
  const int64_t run = ToUnixMillis(SystemClock().Now());
  auto call = [&](net::HttpClient& client, const std::vector<DemoUser>& users,
                  std::string_view user, std::string_view method, const std::string& target,
                  const std::string& body) -> Result<json::object> {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", "Bearer " + TokenOf(users, user)}};
    if (method == "POST") {
      headers.emplace_back("Content-Type", "application/json");
      // Per run: a kept demo (`demo --keep`) drives a new truck under new keys.
      headers.emplace_back("Idempotency-Key", fmt::format("demo-crossing-{}-{}", run, ++key));
    }
    BF_ASSIGN_OR_RETURN(net::HttpResponse r, client.Send(method, target, body, headers));
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    if (r.status >= 300 || !v.is_object()) {
      return Unavailable("demo_step_failed",
                         fmt::format("{} {}: {} {}", method, target, r.status, r.body));
    }
    return v.as_object();
  };
  auto wait = [&] {
    for (auto left = options.pause; left.count() > 0 && !stop;
         left -= std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(100)));
    }
    return !stop.load();
  };
  auto say = [&options](std::string_view text) {
    *options.out << "  [truck] " << text << "\n" << std::flush;
  };
  auto state_at = [&](net::HttpClient& client, const std::vector<DemoUser>& users,
                      const std::string& id) -> std::string {
    auto c = call(client, users, "operator", "GET", "/api/v1/crossings/" + id, "");
    return c ? std::string(c->at("state").as_string()) : std::string("(not there yet)");
  };
  // Waits (up to 30 s) for the crossing to reach `state` on a node: the link is asynchronous.
  auto await_state = [&](net::HttpClient& client, const std::vector<DemoUser>& users,
                         const std::string& id, std::string_view state) -> bool {
    for (int i = 0; i < 300 && !stop; ++i) {
      if (state_at(client, users, id) == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };

  Timestamp now = SystemClock().Now();
  DemoCrossing truck{
      "an.fruitco",   "VN-CN", "fresh_produce", "12C-888.88", "Ngô Văn Khoa", "VN", "081060",
      "Fresh durian", 800,     16000,           "48000",      "VN",           36,   0};
  json::object body = DeclarationBody(truck, 99, now).as_object();
  body["vehicle"].as_object()["seal_number"] = "VN-SEAL-8888";
  BF_ASSIGN_OR_RETURN(json::object declared, call(vn, vn_users, "an.fruitco", "POST",
                                                  "/api/v1/crossings", ToJsonText(body)));
  std::string id(declared.at("id").as_string());
  std::string events = "/api/v1/crossings/" + id + "/events";
  say(fmt::format("{} (12C-888.88, fresh durian) declared at Huu Nghi by FRUITCO", id));
  struct Step {
    const char* user;
    const char* event;
    const char* data;
    const char* text;
  };
  const std::vector<Step> vn_steps = {
      {"customs", "assess", R"({"channel":"red"})", "assessed red: physical inspection"},
      {"camera-yard", "enter_yard", "{}", "entered the staging yard"},
      {"operator", "call_forward", "{}", "called forward to the gate"},
      {"camera-yard", "arrive_at_gate", "{}", "at the Vietnamese gate"},
      {"customs", "start_inspection", "{}", "inspection started"},
      {"customs", "record_inspection", R"({"outcome":"no_finding"})", "inspected: no finding"},
      {"customs", "release", "{}", "released by Vietnamese customs"},
      {"guard", "cross", "{}", "crossed the zero line: handed over to Youyiguan"},
  };
  for (const Step& s : vn_steps) {
    if (!wait()) return {};
    if (std::string_view(s.event) == "start_inspection") {
      BF_TRY(call(vn, vn_users, "guard", "POST", "/api/v1/crossings/" + id + "/findings",
                  R"({"kind":"seal","seal":"intact"})"));
      say("seal VN-SEAL-8888 read intact at the gate");
    }
    if (options.before_step) options.before_step(s.event, id);
    Result<json::object> sent = call(vn, vn_users, s.user, "POST", events,
                                     fmt::format(R"({{"type":"{}","data":{}}})", s.event, s.data));
    if (!sent && std::string_view(s.event) == "call_forward" &&
        state_at(vn, vn_users, id) == "called") {
      // The queue timer called the truck first: the node does what the operator would.
      say("called forward to the gate by the queue");
      continue;
    }
    BF_TRY(sent);
    say(s.text);
    if (std::string_view(s.event) == "assess") {
      if (await_state(cn, cn_users, id, "expected")) {
        say("pre-announced: Youyiguan now expects the truck (signed pre-arrival notice)");
      }
    }
  }
  if (!await_state(vn, vn_users, id, "received")) {
    return Unavailable("demo_link", "the Chinese side did not confirm receipt in time");
  }
  say(fmt::format("Youyiguan: {} (the Vietnamese inspection was recognised, seal intact)",
                  state_at(cn, cn_users, id)));
  say("Huu Nghi: received (receipt from Youyiguan closes the crossing here)");
  if (!wait()) return {};
  BF_TRY(call(cn, cn_users, "customs", "POST", events, R"({"type":"release","data":{}})"));
  say("released by Chinese customs: closed on both sides");
  return {};
}

}  // namespace borderflow::cli

#include "demo_data.h"

#include <map>

#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>

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

Result<std::vector<DemoUser>> SeedDemo(Engine& engine) {
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
  };
  std::map<std::string, Actor, std::less<>> actors;
  for (DemoUser& u : users) {
    BF_ASSIGN_OR_RETURN(Role role, ParseRole(u.role));
    BF_ASSIGN_OR_RETURN(
        CommandResult added,
        engine.Execute(Command{admin, "", "", AddUser{u.name, role, u.company_id}}));
    BF_ASSIGN_OR_RETURN(CommandResult token,
                        engine.Execute(Command{admin, "", "", IssueApiToken{u.name, "demo", {}}}));
    u.token = std::string(token.body.at("token").as_string());
    actors[u.name] =
        Actor{std::string(added.body.at("id").as_string()), u.name, role, u.company_id};
  }

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
    std::string id(declared.body.at("id").as_string());
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

}  // namespace borderflow::cli

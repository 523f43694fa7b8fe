#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <borderflow/domain/gate_config.h>

namespace borderflow {
namespace {

Error ConfigError(std::string_view key, std::string message) {
  return InvalidArgument("invalid_config", fmt::format("{}: {}", key, message), std::string(key));
}

Result<std::string> RequiredString(const toml::table& t, std::string_view prefix,
                                   std::string_view key, size_t max_len = 200) {
  std::string path = prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
  auto v = t[key].value<std::string>();
  if (!v) return ConfigError(path, "is required and must be a string");
  if (v->empty() || v->size() > max_len) {
    return ConfigError(path, fmt::format("must have 1 to {} characters", max_len));
  }
  return *v;
}

Result<LocalizedText> ReadName(const toml::table& t, std::string_view prefix) {
  std::string path = fmt::format("{}.name", prefix);
  const toml::node* node = t.get("name");
  if (node == nullptr) return ConfigError(path, "is required");
  if (auto s = node->value<std::string>()) return LocalizedText{*s, *s, *s};
  const toml::table* names = node->as_table();
  if (names == nullptr) return ConfigError(path, "must be a string or a table {en, vi, zh}");
  LocalizedText text;
  BF_ASSIGN_OR_RETURN(text.en, RequiredString(*names, path, "en"));
  BF_ASSIGN_OR_RETURN(text.vi, RequiredString(*names, path, "vi"));
  BF_ASSIGN_OR_RETURN(text.zh, RequiredString(*names, path, "zh"));
  return text;
}

Result<GateSide> ReadSide(const toml::table& root, std::string_view key) {
  const toml::table* t = root[key].as_table();
  if (t == nullptr) return ConfigError(key, "section is required");
  GateSide side;
  BF_ASSIGN_OR_RETURN(side.node_id, RequiredString(*t, key, "id", 64));
  BF_ASSIGN_OR_RETURN(side.country, RequiredString(*t, key, "country", 2));
  if (side.country.size() != 2 || !std::isupper(static_cast<unsigned char>(side.country[0])) ||
      !std::isupper(static_cast<unsigned char>(side.country[1]))) {
    return ConfigError(fmt::format("{}.country", key), "must be an ISO 3166 alpha-2 code");
  }
  BF_ASSIGN_OR_RETURN(side.name, ReadName(*t, key));
  BF_ASSIGN_OR_RETURN(std::string offset, RequiredString(*t, key, "utc_offset", 10));
  auto parsed = ParseUtcOffset(offset);
  if (!parsed) return ConfigError(fmt::format("{}.utc_offset", key), parsed.error().message);
  side.utc_offset = *parsed;
  std::string open = t->get("open") ? (*t)["open"].value_or(std::string()) : "00:00";
  std::string close = t->get("close") ? (*t)["close"].value_or(std::string()) : "24:00";
  auto open_minute = ParseClockTime(open);
  if (!open_minute) return ConfigError(fmt::format("{}.open", key), open_minute.error().message);
  auto close_minute = ParseClockTime(close);
  if (!close_minute) {
    return ConfigError(fmt::format("{}.close", key), close_minute.error().message);
  }
  side.hours = OperatingHours{*open_minute, *close_minute};
  side.peer_url = (*t)["peer_url"].value_or(std::string());
  return side;
}

}  // namespace

bool GateSide::IsOpenAt(Timestamp t) const {
  int minute = LocalMinuteOfDay(t, utc_offset);
  if (hours.open_minute == hours.close_minute) return false;
  if (hours.open_minute < hours.close_minute) {
    return minute >= hours.open_minute && minute < hours.close_minute;
  }
  return minute >= hours.open_minute || minute < hours.close_minute;  // open over midnight
}

const Direction* GateConfig::FindDirection(std::string_view id) const {
  for (const auto& d : directions) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

const LaneClass* GateConfig::FindLaneClass(std::string_view id) const {
  for (const auto& c : lane_classes) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Result<GateConfig> ParseGateConfig(std::string_view toml_text) {
  // Debian's toml++ is built with exceptions: a syntax error is the library's only throw, and it
  // becomes a value here.
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& err) {
    return InvalidArgument(
        "invalid_config",
        fmt::format("TOML syntax error at line {}, column {}: {}", err.source().begin.line,
                    err.source().begin.column, err.description()));
  }
  GateConfig config;
  BF_ASSIGN_OR_RETURN(config.self, ReadSide(root, "node"));
  BF_ASSIGN_OR_RETURN(config.counterpart, ReadSide(root, "counterpart"));
  if (config.self.node_id == config.counterpart.node_id) {
    return ConfigError("counterpart.id", "must differ from node.id");
  }

  const toml::table* node = root["node"].as_table();
  auto yard = (*node)["staging_yard_capacity"].value<int64_t>();
  if (!yard || *yard < 0 || *yard > 100000) {
    return ConfigError("node.staging_yard_capacity", "is required, 0 to 100000");
  }
  config.staging_yard_capacity = static_cast<int>(*yard);
  auto validity = (*node)["declaration_validity_hours"].value_or<int64_t>(72);
  if (validity < 1 || validity > 24 * 30) {
    return ConfigError("node.declaration_validity_hours", "must be 1 to 720");
  }
  config.declaration_validity = std::chrono::hours(validity);

  const toml::array* classes = root["lane_classes"].as_array();
  if (classes == nullptr || classes->empty()) {
    return ConfigError("lane_classes", "at least one [[lane_classes]] is required");
  }
  std::set<std::string> class_ids;
  for (size_t i = 0; i < classes->size(); ++i) {
    std::string path = fmt::format("lane_classes[{}]", i);
    const toml::table* t = classes->get(i)->as_table();
    if (t == nullptr) return ConfigError(path, "must be a table");
    LaneClass lc;
    BF_ASSIGN_OR_RETURN(lc.id, RequiredString(*t, path, "id", 32));
    BF_ASSIGN_OR_RETURN(lc.name, ReadName(*t, path));
    lc.perishable = (*t)["perishable"].value_or(false);
    lc.empty = (*t)["empty"].value_or(false);
    if (!class_ids.insert(lc.id).second) {
      return ConfigError(path + ".id", fmt::format("duplicate lane class '{}'", lc.id));
    }
    config.lane_classes.push_back(std::move(lc));
  }

  const toml::array* directions = root["directions"].as_array();
  if (directions == nullptr || directions->empty()) {
    return ConfigError("directions", "at least one [[directions]] is required");
  }
  for (size_t i = 0; i < directions->size(); ++i) {
    std::string path = fmt::format("directions[{}]", i);
    const toml::table* t = directions->get(i)->as_table();
    if (t == nullptr) return ConfigError(path, "must be a table");
    Direction d;
    BF_ASSIGN_OR_RETURN(d.id, RequiredString(*t, path, "id", 32));
    BF_ASSIGN_OR_RETURN(d.from_country, RequiredString(*t, path, "from", 2));
    BF_ASSIGN_OR_RETURN(d.to_country, RequiredString(*t, path, "to", 2));
    auto is_pair_country = [&](const std::string& c) {
      return c == config.self.country || c == config.counterpart.country;
    };
    if (!is_pair_country(d.from_country) || !is_pair_country(d.to_country) ||
        d.from_country == d.to_country) {
      return ConfigError(path, "from and to must be the two countries of the pair");
    }
    const toml::table* lanes = (*t)["lanes"].as_table();
    if (lanes == nullptr) return ConfigError(path + ".lanes", "is required");
    for (const auto& [key, value] : *lanes) {
      std::string lane_path = fmt::format("{}.lanes.{}", path, key.str());
      if (!class_ids.contains(std::string(key.str()))) {
        return ConfigError(lane_path, "is not a lane class");
      }
      auto count = value.value<int64_t>();
      if (!count || *count < 0 || *count > 100) return ConfigError(lane_path, "must be 0 to 100");
      d.lanes[std::string(key.str())] = static_cast<int>(*count);
    }
    if (config.FindDirection(d.id) != nullptr) {
      return ConfigError(path + ".id", fmt::format("duplicate direction '{}'", d.id));
    }
    config.directions.push_back(std::move(d));
  }
  return config;
}

}  // namespace borderflow

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <borderflow/domain/gate_config.h>
#include <borderflow/domain/iso_codes.h>

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

Result<std::optional<Timestamp>> ReadOptionalTime(const toml::table& t, std::string_view path,
                                                  std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return std::optional<Timestamp>();
  std::string at = fmt::format("{}.{}", path, key);
  auto text = node->value<std::string>();
  if (!text) return ConfigError(at, "must be an RFC 3339 time string");
  auto parsed = ParseTimestamp(*text);
  if (!parsed) return ConfigError(at, parsed.error().message);
  return std::optional<Timestamp>(*parsed);
}

Status ReadPeerKeys(const toml::table& side_table, std::string_view key, GateSide& side) {
  const toml::node* node = side_table.get("keys");
  if (node == nullptr) return {};
  std::string path = fmt::format("{}.keys", key);
  const toml::array* list = node->as_array();
  if (list == nullptr) return ConfigError(path, "must be an array of tables [[...keys]]");
  if (list->size() > 16) return ConfigError(path, "at most 16 keys");
  for (size_t i = 0; i < list->size(); ++i) {
    std::string item = fmt::format("{}[{}]", path, i);
    const toml::table* t = list->get(i)->as_table();
    if (t == nullptr) return ConfigError(item, "must be a table");
    PinnedPeerKey k;
    BF_ASSIGN_OR_RETURN(k.id, RequiredString(*t, item, "id", 64));
    BF_ASSIGN_OR_RETURN(k.public_key, RequiredString(*t, item, "public_key", 64));
    BF_ASSIGN_OR_RETURN(k.not_before, ReadOptionalTime(*t, item, "not_before"));
    BF_ASSIGN_OR_RETURN(k.not_after, ReadOptionalTime(*t, item, "not_after"));
    if (k.not_before && k.not_after && *k.not_after <= *k.not_before) {
      return ConfigError(item + ".not_after", "must be after not_before");
    }
    side.keys.push_back(std::move(k));
  }
  return {};
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
  BF_TRY(ReadPeerKeys(*t, key, side));
  if (const toml::node* holidays = t->get("holidays")) {
    const toml::array* list = holidays->as_array();
    if (list == nullptr) return ConfigError(fmt::format("{}.holidays", key), "must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      std::string path = fmt::format("{}.holidays[{}]", key, i);
      auto text = list->get(i)->value<std::string>();
      if (!text) return ConfigError(path, "must be a date \"YYYY-MM-DD\"");
      auto day = ParseDate(*text);
      if (!day) return ConfigError(path, day.error().message);
      side.holidays.push_back(*day);
    }
    std::sort(side.holidays.begin(), side.holidays.end());
  }
  return side;
}

Result<Duration> ReadMinutes(const toml::table& t, std::string_view key, int64_t min, int64_t max,
                             Duration fallback, int64_t unit_minutes = 1) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return fallback;
  auto v = node->value<int64_t>();
  if (!v || *v < min || *v > max) {
    return ConfigError(fmt::format("queue.{}", key), fmt::format("must be {} to {}", min, max));
  }
  return std::chrono::minutes(*v * unit_minutes);
}

Result<int> ReadInt(const toml::table& t, std::string_view prefix, std::string_view key,
                    int64_t min, int64_t max, int fallback) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return fallback;
  auto v = node->value<int64_t>();
  if (!v || *v < min || *v > max) {
    return ConfigError(fmt::format("{}.{}", prefix, key),
                       fmt::format("must be {} to {}", min, max));
  }
  return static_cast<int>(*v);
}

Status ReadRules(const toml::table& root, GateConfig& config) {
  const toml::table* t = root["rules"].as_table();
  if (root.get("rules") != nullptr && t == nullptr) return ConfigError("rules", "must be a table");
  if (t == nullptr) return {};
  BF_ASSIGN_OR_RETURN(config.rules.red_per_day,
                      ReadInt(*t, "rules", "red_per_day", 0, 1000000, config.rules.red_per_day));
  if (const toml::node* rates = t->get("usd_per_unit")) {
    const toml::table* table = rates->as_table();
    if (table == nullptr) {
      return ConfigError("rules.usd_per_unit", "must be a table such as { CNY = 0.14 }");
    }
    for (const auto& [key, value] : *table) {
      const std::string currency(key.str());
      const std::string where = fmt::format("rules.usd_per_unit.{}", currency);
      if (!IsIsoCurrency(currency) || currency == "USD") {
        return ConfigError(where, "must be an ISO 4217 currency code other than USD");
      }
      std::optional<double> rate = value.value<double>();
      if (!rate || !std::isfinite(*rate) || *rate <= 0 || *rate > 1e6) {
        return ConfigError(where, "must be a positive number of USD per unit");
      }
      config.rules.usd_per_unit.emplace(currency, *rate);
    }
  }
  return {};
}

Status ReadLink(const toml::table& root, GateConfig& config) {
  const toml::node* node = root.get("link");
  if (node == nullptr) return {};
  const toml::table* t = node->as_table();
  if (t == nullptr) return ConfigError("link", "must be a table");
  LinkSettings& l = config.link;
  l.enabled = true;
  static const std::set<std::string, std::less<>> kKnown = {"key_file",
                                                            "next_key_file",
                                                            "next_key_from",
                                                            "listen",
                                                            "tls_certificate_file",
                                                            "tls_private_key_file",
                                                            "peer_ca_file",
                                                            "max_clock_skew_seconds",
                                                            "max_message_age_hours",
                                                            "recognise_inspections",
                                                            "announce_hours",
                                                            "retry_min_ms",
                                                            "retry_max_ms",
                                                            "batch_size",
                                                            "peer_rate_per_second",
                                                            "peer_rate_burst"};
  for (const auto& [key, value] : *t) {
    if (!kKnown.contains(key.str())) {
      return ConfigError(fmt::format("link.{}", key.str()), "is not a known key");
    }
  }
  auto optional_string = [&](std::string_view key, std::string& out) -> Status {
    const toml::node* n = t->get(key);
    if (n == nullptr) return {};
    auto v = n->value<std::string>();
    if (!v || v->size() > 4096) {
      return ConfigError(fmt::format("link.{}", key), "must be a string (at most 4096 bytes)");
    }
    out = *v;
    return {};
  };
  BF_TRY(optional_string("key_file", l.key_file));
  if (l.key_file.empty())
    return ConfigError("link.key_file", "is required (borderflow node keygen)");
  BF_TRY(optional_string("next_key_file", l.next_key_file));
  BF_ASSIGN_OR_RETURN(l.next_key_from, ReadOptionalTime(*t, "link", "next_key_from"));
  if (l.next_key_file.empty() != !l.next_key_from) {
    return ConfigError("link.next_key_from", "next_key_file and next_key_from go together");
  }
  BF_TRY(optional_string("listen", l.listen));
  BF_TRY(optional_string("tls_certificate_file", l.tls_certificate_file));
  BF_TRY(optional_string("tls_private_key_file", l.tls_private_key_file));
  if (l.tls_certificate_file.empty() != l.tls_private_key_file.empty()) {
    return ConfigError("link.tls_private_key_file",
                       "tls_certificate_file and tls_private_key_file go together");
  }
  BF_TRY(optional_string("peer_ca_file", l.peer_ca_file));
  BF_TRY(optional_string("recognise_inspections", l.recognise_inspections));
  if (l.recognise_inspections != "clean_and_seal_intact" && l.recognise_inspections != "never") {
    return ConfigError("link.recognise_inspections",
                       "must be one of: clean_and_seal_intact, never");
  }
  BF_ASSIGN_OR_RETURN(int skew, ReadInt(*t, "link", "max_clock_skew_seconds", 1, 86400, 300));
  l.max_clock_skew = std::chrono::seconds(skew);
  BF_ASSIGN_OR_RETURN(int age, ReadInt(*t, "link", "max_message_age_hours", 1, 24 * 90, 24 * 7));
  l.max_message_age = std::chrono::hours(age);
  BF_ASSIGN_OR_RETURN(l.announce_hours, ReadInt(*t, "link", "announce_hours", 0, 72, 24));
  BF_ASSIGN_OR_RETURN(int retry_min, ReadInt(*t, "link", "retry_min_ms", 10, 60000, 200));
  BF_ASSIGN_OR_RETURN(int retry_max, ReadInt(*t, "link", "retry_max_ms", 10, 3600000, 30000));
  if (retry_max < retry_min) return ConfigError("link.retry_max_ms", "must be >= retry_min_ms");
  l.retry_min = std::chrono::milliseconds(retry_min);
  l.retry_max = std::chrono::milliseconds(retry_max);
  BF_ASSIGN_OR_RETURN(l.batch_size, ReadInt(*t, "link", "batch_size", 1, 512, 256));
  BF_ASSIGN_OR_RETURN(l.peer_rate_per_second,
                      ReadInt(*t, "link", "peer_rate_per_second", 0, 100000, 20));
  BF_ASSIGN_OR_RETURN(l.peer_rate_burst, ReadInt(*t, "link", "peer_rate_burst", 1, 1000000, 60));
  if (config.counterpart.peer_url.empty()) {
    return ConfigError("counterpart.peer_url", "is required with [link]");
  }
  if (config.counterpart.keys.empty()) {
    return ConfigError("counterpart.keys", "at least one pinned key is required with [link]");
  }
  return {};
}

Status ReadQueue(const toml::table& root, GateConfig& config) {
  QueueSettings& q = config.queue;
  const toml::table* t = root["queue"].as_table();
  if (root.get("queue") != nullptr && t == nullptr) return ConfigError("queue", "must be a table");
  if (t == nullptr) return {};
  BF_ASSIGN_OR_RETURN(q.bucket, ReadMinutes(*t, "bucket_minutes", 5, 60, q.bucket));
  if ((24 * 60) % std::chrono::duration_cast<std::chrono::minutes>(q.bucket).count() != 0) {
    return ConfigError("queue.bucket_minutes", "must divide a day (5, 10, 15, 20, 30, 60)");
  }
  BF_ASSIGN_OR_RETURN(q.booking_horizon,
                      ReadMinutes(*t, "booking_horizon_hours", 1, 24 * 90, q.booking_horizon, 60));
  BF_ASSIGN_OR_RETURN(q.max_open_bookings_per_company,
                      ReadInt(*t, "queue", "max_open_bookings_per_company", 1, 100000,
                              q.max_open_bookings_per_company));
  BF_ASSIGN_OR_RETURN(q.call_window,
                      ReadMinutes(*t, "call_window_minutes", 1, 24 * 60, q.call_window));
  BF_ASSIGN_OR_RETURN(q.late_arrival,
                      ReadMinutes(*t, "late_arrival_minutes", 0, 24 * 60, q.late_arrival));
  BF_ASSIGN_OR_RETURN(q.late_cancel,
                      ReadMinutes(*t, "late_cancel_minutes", 0, 7 * 24 * 60, q.late_cancel));
  BF_ASSIGN_OR_RETURN(q.strikes_for_ban,
                      ReadInt(*t, "queue", "strikes_for_ban", 1, 100, q.strikes_for_ban));
  BF_ASSIGN_OR_RETURN(q.strike_window,
                      ReadMinutes(*t, "strike_window_days", 1, 365, q.strike_window, 24 * 60));
  BF_ASSIGN_OR_RETURN(q.ban, ReadMinutes(*t, "ban_days", 0, 365, q.ban, 24 * 60));
  if (const toml::node* policy = t->get("policy")) {
    auto v = policy->value<std::string>();
    if (!v || (*v != "fifo" && *v != "cyclic" && *v != "smart")) {
      return ConfigError("queue.policy", "must be \"fifo\", \"cyclic\" or \"smart\"");
    }
    q.policy = *v;
  }
  BF_ASSIGN_OR_RETURN(q.fairness_bound,
                      ReadMinutes(*t, "fairness_bound_minutes", 0, 7 * 24 * 60, q.fairness_bound));
  if (const toml::node* w = t->get("cyclic_weights")) {
    const toml::table* weights = w->as_table();
    if (weights == nullptr) return ConfigError("queue.cyclic_weights", "must be a table");
    for (const auto& [key, value] : *weights) {
      if (key.str() != "trusted_perishable" && key.str() != "perishable" &&
          key.str() != "trusted" && key.str() != "regular") {
        return ConfigError(fmt::format("queue.cyclic_weights.{}", key.str()),
                           "is not a priority class (trusted_perishable, perishable, trusted, "
                           "regular)");
      }
    }
    BF_ASSIGN_OR_RETURN(q.weight_trusted_perishable,
                        ReadInt(*weights, "queue.cyclic_weights", "trusted_perishable", 0, 100,
                                q.weight_trusted_perishable));
    BF_ASSIGN_OR_RETURN(q.weight_perishable, ReadInt(*weights, "queue.cyclic_weights", "perishable",
                                                     0, 100, q.weight_perishable));
    BF_ASSIGN_OR_RETURN(q.weight_trusted, ReadInt(*weights, "queue.cyclic_weights", "trusted", 0,
                                                  100, q.weight_trusted));
    BF_ASSIGN_OR_RETURN(q.weight_regular, ReadInt(*weights, "queue.cyclic_weights", "regular", 0,
                                                  100, q.weight_regular));
    if (q.weight_trusted_perishable + q.weight_perishable + q.weight_trusted + q.weight_regular ==
        0) {
      return ConfigError("queue.cyclic_weights", "at least one weight must be positive");
    }
  }
  if (const toml::node* traders = t->get("trusted_traders")) {
    const toml::array* list = traders->as_array();
    if (list == nullptr) return ConfigError("queue.trusted_traders", "must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      auto v = list->get(i)->value<std::string>();
      if (!v || v->empty() || v->size() > 64) {
        return ConfigError(fmt::format("queue.trusted_traders[{}]", i),
                           "must be a company id (1 to 64 characters)");
      }
      q.trusted_traders.push_back(*v);
    }
  }
  if (const toml::node* service = t->get("service_minutes")) {
    const toml::table* times = service->as_table();
    if (times == nullptr) return ConfigError("queue.service_minutes", "must be a table");
    for (const auto& [key, value] : *times) {
      std::string path = fmt::format("queue.service_minutes.{}", key.str());
      if (config.FindLaneClass(key.str()) == nullptr) {
        return ConfigError(path, "is not a lane class");
      }
      auto v = value.value<int64_t>();
      if (!v || *v < 1 || *v > 24 * 60) return ConfigError(path, "must be 1 to 1440 minutes");
      q.service_time[std::string(key.str())] = std::chrono::minutes(*v);
    }
  }
  if (const toml::node* auto_call = t->get("auto_call")) {
    auto v = auto_call->value<bool>();
    if (!v) return ConfigError("queue.auto_call", "must be true or false");
    q.auto_call = *v;
  }
  return {};
}

}  // namespace

bool GateSide::IsHolidayAt(Timestamp t) const {
  return std::binary_search(holidays.begin(), holidays.end(), LocalDayNumber(t, utc_offset));
}

Duration QueueSettings::ServiceTime(std::string_view lane_class) const {
  auto it = service_time.find(std::string(lane_class));
  return it == service_time.end() ? service_time_default : it->second;
}

bool GateSide::IsOpenAt(Timestamp t) const {
  if (IsHolidayAt(t)) return false;
  int minute = LocalMinuteOfDay(t, utc_offset);
  if (hours.open_minute == hours.close_minute) return false;
  if (hours.open_minute < hours.close_minute) {
    return minute >= hours.open_minute && minute < hours.close_minute;
  }
  return minute >= hours.open_minute || minute < hours.close_minute;  // open over midnight
}

void GateConfig::OpenAroundTheClock() {
  for (GateSide* side : {&self, &counterpart}) {
    side->hours = OperatingHours{};
    side->holidays.clear();
  }
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
  BF_TRY(ReadQueue(root, config));
  BF_TRY(ReadRules(root, config));
  BF_TRY(ReadLink(root, config));
  return config;
}

}  // namespace borderflow

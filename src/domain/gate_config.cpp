#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <borderflow/core/toml_reader.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/domain/iso_codes.h>

namespace borderflow {
namespace {

Result<LocalizedText> ReadName(const TomlReader& r) {
  const toml::node* node = r.Get("name");
  if (node == nullptr) return r.Fail("name", "is required");
  if (auto s = node->value_exact<std::string>()) return LocalizedText{*s, *s, *s};
  if (!node->is_table()) {
    return r.WrongType("name", "a string or a table { en = ..., vi = ..., zh = ... }");
  }
  BF_ASSIGN_OR_RETURN(TomlReader names, r.Table("name"));
  LocalizedText text;
  BF_ASSIGN_OR_RETURN(text.en, names.String("en"));
  BF_ASSIGN_OR_RETURN(text.vi, names.String("vi"));
  BF_ASSIGN_OR_RETURN(text.zh, names.String("zh"));
  BF_TRY(names.RejectUnknown({"en", "vi", "zh"}));
  return text;
}

Result<std::optional<Timestamp>> ReadOptionalTime(const TomlReader& r, std::string_view key) {
  const toml::node* node = r.Get(key);
  if (node == nullptr) return std::optional<Timestamp>();
  if (!node->is_string()) return r.WrongType(key, "an RFC 3339 time string");
  auto parsed = ParseTimestamp(*node->value_exact<std::string>());
  if (!parsed) return r.Fail(key, parsed.error().message);
  return std::optional<Timestamp>(*parsed);
}

// A local time of day, "HH:MM"; absent: `fallback`.
Result<int> ReadClockTime(const TomlReader& r, std::string_view key, std::string_view fallback) {
  const toml::node* node = r.Get(key);
  if (node != nullptr && !node->is_string()) {
    return r.WrongType(key, "a local time of day \"HH:MM\" (a string)");
  }
  std::string text = node ? *node->value_exact<std::string>() : std::string(fallback);
  auto minute = ParseClockTime(text);
  if (!minute) return r.Fail(key, minute.error().message);
  return *minute;
}

Status ReadPeerKeys(const TomlReader& side_reader, GateSide& side) {
  BF_ASSIGN_OR_RETURN(const toml::array* list,
                      side_reader.OptionalArray("keys", "an array of tables [[...keys]]"));
  if (list == nullptr) return {};
  if (list->size() > 16) return side_reader.Fail("keys", "at most 16 keys");
  for (size_t i = 0; i < list->size(); ++i) {
    BF_ASSIGN_OR_RETURN(TomlReader r, side_reader.Item(*list, "keys", i));
    BF_TRY(r.RejectUnknown({"id", "public_key", "not_before", "not_after"}));
    PinnedPeerKey k;
    BF_ASSIGN_OR_RETURN(k.id, r.String("id", 64));
    BF_ASSIGN_OR_RETURN(k.public_key, r.String("public_key", 64));
    BF_ASSIGN_OR_RETURN(k.not_before, ReadOptionalTime(r, "not_before"));
    BF_ASSIGN_OR_RETURN(k.not_after, ReadOptionalTime(r, "not_after"));
    if (k.not_before && k.not_after && *k.not_after <= *k.not_before) {
      return r.Fail("not_after", "must be after not_before");
    }
    side.keys.push_back(std::move(k));
  }
  return {};
}

Result<GateSide> ReadSide(const TomlReader& t) {
  GateSide side;
  BF_ASSIGN_OR_RETURN(side.node_id, t.String("id", 64));
  BF_ASSIGN_OR_RETURN(side.country, t.String("country", 2));
  if (side.country.size() != 2 || !std::isupper(static_cast<unsigned char>(side.country[0])) ||
      !std::isupper(static_cast<unsigned char>(side.country[1]))) {
    return t.Fail("country", "must be an ISO 3166 alpha-2 code");
  }
  BF_ASSIGN_OR_RETURN(side.name, ReadName(t));
  BF_ASSIGN_OR_RETURN(std::string offset, t.String("utc_offset", 10));
  auto parsed = ParseUtcOffset(offset);
  if (!parsed) return t.Fail("utc_offset", parsed.error().message);
  side.utc_offset = *parsed;
  BF_ASSIGN_OR_RETURN(int open_minute, ReadClockTime(t, "open", "00:00"));
  BF_ASSIGN_OR_RETURN(int close_minute, ReadClockTime(t, "close", "24:00"));
  side.hours = OperatingHours{open_minute, close_minute};
  BF_ASSIGN_OR_RETURN(auto peer_url, t.OptionalString("peer_url"));
  side.peer_url = peer_url.value_or(std::string());
  BF_TRY(ReadPeerKeys(t, side));
  BF_ASSIGN_OR_RETURN(const toml::array* list, t.OptionalArray("holidays"));
  if (list != nullptr) {
    for (size_t i = 0; i < list->size(); ++i) {
      const toml::node& item = *list->get(i);
      std::string path = fmt::format("{}[{}]", t.Key("holidays"), i);
      auto text = item.value_exact<std::string>();
      if (!text) {
        return t.source().Fail(
            item, path,
            fmt::format("must be a date string \"YYYY-MM-DD\", not {}", TomlTypeName(item)));
      }
      auto day = ParseDate(*text);
      if (!day) return t.source().Fail(item, path, day.error().message);
      side.holidays.push_back(*day);
    }
    std::sort(side.holidays.begin(), side.holidays.end());
  }
  return side;
}

Status ReadRules(const TomlReader& root, GateConfig& config) {
  BF_ASSIGN_OR_RETURN(auto t, root.OptionalTable("rules"));
  if (!t) return {};
  BF_TRY(t->RejectUnknown({"red_per_day", "usd_per_unit"}));
  BF_ASSIGN_OR_RETURN(config.rules.red_per_day,
                      t->Int("red_per_day", 0, 1000000, config.rules.red_per_day));
  if (t->Get("usd_per_unit") != nullptr && !t->Get("usd_per_unit")->is_table()) {
    return t->WrongType("usd_per_unit", "a table such as { CNY = 0.14 }");
  }
  BF_ASSIGN_OR_RETURN(auto rates, t->OptionalTable("usd_per_unit"));
  if (rates) {
    for (const auto& [key, value] : rates->table()) {
      const std::string currency(key.str());
      if (!IsIsoCurrency(currency) || currency == "USD") {
        return rates->Fail(currency, "must be an ISO 4217 currency code other than USD");
      }
      std::optional<double> rate;
      if (auto i = value.value_exact<int64_t>()) rate = static_cast<double>(*i);
      if (auto d = value.value_exact<double>()) rate = *d;
      if (!rate || !std::isfinite(*rate) || *rate <= 0 || *rate > 1e6) {
        std::string got = rate ? fmt::format("{:g}", *rate) : std::string(TomlTypeName(value));
        return rates->Fail(currency,
                           fmt::format("must be a positive number of USD per unit (at most "
                                       "1000000), not {}",
                                       got));
      }
      config.rules.usd_per_unit.emplace(currency, *rate);
    }
  }
  return {};
}

Status ReadLink(const TomlReader& root, GateConfig& config) {
  BF_ASSIGN_OR_RETURN(auto t, root.OptionalTable("link"));
  if (!t) return {};
  LinkSettings& l = config.link;
  l.enabled = true;
  BF_TRY(t->RejectUnknown(
      {"key_file", "next_key_file", "next_key_from", "listen", "tls_certificate_file",
       "tls_private_key_file", "peer_ca_file", "max_clock_skew_seconds", "max_message_age_hours",
       "recognise_inspections", "announce_hours", "retry_min_ms", "retry_max_ms", "batch_size",
       "peer_rate_per_second", "peer_rate_burst"}));
  auto optional_string = [&](std::string_view key, std::string& out) -> Status {
    BF_ASSIGN_OR_RETURN(auto v, t->OptionalString(key));
    if (v) out = *v;
    return {};
  };
  BF_TRY(optional_string("key_file", l.key_file));
  if (l.key_file.empty()) return t->Fail("key_file", "is required (borderflow node keygen)");
  BF_TRY(optional_string("next_key_file", l.next_key_file));
  BF_ASSIGN_OR_RETURN(l.next_key_from, ReadOptionalTime(*t, "next_key_from"));
  if (l.next_key_file.empty() != !l.next_key_from) {
    return t->Fail("next_key_from", "next_key_file and next_key_from go together");
  }
  BF_TRY(optional_string("listen", l.listen));
  BF_TRY(optional_string("tls_certificate_file", l.tls_certificate_file));
  BF_TRY(optional_string("tls_private_key_file", l.tls_private_key_file));
  if (l.tls_certificate_file.empty() != l.tls_private_key_file.empty()) {
    return t->Fail("tls_private_key_file",
                   "tls_certificate_file and tls_private_key_file go together");
  }
  BF_TRY(optional_string("peer_ca_file", l.peer_ca_file));
  BF_TRY(optional_string("recognise_inspections", l.recognise_inspections));
  if (l.recognise_inspections != "clean_and_seal_intact" && l.recognise_inspections != "never") {
    return t->Fail("recognise_inspections", "must be one of: clean_and_seal_intact, never");
  }
  BF_ASSIGN_OR_RETURN(int skew, t->Int("max_clock_skew_seconds", 1, 86400, 300));
  l.max_clock_skew = std::chrono::seconds(skew);
  BF_ASSIGN_OR_RETURN(int age, t->Int("max_message_age_hours", 1, 24 * 90, 24 * 7));
  l.max_message_age = std::chrono::hours(age);
  BF_ASSIGN_OR_RETURN(l.announce_hours, t->Int("announce_hours", 0, 72, 24));
  BF_ASSIGN_OR_RETURN(int retry_min, t->Int("retry_min_ms", 10, 60000, 200));
  BF_ASSIGN_OR_RETURN(int retry_max, t->Int("retry_max_ms", 10, 3600000, 30000));
  if (retry_max < retry_min) return t->Fail("retry_max_ms", "must be >= retry_min_ms");
  l.retry_min = std::chrono::milliseconds(retry_min);
  l.retry_max = std::chrono::milliseconds(retry_max);
  BF_ASSIGN_OR_RETURN(l.batch_size, t->Int("batch_size", 1, 512, 256));
  BF_ASSIGN_OR_RETURN(l.peer_rate_per_second, t->Int("peer_rate_per_second", 0, 100000, 20));
  BF_ASSIGN_OR_RETURN(l.peer_rate_burst, t->Int("peer_rate_burst", 1, 1000000, 60));
  BF_ASSIGN_OR_RETURN(TomlReader counterpart, root.Table("counterpart"));
  if (config.counterpart.peer_url.empty()) {
    return counterpart.Fail("peer_url", "is required with [link]");
  }
  std::string scheme = config.counterpart.peer_url.substr(0, 8);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (scheme != "https://") {
    // The messages carry personal data (drivers, declarations) across the border: never in
    // plain text, and peer_ca_file would be ignored without TLS.
    return counterpart.Fail("peer_url",
                            "must be an https:// URL (https://host:port/peer/v1): the link "
                            "carries personal data and never goes in plain text");
  }
  if (config.counterpart.keys.empty()) {
    return counterpart.Fail("keys", "at least one pinned key is required with [link]");
  }
  return {};
}

Status ReadQueue(const TomlReader& root, GateConfig& config) {
  QueueSettings& q = config.queue;
  BF_ASSIGN_OR_RETURN(auto t, root.OptionalTable("queue"));
  if (!t) return {};
  BF_TRY(t->RejectUnknown({"bucket_minutes", "booking_horizon_hours",
                           "max_open_bookings_per_company", "call_window_minutes",
                           "late_arrival_minutes", "late_cancel_minutes", "strikes_for_ban",
                           "strike_window_days", "ban_days", "policy", "fairness_bound_minutes",
                           "cyclic_weights", "trusted_traders", "service_minutes", "auto_call"}));
  constexpr std::chrono::minutes kMinute(1), kHour(60), kDay(24 * 60);
  BF_ASSIGN_OR_RETURN(q.bucket, t->Span("bucket_minutes", 5, 60, q.bucket, kMinute));
  if ((24 * 60) % std::chrono::duration_cast<std::chrono::minutes>(q.bucket).count() != 0) {
    return t->Fail("bucket_minutes", "must divide a day (5, 10, 15, 20, 30, 60)");
  }
  BF_ASSIGN_OR_RETURN(q.booking_horizon,
                      t->Span("booking_horizon_hours", 1, 24 * 90, q.booking_horizon, kHour));
  BF_ASSIGN_OR_RETURN(
      q.max_open_bookings_per_company,
      t->Int("max_open_bookings_per_company", 1, 100000, q.max_open_bookings_per_company));
  BF_ASSIGN_OR_RETURN(q.call_window,
                      t->Span("call_window_minutes", 1, 24 * 60, q.call_window, kMinute));
  BF_ASSIGN_OR_RETURN(q.late_arrival,
                      t->Span("late_arrival_minutes", 0, 24 * 60, q.late_arrival, kMinute));
  BF_ASSIGN_OR_RETURN(q.late_cancel,
                      t->Span("late_cancel_minutes", 0, 7 * 24 * 60, q.late_cancel, kMinute));
  BF_ASSIGN_OR_RETURN(q.strikes_for_ban, t->Int("strikes_for_ban", 1, 100, q.strikes_for_ban));
  BF_ASSIGN_OR_RETURN(q.strike_window,
                      t->Span("strike_window_days", 1, 365, q.strike_window, kDay));
  BF_ASSIGN_OR_RETURN(q.ban, t->Span("ban_days", 0, 365, q.ban, kDay));
  BF_ASSIGN_OR_RETURN(auto policy, t->OptionalString("policy", 16));
  if (policy) {
    if (*policy != "fifo" && *policy != "cyclic" && *policy != "smart") {
      return t->Fail("policy", "must be \"fifo\", \"cyclic\" or \"smart\"");
    }
    q.policy = *policy;
  }
  BF_ASSIGN_OR_RETURN(q.fairness_bound,
                      t->Span("fairness_bound_minutes", 0, 7 * 24 * 60, q.fairness_bound, kMinute));
  BF_ASSIGN_OR_RETURN(auto weights, t->OptionalTable("cyclic_weights"));
  if (weights) {
    for (const auto& [key, value] : weights->table()) {
      if (key.str() != "trusted_perishable" && key.str() != "perishable" &&
          key.str() != "trusted" && key.str() != "regular") {
        return weights->Fail(key.str(),
                             "is not a priority class (trusted_perishable, perishable, trusted, "
                             "regular)");
      }
    }
    BF_ASSIGN_OR_RETURN(q.weight_trusted_perishable,
                        weights->Int("trusted_perishable", 0, 100, q.weight_trusted_perishable));
    BF_ASSIGN_OR_RETURN(q.weight_perishable,
                        weights->Int("perishable", 0, 100, q.weight_perishable));
    BF_ASSIGN_OR_RETURN(q.weight_trusted, weights->Int("trusted", 0, 100, q.weight_trusted));
    BF_ASSIGN_OR_RETURN(q.weight_regular, weights->Int("regular", 0, 100, q.weight_regular));
    if (q.weight_trusted_perishable + q.weight_perishable + q.weight_trusted + q.weight_regular ==
        0) {
      return weights->FailHere("at least one weight must be positive");
    }
  }
  BF_ASSIGN_OR_RETURN(const toml::array* traders, t->OptionalArray("trusted_traders"));
  if (traders != nullptr) {
    for (size_t i = 0; i < traders->size(); ++i) {
      const toml::node& item = *traders->get(i);
      auto v = item.value_exact<std::string>();
      if (!v || v->empty() || v->size() > 64) {
        return t->source().Fail(
            item, fmt::format("{}[{}]", t->Key("trusted_traders"), i),
            fmt::format(
                "must be a company id, a string of 1 to 64 characters, not {}",
                v ? fmt::format("{} characters", v->size()) : std::string(TomlTypeName(item))));
      }
      q.trusted_traders.push_back(*v);
    }
  }
  BF_ASSIGN_OR_RETURN(auto service, t->OptionalTable("service_minutes"));
  if (service) {
    for (const auto& [key, value] : service->table()) {
      if (config.FindLaneClass(key.str()) == nullptr) {
        std::vector<std::string_view> ids;
        for (const LaneClass& c : config.lane_classes) ids.push_back(c.id);
        return service->Fail(key.str(), "is not a lane class" + DidYouMean(key.str(), ids));
      }
      BF_ASSIGN_OR_RETURN(auto minutes, service->OptionalInt(key.str(), 1, 24 * 60));
      q.service_time[std::string(key.str())] = std::chrono::minutes(*minutes);
    }
  }
  BF_ASSIGN_OR_RETURN(auto auto_call, t->OptionalBool("auto_call"));
  if (auto_call) q.auto_call = *auto_call;
  return {};
}

Status ReadLaneClasses(const TomlReader& root, GateConfig& config) {
  BF_ASSIGN_OR_RETURN(const toml::array* classes,
                      root.OptionalArray("lane_classes", "an array of tables [[lane_classes]]"));
  if (classes == nullptr || classes->empty()) {
    return root.Fail("lane_classes", "at least one [[lane_classes]] is required");
  }
  if (classes->size() > kMaxLaneClasses) {
    return root.Fail("lane_classes",
                     fmt::format("{} [[lane_classes]]: at most {} (a capacity announcement to the "
                                 "counterpart names each, and a counterpart takes no more)",
                                 classes->size(), kMaxLaneClasses));
  }
  std::set<std::string> class_ids;
  for (size_t i = 0; i < classes->size(); ++i) {
    BF_ASSIGN_OR_RETURN(TomlReader t, root.Item(*classes, "lane_classes", i));
    BF_TRY(t.RejectUnknown({"id", "name", "perishable", "empty"}));
    LaneClass lc;
    BF_ASSIGN_OR_RETURN(lc.id, t.String("id", 32));
    BF_ASSIGN_OR_RETURN(lc.name, ReadName(t));
    BF_ASSIGN_OR_RETURN(auto perishable, t.OptionalBool("perishable"));
    BF_ASSIGN_OR_RETURN(auto empty, t.OptionalBool("empty"));
    lc.perishable = perishable.value_or(false);
    lc.empty = empty.value_or(false);
    if (!class_ids.insert(lc.id).second) {
      return t.Fail("id", fmt::format("duplicate lane class '{}'", lc.id));
    }
    config.lane_classes.push_back(std::move(lc));
  }
  return {};
}

Status ReadDirections(const TomlReader& root, GateConfig& config) {
  BF_ASSIGN_OR_RETURN(const toml::array* directions,
                      root.OptionalArray("directions", "an array of tables [[directions]]"));
  if (directions == nullptr || directions->empty()) {
    return root.Fail("directions", "at least one [[directions]] is required");
  }
  std::vector<std::string_view> class_ids;
  for (const LaneClass& c : config.lane_classes) class_ids.push_back(c.id);
  for (size_t i = 0; i < directions->size(); ++i) {
    BF_ASSIGN_OR_RETURN(TomlReader t, root.Item(*directions, "directions", i));
    BF_TRY(t.RejectUnknown({"id", "from", "to", "lanes"}));
    Direction d;
    BF_ASSIGN_OR_RETURN(d.id, t.String("id", 32));
    BF_ASSIGN_OR_RETURN(d.from_country, t.String("from", 2));
    BF_ASSIGN_OR_RETURN(d.to_country, t.String("to", 2));
    auto is_pair_country = [&](const std::string& c) {
      return c == config.self.country || c == config.counterpart.country;
    };
    if (!is_pair_country(d.from_country) || !is_pair_country(d.to_country) ||
        d.from_country == d.to_country) {
      return t.FailHere("from and to must be the two countries of the pair");
    }
    if (t.Get("lanes") == nullptr) return t.Fail("lanes", "is required");
    BF_ASSIGN_OR_RETURN(TomlReader lanes, t.Table("lanes"));
    for (const auto& [key, value] : lanes.table()) {
      if (config.FindLaneClass(key.str()) == nullptr) {
        return lanes.Fail(key.str(), "is not a lane class" + DidYouMean(key.str(), class_ids));
      }
      BF_ASSIGN_OR_RETURN(auto count, lanes.OptionalInt(key.str(), 0, 100));
      d.lanes[std::string(key.str())] = static_cast<int>(*count);
    }
    if (config.FindDirection(d.id) != nullptr) {
      return t.Fail("id", fmt::format("duplicate direction '{}'", d.id));
    }
    config.directions.push_back(std::move(d));
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

Result<GateConfig> ParseGateConfig(std::string_view toml_text, std::string_view source_name) {
  // Debian's toml++ is built with exceptions: a syntax error is the library's only throw, and it
  // becomes a value here.
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& err) {
    const auto& at = err.source().begin;
    std::string message = fmt::format("TOML syntax error at line {}, column {}: {}", at.line,
                                      at.column, err.description());
    if (!source_name.empty()) {
      message = fmt::format("{}:{}:{}: {}", source_name, at.line, at.column, message);
    }
    return InvalidArgument("invalid_config", std::move(message));
  }
  const TomlSource source(source_name, "invalid_config");
  const TomlReader r(root, "", source);
  GateConfig config;
  BF_ASSIGN_OR_RETURN(TomlReader node, r.Table("node"));
  BF_TRY(node.RejectUnknown({"id", "country", "name", "utc_offset", "open", "close", "holidays",
                             "peer_url", "staging_yard_capacity", "declaration_validity_hours"}));
  BF_ASSIGN_OR_RETURN(config.self, ReadSide(node));
  BF_ASSIGN_OR_RETURN(TomlReader counterpart, r.Table("counterpart"));
  BF_TRY(counterpart.RejectUnknown(
      {"id", "country", "name", "utc_offset", "open", "close", "holidays", "peer_url", "keys"}));
  BF_ASSIGN_OR_RETURN(config.counterpart, ReadSide(counterpart));
  if (config.self.node_id == config.counterpart.node_id) {
    return counterpart.Fail("id", "must differ from node.id");
  }

  if (node.Get("staging_yard_capacity") == nullptr) {
    return node.Fail("staging_yard_capacity", "is required (an integer from 0 to 100000)");
  }
  BF_ASSIGN_OR_RETURN(config.staging_yard_capacity,
                      node.Int("staging_yard_capacity", 0, 100000, 0));
  BF_ASSIGN_OR_RETURN(config.declaration_validity,
                      node.Span("declaration_validity_hours", 1, 24 * 30,
                                config.declaration_validity, std::chrono::minutes(60)));

  BF_TRY(ReadLaneClasses(r, config));
  BF_TRY(ReadDirections(r, config));
  BF_TRY(r.RejectUnknown(
      {"node", "counterpart", "lane_classes", "directions", "queue", "rules", "link"}));
  BF_TRY(ReadQueue(r, config));
  BF_TRY(ReadRules(r, config));
  BF_TRY(ReadLink(r, config));
  return config;
}

}  // namespace borderflow

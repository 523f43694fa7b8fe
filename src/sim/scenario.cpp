#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <borderflow/core/hs_code.h>
#include <borderflow/core/toml_reader.h>
#include <borderflow/rules/rule_set.h>
#include <borderflow/sim/scenario.h>

namespace borderflow::sim {

namespace fs = std::filesystem;

namespace {

// "1 MiB", "64 MiB", "768 KiB", "100 bytes".
std::string FormatBytes(size_t n) {
  if (n >= (1 << 20) && n % (1 << 20) == 0) return fmt::format("{} MiB", n >> 20);
  if (n >= (1 << 10) && n % (1 << 10) == 0) return fmt::format("{} KiB", n >> 10);
  return fmt::format("{} bytes", n);
}

// Up to `max_bytes` of a file. Like LoadGateConfig: refuses what is not a file, and reads at most
// one byte more than the limit, so that /dev/zero or a huge file is refused rather than read on.
// `what` names the file in the error ("scenario file", "replayed CSV").
Result<std::string> ReadBounded(const fs::path& path, size_t max_bytes, std::string_view what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return InvalidArgument("bad_scenario",
                           fmt::format("{}: is a directory, not a {}", path.string(), what));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("bad_scenario", fmt::format("cannot read {}", path.string()));
  std::string text;
  char buffer[1 << 16];
  while (text.size() <= max_bytes) {
    in.read(buffer, static_cast<std::streamsize>(
                        std::min<size_t>(sizeof buffer, max_bytes + 1 - text.size())));
    if (in.gcount() <= 0) break;
    text.append(buffer, static_cast<size_t>(in.gcount()));
  }
  if (in.bad())
    return InvalidArgument("bad_scenario", fmt::format("cannot read {}", path.string()));
  if (text.size() > max_bytes) {
    return InvalidArgument("bad_scenario",
                           fmt::format("{}: the {} is larger than {} (the limit of the twin)",
                                       path.string(), what, FormatBytes(max_bytes)));
  }
  return text;
}

// An array of tables ([[key]]) of at most `max` entries, each named "path[i]"; empty when
// absent. The count is checked before any entry is read.
Result<std::vector<TomlReader>> BoundedTables(const TomlReader& r, std::string_view key,
                                              size_t max) {
  BF_ASSIGN_OR_RETURN(const toml::array* list,
                      r.OptionalArray(key, "an array of tables ([[...]])"));
  if (list != nullptr && list->size() > max) {
    return r.Fail(key, fmt::format("has {} entries, more than the {} a scenario may have",
                                   list->size(), max));
  }
  return r.Tables(key);
}

// A distribution as an inline table: {distribution = "lognormal", mean = 60, sd = 20}.
Result<Distribution> ReadDistribution(const TomlReader& r, std::string_view key, double max_value) {
  BF_ASSIGN_OR_RETURN(TomlReader d, r.Table(key));
  BF_TRY(d.RejectUnknown({"distribution", "mean", "sd", "min", "max", "shape", "value"}));
  BF_ASSIGN_OR_RETURN(std::string name, d.String("distribution", 4000));
  auto kind = ParseDistributionKind(name);
  if (!kind) return d.Fail("distribution", kind.error().message);
  switch (*kind) {
    case Distribution::Kind::kDeterministic: {
      std::string k = d.Has("value") ? "value" : "mean";
      BF_ASSIGN_OR_RETURN(double v, d.Number(k, 0, max_value));
      return Distribution::Deterministic(v);
    }
    case Distribution::Kind::kExponential: {
      BF_ASSIGN_OR_RETURN(double mean, d.Number("mean", 0, max_value));
      return Distribution::Exponential(mean);
    }
    case Distribution::Kind::kLognormal: {
      // 0 like the other distributions' figures (deterministic value, exponential mean...):
      // no time at all.
      BF_ASSIGN_OR_RETURN(double mean, d.Number("mean", 0, max_value));
      BF_ASSIGN_OR_RETURN(double sd, d.Number("sd", 0, max_value));
      return Distribution::Lognormal(mean, sd);
    }
    case Distribution::Kind::kUniform: {
      BF_ASSIGN_OR_RETURN(double min, d.Number("min", 0, max_value));
      BF_ASSIGN_OR_RETURN(double max, d.Number("max", 0, max_value));
      if (max < min) return d.Fail("max", "must not be below min");
      return Distribution::Uniform(min, max);
    }
    case Distribution::Kind::kErlang: {
      BF_ASSIGN_OR_RETURN(int shape, d.Int("shape", 1, 100));
      BF_ASSIGN_OR_RETURN(double mean, d.Number("mean", 0, max_value));
      return Distribution::Erlang(shape, mean);
    }
  }
  return d.Fail("distribution", "unsupported");
}

// A time: "2026-12-01T00:00:00+07:00", or `<key>_day` days after `start`.
Result<Timestamp> ReadTimeOrDay(const TomlReader& r, std::string_view key, Timestamp start,
                                int max_days) {
  std::string day_key = std::string(key) + "_day";
  if (r.Has(day_key)) {
    BF_ASSIGN_OR_RETURN(double day, r.Number(day_key, 0, max_days));
    return start + Duration(static_cast<int64_t>(std::llround(day * 86400000.0)));
  }
  BF_ASSIGN_OR_RETURN(std::string text, r.String(key, 4000));
  auto t = ParseTimestamp(text);
  if (!t) return r.Fail(key, t.error().message);
  return *t;
}

fs::path Beside(const std::string& file, const std::string& relative) {
  fs::path p(relative);
  if (p.is_absolute()) return p;
  return fs::path(file).parent_path() / p;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '"')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '"')) ++i;
  return s.substr(i);
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  // The border-traffic files have no quoted commas; quotes around a field are dropped.
  std::vector<std::string> out;
  std::string field;
  for (char c : line) {
    if (c == ',') {
      out.push_back(Trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  out.push_back(Trim(field));
  return out;
}

template <size_t N>
std::array<double, N> Normalised(const std::vector<double>& v) {
  std::array<double, N> out{};
  double sum = 0;
  for (double x : v) sum += x;
  for (size_t i = 0; i < N; ++i) out[i] = sum > 0 ? v[i] * N / sum : 1;
  return out;
}

Status ParseGate(const TomlReader& root, Scenario& s) {
  BF_ASSIGN_OR_RETURN(TomlReader g, root.Table("gate"));
  BF_TRY(
      g.RejectUnknown({"config", "staging_yard_capacity", "declaration_validity_hours",
                       "red_per_day", "fairness_bound_minutes", "lanes", "planning_service_minutes",
                       "trusted_traders", "booking_horizon_hours", "call_window_minutes"}));
  BF_ASSIGN_OR_RETURN(std::string config, g.String("config", 4000));
  fs::path path = Beside(s.file, config);
  auto text = ReadBounded(path, kMaxScenarioGateBytes, "gate configuration");
  if (!text) return g.Fail("config", text.error().message);
  auto gate = ParseGateConfig(*text, path.string());
  if (!gate) return g.Fail("config", gate.error().message);
  s.gate = *gate;
  s.gate_file = path.string();
  GateConfig& c = s.gate;
  BF_ASSIGN_OR_RETURN(c.staging_yard_capacity,
                      g.Int("staging_yard_capacity", 0, 1000000, c.staging_yard_capacity));
  BF_ASSIGN_OR_RETURN(
      double validity,
      g.Number("declaration_validity_hours", 1, 24 * 90,
               std::chrono::duration<double, std::ratio<3600>>(c.declaration_validity).count()));
  c.declaration_validity = Duration(static_cast<int64_t>(validity * 3600000));
  BF_ASSIGN_OR_RETURN(c.rules.red_per_day, g.Int("red_per_day", 0, 1000000, c.rules.red_per_day));
  if (g.Has("fairness_bound_minutes")) {
    BF_ASSIGN_OR_RETURN(double minutes, g.Number("fairness_bound_minutes", 0, 60 * 24 * 30));
    c.queue.fairness_bound = Duration(static_cast<int64_t>(minutes * 60000));
  }
  if (g.Has("booking_horizon_hours")) {
    BF_ASSIGN_OR_RETURN(double hours, g.Number("booking_horizon_hours", 1, 24 * 30));
    c.queue.booking_horizon = Duration(static_cast<int64_t>(hours * 3600000));
  }
  if (g.Has("call_window_minutes")) {
    BF_ASSIGN_OR_RETURN(double minutes, g.Number("call_window_minutes", 1, 24 * 60));
    c.queue.call_window = Duration(static_cast<int64_t>(minutes * 60000));
  }
  if (g.Has("trusted_traders")) {
    BF_ASSIGN_OR_RETURN(c.queue.trusted_traders, g.Strings("trusted_traders"));
  }
  BF_ASSIGN_OR_RETURN(auto lanes, g.OptionalTable("lanes"));
  if (lanes) {
    for (const auto& [dir_key, node] : lanes->table()) {
      std::string dir(dir_key.str());
      auto it = std::find_if(c.directions.begin(), c.directions.end(),
                             [&](const Direction& d) { return d.id == dir; });
      if (it == c.directions.end()) return lanes->Fail(dir, "unknown direction");
      BF_ASSIGN_OR_RETURN(TomlReader per_class, lanes->Table(dir));
      for (const auto& [class_key, unused] : per_class.table()) {
        std::string lc(class_key.str());
        if (c.FindLaneClass(lc) == nullptr) return per_class.Fail(lc, "unknown lane class");
        BF_ASSIGN_OR_RETURN(it->lanes[lc], per_class.Int(lc, 0, 100));
      }
    }
  }
  BF_ASSIGN_OR_RETURN(auto planning, g.OptionalTable("planning_service_minutes"));
  if (planning) {
    for (const auto& [class_key, unused] : planning->table()) {
      std::string lc(class_key.str());
      if (c.FindLaneClass(lc) == nullptr) return planning->Fail(lc, "unknown lane class");
      BF_ASSIGN_OR_RETURN(double minutes, planning->Number(lc, 0.1, 24 * 60));
      c.queue.service_time[lc] = Duration(static_cast<int64_t>(minutes * 60000));
    }
  }
  return {};
}

Status ParseArrivals(const TomlReader& root, Scenario& s) {
  BF_ASSIGN_OR_RETURN(TomlReader a, root.Table("arrivals"));
  BF_TRY(a.RejectUnknown({"trucks_per_day", "hourly_profile", "weekday_factors", "daily_factors",
                          "declare_lead_hours", "replay"}));
  ArrivalSpec& spec = s.arrivals;
  BF_ASSIGN_OR_RETURN(auto replay, a.OptionalTable("replay"));
  if (!replay && !a.Has("trucks_per_day")) {
    return a.Fail("trucks_per_day", "is required (or an [arrivals.replay] table)");
  }
  BF_ASSIGN_OR_RETURN(spec.trucks_per_day, a.Number("trucks_per_day", 0, 100000, 0.0));
  std::vector<double> hourly(24, 1.0), weekday(7, 1.0);
  auto all_zero = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double x) { return x == 0; });
  };
  if (a.Has("hourly_profile")) {
    BF_ASSIGN_OR_RETURN(hourly, a.Numbers("hourly_profile", 24, 0, 1e6));
    // All zero would mean no truck at any hour; it used to mean "flat" without a word.
    if (all_zero(hourly)) return a.Fail("hourly_profile", "has no hour above 0");
  }
  if (a.Has("weekday_factors")) {
    BF_ASSIGN_OR_RETURN(weekday, a.Numbers("weekday_factors", 7, 0, 1e6));
    if (all_zero(weekday)) return a.Fail("weekday_factors", "has no day above 0");
  }
  spec.hourly = Normalised<24>(hourly);
  spec.weekday = Normalised<7>(weekday);
  if (a.Has("daily_factors")) {
    BF_ASSIGN_OR_RETURN(spec.daily, a.Numbers("daily_factors", 0, 0, 1e6));
  }
  if (a.Has("declare_lead_hours")) {
    BF_ASSIGN_OR_RETURN(spec.declare_lead_hours,
                        ReadDistribution(a, "declare_lead_hours", 24 * 30));
  }
  if (replay) {
    BF_TRY(replay->RejectUnknown(
        {"csv", "date_column", "count_columns", "from", "days", "scale_to_mean", "scale"}));
    ReplaySpec r;
    BF_ASSIGN_OR_RETURN(std::string csv, replay->String("csv", 4000));
    r.csv_path = Beside(s.file, csv).string();
    BF_ASSIGN_OR_RETURN(r.date_column, replay->String("date_column", 4000));
    BF_ASSIGN_OR_RETURN(r.columns, replay->Strings("count_columns"));
    BF_ASSIGN_OR_RETURN(r.from, replay->StringOr("from", std::string()));
    BF_ASSIGN_OR_RETURN(r.days, replay->Int("days", 0, 100000, 0));
    BF_ASSIGN_OR_RETURN(r.scale_to_mean, replay->Number("scale_to_mean", 0, 1e6, 0.0));
    BF_ASSIGN_OR_RETURN(r.scale, replay->Number("scale", 0, 1e6, 1.0));
    auto counts = ReadReplay(r);
    if (!counts) return replay->Fail("csv", counts.error().message);
    // Fewer rows than asked for were used to be shortened silently, then wrapped around.
    if (r.days > 0 && static_cast<int>(counts->size()) < r.days) {
      return replay->Fail(
          "days", fmt::format("{} has {} days of counts from {}, fewer than the {} asked for", csv,
                              counts->size(), r.from.empty() ? "its start" : r.from, r.days));
    }
    if (static_cast<int>(counts->size()) < s.days) {
      return replay->Fail(r.days > 0 ? "days" : "csv",
                          fmt::format("gives {} days of counts, fewer than the scenario's {} days "
                                      "(they would wrap around)",
                                      counts->size(), s.days));
    }
    spec.replay_per_day = *counts;
    spec.replay_source =
        fmt::format("{} [{}] from {} ({} days)", fs::path(r.csv_path).filename().string(),
                    fmt::format("{}", fmt::join(r.columns, ", ")),
                    r.from.empty() ? "start" : r.from, counts->size());
  }
  return {};
}

Status ParseTraffic(const TomlReader& root, Scenario& s) {
  BF_ASSIGN_OR_RETURN(std::vector<TomlReader> items,
                      BoundedTables(root, "traffic", kMaxTrafficClasses));
  if (items.empty()) return root.Fail("traffic", "at least one [[traffic]] entry is required");
  double total = 0;
  for (const TomlReader& t : items) {
    BF_TRY(t.RejectUnknown({"direction", "lane_class", "share", "trusted_share", "booking_share",
                            "freshness_hours", "hs_code"}));
    TrafficClass c;
    BF_ASSIGN_OR_RETURN(c.direction, t.String("direction", 4000));
    BF_ASSIGN_OR_RETURN(c.lane_class, t.String("lane_class", 4000));
    const Direction* d = s.gate.FindDirection(c.direction);
    if (d == nullptr) return t.Fail("direction", "not a direction of the gate configuration");
    const LaneClass* lc = s.gate.FindLaneClass(c.lane_class);
    if (lc == nullptr) return t.Fail("lane_class", "not a lane class of the gate configuration");
    if (!d->lanes.contains(c.lane_class)) {
      return t.Fail("lane_class", fmt::format("direction {} has no lanes of this class", d->id));
    }
    c.perishable = lc->perishable;
    c.empty = lc->empty;
    BF_ASSIGN_OR_RETURN(c.share, t.Number("share", 0, 1));
    BF_ASSIGN_OR_RETURN(c.trusted_share, t.Number("trusted_share", 0, 1, 0.0));
    BF_ASSIGN_OR_RETURN(c.booking_share, t.Number("booking_share", 0, 1, 0.0));
    if (c.perishable) {
      if (!t.Has("freshness_hours")) {
        return t.Fail("freshness_hours", "is required for a perishable lane class");
      }
      BF_ASSIGN_OR_RETURN(c.freshness_hours, ReadDistribution(t, "freshness_hours", 24 * 60));
    } else if (t.Has("freshness_hours")) {
      return t.Fail("freshness_hours", "only perishable lane classes have a freshness deadline");
    }
    BF_ASSIGN_OR_RETURN(c.hs_code, t.StringOr("hs_code", c.perishable ? "0810.60" : "8517.13"));
    if (!c.empty) {
      auto hs = HsNomenclature::Hs2022()->Validate(c.hs_code);
      if (!hs) return t.Fail("hs_code", hs.error().message);
    }
    total += c.share;
    s.traffic.push_back(c);
  }
  // Shares are fractions of the day's trucks, like the channel shares: 1.2 in all is a typing
  // mistake (it used to be rescaled without a word).
  if (std::abs(total - 1) > 1e-6) {
    return root.Fail(
        "traffic",
        fmt::format("the [[traffic]] shares must add up to 1 (they add up to {:g})", total));
  }
  for (auto& c : s.traffic) c.share /= total;
  return {};
}

Status ParseService(const TomlReader& root, Scenario& s) {
  BF_ASSIGN_OR_RETURN(auto service, root.OptionalTable("service"));
  if (!service) return root.Fail("service", "section is required");
  BF_TRY(service->RejectUnknown({"travel_to_gate_minutes", "times"}));
  if (service->Has("travel_to_gate_minutes")) {
    BF_ASSIGN_OR_RETURN(s.travel_to_gate_minutes,
                        ReadDistribution(*service, "travel_to_gate_minutes", 24 * 60));
  }
  BF_ASSIGN_OR_RETURN(std::vector<TomlReader> times,
                      BoundedTables(*service, "times", kMaxServiceTimes));
  if (times.empty()) return service->Fail("times", "at least one [[service.times]] is required");
  for (const TomlReader& t : times) {
    BF_TRY(t.RejectUnknown({"lane_class", "channel", "minutes"}));
    ServiceTime st;
    BF_ASSIGN_OR_RETURN(st.lane_class, t.StringOr("lane_class", std::string()));
    if (!st.lane_class.empty() && s.gate.FindLaneClass(st.lane_class) == nullptr) {
      return t.Fail("lane_class", "not a lane class of the gate configuration");
    }
    BF_ASSIGN_OR_RETURN(st.channel, t.StringOr("channel", std::string()));
    if (!st.channel.empty() && st.channel != "green" && st.channel != "yellow" &&
        st.channel != "red") {
      return t.Fail("channel", "must be green, yellow or red");
    }
    BF_ASSIGN_OR_RETURN(st.minutes, ReadDistribution(t, "minutes", 24 * 60));
    s.service.push_back(st);
  }
  return {};
}

Status ParseChannels(const TomlReader& root, Scenario& s) {
  BF_ASSIGN_OR_RETURN(auto ch, root.OptionalTable("channels"));
  if (!ch) {
    s.channel_rates = ChannelRates{};
    return {};
  }
  BF_TRY(ch->RejectUnknown({"green", "yellow", "red", "quarantine", "rules"}));
  if (ch->Has("rules")) {
    if (ch->Has("green") || ch->Has("yellow") || ch->Has("red")) {
      return ch->Fail("rules", "give either a rule file or channel shares, not both");
    }
    BF_ASSIGN_OR_RETURN(std::string rules, ch->String("rules", 4000));
    fs::path path = Beside(s.file, rules);
    auto text = ReadBounded(path, rules::kMaxRuleSetTextBytes, "rule file");
    if (!text) return ch->Fail("rules", text.error().message);
    s.rules_text = std::move(*text);
    s.rules_file = path.string();
    return {};
  }
  ChannelRates r;
  BF_ASSIGN_OR_RETURN(r.green, ch->Number("green", 0, 1, r.green));
  BF_ASSIGN_OR_RETURN(r.yellow, ch->Number("yellow", 0, 1, r.yellow));
  BF_ASSIGN_OR_RETURN(r.red, ch->Number("red", 0, 1, r.red));
  BF_ASSIGN_OR_RETURN(r.quarantine, ch->Number("quarantine", 0, 1, 0.0));
  double sum = r.green + r.yellow + r.red;
  if (std::abs(sum - 1) > 1e-6) {
    return ch->Fail("", fmt::format("green + yellow + red must be 1 (they add up to {:g})", sum));
  }
  s.channel_rates = r;
  return {};
}

Status ParseEvents(const TomlReader& root, Scenario& s) {
  BF_ASSIGN_OR_RETURN(std::vector<TomlReader> caps,
                      BoundedTables(root, "capacity_events", kMaxCapacityEvents));
  for (const TomlReader& e : caps) {
    BF_TRY(e.RejectUnknown({"kind", "from", "from_day", "hours", "announce", "announce_day",
                            "direction", "lane_class", "lanes", "trucks_per_hour", "reason"}));
    CapacityEvent ev;
    BF_ASSIGN_OR_RETURN(std::string kind, e.String("kind", 4000));
    auto parsed = ParseCapacityChangeKind(kind);
    if (!parsed) return e.Fail("kind", parsed.error().message);
    ev.change.kind = *parsed;
    BF_ASSIGN_OR_RETURN(ev.change.from, ReadTimeOrDay(e, "from", s.start, s.days));
    const char* from_key = e.Has("from_day") ? "from_day" : "from";
    // The engine would refuse it at run time (invalid_capacity_change), after the run started.
    if (ev.change.from < s.start) {
      return e.Fail(from_key, fmt::format("{} is before the scenario starts ({})",
                                          FormatUtc(ev.change.from), FormatUtc(s.start)));
    }
    BF_ASSIGN_OR_RETURN(double hours, e.Number("hours", 0.25, 24 * 90));
    ev.change.until = ev.change.from + Duration(static_cast<int64_t>(hours * 3600000));
    ev.announce_at = ev.change.from;
    if (e.Has("announce") || e.Has("announce_day")) {
      BF_ASSIGN_OR_RETURN(ev.announce_at, ReadTimeOrDay(e, "announce", s.start, s.days));
      // The engine takes a change entered late as a change from then on: the part before the
      // announcement would not happen at all (a closure announced after it ended changed
      // nothing). The twin has no model of lanes physically closed while the engine still
      // plans with them, so an announcement after the start is refused.
      if (ev.announce_at > ev.change.from) {
        const char* key = e.Has("announce_day") ? "announce_day" : "announce";
        return e.Fail(key,
                      fmt::format("the announcement ({}) comes after the change starts ({}); "
                                  "announce it at or before {} (to rehearse a late "
                                  "announcement, start the change when it is announced)",
                                  FormatUtc(ev.announce_at), FormatUtc(ev.change.from), from_key));
      }
    }
    if (ev.announce_at < s.start) ev.announce_at = s.start;
    BF_ASSIGN_OR_RETURN(ev.change.direction, e.StringOr("direction", std::string()));
    BF_ASSIGN_OR_RETURN(ev.change.lane_class, e.StringOr("lane_class", std::string()));
    BF_ASSIGN_OR_RETURN(ev.change.lanes, e.Int("lanes", 0, 100, 0));
    BF_ASSIGN_OR_RETURN(ev.change.trucks_per_hour, e.Number("trucks_per_hour", 0, 10000, 0.0));
    BF_ASSIGN_OR_RETURN(ev.change.reason, e.StringOr("reason", std::string("scenario")));
    Status valid = ValidateCapacityChange(ev.change, s.gate);
    if (!valid) {
      std::string field = valid.error().field.empty() ? "kind" : valid.error().field;
      if (!e.Has(field)) field = "kind";
      return e.Fail(field, valid.error().message);
    }
    s.capacity_events.push_back(ev);
  }
  BF_ASSIGN_OR_RETURN(std::vector<TomlReader> outages,
                      BoundedTables(root, "link_outages", kMaxLinkOutages));
  for (const TomlReader& o : outages) {
    BF_TRY(o.RejectUnknown({"from", "from_day", "hours", "service_factor"}));
    LinkOutage out;
    BF_ASSIGN_OR_RETURN(out.from, ReadTimeOrDay(o, "from", s.start, s.days));
    BF_ASSIGN_OR_RETURN(double hours, o.Number("hours", 0.01, 24 * 90));
    out.until = out.from + Duration(static_cast<int64_t>(hours * 3600000));
    BF_ASSIGN_OR_RETURN(out.service_factor, o.Number("service_factor", 1, 100, 2.0));
    s.link_outages.push_back(out);
  }
  return {};
}

}  // namespace

double ArrivalSpec::RatePerHour(int day, int weekday_index, int hour) const {
  double per_day;
  if (!replay_per_day.empty()) {
    per_day = replay_per_day[static_cast<size_t>(day) % replay_per_day.size()];
  } else {
    per_day = trucks_per_day * weekday[static_cast<size_t>(weekday_index)];
    if (static_cast<size_t>(day) < daily.size()) per_day *= daily[static_cast<size_t>(day)];
  }
  return per_day / 24 * hourly[static_cast<size_t>(hour)];
}

const Distribution& Scenario::ServiceFor(std::string_view lane_class,
                                         std::string_view channel) const {
  for (auto it = service.rbegin(); it != service.rend(); ++it) {
    if ((it->lane_class.empty() || it->lane_class == lane_class) &&
        (it->channel.empty() || it->channel == channel)) {
      return it->minutes;
    }
  }
  static const Distribution fallback = Distribution::Exponential(15);
  return fallback;
}

// The most trucks a day a replayed count may bring, read or scaled (real gates see thousands).
constexpr double kMaxReplayCount = 100000;

Result<std::vector<double>> ReadReplay(const ReplaySpec& spec) {
  BF_ASSIGN_OR_RETURN(std::string text,
                      ReadBounded(spec.csv_path, kMaxScenarioReplayBytes, "replayed CSV"));
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) {
    return InvalidArgument("bad_scenario", fmt::format("{} is empty", spec.csv_path));
  }
  std::vector<std::string> header = SplitCsvLine(line);
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  int date = column(spec.date_column);
  if (date < 0) {
    return InvalidArgument("bad_scenario",
                           fmt::format("{} has no column '{}'", spec.csv_path, spec.date_column));
  }
  std::vector<int> counts;
  for (const auto& name : spec.columns) {
    int c = column(name);
    if (c < 0) {
      return InvalidArgument("bad_scenario",
                             fmt::format("{} has no column '{}'", spec.csv_path, name));
    }
    counts.push_back(c);
  }
  std::vector<double> out;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> cells = SplitCsvLine(line);
    if (static_cast<int>(cells.size()) <= date) continue;
    if (!spec.from.empty() && cells[static_cast<size_t>(date)].substr(0, 10) < spec.from) continue;
    double sum = 0;
    for (int c : counts) {
      if (c >= static_cast<int>(cells.size()) || cells[static_cast<size_t>(c)].empty()) continue;
      // The whole cell, a finite count of trucks: "nan", "1e12", "-500" and "12abc" are
      // refused, not read as something else.
      const std::string& cell = cells[static_cast<size_t>(c)];
      std::string_view digits = cell;
      while (!digits.empty() && (digits.back() == '\r' || digits.back() == ' ')) {
        digits.remove_suffix(1);
      }
      while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
      double v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
          !std::isfinite(v) || v < 0 || v > kMaxReplayCount) {
        return InvalidArgument(
            "bad_scenario",
            fmt::format("{}:{}: column '{}': '{}' is not a count of trucks (0 to {})",
                        spec.csv_path, row, header[static_cast<size_t>(c)], cell.substr(0, 32),
                        kMaxReplayCount));
      }
      sum += v;
    }
    out.push_back(sum);
    if (spec.days > 0 && static_cast<int>(out.size()) >= spec.days) break;
  }
  if (out.empty()) {
    return InvalidArgument("bad_scenario",
                           fmt::format("{} has no rows from {}", spec.csv_path, spec.from));
  }
  double factor = spec.scale;
  if (spec.scale_to_mean > 0) {
    double mean = 0;
    for (double v : out) mean += v;
    mean /= static_cast<double>(out.size());
    factor = mean > 0 ? spec.scale_to_mean / mean : 0;
  }
  for (size_t day = 0; day < out.size(); ++day) {
    out[day] *= factor;
    if (out[day] > kMaxReplayCount) {
      return InvalidArgument("bad_scenario",
                             fmt::format("{}: day {} scales to {:.0f} trucks, more than {} a day "
                                         "(see scale and scale_to_mean)",
                                         spec.csv_path, day + 1, out[day], kMaxReplayCount));
    }
  }
  return out;
}

Result<Scenario> ParseScenario(std::string_view toml_text, const std::string& file) {
  toml::table root_table;
  try {
    root_table = toml::parse(toml_text, file);
  } catch (const toml::parse_error& err) {
    return InvalidArgument("bad_scenario",
                           fmt::format("{}:{}:{}: {}", file, err.source().begin.line,
                                       err.source().begin.column, err.description()));
  }
  const TomlSource source(file, "bad_scenario");
  TomlReader root(root_table, "", source);
  BF_TRY(root.RejectUnknown({"scenario", "gate", "arrivals", "traffic", "service", "channels",
                             "behaviour", "capacity_events", "link_outages"}));
  Scenario s;
  s.file = file;
  BF_ASSIGN_OR_RETURN(TomlReader head, root.Table("scenario"));
  BF_TRY(head.RejectUnknown(
      {"name", "description", "start", "days", "tick_seconds", "sample_minutes", "store"}));
  BF_ASSIGN_OR_RETURN(s.name, head.String("name", 4000));
  BF_ASSIGN_OR_RETURN(s.description, head.StringOr("description", std::string()));
  BF_ASSIGN_OR_RETURN(std::string start, head.String("start", 4000));
  auto t = ParseTimestamp(start);
  if (!t) return head.Fail("start", t.error().message);
  s.start = *t;
  BF_ASSIGN_OR_RETURN(s.days, head.Int("days", 1, 366));
  BF_ASSIGN_OR_RETURN(s.tick_seconds, head.Number("tick_seconds", 1, 3600, 60.0));
  BF_ASSIGN_OR_RETURN(s.sample_minutes, head.Number("sample_minutes", 1, 24 * 60, 60.0));
  BF_ASSIGN_OR_RETURN(s.store, head.StringOr("store", std::string("memory")));
  if (s.store != "memory" && s.store != "sqlite") {
    return head.Fail("store", "must be memory or sqlite");
  }
  BF_TRY(ParseGate(root, s));
  BF_TRY(ParseArrivals(root, s));
  BF_TRY(ParseTraffic(root, s));
  BF_TRY(ParseService(root, s));
  BF_TRY(ParseChannels(root, s));
  BF_ASSIGN_OR_RETURN(auto behaviour, root.OptionalTable("behaviour"));
  if (behaviour) {
    BF_TRY(behaviour->RejectUnknown({"no_show_rate", "booking_no_show_rate"}));
    BF_ASSIGN_OR_RETURN(s.no_show_rate, behaviour->Number("no_show_rate", 0, 1, 0.0));
    BF_ASSIGN_OR_RETURN(s.booking_no_show_rate,
                        behaviour->Number("booking_no_show_rate", 0, 1, 0.0));
  }
  BF_TRY(ParseEvents(root, s));
  return s;
}

Result<Scenario> LoadScenario(const std::string& path) {
  BF_ASSIGN_OR_RETURN(std::string text, ReadBounded(path, kMaxScenarioBytes, "scenario file"));
  return ParseScenario(text, path);
}

}  // namespace borderflow::sim

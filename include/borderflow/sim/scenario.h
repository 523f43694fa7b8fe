#pragma once

// A digital-twin scenario: the gate pair, the traffic that arrives (a non-homogeneous process by
// hour of day and day, or a replay of real daily counts), the traffic mix, service times per
// channel and lane class, channel selection, no-shows, capacity events and link outages.
// Parsed from TOML (format in docs/simulation.md); every error names the file, the line and the
// key ("scenarios/x.toml:12: arrivals.trucks_per_day: must be a number from 0 to 100000").

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/queue/capacity.h>
#include <borderflow/sim/random_stream.h>

namespace borderflow::sim {

// Trucks arriving at the border per day, shaped by hour of day, weekday and day of the run.
struct ArrivalSpec {
  double trucks_per_day = 0;  // mean rate before the factors
  // Relative intensity per local hour of day (0..23), normalised to mean 1.
  std::array<double, 24> hourly{};
  // Per weekday of the node's local calendar (Monday first), normalised to mean 1.
  std::array<double, 7> weekday{};
  // Per day of the run (day 0 first); days beyond the list use 1.
  std::vector<double> daily;
  // Replay: the expected number of trucks per day of the run, from a CSV of real daily counts
  // rescaled (replaces trucks_per_day × weekday × daily). Days beyond the replay wrap around.
  std::vector<double> replay_per_day;
  std::string replay_source;  // "file.csv: columns ..., from ... (n days, scaled ×f)"
  // How long before reaching the border the forwarder declares (hours).
  Distribution declare_lead_hours = Distribution::Deterministic(0);

  // The arrival rate (trucks per hour) during local hour `hour` of run day `day` whose local
  // weekday is `weekday` (0 = Monday).
  double RatePerHour(int day, int weekday, int hour) const;
};

// One part of the traffic.
struct TrafficClass {
  std::string direction;
  std::string lane_class;
  double share = 0;          // of all arrivals (shares are normalised)
  double trusted_share = 0;  // declared by a trusted trader
  double booking_share = 0;  // book a slot at declaration instead of joining the live queue
  bool perishable = false;   // from the gate configuration's lane class
  bool empty = false;        // empty returns: no consignment
  std::optional<Distribution> freshness_hours;  // perishables: deadline after arrival (hours)
  std::string hs_code = "0810.60";              // the consignment's HS code (loaded trucks)
};

// Service time (minutes) at the gate for a lane class and channel ("" matches any).
struct ServiceTime {
  std::string lane_class;
  std::string channel;  // "green", "yellow", "red"
  Distribution minutes = Distribution::Exponential(15);
};

// Channel selection when no rule file is given: shares of green, yellow and red, and the share
// of perishable loads selected for quarantine inspection.
struct ChannelRates {
  double green = 0.7;
  double yellow = 0.1;
  double red = 0.2;
  double quarantine = 0;
};

// A capacity change issued to the engine at `announce_at` (ChangeCapacity).
struct CapacityEvent {
  Timestamp announce_at;
  CapacityChange change;
};

// The cross-border link down over [from, until): the gate falls back to paper, service times
// are multiplied by `service_factor`.
struct LinkOutage {
  Timestamp from;
  Timestamp until;
  double service_factor = 2;
};

struct Scenario {
  std::string file;  // where it was read from (for messages)
  std::string name;
  std::string description;
  GateConfig gate;
  std::string gate_file;
  Timestamp start;
  int days = 1;
  double tick_seconds = 60;      // the engine's queue timer
  double sample_minutes = 60;    // queue-length samples for the report
  std::string store = "memory";  // "memory" or "sqlite"

  ArrivalSpec arrivals;
  std::vector<TrafficClass> traffic;
  std::vector<ServiceTime> service;  // later entries win over earlier ones
  Distribution travel_to_gate_minutes = Distribution::Uniform(5, 15);
  std::optional<ChannelRates> channel_rates;
  std::string rules_text;  // a rule set to activate (assessment by the risk rules)
  std::string rules_file;
  double no_show_rate = 0;          // a called truck does not come to the gate
  double booking_no_show_rate = 0;  // a booked truck never arrives
  std::vector<CapacityEvent> capacity_events;
  std::vector<LinkOutage> link_outages;

  Timestamp end() const { return start + std::chrono::hours(24 * days); }
  // The service time of a lane class and channel: the last matching entry.
  const Distribution& ServiceFor(std::string_view lane_class, std::string_view channel) const;
};

// What the twin reads, bounded like the gate configuration (LoadGateConfig): a file over its
// limit is refused without being read on (a mistyped path to a huge file or /dev/zero), and an
// array of tables over its limit before its entries are read.
inline constexpr size_t kMaxScenarioBytes = 1 << 20;         // the scenario file
inline constexpr size_t kMaxScenarioGateBytes = 1 << 20;     // its gate configuration ([gate])
inline constexpr size_t kMaxScenarioReplayBytes = 64 << 20;  // a replayed CSV ([arrivals.replay])
inline constexpr size_t kMaxTrafficClasses = 256;            // [[traffic]]
inline constexpr size_t kMaxServiceTimes = 256;              // [[service.times]]
inline constexpr size_t kMaxCapacityEvents = 10000;          // [[capacity_events]]
inline constexpr size_t kMaxLinkOutages = 10000;             // [[link_outages]]
// (The rule file of [channels] is bounded as an uploaded rule set: rules::kMaxRuleSetTextBytes.)

// Parses a scenario. `file` names it in errors and anchors relative paths (gate config, rules,
// replay CSV). Errors: invalid_argument "bad_scenario" with "file:line: key: what"; a file
// named in it that is over its limit, or an array of tables with more entries than its limit,
// is refused with the file, the key and the limit.
Result<Scenario> ParseScenario(std::string_view toml_text, const std::string& file);
// Reads and parses a scenario file. Errors as ParseScenario; a file larger than
// kMaxScenarioBytes is refused with its path and the limit (invalid_argument "bad_scenario").
Result<Scenario> LoadScenario(const std::string& path);

// The expected daily counts of a replay: reads `csv`, takes the rows from `from` (YYYY-MM-DD) on,
// sums `columns` per row (empty cells count 0) and rescales to mean `scale_to_mean` (or by
// `scale`). Exposed for tests.
struct ReplaySpec {
  std::string csv_path;
  std::string date_column;
  std::vector<std::string> columns;
  std::string from;
  int days = 0;  // 0: all rows from `from`
  double scale_to_mean = 0;
  double scale = 1;
};
Result<std::vector<double>> ReadReplay(const ReplaySpec& spec);

}  // namespace borderflow::sim

#pragma once

// Configuration of one node of a gate pair: who we are, who the counterpart is, the directions
// and lane classes, operating hours in each side's local time, and the staging yard.
// Parsed from TOML (see config/huu-nghi.toml); parsing is pure (text in, value out).

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>

namespace borderflow {

// A display string in the three UI languages.
struct LocalizedText {
  std::string en;
  std::string vi;
  std::string zh;
};

struct LaneClass {
  std::string id;  // "general_cargo", "fresh_produce", "empty_return"
  LocalizedText name;
  bool perishable = false;  // crossings in this class must state a freshness deadline
  bool empty = false;       // empty trucks: no consignment lines
};

struct Direction {
  std::string id;                    // "VN-CN"
  std::string from_country;          // "VN"
  std::string to_country;            // "CN"
  std::map<std::string, int> lanes;  // lane class id -> number of lanes in this direction
};

// Daily opening hours in local time, minutes since midnight; open == close means closed.
struct OperatingHours {
  int open_minute = 0;
  int close_minute = 24 * 60;
};

// A public key of the counterpart pinned in our configuration ([[counterpart.keys]]). Two keys
// with overlapping validity let the counterpart rotate its key without a gap.
struct PinnedPeerKey {
  std::string id;          // "ed25519:0123456789abcdef" (borderflow node show)
  std::string public_key;  // base64, 32 bytes
  std::optional<Timestamp> not_before;
  std::optional<Timestamp> not_after;
};

struct GateSide {
  std::string node_id;  // "vn-huu-nghi"
  std::string country;  // ISO 3166 alpha-2: "VN", "CN"
  LocalizedText name;
  UtcOffset utc_offset;
  OperatingHours hours;
  // Public holidays in this side's local calendar, as days since 1970-01-01 ("2027-02-17").
  std::vector<int> holidays;
  std::string peer_url;             // the side's /peer/v1 endpoint (counterpart only)
  std::vector<PinnedPeerKey> keys;  // the side's signing keys (counterpart only)

  // Whether the side is open at `t` by its own local clock (hours and holidays).
  bool IsOpenAt(Timestamp t) const;
  // Whether the local day of `t` is a holiday of this side.
  bool IsHolidayAt(Timestamp t) const;
};

// The electronic queue's rules ([queue] in the configuration; every key has a default).
struct QueueSettings {
  Duration bucket = std::chrono::minutes(15);            // capacity time bucket (divides a day)
  Duration booking_horizon = std::chrono::hours(72);     // how far ahead a slot can be booked
  int max_open_bookings_per_company = 50;                // booked trucks not yet called
  Duration call_window = std::chrono::minutes(30);       // a called truck must reach the gate
  Duration late_arrival = std::chrono::minutes(60);      // after its slot ends, a booking lapses
  Duration late_cancel = std::chrono::hours(2);          // cancelling closer to the slot is late
  int strikes_for_ban = 2;                               // no-shows + late cancellations ...
  Duration strike_window = std::chrono::hours(24 * 30);  // ... within this window
  Duration ban = std::chrono::hours(24 * 14);            // eCherha: 14 days
  std::string policy = "smart";                          // fifo | cyclic | smart
  Duration fairness_bound = std::chrono::hours(2);       // smart: at most this later than FIFO
  // cyclic: calls per cycle for each priority class (eCherha: 1 : 1 : 1 : 5).
  int weight_trusted_perishable = 1;
  int weight_perishable = 1;
  int weight_trusted = 1;
  int weight_regular = 5;
  std::vector<std::string> trusted_traders;      // company ids with trusted-trader status
  std::map<std::string, Duration> service_time;  // lane class -> clearance time per truck/lane
  bool auto_call = true;                         // the engine calls trucks when lanes free up
  Duration service_time_default = std::chrono::minutes(20);

  Duration ServiceTime(std::string_view lane_class) const;
};

// Risk-based selectivity ([rules] in the configuration; optional).
struct RulesSettings {
  // Red (physical inspection) decisions per local day the inspection bays can take; beyond it a
  // red that no mandatory rule asks for becomes yellow. 0: unlimited.
  int red_per_day = 0;
  // USD per unit of each other currency that goods may be valued in ("CNY" -> 0.14), as the
  // customs authority publishes them: the rules compare values in USD. A line valued in a
  // currency without a rate has an unknown value, and every comparison with it is false.
  std::map<std::string, double, std::less<>> usd_per_unit;
};

// The cross-border link ([link] in the configuration). Without the section the node runs alone:
// nothing is sent to the counterpart and /peer/v1 is not served.
struct LinkSettings {
  bool enabled = false;
  // This node's signing key (borderflow node keygen), and optionally the next one with the
  // time it takes over (key rotation). Relative paths are relative to the configuration file.
  std::string key_file;
  std::string next_key_file;
  std::optional<Timestamp> next_key_from;
  // The HTTPS listener for the counterpart ("host:port"; port 0 picks one, for tests).
  std::string listen = "127.0.0.1:8443";
  // Our TLS certificate and key (PEM). Empty: a self-signed certificate is made at start.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // When set, the counterpart's TLS certificate must chain to this CA. Empty: not verified;
  // every message is trusted only through its signature either way.
  std::string peer_ca_file;
  Duration max_clock_skew = std::chrono::minutes(5);      // messages from further ahead: refused
  Duration max_message_age = std::chrono::hours(24 * 7);  // older messages: refused
  // "clean_and_seal_intact": a counterpart inspection with no finding is recognised when the
  // truck arrives with the same seal intact; "never": every truck is checked here again.
  std::string recognise_inspections = "clean_and_seal_intact";
  int announce_hours = 24;  // capacity announced ahead (acceptance per lane class per hour)
  Duration retry_min = std::chrono::milliseconds(200);  // sender backoff after a failure ...
  Duration retry_max = std::chrono::seconds(30);        // ... doubling up to this
  int batch_size = 256;                                 // messages per request
  // Requests to the peer listener's /peer/v1/messages allowed to each client address per
  // second, with bursts up to `peer_rate_burst`; beyond it 429 "rate_limited" (problem
  // details, Retry-After). A refused batch is retried by the counterpart's sender. 0: no limit.
  int peer_rate_per_second = 20;
  int peer_rate_burst = 60;
};

// At most this many [[lane_classes]]: a capacity announcement to the counterpart names each,
// and a counterpart's decoder takes at most kMaxCapacityEntries (link/messages.h; checked in
// engine_link.cpp).
inline constexpr size_t kMaxLaneClasses = 64;

struct GateConfig {
  GateSide self;
  GateSide counterpart;
  std::vector<LaneClass> lane_classes;
  std::vector<Direction> directions;
  int staging_yard_capacity = 0;
  Duration declaration_validity = std::chrono::hours(72);
  QueueSettings queue;
  RulesSettings rules;
  LinkSettings link;

  const Direction* FindDirection(std::string_view id) const;
  const LaneClass* FindLaneClass(std::string_view id) const;
  // Opens both sides all day, every day, with no holidays: for demos and benchmarks that must
  // work at whatever hour they run (a closed gate calls no truck forward).
  void OpenAroundTheClock();
};

// Parses and validates a gate pair configuration. Every key is strictly typed and an unknown key
// or table is refused. Errors (code "invalid_config") name the line and the key path, which is
// also the error's field: "huu-nghi.toml:23: directions[0].lanes.fresh_produc: is not a lane
// class", headed by `source_name` (the file) when given and by "line 23" otherwise; a TOML
// syntax error gives the line and column.
Result<GateConfig> ParseGateConfig(std::string_view toml_text, std::string_view source_name = {});

}  // namespace borderflow

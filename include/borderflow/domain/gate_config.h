#pragma once

// Configuration of one node of a gate pair: who we are, who the counterpart is, the directions
// and lane classes, operating hours in each side's local time, and the staging yard.
// Parsed from TOML (see config/huu-nghi.toml); parsing is pure (text in, value out).

#include <map>
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

struct GateSide {
  std::string node_id;  // "vn-huu-nghi"
  std::string country;  // ISO 3166 alpha-2: "VN", "CN"
  LocalizedText name;
  UtcOffset utc_offset;
  OperatingHours hours;
  std::string peer_url;  // the side's /peer/v1 endpoint (counterpart only)

  // Whether the side is open at `t` by its own local clock.
  bool IsOpenAt(Timestamp t) const;
};

struct GateConfig {
  GateSide self;
  GateSide counterpart;
  std::vector<LaneClass> lane_classes;
  std::vector<Direction> directions;
  int staging_yard_capacity = 0;
  Duration declaration_validity = std::chrono::hours(72);

  const Direction* FindDirection(std::string_view id) const;
  const LaneClass* FindLaneClass(std::string_view id) const;
};

// Parses and validates a gate pair configuration. Errors (code "invalid_config") name the key
// ("counterpart.utc_offset") and, for TOML syntax errors, the line and column.
Result<GateConfig> ParseGateConfig(std::string_view toml_text);

}  // namespace borderflow

// Fuzz target: gate pair configuration in TOML (include/borderflow/domain/gate_config.h).
// Debian's toml++ reports syntax errors by throwing toml::parse_error, which ParseGateConfig
// turns into a value; any other exception escaping ParseGateConfig is a bug.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <string_view>
#include <typeinfo>

#include <borderflow/domain/gate_config.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;

namespace {

void CheckSide(const bf::GateSide& side, std::string_view what) {
  FUZZ_CHECK(!side.node_id.empty(), std::string(what));
  FUZZ_CHECK(side.country.size() == 2, std::string(what));
  FUZZ_CHECK(side.hours.open_minute >= 0 && side.hours.open_minute <= 24 * 60 &&
                 side.hours.close_minute >= 0 && side.hours.close_minute <= 24 * 60,
             std::string(what));
  for (int64_t ms :
       {int64_t{0}, int64_t{1'795'000'000'000}, int64_t{-86'400'000}, int64_t{4'102'444'800'000}}) {
    (void)side.IsOpenAt(bf::FromUnixMillis(ms));
  }
}

void CheckConfig(const bf::GateConfig& c) {
  CheckSide(c.self, "node");
  CheckSide(c.counterpart, "counterpart");
  FUZZ_CHECK(c.self.node_id != c.counterpart.node_id, c.self.node_id);
  FUZZ_CHECK(!c.lane_classes.empty() && !c.directions.empty(), "no lane classes or directions");
  FUZZ_CHECK(c.staging_yard_capacity >= 0, std::to_string(c.staging_yard_capacity));
  FUZZ_CHECK(c.declaration_validity >= std::chrono::hours(1), "declaration validity");
  std::set<std::string> classes;
  for (const auto& lc : c.lane_classes) {
    FUZZ_CHECK(classes.insert(lc.id).second, "duplicate lane class " + lc.id);
    FUZZ_CHECK(c.FindLaneClass(lc.id) == &lc, lc.id);
  }
  for (const auto& d : c.directions) {
    FUZZ_CHECK(c.FindDirection(d.id) == &d, "duplicate direction " + d.id);
    FUZZ_CHECK(d.from_country != d.to_country, d.id);
    for (const auto& [lane_class, count] : d.lanes) {
      FUZZ_CHECK(classes.contains(lane_class), d.id + ": " + lane_class);
      FUZZ_CHECK(count >= 0 && count <= 100, d.id + ": " + lane_class);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto config = bf::ParseGateConfig(text);
    if (config) {
      CheckConfig(*config);
    } else {
      FUZZ_CHECK(config.error().code == "invalid_config", config.error().ToString());
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("exception escaped ParseGateConfig: ") + typeid(e).name() + ": " +
                          e.what() + "\n  input: " + Escaped(text));
  } catch (...) {
    FUZZ_CHECK(false, "non-standard exception escaped ParseGateConfig; input: " + Escaped(text));
  }
  return 0;
}

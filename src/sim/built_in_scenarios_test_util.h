#pragma once

// The repository's built-in scenarios, for tests that run each of them.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <borderflow/sim/scenario.h>

namespace borderflow::sim::testing {

// Every scenarios/*.toml, loaded; a load error is kept for the test to report. Skipped:
// replay-cascade.toml when its replayed counts cannot be read, since they live beside the
// repository (../shared/data), not in a fresh clone.
struct BuiltInScenario {
  std::filesystem::path path;
  Result<Scenario> scenario;
};

inline std::vector<BuiltInScenario> LoadBuiltInScenarios() {
  std::vector<BuiltInScenario> out;
  const std::filesystem::path dir = std::filesystem::path(BORDERFLOW_SOURCE_DIR) / "scenarios";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    Result<Scenario> s = LoadScenario(entry.path().string());
    if (!s && entry.path().filename() == "replay-cascade.toml" &&
        s.error().message.find("cannot read") != std::string::npos) {
      continue;
    }
    out.push_back({entry.path(), std::move(s)});
  }
  return out;
}

}  // namespace borderflow::sim::testing

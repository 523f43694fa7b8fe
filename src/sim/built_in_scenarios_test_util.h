#pragma once

// The repository's built-in scenarios, for tests that run each of them.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <borderflow/sim/scenario.h>

namespace borderflow::sim::testing {

// Every scenarios/*.toml, loaded; a load error is kept for the test to report.
struct BuiltInScenario {
  std::filesystem::path path;
  Result<Scenario> scenario;
};

inline std::vector<BuiltInScenario> LoadBuiltInScenarios() {
  std::vector<BuiltInScenario> out;
  const std::filesystem::path dir = std::filesystem::path(BORDERFLOW_SOURCE_DIR) / "scenarios";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    out.push_back({entry.path(), LoadScenario(entry.path().string())});
  }
  return out;
}

}  // namespace borderflow::sim::testing

#pragma once

// The Huu Nghi gate pair's configuration (config/huu-nghi.toml) for the engine's tests.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include <borderflow/domain/gate_config.h>

namespace borderflow::testing {

inline GateConfig HuuNghi() {
  std::ifstream in(std::filesystem::path(BORDERFLOW_SOURCE_DIR) / "config" / "huu-nghi.toml");
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseGateConfig(text.str());
  EXPECT_TRUE(config) << config.error().ToString();
  return config ? *config : GateConfig{};
}

}  // namespace borderflow::testing

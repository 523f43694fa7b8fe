#pragma once

// Fixtures of the engine's tests: the Huu Nghi gate pair's configuration (config/huu-nghi.toml)
// and a declaration of fresh durian.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/core/hs_code.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>
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

// A declaration of a truck of fresh durian from Vietnam to China, as a forwarder would send it.
inline std::string DeclarationJson(std::string_view plate = "12C-123.45",
                                   std::string_view lane_class = "fresh_produce") {
  return fmt::format(R"({{
    "direction": "VN-CN",
    "lane_class": "{}",
    "vehicle": {{"plate": "{}", "container_number": "CSQU3054383"}},
    "driver": {{"name": "Nguyen Van An", "document_number": "B1234567", "nationality": "VN"}},
    "lines": [{{"hs_code": "0810.60", "description": "Fresh durian", "packages": 800,
                "gross_weight_kg": 16000, "value": {{"amount": "48000.00", "currency": "USD"}},
                "origin_country": "VN"}}],
    "freshness_deadline": "2026-11-30T20:00:00+07:00"
  }})",
                     lane_class, plate);
}

// The same, decoded.
inline Declaration MakeDeclaration(std::string_view plate = "12C-123.45",
                                   std::string_view lane_class = "fresh_produce") {
  auto body = ParseJson(DeclarationJson(plate, lane_class));
  EXPECT_TRUE(body) << body.error().ToString();
  auto d = DecodeDeclaration(*body, *HsNomenclature::Hs2022());
  EXPECT_TRUE(d) << d.error().ToString();
  return d ? *d : Declaration{};
}

}  // namespace borderflow::testing

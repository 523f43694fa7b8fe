#pragma once

// The demo gate pair's users and crossings, created through the engine like any other data.

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include <borderflow/engine/engine.h>

namespace borderflow::cli {

struct DemoUser {
  std::string name;
  std::string role;
  std::string company_id;
  std::string token;
  std::string driver_document = {};  // the demo driver: the first demo crossing's driver
};

// Adds one user per role (two forwarder companies), issues their tokens and declares a dozen
// crossings in different states of the lifecycle, each step sent by the role that owns it.
// With `crossings` false, only the users and tokens (the counterpart node of the demo pair).
Result<std::vector<DemoUser>> SeedDemo(Engine& engine, bool crossings = true);

// Drives one truck across the demo pair over the two nodes' HTTP APIs, a step every
// `pause`, printing each step: declared and assessed at Huu Nghi, pre-announced at Youyiguan,
// through the Vietnamese gate (inspected, seal intact), handed over, received and released on
// the Chinese side. Returns when the truck is closed on both sides, or on the first failure
// (its reason), or when `stop` turns true.
Status DriveDemoCrossing(uint16_t vn_port, const std::vector<DemoUser>& vn_users, uint16_t cn_port,
                         const std::vector<DemoUser>& cn_users, std::chrono::milliseconds pause,
                         const std::atomic<bool>& stop);

}  // namespace borderflow::cli

#pragma once

// The demo gate pair's users and crossings, created through the engine like any other data.

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
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

struct DemoDriveOptions {
  // Before each step (the demo: 3 s, so that one can watch the truck in the web app).
  std::chrono::milliseconds pause{3000};
  // Where each step is told ("  [truck] ..." lines).
  std::ostream* out = &std::cout;
  // Called before each step's request, with the step's event ("assess", "call_forward", ...)
  // and the crossing's id: tests let the queue call the truck forward before the operator.
  std::function<void(std::string_view event, const std::string& crossing_id)> before_step;
};

// Drives one truck across the demo pair over the two nodes' HTTP APIs, a step every
// `options.pause`, telling each step: declared and assessed at Huu Nghi, pre-announced at
// Youyiguan, through the Vietnamese gate (inspected, seal intact), handed over, received and
// released on the Chinese side. A call forward that the queue made first (the node's queue
// timer) is accepted in place of the operator's. Returns when the truck is closed on both
// sides, or on the first failure (its reason), or when `stop` turns true.
Status DriveDemoCrossing(uint16_t vn_port, const std::vector<DemoUser>& vn_users, uint16_t cn_port,
                         const std::vector<DemoUser>& cn_users, const DemoDriveOptions& options,
                         const std::atomic<bool>& stop);

}  // namespace borderflow::cli

#pragma once

// The demo gate pair's users and crossings, created through the engine like any other data.

#include <string>
#include <vector>

#include <borderflow/engine/engine.h>

namespace borderflow::cli {

struct DemoUser {
  std::string name;
  std::string role;
  std::string company_id;
  std::string token;
};

// Adds one user per role (two forwarder companies), issues their tokens and declares a dozen
// crossings in different states of the lifecycle, each step sent by the role that owns it.
Result<std::vector<DemoUser>> SeedDemo(Engine& engine);

}  // namespace borderflow::cli

#pragma once

// `borderflow simulate`: runs a digital-twin scenario on the real engine (in process, on virtual
// time) under one or more queue policies and lane counts, and writes the JSON result and the
// HTML comparison report (src/sim/, docs/simulation.md).

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace borderflow::cli {

// Adds `simulate` to `app`. Returns the function to call once the command line is parsed: it
// runs the simulation and returns its exit code (0 done, 2 bad scenario or options, or a file
// that cannot be written), or std::nullopt when `simulate` was not given.
std::function<std::optional<int>()> AddSimCommands(CLI::App& app);

}  // namespace borderflow::cli

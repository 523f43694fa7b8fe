#pragma once

// `borderflow simulate`: runs a digital-twin scenario on the real engine (in process, on virtual
// time) under one or more queue policies and lane counts, and writes the JSON result and the
// HTML comparison report (src/sim/, docs/simulation.md).

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace borderflow::cli {

// Adds `simulate` to `app`. Returns the function to call once the command line is parsed: it
// runs the simulation and returns its exit code (0 done, 2 bad scenario or options, or a file
// that cannot be written), or std::nullopt when `simulate` was not given.
std::function<std::optional<int>()> AddSimCommands(CLI::App& app);

// The progress bar's line for run `run` of `runs` at `fraction` of virtual time: at most
// `columns` - 1 characters (the bar shrinks, then the label goes); whole percents only, so the
// caller redraws only when the line changes.
std::string SimProgressLine(double fraction, size_t run, size_t runs, const std::string& label,
                            int columns);

}  // namespace borderflow::cli

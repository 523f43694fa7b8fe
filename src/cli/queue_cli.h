#pragma once

// The borderflow subcommands that talk to a running node over HTTP: queue, capacity, ban,
// plate-read and wait-board. A node keeps its electronic queue in memory, so these commands
// never open the database: they call the node's API like any other client.

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace borderflow::cli {

// Adds the commands to `app`. Returns the function to call once the command line is parsed: it
// runs the command given and returns its exit code (0 success, 1 the node refused the request,
// 2 bad input, no connection or a server failure), or std::nullopt when the command line named
// none of these commands.
std::function<std::optional<int>()> AddQueueCommands(CLI::App& app);

}  // namespace borderflow::cli

#pragma once

// The borderflow subcommands that talk to a running node over HTTP: queue, capacity, ban,
// plate-read and wait-board. A node keeps its electronic queue in memory, so these commands
// never open the database: they call the node's API like any other client.

#include <functional>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace borderflow::cli {

// Adds the commands to `app`. Returns the function to call once the command line is parsed: it
// runs the command given and returns its exit code (0 success, 1 the node refused the request,
// 2 bad input, no connection or a server failure), or std::nullopt when the command line named
// none of these commands.
std::function<std::optional<int>()> AddQueueCommands(CLI::App& app);

// The node and the token of a command over HTTP, once its command line is parsed: a flag that
// was given always wins; else BORDERFLOW_URL and BORDERFLOW_TOKEN; else the local default URL.
// (The flags carry no CLI11 envname: with several subcommands sharing one variable, the
// environment overrode a given flag.)
void ResolveRemote(std::string& url, std::string& token);
inline constexpr const char* kDefaultNodeUrl = "http://127.0.0.1:8080";

}  // namespace borderflow::cli

#pragma once

// The `borderflow rules` subcommands (issue 4). Offline: check a rule file, dry-run it against
// the declarations of a database file, explain a crossing's decision from the audit trail.
// Over HTTP to a running node: `rules watchlist list|show|put` (the node keeps watch lists in
// memory). Upload and activation go through the HTTP API (docs/operations.md, "Risk rules").

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace borderflow::cli {

// Adds `rules check|test|explain|watchlist` to `app`. The returned function runs the command given
// once the command line is parsed (exit 0 ok, 1 invalid rules / nothing found, 2 could not run), or
// returns std::nullopt when the command line named none of them.
std::function<std::optional<int>()> AddRulesCommands(CLI::App& app);

}  // namespace borderflow::cli

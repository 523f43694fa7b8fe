#pragma once

// The offline `borderflow node` subcommands (issue 5): create this node's Ed25519 key for the
// cross-border link and show what the counterpart must pin.

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace borderflow::cli {

// Adds `node keygen|show` to `app`. The returned function runs the command given once the
// command line is parsed (exit 0 ok, 2 could not run: the key file exists, is unreadable or
// corrupt), or returns std::nullopt when the command line named none of them.
std::function<std::optional<int>()> AddNodeCommands(CLI::App& app);

}  // namespace borderflow::cli

#pragma once

namespace borderflow::cli {

// Runs the borderflow command line (serve, demo, migrate, audit verify, user, token) and
// returns the process exit code: 0 success, 1 a check failed, 2 the command could not run.
int RunCli(int argc, char** argv);

}  // namespace borderflow::cli

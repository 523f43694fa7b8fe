// The borderflow binary: wiring only; every command lives in src/cli.
#include <borderflow/cli/cli.h>

int main(int argc, char** argv) { return borderflow::cli::RunCli(argc, argv); }

#!/usr/bin/env bash
# Installs what is missing, builds borderflow with AddressSanitizer and UndefinedBehaviorSanitizer
# and runs every test (unit, scenario, integration and process tests) through CTest; also builds
# the release binary that the Quick start's demo runs.
#
# The PostgreSQL store's tests run against a throwaway cluster (scripts/pg-cluster.sh) started
# after the build and stopped on exit, whether the tests pass, fail or are interrupted. Set
# BORDERFLOW_TEST_PG_URL to use a database of your own instead (each test makes and drops a
# schema of its own in it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset asan >/dev/null
cmake --build --preset asan
# The Quick start's demo runs the release build (scripts/demo.sh): build it too, so that what
# only the optimiser warns about (-O2 with -Werror) fails here, not on a newcomer's first command.
cmake --preset release >/dev/null
cmake --build --preset release --target borderflow

if [ -z "${BORDERFLOW_TEST_PG_URL:-}" ]; then
  pg_dir=""
  # Traps first: a signal during the start is handled once the start returns the directory.
  trap '[ -z "$pg_dir" ] || bash scripts/pg-cluster.sh stop "$pg_dir"' EXIT
  trap 'exit 130' INT TERM
  pg_dir=$(bash scripts/pg-cluster.sh start)
  BORDERFLOW_TEST_PG_URL=$(bash scripts/pg-cluster.sh url "$pg_dir")
  export BORDERFLOW_TEST_PG_URL
  echo "test: PostgreSQL test cluster at $BORDERFLOW_TEST_PG_URL"
fi
# The PostgreSQL cases fail instead of being skipped if the URL goes missing.
export BORDERFLOW_REQUIRE_PG=1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset asan -j2 "$@"

#!/usr/bin/env bash
# Installs what is missing, builds borderflow with AddressSanitizer and UndefinedBehaviorSanitizer
# and runs every test (unit, scenario, integration and process tests) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset asan >/dev/null
cmake --build --preset asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset asan -j2 "$@"

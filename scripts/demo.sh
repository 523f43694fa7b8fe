#!/usr/bin/env bash
# Quick start: installs what is missing, builds borderflow (release) and starts a demo node of
# the Huu Nghi – Youyiguan gate pair on the embedded SQLite database.
# Extra arguments go to `borderflow demo` (e.g. --port 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target borderflow
exec ./build/release/apps/borderflow/borderflow demo "$@"

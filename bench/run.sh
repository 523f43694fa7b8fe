#!/usr/bin/env bash
# Builds the release preset and runs the durable-ingest benchmark. Arguments go to ingest_bench
# (e.g. --seconds 10 --markdown /tmp/ingest.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target ingest_bench
./build/release/bench/ingest_bench "$@"

#!/usr/bin/env bash
# Builds the release preset and runs one benchmark. The first argument names it (default:
# ingest); the rest go to the benchmark:
#   bash bench/run.sh                      durable event ingest (--seconds 10 --markdown F ...)
#   bash bench/run.sh queue                booking throughput and re-planning (--trucks 10000)
#   bash bench/run.sh rules                declarations assessed per second, 200 rules
#   bash bench/run.sh link                 signed messages per second between the two nodes
set -euo pipefail
cd "$(dirname "$0")/.."
bench=ingest
case "${1:-}" in
  ingest|queue|rules|link) bench=$1; shift ;;
esac
bash scripts/setup.sh >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target "${bench}_bench"
"./build/release/bench/${bench}_bench" "$@"

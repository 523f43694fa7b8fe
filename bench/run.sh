#!/usr/bin/env bash
# Builds the release preset and runs one benchmark. The first argument names it (default:
# ingest); the rest go to the benchmark:
#   bash bench/run.sh                      durable event ingest (--seconds 10 --markdown F ...)
#   bash bench/run.sh queue                booking throughput and re-planning (--trucks 10000)
#   bash bench/run.sh rules                declarations assessed per second, 200 rules
#   bash bench/run.sh link                 signed messages per second between the two nodes
#   bash bench/run.sh audit                the audit hash per record, now and as it was
#   bash bench/run.sh sim                  digital twin: event core (vs SimPy), 90-day season
#   bash bench/run.sh ingest --pg ...      ingest on SQLite and on PostgreSQL in the same run (a
#                                          durable throwaway cluster, scripts/pg-cluster.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=ingest
case "${1:-}" in
  ingest|queue|rules|link|sim|audit) bench=$1; shift ;;
esac
bash scripts/setup.sh >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target "${bench}_bench"
args=()
pg=0
for a in "$@"; do
  if [ "$bench" = ingest ] && [ "$a" = --pg ]; then pg=1; else args+=("$a"); fi
done
if [ "$pg" = 1 ]; then
  pg_dir=""
  trap '[ -z "$pg_dir" ] || bash scripts/pg-cluster.sh stop "$pg_dir"' EXIT
  trap 'exit 130' INT TERM
  pg_dir=$(PG_CLUSTER_DURABLE=1 bash scripts/pg-cluster.sh start)
  args+=(--pg-url "$(bash scripts/pg-cluster.sh url "$pg_dir")")
fi
"./build/release/bench/${bench}_bench" ${args[@]+"${args[@]}"}

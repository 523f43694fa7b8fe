#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks (the recipe of ../shared/STACK.md 4.10):
# initdb in a fresh temporary directory, one server on 127.0.0.1 and a free port, trust
# authentication, a database `borderflow`.
#
#   dir=$(bash scripts/pg-cluster.sh start)   # prints the cluster's directory
#   bash scripts/pg-cluster.sh url "$dir"     # postgresql://postgres@127.0.0.1:PORT/borderflow
#   bash scripts/pg-cluster.sh stop "$dir"    # stops the server and removes the directory
#
# As root, initdb and pg_ctl run as the `postgres` user (runuser); as anyone else, directly.
# By default the cluster trades durability for speed (fsync, synchronous_commit and
# full_page_writes off: tests only). PG_CLUSTER_DURABLE=1 keeps PostgreSQL's durable defaults
# (benchmarks of durable ingest).
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 2; }

pgbin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "no PostgreSQL server found (apt-get install postgresql)"
  echo "$bin"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  local bin dir port tries
  bin=$(pgbin)
  dir=$(mktemp -d -t bfpg.XXXXXX)
  # Interrupted (Ctrl-C reaches the whole process group): leave nothing behind.
  trap 'cmd_stop "$dir"; exit 130' INT TERM
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
  if ! as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync \
      >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    die "initdb failed"
  fi
  local fast=""
  if [ "${PG_CLUSTER_DURABLE:-0}" != 1 ]; then
    fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  # A free port from a random start; retried if another process takes it first.
  port=$((55432 + RANDOM % 2000))
  for tries in $(seq 1 20); do
    if port_free "$port" &&
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $fast" \
        start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      if ! as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres borderflow; then
        cmd_stop "$dir"
        die "createdb failed"
      fi
      trap - INT TERM
      echo "$dir"
      return 0
    fi
    port=$((port + 1))
  done
  cat "$dir/server.log" >&2 2>/dev/null || true
  rm -rf "$dir"
  die "could not start a server (tried 20 ports)"
}

check_dir() {
  [ -n "${1:-}" ] || die "usage: pg-cluster.sh start | url DIR | stop DIR"
  case "$1" in
    */bfpg.*) ;;
    *) die "'$1' is not a directory made by pg-cluster.sh start" ;;
  esac
}

cmd_url() {
  check_dir "${1:-}"
  [ -f "$1/port" ] || die "no cluster running in '$1'"
  echo "postgresql://postgres@127.0.0.1:$(cat "$1/port")/borderflow"
}

cmd_stop() {
  check_dir "${1:-}"
  [ -d "$1" ] || return 0
  if [ -f "$1/data/postmaster.pid" ]; then
    as_owner "$(pgbin)/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      echo "pg-cluster: pg_ctl stop failed (see $1/server.log)" >&2
  fi
  rm -rf "$1"
}

case "${1:-}" in
  start) cmd_start ;;
  url) cmd_url "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  *) die "usage: pg-cluster.sh start | url DIR | stop DIR" ;;
esac

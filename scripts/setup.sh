#!/usr/bin/env bash
# Installs the Debian 12 packages borderflow needs to build, test and run. Idempotent: it
# installs only what is missing. Runs as root, or through sudo.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache
  # libraries (Boost 1.81 only: never libboost-dev / libboost-all-dev, which are 1.74)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev sqlite3 libsodium-dev libspdlog-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev prometheus-cpp-dev libhowardhinnant-date-dev
  # the programs' allocator (tcmalloc; CMake option BORDERFLOW_MALLOC)
  libgoogle-perftools-dev
  # PostgreSQL: the client library for the PostgreSQL store, the server for its tests
  libpq-dev postgresql
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the digital twin benchmark compares its event core with SimPy (bench/sim_mmc_simpy.py)
  python3-simpy
)
# The web app (web/): node and npm build it, Debian's chromium runs its browser tests. A node
# that came with its own npm (from another source) is kept; otherwise Debian's nodejs and npm.
# fonts-wqy-microhei: a font with Chinese glyphs, so that the browser tests (and their
# screenshots) show the Chinese interface as text, not as empty boxes.
PACKAGES+=(chromium fonts-wqy-microhei)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

# Installs the web app's npm packages (npm ci, skipped while node_modules matches the lock file)
# and builds it into web/dist, which `borderflow serve` serves.
build_web() {
  local web
  web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
  [ -f "$web/package-lock.json" ] || return 0
  if [ ! -f "$web/node_modules/.package-lock.json" ] ||
    [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in web/"
    (cd "$web" && npm ci --no-audit --no-fund)
  fi
  echo "setup: building the web app into web/dist"
  (cd "$web" && npm run --silent build >/dev/null)
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages are installed"
  build_web
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
build_web

#!/usr/bin/env bash
# Runs the web app's tests (CTest: web.browser). Exit 77 (skipped) only when node, the npm
# packages or chromium are missing; scripts/setup.sh installs them, so CI runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium="${BORDERFLOW_CHROMIUM:-/usr/bin/chromium}"
if ! command -v node >/dev/null 2>&1; then
  echo "web tests skipped: node is not installed (run scripts/setup.sh)"
  exit 77
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/vite ]; then
  echo "web tests skipped: web/node_modules is missing (run scripts/setup.sh, or npm ci in web/)"
  exit 77
fi
if [ ! -x "$chromium" ]; then
  echo "web tests skipped: $chromium is missing (run scripts/setup.sh, or apt-get install chromium)"
  exit 77
fi
# Test what the sources say: build web/dist first (a few seconds).
npm run --silent build >/dev/null
exec node --test tests/unit.test.mjs tests/browser.test.mjs

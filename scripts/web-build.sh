#!/usr/bin/env bash
# Builds the web UI into web/dist (embedded by release builds of vigil): installs the
# pinned packages with `npm ci` when node_modules is missing or older than the lock,
# then type-checks, bundles and checks the bundle budget. Idempotent.
#   scripts/web-build.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../web"

if ! command -v npm >/dev/null 2>&1; then
  echo "web-build.sh: ERROR: node and npm (Node 20.19 or later) are needed to build the UI" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "web-build.sh: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

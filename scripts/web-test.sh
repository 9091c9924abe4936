#!/usr/bin/env bash
# The web UI's tests: Vitest units, tsc --noEmit, ESLint, the check that the generated
# API types match the server's document, then the Playwright end-to-end suite in
# Debian's chromium against the real release binary (which must embed the current
# build: scripts/test.sh builds the UI before cargo test for that reason).
#   scripts/web-test.sh [playwright arguments, e.g. -g "conflict"]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"

[ -f web/dist/index.html ] || bash scripts/web-build.sh
[ -f web/node_modules/.package-lock.json ] || bash scripts/web-build.sh

# Chromium comes from Debian, never from a Playwright download.
if [ ! -x /usr/bin/chromium ]; then
  echo "web-test.sh: installing chromium from Debian" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y --no-install-recommends chromium >&2 || {
    $SUDO apt-get update >&2
    $SUDO apt-get install -y --no-install-recommends chromium >&2
  }
fi
if [ ! -x "$CARGO_TARGET_DIR/release/vigil" ]; then
  cargo build --release --bin vigil
fi

cd web
echo "web-test.sh: vitest" >&2
TZ=UTC npx vitest run
echo "web-test.sh: tsc --noEmit" >&2
npx tsc --noEmit
echo "web-test.sh: eslint" >&2
npx eslint --max-warnings 0 .
node scripts/gen-api.mjs --check
echo "web-test.sh: playwright" >&2
npx playwright test "$@"

#!/usr/bin/env bash
# Runs every test: unit tests, the API tests (in parallel, isolated per test) and the
# fault tests (serially) against the local services, which are started if needed,
# then the web UI's tests (units, types, lint, Playwright end to end).
#   scripts/test.sh [cargo test arguments, e.g. --test api]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The tests run against PostgreSQL with autovacuum off, as on the development and CI
# machines: whatever Vigil churns must be kept compact by Vigil itself, and a test
# that only passes because autovacuum happened to run would hide that. Set
# VIGIL_PG_AUTOVACUUM=on (or empty, to leave the server as it is) to run otherwise.
VIGIL_PG_AUTOVACUUM="${VIGIL_PG_AUTOVACUUM-off}" bash scripts/services.sh
bash scripts/agent-test-deps.sh
bash scripts/test-deps.sh
bash scripts/ecosystem-deps.sh
bash scripts/promql-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"
# The web UI is built first, so the release build embeds it, and tested after.
bash scripts/web-build.sh
status=0
cargo test --release --workspace --all-targets "$@" || status=$?
web_status=0
bash scripts/web-test.sh || web_status=$?
if [ "$status" -eq 0 ]; then status=$web_status; fi
exit "$status"

#!/usr/bin/env bash
# Runs every test: unit tests, the API tests (in parallel, isolated per test) and the
# fault tests (serially) against the local services, which are started if needed.
#   scripts/test.sh [cargo test arguments, e.g. --test api]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/services.sh
bash scripts/agent-test-deps.sh
bash scripts/test-deps.sh
bash scripts/ecosystem-deps.sh
bash scripts/promql-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"
exec cargo test --release --workspace --all-targets "$@"

#!/usr/bin/env bash
# Starts the local services if needed, then runs Vigil against them.
#   scripts/serve.sh [--config FILE]      (arguments go to `vigil serve`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/services.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"
# The release binary embeds the web UI: build it first (npm ci on first use).
bash scripts/web-build.sh
exec cargo run --release --bin vigil -- serve "$@"

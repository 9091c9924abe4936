#!/usr/bin/env bash
# The web UI benchmark: the release binary with a fresh database, a 12-panel dashboard
# over 24 h (3 series each, 1-minute points) and a one-panel dashboard averaging 1,000
# series (BENCH_WIDE_SERIES=0 leaves it out), driven by Playwright in Debian's chromium.
# Prints `figure: name value` lines (results and method: docs/benchmarks-ui.md).
#
# BENCH_BASELINE_UI_DIR=/path/to/an/older/dist measures that build in the same run on a
# second server (same data), interleaved with the current one; both builds are then
# served from disk (http.ui_dir), so neither is favoured by embedding.
#   scripts/bench-ui.sh       BENCH_RUNS=10 BENCH_REFRESHES=30 BENCH_HEAP_REFRESHES=330 BENCH_WIDE_SERIES=1000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"
bash scripts/services.sh
bash scripts/web-build.sh
cargo build --release --bin vigil
if [ -n "${BENCH_BASELINE_UI_DIR:-}" ]; then
  [ -f "$BENCH_BASELINE_UI_DIR/index.html" ] || { echo "bench-ui.sh: no index.html in $BENCH_BASELINE_UI_DIR" >&2; exit 1; }
  export BENCH_BASELINE_UI_DIR="$(cd "$BENCH_BASELINE_UI_DIR" && pwd)"
  export VIGIL__HTTP__UI_DIR="$PWD/web/dist"
fi
echo "bench-ui.sh: load before the run: $(uptime)"
cd web
npx playwright test --config playwright.bench.config.ts 2>&1 | grep -E '^(figure|waterfall):|passed|failed|Error'
echo "bench-ui.sh: load after the run: $(uptime)"

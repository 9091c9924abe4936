#!/usr/bin/env bash
# Chaos loops under load with a ledger of every acknowledged point (see
# tests/faults/chaos.rs): kill -9 of `vigil serve`, the broker lost, PostgreSQL
# crashed (`pg_ctl stop -m immediate`), Redis hung (SIGSTOP), each against private
# servers on spare ports, never the shared ones. Prints a table: fault, iterations,
# acknowledged, lost, duplicated, other answers, recovery seconds.
#
#   scripts/chaos.sh [short|long]     short (default): 3 kills, 10 s outages, the
#                                     broker cut through a TCP proxy (what CI runs);
#                                     long: 20 kills, 30 s outages, 3 rounds each,
#                                     kill -9 of a private RabbitMQ node.
#   VIGIL_CHAOS_BROKER=node|proxy     override how the broker is taken away.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode="${1:-short}"
case "$mode" in
  short|long) ;;
  *) echo "usage: scripts/chaos.sh [short|long]" >&2; exit 2 ;;
esac
bash scripts/services.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"
echo "chaos.sh: $mode run, load: $(uptime)" >&2
VIGIL_CHAOS="$mode" cargo test --release --test faults chaos:: -- --nocapture --test-threads 1

#!/usr/bin/env bash
# PromQL latency of Vigil beside Prometheus 2.42 and VictoriaMetrics 1.79, on the same
# data, in one run: 2,000 series x 24 h at 10 s (1,000 cpu_usage gauges and 1,000
# http_requests_total counters), generated once by `vigil-bench promql-data`, loaded
# into Prometheus (promtool create-blocks-from openmetrics), VictoriaMetrics
# (/api/v1/import, then force_flush) and Vigil (COPY into its hourly raw partitions,
# then compacted into blocks by the server before anything is measured). The queries
# run warm through HTTP, RUNS times each after 2 warm-ups; answers are compared across
# the systems. Prints the figures (JSON lines, then a table) and removes everything it
# made: processes it started (by pid), data directories, database, queues, Redis keys.
#
#   bash scripts/bench-promql-run.sh [runs]    # default 20
#
# Needs the release build (cargo build --release --bins) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ecosystem-deps.sh
RUNS="${1:-20}"
DB=vigil_pqbench PORT=18690 PROM_PORT=18691 VM_PORT=18692 NAME=pqbench TAG=bench-promql
# shellcheck source=scripts/bench-day.sh
source scripts/bench-day.sh
day_setup
day_load --out "$WORK/data"

# Prometheus: blocks written by promtool into a fresh data directory.
T0=$(date +%s.%N)
mkdir -p "$WORK/prom"
promtool tsdb create-blocks-from openmetrics -q "$WORK/data/data.om" "$WORK/prom" >&2
echo "bench-promql: promtool wrote the blocks in $(echo "$(date +%s.%N) - $T0" | bc) s" >&2
rm -f "$WORK/data/data.om"
cat > "$WORK/prom.yml" <<EOF
global: {scrape_interval: 1h}
EOF
prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=30d \
  > "$WORK/prom.log" 2>&1 &
PIDS+=($!)
wait_http "127.0.0.1:$PROM_PORT/-/ready" prometheus || { tail -20 "$WORK/prom.log"; exit 1; }

# VictoriaMetrics: JSON-lines import, flushed so everything is searchable. The rollup
# result cache is off: every measured query computes its answer.
victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
  -retentionPeriod=2 -search.disableCache > "$WORK/vm.log" 2>&1 &
PIDS+=($!)
wait_http "127.0.0.1:$VM_PORT/health" victoria-metrics
T0=$(date +%s.%N)
curl -sf --data-binary @"$WORK/data/vm.jsonl" "127.0.0.1:$VM_PORT/api/v1/import"
curl -sf "127.0.0.1:$VM_PORT/internal/force_flush"
echo "bench-promql: VictoriaMetrics imported in $(echo "$(date +%s.%N) - $T0" | bc) s" >&2
rm -f "$WORK/data/vm.jsonl"

# The server starts once the peers are loaded (its compactor then has the machine).
day_serve

wait_idle
python3 scripts/bench-promql.py --runs "$RUNS" --start "$START" --end "$END" --token "$TOKEN" \
  --vigil "http://127.0.0.1:$PORT" --prometheus "http://127.0.0.1:$PROM_PORT" \
  --victoria "http://127.0.0.1:$VM_PORT" --redis-prefix "$NAME:"

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
bash scripts/services.sh >/dev/null
bash scripts/ecosystem-deps.sh
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
RUNS="${1:-20}"
DB=vigil_pqbench PORT=18690 PROM_PORT=18691 VM_PORT=18692 NAME=pqbench
WORK=$(mktemp -d /var/tmp/pqbench.XXXXXX)
export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_PASSWORD=bench-admin-pw
# Every closed hour is due at once, so the compactor starts on the loaded day at once.
export VIGIL__COMPACTION__AFTER=1m VIGIL__COMPACTION__INTERVAL=5s

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true

# Waits (up to 1 min) until the whole machine uses under 0.25 cores for 3 s, so
# background work (Prometheus' block compaction, Vigil's compactor) stays out of the
# measured queries.
wait_idle() {
  for _ in $(seq 20); do
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat; sleep 3
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
    busy=$(( (u2+n2+s2+q2+sq2+st2) - (u1+n1+s1+q1+sq1+st1) ))
    [ "$busy" -lt 75 ] && return 0   # 0.25 cores x 3 s at 100 ticks/s
  done
  echo "bench-promql: warning: the machine did not become idle" >&2
}

wait_http() { # url name
  for _ in $(seq 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
  echo "bench-promql: $2 did not come up" >&2; return 1
}

# The day: 24 h ending at the hour boundary an hour ago, first point 5 s into it (no
# point sits on a window edge, so closed and half-open windows hold the same points).
NOW=$(date +%s)
END=$(( NOW / 3600 * 3600 - 3600 ))
START=$(( END - 86400 ))
echo "bench-promql: data [$(date -u -d @$START +%FT%TZ), $(date -u -d @$END +%FT%TZ)), $RUNS runs per query" >&2

# Vigil first: the fresh database migrated, the day COPYed into its raw partitions,
# and only later the server started (a compactor already running would compact the
# empty hours, and drop their partitions, before the COPY reached them).
"$TARGET/vigil" migrate > "$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
T0=$(date +%s.%N)
"$TARGET/vigil-bench" promql-data --database-url "$VIGIL__DATABASE__URL" --out "$WORK/data" \
  --start-ms $(( (START + 5) * 1000 ))
echo "bench-promql: data generated and COPYed in $(echo "$(date +%s.%N) - $T0" | bc) s" >&2

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
RUST_LOG=${RUST_LOG:-warn} "$TARGET/vigil" serve > "$WORK/vigil.log" 2>&1 &
PIDS+=($!)
wait_http "127.0.0.1:$PORT/health" vigil || { cat "$WORK/vigil.log"; exit 1; }

# A reader token for Vigil's query APIs (hash stored as the server stores it).
TOKEN="vgl_p_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql -q -h 127.0.0.1 -U postgres -d "$DB" -c "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, prefix)
  SELECT gen_random_uuid(), id, 'bench', 'personal', sha256(convert_to('$TOKEN', 'UTF8')), left('$TOKEN', 12)
  FROM users WHERE lower(email) = 'admin@localhost'"

# Vigil compacts every loaded hour and drops its raw partition (and the downsampler rebuilds the rollups of the
# marked minutes) before anything is measured.
T0=$(date +%s.%N)
for _ in $(seq 900); do
  left=$(psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT (SELECT count(*) FROM compaction_ranges WHERE (state <> 'compacted' OR NOT raw_dropped) AND range_end <= to_timestamp($END))
    + (SELECT count(*) FROM rollup_dirty)")
  [ "$left" = 0 ] && break
  sleep 1
done
[ "$left" = 0 ] || { echo "bench-promql: compaction or rollups not done ($left left)" >&2; exit 1; }
echo "bench-promql: Vigil compacted the day and caught up its rollups in $(echo "$(date +%s.%N) - $T0" | bc) s" >&2
psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "VACUUM ANALYZE" >/dev/null
psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT 'bench-promql: vigil holds ' || (SELECT coalesce(sum(count),0) FROM points_blocks) || ' points in ' || (SELECT count(*) FROM points_blocks) || ' blocks, ' || (SELECT count(*) FROM points) || ' raw rows, ' || (SELECT count(*) FROM points_late) || ' late'" >&2

wait_idle
python3 scripts/bench-promql.py --runs "$RUNS" --start "$START" --end "$END" --token "$TOKEN" \
  --vigil "http://127.0.0.1:$PORT" --prometheus "http://127.0.0.1:$PROM_PORT" \
  --victoria "http://127.0.0.1:$VM_PORT" --redis-prefix "$NAME:"

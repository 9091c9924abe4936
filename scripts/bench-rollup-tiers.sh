#!/usr/bin/env bash
# Bytes on disk per tier, all tiers included, and rollup read latency before and after
# the rollup tiers are compacted into blocks, on the peer benchmark's data set
# (2,000 series x 24 h at 10 s, 17.28 M points; scripts/bench-day.sh) loaded into a
# whole UTC day that has ended (yesterday), so the rollup compactor may close it.
#   1. the day loaded, the server started with rollup compaction off, every hour
#      compacted into raw blocks, merged into day blocks (the hour blocks' partition
#      dropped) and the rollups built, VACUUM ANALYZE: sizes per tier;
#   2. queries from the rollup rows (raw blocks priced out with
#      query.block_point_cost, so the rollup tiers answer): 1,000 series x 24 h at
#      1 m (rollup_1m) and 1,000 series x 7 d at 1 h (rollup_1h), plus the router's
#      own choice for the first;
#   3. the server restarted with rollup compaction on, the day's rollup_1m and
#      rollup_1h compacted into blocks and their rows given up, VACUUM ANALYZE, VACUUM
#      FULL of rollup_1h (the day's deleted rows): sizes again;
#   4. the same queries, now from the rollup blocks.
# Each query RUNS times (default 20), the server's query cache emptied before each.
#
#   CARGO_TARGET_DIR=... bash scripts/bench-rollup-tiers.sh [runs]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-20}"
DB=vigil_rollupbench PORT=18697 NAME=rollupbench TAG=bench-rollup-tiers
# shellcheck source=scripts/bench-day.sh
source scripts/bench-day.sh
day_setup
END=$(( $(date +%s) / 86400 * 86400 ))
START=$(( END - 86400 ))
echo "$TAG: the day is [$(date -u -d @$START +%FT%TZ), $(date -u -d @$END +%FT%TZ))" >&2
export VIGIL__ROLLUP_COMPACTION__ENABLED=false
day_load
day_serve
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

psql_q() { psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "$1"; }

sizes() { # label
  psql_q "CHECKPOINT" >/dev/null
  psql_q "WITH t(tier, root) AS (VALUES ('raw rows', 'points'), ('raw blocks', 'points_blocks'),
      ('raw blocks', 'points_hour_blocks'),
      ('late points', 'points_late'), ('rollup_1m rows', 'rollup_1m'), ('rollup_1m blocks', 'rollup_1m_blocks'),
      ('rollup_1h rows', 'rollup_1h'), ('rollup_1h blocks', 'rollup_1h_blocks')),
    s AS (SELECT t.tier, COALESCE(sum(pg_total_relation_size(p.relid)), 0)::bigint AS bytes
          FROM t LEFT JOIN pg_partition_tree(t.root::regclass) p ON p.isleaf GROUP BY t.tier),
    n AS (SELECT (SELECT sum(count) FROM points_blocks)::float8
                 + coalesce((SELECT sum(count) FROM points_hour_blocks), 0)::float8 AS pts)
    SELECT '$1' || E'\t' || tier || E'\t' || bytes || E'\t' || round((bytes / pts)::numeric, 3)
    FROM s, n UNION ALL
    SELECT '$1' || E'\t' || 'TOTAL' || E'\t' || sum(bytes) || E'\t' || round((sum(bytes) / max(pts))::numeric, 3)
    FROM s, n" >> "$WORK/sizes.tsv"
}

measure() { # label binary-name kind step
  local out
  out=$("$TARGET/vigil-bench" --json query --url "http://127.0.0.1:$PORT" \
    --header "Authorization: Bearer $TOKEN" --metric cpu_usage --host host-0007 \
    --host-tag instance --end $(( END * 1000 - 600000 )) --kinds "$3" --step "$4" --reps "$RUNS" \
    --warmup 2 --no-cache --flush-query-cache "$NAME:" --max-shift-steps 20 2>>"$WORK/bench.log") || {
    echo "$TAG: $1 on $2 failed:" >&2; tail -5 "$WORK/bench.log" >&2; tail -5 "$WORK/vigil.log" >&2; return 0; }
  python3 - "$1" "$2" "$out" >> "$RESULTS" <<'PY'
import json, sys
label, state, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
k = out["kinds"][0]
lat = k["uncached"]
print(f"{label}\t{state}\t{lat['p50_ms']:.1f}\t{lat['p95_ms']:.1f}\t{','.join(k['tables'])}\t{k['errors']}")
PY
  tail -1 "$RESULTS" >&2
}

restart() {
  day_stop_server
  PIDS=("${PIDS[@]/$SERVER_PID}")
  day_start_server
}

queries() { # state
  measure "1,000 series x 24 h, step 1 m, router's choice" "$1" wide-24h 1m
  export VIGIL__QUERY__BLOCK_POINT_COST=1000000
  restart
  wait_idle
  measure "1,000 series x 24 h, step 1 m, rollup_1m" "$1" wide-24h 1m
  measure "1,000 series x 7 d, step 1 h, rollup_1h" "$1" wide-7d 1h
  unset VIGIL__QUERY__BLOCK_POINT_COST
}

sizes "rollups as rows"
wait_idle
uptime >&2
queries rows

export VIGIL__ROLLUP_COMPACTION__ENABLED=true VIGIL__ROLLUP_COMPACTION__AFTER=1m \
  VIGIL__ROLLUP_COMPACTION__INTERVAL=2s VIGIL__ROLLUP_COMPACTION__DROP_ROWS_AFTER=1s
restart
t0=$(date +%s.%N)
for _ in $(seq 600); do
  done_days=$(psql_q "SELECT count(*) FROM rollup_block_days WHERE NOT has_rows AND day = to_timestamp($START)::date")
  [ "$done_days" = 2 ] && break
  sleep 1
done
[ "$done_days" = 2 ] || { echo "$TAG: rollup compaction not done" >&2; tail -20 "$WORK/vigil.log" >&2; exit 1; }
echo "$TAG: rollup_1m and rollup_1h of the day compacted, rows given up, in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
unset VIGIL__ROLLUP_COMPACTION__ENABLED
export VIGIL__ROLLUP_COMPACTION__ENABLED=false
restart
psql_q "VACUUM ANALYZE" >/dev/null
# The hour tier's rows of the day were deleted from their month partition; the minute
# tier's day partition was truncated (nothing to vacuum).
psql_q "VACUUM FULL rollup_1h" >/dev/null
sizes "rollups as blocks"
wait_idle
uptime >&2
queries blocks
uptime >&2

echo "== bench-rollup-tiers: bytes on disk per tier, per raw point (17.28 M), and at 100,000 points/s =="
python3 - "$WORK/sizes.tsv" <<'PY'
import sys
print(f"{'state':18} {'tier':17} {'bytes':>12} {'B/pt':>7} {'GB/day at 100k pt/s':>20}")
for line in open(sys.argv[1]):
    state, tier, b, bpt = line.rstrip("\n").split("\t")
    print(f"{state:18} {tier:17} {int(b):12d} {float(bpt):7.3f} {float(bpt) * 8.64e9 / 1e9:20.1f}")
PY
echo "== rollup reads, $RUNS runs per query, cache emptied before each, p50 / p95 ms =="
python3 - "$RESULTS" <<'PY'
import sys
print(f"{'query':50} {'rollups as':10} {'p50':>8} {'p95':>8}  tables (errors)")
for line in open(sys.argv[1]):
    label, state, p50, p95, tables, errors = line.rstrip("\n").split("\t")
    print(f"{label:50} {state:10} {float(p50):8.1f} {float(p95):8.1f}  {tables} ({errors})")
PY

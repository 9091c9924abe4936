#!/usr/bin/env bash
# Durable ingest with the compactor idle against ingest while it compacts a day, in one
# run on one server: alternating rounds of `vigil-bench ingest` (JSON through the HTTP
# API, as fast as the server takes it, each round a fleet of its own) with nothing to
# compact, and with a whole day (2,000 series x 24 h at 10 s, 17.28 M points) handed to
# the compactor just before the round starts. Prints one JSON line per round, then the
# medians and their ratio (busy / idle), and removes everything it made.
#
#   bash scripts/bench-compaction-run.sh [rounds] [ingest time] [series]   # default 3 20s 2000
#
# Extra server settings come from the environment as usual, e.g. a read budget:
#   VIGIL__COMPACTION__POINTS_PER_SECOND=500000 bash scripts/bench-compaction-run.sh
#
# How the compaction is held back until its round: the days are COPYed in by
# `vigil-bench promql-data` before the server starts, and their ranges are marked
# compacted (raw partition "dropped") so the compactor leaves them alone; a busy round
# sets one day's ranges back to raw, and the compactor (interval 1 s) takes them at
# once: 24 hours compacted, then merged into day blocks. Their rollup minutes are
# unmarked, so the downsampler has no day to recompute in either kind of round.
#
# Needs the release build (cargo build --release --bins) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
ROUNDS="${1:-3}" SPAN="${2:-20s}" SERIES="${3:-2000}"
DB=vigil_compactbench PORT=18591 NAME=compactbench
WORK=$(mktemp -d)
source scripts/bench-remote-write-env.sh
trap cleanup EXIT
cleanup_first() { PID=; cleanup; WORK=$(mktemp -d); }
cleanup_first
export VIGIL__COMPACTION__ENABLED=true VIGIL__COMPACTION__INTERVAL=1s
# The ingested hours (the last day: the fleet's backfill, long enough for any rate)
# are never due during the run; the older days handed to the compactor are. Raw
# partitions stay until the end: the durable probe counts rows of `points`, and a
# partition dropped under it would read as points lost.
export VIGIL__COMPACTION__AFTER=2d VIGIL__COMPACTION__DROP_RAW_AFTER=12h
# Not named psql: the sourced cleanup runs psql against the server database to drop $DB.
dbq() { psql -qAt -h 127.0.0.1 -U postgres -d "$DB" "$@"; }

"$TARGET/vigil" migrate > "$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
today=$(( $(date +%s) / 86400 * 86400 ))
day_start() { echo $(( today - (2 + $1) * 86400 )); }  # day of busy round $1 (s), due
for round in $(seq "$ROUNDS"); do
  d=$(day_start "$round")
  t0=$(date +%s.%N)
  "$TARGET/vigil-bench" promql-data --database-url "$VIGIL__DATABASE__URL" \
    --start-ms $(( (d + 5) * 1000 )) --hosts $(( SERIES / 2 )) >/dev/null
  echo "day $(date -u -d @"$d" +%F) COPYed in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
done
first=$(day_start "$ROUNDS")
last_end=$(( $(day_start 1) + 86400 ))
# VACUUM now rather than autovacuum at some moment of some round.
dbq -c "UPDATE compaction_ranges SET state = 'compacted', raw_dropped = true
         WHERE range_start >= to_timestamp($first) AND range_start < to_timestamp($last_end)" \
     -c "DELETE FROM rollup_dirty WHERE bucket < to_timestamp($last_end)" -c "VACUUM ANALYZE points"

RUST_LOG=${RUST_LOG:-warn} "$TARGET/vigil" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }

# "<hours of day $1 (s) not compacted yet> <hour blocks of it not merged yet>".
day_left() {
  dbq -F ' ' -c "SELECT (SELECT count(*) FROM compaction_ranges WHERE state <> 'compacted'
                     AND range_start >= to_timestamp($1) AND range_start < to_timestamp($1 + 86400)),
                (SELECT count(*) FROM points_hour_blocks WHERE range_start >= to_timestamp($1)
                     AND range_start < to_timestamp($1 + 86400))"
}
# Waits until the server has nothing due (no day handed over still in compaction)
# and the machine is quiet, for at most 9 s (others may
# be using it: the load goes into each round's line).
settle() {
  local u1 n1 s1 q1 sq1 st1 u2 n2 s2 q2 sq2 st2
  for _ in $(seq 600); do
    [ "$(dbq -c "SELECT count(*) FROM compaction_ranges WHERE state <> 'compacted' AND range_end <= now() - interval '2 days'")" = 0 ] && break
    sleep 0.1
  done
  for _ in $(seq 3); do
    read -r _ u1 n1 s1 _ _ q1 sq1 st1 _ < /proc/stat; sleep 3
    read -r _ u2 n2 s2 _ _ q2 sq2 st2 _ < /proc/stat
    [ $(( (u2+n2+s2+q2+sq2+st2) - (u1+n1+s1+q1+sq1+st1) )) -lt 75 ] && return 0
  done
  echo "warning: the machine did not become idle (other users?)" >&2
}

ingest() { # round kind
  "$TARGET/vigil-bench" --json ingest --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" \
    --prefix "cb${1}_$2" --series "$SERIES" --backfill 24h --duration "$SPAN" \
    --batch 2000 --concurrency 8 --server-pid "$PID" 2>"$WORK/ingest.err" > "$WORK/ingest.json" \
    || { cat "$WORK/ingest.err" >&2; exit 1; }
}

settle
for round in $(seq "$ROUNDS"); do
  order="idle busy"
  [ $((round % 2)) -eq 0 ] && order="busy idle"
  for kind in $order; do
    settle
    load=$(cut -d' ' -f1 /proc/loadavg)
    extra='{}'
    if [ "$kind" = busy ]; then
      d=$(day_start "$round")
      : > "$WORK/ingest.err"
      ingest "$round" "$kind" &
      ingest_pid=$!
      # The day is handed over once the bench has counted the stored points (a scan
      # of `points` that should not eat into the compaction) and starts sending.
      for _ in $(seq 1200); do grep -q "points already stored" "$WORK/ingest.err" && break; sleep 0.05; done
      dbq -c "UPDATE compaction_ranges SET state = 'raw', raw_dropped = false
               WHERE range_start >= to_timestamp($d) AND range_start < to_timestamp($d + 86400)"
      t0=$(date +%s.%N)
      wait "$ingest_pid"
      t1=$(date +%s.%N)
      read -r hours_left blocks_left <<< "$(day_left "$d")"
      for _ in $(seq 3000); do [ "$(day_left "$d")" = "0 0" ] && break; sleep 0.2; done
      t2=$(date +%s.%N)
      # ingest_s: from the hand-over to the last point durable; compaction_s: from the
      # hand-over to the day merged; what was left of the day when the ingest ended.
      extra=$(python3 -c "import json; print(json.dumps({'ingest_s': round($t1 - $t0, 1), 'compaction_s': round($t2 - $t0, 1), 'hours_left_at_ingest_end': $hours_left, 'hour_blocks_left_at_ingest_end': $blocks_left}))")
    else
      ingest "$round" "$kind"
    fi
    python3 - "$WORK/ingest.json" "$round" "$kind" "$load" "$extra" <<'PY' | tee -a "$WORK/runs.jsonl"
import json, sys
r = json.load(open(sys.argv[1])); d = r.get("durable") or {}
out = {"round": int(sys.argv[2]), "compactor": sys.argv[3], "load1": float(sys.argv[4]),
       "points_sent": r.get("points_sent"), "accepted_per_sec": round(r.get("accepted_per_sec", 0)),
       "durable_per_sec": round(d.get("durable_per_sec", 0)), "durable_reached": d.get("reached"),
       "http_errors": r.get("http_errors"), "busy_503": r.get("busy_503")}
out.update(json.loads(sys.argv[5]))
print(json.dumps(out))
PY
  done
done

python3 - "$WORK/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
med = {k: statistics.median(r["durable_per_sec"] for r in runs if r["compactor"] == k) for k in ("idle", "busy")}
busy = [r for r in runs if r["compactor"] == "busy"]
print(json.dumps({
    "rounds": len(busy),
    "median_durable_per_sec_idle": med["idle"],
    "median_durable_per_sec_busy": med["busy"],
    "ratio_busy_to_idle": round(med["busy"] / med["idle"], 3),
    "median_compaction_s_of_a_day": statistics.median(r["compaction_s"] for r in busy),
}))
PY
uptime

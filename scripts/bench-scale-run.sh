#!/usr/bin/env bash
# Vigil at the seeds' scale: a million distinct series on one server, in three phases
# over the same fleet, each on a time range of its own (so no phase resends a point):
#   1. create:   one point for every series (every point makes a new series)
#   2. existing: a backfill of points for those series (every point's series exists)
#   3. live:     the fleet pushing at a steady rate (series / 10 s) for a while, with the
#                ingest queue depth sampled every 5 s (a queue that keeps growing means
#                the server does not keep up)
# Then: server RSS, the series table and its indexes, actor restarts. gzip JSON,
# batches of 5,000, 4 connections, as agents would send.
#
#   bash scripts/bench-scale-run.sh [series] [live seconds] [live rate]
#   # default 1000000 120 100000; VIGIL_BIN=path/to/vigil compares another build
#
# Needs the release build (cargo build --release --workspace) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
VIGIL_BIN="${VIGIL_BIN:-$TARGET/vigil}"
SERIES="${1:-1000000}" LIVE_SECS="${2:-120}" LIVE_RATE="${3:-100000}"
DB=vigil_scalebench PORT=18591 NAME=scalebench
WORK=$(mktemp -d)
source scripts/bench-remote-write-env.sh
trap cleanup EXIT
PID=; cleanup; WORK=$(mktemp -d)

RUST_LOG=${RUST_LOG:-warn} "$VIGIL_BIN" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }
echo "load before: $(uptime)"

bench() {
  "$TARGET/vigil-bench" --json ingest --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" \
    --prefix scale --series "$SERIES" --metrics 10 --interval 10s --gzip --batch 5000 --concurrency 4 \
    --server-pid "$PID" "$@" 2>"$WORK/bench.err" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); d=r.get("durable") or {}; s=r.get("server") or {}; print(json.dumps({"points_sent": r.get("points_sent"), "accepted_per_sec": round(r.get("accepted_per_sec", 0)), "durable_per_sec": round(d.get("durable_per_sec", 0)), "secs_to_durable": d.get("secs_to_durable"), "busy_503": r.get("busy_503"), "http_errors": r.get("http_errors"), "dropped_batches": r.get("dropped_batches"), "peak_rss_mib": s.get("peak_rss_sampled_mib")}))' \
    || { tail -20 "$WORK/bench.err"; return 1; }
}
metric() { curl -s "127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {print s + 0}'; }
# Writer time per stage since the last call (seconds summed over the writers).
stages() {
  curl -s "127.0.0.1:$PORT/metrics" | grep '^vigil_writer_stage_seconds_total' > "$WORK/stages.now" || true
  python3 - "$WORK/stages.now" "$WORK/stages.before" <<'PY'
import re, sys
def read(path):
    try:
        return {m.group(1): float(m.group(2)) for m in (re.match(r'.*stage="([^"]+)"\} (\S+)', l) for l in open(path)) if m}
    except FileNotFoundError:
        return {}
now, before = read(sys.argv[1]), read(sys.argv[2])
d = {k: now[k] - before.get(k, 0.0) for k in now}
total = sum(d.values()) or 1.0
print("writer time by stage: " + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in sorted(d.items(), key=lambda kv: -kv[1])))
PY
  mv "$WORK/stages.now" "$WORK/stages.before"
}

echo "phase create: $SERIES series, one point each"
bench --backfill 10s --until-ago 50m
stages
echo "phase existing: the same series, 6 points each"
bench --backfill 1m --until-ago 40m
stages
echo "phase live: $LIVE_RATE points/s for ${LIVE_SECS}s"
( while sleep 5; do echo "queue_depth $(metric vigil_queue_depth_messages)"; done ) > "$WORK/queue.log" &
SAMPLER=$!
bench --backfill "$((LIVE_SECS + 60))s" --duration "${LIVE_SECS}s" --rate "$LIVE_RATE"
kill "$SAMPLER" 2>/dev/null || true
stages
echo "queue depth every 5 s (messages of <= 5,000 points): $(awk '{print $2}' "$WORK/queue.log" | tr '\n' ' ')"

echo "server RSS: $(awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$PID/status")"
echo "actor restarts: $(metric vigil_actor_restarts_total)"
psql -qAt -h 127.0.0.1 -U postgres -d "$DB" -c "
  SELECT 'series rows ' || count(*) FROM series;
  SELECT 'series heap ' || pg_size_pretty(pg_relation_size('series')) || ', indexes ' || pg_size_pretty(pg_indexes_size('series'))
         || ', total ' || pg_size_pretty(pg_total_relation_size('series'))
         || ', bytes per series ' || pg_total_relation_size('series') / greatest(count(*), 1) FROM series;
  SELECT 'index ' || indexrelname || ' ' || pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes WHERE relname = 'series';
  SELECT 'series_tag_values rows ' || count(*) || ', total ' || pg_size_pretty(pg_total_relation_size('series_tag_values')) FROM series_tag_values;"
echo "load after: $(uptime)"
grep -iE "panic|error" "$WORK/server.log" | head -5 || true

#!/usr/bin/env bash
# Durable ingest, remote_write against JSON, in one run on one server: alternating
# `vigil-bench ingest --format json` and `--format remote-write` over the same fleet
# shape, each run a fleet of its own (no overlap), then removes everything it
# made (database, queues, exchange, Redis keys). Prints one JSON report per run, then
# the medians per format and their ratio (remote_write / JSON).
#
#   bash scripts/bench-remote-write-run.sh [rounds] [series] [backfill]   # default 3 2000 1h
#
# Needs the release build (cargo build --release --workspace) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
ROUNDS="${1:-3}" SERIES="${2:-2000}" SPAN="${3:-1h}"
DB=vigil_rwbench PORT=18590 NAME=rwbench
WORK=$(mktemp -d)
source scripts/bench-remote-write-env.sh
trap cleanup EXIT
cleanup_first() { PID=; cleanup; WORK=$(mktemp -d); }
cleanup_first

RUST_LOG=${RUST_LOG:-warn} "$TARGET/vigil" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }

# Each run is a fleet of its own (its own --prefix: new series, nothing overlapping),
# the same shape: SERIES series x SPAN at 10 s.
# Every run adds to the same hour partitions, so a later run writes into bigger tables:
# the order alternates per round (JSON first in odd rounds, remote_write first in even
# ones) so that neither format always comes second.
for round in $(seq "$ROUNDS"); do
  order="json remote-write"
  [ $((round % 2)) -eq 0 ] && order="remote-write json"
  for format in $order; do
    "$TARGET/vigil-bench" --json ingest --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" \
      --format "$format" --prefix "rw${round}_${format//-/_}" --series "$SERIES" --backfill "$SPAN" \
      --batch 2000 --concurrency 8 --server-pid "$PID" 2>/dev/null \
      | python3 -c 'import json,sys; r=json.load(sys.stdin); d=r.get("durable") or {}; print(json.dumps({"round": '"$round"', "format": r.get("format"), "points_sent": r.get("points_sent"), "accepted_per_sec": round(r.get("accepted_per_sec", 0)), "durable_per_sec": round(d.get("durable_per_sec", 0)), "http_errors": r.get("http_errors"), "busy_503": r.get("busy_503")}))' \
      | tee -a "$WORK/runs.jsonl"
  done
done

# Medians per format and the ratio remote_write / JSON of the medians.
python3 - "$WORK/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
med = {}
for fmt in ("json", "remote-write"):
    mine = [r for r in runs if r["format"] == fmt]
    med[fmt] = {k: statistics.median(r[k] for r in mine) for k in ("durable_per_sec", "accepted_per_sec")}
print(json.dumps({
    "rounds": len(runs) // 2,
    "median_json": med["json"],
    "median_remote_write": med["remote-write"],
    "ratio_durable": round(med["remote-write"]["durable_per_sec"] / med["json"]["durable_per_sec"], 3),
    "ratio_accepted": round(med["remote-write"]["accepted_per_sec"] / med["json"]["accepted_per_sec"], 3),
}))
PY

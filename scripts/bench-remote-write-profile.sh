#!/usr/bin/env bash
# Server CPU per wire format: one `vigil-bench ingest --format json` run and one
# `--format remote-write` run on one server, each under `perf record -g` of the server
# process, then prints per run: format, points, accepted/s, durable/s, the server's CPU
# seconds and peak RSS, the bench's own CPU seconds. The perf data stays in OUT for
# `perf report -i OUT/perf-<format>.data --no-children --sort symbol`.
#
#   bash scripts/bench-remote-write-profile.sh TARGET_DIR [series] [backfill] [out]
#   # e.g. bash scripts/bench-remote-write-profile.sh /var/tmp/vigil-target 2000 1h /var/tmp/rw-prof
#
# TARGET_DIR holds release/vigil and release/vigil-bench (so two builds can be
# compared in turn). Needs perf and scripts/services.sh; removes what it made.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="$1/release" SERIES="${2:-2000}" SPAN="${3:-1h}" OUT="${4:-$(mktemp -d)}"
mkdir -p "$OUT"
DB=vigil_rwprof PORT=18591 NAME=rwprof
source scripts/bench-remote-write-env.sh
trap cleanup EXIT
PID=; cleanup

RUST_LOG=warn "$TARGET/vigil" serve > "$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$OUT/server.log"; exit 1; }
for format in json remote-write; do
  perf record -F 499 -g -p "$PID" -o "$OUT/perf-$format.data" >/dev/null 2>&1 &
  PERF=$!
  "$TARGET/vigil-bench" --json ingest --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" \
    --format "$format" --prefix "p_${format//-/_}" --series "$SERIES" --backfill "$SPAN" \
    --batch 2000 --concurrency 8 --server-pid "$PID" > "$OUT/$format.json" 2>"$OUT/$format.err"
  kill -INT "$PERF"; wait "$PERF"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); d=r.get("durable") or {}; s=r.get("server") or {}; print(json.dumps({"format": sys.argv[2], "points_sent": r["points_sent"], "accepted_per_sec": round(r["accepted_per_sec"]), "durable_per_sec": round(d.get("durable_per_sec", 0)), "server_cpu_secs": s.get("cpu_seconds"), "server_peak_rss_mib": round(s.get("peak_rss_sampled_mib", 0)), "bench_cpu_secs": r.get("bench_cpu_secs")}))' "$OUT/$format.json" "$format"
done

#!/usr/bin/env bash
# Native read latency (POST /api/v1/query through HTTP) over one compacted day:
# 2,000 series x 24 h at 10 s (the PromQL comparison's data set, set up by
# scripts/bench-day.sh), every hour compacted into blocks before anything is
# measured. Queries, each RUNS times with the server's query cache emptied before
# every repetition (so each computes its whole range), ranges ending within the
# day's last half hour:
#   one-24h    1 series x 24 h, avg, step 10 s (raw)
#   wide-24h   1,000 series x 24 h, avg, step 1 m: as the router chooses (blocks),
#              then with the blocks priced out (query.block_point_cost) so the
#              rollup_1m tier answers
#   wide-24h   the same at step 30 s (finer than the minute tier: blocks)
#   wide-1h    1,000 series x 1 h, avg, step 1 m (raw)
# With BEFORE=<vigil binary> the same queries then run against that binary (the
# baseline, e.g. a copy of the main branch's build) on the same database, and the
# p95 ratios are printed. Prints one summary line per query and binary.
#
#   [BEFORE=/path/to/old/vigil] [ONLY=regex] bash scripts/bench-reads-run.sh [runs]   # default 20
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-20}"
DB=vigil_readbench PORT=18695 NAME=readbench TAG=bench-reads
# shellcheck source=scripts/bench-day.sh
source scripts/bench-day.sh
day_setup
day_load
day_serve
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

# One query kind through vigil-bench; appends "label binary p50 p95 table" to RESULTS.
# ONLY (a regex on the labels below) restricts the queries run. A query that fails
# (a server that died, say) is reported and the others still run.
measure() { # label binary-name kind step
  local out
  [[ -n "${ONLY:-}" && ! "$1" =~ $ONLY ]] && return 0
  out=$("$TARGET/vigil-bench" --json query --url "http://127.0.0.1:$PORT" \
    --header "Authorization: Bearer $TOKEN" --metric cpu_usage --host host-0007 \
    --host-tag instance --end $(( END * 1000 )) --kinds "$3" --step "$4" --reps "$RUNS" \
    --warmup 2 --no-cache --flush-query-cache "$NAME:" --max-shift-steps 150 2>>"$WORK/bench.log") || {
    echo "$TAG: $1 on $2 failed:" >&2; tail -5 "$WORK/bench.log" >&2; tail -5 "$WORK/vigil.log" >&2; return 0; }
  python3 - "$1" "$2" "$out" >> "$RESULTS" <<'PY'
import json, sys
label, binary, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
k = out["kinds"][0]
lat = k["uncached"]
print(f"{label}\t{binary}\t{lat['p50_ms']:.1f}\t{lat['p95_ms']:.1f}\t{','.join(k['tables'])}\t{k['errors']}")
PY
  tail -1 "$RESULTS" >&2
}

run_all() { # binary-name
  measure "1 series x 24 h, step 10 s" "$1" one-24h 10s
  measure "1,000 series x 24 h, step 1 m" "$1" wide-24h 1m
  measure "1,000 series x 24 h, step 30 s" "$1" wide-24h 30s
  measure "1,000 series x 1 h, step 1 m" "$1" wide-1h 1m
}

restart() { # binary
  day_stop_server
  PIDS=("${PIDS[@]/$SERVER_PID}")
  day_start_server "$@"
}

wait_idle
uptime >&2
run_all after
# The rollup tier on the new build: blocks priced out.
[[ -z "${ONLY:-}" || "1,000 series x 24 h, step 1 m" =~ $ONLY ]] && {
export VIGIL__QUERY__BLOCK_POINT_COST=1000000
restart
measure "1,000 series x 24 h, step 1 m" after-rollup wide-24h 1m
# Unset before the baseline starts: an older binary refuses a key it does not know.
unset VIGIL__QUERY__BLOCK_POINT_COST
}
if [ -n "${BEFORE:-}" ]; then
  restart "$BEFORE"
  wait_idle
  run_all before
fi
uptime >&2

echo "== bench-reads: $RUNS runs per query, cache emptied before each, p50 / p95 ms =="
python3 - "$RESULTS" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = {}
for label, binary, p50, p95, tables, errors in rows:
    by.setdefault(label, {})[binary] = (float(p50), float(p95), tables, errors)
print(f"{'query':34} {'binary':13} {'p50':>9} {'p95':>9}  tables (errors)")
for label, bins in by.items():
    for binary, (p50, p95, tables, errors) in bins.items():
        print(f"{label:34} {binary:13} {p50:9.1f} {p95:9.1f}  {tables} ({errors})")
    if "before" in bins and "after" in bins:
        print(f"{'':34} {'p95 before/after':>23} {bins['before'][1] / bins['after'][1]:9.2f}")
PY

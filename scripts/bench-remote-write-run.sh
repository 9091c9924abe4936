#!/usr/bin/env bash
# Durable ingest, remote_write against JSON, in one run on one server: alternating
# `vigil-bench ingest --format json` and `--format remote-write` over the same fleet
# shape, each run a fleet of its own (no overlap), then removes everything it
# made (database, queues, exchange, Redis keys). Prints one JSON report per run.
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
export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_PASSWORD=bench-admin-pw
export VIGIL__AUTH__INGEST_REQUESTS_PER_IP=100000000

cleanup() {
  [ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cleanup_first() { PID=; cleanup; WORK=$(mktemp -d); }
cleanup_first

RUST_LOG=${RUST_LOG:-warn} "$TARGET/vigil" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }

# Each run is a fleet of its own (its own --prefix: new series, nothing overlapping),
# the same shape: SERIES series x SPAN at 10 s.
for round in $(seq "$ROUNDS"); do
  for format in json remote-write; do
    "$TARGET/vigil-bench" --json ingest --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" \
      --format "$format" --prefix "rw${round}_${format//-/_}" --series "$SERIES" --backfill "$SPAN" \
      --batch 2000 --concurrency 8 --server-pid "$PID" 2>/dev/null \
      | python3 -c 'import json,sys; r=json.load(sys.stdin); d=r.get("durable") or {}; print(json.dumps({"round": '"$round"', "format": r.get("format"), "points_sent": r.get("points_sent"), "accepted_per_sec": round(r.get("accepted_per_sec", 0)), "durable_per_sec": round(d.get("durable_per_sec", 0)), "http_errors": r.get("http_errors"), "busy_503": r.get("busy_503")}))'
  done
done

#!/usr/bin/env bash
# Soak: a release `vigil serve` on a scratch database, under `vigil-bench soak` for
# the given number of minutes (default 30): live ingest at 20,000 points/s from 40
# agents with 1 % bad requests and 1 %/min series churn, a dashboard's queries every
# 10 s and 200 alert rules. Prints a line every 30 s (ingest p50/p99, 4xx/5xx, the
# server's RSS and open FDs, ingest queue depth, query p95) and the RSS and FD
# slopes after the warm-up. Removes everything it made afterwards.
#
#   scripts/soak.sh [minutes]
#   SOAK_RATE=20000 SOAK_AGENTS=40 SOAK_SERIES=20000 SOAK_WARMUP=5m  override the load
#
# Needs the release build (cargo build --release --workspace) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
MINUTES="${1:-30}"
DB=vigil_soak PORT=18590 NAME=soak
WORK=$(mktemp -d)
export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_EMAIL=admin@localhost VIGIL__AUTH__ADMIN_PASSWORD=soak-admin-pw
# 40 agents on one address: the per-IP ingest limit is not what is soaked here.
export VIGIL__AUTH__INGEST_REQUESTS_PER_IP=1000000 VIGIL__AUTH__INGEST_REQUESTS_PER_KEY=1000000
# The rules' webhook target is on 127.0.0.1 (they never fire).
export VIGIL__NOTIFY__ALLOW_PRIVATE_TARGETS=true

cleanup() {
  [ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null || true
  if [ -n "${KEEP_LOG:-}" ]; then cp "$WORK/server.log" "$KEEP_LOG" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
PID=
cleanup
WORK=$(mktemp -d)

RUST_LOG=${RUST_LOG:-warn} "$TARGET/vigil" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }
echo "soak.sh: ${MINUTES} min, load before: $(uptime)"
"$TARGET/vigil-bench" soak --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" \
  --admin-email admin@localhost --server-pid "$PID" --duration "${MINUTES}m" \
  --rate "${SOAK_RATE:-20000}" --agents "${SOAK_AGENTS:-40}" --series "${SOAK_SERIES:-20000}" \
  --warmup "${SOAK_WARMUP:-5m}"
echo "soak.sh: load after: $(uptime)"

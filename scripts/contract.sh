#!/usr/bin/env bash
# The long contract check: schemathesis against a live `vigil serve` on a scratch
# database, every operation of /api/openapi.json with all checks, as the first admin. The test suite
# runs the same with a few examples per operation (tests/api/contract.rs). What is
# switched off or relaxed, and why: tests/contract/schemathesis.toml.
# Removes its database, queues, exchange and Redis keys afterwards.
#   scripts/contract.sh [examples per operation, default 100] [extra schemathesis args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
bash scripts/test-deps.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}"
[ -x "$CARGO_TARGET_DIR/release/vigil" ] || cargo build --release --bin vigil
EXAMPLES="${1:-100}"
shift || true
DB=vigil_contract PORT=18591 NAME=contract
WORK=$(mktemp -d)
export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_PASSWORD=contract-admin-pw
export VIGIL__AUTH__INGEST_REQUESTS_PER_IP=100000000 VIGIL__AUTH__LOGIN_MAX_FAILURES_PER_IP=100000000

cleanup() {
  [ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PID= cleanup; WORK=$(mktemp -d)

RUST_LOG=${RUST_LOG:-warn} "$CARGO_TARGET_DIR/release/vigil" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }
curl -sf -c "$WORK/jar" -X POST "127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email": "admin@localhost", "password": "contract-admin-pw"}' >/dev/null
TOKEN=$(curl -sf -b "$WORK/jar" -X POST "127.0.0.1:$PORT/api/v1/auth/tokens" -H "origin: http://127.0.0.1:$PORT" \
  -H 'content-type: application/json' -d '{"name": "contract", "kind": "personal"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
status=0
schemathesis --config-file tests/contract/schemathesis.toml run "http://127.0.0.1:$PORT/api/openapi.json" \
  --checks all --exclude-checks ignored_auth \
  --max-examples "$EXAMPLES" --workers 1 --no-color --request-timeout 30 \
  --header "Authorization: Bearer $TOKEN" "$@" || status=$?
if grep -q 'panicked' "$WORK/server.log"; then echo "contract.sh: the server panicked:"; grep -A5 panicked "$WORK/server.log"; status=1; fi
exit "$status"

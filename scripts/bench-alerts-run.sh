#!/usr/bin/env bash
# Runs `vigil-bench alerts` against a release `vigil serve` on a scratch database, then
# removes everything it made (database, queues, exchange, Redis keys).
#
#   bash scripts/bench-alerts-run.sh load 1000 500     # rule counts, one run each, one database
#   bash scripts/bench-alerts-run.sh latency           # condition held → webhook, 1 s interval
#
# Needs the release build (cargo build --release --workspace) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
MODE="${1:-load}"
shift || true
DB=vigil_alertbench PORT=18580 NAME=alertbench
WORK=$(mktemp -d)
export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_PASSWORD=bench-admin-pw
# The bench's webhook receiver listens on 127.0.0.1.
export VIGIL__NOTIFY__ALLOW_PRIVATE_TARGETS=true
if [ "$MODE" = latency ]; then
  export VIGIL__ALERTS__EVALUATION_INTERVAL=1s VIGIL__INGEST__FLUSH_INTERVAL=${FLUSH:-1s}
  INTERVAL=1s
else
  INTERVAL=10s
fi

cleanup() {
  [ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -n "${KEEP_LOG:-}" ] && trap "cp \"\$WORK/server.log\" $KEEP_LOG 2>/dev/null; cleanup" EXIT
cleanup_first() { PID=; cleanup; WORK=$(mktemp -d); }
cleanup_first

RUST_LOG=${RUST_LOG:-warn} "$TARGET/vigil" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 150); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/server.log"; exit 1; }

# An admin API token, inserted directly (the bench needs an editor or admin).
TOKEN="vgl_p_$(python3 -c 'import secrets;print(secrets.token_hex(24))')"
HASH=$(python3 -c 'import hashlib,sys;print(hashlib.sha256(sys.argv[1].encode()).hexdigest())' "$TOKEN")
psql -q -h 127.0.0.1 -U postgres -d $DB -c "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, prefix)
  SELECT gen_random_uuid(), id, 'bench', 'personal', decode('$HASH','hex'), left('$TOKEN', 12)
  FROM users WHERE role = 'admin' LIMIT 1"

BENCH=("$TARGET/vigil-bench" alerts --url "http://127.0.0.1:$PORT" --database-url "$VIGIL__DATABASE__URL" --header "Authorization: Bearer $TOKEN"
  --interval $INTERVAL --server-pid "$PID")
if [ "$MODE" = latency ]; then
  "${BENCH[@]}" --rules 0 --duration 0s --probes "${PROBES:-30}" --probe-for 1s
else
  for rules in "${@:-1000}"; do
    echo "== $rules rules"
    "${BENCH[@]}" --rules "$rules" --duration "${DURATION:-60s}" --probes 0
  done
fi

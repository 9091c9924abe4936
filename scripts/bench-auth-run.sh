#!/usr/bin/env bash
# Starts vigil twice on a scratch database (Redis up, then Redis unreachable) and runs
# scripts/bench-auth.py against each; needs the release build and scripts/services.sh.
set -euo pipefail
BIN="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release/vigil"
export VIGIL__DATABASE__URL=postgres://postgres@127.0.0.1:5432/vigil_bench_auth
export VIGIL__HTTP__ADDR=127.0.0.1:18090
export VIGIL__AMQP__INGEST_QUEUE=benchauth.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=benchauth.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=benchauth.dlx
export VIGIL__REDIS__KEY_PREFIX=benchauth: VIGIL__AUTH__ADMIN_EMAIL=admin@bench.test VIGIL__AUTH__ADMIN_PASSWORD=bench-password-1
for redis in redis://127.0.0.1:6379/0 redis://127.0.0.1:1/0; do
  VIGIL__REDIS__URL=$redis RUST_LOG=warn $BIN serve > /tmp/bench-auth-server.log 2>&1 &
  pid=$!
  for i in $(seq 100); do curl -sf localhost:18090/api/docs/init.js >/dev/null && break; sleep 0.2; done
  echo "== redis $redis"
  python3 "$(dirname "$0")/bench-auth.py" --url http://127.0.0.1:18090 --email admin@bench.test --password bench-password-1
  kill -TERM $pid; wait $pid || true
done

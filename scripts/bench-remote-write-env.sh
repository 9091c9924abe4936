# Sourced by bench-remote-write-run.sh and bench-remote-write-profile.sh: the server's
# isolated environment (database, port, queue names, Redis prefix from DB, PORT and
# NAME) and `cleanup`, which stops the server in PID and removes what the run made.
export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_PASSWORD=bench-admin-pw
export VIGIL__AUTH__INGEST_REQUESTS_PER_IP=100000000
# The backfill lies in closed hours, which the compactor would move out of `points`
# while the durable probe counts them (and its CPU would land on whichever format ran
# at the time): these compare the ingest paths, so it is off.
export VIGIL__COMPACTION__ENABLED=false

cleanup() {
  [ -n "${PID:-}" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null || true
  [ -z "${WORK:-}" ] || rm -rf "$WORK"
}

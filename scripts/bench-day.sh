# Shared set-up of the benchmarks over one compacted day (sourced, not run): the
# PromQL comparison (bench-promql-run.sh) and the native read figures
# (bench-reads-run.sh). The caller sets TAG (log prefix), DB, PORT, NAME (queue and
# Redis prefix) and RUNS, then calls, in order:
#   day_setup            environment, cleanup trap, the day's bounds START/END (s)
#   day_load [--out DIR] fresh database migrated, 2,000 series x 24 h COPYed
#   day_serve [BINARY]   `vigil serve` started (PIDS), TOKEN minted, the day compacted
# and may use wait_idle, wait_http and day_stop_server.
# Needs the release build (cargo build --release --bins) and scripts/services.sh.

TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
PIDS=()

day_cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
  for q in $NAME.ingest $NAME.dlq; do rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$NAME.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$NAME:*" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

day_setup() {
  bash scripts/services.sh >/dev/null
  WORK=$(mktemp -d "/var/tmp/$NAME.XXXXXX")
  export VIGIL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$DB"
  export VIGIL__HTTP__ADDR="127.0.0.1:$PORT"
  export VIGIL__AMQP__INGEST_QUEUE=$NAME.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$NAME.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$NAME.dlx
  export VIGIL__REDIS__KEY_PREFIX=$NAME: VIGIL__AUTH__ADMIN_PASSWORD=bench-admin-pw
  # Every closed hour is due at once, so the compactor starts on the loaded day at once.
  export VIGIL__COMPACTION__AFTER=1m VIGIL__COMPACTION__INTERVAL=5s
  trap day_cleanup EXIT
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
  # The day: 24 h ending at the hour boundary an hour ago, first point 5 s into it (no
  # point sits on a window edge, so closed and half-open windows hold the same points).
  local now
  now=$(date +%s)
  END=$(( now / 3600 * 3600 - 3600 ))
  START=$(( END - 86400 ))
  echo "$TAG: data [$(date -u -d @$START +%FT%TZ), $(date -u -d @$END +%FT%TZ)), $RUNS runs per query" >&2
}

# Waits (up to 1 min) until the whole machine uses under 0.25 cores for 3 s, so
# background work (a compactor, another system's compaction) stays out of the
# measured queries.
wait_idle() {
  local u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2 busy
  for _ in $(seq 20); do
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat; sleep 3
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
    busy=$(( (u2+n2+s2+q2+sq2+st2) - (u1+n1+s1+q1+sq1+st1) ))
    [ "$busy" -lt 75 ] && return 0   # 0.25 cores x 3 s at 100 ticks/s
  done
  echo "$TAG: warning: the machine did not become idle" >&2
}

wait_http() { # url name
  for _ in $(seq 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
  echo "$TAG: $2 did not come up" >&2; return 1
}

# The fresh database migrated and the day COPYed into its raw partitions before the
# server starts (a compactor already running would compact the empty hours, and drop
# their partitions, before the COPY reached them). Extra arguments go to promql-data.
day_load() {
  "$TARGET/vigil" migrate > "$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
  local t0
  t0=$(date +%s.%N)
  "$TARGET/vigil-bench" promql-data --database-url "$VIGIL__DATABASE__URL" \
    --start-ms $(( (START + 5) * 1000 )) "$@"
  echo "$TAG: data generated and COPYed in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
}

# Starts `vigil serve` (default: the build's binary) and waits for it to answer.
day_start_server() { # [binary]
  RUST_LOG=${RUST_LOG:-warn} "${1:-$TARGET/vigil}" serve >> "$WORK/vigil.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_http "127.0.0.1:$PORT/health" vigil || { cat "$WORK/vigil.log"; exit 1; }
}

day_stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
}

# The server started, a reader token minted, and every loaded hour compacted (raw
# partitions dropped, the rollups of the marked minutes rebuilt) before anything is
# measured: every query then reads compressed blocks, no raw rows.
day_serve() { # [binary]
  day_start_server "$@"
  # A reader token for the query APIs (hash stored as the server stores it).
  TOKEN="vgl_p_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  psql -q -h 127.0.0.1 -U postgres -d "$DB" -c "INSERT INTO api_tokens (id, user_id, name, kind, token_hash, prefix)
    SELECT gen_random_uuid(), id, 'bench', 'personal', sha256(convert_to('$TOKEN', 'UTF8')), left('$TOKEN', 12)
    FROM users WHERE lower(email) = 'admin@localhost'"
  local t0 left
  t0=$(date +%s.%N)
  for _ in $(seq 900); do
    left=$(psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT (SELECT count(*) FROM compaction_ranges WHERE (state <> 'compacted' OR NOT raw_dropped) AND range_end <= to_timestamp($END))
      + (SELECT count(*) FROM rollup_dirty)")
    [ "$left" = 0 ] && break
    sleep 1
  done
  [ "$left" = 0 ] || { echo "$TAG: compaction or rollups not done ($left left)" >&2; exit 1; }
  echo "$TAG: Vigil compacted the day and caught up its rollups in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
  psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "VACUUM ANALYZE" >/dev/null
  psql -qtA -h 127.0.0.1 -U postgres -d "$DB" -c "SELECT '$TAG: vigil holds ' || (SELECT coalesce(sum(count),0) FROM (SELECT count FROM points_blocks UNION ALL SELECT count FROM points_hour_blocks) b) || ' points in ' || (SELECT (SELECT count(*) FROM points_blocks) + (SELECT count(*) FROM points_hour_blocks)) || ' blocks, ' || (SELECT count(*) FROM points) || ' raw rows, ' || (SELECT count(*) FROM points_late) || ' late'" >&2
}

#!/usr/bin/env bash
# Table sizes after a 24 h backfill (three passes of `series` series each), with PostgreSQL's autovacuum off (Vigil's own
# maintenance vacuums what it churns), on (Vigil's maintenance on too, the default),
# and off with Vigil's maintenance off (nothing vacuums: the baseline). Each run gets
# a throwaway PostgreSQL cluster on a spare port (the shared server is not touched),
# the shared RabbitMQ and Redis under names of its own.
#
#   scripts/bench-vacuum.sh [series] [modes...]   default: 200 series; off on none
#
# Needs the release build (cargo build --release --workspace) and scripts/services.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh >/dev/null
TARGET="${CARGO_TARGET_DIR:-/var/tmp/vigil-target}/release"
SERIES="${1:-200}"
shift || true
MODES=("${@:-off on none}")
read -r -a MODES <<< "${MODES[*]}"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

run_mode() {
  local mode="$1" port=$((25400 + RANDOM % 500)) http=$((18700 + RANDOM % 200)) name="vacbench$RANDOM"
  local dir; dir=$(mktemp -d /tmp/vigil-vacbench-XXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  local autovacuum=off maintenance=true
  case "$mode" in on) autovacuum=on ;; none) maintenance=false ;; esac
  as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync --no-instructions >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c autovacuum=$autovacuum" start >/dev/null
  local db="postgres://postgres@127.0.0.1:$port/vigil"
  VIGIL__DATABASE__URL="$db" VIGIL__HTTP__ADDR="127.0.0.1:$http" \
    VIGIL__AMQP__INGEST_QUEUE=$name.ingest VIGIL__AMQP__DEAD_LETTER_QUEUE=$name.dlq VIGIL__AMQP__DEAD_LETTER_EXCHANGE=$name.dlx \
    VIGIL__REDIS__KEY_PREFIX=$name: VIGIL__AUTH__ADMIN_PASSWORD=vacbench-pw \
    VIGIL__AUTH__INGEST_REQUESTS_PER_IP=1000000 VIGIL__AUTH__INGEST_REQUESTS_PER_KEY=1000000 \
    VIGIL__MAINTENANCE__ENABLED=$maintenance RUST_LOG=warn "$TARGET/vigil" serve > "$dir/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do curl -sf "127.0.0.1:$http/health" >/dev/null && break; sleep 0.2; done
  # Three agent groups catch up on the same 24 h one after another (as after an
  # outage): every pass makes the downsampler recompute every minute and hour it
  # touches, deleting and re-inserting the rollup rows of the earlier passes.
  for pass in 1 2 3; do
    "$TARGET/vigil-bench" ingest --url "http://127.0.0.1:$http" --database-url "$db" --prefix "pass$pass" \
      --series "$SERIES" --metrics 2 --interval 10s --backfill 24h --batch 2000 --concurrency 4 \
      --durable-timeout 60s >>"$dir/ingest.log" 2>&1 \
      || { echo "ingest failed:"; tail -5 "$dir/ingest.log"; }
    # The bench's durable count reads `points`, from which the compactor moves rows
    # into blocks, so it may not be reached within the timeout: that is not a loss.
    sleep 40  # past rollup.settle (30 s): the pass is rolled up before the next one
  done
  local q="psql -qtA -h 127.0.0.1 -p $port -U postgres -d vigil -c"
  # Rollups settled: no dirty marks left but those of the open minute and hour,
  # twice in a row.
  local clean=0
  for _ in $(seq 600); do
    if [ "$($q "SELECT count(*) FROM rollup_dirty WHERE (tier = 1 AND bucket < now() - interval '2 minutes') OR (tier = 2 AND bucket < date_trunc('hour', now()) - interval '1 hour')")" = 0 ]; then clean=$((clean + 1)); else clean=0; fi
    [ "$clean" -ge 2 ] && break
    sleep 1
  done
  # One maintenance interval (1 m) / autovacuum naptime (1 m) for the upkeep to run.
  sleep 70
  echo "== autovacuum=$autovacuum, Vigil maintenance enabled=$maintenance; 3 passes of $SERIES series x 24 h at 10 s"
  grep '^durable' "$dir/ingest.log" || true
  $q "SELECT t.root AS table_name,
             pg_size_pretty(sum(pg_total_relation_size(t.relid))) AS total,
             sum(coalesce(s.n_live_tup,0)) AS live_rows, sum(coalesce(s.n_dead_tup,0)) AS dead_rows,
             round(sum(pg_relation_size(t.relid))::numeric / nullif(sum(coalesce(s.n_live_tup,0)),0), 1) AS heap_bytes_per_row,
             sum(coalesce(s.vacuum_count,0)) AS vacuums, sum(coalesce(s.autovacuum_count,0)) AS autovacuums
      FROM (SELECT r AS root, p.relid FROM unnest(ARRAY['rollup_1m','rollup_1h','rollup_dirty','points','points_blocks','points_hour_blocks','points_late','compaction_ranges','ingest_batches']::regclass[]) r,
            LATERAL (SELECT relid FROM pg_partition_tree(r) UNION SELECT r) p) t
      LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid
      GROUP BY t.root ORDER BY t.root::text" -P format=aligned -P tuples_only=off
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
  for q2 in $name.ingest $name.dlq; do rabbitmqctl -q delete_queue "$q2" >/dev/null 2>&1 || true; done
  rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$name.dlx\">>), false, <<\"cli\">>)." >/dev/null 2>&1 || true
  redis-cli EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end" 0 "$name:*" >/dev/null || true
  rm -rf "$dir"
}

echo "bench-vacuum.sh: load before: $(uptime)"
for mode in "${MODES[@]}"; do run_mode "$mode"; done
echo "bench-vacuum.sh: load after: $(uptime)"

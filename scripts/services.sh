#!/usr/bin/env bash
# Makes sure the services Vigil and its tests use answer on 127.0.0.1:
# PostgreSQL (5432, trust auth for user postgres), Redis (6379) and RabbitMQ (5672,
# guest/guest). Starts whichever is down; on a fresh Debian machine installs it first.
# Idempotent: with everything running it only checks. Run as root (as CI does).
#
#   VIGIL_SERVICES_TIMEOUT   seconds to wait for each service (default 120)
#   VIGIL_PG_AUTOVACUUM      off|on: set the local PostgreSQL's autovacuum to this
#                            (ALTER SYSTEM + reload) before returning; unset: leave it.
#                            scripts/test.sh sets it to off for the test run, so the
#                            tests see the machine the way the development and CI
#                            machines are configured and Vigil's own upkeep is what
#                            keeps its tables compact.
set -euo pipefail

TIMEOUT="${VIGIL_SERVICES_TIMEOUT:-120}"

log() { echo "services.sh: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
# A real AMQP check without extra tools: send the protocol header and expect the
# first byte of the broker's Connection.Start frame (frame type 1).
rabbitmq_up() {
  timeout 5 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/5672 || exit 1
    printf "AMQP\x00\x00\x09\x01" >&3
    first=$(head -c 1 <&3 | od -An -tx1 | tr -d " \n")
    exec 3<&- 3>&-
    [ "$first" = "01" ]
  ' 2>/dev/null
}

# --- install what is missing (fresh machine) --------------------------------------
missing=()
command -v pg_isready >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
fresh_postgres=false
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  for package in "${missing[@]}"; do
    [ "$package" = postgresql ] && fresh_postgres=true
  done
fi

if $fresh_postgres; then
  # Debian's default cluster asks for passwords over TCP; Vigil's development and
  # test setup connects as postgres without one (DESIGN.md, "Local services").
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      log "allowing trust auth on 127.0.0.1 in $hba (fresh install)"
      as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
  done
fi

# --- start whatever is down -------------------------------------------------------
if ! postgres_up; then
  log "starting PostgreSQL"
  # shellcheck disable=SC2046
  as_root pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start || true
fi
if ! redis_up; then
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! rabbitmq_up; then
  # A node that is up but still booting would refuse a second start: ask it first.
  if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    log "starting RabbitMQ"
    as_root rabbitmq-server -detached
  fi
fi

# --- wait until each answers ------------------------------------------------------
wait_for() {
  local name="$1" check="$2" hint="$3"
  local deadline=$((SECONDS + TIMEOUT))
  until "$check"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "ERROR: $name did not answer within ${TIMEOUT}s. $hint"
      return 1
    fi
    sleep 1
  done
  log "$name is up"
}
wait_for PostgreSQL postgres_up "Check: pg_lsclusters; the log in /var/log/postgresql/." 
wait_for Redis redis_up "Check: /var/log/redis/ci.log."
wait_for RabbitMQ rabbitmq_up "Check: rabbitmq-diagnostics status; the logs in /var/log/rabbitmq/."

if ! psql -h 127.0.0.1 -U postgres -d postgres -w -tAc 'SELECT 1' >/dev/null 2>&1; then
  log "ERROR: PostgreSQL answers, but user postgres cannot log in over TCP without a password."
  log "Vigil's tests expect trust auth on 127.0.0.1 (pg_hba.conf: host all all 127.0.0.1/32 trust)."
  exit 1
fi

# --- autovacuum, only when asked -------------------------------------------------
case "${VIGIL_PG_AUTOVACUUM:-}" in
  off|on)
    current=$(psql -h 127.0.0.1 -U postgres -d postgres -w -tAc 'SHOW autovacuum')
    if [ "$current" != "$VIGIL_PG_AUTOVACUUM" ]; then
      log "setting PostgreSQL autovacuum = $VIGIL_PG_AUTOVACUUM (was $current; VIGIL_PG_AUTOVACUUM)"
      psql -h 127.0.0.1 -U postgres -d postgres -w -qc "ALTER SYSTEM SET autovacuum = $VIGIL_PG_AUTOVACUUM" -c 'SELECT pg_reload_conf()' >/dev/null
    fi
    ;;
  "") ;;
  *) log "ERROR: VIGIL_PG_AUTOVACUUM must be off or on, not '$VIGIL_PG_AUTOVACUUM'"; exit 1 ;;
esac

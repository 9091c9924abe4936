#!/usr/bin/env bash
# Installs what the vigil-agent integration tests need besides the services that
# scripts/services.sh provides: a real Prometheus exporter to scrape
# (Debian's prometheus-node-exporter). Idempotent: with it installed it only checks.
# The package's own systemd unit is not used: the tests start the exporter themselves
# on a loopback port of their choosing.
set -euo pipefail

log() { echo "agent-test-deps.sh: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v prometheus-node-exporter >/dev/null 2>&1; then
  log "installing prometheus-node-exporter"
  as_root apt-get update
  # policy-rc.d keeps the package's service from being started on :9100 at install.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
    apt-get install -y --no-install-recommends prometheus-node-exporter
fi
command -v prometheus-node-exporter >/dev/null 2>&1 || {
  log "prometheus-node-exporter is still missing after installing it"
  exit 1
}

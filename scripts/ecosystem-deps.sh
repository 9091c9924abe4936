#!/usr/bin/env bash
# Installs the real Prometheus-ecosystem programs the remote_write tests start on
# loopback (idempotent): Prometheus (a remote_write sender), the node exporter, and
# VictoriaMetrics (its package ships vmagent, another sender). Debian packages.
set -euo pipefail

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
{ command -v victoria-metrics >/dev/null 2>&1 && command -v vmagent >/dev/null 2>&1; } || missing+=(victoria-metrics)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ecosystem-deps.sh: installing ${missing[*]} with apt" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
# The packages start their services on install; the tests start their own instances.
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
command -v prometheus >/dev/null && command -v vmagent >/dev/null || {
  echo "ecosystem-deps.sh: ERROR: prometheus or vmagent is not on PATH after the install" >&2
  exit 1
}

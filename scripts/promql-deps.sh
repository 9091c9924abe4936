#!/usr/bin/env bash
# Installs what the PromQL comparison test (tests/api/promql.rs) needs, idempotently:
# Debian's `prometheus` package (2.42 on bookworm), the reference the answers are
# compared against. The test starts its own instance on a free loopback port; the
# package's system service is not needed, so it is not started.
set -euo pipefail

if ! command -v prometheus >/dev/null 2>&1; then
  echo "promql-deps.sh: installing Debian's prometheus package" >&2
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq >&2
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >&2
fi
command -v prometheus >/dev/null || { echo "promql-deps.sh: ERROR: prometheus is not on PATH" >&2; exit 1; }

#!/usr/bin/env bash
# Installs what the alerting tests need besides the services: Python's aiosmtpd, the
# real SMTP server the tests start on loopback to receive alert email
# (tests/support/smtp_sink.py). Idempotent. Tries PyPI through pip first, then
# Debian's python3-aiosmtpd (for a system python3).
set -euo pipefail

log() { echo "test-deps.sh: $*" >&2; }

if python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  exit 0
fi
log "installing aiosmtpd"
if python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2' >&2; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  apt-get install -y --no-install-recommends python3-aiosmtpd >&2
else
  sudo apt-get install -y --no-install-recommends python3-aiosmtpd >&2
fi
python3 -c 'import aiosmtpd' || { log "ERROR: aiosmtpd is still not importable by python3"; exit 1; }

#!/usr/bin/env bash
# Installs the tools the API tests use besides the services, from PyPI (idempotent):
# - the OpenAPI validator (openapi-spec-validator) that checks /api/openapi.json;
# - schemathesis, which checks the live server against its OpenAPI document
#   (tests/api/contract.rs, scripts/contract.sh);
# - aiosmtpd, the real SMTP server the alerting tests start on loopback to receive
#   alert email (tests/support/smtp_sink.py); Debian's python3-aiosmtpd as a fallback.
set -euo pipefail

if ! python3 -m openapi_spec_validator --help >/dev/null 2>&1; then
  echo "test-deps.sh: installing openapi-spec-validator from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator
fi

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "test-deps.sh: installing schemathesis from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi

# --- alerting ---
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "test-deps.sh: installing aiosmtpd from PyPI" >&2
  if ! python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2' >&2; then
    if [ "$(id -u)" -eq 0 ]; then
      apt-get install -y --no-install-recommends python3-aiosmtpd >&2
    else
      sudo apt-get install -y --no-install-recommends python3-aiosmtpd >&2
    fi
  fi
  python3 -c 'import aiosmtpd' || { echo "test-deps.sh: ERROR: aiosmtpd is not importable by python3" >&2; exit 1; }
fi

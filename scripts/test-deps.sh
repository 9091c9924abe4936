#!/usr/bin/env bash
# Installs the tools the API tests use besides the services: the OpenAPI validator
# (PyPI package openapi-spec-validator) that checks /api/openapi.json.
set -euo pipefail

if ! python3 -m openapi_spec_validator --help >/dev/null 2>&1; then
  echo "test-deps.sh: installing openapi-spec-validator from PyPI" >&2
  python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator
fi

#!/usr/bin/env bash
# Run the conformance suite on all four reference runners and write the report (local backend by default).
# Extra arguments go to `appauth-conformance run`, e.g. --backend=docker or --lang=python,java.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/setup.sh | tail -1)
exec "$PY" -m appauth_conformance.frontends.cli run --lang=all --report-dir reports/local "$@"

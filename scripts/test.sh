#!/usr/bin/env bash
# The whole test suite: unit tests, the conformance gate on all four runners, Docker and browser tests.
# Does its own set-up (idempotent, cached): venv, Debian packages, Docker engine, bootstrapped base images.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/setup.sh | tail -1)
bash scripts/system-deps.sh
if [ "$(id -u)" -eq 0 ] || docker info >/dev/null 2>&1; then
  bash scripts/docker-up.sh && "$PY" -m harness.cli images bootstrap --suite bullseye --suite bookworm --suite trixie \
    || echo "test.sh: no Docker engine; Docker tests will skip (or fail under CI=true)" >&2
fi
exec "$PY" -m pytest --lang=all "$@"

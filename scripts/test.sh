#!/usr/bin/env bash
# The whole test suite: unit tests, the conformance gate on all four runners, Docker and browser tests.
# Does its own set-up (idempotent, cached): venv, Debian packages, Docker engine, bootstrapped base images.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/setup.sh | tail -1)
bash scripts/system-deps.sh
if [ "$(id -u)" -eq 0 ] || [ -S /var/run/docker.sock ]; then
  bash scripts/docker-up.sh && "$PY" -m appauth_conformance.frontends.cli images bootstrap --suite bullseye --suite bookworm --suite trixie \
    || echo "test.sh: no Docker engine; Docker tests will skip (or fail under CI=true)" >&2
fi
# 0. the house rules: lint, format, types (the layers run with the tests: tests/test_architecture.py)
"$PY" -m ruff check harness tests benchmarks scripts
"$PY" -m ruff format --check harness tests benchmarks scripts
"$PY" -m mypy
# 1. everything: unit tests, the gate on the four reference runners (local backend), Docker, browser,
#    install and action tests (`tests` is named: `pytest --lang=all` alone is the everyday gate only)
"$PY" -m pytest tests --lang=all "$@"
# 2. the gate again on the whole Docker version matrix (every variant, the vendor SDKs too, sandboxed containers)
exec "$PY" -m pytest --lang=all,sdks --backend=docker --matrix -m conformance -q "$@"

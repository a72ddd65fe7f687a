#!/usr/bin/env bash
# Idempotent, cached set-up: a virtualenv in .venv with the suite installed (editable) and its test extras.
# Re-runs are no-ops unless pyproject.toml changed. Prints the venv's python path on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' >&2
  rm -f .venv/.installed-* && touch "$stamp"
fi
echo "$PWD/.venv/bin/python"

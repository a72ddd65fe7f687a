#!/usr/bin/env bash
# Idempotent, cached set-up: a virtualenv in .venv with the suite installed from this checkout and its
# test extras. The install is a regular one (a wheel built from the checkout, not editable), so the
# suite's own tests run the package exactly as users get it, package data included; it is redone
# whenever a packaged file changes. Prints the venv's python path on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# what the wheel is built from: a change to any of these reinstalls the suite
stamp=.venv/.installed-$(find pyproject.toml hatch_build.py README.md LICENSE harness vectors runners -type f \
  -not -path '*/__pycache__/*' -not -path '*/node_modules/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check '.[test]' >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --force-reinstall . >&2
  rm -f .venv/.installed-* && touch "$stamp"
fi
echo "$PWD/.venv/bin/python"

#!/usr/bin/env bash
# Mutation testing of the modules that decide a verdict: scripts/mutation.sh MODULE... (or `all`).
# Each named module of harness/appauth_conformance/ (e.g. tokens, diagnosis/__init__.py) is mutated by
# mutmut 3 and judged by its fast unit tests; prints each module's score, the known equivalent mutants
# (docs/testing.md) and any new survivor with its diff. Exit 0: no new survivor; 1: new survivors; 2: bad input.
#
# mutmut lives in a venv of its own (.cache/mutation/venv, from pyproject's `mutation` extra) without the
# suite installed, so the tests import the mutated sources and nothing else; the run works on a staged copy
# of the checkout in .cache/mutation/work (git-ignored, rebuilt on every run). See docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.cache/mutation/venv
# the project's dependencies and the `mutation` extra, as written in pyproject.toml
reqs=$("$PY" - <<'EOF'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["mutation"]))
EOF
)
stamp=$VENV/.installed-$(printf '%s' "$reqs" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  printf '%s\n' "$reqs" >"$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$VENV/requirements.txt" >&2
  touch "$stamp"
fi
exec "$VENV/bin/python" scripts/mutation.py "$@"

#!/usr/bin/env bash
# Regenerate the published compatibility report in reports/ from the Docker version matrix:
# every variant of the four reference runners and of the vendor SDKs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/setup.sh | tail -1)
bash scripts/docker-up.sh
"$PY" -m appauth_conformance.frontends.cli images bootstrap --suite bullseye --suite bookworm --suite trixie
"$PY" -m appauth_conformance.frontends.cli run --backend=docker --matrix --lang=all,sdks --report-dir=reports
# The static site (docs/site.md): the matrix plus the version series in reports/series/ (each a
# results.json of one implementation at one version, made by scripts/build-series.py), when present.
shopt -s nullglob
"$PY" -m appauth_conformance.frontends.cli site build reports/results.json reports/series/*/*.json.gz --out reports/site

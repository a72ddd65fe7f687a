#!/usr/bin/env bash
# Debian packages the whole test suite needs beyond the base machine: Chromium (HTML report test),
# Go (the Go example runner), docker.io + debootstrap (Docker backend), npm (axe-core, the accessibility
# checker of tests/browser/test_site_browser.py, installed with `npm ci` from tests/browser/package-lock.json). Installs only what is missing;
# needs root. Without root it lists what is missing and the tests that need it skip (or fail under CI=true).
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v go >/dev/null || need+=(golang-go)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v openssl >/dev/null || need+=(openssl)
[ -e /usr/include/openssl/hmac.h ] || need+=(libssl-dev)
command -v npm >/dev/null || need+=(npm)
here="$(cd "$(dirname "$0")/.." && pwd)"
node_deps() {  # the browser tests' npm packages (pinned by the lock file); skipped when npm is missing
  if command -v npm >/dev/null && [ ! -e "$here/tests/browser/node_modules/axe-core/axe.min.js" ]; then
    echo "system-deps: npm ci in tests/browser (axe-core)" >&2
    npm ci --prefix "$here/tests/browser" --no-audit --no-fund --loglevel=error >&2
  fi
}
[ ${#need[@]} -eq 0 ] && { node_deps; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${need[@]}" >&2
node_deps

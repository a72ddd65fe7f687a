#!/bin/sh
# Make a Docker engine answer on /var/run/docker.sock, for `--backend=docker`.
#
#   scripts/docker-up.sh            install docker.io + debootstrap if missing, start dockerd if needed
#
# Idempotent: when an engine already answers, it only says so. Needs root (or sudo) for the
# install and for starting dockerd. The daemon log goes to $DOCKERD_LOG (default
# /var/log/appauth-dockerd.log, or /tmp/appauth-dockerd.log when /var/log is not writable).
# Waits at most $DOCKER_UP_TIMEOUT seconds (default 60) for the engine to answer.
set -eu

SOCK=/var/run/docker.sock
TIMEOUT=${DOCKER_UP_TIMEOUT:-60}

say() { printf 'docker-up: %s\n' "$*"; }
die() { printf 'docker-up: error: %s\n' "$*" >&2; exit 1; }

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
fi

# Does an engine answer on the socket? Ask the API itself (GET /_ping), without the docker CLI.
engine_answers() {
    [ -S "$SOCK" ] || return 1
    if command -v curl >/dev/null 2>&1; then
        [ "$(curl -s --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = "OK" ]
    else
        python3 - "$SOCK" <<'EOF' >/dev/null 2>&1
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.exit(0 if data.endswith(b"OK") else 1)
EOF
    fi
}

if engine_answers; then
    say "a Docker engine already answers on $SOCK"
    exit 0
fi

# 1. packages
missing=
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || missing="$missing docker.io"
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing="$missing debootstrap"
if [ -n "$missing" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing:$missing, and apt-get is not available; install them with your package manager"
    say "installing:$missing"
    $SUDO apt-get update -q || die "apt-get update failed; check your apt sources and network"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing \
        || die "apt-get install$missing failed"
fi
DOCKERD=$(command -v dockerd 2>/dev/null || echo /usr/sbin/dockerd)
[ -x "$DOCKERD" ] || die "dockerd not found after installing docker.io"

# 2. the daemon
LOG=${DOCKERD_LOG:-}
if [ -z "$LOG" ]; then
    if [ -w /var/log ]; then LOG=/var/log/appauth-dockerd.log; else LOG=/tmp/appauth-dockerd.log; fi
fi

if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is running but does not answer yet; waiting for it"
else
    say "starting $DOCKERD (log: $LOG)"
    # setsid + nohup: the daemon outlives this script and the terminal that ran it
    $SUDO sh -c "nohup setsid '$DOCKERD' >>'$LOG' 2>&1 </dev/null &" \
        || die "could not start dockerd; see $LOG"
fi

# 3. wait, bounded
i=0
while [ "$i" -lt "$TIMEOUT" ]; do
    if engine_answers; then
        [ -n "$SUDO" ] && [ ! -w "$SOCK" ] && say "note: $SOCK is not writable by $(id -un); add yourself to the docker group or use sudo"
        say "Docker engine is up on $SOCK (after ${i}s)"
        exit 0
    fi
    sleep 1
    i=$((i + 1))
done

printf 'docker-up: error: no Docker engine answered on %s within %ss.\n' "$SOCK" "$TIMEOUT" >&2
if [ -r "$LOG" ]; then
    printf -- '--- last lines of %s ---\n' "$LOG" >&2
    tail -n 20 "$LOG" >&2
fi
printf 'Start one by hand (`sudo dockerd &`), or run the suite with --backend=local.\n' >&2
exit 1

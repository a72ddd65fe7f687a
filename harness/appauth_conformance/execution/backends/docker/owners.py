"""Who owns a runner container, and how none outlives its harness.

Three layers, each enough on its own for the case it covers:

1. Inside the container: the entrypoint runs under coreutils `timeout -s KILL LIFETIME`
   (`wrap`), so the runner is killed once its lifetime has passed whatever the harness does.
2. A watchdog process (`python -m appauth_conformance.execution.backends.docker.owners SESSION`, started by
   the backend with its first container, in a session of its own): it reads a pipe the harness
   holds; when the pipe ends without the harness saying goodbye (the harness was SIGKILLed, or
   crashed), it removes the containers of that backend session at once.
3. Every backend, when it starts its first container, removes the stale ones it finds
   (`sweep`): expired, or owned by a process of this machine (same host name and boot id) that
   no longer exists. A live run's containers, on this machine or another, are never touched.

The owner is written on every container as labels (`labels`): the owning process id, host name,
boot id and pid namespace, and the expiry time (Unix seconds).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appauth_conformance.execution.backends.docker.engine import LABEL, SESSION_LABEL

if TYPE_CHECKING:
    from docker import APIClient

OWNER_PID = f"{LABEL}.owner-pid"
OWNER_HOST = f"{LABEL}.owner-host"
OWNER_BOOT = f"{LABEL}.owner-boot"
OWNER_PIDNS = f"{LABEL}.owner-pidns"  # the owner's pid namespace: its pid means something only there
EXPIRES = f"{LABEL}.expires"
DEFAULT_LIFETIME = 6 * 3600  # seconds; --container-lifetime
GRACE = 60  # seconds past its lifetime before a container counts as expired: its own timeout ends it first
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
NO_TIMEOUT = "its containers' lifetime is the harness's alone (the watchdog, the sweep of stale ones; `appauth-conformance docs docker`)"
GOODBYE = b"closed\n"  # the harness closed its backend itself: nothing to remove


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def labels(lifetime: float, now: float | None = None) -> dict[str, str]:
    """The owner labels of a container this process starts now."""
    return {
        OWNER_PID: str(os.getpid()),
        OWNER_HOST: socket.gethostname(),
        OWNER_BOOT: boot_id(),
        OWNER_PIDNS: pid_namespace(),
        EXPIRES: str(int((time.time() if now is None else now) + lifetime + GRACE)),
    }


def wrap(argv: list[str], lifetime: float) -> list[str]:
    """The container's argv under coreutils (or busybox) timeout: killed after `lifetime` seconds."""
    return ["timeout", "-s", "KILL", f"{lifetime:g}", *argv]


def has_timeout(api: APIClient, options: dict[str, Any]) -> bool:
    """Whether the image of `options` (container_options) has a `timeout` command: a throw-away container
    started with it as its entrypoint (the engine refuses to start one whose executable is missing)."""
    from docker.errors import APIError

    opts = {**options, "entrypoint": wrap(["true"], 5), "command": [], "stdin_open": False}
    cid = api.create_container(**opts)["Id"]
    try:
        api.start(cid)
        return True
    except APIError as e:
        return not re.search(r"not found|no such file", str(e), re.IGNORECASE)
    finally:
        try:
            api.remove_container(cid, force=True, v=True)
        except APIError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def stale(owner: dict[str, str], now: float | None = None) -> bool:
    """True when the container with these labels has no live owner: expired, or owned by a process
    of this machine (same host name, boot id and pid namespace) that is gone, or by this machine before
    a reboot. Unknown owners are not stale."""
    now = time.time() if now is None else now
    try:
        if EXPIRES in owner and int(owner[EXPIRES]) < now:
            return True
        pid = int(owner[OWNER_PID])
    except (KeyError, ValueError):
        return False
    if owner.get(OWNER_HOST) != socket.gethostname():
        return False  # another machine's run: only its expiry counts
    if owner.get(OWNER_BOOT) and owner[OWNER_BOOT] != boot_id():
        return True
    if owner.get(OWNER_PIDNS) != pid_namespace():
        return False  # a harness in another container (same host name with --network host): its pid is not ours
    return not _pid_alive(pid)


def sweep(api: APIClient, keep_session: str | None = None) -> int:
    """Remove the stale containers of the suite (never those of `keep_session`); how many were removed.
    Best effort: an engine that does not answer the listing is left to the run's own errors."""
    from docker.errors import APIError, NotFound

    n = 0
    try:
        found_containers = api.containers(all=True, filters={"label": LABEL})
    except Exception:  # best effort: an engine that does not answer is left to the run's own errors
        return 0
    for c in found_containers:
        found = c.get("Labels") or {}
        if found.get(SESSION_LABEL) == keep_session or not stale(found):
            continue
        try:
            api.remove_container(c["Id"], force=True, v=True)
            n += 1
        except (NotFound, APIError):
            pass
    return n


class Watchdog:
    """The process that removes a backend session's containers if the harness dies without closing it."""

    def __init__(self, session: str, docker_host: str | None):
        read, self._write = os.pipe()
        argv = [sys.executable, "-m", __name__, session, *([docker_host] if docker_host else [])]
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv,
                stdin=read,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",  # `-m` puts the working folder first on sys.path: never a project's own modules
                start_new_session=True,  # a signal to the harness's process group does not reach it
            )
        except OSError:
            self.proc = None
        finally:
            os.close(read)

    def close(self) -> None:
        """Say goodbye (the backend removed its containers itself) and let the watchdog end."""
        if self._write < 0:
            return
        try:
            os.write(self._write, GOODBYE)
        except OSError:
            pass
        os.close(self._write)
        self._write = -1
        if self.proc is not None:  # it ends on its own once it has read the goodbye (Python's start-up: ~0.2 s)
            threading.Thread(target=self.proc.wait, name="docker-watchdog-reap", daemon=True).start()


def _watch(session: str, docker_host: str | None) -> int:
    data = b""
    while chunk := os.read(0, 64):
        data += chunk
    if data == GOODBYE:
        return 0
    from appauth_conformance.execution.backends.docker import engine

    engine.use_host(docker_host)
    engine.remove_leftovers(session)
    return 0


if __name__ == "__main__":
    sys.exit(_watch(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))

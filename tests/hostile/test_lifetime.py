"""No runner container outlives its harness.

Issue 25: when the harness was killed with SIGKILL, a runner that ignores EOF kept its container running
(4 min 25 s, until removed by hand). Now (docs/docker.md, "Cleanup guarantees"):

- the harness's watchdog removes the containers of a SIGKILLed harness at once;
- without the watchdog too, the container's own `timeout -s KILL LIFETIME` ends the runner;
- the next run removes stale containers (expired, or owned by a dead process of this machine), and
  never a live run's.

Each test runs a harness in a subprocess (a session with a runner that ignores EOF and SIGTERM) and
SIGKILLs it; it then polls the engine with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appauth_conformance.execution.backends.docker import client
from appauth_conformance.execution.session import Session

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNNER = (Path(__file__).parent / "sandbox_runner.py").read_text()
HARNESS = """
import json, sys
from pathlib import Path
from appauth_conformance.execution import options as config
from appauth_conformance.execution.backends.docker import DockerBackend
from appauth_conformance.execution.session import Session

(spec,) = config.declared_runners(Path(sys.argv[1]))
backend = DockerBackend(progress=None, lifetime=float(sys.argv[2]))
session = Session(spec, backend, timeout=60)
session.start()
print(json.dumps({"containers": backend.containers(), "watchdog": backend.watchdog_pid}), flush=True)
sys.stdin.read()  # until the test kills this process
"""


def _declare(team, name: str, python_image: str, mode: str):
    team.file("runner/runner.py", RUNNER)
    team.file("runner/Dockerfile", f"FROM {python_image}\nCOPY runner.py /opt/hostile/\n")
    team.declare(name, dockerfile="runner/Dockerfile", command=["python3", "/opt/hostile/runner.py", mode])
    return team.spec(name)


@pytest.fixture
def harness(team, tmp_path):
    """harness(lifetime) -> (process, container id, watchdog pid): a harness process with one session of the
    sleeping runner. Afterwards: both processes killed, the container and the image the harness built removed."""
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    started: list[tuple[subprocess.Popen, str, int, str]] = []

    def start(lifetime: float) -> tuple[subprocess.Popen, str, int]:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(team.toml), str(lifetime)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        said = json.loads(proc.stdout.readline() or "{}")
        if not said.get("containers"):
            proc.kill()
            proc.wait()
            pytest.fail(f"the harness did not start its runner (exit status {proc.poll()})")
        (cid,) = said["containers"]
        started.append((proc, cid, said["watchdog"], client().api.inspect_container(cid)["Config"]["Image"]))
        return proc, cid, said["watchdog"]

    yield start
    api = client().api
    for proc, cid, watchdog, image in started:
        _sigkill(watchdog, proc.pid)
        proc.wait()
        if _state(cid):
            api.remove_container(cid, force=True)
        try:
            api.remove_image(image, force=True)
        except Exception:
            pass


def _sigkill(*pids: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _state(cid: str) -> dict | None:
    """The container's State, or None once the engine no longer has it."""
    from docker.errors import NotFound

    try:
        return client().api.inspect_container(cid)["State"]
    except NotFound:
        return None


def _wait_for(what: str, check, deadline: float):
    end = time.monotonic() + deadline
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < end, f"{what}: not within {deadline:g}s"
        time.sleep(0.2)


@pytest.fixture
def sleeper(team, python_image):
    return _declare(team, "hostile-sleeper", python_image, "sleep")


def test_a_sigkilled_harness_leaves_no_container(sleeper, harness):
    lifetime = 60
    proc, cid, _watchdog = harness(lifetime)
    assert _state(cid)["Running"]
    started = time.monotonic()
    _sigkill(proc.pid)
    proc.wait()
    _wait_for("the container removed", lambda: _state(cid) is None, lifetime)
    assert time.monotonic() - started < lifetime


def test_the_lifetime_is_enforced_inside_the_container(sleeper, harness, team, docker_backend):
    """The watchdog SIGKILLed and the harness frozen (SIGSTOP: it can close nothing): the runner still ends at
    its lifetime, killed inside the container; once the harness is dead too, the next backend to start a
    container removes it."""
    lifetime = 4
    proc, cid, watchdog = harness(lifetime)
    config = client().api.inspect_container(cid)["Config"]
    assert config["Entrypoint"][:4] == ["timeout", "-s", "KILL", "4"]
    _sigkill(watchdog)
    os.kill(proc.pid, signal.SIGSTOP)
    state = _wait_for("the runner killed at its lifetime", lambda: (s := _state(cid)) and not s["Running"] and s, 60)
    assert state["ExitCode"] == 137  # SIGKILL from timeout, inside the container: its owner is alive, frozen
    _sigkill(proc.pid)
    proc.wait()
    with Session(team.spec("hostile-sleeper"), docker_backend(), timeout=60) as s:
        s.start()  # the first start sweeps
        assert _state(cid) is None


def test_a_run_removes_containers_of_dead_owners_and_keeps_live_ones(sleeper, harness, docker_backend):
    """Owner gone (lifetime not yet over): removed by the next run; a live run's container: kept."""
    proc, cid, watchdog = harness(3600)
    live = docker_backend()
    _sigkill(watchdog, proc.pid)
    proc.wait()
    with Session(sleeper, live, timeout=60) as s_live:
        s_live.start()  # this backend's first start sweeps the dead owner's container
        (live_cid,) = live.containers()
        assert _state(cid) is None
        with Session(sleeper, docker_backend(), timeout=60) as s_other:
            s_other.start()  # another run's sweep: the live run's container stays
            assert _state(live_cid)["Running"]

"""A runner container, whatever its image says: never root, CPU bounded, /tmp the one writable place.

Issue 25: `USER 00:00` in a team's Dockerfile gave uid 0 (the check rejected only "", "0" and "root");
there was no CPU limit (200 busy loops took the load average of a 2-core machine to 175); /dev/shm and
/dev/mqueue were writable besides /tmp.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from appauth_conformance.core.errors import UsageError
from appauth_conformance.execution.backends.docker import DockerBackend, client
from appauth_conformance.execution.session import Session

pytestmark = pytest.mark.docker

RUNNER = (Path(__file__).parent / "sandbox_runner.py").read_text()


def _declare(team, name: str, python_image: str, dockerfile_tail: str = "", mode: str = "hello"):
    team.file("runner/runner.py", RUNNER)
    team.file("runner/Dockerfile", f"FROM {python_image}\nCOPY runner.py /opt/hostile/\n{dockerfile_tail}")
    team.declare(name, dockerfile="runner/Dockerfile", command=["python3", "/opt/hostile/runner.py", mode])
    return team.spec(name)


@pytest.mark.parametrize("user", ["00:00", "root:root", "0", "000", "0:1000", "root"])
def test_the_image_user_is_never_used(user, team, python_image, docker_backend):
    spec = _declare(team, "hostile-root", python_image, f"USER {user}\n")
    b = docker_backend()
    with Session(spec, b, timeout=60) as s:
        runtime = s.start()["runtime"]
    assert runtime == "uid=1000 gid=1000"  # the documented default user, whatever the image says


def test_a_backend_refuses_root():
    for ids in ({"uid": 0}, {"uid": 1000, "gid": 0}):
        with pytest.raises(UsageError, match="never run as root"):
            DockerBackend(progress=None, **ids)


def _wait_for(what: str, check, deadline: float):
    """check() until it returns a truthy value (polling the engine), or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < end, f"{what}: not within {deadline:g}s"
        time.sleep(0.2)


def test_a_busy_runner_is_held_to_its_cpu_limit(team, python_image, docker_backend):
    """The container's HostConfig carries the limit, and the kernel throttles the busy loop to it."""
    spec = _declare(team, "hostile-spin", python_image, mode="spin")
    b = docker_backend(cpus=0.2)
    assert docker_backend().cpus == 1.0  # the default: one core of the machine at most
    api = client().api
    with Session(spec, b, timeout=60) as s:
        s.start()
        (cid,) = b.containers()
        assert api.inspect_container(cid)["HostConfig"]["NanoCpus"] == 200_000_000

        def throttled():
            stats = api.stats(cid, stream=False)
            return stats["cpu_stats"].get("throttling_data", {}).get("throttled_periods", 0) > 0

        _wait_for("the busy loop throttled by the CPU quota", throttled, 60)
        b.remove(cid)


PROBE = r"""
for d in /tmp /dev/shm /dev/mqueue /; do
  if ( : > "$d/appauth-probe" ) 2>/dev/null; then echo "$d=writable"; else echo "$d=not-writable"; fi
done
"""


def test_tmp_is_the_one_writable_place(python_image, docker_backend):
    b = docker_backend()
    api = client().api
    opts = b.container_options(python_image)
    opts.update(entrypoint=["/bin/sh", "-c", PROBE], command=[], stdin_open=False)
    cid = api.create_container(**opts)["Id"]
    try:
        stream = api.attach(cid, stdout=True, stderr=True, stream=True)
        api.start(cid)
        out = b"".join(stream).decode()
        assert api.wait(cid, timeout=60)["StatusCode"] == 0, out
    finally:
        api.remove_container(cid, force=True)
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert seen == {"/tmp": "writable", "/dev/shm": "not-writable", "/dev/mqueue": "not-writable", "/": "not-writable"}

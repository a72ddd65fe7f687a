"""What a team's build may reach (docs/docker.md, "Threat model"): by default a build's RUN steps have the
engine's default network, as root in the build container; `--offline-build` builds declared runners with no
network at all. And an image without `timeout` still runs, its lifetime left to the harness.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.execution.session import Session

pytestmark = pytest.mark.docker

# succeeds only when the build container has a network interface besides loopback
NEEDS_NETWORK = "RUN ls /sys/class/net | grep -qvx lo\n"


def _declare(team, python_image: str) -> None:
    team.file("runner/Dockerfile", f"FROM {python_image}\n{NEEDS_NETWORK}")
    team.declare("hostile-network", dockerfile="runner/Dockerfile", command=["true"])


def test_offline_build_gives_a_build_no_network(team, python_image, docker_backend):
    _declare(team, python_image)
    with pytest.raises(RunnerUnavailable) as e:
        docker_backend(offline_build=True).prepare(team.spec("hostile-network"))
    msg = str(e.value)
    assert "hostile-network" in msg and "--offline-build" in msg and "no network at build time" in msg
    # the same Dockerfile builds with the default policy: the build has a network
    assert docker_backend().prepare(team.spec("hostile-network"))["image"]


@pytest.mark.slow
def test_offline_build_from_the_command_line(team, python_image, tmp_path):
    _declare(team, python_image)
    argv = [sys.executable, "-m", "appauth_conformance.frontends.cli", "images", "build", "--offline-build"]
    proc = subprocess.run(
        [*argv, "--config", str(team.toml), "--lang", "declared"],
        cwd=team.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "--offline-build" in proc.stderr and "Traceback" not in proc.stderr


def test_an_image_without_timeout_still_runs(team, python_image, docker_backend):
    """The lifetime inside the container needs coreutils' (or busybox's) `timeout`: without it the runner
    runs unwrapped, said once, and the watchdog and the sweep are what remain (docs/docker.md)."""
    runner = (Path(__file__).parent / "sandbox_runner.py").read_text()
    team.file("runner/runner.py", runner)
    team.file(
        "runner/Dockerfile",
        f"FROM {python_image}\nUSER 0\nRUN rm /usr/bin/timeout\nCOPY runner.py /opt/hostile/\n",
    )
    team.declare("hostile-no-timeout", dockerfile="runner/Dockerfile", command=["python3", "/opt/hostile/runner.py"])
    said: list[str] = []
    b = docker_backend(progress=said.append)
    spec = team.spec("hostile-no-timeout")
    with Session(spec, b, timeout=60) as s:
        assert s.start()["runtime"] == f"uid={b.uid} gid={b.gid}"
    assert any("has no `timeout` command" in line for line in said), said
    assert b.container_options(b.images[spec.name], spec)["entrypoint"] == ["python3", "/opt/hostile/runner.py"]


def test_a_build_sees_neither_the_host_nor_the_harness(team, python_image, docker_backend, monkeypatch, tmp_path):
    """docs/docker.md: a build sees its context, its base and what it downloads; not the host's files, the
    harness's environment or the Docker socket (the RUN step fails if it sees any of them)."""
    host_file = tmp_path / "on-the-host.txt"
    host_file.write_text("host")
    monkeypatch.setenv("APPAUTH_HOSTILE_SECRET", "from-the-harness")
    team.file(
        "runner/Dockerfile",
        f"FROM {python_image}\n"
        f'RUN test -z "$APPAUTH_HOSTILE_SECRET" && test ! -e /var/run/docker.sock && test ! -e {host_file}\n',
    )
    team.declare("hostile-peek", dockerfile="runner/Dockerfile", command=["true"])
    assert docker_backend().prepare(team.spec("hostile-peek"))["image"]

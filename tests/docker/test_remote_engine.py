"""A Docker engine reached over TCP: `--docker-host tcp://...` (and DOCKER_HOST) for a sharded run.

The engine is this machine's, reached through a relay listening on 127.0.0.1 (tests/docker/relay.py):
for the harness it is a remote engine like any other (builds, look-ups, attach streams, clean-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from relay import Relay

pytestmark = pytest.mark.docker

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "vectors" / "small.yaml"


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appauth_conformance.frontends.cli", "run", "--backend=docker", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_a_sharded_run_through_an_engine_reached_over_tcp(tmp_path, built):
    relay = Relay()  # tcp://127.0.0.1:<free port>
    shard1 = run(
        "--lang=python,cpp",
        f"--docker-host={relay.address}",
        "--shard=1/2",
        f"--report-dir={tmp_path / 's1'}",
        env={"DOCKER_HOST": "unix:///nonexistent.sock"},  # --docker-host wins over the environment
    )
    assert shard1.returncode == 0, shard1.stdout + shard1.stderr
    assert relay.accepted > 0, "the run did not go through the TCP engine"
    # the other shard through DOCKER_HOST=tcp://..., as a CI job configures it
    before = relay.accepted
    shard2 = run(
        "--lang=python,cpp", "--shard=2/2", f"--report-dir={tmp_path / 's2'}", env={"DOCKER_HOST": relay.address}
    )
    assert shard2.returncode == 0, shard2.stdout + shard2.stderr
    assert relay.accepted > before
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "report",
            "merge",
            str(tmp_path / "s1" / "results.json"),
            str(tmp_path / "s2" / "results.json"),
            "--out",
            str(tmp_path / "merged"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert doc["complete"] and {r["backend"] for r in doc["runners"]} == {"docker"}
    from appauth_conformance.corpus import vectors

    assert len(doc["outcomes"]) == 2 * len(vectors.load().vectors)
    assert {o["verdict"] for o in doc["outcomes"]} <= {"pass", "known-divergence"}
    relay.cut()


def test_an_engine_address_that_does_not_answer_is_one_message(tmp_path):
    r = run("--lang=python", "--docker-host=tcp://127.0.0.1:9", f"--vectors={SMALL}", f"--report-dir={tmp_path}")
    assert r.returncode == 2 and "no Docker engine answers at tcp://127.0.0.1:9" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr

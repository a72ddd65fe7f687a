"""The Docker engine going away mid-run ends the run with one clear message and exit code 2, keeps
what was measured (results.json marked incomplete), and never prints a traceback.

The engine is reached through a small Unix-socket relay that the test controls; cutting the relay is,
for the harness, exactly an engine that went away (its attach streams die, new API calls are refused).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from relay import Relay

pytestmark = pytest.mark.docker


@pytest.fixture
def leftovers_removed():
    """The harness cannot remove its container through a cut engine connection: the test does, afterwards."""
    from appauth_conformance.execution.backends.docker import LABEL, client

    api = client().api
    before = {c["Id"] for c in api.containers(all=True, filters={"label": LABEL}, quiet=True)}
    yield
    for c in api.containers(all=True, filters={"label": LABEL}, quiet=True):
        if c["Id"] not in before:
            api.remove_container(c["Id"], force=True, v=True)


def test_engine_gone_mid_run_is_exit_2_and_keeps_results(tmp_path, built, leftovers_removed):
    relay = Relay(tmp_path / "engine.sock")
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "run",
            "--backend",
            "docker",
            "--lang",
            "js",
            "--report-dir",
            str(tmp_path / "out"),
            "--timeout",
            "5",
        ],
        env={**os.environ, "DOCKER_HOST": relay.address},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert relay.streaming.wait(60), "the runner container never answered"
    relay.cut()
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2, out + err
    assert "Traceback" not in err, err
    assert "Docker engine" in err and "--backend=local" in err, err
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["complete"] is False
    # whatever no longer answered was not turned into a verdict on the runner
    assert doc["outcomes"] and not [o for o in doc["outcomes"] if o["verdict"] == "fail"]

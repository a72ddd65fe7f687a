"""From an installed wheel, in a team's repository: a client declared in the team's pyproject as an endpoint
client (`endpoint = true`, apps and their key variables beside it) is gated by `appauth-conformance run`
(exit 0 conforming, 1 a client that sends milliseconds, named), and `pytest --collect-only` lists its item
without running it."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]

PYPROJECT = """\
[tool.appauth-conformance.endpoint]
apps = [{{ id = "demo-app", key-env = "TEAM_APP_KEY" }}]

[tool.appauth-conformance.runners.team-client]
endpoint = true
command = ["{{python}}", "wrapper.py", "{mistake}", "2"]
env = {{ APP_ID = "demo-app" }}
"""
WRAPPER = """\
import pathlib, runpy, sys
pathlib.Path("ran.marker").write_text("ran")
sys.argv = ["client.py", *sys.argv[1:]]
runpy.run_path("client.py", run_name="__main__")
"""


def _team(helpers, tmp_path, mistake: str):
    team = tmp_path / "team-service"
    team.mkdir()
    (team / "pyproject.toml").write_text(PYPROJECT.format(mistake=mistake))
    (team / "client.py").write_text((helpers.ROOT / "tests" / "fixtures" / "endpoint" / "client.py").read_text())
    (team / "wrapper.py").write_text(WRAPPER)
    env = {**os.environ, "TEAM_APP_KEY": "team-key-123456", "APP_KEY": "team-key-123456", "CI": ""}
    return team, env


@pytest.mark.parametrize("mistake, code", [("none", 0), ("millis", 1)])
def test_run_gates_a_declared_client_from_the_wheel(helpers, wheel_venv, tmp_path, mistake, code):
    team, env = _team(helpers, tmp_path, mistake)
    argv = [wheel_venv.script, "run", "--lang", "team-client"]
    gate = helpers.run(helpers.read_only(argv, wheel_venv), team, env=env, check=False)
    said = gate.stdout[-3000:] + gate.stderr[-3000:]
    assert gate.returncode == code, said
    doc = json.loads((team / ".appauth-conformance" / "results.json").read_text())
    assert [(r["name"], r["language"], r["group"]) for r in doc["runners"]] == [("team-client", "http", "declared")]
    assert [o["verdict"] for o in doc["outcomes"]] == (["pass", "pass"] if code == 0 else ["fail", "fail"])
    assert (team / ".appauth-conformance" / "report.html").is_file()
    if code:
        assert "expire-in-milliseconds" in gate.stdout


def test_collect_only_lists_the_client_and_runs_nothing(helpers, wheel_venv, tmp_path):
    team, env = _team(helpers, tmp_path, "none")
    argv = [wheel_venv.python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--lang=all"]
    r = helpers.run(argv, team, env=env, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "conformance::test_endpoint_client[team-client]" in r.stdout
    assert not (team / "ran.marker").exists()
    assert not (team / ".appauth-conformance").exists()

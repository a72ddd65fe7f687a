"""From an installed wheel, in a team's repository: `serve -- COMMAND` with the apps declared in the team's
pyproject (keys from the environment) gates a real client over HTTPS (exit 0 conforming, 1 a client that
resends its token), and a key variable left unset is one message, exit 2."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]

PYPROJECT = """\
[project]
name = "team-service"
version = "1.0"

[tool.appauth-conformance.endpoint]
apps = [{ id = "demo-app", key-env = "TEAM_APP_KEY" }]
"""


@pytest.mark.parametrize("mistake, code", [("none", 0), ("reuse", 1)])
def test_serve_gates_a_client_from_the_wheel(helpers, wheel_venv, tmp_path, mistake, code):
    team = tmp_path / "team-service"
    team.mkdir()
    (team / "pyproject.toml").write_text(PYPROJECT)
    client = helpers.ROOT / "tests" / "fixtures" / "endpoint" / "client.py"
    (team / "client.py").write_text(client.read_text())
    env = {**os.environ, "TEAM_APP_KEY": "team-key-123456", "APP_ID": "demo-app", "APP_KEY": "team-key-123456"}
    argv = [wheel_venv.script, "serve", "--", wheel_venv.python, "client.py", mistake, "2"]
    gate = helpers.run(helpers.read_only(argv, wheel_venv), team, env=env, check=False)
    said = gate.stdout[-3000:] + gate.stderr[-3000:]
    assert gate.returncode == code, said
    doc = json.loads((team / ".appauth-conformance" / "results.json").read_text())
    assert [r["name"] for r in doc["runners"]] == ["endpoint:demo-app"] and len(doc["outcomes"]) == 2
    assert (team / ".appauth-conformance" / "report.html").is_file()
    if code:
        assert "[token-reused]" in gate.stdout


def test_serve_key_variable_unset_is_exit_2(helpers, wheel_venv, tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    env = {k: v for k, v in os.environ.items() if k != "TEAM_APP_KEY"}
    r = helpers.run([wheel_venv.script, "serve", "--", "true"], tmp_path, env=env, check=False)
    assert r.returncode == 2 and "TEAM_APP_KEY is not set" in r.stderr and "Traceback" not in r.stderr

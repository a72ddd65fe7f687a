"""Issue 21 from an installed wheel, in a team's folder outside the checkout: known-divergence upkeep that
cannot fake a green gate, fix commands that run as printed (by a shell, with the venv's console script on
PATH), and a crashing runner reported as one problem."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.install, pytest.mark.slow]

CRASHY = """\
import hashlib, hmac, json, os, sys

print(json.dumps({"op": "hello", "protocol": 1, "name": "crashy", "language": "python", "runtime": "3",
                  "library": "hmac", "library_version": "stdlib"}), flush=True)
sys.stdin.readline()
for n, line in enumerate(sys.stdin):
    r = json.loads(line)
    if n == 4:
        print("crashy: state corrupted after 4 requests", file=sys.stderr, flush=True)
        os._exit(3)
    parts = {"single": [r["app_id"], r["user_id"]], "sp_user": [r["app_id"], r["corp_id"], r["user_id"]],
             "sp_corp_admin": [r["app_id"], r["corp_id"], ""], "sp_admin": [r["app_id"], "", ""]}[r["mode"]]
    data = ":".join(parts + [str(r["expire_time"]), r["nonce"]])
    try:
        out = {"seq": r["seq"], "signature": hmac.new(r["app_key"].encode(), data.encode(), hashlib.sha256).hexdigest()}
    except UnicodeEncodeError as e:
        out = {"seq": r["seq"], "error": {"type": "UnicodeEncodeError", "message": str(e)}}
    print(json.dumps(out), flush=True)
"""


def shell(command: str, cwd: Path, venv) -> subprocess.CompletedProcess:
    """A printed command run by a shell, as a user pastes it: the venv's console script on PATH."""
    env = {**os.environ, "PATH": f"{Path(venv.script).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def printed(text: str) -> list[str]:
    return re.findall(r"`(appauth-conformance [^`]+)`", text)


@pytest.fixture
def team(tmp_path, helpers):
    root = helpers.team_project(tmp_path / "team repo")
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(
        text.replace('command = ["{python}", "signer.py"]', 'command = ["{python}", "signer.py", "--upper"]')
        + 'divergences = "known-divergences.yaml"\n'
    )
    return root


def test_upkeep_from_a_wheel_todo_fails_until_a_reason_is_written(team, wheel_venv, helpers):
    cli = [wheel_venv.script]
    r = helpers.run([*cli, "divergences", "update", "--lang", "team-signer"], team, check=False)
    assert r.returncode == 1 and "placeholder reason TODO" in r.stderr, r.stdout + r.stderr
    entries = yaml.safe_load((team / "known-divergences.yaml").read_text())["divergences"]
    assert entries and all(e["reason"].startswith("TODO") for e in entries)
    r = helpers.run([*cli, "run", "--lang=declared", "--report-dir=out"], team, check=False)
    assert r.returncode == 1 and "no reason yet" in r.stderr
    # a real reason makes it green
    why = ["--reason", "the service accepts upper-case hex"]
    assert helpers.run([*cli, "divergences", "update", "--lang", "team-signer", *why], team).returncode == 0
    assert helpers.run([*cli, "run", "--lang=declared", "--report-dir=out"], team, check=False).returncode == 0
    # a misspelt diagnosis id: exit 2 with the nearest id, and update leaves the file alone
    (team / "known-divergences.yaml").write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "  - diagnosis: hex-upercase\n    reason: the service accepts upper-case hex\n"
    )
    before = (team / "known-divergences.yaml").read_text()
    for argv in (["run", "--lang=declared", "--report-dir=out"], ["divergences", "update", "--lang", "team-signer"]):
        r = helpers.run([*cli, *argv], team, check=False)
        assert r.returncode == 2 and "did you mean 'hex-uppercase'" in r.stderr, r.stderr
    assert (team / "known-divergences.yaml").read_text() == before


def test_printed_commands_run_as_printed_from_a_wheel(tmp_path, wheel_venv, helpers):
    root = tmp_path / "a team"
    root.mkdir()
    (root / "signer.py").write_text(helpers.SIGNER)
    (root / "stale list.yaml").write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "  - diagnosis: hex-uppercase\n    reason: it used to write upper-case hex\n"
    )
    given = ["--runner", f"mine={shlex.quote(wheel_venv.python)} signer.py", "--divergences", "mine=stale list.yaml"]
    run = [wheel_venv.script, "run", "--lang=mine", "--report-dir=out", *given]
    r = helpers.run(run, root, check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "stale list" in next(line for line in r.stdout.splitlines() if line.startswith("mine "))
    (command,) = printed(r.stderr)
    done = shell(command, root, wheel_venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert helpers.run(run, root, check=False).returncode == 0
    # pytest (the plugin of the same wheel) prints a command that runs as printed too
    (root / "stale list.yaml").write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "  - diagnosis: hex-uppercase\n    reason: it used to write upper-case hex\n"
    )
    gate = [wheel_venv.python, "-m", "pytest", "-p", "no:cacheprovider", "--lang=mine", "--report-dir=out", *given]
    g = helpers.run(gate, root, check=False)
    assert g.returncode == 1
    commands = set(printed(g.stdout))
    assert len(commands) == 1
    assert shell(commands.pop(), root, wheel_venv).returncode == 0
    assert helpers.run(gate, root, check=False).returncode == 0


def test_a_crashing_runner_is_one_problem_from_a_wheel(tmp_path, wheel_venv, helpers):
    root = tmp_path / "crash"
    root.mkdir()
    (root / "crashy.py").write_text(CRASHY)
    given = ["--runner", f"crashy={shlex.quote(wheel_venv.python)} crashy.py"]
    r = helpers.run([wheel_venv.script, "run", "--lang=crashy", "--report-dir=out", *given], root, check=False)
    assert r.returncode == 1
    doc = json.loads((root / "out" / "results.json").read_text())
    faults = [o for o in doc["outcomes"] if o["verdict"] == "runner-fault"]
    assert len(faults) > 10
    groups = [line for line in r.stdout.splitlines() if "RUNNER FAULT x" in line]
    assert groups == [next(g for g in groups if f"x{len(faults)} (exit status: status 3)" in g)], groups
    assert "crashy: state corrupted after 4 requests" in r.stdout
    md = (root / "out" / "report.md").read_text()
    assert md.count("**RUNNER FAULT**") == 1 and "state corrupted after 4 requests" in md
    g = helpers.run(
        [wheel_venv.python, "-m", "pytest", "-p", "no:cacheprovider", "--lang=crashy", "--report-dir=out", *given],
        root,
        check=False,
    )
    failures = g.stdout.split("short test summary info")[0]  # the closing summary repeats first lines (CI=true)
    assert g.returncode == 1 and failures.count("RUNNER FAULT (exit status: status 3)") == 1

"""Diagnostics go through `logging` (frontends/logs.py): quiet by default, shown by the CLI's --log-level and by
pytest's own --log-cli-level under the plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = str(Path(__file__).resolve().parent / "fixtures" / "vectors" / "small.yaml")
SELECTED = "appauth_conformance.execution.options: config None; --lang python selects python-reference"
STARTED = "appauth_conformance.execution.backends.local"


def _run(tmp_path: Path, *more: str) -> subprocess.CompletedProcess:
    argv = ["run", "--lang", "python", "--vectors", SMALL, "--report-dir", str(tmp_path / "out"), *more]
    return subprocess.run(
        [sys.executable, "-m", "appauth_conformance.frontends.cli", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "CI": ""},
    )


@pytest.mark.parametrize("where", ["command", "top"])
def test_the_cli_shows_debug_lines_when_asked(tmp_path, where):
    if where == "command":
        r = _run(tmp_path, "--log-level=debug")
    else:  # before the command: the same
        argv = ["--log-level", "DEBUG", "run", "--lang", "python", "--vectors", SMALL, "--report-dir", "out"]
        r = subprocess.run(
            [sys.executable, "-m", "appauth_conformance.frontends.cli", *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
            env={**os.environ, "CI": ""},
        )
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"DEBUG {SELECTED}" in r.stderr, r.stderr
    assert f"DEBUG {STARTED}: python-reference: starting" in r.stderr, r.stderr
    assert "DEBUG" not in r.stdout  # diagnostics never mix with the results


def test_the_cli_is_quiet_by_default(tmp_path):
    r = _run(tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "appauth_conformance." not in r.stderr and "DEBUG" not in r.stderr, r.stderr
    info = _run(tmp_path, "--log-level", "INFO")  # debug lines are below INFO
    assert info.returncode == 0 and "DEBUG" not in info.stderr, info.stderr


def test_the_plugin_honours_pytests_log_cli_level(pytester, tmp_path):
    common = ["--lang=python", f"--vectors={SMALL}", f"--report-dir={tmp_path / 'out'}", "-p", "no:randomly"]
    loud = pytester.runpytest_subprocess(*common, "--log-cli-level=DEBUG")
    assert loud.ret == 0, loud.stdout.str()[-3000:]
    assert "python-reference: starting" in loud.stdout.str() and STARTED in loud.stdout.str(), loud.stdout.str()[-3000:]
    quiet = pytester.runpytest_subprocess(*common)
    assert quiet.ret == 0, quiet.stdout.str()[-3000:]
    assert STARTED not in quiet.stdout.str() + quiet.stderr.str()

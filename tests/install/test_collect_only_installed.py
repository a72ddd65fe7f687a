"""From an installed wheel, in a team's repository with an empty build cache: `pytest --collect-only
--lang=all` (what an IDE runs to discover tests) lists the conformance items, the team's declared runner's
included, exits 0, and builds, starts and writes nothing."""

from __future__ import annotations

import os
import subprocess

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]

# `-p spy` (before the suite's plugin): logs every process the pytest process starts
SPY = """\
import os, subprocess

def _log(what):
    with open(os.environ["SPY_LOG"], "a") as f:
        f.write(what + "\\n")

_init = subprocess.Popen.__init__

def _popen(self, args, *a, **kw):
    _log(f"Popen {args!r}")
    _init(self, args, *a, **kw)

subprocess.Popen.__init__ = _popen
for _name in ("fork", "posix_spawn", "posix_spawnp", "system", "execv", "execve"):
    _real = getattr(os, _name)
    setattr(os, _name, lambda *a, _real=_real, _name=_name, **kw: (_log(f"os.{_name} {a[:1]!r}"), _real(*a, **kw))[1])
"""
TOOL = '#!/bin/sh\necho "$0 $*" >> "$SPY_LOG"\nexit 1\n'  # a compiler or interpreter that logs being called


def test_discovery_from_the_wheel_builds_and_starts_nothing(helpers, wheel_venv, tmp_path):
    project = helpers.team_project(tmp_path / "team")
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("java", "javac", "node", "npm", "g++", "docker"):
        (tools / tool).write_text(TOOL)
        (tools / tool).chmod(0o755)
    (tmp_path / "spy.py").write_text(SPY)
    log, cache, xdg = tmp_path / "started.log", tmp_path / "cache", tmp_path / "xdg"
    before = sorted(p.name for p in project.iterdir())
    p = helpers.run(
        [
            wheel_venv.python,
            "-m",
            "pytest",
            "-p",
            "spy",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "--lang=all",
        ],
        project,
        env={
            "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(tmp_path),
            "SPY_LOG": str(log),
            "APPAUTH_CONFORMANCE_CACHE": str(cache),
            "XDG_CACHE_HOME": str(xdg),
        },
    )
    assert isinstance(p, subprocess.CompletedProcess) and p.returncode == 0
    listed = [line for line in p.stdout.splitlines() if line.startswith("conformance::")]
    assert f"{len(listed)} tests collected" in p.stdout
    for runner in ("python-reference", "java-reference", "cpp-reference", "js-reference", "team-signer"):
        assert any(line.startswith(f"conformance::test_vector[{runner}:") for line in listed), runner
    started = log.read_text().splitlines() if log.exists() else []
    assert started == [], f"collecting started processes: {started}"
    assert not cache.exists() and not xdg.exists(), "collecting wrote the build cache"
    assert sorted(p.name for p in project.iterdir()) == before, "collecting wrote into the team's folder"

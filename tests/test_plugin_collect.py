"""`pytest --collect-only --lang=all` (an IDE's test discovery) lists the conformance items and builds,
starts and writes nothing; the runners start when the first item runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIGNER = HERE / "fixtures" / "runners" / "fault_runner.py"

# a pytest plugin (`-p spy`, loaded before the suite's own) that logs every process this pytest starts
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

# tools on PATH that log a call (the local backend finds its compilers and interpreters there)
TOOL = '#!/bin/sh\necho "$0 $*" >> "$SPY_LOG"\nexit 1\n'


def discover(python: str, where: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path, list[str]]:
    """Run `pytest --collect-only` in a fresh folder with an empty build cache; what it printed, the
    cache folder, and every process start it logged."""
    folder, tools, cache = where / "project", where / "bin", where / "cache"
    folder.mkdir()
    tools.mkdir()
    (where / "spy.py").write_text(SPY)
    for tool in ("java", "javac", "node", "npm", "g++", "docker"):
        (tools / tool).write_text(TOOL)
        (tools / tool).chmod(0o755)
    log = where / "started.log"
    env = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(where),
        "SPY_LOG": str(log),
        "APPAUTH_CONFORMANCE_CACHE": str(cache),
        "XDG_CACHE_HOME": str(where / "xdg"),
    }
    argv = [python, "-m", "pytest", "-p", "spy", "--collect-only", "-q", "-p", "no:cacheprovider", *args]
    p = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    started = log.read_text().splitlines() if log.exists() else []
    return p, cache, started


def assert_nothing_built_or_started(p: subprocess.CompletedProcess, where: Path, started: list[str]) -> None:
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert started == [], f"collecting started processes: {started}"
    assert not (where / "cache").exists() and not (where / "xdg").exists(), "collecting wrote the build cache"
    assert list((where / "project").iterdir()) == [], "collecting wrote into the project folder"


def test_collect_only_lists_every_item_and_builds_and_starts_nothing(tmp_path):
    p, _, started = discover(sys.executable, tmp_path, "--lang=all")
    assert_nothing_built_or_started(p, tmp_path, started)
    listed = [line for line in p.stdout.splitlines() if line.startswith("conformance::")]
    for runner in ("python-reference", "java-reference", "cpp-reference", "js-reference"):
        assert f"conformance::test_vector[{runner}:single/" in p.stdout
        assert f"conformance::test_known_divergences[{runner}]" in listed
    assert "test_token[" not in p.stdout  # the reference runners answer sign requests only (their specs say)
    assert f"{len(listed)} tests collected" in p.stdout


def test_a_declared_runner_is_listed_without_being_started(tmp_path):
    """Its hello (what it answers) is unknown until it starts: both kinds of item are listed."""
    runner = f"--runner=team={sys.executable} {SIGNER} ok"
    p, _, started = discover(sys.executable, tmp_path, "--lang=team", runner)
    assert_nothing_built_or_started(p, tmp_path, started)
    assert "conformance::test_vector[team:single/" in p.stdout
    assert "conformance::test_token[team:token/" in p.stdout


def test_a_sign_only_declared_runner_runs_no_token_item(pytester, tmp_path):
    """Once started, its hello says `sign` only: its token items are neither run nor reported."""
    r = pytester.runpytest_subprocess(
        "--lang=team",
        f"--runner=team={sys.executable} {SIGNER} ok",
        "--vectors",
        str(HERE / "fixtures" / "vectors" / "small.yaml"),
        "--report-dir",
        str(tmp_path),
        "-v",
    )
    r.assert_outcomes(passed=4)
    assert "test_token[" not in r.stdout.str()
    assert "[100%]" in r.stdout.str()  # the progress column counts the items that ran

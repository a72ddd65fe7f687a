"""Runs with token outcomes leave valid results.json and reports: serial, under pytest-xdist, interrupted;
and a run whose reports could not be written fails (CLI and pytest), whatever its verdicts.

Under xdist each worker writes its part of results.json; a token request is not a vector of the corpus,
so its record must travel with its outcome when the parts are merged (it did not: "'token/…' is not a key
of `vectors`", no reports, exit 0).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appauth_conformance import report

HERE = Path(__file__).resolve().parent
TOKEN_RUNNER = HERE / "fixtures" / "runners" / "token_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"


def _runner(*faults: str) -> str:
    return f"tok={sys.executable} {TOKEN_RUNNER} {' '.join(faults)}".strip()


def _pytest(tmp_path: Path, out: Path, *args: str, faults: tuple[str, ...] = (), vectors: Path = SMALL):
    (tmp_path / "empty").mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q"]
    argv += ["--rootdir", str(tmp_path / "empty"), str(tmp_path / "empty"), *args]
    argv += ["--lang=tok", "--runner", _runner(*faults), "--vectors", str(vectors), f"--report-dir={out}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def _valid_reports(out: Path) -> dict:
    doc = report.load(out / "results.json")  # validates against the schema
    tokens = [o for o in doc["outcomes"] if o["vector"].startswith("token/")]
    assert tokens and all(o["vector"] in doc["vectors"] for o in tokens)
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    return doc


@pytest.mark.parametrize("faults, code", [((), 0), (("upper",), 1)])
def test_xdist_with_a_token_runner_writes_valid_results_and_reports(tmp_path, faults, code):
    out = tmp_path / "out"
    r = _pytest(tmp_path, out, "-n", "2", faults=faults)
    assert r.returncode == code, r.stdout[-3000:] + r.stderr[-3000:]
    assert "not a key of" not in r.stdout + r.stderr
    doc = _valid_reports(out)
    verdicts = {o["verdict"] for o in doc["outcomes"] if o["vector"].startswith("token/")}
    assert verdicts == ({"pass"} if code == 0 else {"fail"})
    assert doc["complete"] is True


def test_an_interrupted_xdist_run_with_token_outcomes_writes_its_reports(tmp_path):
    out, progress = tmp_path / "out", tmp_path / "answered"
    (tmp_path / "empty").mkdir()
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-n", "2"]
    argv += ["--rootdir", str(tmp_path / "empty"), str(tmp_path / "empty")]
    argv += ["--lang=tok", "--runner", _runner("token-only", "slow"), f"--report-dir={out}"]
    p = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TOKEN_RUNNER_PROGRESS": str(progress)},
    )
    deadline = time.monotonic() + 120
    while not (progress.exists() and int(progress.read_text() or 0) >= 20):  # token requests answered
        assert p.poll() is None and time.monotonic() < deadline, "the run ended before 20 token replies"
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode != 0, stdout + stderr
    doc = _valid_reports(out)
    assert doc["complete"] is False


def test_a_run_whose_reports_cannot_be_written_fails(tmp_path, load_results):
    """A conforming run, but report.html cannot be written (a folder holds its name): exit 1, said why."""
    for front in ("cli", "pytest"):
        out = tmp_path / front
        (out / "report.html").mkdir(parents=True)
        if front == "cli":
            argv = [
                sys.executable,
                "-m",
                "appauth_conformance.frontends.cli",
                "run",
                "--lang=tok",
                "--runner",
                _runner(),
            ]
            argv += ["--vectors", str(SMALL), "--report-dir", str(out)]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        else:
            r = _pytest(tmp_path, out)
        said = r.stdout + r.stderr
        assert r.returncode == 1, said
        assert "the reports could NOT be written" in said and "Traceback" not in said, said
        assert load_results(out)["complete"] is True

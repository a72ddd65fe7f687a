"""Concurrent use of one report folder and one build cache, with real processes started together:
two runs (or two CI jobs on one machine, or xdist workers) never corrupt a file nor fail each other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appauth_conformance import report
from appauth_conformance.corpus import vectors

HERE = Path(__file__).resolve().parent
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"


def together(*commands: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
    """Start every command at once and wait for all of them."""
    procs = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
        for c in commands
    ]
    return [(p.wait(timeout=600), *p.communicate()) for p in procs]


def run(*args: str) -> list[str]:
    return [sys.executable, "-m", "appauth_conformance.frontends.cli", "run", *args]


def assert_reports_whole(folder: Path) -> dict:
    doc = report.load(folder / "results.json")  # valid JSON that validates against the schema
    assert (folder / "report.md").read_text().startswith("# ")
    assert (folder / "report.html").read_text().rstrip().endswith("</html>")
    leftovers = [
        p.name for p in folder.iterdir() if p.name.endswith(".tmp") or (p.name == ".parts" and any(p.iterdir()))
    ]
    assert leftovers == [], leftovers
    return doc


def test_two_runs_writing_one_report_folder(tmp_path):
    out = tmp_path / "out"
    results = together(*(run("--lang=python,cpp", "--report-dir", str(out)) for _ in range(3)), cwd=tmp_path)
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr
    doc = assert_reports_whole(out)
    assert doc["complete"] and len(doc["outcomes"]) == 2 * len(vectors.load().vectors)


def test_two_xdist_runs_sharing_a_report_folder_keep_their_own_parts(tmp_path):
    pytest.importorskip("xdist")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-n", "2", "--lang=python", f"--report-dir={out}", "-q"]
    for code, stdout, stderr in together(cmd, cmd, cwd=tmp_path):
        assert code == 0, stdout[-2000:] + stderr[-2000:]
    doc = assert_reports_whole(out)
    assert doc["complete"] and len(doc["outcomes"]) == len(vectors.load().vectors)
    assert not (out / ".parts").exists(), "no empty .parts/ folder is left behind"


def test_xdist_controller_records_the_runs_start_and_duration_not_the_merges(tmp_path, load_results):
    """The controller merges its workers' parts at the end: the merged results.json keeps the run's start
    (taken when the controller began) and its whole duration, and leaves no .parts/ behind."""
    import types

    from appauth_conformance.formats.results import Recorder
    from appauth_conformance.frontends import xdist_parts

    corpus = vectors.load(SMALL)
    began = ("2026-01-02T03:04:05+00:00", time.monotonic() - 1000.0)  # a run that began 1000 s ago
    suite = types.SimpleNamespace(
        report_dir=tmp_path / "out",
        parts=tmp_path / "out" / ".parts" / "run-1",
        corpus=corpus,
        opts=types.SimpleNamespace(backend="local"),
        shard_record=None,
        began=began,
    )
    worker = Recorder(suite.parts / "gw0.json", corpus, backend="local")  # a worker's part, started later
    worker.runner("python-reference", "python")
    worker.write(complete=True)
    xdist_parts.merge_parts(suite, interrupted=False)
    doc = load_results(tmp_path / "out")
    assert doc["started"] == began[0] and doc["duration_s"] >= 1000.0
    assert not (tmp_path / "out" / ".parts").exists()


def test_two_processes_building_one_runner_into_an_empty_cache(tmp_path, load_results):
    cache = tmp_path / "cache"
    env = {**os.environ, "APPAUTH_CONFORMANCE_CACHE": str(cache)}
    outs = [tmp_path / f"out{i}" for i in range(3)]
    results = together(
        *(run("--lang=java,cpp", "--vectors", str(SMALL), "--report-dir", str(o)) for o in outs), env=env, cwd=tmp_path
    )
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr
    builds = sorted(p.name for p in (cache / "runners").iterdir())
    assert [b.rsplit("-", 1)[0] for b in builds] == ["cpp-reference", "java-reference"], builds  # one each, no temp
    for b in builds:
        assert (cache / "runners" / b / ".built").is_file()
    for o in outs:
        doc = load_results(o)
        assert {x["verdict"] for x in doc["outcomes"]} == {"pass"}

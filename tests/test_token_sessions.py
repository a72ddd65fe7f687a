"""Session mistakes of the token op: a token handed back again, a nonce sequence that repeats per process.

The token suite asks each identity again in the same process and once more after restarting the runner's
process, and the nonces of shards and pytest-xdist workers are compared when their results are merged.
tests/fixtures/runners/token_runner.py's `cached` hands back the same token per identity, `seeded` draws
its nonces from a PRNG seeded with a constant, `seeded-first` does that in a harness's first process only
(so only two harness processes compared show it); each fails with its own mistake, through the Engine,
`appauth-conformance run`, pytest and pytest-xdist, `run --shard` + `report merge`. A conforming runner
passes every way.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance import report
from appauth_conformance.core.model import RunnerSpec, Stage, Verdict
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.judging import tokens

HERE = Path(__file__).resolve().parent
TOKEN_RUNNER = HERE / "fixtures" / "runners" / "token_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"
CORPUS = vectors.load(SMALL)
SUITE = tokens.suite(CORPUS.vectors)
REUSE = {"nonce-repeated", "token-reused", "nonce-repeats-per-process"}


def _engine_results(*faults: str):
    spec = RunnerSpec(name="tok", language="python", command=(sys.executable, str(TOKEN_RUNNER), *faults))
    with Engine([spec], LocalBackend()) as engine:
        engine.prepare()
        engine.ensure_tokens(SUITE)
        return list(engine.runners["tok"].token_results.values())


def _reuse_mistakes(results) -> set[str]:
    return {d for t in results for c in t.checks if c.stage is Stage.TOKEN_NONCE_REUSED for d in c.diagnosis}


def _runner(*faults: str) -> str:
    return f"tok={sys.executable} {TOKEN_RUNNER} {' '.join(faults)}".strip()


def _tokens_of(doc: dict) -> list[dict]:
    return [o for o in doc["outcomes"] if o["vector"].startswith("token/")]


def _mistakes(doc: dict) -> set[str]:
    return {
        d
        for o in _tokens_of(doc)
        for c in o.get("checks", [])
        if c["stage"] == "token-nonce-reused"
        for d in c.get("diagnosis", [])
    }


@pytest.mark.parametrize(
    "fault, mistake, said",
    [
        ("cached", "token-reused", "asked again for this identity in the same process: the same token"),
        ("seeded", "nonce-repeats-per-process", "asked again after the runner's process was restarted: nonce"),
    ],
)
def test_a_session_mistake_fails_every_identity_with_its_own_name(fault, mistake, said):
    results = _engine_results(fault)
    assert len(results) == len(SUITE)
    assert {(t.judgement.verdict, t.judgement.stage) for t in results} == {(Verdict.FAIL, Stage.TOKEN_NONCE_REUSED)}
    assert _reuse_mistakes(results) == {mistake}  # told apart from the others
    assert all(said in (t.judgement.reason or "") for t in results), results[0].judgement.reason


def test_a_fixed_nonce_stays_a_repeated_nonce_not_a_cached_token():
    results = _engine_results("repeat-nonce")
    assert {t.judgement.verdict for t in results} == {Verdict.FAIL}
    assert _reuse_mistakes(results) == {"nonce-repeated"}


def test_a_conforming_runner_passes_though_asked_again_and_restarted():
    results = _engine_results()
    assert {t.judgement.verdict for t in results} == {Verdict.PASS}, [t.judgement for t in results]


def test_the_restart_is_a_new_process_with_its_own_hello(tmp_path):
    """`seeded-first` is seeded in the first process only: its nonces repeat in no single process, so
    within one harness process it passes; that it does shows the later asks reach a new process."""
    results = _engine_results_with_env(tmp_path, "seeded-first")
    assert {t.judgement.verdict for t in results} == {Verdict.PASS}
    (starts,) = (tmp_path / "starts").iterdir()  # this harness process's file: a line per runner start
    assert starts.read_text().splitlines() == ["started", "started"]


def _engine_results_with_env(tmp_path: Path, *faults: str):
    import os

    (tmp_path / "starts").mkdir()
    os.environ["TOKEN_RUNNER_STARTS"] = str(tmp_path / "starts")
    try:
        return _engine_results(*faults)
    finally:
        del os.environ["TOKEN_RUNNER_STARTS"]


def _cli(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    argv = [sys.executable, "-m", "appauth_conformance.frontends.cli", *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize("fault, mistake", [("cached", "token-reused"), ("seeded", "nonce-repeats-per-process")])
def test_run_fails_with_the_named_mistake_in_terminal_results_and_reports(tmp_path, fault, mistake):
    out = tmp_path / "out"
    r = _cli(
        tmp_path, "run", "--lang=tok", "--runner", _runner(fault), "--vectors", str(SMALL), "--report-dir", str(out)
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert mistake in r.stdout + r.stderr
    doc = report.load(out / "results.json")
    assert {o["verdict"] for o in _tokens_of(doc)} == {"fail"} and _mistakes(doc) == {mistake}
    assert mistake in (out / "report.md").read_text() and mistake in (out / "report.html").read_text()


def _pytest(tmp_path: Path, out: Path, *args: str, faults: tuple[str, ...] = (), env: dict | None = None):
    import os

    (tmp_path / "empty").mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q"]
    argv += ["--rootdir", str(tmp_path / "empty"), str(tmp_path / "empty"), *args]
    argv += ["--lang=tok", "--runner", _runner(*faults), "--vectors", str(SMALL), f"--report-dir={out}"]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
@pytest.mark.parametrize("fault, mistake", [("cached", "token-reused"), ("seeded", "nonce-repeats-per-process")])
def test_pytest_fails_with_the_named_mistake(tmp_path, fault, mistake, xdist):
    out = tmp_path / "out"
    r = _pytest(tmp_path, out, *xdist, faults=(fault,))
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert mistake in r.stdout
    doc = report.load(out / "results.json")
    assert {o["verdict"] for o in _tokens_of(doc)} == {"fail"} and _mistakes(doc) == {mistake}


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_pytest_passes_a_conforming_runner(tmp_path, xdist):
    out = tmp_path / "out"
    r = _pytest(tmp_path, out, *xdist)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    doc = report.load(out / "results.json")
    tok = _tokens_of(doc)
    assert tok and {o["verdict"] for o in tok} == {"pass"}
    assert all(len(o["token"]["nonce"]) == 40 for o in tok)  # kept, for merging parts


def _shards(tmp_path: Path, *faults: str, env: dict | None = None) -> subprocess.CompletedProcess:
    parts = []
    for k in (1, 2):
        out = tmp_path / f"shard{k}"
        _cli(
            tmp_path,
            "run",
            "--lang=tok",
            "--runner",
            _runner(*faults),
            "--vectors",
            str(SMALL),
            f"--shard={k}/2",
            "--report-dir",
            str(out),
            env=env,
        )
        parts.append(str(out / "results.json"))
    return _cli(tmp_path, "report", "merge", *parts, "--out", str(tmp_path / "merged"), env=env)


def test_report_merge_fails_a_nonce_two_shards_made(tmp_path):
    """Each shard's first process is seeded the same; within a shard nothing repeats (its restart draws
    random nonces), so each shard passes alone and only the merge sees the nonces of shard 1 in shard 2."""
    (tmp_path / "starts").mkdir()
    env = {"TOKEN_RUNNER_STARTS": str(tmp_path / "starts")}
    r = _shards(tmp_path, "seeded-first", env=env)
    for k in (1, 2):
        alone = report.load(tmp_path / f"shard{k}" / "results.json")
        assert {o["verdict"] for o in _tokens_of(alone)} == {"pass"}
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILS once merged: tok on token/" in r.stdout
    merged = report.load(tmp_path / "merged" / "results.json")
    failed = [o for o in _tokens_of(merged) if o["verdict"] == "fail"]
    assert failed and _mistakes(merged) == {"nonce-repeats-per-process"}
    assert {o["stage"] for o in failed} == {"token-nonce-reused"}
    assert all("is in shard 1/2 too" in o["reason"] for o in failed)
    # the first shard keeps its passes: the later shard's token is the repeat
    assert {o["vector"] for o in failed} <= {
        o["vector"] for o in _tokens_of(report.load(tmp_path / "shard2" / "results.json"))
    }
    counts = next(x for x in merged["runners"] if x["name"] == "tok")["counts"]
    assert counts.get("fail") == len([o for o in merged["outcomes"] if o["verdict"] == "fail"])
    assert "nonce-repeats-per-process" in (tmp_path / "merged" / "report.md").read_text()


def test_xdist_fails_a_nonce_two_workers_runners_made(tmp_path):
    """Each worker's first runner process is seeded the same, so the two workers hand out the same nonces;
    no worker sees a repeat itself (its restart draws random ones), so every item passes on its worker and
    only the merge of the workers' parts finds it. The workers' batches overlap (each asks every request,
    records its own items): each part also keeps every nonce its runners made."""
    (tmp_path / "starts").mkdir()
    out = tmp_path / "out"
    env = {"TOKEN_RUNNER_STARTS": str(tmp_path / "starts")}
    r = _pytest(tmp_path, out, "-n", "2", faults=("token-only", "seeded-first"), env=env)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"^\d+ passed in ", r.stdout, re.M)  # every item passed on its worker
    assert "nonce-repeats-per-process" in r.stdout  # the summary of what failed, from the merged results
    assert len(list((tmp_path / "starts").iterdir())) == 2  # two workers, each its own runner processes
    doc = report.load(out / "results.json")
    failed = [o for o in _tokens_of(doc) if o["verdict"] == "fail"]
    assert failed and _mistakes(doc) == {"nonce-repeats-per-process"}
    assert all("is in worker gw" in o["reason"] for o in failed)
    assert "nonce-repeats-per-process" in (out / "report.html").read_text()


def test_report_merge_passes_conforming_shards(tmp_path):
    r = _shards(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    merged = report.load(tmp_path / "merged" / "results.json")
    assert {o["verdict"] for o in _tokens_of(merged)} == {"pass"}


def _rec(runner: str, key: str, nonce: str, verdict: str = "pass") -> dict:
    return {"vector": f"token/single/{key}", "runner": runner, "verdict": verdict, "token": {"nonce": nonce}}


def test_across_parts_flags_only_a_runner_repeating_its_own_nonce():
    """Different runners, and different identities with different nonces, share nothing: never flagged."""
    a, b = "a" * 40, "b" * 40
    parts = [("shard 1/2", [_rec("x", "one", a), _rec("y", "one", b)]), ("shard 2/2", [_rec("y", "two", a)])]
    out = tokens.across(parts)
    assert [o["verdict"] for p in out for o in p] == ["pass", "pass", "pass"]
    parts = [("shard 1/2", [_rec("x", "one", a)]), ("shard 2/2", [_rec("x", "two", a), _rec("x", "three", b)])]
    first, second = tokens.across(parts)
    assert first == parts[0][1] and second[1] == parts[1][1][1]
    assert second[0]["verdict"] == "fail" and second[0]["stage"] == "token-nonce-reused"
    assert second[0]["checks"] == [
        {
            "stage": "token-nonce-reused",
            "verdict": "fail",
            "diagnosis": ["nonce-repeats-per-process"],
            "detail": second[0]["reason"],
        }
    ]
    assert parts[1][1][0]["verdict"] == "pass"  # the input is left as it was


def test_across_parts_names_a_fixed_nonce_a_repeated_nonce():
    n = "n" * 40
    parts = [("w0", [_rec("x", "one", n), _rec("x", "two", n, "fail")]), ("w1", [_rec("x", "three", n)])]
    out = tokens.across(parts)
    assert out[1][0]["checks"][0]["diagnosis"] == ["nonce-repeated"]
    assert json.dumps(out[0]) == json.dumps(parts[0][1])

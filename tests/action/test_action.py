"""The GitHub Action (action.yml), run step by step the way a runner runs it (actions_runner.py).

Each test is one job in a team's workspace: its signer declared through the action's inputs,
the suite installed from the action's own folder (this checkout) into a virtualenv under
RUNNER_TEMP. Checked: the outputs, the job summary, the uploaded artifact, the exit code and
the job's status, for a conforming and a non-conforming signer; the baseline comparison;
extra arguments with spaces; distinct artifact names across a matrix; the cache that a second
job restores; and a job environment (PATH, GITHUB_ENV) the action leaves untouched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from actions_runner import Job, Run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SIGNER = """\
import hashlib, hmac, json, sys
UPPER = "--upper" in sys.argv
print(json.dumps({"op": "hello", "protocol": 1, "name": "team", "language": "python", "runtime": "3",
                  "library": "hmac", "library_version": "stdlib"}), flush=True)
sys.stdin.readline()
for line in sys.stdin:
    r = json.loads(line)
    ids = {"single": [r["app_id"], r["user_id"]], "sp_user": [r["app_id"], r["corp_id"], r["user_id"]],
           "sp_corp_admin": [r["app_id"], r["corp_id"], ""], "sp_admin": [r["app_id"], "", ""]}[r["mode"]]
    try:
        sig = hmac.new(r["app_key"].encode(), ":".join(ids + [str(r["expire_time"]), r["nonce"]]).encode(),
                       hashlib.sha256).hexdigest()
        out = {"seq": r["seq"], "signature": sig.upper() if UPPER else sig}
    except UnicodeEncodeError as e:
        out = {"seq": r["seq"], "error": {"type": "UnicodeEncodeError", "message": str(e)}}
    print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory) -> Run:
    """One workflow run shared by the module's jobs: its artifact names and its cache store."""
    return Run(store=tmp_path_factory.mktemp("cache-store"))


@pytest.fixture
def workspace(tmp_path) -> Path:
    ws = tmp_path / "workspace"
    (ws / "signers").mkdir(parents=True)
    (ws / "signers" / "signer.py").write_text(SIGNER)
    return ws


def job(workspace: Path, workflow_run: Run, inputs: dict, *, index: int = 0, name: str = "conformance"):
    temp = workspace.parent / f"runner-temp-{name}-{index}"
    temp.mkdir()
    j = Job(
        ROOT, inputs, workspace=workspace, temp=temp, run=workflow_run, python=sys.executable, job=name, job_index=index
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_"))}
    env.pop("APPAUTH_CONFORMANCE_CACHE", None)
    env.pop("PIP_CACHE_DIR", None)
    return j.run_job(env)


def test_a_conforming_signer_passes_and_publishes_its_report(workspace, workflow_run):
    r = job(workspace, workflow_run, {"runners": "# our signer\nteam=python3 signers/signer.py\n"})
    assert r.status == "success", r.log
    assert r.outputs["exit-code"] == "0"
    results = Path(r.outputs["results"])
    assert results == workspace / "appauth-conformance-report" / "results.json" and results.is_file()
    doc = json.loads(results.read_text())
    assert [x["name"] for x in doc["runners"]] == ["team"]  # lang defaults to the declared runners only
    assert "# " in r.summary and "team" in r.summary and "Compared with the baseline" not in r.summary
    art = workflow_run.artifacts[r.outputs["artifact-name"]]
    assert r.outputs["artifact-name"] == "appauth-conformance-conformance-0"
    assert sorted(Path(p).name for p in art["paths"]) == ["report.html", "report.md", "results.json"]
    # the job's own environment is untouched: nothing added to PATH or the environment of later steps
    assert r.path_file == "" and r.env_file == ""
    assert "appauth-conformance: conforming" in r.log


def test_a_non_conforming_signer_fails_the_job_after_publishing(workspace, workflow_run):
    r = job(workspace, workflow_run, {"runners": "upper={python} signers/signer.py --upper"}, name="upper")
    assert r.status == "failure"
    assert r.outputs["exit-code"] == "1"
    failed = [s for s in r.steps if s.outcome == "failure"]
    assert [s.name for s in failed] == ["Result"], r.log  # the run step records the code; only Result fails
    assert "::error::appauth-conformance: non-conforming" in failed[0].log
    assert "hex-uppercase" in r.summary  # the grouped failure and its diagnosis, in the job summary
    assert r.outputs["artifact-name"] in workflow_run.artifacts


def test_matrix_jobs_get_distinct_artifacts_and_the_second_job_restores_the_cache(workspace, workflow_run):
    inputs = {"runners": "team=python3 signers/signer.py", "lang": "team,python"}
    first = job(workspace, workflow_run, inputs, index=0, name="matrix")
    second = job(workspace, workflow_run, inputs, index=1, name="matrix")
    assert first.status == second.status == "success", first.log + second.log
    assert first.outputs["artifact-name"] != second.outputs["artifact-name"]
    assert {first.outputs["artifact-name"], second.outputs["artifact-name"]} <= set(workflow_run.artifacts)
    keys = {c["key"] for c in first.caches}
    assert any("-pip-Linux-3.11-" in k for k in keys) and any("-builds-Linux-" in k for k in keys)
    # the reference runner built by the first job is restored, not rebuilt, by the second
    builds = [c for c in second.caches if "-builds-" in c["key"]]
    assert builds and builds[0]["hit"], second.caches
    stamps = [
        sorted((p.parent.name, p.stat().st_mtime_ns) for p in Path(c["path"]).rglob(".built"))
        for c in (first.caches[-1], builds[0])
    ]
    assert stamps[0] and stamps[0] == stamps[1]


def test_extra_args_are_one_argument_per_line_and_keep_their_spaces(workspace, workflow_run):
    r = job(
        workspace,
        workflow_run,
        {
            "runners": "team=python3 signers/signer.py",
            "extra-args": "--jsonl\nout dir/all 'outcomes'.jsonl\n--timeout\n30\n",
        },
        name="extra",
    )
    assert r.status == "success", r.log
    written = workspace / "out dir" / "all 'outcomes'.jsonl"
    from appauth_conformance import vectors

    assert written.is_file() and len(written.read_text().splitlines()) == len(vectors.load().vectors)


def test_a_regression_against_the_baseline_fails_a_conforming_run(workspace, workflow_run):
    base = job(
        workspace,
        workflow_run,
        {"runners": "team=python3 signers/signer.py\nsecond=python3 signers/signer.py", "report-dir": "baseline"},
        name="base",
    )
    assert base.status == "success", base.log
    # the new run lost a runner the baseline had: a regression, though every outcome passes
    r = job(
        workspace,
        workflow_run,
        {"runners": "team=python3 signers/signer.py", "baseline": "baseline/results.json"},
        name="regressed",
    )
    assert r.steps[[s.name for s in r.steps].index("Run the conformance corpus")].outputs["exit-code"] == "0"
    assert r.outputs["exit-code"] == "1" and r.status == "failure"
    assert "## Compared with the baseline" in r.summary and "second" in r.summary


def test_a_missing_baseline_is_noted_and_nothing_declared_is_a_setup_error(workspace, workflow_run):
    r = job(
        workspace,
        workflow_run,
        {"runners": "team=python3 signers/signer.py", "baseline": "none/results.json"},
        name="first-run",
    )
    assert r.status == "success" and "::notice::baseline none/results.json not found" in r.log
    empty = job(workspace, workflow_run, {}, name="nothing")
    assert empty.outputs["exit-code"] == "2" and empty.status == "failure"
    assert "no runner is declared" in empty.log


def test_shard_jobs_and_a_merge_job_make_one_report(workspace, workflow_run):
    """A matrix of two shard jobs, then a merge job that merges their results.json and compares the merged
    run with a baseline: what docs/ci.md's sharded workflow does."""
    shards = []
    for k in (1, 2):
        r = job(
            workspace,
            workflow_run,
            {"runners": "team=python3 signers/signer.py", "shard": f"{k}/2", "report-dir": f"shard-{k}"},
            index=k - 1,
            name="shards",
        )
        assert r.status == "success", r.log
        doc = json.loads(Path(r.outputs["results"]).read_text())
        assert doc["shard"] == {"index": k, "count": 2}
        shards.append(doc)
    whole = job(
        workspace, workflow_run, {"runners": "team=python3 signers/signer.py", "report-dir": "whole"}, name="base"
    )
    assert whole.status == "success", whole.log
    merged = job(
        workspace,
        workflow_run,
        {"merge": "shard-*/results.json\n", "baseline": "whole/results.json", "report-dir": "merged"},
        name="merge",
    )
    assert merged.status == "success", merged.log
    doc = json.loads(Path(merged.outputs["results"]).read_text())
    assert doc["complete"] and doc["shards"]["merged"] == [1, 2]
    assert (
        len(doc["outcomes"])
        == sum(len(d["outcomes"]) for d in shards)
        == len(json.loads((workspace / "whole" / "results.json").read_text())["outcomes"])
    )
    assert "Compared with the baseline" in merged.summary and "2 of 2 shards merged" in merged.summary
    # one shard missing: the merge job fails, and says which
    (workspace / "shard-2" / "results.json").unlink()
    partial = job(workspace, workflow_run, {"merge": "shard-*/results.json", "report-dir": "partial"}, name="merge2")
    assert partial.status == "failure" and partial.outputs["exit-code"] == "1", partial.log
    assert "shard 2 of 2 was not merged" in partial.summary

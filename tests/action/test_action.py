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
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
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
    from appauth_conformance.corpus import vectors

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


PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")
DEPENDENCIES = """
import importlib.metadata as md, json, re, sys
from packaging.requirements import Requirement
seen = {}
def walk(name):
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return
    seen[key] = md.distribution(name).version
    for r in md.distribution(name).requires or []:
        req = Requirement(r)
        if not req.marker or req.marker.evaluate({"extra": ""}):
            walk(req.name)
walk("appauth-conformance")
del seen["appauth-conformance"]
json.dump(seen, sys.stdout)
"""


def test_a_default_job_runs_pinned_actions_and_dependencies_and_saves_its_caches_quietly(workspace, workflow_run):
    """What `@v1` promises a team that audits it: every nested action pinned by commit SHA with its tag in a
    comment, the suite's dependencies at the exact versions of the action's constraints.txt, and a default job
    (one declared runner, nothing built) whose cache steps save without "no cache is being saved"."""
    lines = [x for x in (ROOT / "action.yml").read_text().splitlines() if re.match(r"^\s*(- )?uses:", x)]
    assert lines and all(PINNED.match(x) for x in lines), lines
    r = job(workspace, workflow_run, {"runners": "team=python3 signers/signer.py"}, name="pinned")
    assert r.status == "success", r.log
    pinned = {f"{m[1]}@{m[2]}" for m in map(PINNED.match, lines) if m}
    assert len(r.uses) >= 4 and set(r.uses) <= pinned, r.uses  # the pinned refs are what ran
    assert "no cache is being saved" not in r.log and "Failed to save" not in r.log, r.log
    pip = [c["key"] for c in r.caches if "-pip-" in c["key"]]
    assert pip and set(pip) <= set(os.listdir(workflow_run.store)), "pip's downloads are cached"
    saves = [s for s in r.steps if s.name == "Save runner builds"]
    assert [s.outcome for s in saves] == ["skipped"], "nothing was built: no builds cache is saved"
    # the installed dependencies are exactly the constraints, and the constraints cover every one of them
    pins = dict(
        re.fullmatch(r"([\w.-]+)==(\S+)", x).groups()  # type: ignore[union-attr]
        for x in (ROOT / "constraints.txt").read_text().splitlines()
        if x.strip() and not x.startswith("#")
    )
    venv_python = Path(r.steps[1].outputs["venv"]) / "bin" / "python"
    installed = json.loads(subprocess.run([venv_python, "-c", DEPENDENCIES], capture_output=True, text=True).stdout)
    assert installed and {k: pins.get(k) for k in installed} == installed, (installed, pins)


BASELINE_STEP = "last results of main"
FAKE_GH = """#!/bin/sh
echo "$*" >> "$GH_CALLS"
case "$1 $2" in
  "run list") [ -n "$GH_RUN" ] && echo "$GH_RUN"; exit 0 ;;
  "run download") echo "no valid artifacts found to download" >&2; exit 1 ;;
esac
exit 2
"""


@pytest.mark.parametrize("last_run", ["4711", ""], ids=["artifact-expired", "no-run-yet"])
def test_the_baseline_example_skips_a_missing_or_expired_artifact_with_a_notice(tmp_path, last_run):
    """docs/ci.md's baseline step, run with a `gh` whose download fails as it does for an expired artifact
    (or that finds no run of main yet): the step succeeds with a notice and leaves no baseline, and the
    workflow it looks up is its own file (GITHUB_WORKFLOW_REF), not a hard-coded name."""
    doc = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions-baseline.yml").read_text())
    (step,) = [s for s in doc["jobs"]["conformance"]["steps"] if s.get("name") == BASELINE_STEP]
    assert "${{" not in step["run"]
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gh").write_text(FAKE_GH)
    (tmp_path / "bin" / "gh").chmod(0o755)
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "GH_CALLS": str(tmp_path / "calls"),
        "GH_RUN": last_run,
        "GITHUB_WORKFLOW_REF": "team/service/.github/workflows/signing-gate.yml@refs/pull/7/merge",
    }
    p = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "::notice::" in p.stdout and "comparison is skipped" in p.stdout
    assert not (tmp_path / "baseline" / "results.json").exists()
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].startswith("run list --workflow signing-gate.yml --branch main"), calls
    assert len(calls) == (2 if last_run else 1), calls

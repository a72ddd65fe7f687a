"""A hostile runner (tests/fixtures/runners/hostile_runner.py) through every place its text is shown:
the CLI's output, pytest's terminal and --junitxml, report.md (report.html: tests/browser/).

Nothing it sends may reach a terminal or a CI log raw: no escape sequence, BEL, carriage return or other
control character, no line that starts like a workflow command (`::error::`, `::add-mask::`), no `##[` or
`##vso[` anywhere, no bidi override; in report.md no raw HTML either.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "fixtures" / "runners" / "hostile_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_inert(text: str, where: str) -> None:
    found = CONTROLS.search(text)
    assert found is None, (
        f"{where}: raw {found.group()!r} at {found.start()}: {text[max(0, found.start() - 80) : found.start() + 40]!r}"
    )
    for n, line in enumerate(text.splitlines(), 1):
        assert not line.lstrip().startswith("::"), f"{where}:{n}: a line a CI runner reads as a command: {line[:120]!r}"
        assert "##[" not in line and "##vso[" not in line, f"{where}:{n}: a log command: {line[:160]!r}"


def runner_flag(tmp_path: Path) -> str:
    return f"h={sys.executable} {HOSTILE} {tmp_path / 'crashed'}"


def test_the_cli_shows_a_hostile_runner_inertly(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "run",
            "--lang=h",
            "--runner",
            runner_flag(tmp_path),
            "--vectors",
            str(SMALL),
            "--report-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 1, r.stdout + r.stderr  # it fails, and says so
    assert "FAIL" in r.stdout and "\\u001b[2J" in r.stdout  # the hostile text is there, escaped
    assert_inert(r.stdout, "stdout")
    assert_inert(r.stderr, "stderr")
    md = (tmp_path / "out" / "report.md").read_text()
    assert_inert(md, "report.md")
    assert "<script" not in md and "<img" not in md and "javascript:alert" not in md.replace("\\", "")
    assert "](javascript" not in md


def test_pytest_and_junit_show_a_hostile_runner_inertly(pytester, tmp_path):
    junit = tmp_path / "junit.xml"
    r = pytester.runpytest_subprocess(
        "--lang=h",
        f"--runner={runner_flag(tmp_path)}",
        f"--vectors={SMALL}",
        f"--report-dir={tmp_path / 'out'}",
        f"--junitxml={junit}",
        "-rA",
        "-p",
        "no:randomly",
    )
    assert r.ret == 1
    out = r.stdout.str()
    assert "FAILED" in out and "what failed, by kind" in out
    assert "dying \\u001b[2J" in out and "#\\u0023[error]" in out  # its stderr and its fault, escaped
    assert_inert(out, "pytest stdout")
    assert_inert(r.stderr.str(), "pytest stderr")
    tree = ET.parse(junit)  # well-formed XML
    for el in tree.iter():
        for value in (el.text or "", el.tail or "", *el.attrib.values()):
            assert_inert(value, f"junit <{el.tag}>")


@pytest.mark.parametrize("op", ["sign", "token"])
def test_explanations_neutralise_every_field(op, tmp_path):
    """explain() and explain_token() on the hostile runner's replies, straight from a session."""
    from appauth_conformance.corpus import vectors
    from appauth_conformance.execution.backends.local import LocalBackend
    from appauth_conformance.execution.options import parse_runner_flag
    from appauth_conformance.execution.pipeline import Engine
    from appauth_conformance.judging import tokens
    from appauth_conformance.judging.explain import explain, explain_token

    corpus = vectors.load(SMALL)
    spec = parse_runner_flag(runner_flag(tmp_path))
    with Engine([spec], LocalBackend()) as engine:
        engine.prepare()
        if op == "sign":
            engine.ensure(corpus.vectors)
            texts = [explain(r, []) for r in engine.runners["h"].results.values()]
        else:
            engine.ensure_tokens(tokens.suite(corpus.vectors))
            texts = [explain_token(t) for t in engine.runners["h"].token_results.values()]
    assert texts
    for t in texts:
        assert_inert(t, f"explain ({op})")

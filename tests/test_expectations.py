"""Known-divergence files: read through their schema, with one message naming the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from appauth_conformance import expectations
from appauth_conformance.errors import UsageError
from appauth_conformance.model import RunnerSpec, Stage

HEAD = "schema: appauth-conformance/known-divergences/1\nrunner: mine\n"


def spec(path: Path) -> RunnerSpec:
    return RunnerSpec(name="mine", language="python", command=("x",), divergences=path)


def load(tmp_path: Path, text: str) -> expectations.Expectations:
    path = tmp_path / "known-divergences.yaml"
    path.write_text(text, encoding="utf-8")
    return expectations.Expectations.load(spec(path))


def test_a_good_file_loads_with_its_lines(tmp_path):
    e = load(
        tmp_path,
        HEAD + "divergences:\n- flag: empty-key\n  stage: signature\n  reason: r1\n- match: x-*\n  reason: r2\n",
    )
    assert [(d.flag, d.match, d.stage, d.reason, d.line) for d in e.entries] == [
        ("empty-key", None, Stage.SIGNATURE, "r1", 4),
        (None, "x-*", None, "r2", 7),
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        (
            "runner: mine\ndivergences: []\n",
            ["'schema' is a required property", "starts with `schema: appauth-conformance/known-divergences/1`"],
        ),
        (HEAD + "divergences:\n- flag: empty-key\n", [":4: divergences/0: 'reason' is a required property"]),
        (HEAD + "divergences:\n- reason: why\n", [":4: divergences/0:", "`match` or `flag`"]),
        (HEAD + "divergences:\n- flag: x\n  reason: r\n  because: y\n", [":4:", "'because' was unexpected"]),
        (HEAD + "divergences:\n- flag: x\n  stage: hashing\n  reason: r\n", [":4:", "'hashing' is not one of"]),
        (HEAD + "divergences: {}\n", ["divergences: {} is not of type 'array'"]),
        ("- just\n- a list\n", ["(top level)", "is not of type 'object'"]),
        (HEAD + "divergences: [\n", ["cannot read known divergences"]),
    ],
)
def test_a_broken_file_is_one_message_with_the_place_and_the_fix(tmp_path, text, words):
    with pytest.raises(UsageError) as err:
        load(tmp_path, text)
    msg = str(err.value)
    assert str(tmp_path / "known-divergences.yaml") in msg
    for w in words:
        assert w in msg, msg


def test_a_file_for_another_runner_is_refused(tmp_path):
    with pytest.raises(UsageError, match="file is for runner 'theirs', not 'mine'"):
        load(tmp_path, "schema: appauth-conformance/known-divergences/1\nrunner: theirs\ndivergences: []\n")


def test_what_update_writes_loads_again(tmp_path):
    path = tmp_path / "out.yaml"
    expectations.write(spec(path), path, [{"flag": "nul", "stage": "signature", "reason": "strlen"}])
    text = path.read_text(encoding="utf-8")
    assert text.count("schema: appauth-conformance/known-divergences/1") == 1
    e = expectations.Expectations.load(spec(path))
    assert [(d.flag, d.stage, d.reason) for d in e.entries] == [("nul", Stage.SIGNATURE, "strlen")]

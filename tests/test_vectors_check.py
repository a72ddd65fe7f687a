"""The loader refuses broken corpora precisely: file, line, vector id and what is wrong.

Each folder under tests/fixtures/broken/ is one deliberately broken corpus. Loading it
must raise appauth_conformance.corpus.vectors.CorpusError whose message names the file (with the line
where the problem has one), the vector id where one applies, and a distinctive
description of the problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appauth_conformance.corpus import vectors

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"

# case -> (file, line or None, vector id or None, field or None, distinctive substrings of the message).
# line ANY: the loader gives a line, but not the right one (see the xfails at the end).
ANY = object()
CASES = {
    "yaml-syntax": ("a.yaml", 20, None, None, ["YAML syntax:", "did not find expected ',' or ']'"]),
    "unknown-top-level-key": (
        "a.yaml",
        23,
        None,
        "owner",
        ["Additional properties are not allowed ('owner' was unexpected)", "(schema: additionalProperties)"],
    ),
    "unknown-vector-key": (
        "a.yaml",
        20,
        "broken-001",
        "comment",
        [
            "Additional properties are not allowed ('comment' was unexpected)",
            "properties/vectors/items/additionalProperties",
        ],
    ),
    "missing-required-field": (
        "a.yaml",
        8,
        "broken-001",
        None,
        ["'result' is a required property", "properties/vectors/items/required"],
    ),
    "expire-wrong-type": ("a.yaml", 15, "broken-001", "inputs.expire_time", ["'1604020600' is not of type 'integer'"]),
    "expire-negative": ("a.yaml", 15, "broken-001", "inputs.expire_time", ["-1 is less than the minimum of 0"]),
    "bad-mode": (
        "a.yaml",
        10,
        "broken-001",
        "mode",
        ["'enterprise_user' is not one of ['single', 'sp_user', 'sp_corp_admin', 'sp_admin']"],
    ),
    "bad-result": ("a.yaml", 18, "broken-001", "result", ["'maybe' is not one of ['valid', 'invalid', 'acceptable']"]),
    "bad-id": ("a.yaml", 8, "Broken_001", "id", ["'Broken_001' does not match '^[a-z0-9][a-z0-9-]*$'"]),
    "duplicate-id": (
        "b.yaml",
        8,
        "shared-id-001",
        "id",
        ["duplicate id: also at {dir}/a.yaml:8", "ids are unique across files"],
    ),
    "undocumented-flag": (
        "a.yaml",
        19,
        "broken-001",
        "flags",
        ["flag 'cjk' is not documented: add it to this file's notes"],
    ),
    "unused-note": ("a.yaml", 7, None, "notes.emoji", ["note for flag 'emoji' is not used by any vector: remove it"]),
    "wrong-signature": (
        "a.yaml",
        22,
        "broken-001",
        "expected.signature",
        [
            "expected.signature 4405ca395772ff90e5c9b40134656fb236ec29cafb08a97a3a92f4157a14736c "
            "is not the oracle's 4405ca395772ff90e5c9b40134656fb236ec29cafb08a97a3a92f4157a14736b"
        ],
    ),
    "wrong-string-to-sign": (
        "a.yaml",
        21,
        "broken-001",
        "expected.string_to_sign",
        ["is not what the scheme joins", "'60f0e5b8a8f54b2fa81fb1a0b83c10a1:corp1user@corp:"],
    ),
    "missing-expected": (
        "a.yaml",
        8,
        "broken-001",
        "expected",
        # the command names the file, so that it fills that file (not the bundled corpus)
        ["expected values are missing: run `appauth-conformance vectors fill ", "missing-expected/a.yaml`"],
    ),
    "utf16-malformed": (
        "a.yaml",
        14,
        "broken-001",
        "inputs.user_id",
        ["utf16 value '0061 D80 0062' must be 4-digit hex UTF-16 code units separated by single spaces"],
    ),
    "valid-on-surrogate": (
        "a.yaml",
        18,
        "broken-001",
        "result",
        [
            "result is valid but the inputs cannot be signed",
            "user_id: unpaired surrogate U+D800 at position 1",
            "use invalid",
        ],
    ),
    "signature-on-unsignable": (
        "a.yaml",
        22,
        "broken-001",
        "expected.signature",
        ["a signature is given but the inputs cannot be signed", "user_id: unpaired surrogate U+D800 at position 1"],
    ),
    "wrong-hmac-check": (
        "a.yaml",
        12,
        "rfc4231-tc2",
        "signature",
        ["the oracle does not reproduce this HMAC known answer"],
    ),
    "not-utf8": ("a.yaml", None, None, None, ["cannot read:", "'utf-8' codec can't decode byte 0xfc"]),
    "duplicate-id-same-file": ("a.yaml", 23, "twice-001", "id", ["duplicate id: also at {dir}/a.yaml:8"]),
}


def _load_error(case: str) -> vectors.CorpusError:
    folder = BROKEN / case
    assert folder.is_dir(), f"missing fixture folder {folder}"
    with pytest.raises(vectors.CorpusError) as err:
        vectors.load(folder)
    return err.value


def test_every_fixture_folder_has_a_case():
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir()}
    assert folders == set(CASES) | {"two-problems"}
    assert len(folders) >= 14


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_corpus_is_refused_precisely(case):
    file, line, vid, field, parts = CASES[case]
    folder = BROKEN / case
    shown = vectors.display(folder / file)
    err = _load_error(case)
    msg = str(err)
    assert len(err.problems) == 1, msg
    p = err.problems[0]
    assert (p.file, p.vector, p.field) == (shown, vid, field), msg
    if line is ANY:
        assert p.line, msg
        where = f"{shown}:{p.line}:"
    else:
        assert p.line == line, msg
        where = f"{shown}:{line}:" if line else f"{shown}:"
    if vid:
        where += f" vector {vid}:"
    if field:
        where += f" {field}:"
    assert where in msg, f"expected the place {where!r} in:\n{msg}"
    for part in parts:
        part = part.replace("{dir}", vectors.display(folder))
        assert part in msg, f"expected {part!r} in:\n{msg}"
    assert "appauth-conformance vectors check" in msg  # says what to do next


def test_every_problem_is_reported_not_just_the_first():
    err = _load_error("two-problems")
    shown = vectors.display(BROKEN / "two-problems" / "a.yaml")
    assert [(p.file, p.line, p.vector, p.field) for p in err.problems] == [
        (shown, 22, "first-001", "expected.signature"),
        (shown, 34, "second-001", "flags"),
    ]
    assert str(err).startswith("2 problem(s) in the vector corpus:")
    assert "is not the oracle's" in str(err) and "flag 'emoji' is not documented" in str(err)


@pytest.mark.parametrize("case", sorted(CASES))
def test_vectors_check_command_fails_on_each_broken_corpus(case, capsys):
    from appauth_conformance.frontends import cli

    file = CASES[case][0]
    assert cli.main(["vectors", "check", str(BROKEN / case)]) == 1
    err = capsys.readouterr().err
    assert vectors.display(BROKEN / case / file) in err and "Traceback" not in err


def test_vectors_check_command_passes_on_the_corpus(capsys):
    from appauth_conformance.frontends import cli

    assert cli.main(["vectors", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_a_file_names_its_format_version(tmp_path):
    """A vector file without `schema:` (or with another version) gets one plain message that says what to write."""
    good = (BROKEN.parent / "vectors" / "small.yaml").read_text(encoding="utf-8")
    missing = tmp_path / "missing" / "a.yaml"
    missing.parent.mkdir()
    missing.write_text(good.replace("schema: appauth-conformance/vectors/1\n", ""), encoding="utf-8")
    err = _load_error(missing.parent)
    assert len(err.problems) == 1 and err.problems[0].field == "schema"
    assert "add `schema: appauth-conformance/vectors/1` as its first key" in str(err)
    other = tmp_path / "other" / "a.yaml"
    other.parent.mkdir()
    other.write_text(good.replace("appauth-conformance/vectors/1", "appauth-conformance/vectors/2"), encoding="utf-8")
    err = _load_error(other.parent)
    assert len(err.problems) == 1 and err.problems[0].line == 2
    assert "'appauth-conformance/vectors/2': this version of the suite reads appauth-conformance/vectors/1" in str(err)

"""Verdicts: each stage a signer can break, and each scope a known divergence can excuse it by.

Outcomes are judged through engine.assess (conformance -> diagnosis -> the known-divergence
lookup -> the verdict), the path every run takes. Expected strings are written out per mode
by hand and signed by the `openssl` command line, never by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appauth_conformance.core.model import Judgement, Outcome, RunnerSpec, Stage, Vector, Verdict
from appauth_conformance.corpus import expectations
from appauth_conformance.execution.pipeline import assess
from appauth_conformance.judging import verdicts

KEY = "the-app-key"
APP, CORP, USER, EXP, NONCE = "app-1", "corp-2", "user-3", 1700000000, "n" * 32
DATA = f"{APP}:{CORP}:{USER}:{EXP}:{NONCE}"  # sp_user: AppID:CorpID:UserID:ExpireTime:Nonce
OTHER = f"{APP}|{CORP}|{USER}|{EXP}|{NONCE}"  # a signer joining with pipes
HEAD = "schema: appauth-conformance/known-divergences/1\nrunner: r\ndivergences:\n"


@pytest.fixture
def sig(openssl_hmac):
    """The expected signature of DATA, and the signature of the pipe-joined string: by openssl."""
    return openssl_hmac(KEY, DATA), openssl_hmac(KEY, OTHER)


def vector(sig: str | None, result: str = "valid", vid: str = "v-upper", flags: tuple[str, ...] = ()) -> Vector:
    return Vector(
        vid, "f.yaml", 7, "d", "sp_user", APP, CORP, USER, EXP, NONCE, KEY, result, flags,
        DATA if result != "invalid" else None, sig if result != "invalid" else None,
    )  # fmt: skip


def listing(tmp_path: Path, entries: str) -> expectations.Expectations:
    path = tmp_path / "known-divergences.yaml"
    path.write_text(HEAD + entries, encoding="utf-8")
    return expectations.Expectations.load(RunnerSpec(name="r", language="x", command=("x",), divergences=path))


def none(tmp_path: Path) -> expectations.Expectations:
    """A runner with no known-divergence file."""
    return expectations.Expectations.load(RunnerSpec(name="r", language="x", command=("x",)))


# -- the stages, with nothing listed ----------------------------------------------------------------


def test_each_stage_a_signer_can_break(tmp_path, sig):
    right, piped = sig
    err = {"type": "IllegalArgumentException", "message": "Empty key"}
    cases = [
        # (result, string_to_sign, signature, error) -> (verdict, stage)
        (("valid", DATA, right, None), (Verdict.PASS, None)),
        (("valid", None, right, None), (Verdict.PASS, None)),  # a signer may report no string
        (("valid", OTHER, piped, None), (Verdict.FAIL, Stage.STRING_TO_SIGN)),
        (("valid", None, piped, None), (Verdict.FAIL, Stage.SIGNATURE)),
        (("valid", DATA, right.upper(), None), (Verdict.FAIL, Stage.SIGNATURE)),
        (("valid", None, None, err), (Verdict.FAIL, Stage.UNEXPECTED_ERROR)),
        (("invalid", None, None, err), (Verdict.PASS, None)),
        (("invalid", DATA, right, None), (Verdict.FAIL, Stage.UNEXPECTED_SIGNATURE)),
        (("acceptable", None, None, err), (Verdict.PASS, None)),
        (("acceptable", DATA, right, None), (Verdict.PASS, None)),
        (("acceptable", DATA, piped, None), (Verdict.FAIL, Stage.SIGNATURE)),
    ]
    for (result, string, signature, error), (verdict, stage) in cases:
        o = Outcome(vector(right, result), "r", string, signature, error)
        assert assess(o, none(tmp_path)).judgement == Judgement(verdict, stage), (result, string, signature)


def test_a_fault_is_a_runner_fault_whatever_is_listed(tmp_path, sig):
    o = Outcome(vector(sig[0]), "r", fault="no hello within 60s")
    want = Judgement(Verdict.RUNNER_FAULT, reason="no hello within 60s")
    assert assess(o, none(tmp_path)).judgement == want
    assert assess(o, listing(tmp_path, "- match: v-upper\n  reason: known\n")).judgement == want


def test_a_failure_names_the_mistakes_that_explain_it(tmp_path, sig):
    right, _ = sig
    r = assess(Outcome(vector(right), "r", DATA, right.upper()), none(tmp_path))
    assert r.judgement == Judgement(Verdict.FAIL, Stage.SIGNATURE) and r.diagnosis == ["hex-uppercase"]
    assert assess(Outcome(vector(right), "r", DATA, right), none(tmp_path)).diagnosis == []


# -- each scope of a known divergence -----------------------------------------------------------------


def upper(right: str, vid: str = "v-upper", flags: tuple[str, ...] = ()) -> Outcome:
    """A signer writing upper-case hex on the vector `vid`."""
    return Outcome(vector(right, vid=vid, flags=flags), "r", DATA, right.upper())


@pytest.mark.parametrize(
    "entry, excused, not_excused",
    [
        ("match: v-upper", "v-upper", "v-other"),  # an exact id
        ("match: sp_user/v-upper", "v-upper", "v-other"),  # an exact mode/id
        ("match: v-up*", "v-upper", "v-other"),  # wildcards: *, ?, [...]
        ("match: v-uppe?", "v-upper", "v-upperr"),
        ("match: v-[u]pper", "v-upper", "v-opper"),
        ("match: sp_user/v-u*", "v-upper", "v-other"),  # a pattern on mode/id
        ("match: V-*", "V-upper", "v-upper"),  # case matters
    ],
)
def test_a_vector_scoped_entry_excuses_the_vectors_it_names(tmp_path, sig, entry, excused, not_excused):
    exp = listing(tmp_path, f"- {entry}\n  reason: known\n")
    assert assess(upper(sig[0], excused), exp).judgement == Judgement(
        Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "known"
    )
    assert assess(upper(sig[0], not_excused), exp).judgement == Judgement(Verdict.FAIL, Stage.SIGNATURE)


def test_a_flag_scoped_entry_excuses_the_vectors_carrying_the_flag(tmp_path, sig):
    exp = listing(tmp_path, "- flag: high-surrogate\n  reason: replaces it with ?\n")
    flagged = upper(sig[0], "v-1", ("nul", "high-surrogate"))
    assert assess(flagged, exp).judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "replaces it with ?")
    assert assess(upper(sig[0], "v-2", ("nul",)), exp).judgement == Judgement(Verdict.FAIL, Stage.SIGNATURE)


def test_an_entry_with_an_id_and_a_flag_needs_both(tmp_path, sig):
    exp = listing(tmp_path, "- match: v-upper\n  flag: nul\n  reason: both\n")
    assert assess(upper(sig[0], "v-upper", ("nul",)), exp).judgement.verdict is Verdict.KNOWN_DIVERGENCE
    assert assess(upper(sig[0], "v-upper"), exp).judgement.verdict is Verdict.FAIL
    assert assess(upper(sig[0], "v-other", ("nul",)), exp).judgement.verdict is Verdict.FAIL
    assert exp.candidates(vector(sig[0], vid="v-upper")) == []


def test_a_diagnosis_scoped_entry_excuses_only_the_mistake_it_names(tmp_path, sig):
    right, piped = sig
    exp = listing(tmp_path, "- diagnosis: hex-uppercase\n  reason: the SDK writes upper-case hex\n")
    assert assess(upper(right, "any"), exp).judgement == Judgement(
        Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "the SDK writes upper-case hex"
    )
    pipes = Outcome(vector(right), "r", None, piped)  # diagnosed separator-pipe, not hex-uppercase
    assert assess(pipes, exp).judgement == Judgement(Verdict.FAIL, Stage.SIGNATURE)
    # a diagnosis entry never names a conforming outcome: no unexpected pass
    assert assess(Outcome(vector(right), "r", DATA, right), exp).judgement == Judgement(Verdict.PASS)


def test_a_pair_of_mistakes_is_named_as_a_plus_b(tmp_path, sig):
    right, piped = sig
    exp = listing(tmp_path, "- diagnosis: separator-pipe+hex-uppercase\n  reason: both\n")
    both = Outcome(vector(right), "r", None, piped.upper())
    assert assess(both, exp).judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "both")
    assert assess(upper(right), exp).judgement == Judgement(Verdict.FAIL, Stage.SIGNATURE)


def test_a_stage_scoped_entry_excuses_that_stage_and_a_failure_elsewhere_fails(tmp_path, sig):
    right, piped = sig
    exp = listing(tmp_path, "- match: v-upper\n  stage: signature\n  reason: upper-case hex\n")
    assert assess(upper(right), exp).judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "upper-case hex")
    joined = Outcome(vector(right), "r", OTHER, piped)  # listed at one stage, failing at another
    assert assess(joined, exp).judgement == Judgement(
        Verdict.FAIL, Stage.STRING_TO_SIGN, "listed as failing at signature, fails at string-to-sign"
    )


def test_among_several_entries_the_one_listing_the_stage_wins_else_the_first(tmp_path, sig):
    right, piped = sig
    exp = listing(
        tmp_path,
        "- match: v-upper\n  stage: error-where-none-was-due\n  reason: first\n"
        "- match: v-*\n  stage: string-to-sign\n  reason: second\n"
        "- flag: nul\n  stage: signature\n  reason: third\n",
    )
    joined = Outcome(vector(right, flags=("nul",)), "r", OTHER, piped)
    assert assess(joined, exp).judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.STRING_TO_SIGN, "second")
    assert assess(upper(right, flags=("nul",)), exp).judgement == Judgement(
        Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "third"
    )
    refused = Outcome(vector(right, result="invalid", flags=("nul",)), "r", DATA, right)
    # no entry lists signature-where-refusal-was-due: the first that names the vector decides
    assert assess(refused, exp).judgement == Judgement(
        Verdict.FAIL,
        Stage.UNEXPECTED_SIGNATURE,
        "listed as failing at error-where-none-was-due, fails at signature-where-refusal-was-due",
    )


def test_entries_naming_exact_ids_come_first_then_the_others_in_file_order(tmp_path, sig):
    exp = listing(
        tmp_path,
        "- match: v-*\n  reason: pattern\n"
        "- flag: nul\n  reason: flag\n"
        "- match: sp_user/v-X1\n  reason: exact mode/id\n"
        "- match: v-X1\n  reason: exact id\n",
    )
    v = vector(sig[0], vid="v-X1", flags=("nul",))
    assert [e.reason for e in exp.candidates(v)] == ["exact id", "exact mode/id", "pattern", "flag"]
    o = Outcome(v, "r", DATA, sig[0])
    assert assess(o, exp).judgement == Judgement(Verdict.UNEXPECTED_PASS, reason="exact id")


def test_entries_that_do_not_fit_are_passed_over_not_stopped_at(tmp_path, sig):
    exp = listing(
        tmp_path,
        "- diagnosis: base64\n  reason: a mistake this signer does not make\n- match: v-up*\n  reason: listed\n",
    )
    # a conforming outcome: the diagnosis entry does not name it, the next one does
    assert assess(Outcome(vector(sig[0]), "r", DATA, sig[0]), exp).judgement == Judgement(
        Verdict.UNEXPECTED_PASS, reason="listed"
    )
    # a failing one: the diagnosis entry does not explain it, the next one excuses it
    assert assess(upper(sig[0]), exp).judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "listed")


def test_a_listed_vector_that_passes_is_an_unexpected_pass(tmp_path, sig):
    exp = listing(tmp_path, "- match: v-upper\n  stage: signature\n  reason: was upper-case\n")
    o = Outcome(vector(sig[0]), "r", DATA, sig[0])
    assert assess(o, exp).judgement == Judgement(Verdict.UNEXPECTED_PASS, reason="was upper-case")


def test_verdicts_judge_takes_the_entry_found(sig):
    entry = expectations.Divergence("why", match="v-upper", stage=Stage.SIGNATURE)
    o = upper(sig[0])
    assert verdicts.conformance(o) is Stage.SIGNATURE
    assert verdicts.judge(o, entry) == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.SIGNATURE, "why")
    assert verdicts.judge(o) == Judgement(Verdict.FAIL, Stage.SIGNATURE)


# -- stale entries ------------------------------------------------------------------------------------


def test_entries_that_name_no_vector_or_excuse_nothing_are_stale(tmp_path, sig):
    exp = listing(
        tmp_path,
        "- match: v-upper\n  reason: names one\n"
        "- match: gone-*\n  reason: names none\n"
        "- flag: nul\n  reason: names one too\n",
    )
    corpus = [vector(sig[0]), vector(sig[0], vid="v-2", flags=("nul",))]
    assert [e.reason for e in exp.stale(corpus)] == ["names none"]
    used = [exp.entries[2]]
    assert [e.reason for e in exp.stale(corpus, used)] == ["names one", "names none"]
    assert exp.stale(corpus, exp.entries) == [exp.entries[1]]


def test_the_stale_message_lists_each_entry_and_the_command(tmp_path, sig):
    long = "r" * 70
    exp = listing(
        tmp_path, f"- match: gone-*\n  reason: names none\n- flag: gone\n  diagnosis: base64\n  reason: {long}\n"
    )
    one = expectations.stale_message(exp.spec, exp.entries[:1])
    path = tmp_path / "known-divergences.yaml"
    assert one == (
        "1 known-divergence entry of r excuses nothing (no vector of the corpus fails as listed):\n"
        f"  {path}:4: match: gone-* (names none)\n"
        "The list is stale: run `appauth-conformance divergences update --lang r`"
    )
    assert expectations.stale_message(exp.spec, exp.entries) == (
        "2 known-divergence entries of r excuse nothing (no vector of the corpus fails as listed):\n"
        f"  {path}:4: match: gone-* (names none)\n"
        f"  {path}:6: flag: gone, diagnosis: base64 ({long[:59]}…)\n"  # cut, and says so
        "The list is stale: run `appauth-conformance divergences update --lang r`"
    )

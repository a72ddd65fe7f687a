"""The token op: a runner's own code chooses nonce and expiry, and the harness checks what it made.

Each buggy generator of tests/fixtures/runners/token_runner.py must fail at its stage with its
diagnosis, and a correct one must pass every check; through a real session and the Engine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from appauth_conformance import report
from appauth_conformance.core.model import RunnerSpec, Stage, Verdict
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.formats.results import Recorder
from appauth_conformance.judging import tokens

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOKEN_RUNNER = FIXTURES / "runners" / "token_runner.py"
CORPUS = vectors.load(FIXTURES / "vectors" / "small.yaml")
SUITE = tokens.suite(CORPUS.vectors)


def run(*faults: str, divergences: Path | None = None, recorder: Recorder | None = None, **kw):
    spec = RunnerSpec(
        name="tok", language="python", command=(sys.executable, str(TOKEN_RUNNER), *faults), divergences=divergences
    )
    with Engine([spec], LocalBackend(), recorder, **kw) as engine:
        engine.prepare()
        engine.ensure(CORPUS.vectors)
        engine.ensure_tokens(SUITE)
        st = engine.runners["tok"]
        return st, list(st.token_results.values())


def test_the_suite_has_one_request_per_signable_vector():
    assert SUITE and len(SUITE) == len(
        {(v.mode, v.app_id, v.corp_id, v.user_id, v.app_key) for v in CORPUS.vectors if v.result != "invalid"}
    )
    assert all(r.key.startswith("token/") and b"nonce" not in r.request_body for r in SUITE)


def test_a_correct_token_generator_passes_every_check():
    st, results = run()
    assert st.ops == ("sign", "token")
    assert {t.judgement.verdict for t in results} == {Verdict.PASS}
    assert {c.stage for t in results for c in t.checks} == {
        Stage.TOKEN_SIGNATURE,
        Stage.TOKEN_NONCE,
        Stage.TOKEN_NONCE_REUSED,
        Stage.TOKEN_EXPIRY,
        Stage.TOKEN_HEADER,
        Stage.TOKEN_BODY,
    }
    assert {r.judgement.verdict for r in st.results.values()} == {Verdict.PASS}  # its sign replies too


@pytest.mark.parametrize(
    "fault, stage, mistake",
    [
        ("ms", Stage.TOKEN_EXPIRY, "expire-in-milliseconds"),
        ("short-nonce", Stage.TOKEN_NONCE, "nonce-too-short"),
        ("past", Stage.TOKEN_EXPIRY, "expire-in-past"),
        ("zero", Stage.TOKEN_EXPIRY, "expire-never"),
        ("upper", Stage.TOKEN_SIGNATURE, "hex-uppercase"),
        ("no-access", Stage.TOKEN_HEADER, "header-access-missing"),
        ("wrong-body", Stage.TOKEN_BODY, "body-field-differs"),
        # a non-integer expiry is a named mistake at its stage, no longer a runner fault
        ("float-expiry", Stage.TOKEN_EXPIRY, "expire-not-integer"),
        ("text-expiry", Stage.TOKEN_EXPIRY, "expire-not-integer"),
    ],
)
def test_a_buggy_generator_fails_at_its_stage_with_its_diagnosis(fault, stage, mistake):
    _, results = run(fault)
    assert results and all(t.judgement.verdict is Verdict.FAIL for t in results)
    assert {t.judgement.stage for t in results} == {stage}
    for t in results:
        failing = [c for c in t.checks if c.verdict is Verdict.FAIL]
        assert [c.stage for c in failing] == [stage], t.checks
        assert mistake in failing[0].diagnosis and failing[0].detail


def test_a_repeated_nonce_fails_every_request():
    """The first request's own first token is new; asked again (tokens.AGAIN), it repeats the nonce too."""
    _, results = run("repeat-nonce")
    assert {t.judgement.verdict for t in results} == {Verdict.FAIL}
    failing = [c for t in results for c in t.checks if c.verdict is Verdict.FAIL]
    assert {c.stage for c in failing} == {Stage.TOKEN_NONCE_REUSED}
    assert all(c.diagnosis == ("nonce-repeated",) and "already used for token/" in c.detail for c in failing)


def test_expire_zero_passes_when_the_run_allows_it():
    _, results = run("zero", allow_never_expires=True)
    assert {t.judgement.verdict for t in results} == {Verdict.PASS}


def test_a_narrow_window_fails_a_ten_minute_token():
    _, results = run(token_window=60)
    assert {t.judgement.stage for t in results} == {Stage.TOKEN_EXPIRY}
    assert all("expire-beyond-window" in c.diagnosis for t in results for c in t.checks if c.verdict is Verdict.FAIL)


@pytest.mark.parametrize("fault", ["header-only", "body-only"])
def test_a_reply_may_carry_the_signature_in_its_header_or_nonce_and_expiry_in_its_body(fault):
    _, results = run(fault)
    assert {t.judgement.verdict for t in results} == {Verdict.PASS}


def test_a_diagnosis_entry_excuses_the_token_signature_and_nothing_else(tmp_path):
    div = tmp_path / "div.yaml"
    div.write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "- diagnosis: hex-uppercase\n  reason: the SDK writes upper-case hex\n"
    )
    _, results = run("upper", divergences=div)
    assert {t.judgement.verdict for t in results} == {Verdict.KNOWN_DIVERGENCE}
    _, results = run("upper", "no-access", divergences=div)
    assert {(t.judgement.verdict, t.judgement.stage) for t in results} == {(Verdict.FAIL, Stage.TOKEN_HEADER)}
    sig = [c for t in results for c in t.checks if c.stage is Stage.TOKEN_SIGNATURE]
    assert {c.verdict for c in sig} == {Verdict.KNOWN_DIVERGENCE}  # still excused, check by check


def test_modes_and_ops_a_runner_leaves_out_are_unsupported_not_failed():
    st, results = run("modes-single")
    assert {r.judgement.verdict for r in st.results.values() if r.outcome.vector.mode != "single"} == {
        Verdict.UNSUPPORTED
    }
    assert {t.judgement.verdict for t in results if t.outcome.request.mode != "single"} == {Verdict.UNSUPPORTED}
    assert {t.judgement.verdict for t in results if t.outcome.request.mode == "single"} == {Verdict.PASS}
    st, _ = run("token-only")
    assert {r.judgement.verdict for r in st.results.values()} == {Verdict.UNSUPPORTED}


def test_results_json_keeps_every_check_and_validates(tmp_path):
    rec = Recorder(tmp_path / "results.json", CORPUS, backend="local")
    run("ms", recorder=rec)
    rec.write()
    doc = report.load(tmp_path / "results.json")
    tok = [o for o in doc["outcomes"] if o["vector"].startswith("token/")]
    assert tok and all(o["stage"] == "token-expiry" for o in tok)
    checks = tok[0]["checks"]
    assert {c["stage"] for c in checks} >= {"token-signature", "token-expiry"}
    assert next(c for c in checks if c["stage"] == "token-expiry")["diagnosis"] == ["expire-in-milliseconds"]
    assert doc["vectors"][tok[0]["vector"]]["op"] == "token"
    md = report.render_markdown(doc)
    assert "token-expiry" in md and "expire-in-milliseconds" in md


def test_docs_list_every_token_mistake_with_its_title():
    from appauth_conformance.judging.diagnosis.token_mistakes import TOKEN_MISTAKES

    doc = (Path(__file__).resolve().parents[1] / "docs" / "tokens.md").read_text()
    for mistake, (title, _seen) in TOKEN_MISTAKES.items():
        assert f"| `{mistake}` | {title} |" in doc, f"docs/tokens.md does not list {mistake} with its title {title!r}"

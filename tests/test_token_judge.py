"""The token checks, one rule at a time: replies go through tokens.outcome and a Judge with a fixed clock.

Every boundary the documentation sets (a nonce of 32 to 64 characters; an expiry after now and at
most the window ahead, in seconds) is tried on both sides, each header and body mistake is made
once, and each way a known-divergence entry can excuse a token is used. Signatures come from the
`openssl` command line; the strings to sign are written out by hand (docs/tokens.md, ARCHITECTURE).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from appauth_conformance.core.model import (
    Fault,
    Judgement,
    RunnerSpec,
    Stage,
    TokenOutcome,
    TokenRequest,
    Vector,
    Verdict,
)
from appauth_conformance.corpus import expectations
from appauth_conformance.judging import tokens

NOW = 1_700_000_000  # the judge's clock
DAY = 86_400  # the default window (docs/tokens.md: --token-window, default 86400)
KEY = "k3y"
APP, CORP, USER = "app-1", "corp-2", "user-3"
ACCESS = base64.b64encode(APP.encode()).decode()
N40 = "0123456789abcdefghij0123456789abcdefghij"
SP_USER = TokenRequest("v1", "f.yaml", 3, "d", "sp_user", APP, CORP, USER, KEY, ())
SINGLE = TokenRequest("v2", "f.yaml", 9, "d", "single", APP, "", "", KEY, ())
HEAD = "schema: appauth-conformance/known-divergences/1\nrunner: r\ndivergences:\n"
ALL = [Stage.TOKEN_SIGNATURE, Stage.TOKEN_NONCE, Stage.TOKEN_NONCE_REUSED, Stage.TOKEN_EXPIRY]


def data(request: TokenRequest, expire: object, nonce: str) -> str:
    """The documented string to sign, written out per mode."""
    app, corp, user = request.app_id, request.corp_id, request.user_id
    return {
        "single": f"{app}:{user}:{expire}:{nonce}",
        "sp_user": f"{app}:{corp}:{user}:{expire}:{nonce}",
        "sp_corp_admin": f"{app}:{corp}::{expire}:{nonce}",
        "sp_admin": f"{app}:::{expire}:{nonce}",
    }[request.mode]


@pytest.fixture
def reply(openssl_hmac):
    """A correct reply for a request, with header and body, then `change`d: a dict of top-level keys
    (None removes one), `headers` and `body` merged in the same way."""

    def make(request=SP_USER, nonce=N40, expire=NOW + 600, headers=None, body=None, **change):
        string = data(request, expire, nonce)
        sig = openssl_hmac(request.app_key, string)
        access = base64.b64encode(request.app_id.encode()).decode()
        out = {
            "seq": 1,
            "nonce": nonce,
            "expire_time": expire,
            "signature": sig,
            "string_to_sign": string,
            "headers": {"Authorization": f"HMAC-SHA256 signature={sig},access={access}", "X-Token-Type": "LongTicket"},
            "body": {
                "appId": request.app_id,
                "corpId": request.corp_id or None,
                "userId": request.user_id,
                "expireTime": expire,
                "nonce": nonce,
                "clientType": 72,
            },
        }
        for part, extra in (("headers", headers), ("body", body)):
            for k, v in (extra or {}).items():
                out[part].pop(k, None) if v is None else out[part].__setitem__(k, v)
        for k, v in change.items():
            out.pop(k, None) if v is None else out.__setitem__(k, v)
        return out

    return make


def listing(tmp_path: Path | None = None, entries: str = "") -> expectations.Expectations:
    spec = RunnerSpec(name="r", language="x", command=("x",))
    if tmp_path is not None:
        spec = RunnerSpec(name="r", language="x", command=("x",), divergences=tmp_path / "kd.yaml")
        spec.divergences.write_text(HEAD + entries, encoding="utf-8")
    return expectations.Expectations.load(spec)


def outcome(request: TokenRequest, runner: str, reply) -> TokenOutcome:
    """tokens.outcome, which keeps the request and the runner whatever the reply was."""
    o = tokens.outcome(request, runner, reply)
    assert o.request is request and o.runner == runner
    return o


def judge(*replies, request=SP_USER, exp=None, **kw):
    """The results of one judge (one run) over replies to `request`."""
    j = tokens.Judge(exp if exp is not None else listing(), clock=lambda: NOW, **kw)
    results = []
    for r in replies:
        o = outcome(request, "r", r)
        results.append(j.judge(o))
        assert results[-1].outcome is o
    return results


def failing(result) -> dict[Stage, tuple[tuple[str, ...], str | None]]:
    return {c.stage: (c.diagnosis, c.detail) for c in result.checks if c.verdict is Verdict.FAIL}


def test_a_correct_token_passes_every_check(reply):
    (r,) = judge(reply())
    assert r.judgement == Judgement(Verdict.PASS)
    assert [(c.stage, c.verdict) for c in r.checks] == [
        (s, Verdict.PASS) for s in (*ALL, Stage.TOKEN_HEADER, Stage.TOKEN_BODY)
    ]


def test_header_and_body_are_checked_only_when_given(reply):
    out = reply()
    del out["headers"], out["body"]
    (r,) = judge(out)
    assert r.judgement == Judgement(Verdict.PASS) and [c.stage for c in r.checks] == ALL


# -- the nonce: 32 to 64 characters, once per run ---------------------------------------------------------


@pytest.mark.parametrize(
    "length, mistake",
    [(0, "nonce-empty"), (1, "nonce-too-short"), (31, "nonce-too-short"), (32, None), (64, None),
     (65, "nonce-too-long")],
)  # fmt: skip
def test_nonce_length_bounds(reply, length, mistake):
    (r,) = judge(reply(nonce="x" * length))
    if mistake is None:
        assert r.judgement == Judgement(Verdict.PASS)
    else:
        detail = f"a nonce of {length} characters; the documentation asks for 32 to 64"
        assert failing(r) == {Stage.TOKEN_NONCE: ((mistake,), detail)}
        assert r.judgement == Judgement(Verdict.FAIL, Stage.TOKEN_NONCE, detail)


def test_a_nonce_used_for_another_request_is_repeated_and_the_same_token_again_is_reused(reply):
    admin = TokenRequest("v9", "f.yaml", 4, "d", "sp_admin", APP, "", "", KEY, ())
    assert reply(admin)["string_to_sign"] == f"{APP}:::{NOW + 600}:{N40}"  # sp_admin: AppID:::ExpireTime:Nonce
    j = tokens.Judge(listing(), clock=lambda: NOW)
    first, again = (j.judge(outcome(SP_USER, "r", reply())) for _ in range(2))
    assert first.judgement == Judgement(Verdict.PASS)
    # the same identity asked again and given the same whole token: a cached token (docs/tokens.md)
    assert failing(again)[Stage.TOKEN_NONCE_REUSED][0] == ("token-reused",)
    second = j.judge(outcome(admin, "r", reply(admin)))
    detail = f"nonce {N40!r} was already used for token/sp_user/v1"
    assert failing(second) == {Stage.TOKEN_NONCE_REUSED: (("nonce-repeated",), detail)}
    assert second.judgement == Judgement(Verdict.FAIL, Stage.TOKEN_NONCE_REUSED, detail)


# -- the expiry: seconds, after now, at most the window ahead ----------------------------------------------


@pytest.mark.parametrize(
    "expire, mistake",
    [
        (NOW - 3600, "expire-in-past"),
        (NOW, "expire-in-past"),  # "in the future": now itself is not
        (NOW + 1, None),
        (NOW + DAY, None),  # the window's last second
        (NOW + DAY + 1, "expire-beyond-window"),
        ((NOW + 600) * 1000, "expire-in-milliseconds"),
        ((NOW + DAY) * 1000, "expire-in-milliseconds"),
        ((NOW + DAY) * 1000 + 1, "expire-beyond-window"),
        (NOW * 1000, "expire-beyond-window"),  # milliseconds of now: not after now
        ((NOW + 600) * 1_000_000, "expire-in-microseconds"),
        ((NOW + DAY) * 1_000_000, "expire-in-microseconds"),
        ((NOW + DAY) * 1_000_000 + 1, "expire-beyond-window"),
        (NOW * 1_000_000, "expire-beyond-window"),
        (0, "expire-never"),
    ],
)
def test_expiry_bounds_with_the_judges_clock(reply, expire, mistake):
    (r,) = judge(reply(expire=expire))
    if mistake is None:
        assert r.judgement == Judgement(Verdict.PASS)
    else:
        assert list(failing(r)) == [Stage.TOKEN_EXPIRY] and failing(r)[Stage.TOKEN_EXPIRY][0] == (mistake,)


def test_expiry_details_say_what_was_seen(reply):
    def detail(expire, **kw):
        (r,) = judge(reply(expire=expire), **kw)
        return failing(r)[Stage.TOKEN_EXPIRY][1]

    assert detail(NOW - 3600) == f"expire_time {NOW - 3600} is 3600 s in the past by the harness's clock"
    assert detail(NOW + DAY + 5) == f"expire_time {NOW + DAY + 5} is {DAY + 5} s ahead; the window is {DAY} s"
    assert detail((NOW + 600) * 1000) == f"expire_time {(NOW + 600) * 1000}: {NOW + 600} in seconds would be right"
    assert detail((NOW + 7) * 10**6) == f"expire_time {(NOW + 7) * 10**6}: {NOW + 7} in seconds would be right"
    assert detail(0) == "expire_time 0: the token never expires (run with --allow-never-expires to accept it)"
    assert detail(NOW + 61, window=60) == f"expire_time {NOW + 61} is 61 s ahead; the window is 60 s"


def test_the_window_and_never_expires_are_the_runs_choice(reply):
    assert judge(reply(expire=NOW + 60), window=60)[0].judgement.verdict is Verdict.PASS
    assert failing(judge(reply(expire=NOW + 61), window=60)[0])[Stage.TOKEN_EXPIRY][0] == ("expire-beyond-window",)
    assert judge(reply(expire=0), allow_never=True)[0].judgement == Judgement(Verdict.PASS)


def test_a_text_expire_time_is_judged_not_a_crash(openssl_hmac):
    """A judge fed directly (an endpoint parsing a client's request) may see expire_time as text."""
    string = data(SP_USER, NOW + 600, N40)
    o = TokenOutcome(SP_USER, "r", N40, f"{NOW + 600}", openssl_hmac(KEY, string), string)  # type: ignore[arg-type]
    r = tokens.Judge(listing(), clock=lambda: NOW).judge(o)
    assert r.judgement.verdict is Verdict.FAIL and r.judgement.stage is Stage.TOKEN_SIGNATURE
    assert set(failing(r)) == {Stage.TOKEN_SIGNATURE, Stage.TOKEN_EXPIRY}
    assert "cannot be signed" in failing(r)[Stage.TOKEN_SIGNATURE][1]
    assert failing(r)[Stage.TOKEN_EXPIRY] == (
        ("expire-not-integer",),
        f"expire_time '{NOW + 600}' is not an integer of Unix seconds",
    )


# -- the signature ---------------------------------------------------------------------------------------


def test_a_wrong_signature_is_diagnosed_against_the_oracle_for_the_reported_inputs(reply):
    right = reply()["signature"]
    (r,) = judge(
        reply(
            signature=right.upper(), headers={"Authorization": f"HMAC-SHA256 signature={right.upper()},access={ACCESS}"}
        )
    )
    assert failing(r) == {
        Stage.TOKEN_SIGNATURE: (
            ("hex-uppercase",),
            f"signature {right.upper()!r}; the oracle's for the reported nonce and expiry is {right}",
        )
    }
    assert r.judgement.stage is Stage.TOKEN_SIGNATURE


def test_a_right_signature_with_a_wrong_string_to_sign_fails(reply):
    right = reply()
    wrong = right["string_to_sign"].replace(":", "|")
    (r,) = judge(reply(string_to_sign=wrong))
    diag, detail = failing(r)[Stage.TOKEN_SIGNATURE]
    assert "separator-pipe" in diag
    assert detail == f"string to sign {wrong!r}; the oracle's for the reported nonce and expiry is {right['signature']}"
    assert judge(reply(string_to_sign=None))[0].judgement == Judgement(Verdict.PASS)


def test_an_unsignable_nonce_fails_the_signature(reply):
    o = TokenOutcome(SP_USER, "r", "\ud800" + "x" * 39, NOW + 600, "00" * 32)
    r = tokens.Judge(listing(), clock=lambda: NOW).judge(o)
    diag, detail = failing(r)[Stage.TOKEN_SIGNATURE]
    assert diag == () and detail.startswith("the reported inputs cannot be signed (nonce: unpaired surrogate U+D800")


# -- the Authorization header and X-Token-Type -------------------------------------------------------------


def header_failure(reply, request=SP_USER, **headers):
    (r,) = judge(reply(request, headers=headers), request=request)
    return failing(r).get(Stage.TOKEN_HEADER)


def test_each_header_mistake(reply, openssl_hmac):
    sig = reply()["signature"]
    other = openssl_hmac(KEY, "something else")
    auth = "Authorization"
    assert header_failure(reply, **{auth: None}) == (
        ("header-missing",),
        "no Authorization header among ['X-Token-Type']",
    )
    assert header_failure(reply, **{auth: f"HMAC-SHA256 signature={other},access={ACCESS}"}) == (
        ("header-signature-differs",),
        f"signature={other!r} in the header",
    )
    assert header_failure(reply, **{auth: f"HMAC-SHA256 signature={sig}"})[0] == ("header-access-missing",)
    assert header_failure(reply, **{auth: f"HMAC-SHA256 signature={sig},access={APP}"}) == (
        ("header-access-wrong",),
        f"access={APP!r}, not {ACCESS!r}",
    )
    wrong = base64.b64encode(b"app-2").decode()
    assert header_failure(reply, **{auth: f"HMAC-SHA256 signature={sig},access={wrong}"})[0] == ("header-access-wrong",)
    assert header_failure(reply, **{"X-Token-Type": "ShortTicket"}) == (
        ("header-token-type",),
        "X-Token-Type 'ShortTicket'",
    )
    assert header_failure(reply, **{"X-Token-Type": None}) is None  # may be absent (the vendor SDK sends none)


@pytest.mark.parametrize(
    "value",
    [
        "Bearer abc",
        "HMAC-SHA1 signature={sig},access={access}",
        "HMAC-SHA256 signature={sig}, access={access}",  # a space after the comma (docs/tokens.md)
        "HMAC-SHA256 sig={sig},access={access}",
        "HMAC-SHA256",
        "",
    ],
)
def test_a_malformed_authorization_value_is_header_malformed(reply, value):
    sig = reply()["signature"]
    got = header_failure(reply, Authorization=value.format(sig=sig, access=ACCESS))
    assert got is not None and got[0] == ("header-malformed",)


def test_header_names_are_case_insensitive(reply):
    right = reply()["headers"]
    lower = {"authorization": right["Authorization"], "x-token-type": "ShortTicket"}
    out = reply()
    out["headers"] = lower
    (r,) = judge(out)
    assert failing(r)[Stage.TOKEN_HEADER][0] == ("header-token-type",)


def test_access_is_base64_of_the_utf8_app_id(reply, openssl_hmac):
    request = TokenRequest("v3", "f.yaml", 5, "d", "single", "應用-é", "", "u", KEY, ())
    sig = reply(request)["signature"]
    want = base64.b64encode("應用-é".encode()).decode()
    assert header_failure(reply, request) is None
    latin = base64.b64encode("應用-é".encode("utf-16-le")).decode()
    assert header_failure(reply, request, Authorization=f"HMAC-SHA256 signature={sig},access={latin}")[0] == (
        "header-access-wrong",
    )
    assert want != latin


def test_several_header_mistakes_are_all_named(reply):
    got = header_failure(reply, Authorization=f"HMAC-SHA256 signature={'0' * 64}", **{"X-Token-Type": "X"})
    assert got is not None
    assert got == (
        ("header-signature-differs", "header-access-missing", "header-token-type"),
        f"signature={'0' * 64!r} in the header; Authorization 'HMAC-SHA256 signature={'0' * 64}' has no access=; "
        "X-Token-Type 'X'",
    )


# -- the body ---------------------------------------------------------------------------------------------


def body_failure(reply, request=SP_USER, **body):
    (r,) = judge(reply(request, body=body), request=request)
    return failing(r).get(Stage.TOKEN_BODY)


def test_each_body_mistake(reply):
    assert body_failure(reply, appId=None) == (("body-field-missing",), "no appId")
    assert body_failure(reply, corpId="corp-x") == (
        ("body-field-differs",),
        "corpId 'corp-x' where 'corp-2' was signed",
    )
    assert body_failure(reply, userId="") == (("body-field-differs",), "userId '' where 'user-3' was signed")
    assert body_failure(reply, nonce="y" * 40)[0] == ("body-field-differs",)
    assert body_failure(reply, expireTime=NOW + 601)[0] == ("body-field-differs",)
    # the signed seconds as text: not a body that differs, an expiry that is not an integer (docs/tokens.md)
    assert body_failure(reply, expireTime=str(NOW + 600)) is None
    (r,) = judge(reply(body={"expireTime": str(NOW + 600)}))
    assert failing(r)[Stage.TOKEN_EXPIRY][0] == ("expire-not-integer",)
    assert body_failure(reply, clientType=None) == (("body-client-type",), "clientType None")
    assert body_failure(reply, clientType="72") == (("body-client-type",), "clientType '72'")
    assert body_failure(reply, clientType=True)[0] == ("body-client-type",)
    assert body_failure(reply, deptCode="extra keys are ignored") is None


def test_a_null_app_id_is_not_an_empty_one(reply):
    out = reply(body={})
    out["body"]["appId"] = None  # null for a signed, non-empty id
    (r,) = judge(out)
    assert failing(r)[Stage.TOKEN_BODY] == (("body-field-differs",), "appId None where 'app-1' was signed")


def test_an_empty_id_may_be_empty_null_or_absent_and_an_unsigned_one_is_free(reply):
    empty_user = TokenRequest("v4", "f.yaml", 6, "d", "sp_user", APP, CORP, "", KEY, ())
    for value in ("", None):
        out = reply(empty_user)
        out["body"]["userId"] = value
        assert judge(out, request=empty_user)[0].judgement == Judgement(Verdict.PASS), value
    out = reply(empty_user)
    del out["body"]["userId"]
    assert judge(out, request=empty_user)[0].judgement == Judgement(Verdict.PASS)
    assert body_failure(reply, empty_user, userId="someone")[0] == ("body-field-differs",)
    # single signs no corp id: whatever the body says of it is not checked
    assert body_failure(reply, SINGLE, corpId="any") is None
    # sp_corp_admin signs no user id
    admin = TokenRequest("v5", "f.yaml", 7, "d", "sp_corp_admin", APP, CORP, "u-9", KEY, ())
    assert reply(admin)["string_to_sign"] == f"{APP}:{CORP}::{NOW + 600}:{N40}"
    assert body_failure(reply, admin, userId="someone else") is None
    out = reply(admin)
    out["body"]["corpId"] = None
    assert failing(judge(out, request=admin)[0])[Stage.TOKEN_BODY] == (
        ("body-field-differs",),
        "corpId None where 'corp-2' was signed",
    )


def test_several_body_mistakes_name_each_kind_once(reply):
    got = body_failure(reply, appId="x", userId="y", clientType=None)
    assert got == (
        ("body-field-differs", "body-client-type"),
        "appId 'x' where 'app-1' was signed; userId 'y' where 'user-3' was signed; clientType None",
    )


# -- the reply: protocol, refusals, where the values come from -----------------------------------------------


def test_a_refusal_fails_and_a_fault_is_a_runner_fault(reply):
    (r,) = judge({"seq": 1, "error": {"type": "ValueError", "message": "no"}})
    assert r.judgement == Judgement(Verdict.FAIL, Stage.UNEXPECTED_ERROR, "ValueError") and r.checks == []
    o = outcome(SP_USER, "r", Fault("crashed", "Traceback ..."))
    assert (o.fault, o.stderr_tail) == ("crashed", "Traceback ...")
    r = tokens.Judge(listing(), clock=lambda: NOW).judge(o)
    assert r.judgement == Judgement(Verdict.RUNNER_FAULT, reason="crashed") and r.outcome is o


@pytest.mark.parametrize(
    "change, fault",
    [
        ({"signature": 5}, "token reply breaks the protocol schema: "),
        ({"expire_time": [NOW + 600]}, "token reply breaks the protocol schema: "),
        ({"extra": 1}, "token reply breaks the protocol schema: "),
        ({"nonce": None, "body": None}, "token reply gives no nonce (nor in its body or Authorization header)"),
        (
            {"expire_time": None, "body": None},
            "token reply gives no expire_time (nor in its body or Authorization header)",
        ),
        (
            {"nonce": None, "expire_time": None, "body": None},
            "token reply gives no nonce, expire_time (nor in its body or Authorization header)",
        ),
        (
            {"signature": None, "headers": {"Authorization": "Bearer x"}},
            "token reply gives no signature (nor in its body or Authorization header)",
        ),
    ],
)
def test_a_reply_that_breaks_the_protocol_is_a_fault(reply, change, fault):
    out = reply(**{k: v for k, v in change.items() if v is not None})
    for k, v in change.items():
        if v is None:
            out.pop(k)
    o = outcome(SP_USER, "r", out)
    assert o.fault is not None and o.fault.startswith(fault) and (fault.endswith(": ") or o.fault == fault), o.fault


@pytest.mark.parametrize("field, value", [("expireTime", True), ("expireTime", [NOW + 600]), ("nonce", 12345)])
def test_a_body_that_gives_a_wrong_type_is_a_fault(reply, field, value):
    out = reply()
    del out["nonce"], out["expire_time"]
    out["body"][field] = value
    o = outcome(SP_USER, "r", out)
    assert o.fault == (
        "token reply gives a nonce that is not text or an expiry that is not an integer "
        "(nor in its body or Authorization header)"
    )


def test_values_may_come_from_the_body_and_the_header(reply):
    out = reply()
    for k in ("nonce", "expire_time", "signature"):
        out.pop(k)
    o = outcome(SP_USER, "r", out)
    assert (o.nonce, o.expire_time, o.signature) == (N40, NOW + 600, reply()["signature"])
    out["headers"] = {"authorization": out["headers"]["Authorization"]}
    assert outcome(SP_USER, "r", out).signature == reply()["signature"]
    # the top-level values win over the body's
    both = reply()
    both["body"]["nonce"] = "b" * 40
    assert outcome(SP_USER, "r", both).nonce == N40


# -- known divergences ---------------------------------------------------------------------------------


def test_a_stage_scoped_entry_excuses_that_check_only(reply):
    # known-divergence files name sign stages only; an entry made in code may name a token stage
    entry = expectations.Divergence("milliseconds", match="v1", stage=Stage.TOKEN_EXPIRY)
    exp = expectations.Expectations(RunnerSpec(name="r", language="x", command=("x",)), [entry], None)
    (ms,) = judge(reply(expire=(NOW + 600) * 1000), exp=exp)
    assert ms.judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.TOKEN_EXPIRY, "milliseconds")
    (both,) = judge(reply(expire=(NOW + 600) * 1000, nonce="x" * 10), exp=exp)
    assert both.judgement.verdict is Verdict.FAIL and both.judgement.stage is Stage.TOKEN_NONCE
    assert {c.stage: c.verdict for c in both.checks}[Stage.TOKEN_EXPIRY] is Verdict.KNOWN_DIVERGENCE
    (short,) = judge(reply(nonce="x" * 10), exp=exp)  # listed at the expiry, failing at the nonce
    assert short.judgement == Judgement(Verdict.FAIL, Stage.TOKEN_NONCE, failing(short)[Stage.TOKEN_NONCE][1])


def test_an_entry_for_a_sign_stage_excuses_no_token_check(tmp_path, reply):
    exp = listing(tmp_path, "- match: v1\n  stage: signature\n  reason: upper-case hex when signing\n")
    (ms,) = judge(reply(expire=(NOW + 600) * 1000), exp=exp)
    assert ms.judgement == Judgement(Verdict.FAIL, Stage.TOKEN_EXPIRY, failing(ms)[Stage.TOKEN_EXPIRY][1])
    assert {c.verdict for c in ms.checks} == {Verdict.PASS, Verdict.FAIL}


def test_a_diagnosis_entry_excuses_its_mistake_and_counts_what_it_excused(tmp_path, reply):
    exp = listing(tmp_path, "- diagnosis: expire-in-milliseconds\n  reason: Date.now()\n")
    j = tokens.Judge(exp, clock=lambda: NOW)
    for n in ("a", "b"):
        r = j.judge(outcome(SP_USER, "r", reply(expire=(NOW + 600) * 1000, nonce=n * 40)))
        assert r.judgement == Judgement(Verdict.KNOWN_DIVERGENCE, Stage.TOKEN_EXPIRY, "Date.now()")
        excused = [c for c in r.checks if c.verdict is Verdict.KNOWN_DIVERGENCE]
        assert [(c.stage, c.diagnosis, c.reason) for c in excused] == [
            (Stage.TOKEN_EXPIRY, ("expire-in-milliseconds",), "Date.now()")
        ]
    assert j.excused == {exp.entries[0]: 2}
    r = j.judge(outcome(SP_USER, "r", reply(expire=NOW - 5, nonce="c" * 40)))
    assert r.judgement.verdict is Verdict.FAIL  # expire-in-past is another mistake


def test_a_listed_token_whose_checks_all_pass_is_an_unexpected_pass(tmp_path, reply):
    exp = listing(tmp_path, "- match: token/sp_user/*\n  reason: was upper-case\n")
    (r,) = judge(reply(), exp=exp)
    assert r.judgement == Judgement(Verdict.UNEXPECTED_PASS, reason="was upper-case")
    assert {c.verdict for c in r.checks} == {Verdict.PASS}
    (other,) = judge(reply(SINGLE), request=SINGLE, exp=exp)
    assert other.judgement == Judgement(Verdict.PASS)
    # a diagnosis entry does not name a passing token
    exp = listing(tmp_path, "- diagnosis: hex-uppercase\n  reason: upper\n")
    assert judge(reply(), exp=exp)[0].judgement == Judgement(Verdict.PASS)


# -- the module's constants: a changed bound is noticed -------------------------------------------------------


def nonce_and_header_rules_hold(make) -> list[str]:
    """The documented rules applied to a few replies, compared with what the judge says: the differences."""
    sig = make()["signature"]

    def auth(value):
        return make(headers={"Authorization": value})

    cases = {  # name: (reply, the mistakes of its first failing check; () when it passes)
        "nonce 31": (make(nonce="x" * 31), ("nonce-too-short",)),
        "nonce 32": (make(nonce="y" * 32), ()),
        "nonce 64": (make(nonce="z" * 64), ()),
        "nonce 65": (make(nonce="w" * 65), ("nonce-too-long",)),
        "header": (make(), ()),
        "space after comma": (auth(f"HMAC-SHA256 signature={sig}, access={ACCESS}"), ("header-malformed",)),
        "trailing comma": (auth(f"HMAC-SHA256 signature={sig},"), ("header-malformed",)),
        "other parameter": (auth(f"HMAC-SHA256 sig={sig},access={ACCESS}"), ("header-malformed",)),
        "no access": (auth(f"HMAC-SHA256 signature={sig}"), ("header-access-missing",)),
    }
    wrong = []
    for name, (r, want) in cases.items():
        (result,) = judge(r)
        got = next((c.diagnosis for c in result.checks if c.verdict is Verdict.FAIL), ())
        if got != want:
            wrong.append(f"{name}: {got}")
    return wrong


def test_the_rules_hold_on_the_real_constants(reply):
    assert nonce_and_header_rules_hold(reply) == []


@pytest.mark.parametrize(
    "name, value",
    [
        ("NONCE_MIN", 31),
        ("NONCE_MIN", 33),
        ("NONCE_MAX", 63),
        ("NONCE_MAX", 65),
        ("HEADER", re.compile(r"HMAC-SHA256 signature=([^,]*)(?:, ?access=(.*))?")),
        ("HEADER", re.compile(r"HMAC-SHA256 \w+=([^,]*)(?:,access=(.*))?")),
        ("HEADER", re.compile(r"HMAC-SHA256 signature=([^,]*),?(?:access=(.*))?")),
        ("HEADER", re.compile(r"HMAC-SHA256 signature=(.*)(?:,access=(.*))?")),
    ],
)
def test_a_changed_constant_is_noticed(reply, monkeypatch, name, value):
    """mutmut leaves module-level constants alone: each is changed here by hand, and the rules notice."""
    monkeypatch.setattr(tokens, name, value)
    assert nonce_and_header_rules_hold(reply) != []


def test_the_default_window_is_a_day(reply):
    j = tokens.Judge(listing(), clock=lambda: NOW)
    assert j.judge(outcome(SP_USER, "r", reply(expire=NOW + DAY))).judgement.verdict is Verdict.PASS
    r = j.judge(outcome(SP_USER, "r", reply(expire=NOW + DAY + 1, nonce="q" * 40)))
    assert failing(r)[Stage.TOKEN_EXPIRY][0] == ("expire-beyond-window",)


# -- what a run asks, and what a report shows ---------------------------------------------------------------


def test_the_suite_asks_one_token_per_signable_mode_ids_and_key():
    def v(vid, mode="sp_user", app=APP, corp=CORP, user=USER, key=KEY, result="valid", flags=()):
        return Vector(vid, "f.yaml", 2, f"about {vid}", mode, app, corp, user, 0, "n", key, result, flags, None, None)

    corpus = [
        v("a", flags=("nul",)),
        v("b"),  # the same mode, ids and key as a: asked once
        v("c", result="invalid"),  # a refusal is due: nothing to ask
        v("d", key="other-key", result="acceptable"),
        v("e", mode="single", corp=""),
        v("f", app="app-9"),
        v("g", corp="corp-9"),
        v("h", user="user-9"),
    ]
    suite = tokens.suite(corpus)
    assert [(r.id, r.mode, r.app_id, r.corp_id, r.user_id, r.app_key) for r in suite] == [
        ("a", "sp_user", APP, CORP, USER, KEY),
        ("d", "sp_user", APP, CORP, USER, "other-key"),
        ("e", "single", APP, "", USER, KEY),
        ("f", "sp_user", "app-9", CORP, USER, KEY),
        ("g", "sp_user", APP, "corp-9", USER, KEY),
        ("h", "sp_user", APP, CORP, "user-9", KEY),
    ]
    first = suite[0]
    assert (first.file, first.line, first.description, first.flags, first.key) == (
        "f.yaml", 2, "about a", ("nul",), "token/sp_user/a",
    )  # fmt: skip
    assert tokens.suite([v("c", result="invalid"), v("c2")])[0].id == "c2"


def test_an_unexpected_pass_names_the_first_entry_that_names_the_token(tmp_path, reply):
    exp = listing(tmp_path, "- match: v1\n  stage: signature\n  reason: first\n- match: v*\n  reason: second\n")
    assert judge(reply(), exp=exp)[0].judgement == Judgement(Verdict.UNEXPECTED_PASS, reason="first")


def test_an_excused_check_keeps_what_was_seen(tmp_path, reply):
    exp = listing(tmp_path, "- diagnosis: nonce-too-short\n  reason: uuid4().hex[:16]\n")
    (r,) = judge(reply(nonce="s" * 16), exp=exp)
    (c,) = [c for c in r.checks if c.verdict is Verdict.KNOWN_DIVERGENCE]
    assert (c.stage, c.diagnosis, c.detail, c.reason) == (
        Stage.TOKEN_NONCE,
        ("nonce-too-short",),
        "a nonce of 16 characters; the documentation asks for 32 to 64",
        "uuid4().hex[:16]",
    )


def test_a_signature_of_a_wrong_join_is_diagnosed_from_the_signature_alone(reply, openssl_hmac):
    string = reply()["string_to_sign"]
    piped = openssl_hmac(KEY, string.replace(":", "|"))
    (r,) = judge(
        reply(
            signature=piped,
            string_to_sign=None,
            headers={"Authorization": f"HMAC-SHA256 signature={piped},access={ACCESS}"},
        )
    )
    assert failing(r)[Stage.TOKEN_SIGNATURE][0] == ("separator-pipe",)


def test_different_nonces_of_different_requests_both_pass(reply):
    j = tokens.Judge(listing(), clock=lambda: NOW)
    a = j.judge(outcome(SP_USER, "r", reply(nonce="a" * 40)))
    b = j.judge(outcome(SINGLE, "r", reply(SINGLE, nonce="b" * 40)))
    assert a.judgement == b.judgement == Judgement(Verdict.PASS)


def test_long_values_are_cut_in_what_was_seen(reply):
    j = tokens.Judge(listing(), clock=lambda: NOW)
    long_nonce = "L" * 100
    j.judge(outcome(SP_USER, "r", reply(nonce=long_nonce)))
    admin = TokenRequest("v9", "f.yaml", 4, "d", "sp_admin", APP, "", "", KEY, ())
    r = j.judge(outcome(admin, "r", reply(admin, nonce=long_nonce)))
    assert (
        failing(r)[Stage.TOKEN_NONCE_REUSED][1]
        == f"nonce {repr('L' * 100)[:71]}… was already used for token/sp_user/v1"
    )
    long = "A" * 200
    for header in (long, f"HMAC-SHA256 signature={long}"):  # malformed: quoted, cut, and the shape said
        detail = header_failure(reply, Authorization=header)[1]
        assert detail.startswith(f"Authorization {header[:100]!r}"[:-1]) and long not in detail, detail
        assert len(detail) < 300 and "signature=<64 hex digits>" in detail, detail
    sig = reply()["signature"]
    assert header_failure(reply, Authorization=f"HMAC-SHA256 signature={sig},access={long}")[1] == (
        f"access={long[:80]!r}, not {ACCESS!r}"
    )


def test_access_for_an_app_id_with_a_lone_surrogate_is_base64_of_its_wtf8_bytes(reply):
    request = TokenRequest("v6", "f.yaml", 8, "d", "sp_admin", "a\ud800", "", "", KEY, ())
    wtf8 = base64.b64encode(b"a\xed\xa0\x80").decode()  # the surrogate's three bytes, as surrogatepass makes them
    sig = "00" * 32
    out = {
        "seq": 1, "nonce": N40, "expire_time": NOW + 600, "signature": sig,
        "headers": {"Authorization": f"HMAC-SHA256 signature={sig},access={wtf8}"},
    }  # fmt: skip
    (r,) = judge(out, request=request)
    assert Stage.TOKEN_HEADER not in failing(r) and Stage.TOKEN_SIGNATURE in failing(r)


def test_every_body_field_is_checked_after_an_empty_or_missing_one(reply):
    no_corp = TokenRequest("v7", "f.yaml", 9, "d", "sp_user", APP, "", USER, KEY, ())
    out = reply(no_corp, body={"corpId": None, "userId": "wrong"})  # corpId left out, as allowed
    assert failing(judge(out, request=no_corp)[0])[Stage.TOKEN_BODY][0] == ("body-field-differs",)
    out = reply(no_corp, body={"userId": "wrong"})
    out["body"]["corpId"] = None  # null, as allowed
    assert failing(judge(out, request=no_corp)[0])[Stage.TOKEN_BODY][0] == ("body-field-differs",)
    assert body_failure(reply, appId=None, userId="wrong") == (
        ("body-field-missing", "body-field-differs"),
        "no appId; userId 'wrong' where 'user-3' was signed",
    )

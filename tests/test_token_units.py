"""The token judge's smaller parts, called directly: nonce reuse across processes and parts of a run,
a reply's bounds, a non-integer expiry, the expiry window's edges.

Pure unit tests (no runner process): outcomes and outcome records are built by hand, the Judge has a
fixed clock. Expected values come from docs/tokens.md and the docstrings of judging/tokens.py: the
mistake names and stages, the limits (ExpireTime whole seconds, the window), what a part of a run or a
later process may not repeat. These are in scripts/mutation.py's FAST list for tokens.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import pytest

from appauth_conformance.core import wire
from appauth_conformance.core.model import (
    Check,
    Fault,
    Judgement,
    Stage,
    TokenOutcome,
    TokenRequest,
    TokenResult,
    Verdict,
)
from appauth_conformance.judging import tokens

NOW = 1_700_000_000
DAY = 86_400
A = TokenRequest("a", "f.yaml", 1, "d", "sp_user", "app", "corp", "user", "key", ())
B = TokenRequest("b", "f.yaml", 2, "d", "sp_user", "app", "corp", "other", "key", ())
NONCE = "n" * 40
REUSED = Stage.TOKEN_NONCE_REUSED


class Nothing:
    """A runner with no known divergences."""

    def find(self, v, stage=None, diagnosis=()):
        return None


@dataclass(frozen=True)
class Entry:
    stage: Stage | None
    reason: str


class Excusing:
    """A listing whose one entry excuses `mistake` (at `stage`, or any stage when None)."""

    def __init__(self, mistake: str, stage: Stage | None = None, request: TokenRequest | None = None):
        self.entry = Entry(stage, f"known: {mistake}")
        self.mistake = mistake
        self.request = request or A  # the entry names this token only

    def find(self, v, stage=None, diagnosis=()):
        named = getattr(v, "key", None) == self.request.key
        return self.entry if named and self.mistake in diagnosis else None


def judge(listing=None, **kw) -> tokens.Judge:
    return tokens.Judge(listing or Nothing(), clock=lambda: NOW, **kw)


def token(request=A, nonce=NONCE, expire=NOW + 600, signature="s" * 64) -> TokenOutcome:
    return TokenOutcome(request, "r", nonce, expire, signature)


# --- restarted and _reuse ---------------------------------------------------------------------------


def test_restarted_counts_processes_from_one():
    j = judge()
    assert j.process == 1
    j.restarted()
    assert j.process == 2
    j.restarted()
    assert j.process == 3


def test_a_first_nonce_is_remembered_with_its_process_key_and_token():
    j = judge()
    j.restarted()
    assert j._reuse(token(expire=NOW + 5, signature="x")) == (None, None)
    use = j.seen[NONCE]
    assert (use.key, use.process, use.token, use.keys, use.repeated) == (A.key, 2, (NOW + 5, "x"), {A.key}, False)
    assert tokens.made({"r": j}) == {"r": [(NONCE, A.key)]}


def test_the_same_token_again_is_token_reused():
    j = judge()
    j._reuse(token())
    diag, detail = j._reuse(token())
    assert diag == ("token-reused",)
    assert detail == (
        f"the same token as before for this identity (nonce {NONCE!r}, expire_time {NOW + 600}, "
        "the same signature): a token handed back again, not a new one"
    )


@pytest.mark.parametrize(
    "second",
    [token(expire=NOW + 601), token(signature="t" * 64)],
    ids=["another expiry", "another signature"],
)
def test_the_same_nonce_in_another_token_of_the_identity_is_nonce_repeated(second):
    j = judge()
    j._reuse(token())
    assert j._reuse(second) == (("nonce-repeated",), f"nonce {NONCE!r} was already used for {A.key}")


def test_a_nonce_of_another_identity_is_nonce_repeated_and_then_no_token_is_reused():
    j = judge()
    j._reuse(token())
    assert j._reuse(token(B)) == (("nonce-repeated",), f"nonce {NONCE!r} was already used for {A.key}")
    assert j.seen[NONCE].keys == {A.key, B.key}
    # the first identity's token again: its nonce is no longer its own, so not a cached token
    assert j._reuse(token())[0] == ("nonce-repeated",)


def test_a_nonce_the_first_process_made_once_repeats_per_process():
    j = judge()
    j._reuse(token())
    j.restarted()
    diag, detail = j._reuse(token(B))
    assert diag == ("nonce-repeats-per-process",)
    assert detail == (
        f"nonce {NONCE!r} was made by the runner's process 1 already (for {A.key}); "
        "process 2 made it again: its nonce sequence repeats per process"
    )
    # the same nonce again in process 2: process 1 still made it only once
    assert j._reuse(token(B))[0] == ("nonce-repeats-per-process",)


def test_a_nonce_the_first_process_already_repeated_is_nonce_repeated_after_a_restart():
    j = judge()
    j._reuse(token())
    j._reuse(token(B))  # a fixed nonce: twice in process 1
    assert j.seen[NONCE].repeated is True
    j.restarted()
    assert j._reuse(token(B))[0] == ("nonce-repeated",)


def test_a_nonce_repeated_only_in_a_later_process_does_not_mark_the_first():
    j = judge()
    j._reuse(token())
    j.restarted()
    j._reuse(token(B))
    assert j.seen[NONCE].repeated is False


def test_a_long_nonce_is_cut_in_the_detail():
    j = judge()
    long = "z" * 200
    j._reuse(token(nonce=long))
    detail = j._reuse(token(B, nonce=long))[1]
    assert "z" * 80 not in detail and "z" * 60 in detail


def test_memory_replaces_the_judges_own():
    calls = []

    def memory(o):
        calls.append(o)
        return ("nonce-repeated",), "elsewhere"

    j = judge(memory=memory)
    o = token()
    assert j._reuse(o) == (("nonce-repeated",), "elsewhere")
    assert calls == [o] and j.seen == {}


# --- again ------------------------------------------------------------------------------------------


def passed(o: TokenOutcome) -> TokenResult:
    return TokenResult(o, Judgement(Verdict.PASS), [Check(s, Verdict.PASS) for s in tokens.STAGES[:4]])


def test_again_with_a_new_nonce_leaves_the_first_result():
    j = judge()
    first = passed(token())
    j._reuse(first.outcome)
    assert j.again(first, token(nonce="m" * 40), tokens.AGAIN) is first


@pytest.mark.parametrize(
    "first",
    [
        TokenResult(TokenOutcome(A, "r", fault="broke"), Judgement(Verdict.RUNNER_FAULT)),
        TokenResult(TokenOutcome(A, "r", error={"type": "x", "message": "m"}), Judgement(Verdict.FAIL)),
    ],
    ids=["fault", "refusal"],
)
def test_again_after_a_first_reply_that_is_no_token_adds_nothing(first):
    j = judge()
    j._reuse(token())
    assert j.again(first, token(), tokens.AGAIN) is first
    assert j.seen[NONCE].keys == {A.key}  # not even looked at


def test_again_with_a_later_reply_that_is_no_token_adds_nothing():
    j = judge()
    first = passed(token())
    j._reuse(first.outcome)
    assert j.again(first, TokenOutcome(A, "r", fault="broke"), tokens.AGAIN) is first


def test_a_cached_token_fails_the_first_result_at_token_nonce_reused_only():
    j = judge()
    first = passed(token())
    j._reuse(first.outcome)
    later = j.again(first, token(), tokens.AGAIN)
    assert later.outcome is first.outcome
    assert later.judgement.verdict is Verdict.FAIL and later.judgement.stage is REUSED
    assert [c.stage for c in later.checks] == [c.stage for c in first.checks]
    for before, after in zip(first.checks, later.checks, strict=True):
        if after.stage is REUSED:
            assert after.verdict is Verdict.FAIL and after.diagnosis == ("token-reused",)
            assert after.detail.startswith(f"{tokens.AGAIN}: the same token as before")
            assert later.judgement.reason == after.detail
        else:
            assert after == before
    assert all(c.verdict is Verdict.PASS for c in first.checks)  # the first result is not changed


def test_again_adds_to_a_failing_reuse_check_naming_each_mistake_once():
    j = judge()
    o = token()
    j._reuse(o)
    checks = [Check(s, Verdict.PASS) for s in tokens.STAGES[:4]]
    checks[2] = Check(REUSED, Verdict.FAIL, ("nonce-repeated",), "seen before")
    first = TokenResult(o, Judgement(Verdict.FAIL, REUSED, "seen before"), checks)
    j.restarted()
    later = j.again(first, token(B), tokens.AFTER_RESTART)
    check = later.checks[2]
    assert check.diagnosis == ("nonce-repeated", "nonce-repeats-per-process")
    assert check.detail.startswith(f"seen before; {tokens.AFTER_RESTART}: nonce {NONCE!r} was made by")
    j.restarted()
    again = j.again(later, token(B), tokens.AGAIN)
    assert again.checks[2].diagnosis == ("nonce-repeated", "nonce-repeats-per-process")


def test_again_keeps_the_first_failing_stage_as_the_verdict():
    j = judge()
    o = token()
    j._reuse(o)
    checks = [Check(s, Verdict.PASS) for s in tokens.STAGES[:4]]
    checks[0] = Check(Stage.TOKEN_SIGNATURE, Verdict.FAIL, ("x",), "bad signature")
    first = TokenResult(o, Judgement(Verdict.FAIL, Stage.TOKEN_SIGNATURE, "bad signature"), checks)
    later = j.again(first, token(), tokens.AGAIN)
    assert later.judgement == Judgement(Verdict.FAIL, Stage.TOKEN_SIGNATURE, "bad signature")
    assert later.checks[2].verdict is Verdict.FAIL


def test_again_asks_the_listing_about_the_identitys_token():
    j = judge(Excusing("token-reused", REUSED, request=B))  # an entry for another token
    first = passed(token())
    j._reuse(first.outcome)
    assert j.again(first, token(), tokens.AGAIN).checks[2].verdict is Verdict.FAIL


def test_a_reuse_found_again_may_be_excused():
    listing = Excusing("token-reused", REUSED)
    j = judge(listing)
    first = passed(token())
    j._reuse(first.outcome)
    later = j.again(first, token(), tokens.AGAIN)
    assert later.checks[2].verdict is Verdict.KNOWN_DIVERGENCE and later.checks[2].reason == "known: token-reused"
    assert later.judgement == Judgement(Verdict.KNOWN_DIVERGENCE, REUSED, "known: token-reused")
    assert j.excused == {listing.entry: 1}


def test_an_entry_for_another_stage_excuses_nothing():
    j = judge(Excusing("token-reused", Stage.TOKEN_EXPIRY))
    first = passed(token())
    j._reuse(first.outcome)
    later = j.again(first, token(), tokens.AGAIN)
    assert later.checks[2].verdict is Verdict.FAIL and j.excused == {}


# --- _expiry ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "t, mistake",
    [
        (NOW - 1, "expire-in-past"),
        (NOW, "expire-in-past"),
        (NOW + 1, None),
        (NOW + DAY, None),
        (NOW + DAY + 1, "expire-beyond-window"),
        (NOW * 1000, "expire-beyond-window"),
        (NOW * 1000 + 1000, "expire-in-milliseconds"),
        ((NOW + DAY) * 1000, "expire-in-milliseconds"),
        ((NOW + DAY) * 1000 + 1, "expire-beyond-window"),
        (NOW * 1_000_000 + 1, "expire-in-microseconds"),
        ((NOW + DAY) * 1_000_000, "expire-in-microseconds"),
        ((NOW + DAY) * 1_000_000 + 1, "expire-beyond-window"),
        (-1, "expire-in-past"),
        (1, "expire-in-past"),
    ],
)
def test_expiry_edges(t, mistake):
    diag, detail = judge()._expiry(t)
    assert diag == ((mistake,) if mistake else None)
    assert (detail is None) == (mistake is None)


def test_expiry_details():
    j = judge()
    assert j._expiry(NOW - 30)[1] == f"expire_time {NOW - 30} is 30 s in the past by the harness's clock"
    assert j._expiry(NOW + DAY + 7)[1] == f"expire_time {NOW + DAY + 7} is {DAY + 7} s ahead; the window is {DAY} s"
    ms = (NOW + 600) * 1000
    assert j._expiry(ms)[1] == f"expire_time {ms}: {NOW + 600} in seconds would be right"
    us = (NOW + 600) * 1_000_000
    assert j._expiry(us)[1] == f"expire_time {us}: {NOW + 600} in seconds would be right"
    assert j._expiry(0) == (
        ("expire-never",),
        "expire_time 0: the token never expires (run with --allow-never-expires to accept it)",
    )


def test_the_window_is_the_judges():
    j = judge(window=60)
    assert j._expiry(NOW + 60) == (None, None)
    assert j._expiry(NOW + 61)[0] == ("expire-beyond-window",)
    assert j._expiry(NOW + 61)[1].endswith("the window is 60 s")
    assert j._expiry((NOW + 60) * 1000)[0] == ("expire-in-milliseconds",)
    assert j._expiry((NOW + 61) * 1000)[0] == ("expire-beyond-window",)


def test_the_clock_is_read_each_time():
    now = [NOW]
    j = tokens.Judge(Nothing(), clock=lambda: now[0])
    assert j._expiry(NOW + 10) == (None, None)
    now[0] = NOW + 10
    assert j._expiry(NOW + 10)[0] == ("expire-in-past",)


def test_zero_passes_only_when_never_is_allowed():
    assert judge(allow_never=True)._expiry(0) == (None, None)
    assert judge()._expiry(0)[0] == ("expire-never",)


@pytest.mark.parametrize(
    "sent, kind",
    [(NOW + 600.5, "a float"), (str(NOW + 600), "text"), (f"{NOW + 600}.25", "text")],
)
def test_a_non_integer_expiry_as_sent_is_expire_not_integer_whatever_its_value(sent, kind):
    diag, detail = judge()._expiry(NOW + 600, sent)
    assert diag == ("expire-not-integer",)
    assert detail == (
        f"expire_time {sent!r} is {kind}, not an integer; ExpireTime is whole Unix seconds "
        "(an integer in the reply and in the body's expireTime)"
    )


def test_a_long_non_integer_expiry_is_cut_in_the_detail():
    # what was sent is shown in at most 60 characters, the cut marked
    sent = "1" * 100
    detail = judge()._expiry(NOW, sent)[1]
    assert detail.startswith(f"expire_time '{'1' * 58}… is text, not an integer")
    t = "2" * 100
    assert judge()._expiry(t)[1] == f"expire_time '{'2' * 58}… is not an integer of Unix seconds"  # type: ignore[arg-type]


def test_a_text_expiry_given_directly_is_expire_not_integer():
    assert judge()._expiry("123") == (  # type: ignore[arg-type]
        ("expire-not-integer",),
        "expire_time '123' is not an integer of Unix seconds",
    )


# --- _non_integer and _whole ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [1.5, -2.0, 0.0, 2.0**63 - 1024, -(2.0**63) + 1024, "12", " 12 ", "-12", "12.5", "-0.25", "1" * 39],
)
def test_a_float_or_a_text_number_is_a_non_integer_expiry(value):
    assert tokens._non_integer(value) is value


@pytest.mark.parametrize(
    "value",
    [
        12,
        True,
        None,
        float("nan"),
        float("inf"),
        2.0**63,
        -(2.0**63),
        "1" * 40,
        "",
        "12.",
        ".5",
        "1e5",
        "+12",
        "12a",
        "a12",
        "0x10",
        "1.2.3",
        "--1",
        [12],
    ],
)
def test_anything_else_is_not(value):
    assert tokens._non_integer(value) is None


@pytest.mark.parametrize("sent, whole", [(12.9, 12), ("12.9", 12), ("-3.5", -3), ("42", 42), (-0.5, 0)])
def test_a_non_integer_expiry_stands_for_its_whole_seconds(sent, whole):
    assert tokens._whole(sent) == whole and type(tokens._whole(sent)) is int


def test_an_outcome_keeps_a_non_integer_expiry_as_sent_and_its_whole_seconds():
    for where in ("reply", "body"):
        sent = f"{NOW + 600}.75"
        reply = {"seq": 1, "nonce": NONCE, "expire_time": NOW + 600, "signature": "s" * 64}
        if where == "reply":
            reply["expire_time"] = sent
        else:
            del reply["expire_time"]
            reply["body"] = {"expireTime": sent, "nonce": NONCE}
        o = tokens.outcome(A, "r", reply)
        assert o.fault is None, o.fault
        assert (o.expire_time, o.expire_sent) == (NOW + 600, sent)
        if where == "body":
            assert o.body["expireTime"] == NOW + 600


# --- _bounded ---------------------------------------------------------------------------------------


def cut(s: str, limit: int) -> str:
    """What docs/results says of a cut value: its first `limit` characters, then its full length."""
    return f"{s[:limit]}… ({len(s):,} chars)"


def test_each_judged_value_is_cut():
    reply = {name: "abcdefgh" for name in ("nonce", "signature", "string_to_sign")}
    assert tokens._bounded(reply, 5) == dict.fromkeys(reply, cut("abcdefgh", 5))


def test_judged_values_are_cut_past_the_limit_and_kept_up_to_it():
    reply = {"seq": 1, "nonce": "abcdef", "signature": "abcde", "string_to_sign": "abcdefg", "expire_time": 5}
    before = copy.deepcopy(reply)
    out = tokens._bounded(reply, 5)
    assert out == {
        "seq": 1,
        "nonce": cut("abcdef", 5),
        "signature": "abcde",
        "string_to_sign": cut("abcdefg", 5),
        "expire_time": 5,
    }
    assert reply == before  # the reply itself is left as it was


def test_values_that_are_not_text_are_left():
    reply = {"nonce": 123456789, "signature": ["abcdefgh"], "headers": "abcdefgh", "body": "abcdefgh"}
    assert tokens._bounded(reply, 5) == reply


def test_headers_are_cut_in_names_values_and_number():
    long_name = "h" * (wire.TYPE_LIMIT + 1)
    headers = {long_name: "abcdef", "ok": "abcde"}
    headers.update({f"x{i}": "v" for i in range(wire.ITEMS_LIMIT)})
    out = tokens._bounded({"headers": headers}, 5)["headers"]
    assert len(out) == wire.ITEMS_LIMIT
    assert out[cut(long_name, wire.TYPE_LIMIT)] == cut("abcdef", 5)
    assert out["ok"] == "abcde"
    assert f"x{wire.ITEMS_LIMIT - 3}" in out and f"x{wire.ITEMS_LIMIT - 2}" not in out
    assert "h" * wire.TYPE_LIMIT in next(iter(out))


def test_body_values_are_cut():
    body = {"nonce": "abcdef", "n": 7, "inner": {"userId": "abcdefgh"}}
    assert tokens._bounded({"body": body}, 5)["body"] == {
        "nonce": cut("abcdef", 5),
        "n": 7,
        "inner": {"userId": cut("abcdefgh", 5)},
    }


def test_a_refusal_is_cut_to_the_type_and_message_limits():
    e = {"type": "t" * (wire.TYPE_LIMIT + 1), "message": "m" * (wire.MESSAGE_LIMIT + 1), "extra": 1}
    assert tokens._bounded_error(e) == {
        "type": cut(e["type"], wire.TYPE_LIMIT),
        "message": cut(e["message"], wire.MESSAGE_LIMIT),
    }
    kept = {"type": "t" * wire.TYPE_LIMIT, "message": "m" * wire.MESSAGE_LIMIT}
    assert tokens._bounded_error(kept) == kept


def test_a_header_is_found_by_name_in_any_case_first_match():
    assert tokens._header({"X-A": "1", "x-a": "2"}, "x-a") == "1"
    assert tokens._header({"Authorization": "v"}, "authorization") == "v"
    assert tokens._header({"Other": "v"}, "authorization") is None


# --- across, _nonce_of, _failed -----------------------------------------------------------------------


def rec(key: str, nonce, runner="r", checks=None):
    r = {"vector": key, "runner": runner, "verdict": "pass", "token": {"nonce": nonce, "expire_time": 1}}
    r["checks"] = checks if checks is not None else [{"stage": s.value, "verdict": "pass"} for s in tokens.STAGES[:4]]
    return r


def reused(r) -> dict:
    return next(c for c in r["checks"] if c["stage"] == REUSED.value)


def test_nonce_of_a_token_record_is_its_json_text():
    assert tokens._nonce_of(rec("token/x", "abc")) == '"abc"'
    assert tokens._nonce_of(rec("token/x", {"b": 1, "a": [2]})) == '{"a": [2], "b": 1}'
    assert tokens._nonce_of(rec("token/x", None)) == "null"
    assert tokens._nonce_of(rec("sp_user/x", "abc")) is None
    assert tokens._nonce_of(rec("tokens/x", "abc")) is None
    assert tokens._nonce_of({"vector": "token/x", "runner": "r", "verdict": "fail"}) is None
    assert tokens._nonce_of({"vector": "token/x", "runner": "r", "verdict": "pass", "token": {}}) is None


def test_a_nonce_in_an_earlier_part_repeats_per_process_in_the_later_one():
    parts = [("shard 1", [rec("token/a", "N"), rec("token/c", "M")]), ("shard 2", [rec("token/b", "N")])]
    before = copy.deepcopy(parts)
    out = tokens.across(parts)
    assert parts == before
    assert out[0] == parts[0][1]
    (b,) = out[1]
    assert reused(b) == {
        "stage": REUSED.value,
        "verdict": "fail",
        "diagnosis": ["nonce-repeats-per-process"],
        "detail": "nonce 'N' is in shard 1 too (for token/a), made by another process",
    }
    assert (b["verdict"], b["stage"], b["reason"]) == ("fail", REUSED.value, reused(b)["detail"])
    assert [c for c in b["checks"] if c["stage"] != REUSED.value] == [
        c for c in parts[1][1][0]["checks"] if c["stage"] != REUSED.value
    ]


@pytest.mark.parametrize("twice", [0, 1], ids=["in the earlier part", "in the later part"])
def test_a_nonce_used_twice_in_either_part_is_nonce_repeated(twice):
    parts = [("p1", [rec("token/a", "N")]), ("p2", [rec("token/b", "N")])]
    parts[twice][1].append(rec("token/z", "N"))
    out = tokens.across(parts)
    assert all(reused(r)["diagnosis"] == ["nonce-repeated"] for r in out[1])
    assert all(reused(r)["verdict"] == "pass" for r in out[0])


def test_the_first_part_with_the_nonce_is_named():
    parts = [(f"p{i}", [rec(f"token/k{i}", "N"), rec(f"token/o{i}", f"other{i}")]) for i in range(3)]
    out = tokens.across(parts)
    assert reused(out[2][0])["detail"] == "nonce 'N' is in p0 too (for token/k0), made by another process"
    assert reused(out[1][0])["detail"] == "nonce 'N' is in p0 too (for token/k0), made by another process"
    assert [reused(r)["verdict"] for r in (out[0][0], out[0][1], out[1][1], out[2][1])] == ["pass"] * 4


def test_other_runners_and_other_vectors_are_apart():
    parts = [
        ("p1", [rec("token/a", "N", runner="r1"), rec("sp_user/a", "M")]),
        ("p2", [rec("token/b", "N", runner="r2"), rec("sp_user/b", "M"), {"vector": "token/c", "runner": "r1"}]),
    ]
    assert tokens.across(parts) == [p[1] for p in parts]


def test_a_long_nonce_is_cut_in_the_detail_of_across():
    n = "q" * 200
    out = tokens.across([("p1", [rec("token/a", n)]), ("p2", [rec("token/b", n)])])
    detail = reused(out[1][0])["detail"]
    assert detail == f"nonce {repr(n)[:80]} is in p1 too (for token/a), made by another process"


def test_a_nonce_another_parts_processes_made_fails_where_it_is_recorded():
    parts = [("w1", [rec("token/a", "N")]), ("w2", [rec("token/b", "M")]), ("w3", [])]
    made = [{"r": [("X", "token/q")]}, {"r": [("Y", "token/y")]}, {"r": [("N", "token/n3")], "s": [("M", "token/m")]}]
    made[1]["r"] += [("N", "token/n2"), ("N", "token/n2-later")]
    out = tokens.across(parts, made)
    a = reused(out[0][0])
    assert a["diagnosis"] == ["nonce-repeats-per-process"]
    assert a["detail"] == "nonce 'N' is in w2 too (for token/n2), made by another process"  # the first other part
    assert out[1] == parts[1][1]  # M was made by another runner's process


def test_a_nonce_recorded_in_an_earlier_part_is_charged_to_that_part_not_to_one_that_made_it():
    parts = [("w1", [rec("token/a", "N")]), ("w2", [rec("token/b", "N")]), ("w3", [])]
    out = tokens.across(parts, [{}, {}, {"r": [("N", "token/c")]}])
    assert reused(out[1][0]) == {
        "stage": REUSED.value,
        "verdict": "fail",
        "diagnosis": ["nonce-repeats-per-process"],
        "detail": "nonce 'N' is in w1 too (for token/a), made by another process",
    }
    # the first part's record: recorded nowhere earlier, made by w3's processes
    assert reused(out[0][0])["detail"] == "nonce 'N' is in w3 too (for token/c), made by another process"


def test_a_nonce_made_by_the_same_part_only_is_no_failure():
    parts = [("w1", [rec("token/a", "N")]), ("w2", [rec("token/b", "M")])]
    assert tokens.across(parts, [{"r": [("N", "token/a")]}, {"r": [("M", "token/b")]}]) == [p[1] for p in parts]


def test_a_nonce_made_elsewhere_and_recorded_twice_here_is_nonce_repeated():
    parts = [("w1", [rec("token/a", "N"), rec("token/b", "N")]), ("w2", [])]
    out = tokens.across(parts, [{}, {"r": [("N", "token/n")]}])
    assert [reused(r)["diagnosis"] for r in out[0]] == [["nonce-repeated"], ["nonce-repeated"]]


def test_a_structured_nonce_made_elsewhere_matches_its_record():
    parts = [("w1", [rec("token/a", {"a": 2, "b": 1})]), ("w2", [])]
    out = tokens.across(parts, [{}, {"r": [({"b": 1, "a": 2}, "token/n")]}])
    assert reused(out[0][0])["diagnosis"] == ["nonce-repeats-per-process"]


def test_failed_adds_to_an_existing_reuse_check_and_drops_its_excuse():
    r = rec("token/a", "N")
    r["checks"][2] = {
        "stage": REUSED.value,
        "verdict": "known-divergence",
        "diagnosis": ["nonce-repeated"],
        "detail": "before",
        "reason": "listed",
    }
    out = tokens._failed(r, "nonce-repeated", "after")
    assert reused(out) == {
        "stage": REUSED.value,
        "verdict": "fail",
        "diagnosis": ["nonce-repeated"],
        "detail": "before; after",
    }
    out = tokens._failed(r, "nonce-repeats-per-process", "after")
    assert reused(out)["diagnosis"] == ["nonce-repeated", "nonce-repeats-per-process"]
    assert r["checks"][2]["verdict"] == "known-divergence"  # a copy was changed


def test_failed_adds_a_missing_reuse_check_in_stage_order():
    r = rec("token/a", "N", checks=[{"stage": s.value, "verdict": "pass"} for s in reversed(tokens.STAGES)])
    r["checks"] = [c for c in r["checks"] if c["stage"] != REUSED.value]
    out = tokens._failed(r, "nonce-repeated", "d")
    assert [c["stage"] for c in out["checks"]] == [s.value for s in tokens.STAGES]
    assert reused(out) == {"stage": REUSED.value, "verdict": "fail", "diagnosis": ["nonce-repeated"], "detail": "d"}
    bare = {"vector": "token/a", "runner": "r", "verdict": "pass", "token": {"nonce": "N"}}
    out = tokens._failed(bare, "nonce-repeated", "d")
    assert out["checks"] == [{"stage": REUSED.value, "verdict": "fail", "diagnosis": ["nonce-repeated"], "detail": "d"}]
    assert (out["verdict"], out["stage"], out["reason"]) == ("fail", REUSED.value, "d")


def test_failed_keeps_an_earlier_failing_stage_as_the_records():
    r = rec("token/a", "N")
    r["checks"][0] = {"stage": Stage.TOKEN_SIGNATURE.value, "verdict": "fail", "diagnosis": ["x"]}
    r["checks"][3] = {"stage": Stage.TOKEN_EXPIRY.value, "verdict": "fail", "detail": "late"}
    out = tokens._failed(r, "nonce-repeated", "d")
    assert (out["verdict"], out["stage"], out["reason"]) == ("fail", Stage.TOKEN_SIGNATURE.value, "")
    r["checks"][0]["detail"] = "sig"
    assert tokens._failed(r, "nonce-repeated", "d")["reason"] == "sig"


def test_failed_cuts_the_joined_detail_to_500_characters():
    r = rec("token/a", "N")
    r["checks"][2]["detail"] = "a" * 300
    detail = reused(tokens._failed(r, "nonce-repeated", "b" * 300))["detail"]
    assert detail == "a" * 300 + "; " + "b" * 198
    r["checks"][2]["detail"] = ""
    assert reused(tokens._failed(r, "nonce-repeated", "b"))["detail"] == "b"


def test_across_output_is_json_records():
    out = tokens.across([("p1", [rec("token/a", "N")]), ("p2", [rec("token/b", "N")])])
    assert json.loads(json.dumps(out)) == out


# --- outcome, judge, _verdict, _nonce, _header: what was seen, exactly -----------------------------------


def test_a_fault_keeps_the_runners_last_words():
    o = tokens.outcome(A, "r", Fault("crashed", "tail"))
    assert (o.fault, o.stderr_tail, o.nonce) == ("crashed", "tail", None)


def test_a_refusal_is_kept_cut():
    o = tokens.outcome(A, "r", {"seq": 1, "error": {"type": "t" * 150, "message": "m"}})
    assert o.fault is None and o.error == {"type": cut("t" * 150, wire.TYPE_LIMIT), "message": "m"}


def test_a_float_expiry_is_kept_as_sent():
    o = tokens.outcome(A, "r", {"seq": 1, "nonce": NONCE, "expire_time": NOW + 0.5, "signature": "s"})
    assert (o.expire_time, o.expire_sent, o.fault) == (NOW, NOW + 0.5, None)
    assert type(o.expire_time) is int


def test_an_integer_expiry_is_not_marked_as_sent():
    o = tokens.outcome(A, "r", {"seq": 1, "nonce": NONCE, "expire_time": NOW, "signature": "s"})
    assert (o.expire_time, o.expire_sent) == (NOW, None)


def test_the_reply_expiry_wins_over_the_bodys_and_only_it_is_fixed():
    body = {"expireTime": NOW + 9, "nonce": NONCE}
    o = tokens.outcome(A, "r", {"seq": 1, "nonce": NONCE, "expire_time": "12.5", "signature": "s", "body": body})
    assert (o.expire_time, o.expire_sent, o.body) == (12, "12.5", body)


def test_a_reply_with_only_a_header_signature_has_it():
    sig = "ab" * 32
    headers = {"Authorization": f"HMAC-SHA256 signature={sig},access=eA=="}
    o = tokens.outcome(A, "r", {"seq": 1, "nonce": NONCE, "expire_time": NOW, "headers": headers})
    assert (o.signature, o.headers, o.fault) == (sig, headers, None)
    o = tokens.outcome(A, "r", {"seq": 1, "nonce": NONCE, "expire_time": NOW, "headers": {"Other": "v"}})
    assert o.fault == "token reply gives no signature (nor in its body or Authorization header)"


def test_empty_headers_and_an_empty_body_are_still_checked():
    o = TokenOutcome(A, "r", NONCE, NOW + 600, "s" * 64, None, {}, {})
    checks = {c.stage: c for c in judge().judge(o).checks}
    assert checks[Stage.TOKEN_HEADER].diagnosis == ("header-missing",)
    assert checks[Stage.TOKEN_HEADER].detail == "no Authorization header among []"
    assert checks[Stage.TOKEN_BODY].diagnosis == ("body-field-missing", "body-client-type")


def test_extra_failed_checks_are_judged_after_the_tokens_own():
    o = TokenOutcome(A, "r", NONCE, NOW + 600, "s" * 64)
    r = judge().judge(o, ((Stage.TOKEN_BODY, ("seen-elsewhere",), "the caller saw it"),))
    assert [c.stage for c in r.checks] == [*tokens.STAGES[:4], Stage.TOKEN_BODY]
    assert r.checks[-1] == Check(Stage.TOKEN_BODY, Verdict.FAIL, ("seen-elsewhere",), "the caller saw it")
    assert r.judgement.stage is Stage.TOKEN_SIGNATURE  # the first failing check ("s" * 64 is no signature)


class Listed:
    """A listing that names every token as divergent, and excuses nothing."""

    entry = Entry(None, "said to diverge")

    def find(self, v, stage=None, diagnosis=()):
        return self.entry if stage is None else None  # as Expectations.find: no stage, no diagnosis read


def test_a_listed_token_that_passes_is_an_unexpected_pass_with_the_entrys_reason():
    o = TokenOutcome(A, "r", NONCE, NOW + 600, "s" * 64)
    r = judge(Listed())._verdict(o, [Check(s, Verdict.PASS) for s in tokens.STAGES[:4]])
    assert r.judgement == Judgement(Verdict.UNEXPECTED_PASS, reason="said to diverge")
    assert judge()._verdict(o, []).judgement == Judgement(Verdict.PASS)


def test_the_first_excused_check_gives_the_verdict_when_none_fails():
    o = TokenOutcome(A, "r", NONCE, NOW + 600, "s" * 64)
    checks = [
        Check(Stage.TOKEN_NONCE, Verdict.PASS),
        Check(Stage.TOKEN_NONCE_REUSED, Verdict.KNOWN_DIVERGENCE, ("x",), "seen", "first reason"),
        Check(Stage.TOKEN_EXPIRY, Verdict.KNOWN_DIVERGENCE, ("y",), "seen", "second reason"),
    ]
    r = judge()._verdict(o, checks)
    assert r.judgement == Judgement(Verdict.KNOWN_DIVERGENCE, REUSED, "first reason") and r.checks is checks


@pytest.mark.parametrize(
    "n, mistake",
    [
        (0, "nonce-empty"),
        (1, "nonce-too-short"),
        (31, "nonce-too-short"),
        (32, None),
        (64, None),
        (65, "nonce-too-long"),
    ],
)
def test_nonce_lengths(n, mistake):
    diag, detail = tokens.Judge._nonce("x" * n)
    if mistake is None:
        assert (diag, detail) == (None, None)
    else:
        assert diag == (mistake,)
        assert detail == f"a nonce of {n} characters; the documentation asks for 32 to 64"


def header_check(auth: str, app_id="app"):
    request = TokenRequest("a", "f.yaml", 1, "d", "single", app_id, "", "u", "key", ())
    return tokens.Judge._header(TokenOutcome(request, "r", NONCE, NOW, "ab" * 32, None, {"Authorization": auth}))


def test_header_details_cut_long_values():
    long = "HMAC-SHA256 " + "q" * 200
    assert header_check(long) == (
        ("header-malformed",),
        f"Authorization {long[:120]!r} is not HMAC-SHA256 signature=<64 hex digits>,access=<base64(AppID)>",
    )
    access = "Q" * 100
    assert header_check(f"HMAC-SHA256 signature={'ab' * 32},access={access}") == (
        ("header-access-wrong",),
        f"access={'Q' * 80!r}, not 'YXBw'",
    )


def test_a_header_of_the_right_signature_and_access_holds():
    assert header_check(f"HMAC-SHA256 signature={'ab' * 32},access=YXBw") == (None, None)
    assert header_check(f"HMAC-SHA256 signature={'AB' * 32},access=YXBw")[0] == ("header-signature-differs",)

"""fuzz.conforms against the full path it short-cuts: over generated inputs (valid and invalid) and replies
a runner could send, right and wrong, `conforms` says yes only where `stage_of(outcome(...))` finds no
disagreement, and exactly there for the replies it is meant to take (the oracle's reply, a refusal)."""

from __future__ import annotations

import pytest

from appauth_conformance import fuzz
from appauth_conformance.execution.session import outcome

ERR = {"type": "ValueError", "message": "lone surrogate"}


def replies(x):
    """Replies for input x: every key set of a reply, each value right or wrong, and schema breaks."""
    sig = x.signature or "0" * 64
    text = x.string_to_sign
    yield {"seq": 1, "error": ERR}
    yield {"seq": 1, "error": {"type": "E", "message": ""}}
    yield {"seq": 1, "error": ERR, "string_to_sign": text}
    yield {"seq": 1, "error": ERR, "string_to_sign": text + "x"}
    yield {"seq": 1, "error": {"type": 7, "message": "m"}}  # breaks the schema: a fault
    yield {"seq": 1, "error": {"type": "", "message": "m"}}
    yield {"seq": 1, "error": "boom"}
    yield {"seq": 1, "error": ERR, "extra": True}
    yield {"seq": 1, "error": ERR, "signature": sig}
    yield {"seq": 1, "error": None}
    yield {"seq": 1}
    yield {"seq": 1, "string_to_sign": text}
    yield {"seq": 1, "string_to_sign": text, "signature": sig}
    yield {"seq": 1, "string_to_sign": text + "x", "signature": sig}
    yield {"seq": 1, "string_to_sign": text[:-1], "signature": sig}
    yield {"seq": 1, "string_to_sign": None, "signature": sig}
    yield {"seq": 1, "string_to_sign": text, "signature": sig.upper()}
    yield {"seq": 1, "string_to_sign": text, "signature": sig[:-1]}
    yield {"seq": 1, "string_to_sign": text, "signature": None}
    yield {"seq": 1, "string_to_sign": text, "signature": 5}
    yield {"seq": 1, "signature": sig}
    yield {"seq": 1, "signature": sig, "extra": 1}
    yield {"seq": 1, "string_to_sign": text, "signature": sig, "error": ERR}
    yield {"seq": 1, "string_to_sign": text, "signature": sig, "extra": None}
    yield {"seq": 1, "string_to_sign": text, "signature": sig, "nonce": "n"}


@pytest.fixture(scope="module")
def items():
    chunk = fuzz.Inputs(3).chunk(3000)
    invalid = [x for x in chunk if x.signature is None][:40]
    valid = [x for x in chunk if x.signature is not None][:40]
    assert len(invalid) == len(valid) == 40
    return invalid + valid


def test_conforms_says_yes_exactly_where_the_full_path_finds_no_disagreement(items):
    taken = {"refusal": 0, "oracle": 0}
    for x in items:
        for reply in replies(x):
            full = fuzz.stage_of(outcome(x.vector(), "r", reply)) is None
            fast = fuzz.conforms(x, reply)
            if x.signature is None:  # an invalid input: any schema-valid refusal conforms, nothing else
                assert fast == full, (x.request_body, reply)
                taken["refusal"] += fast
            else:  # a valid input: the oracle's reply with its string_to_sign, the one fast case
                meant = set(reply) == {"seq", "string_to_sign", "signature"}
                assert fast == (full and meant), (x.request_body, reply)
                taken["oracle"] += fast
    # per invalid input: the four schema-valid refusals; per valid input: the oracle's reply alone
    assert taken == {"refusal": 4 * 40, "oracle": 40}


def test_a_reply_without_string_to_sign_conforms_by_the_full_path_only(items):
    """Not taken fast (the full path judges it: a signer may leave string_to_sign out)."""
    x = next(x for x in items if x.signature is not None)
    reply = {"seq": 1, "signature": x.signature}
    assert fuzz.stage_of(outcome(x.vector(), "r", reply)) is None
    assert not fuzz.conforms(x, reply)

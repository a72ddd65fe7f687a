"""fuzz/triage.py's parts one by one: the classes of an input, the kind of a fault, the stage of an outcome,
how a group is named and shown, and how Triage groups disagreements (and same_cause, the shrinking test)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from appauth_conformance.core.model import Outcome, Stage
from appauth_conformance.fuzz import triage
from appauth_conformance.fuzz.full_vectors import make_vector

FAULT = triage.FAULT


def vec(app_id="app", user_id="user", nonce="n" * 32, app_key="key", expire_time=1_700_000_000, mode="single"):
    return make_vector(mode, app_id, "", user_id, expire_time, nonce, app_key)


def signed(v, key: str | None = None, text: str | None = None) -> str:
    data = v.string_to_sign if text is None else text
    return hmac.new((v.app_key if key is None else key).encode(), data.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- classes of an input


@pytest.mark.parametrize(
    "t, name",
    [
        (0, "expire-zero"),
        (1, None),
        (1_700_000_000, None),
        (2**31 - 1, None),
        (2**31, "expire-above-int32"),
        (2**32 - 1, "expire-above-int32"),
        (2**32, "expire-above-uint32"),
        (2**53, "expire-above-uint32"),
        (2**53 + 1, "expire-above-2^53"),
        (2**63, "expire-above-2^53"),
    ],
)
def test_expire_class_buckets(t, name):
    assert triage.expire_class(t) == name


@pytest.mark.parametrize(
    "field, value, classes",
    [
        ("app_id", "app", set()),
        ("app_id", "a:b", {"colon"}),
        ("user_id", "a\x01", {"control"}),
        ("nonce", "a\0b", {"nul"}),
        ("app_id", "a b", {"ascii-whitespace"}),
        ("user_id", "a\tb", {"ascii-whitespace"}),
        ("app_id", "a!b", set()),
        ("app_id", "é", {"latin1"}),
        ("app_id", "é:", {"latin1", "colon"}),
        ("user_id", "é\x01\0 ", {"latin1", "control", "nul", "ascii-whitespace"}),
        ("app_id", "\ufdd0", {"noncharacter"}),
        ("app_id", "\u200b", {"zero-width"}),
        ("app_id", "\U0001f600", {"astral"}),
        ("app_id", "中", {"cjk"}),
        ("app_id", "\u05d0", {"rtl"}),
        ("app_id", "a\u0301", {"combining"}),
        ("app_id", "\xa0", {"unicode-space"}),
        ("app_id", "\x85", {"unicode-space"}),  # NEL: a space, not a control character
        ("nonce", "\ud800", {"lone-surrogate"}),
        ("app_key", "k:\u3000", {"colon", "unicode-space"}),
    ],
)
def test_input_classes_of_one_field(field, value, classes):
    v = vec(**{field: value})
    assert triage.input_classes(v) == frozenset(classes)


@pytest.mark.parametrize(
    "key, classes",
    [
        ("", {"empty-key"}),
        ("k" * 64, set()),
        ("k" * 65, {"key-over-block"}),
        ("é" * 32, {"latin1"}),  # 64 bytes of UTF-8: one block
        ("é" * 32 + "k", {"latin1", "key-over-block"}),
    ],
)
def test_input_classes_of_the_key(key, classes):
    assert triage.input_classes(vec(app_key=key)) == frozenset(classes)


def test_a_lone_surrogate_key_is_measured_as_three_bytes():
    # 21 lone surrogates: 63 bytes as WTF-8, with one more byte 64 (one block), with two 65
    lone = "\udc00" * 21
    v = make_vector("single", "app", "", "user", 1_700_000_000, "n", lone + "k")
    assert "key-over-block" not in triage.input_classes(v)
    v = make_vector("single", "app", "", "user", 1_700_000_000, "n", lone + "kk")
    assert "key-over-block" in triage.input_classes(v)


@pytest.mark.parametrize("field", ["app_id", "user_id", "nonce", "app_key"])
def test_input_classes_long_field(field):
    extra = {"key-over-block"} if field == "app_key" else set()
    assert triage.input_classes(vec(**{field: "a" * 1024})) == frozenset(extra)
    assert triage.input_classes(vec(**{field: "a" * 1025})) == frozenset({"long-field"} | extra)


def test_input_classes_with_the_expire_class():
    assert triage.input_classes(vec(expire_time=0)) == {"expire-zero"}
    assert triage.input_classes(vec(app_id=":", expire_time=2**53 + 1)) == {"colon", "expire-above-2^53"}


@pytest.mark.parametrize(
    "ch, name",
    [("a", None), (":", "colon"), ("é", "latin1"), ("\x01", "control"), ("\0", "nul"), ("\ud800", "lone-surrogate"),
     ("\u200b", "zero-width"), (" ", "ascii-whitespace"), ("中", "cjk"), ("\U0001f600", "astral")],
)  # fmt: skip
def test_char_class(ch, name):
    assert triage.char_class(ch) == name


# --------------------------------------------------------------------------- faults, stages, names


@pytest.mark.parametrize(
    "fault, kind",
    [
        ("no response within 10 s", "hang"),
        ("runner gave up: too many faults", "gave-up"),
        ("runner could not start: exit 1", "start"),
        ("response breaks the protocol schema: seq: missing", "protocol"),
        ("response with seq 5 never asked", "protocol"),
        ("response line longer than 1 MB", "protocol"),
        ("not a JSON line (Expecting value)", "protocol"),
        ("stdout is not UTF-8 (invalid start byte)", "protocol"),
        ("runner killed by signal 9", "crash"),
        ("runner exited with status 1", "crash"),
        ("something else", "other"),
        ("the runner exited", "other"),  # a prefix, not anywhere in the text
        ("", "other"),
    ],
)
def test_fault_kind(fault, kind):
    assert triage.fault_kind(fault) == kind


def test_stage_of():
    v = vec()
    assert triage.stage_of(Outcome(v, "r", v.string_to_sign, v.signature)) is None
    assert triage.stage_of(Outcome(v, "r", v.string_to_sign, v.signature, fault="runner exited")) == FAULT
    assert triage.stage_of(Outcome(v, "r", v.string_to_sign, "0" * 64)) == Stage.SIGNATURE.value
    assert triage.stage_of(Outcome(v, "r", v.string_to_sign + "x", "0" * 64)) == Stage.STRING_TO_SIGN.value


def test_total_length_and_input_repr():
    v = make_vector("sp_user", "ab", "c", "d\u00e9", 7, "nn", "k\0")
    assert triage.total_length(v) == 2 + 1 + 2 + 2 + 2
    assert triage.input_repr(v) == (
        "mode=sp_user app_id='ab' corp_id='c' user_id='d\\xe9' expire_time=7 nonce='nn' app_key='k\\x00'"
    )
    long = vec(app_id="a" * 500)
    shown = triage.input_repr(long)
    assert shown == ("mode=single app_id='" + "a" * 500)[:380] + f"... ({triage.total_length(long)} chars)"
    assert triage.total_length(long) == 500 + 4 + 32 + 3
    edge = vec(app_id="a" * 275)  # exactly 400 characters shown whole
    assert len(triage.input_repr(edge)) == 400 and triage.input_repr(edge).endswith("app_key='key'")
    over = vec(app_id="a" * 276)  # 401: cut
    assert triage.input_repr(over).endswith(f"... ({triage.total_length(over)} chars)")


@pytest.mark.parametrize(
    "s, out",
    [("expire-above-2^53", "expire-above-2-53"), ("A_B+c", "a-b-c"), ("", "x"), ("--", "x"), ("^x^", "x")],
)
def test_slug(s, out):
    assert triage.slug(s) == out


def test_a_group_is_named_by_its_cause():
    g = triage.Group("r", "signature", "classes", frozenset())
    assert g.cause == "unexplained:no-special-input" and g.cause_slug == "unexplained-no-special-input"
    g = triage.Group("r", "signature", "classes", frozenset({"nul", "colon"}))
    assert g.cause == "unexplained:colon+nul"
    g = triage.Group("r", "signature", "diagnosis", frozenset({"b", "a"}))
    assert g.cause == "a+b" and g.cause_slug == "a-b"
    assert triage.Group("r", "signature", "diagnosis", frozenset()).cause == ""
    long = triage.Group("r", "signature", "diagnosis", frozenset({"a" * 30, "b" * 30}))
    digest = hashlib.sha256(long.cause.encode()).hexdigest()[:8]
    assert long.cause_slug == "a" * 30 + "-" + "b" * 8 + "-" + digest
    assert len(long.cause_slug) == 48
    edge = triage.Group("r", "signature", "diagnosis", frozenset({"a" * 48}))
    assert edge.cause_slug == "a" * 48  # 48 characters: kept whole
    dash = triage.Group("r", "signature", "diagnosis", frozenset({"a" * 38 + "-" + "b" * 20}))
    assert dash.cause_slug == "a" * 38 + "-" + hashlib.sha256(dash.cause.encode()).hexdigest()[:8]


def test_a_group_keeps_its_smallest_member_and_its_output():
    g = triage.Group("r", "signature", "classes", frozenset())
    big, small, same = vec(app_id="a" * 10), vec(app_id="b"), vec(app_id="c")
    g.add(Outcome(big, "r", big.string_to_sign, "0" * 64))
    assert (g.count, g.example, g.example_size) == (1, big, triage.total_length(big))
    assert g.example_output == {"signature": "0" * 64, "string_to_sign": big.string_to_sign}
    g.add(Outcome(small, "r", None, "1" * 64))
    assert (g.count, g.example, g.example_output) == (2, small, {"signature": "1" * 64})
    g.add(Outcome(same, "r", None, "2" * 64))  # as small: the first one stays
    assert (g.count, g.example) == (3, small)
    assert g.smallest == small
    g.reproducer = same
    assert g.smallest == same


def test_output_of():
    v = vec()
    assert triage.output_of(Outcome(v, "r", "x", "s", fault="f" * 400)) == {"fault": "f" * 300}
    assert triage.output_of(Outcome(v, "r", "x", error={"type": "E", "message": "m"})) == {
        "error": {"type": "E", "message": "m"}
    }
    assert triage.output_of(Outcome(v, "r", "", "s")) == {"signature": "s", "string_to_sign": ""}
    assert triage.output_of(Outcome(v, "r", None, "s")) == {"signature": "s"}


# --------------------------------------------------------------------------- grouping


def upper(v) -> Outcome:
    return Outcome(v, "r", v.string_to_sign, v.signature.upper())


def b64(v) -> Outcome:
    digest = hmac.new(v.app_key.encode(), v.string_to_sign.encode(), hashlib.sha256).digest()
    return Outcome(v, "r", v.string_to_sign, base64.b64encode(digest).decode())


def unexplained(v) -> Outcome:
    return Outcome(v, "r", v.string_to_sign, signed(v, key="another key"))


def add(t: triage.Triage, o: Outcome) -> triage.Group:
    stage = triage.stage_of(o)
    assert stage is not None
    return t.add(o, stage)


def test_faults_group_by_kind():
    t = triage.Triage("r")
    v = vec()
    a = add(t, Outcome(v, "r", fault="no response within 10 s"))
    b = add(t, Outcome(v, "r", fault="no response within 20 s"))
    c = add(t, Outcome(v, "r", fault="runner exited with status 1"))
    assert a is b and a is not c
    assert (a.kind, a.stage, a.causes, a.count, a.runner) == ("fault", FAULT, {"fault:hang"}, 2, "r")
    assert (c.kind, c.causes, c.count) == ("fault", {"fault:crash"}, 1)
    assert t.disagreements == 3 and t.full_diagnoses == 0 and t.groups == [a, c]


def test_refusals_group_by_error_type():
    t = triage.Triage("r")
    v, w = vec(), vec(app_id="other")
    a = add(t, Outcome(v, "r", error={"type": "E", "message": "m"}))
    b = add(t, Outcome(w, "r", error={"type": "E", "message": "other"}))
    c = add(t, Outcome(v, "r", error={"type": "F", "message": "m"}))
    assert a is b and a is not c
    assert (a.kind, a.causes, a.count) == ("refused", {"refused:E"}, 2)
    assert c.causes == {"refused:F"} and a.stage == c.stage != FAULT
    assert t.full_diagnoses == 0


def test_diagnosed_disagreements_group_by_mistake_and_narrow_while_learning():
    t = triage.Triage("r")
    # an ASCII-only key: the same bytes for several key-encoding mistakes; the group narrows to what all share
    a = add(t, upper(vec()))
    assert a.kind == "diagnosis" and "hex-uppercase" in a.causes and a.learned == 1
    assert t.full_diagnoses == 1
    for i in range(5):
        assert add(t, upper(vec(app_id=f"x{i}\u00e9", app_key=f"k{i}"))) is a
    assert a.causes == {"hex-uppercase"} and a.count == 6 and a.learned == 6 and t.full_diagnoses == 6
    other = add(t, b64(vec()))
    assert other is not a and "base64" in other.causes and other.kind == "diagnosis"
    assert len(t.groups) == 2 and t.disagreements == 7


def test_a_group_stops_learning_after_LEARN_members(monkeypatch):
    monkeypatch.setattr(triage.Triage, "LEARN", 2)
    t = triage.Triage("r")
    a = add(t, upper(vec()))
    add(t, upper(vec(app_id="y")))
    assert (a.learned, t.full_diagnoses) == (2, 2)
    add(t, upper(vec(app_id="z")))  # counted by the subset check alone
    assert (a.learned, a.count, t.full_diagnoses) == (2, 3, 2)


def test_unexplained_disagreements_group_by_shared_input_classes():
    t = triage.Triage("r")
    a = add(t, unexplained(vec(app_id="a:b\0")))
    assert (a.kind, a.causes, a.learned) == ("classes", {"colon", "nul"}, 1)
    assert a.cause == "unexplained:colon+nul"
    b = add(t, unexplained(vec(app_id="a:b")))  # shares colon: joins, narrowed to it
    assert b is a and a.causes == {"colon"} and a.learned == 2
    c = add(t, unexplained(vec(app_id="\u00e9")))  # shares nothing: a group of its own
    assert c is not a and c.causes == {"latin1"}
    plain = add(t, unexplained(vec()))
    assert plain.causes == frozenset() and plain not in (a, c)
    assert add(t, unexplained(vec(app_id="b"))) is plain  # no class, like the group
    assert add(t, unexplained(vec(app_id="x:y"))) is a


def test_a_learned_unexplained_group_counts_without_a_diagnosis(monkeypatch):
    monkeypatch.setattr(triage.Triage, "LEARN", 2)
    t = triage.Triage("r")
    a = add(t, unexplained(vec(app_id=":")))
    add(t, unexplained(vec(app_id="a:")))
    assert a.learned == 2 and t.full_diagnoses == 2
    assert add(t, unexplained(vec(app_id="b:\0"))) is a  # its classes include the group's: no diagnosis
    assert t.full_diagnoses == 2 and a.causes == {"colon"} and a.learned == 2
    add(t, unexplained(vec(app_id="\u00e9")))  # no learned group covers it: diagnosed
    assert t.full_diagnoses == 3


def test_an_unexplained_group_with_no_class_does_not_swallow_others(monkeypatch):
    monkeypatch.setattr(triage.Triage, "LEARN", 1)
    t = triage.Triage("r")
    plain = add(t, unexplained(vec()))
    assert plain.learned == 1 and plain.causes == frozenset()
    other = add(t, unexplained(vec(app_id=":")))
    assert other is not plain and other.causes == {"colon"}


def test_groups_past_MAX_GROUPS_go_to_one_overflow_group(monkeypatch):
    monkeypatch.setattr(triage.Triage, "MAX_GROUPS", 2)
    t = triage.Triage("r")
    v = vec()
    a = add(t, Outcome(v, "r", error={"type": "A", "message": ""}))
    b = add(t, Outcome(v, "r", error={"type": "B", "message": ""}))
    c = add(t, Outcome(v, "r", error={"type": "C", "message": ""}))
    d = add(t, Outcome(v, "r", fault="runner exited"))
    assert len({id(a), id(b), id(c)}) == 3 and c is d
    assert (c.kind, c.causes, c.stage, c.count) == ("overflow", {"more-groups-than-kept"}, "various", 2)
    assert t.groups == [a, b, c]
    assert add(t, Outcome(v, "r", error={"type": "A", "message": ""})) is a


def test_a_fault_and_a_refusal_group_apart_from_other_stages():
    t = triage.Triage("r")
    v = vec()
    g = add(t, Outcome(v, "r", error={"type": "E", "message": ""}))
    # the same key at another stage is another group
    h = t.add(Outcome(v, "r", error={"type": "E", "message": ""}), Stage.STRING_TO_SIGN.value)
    assert g is not h and h.stage == Stage.STRING_TO_SIGN.value and g.stage != h.stage


def test_the_most_frequent_diagnosis_group_is_checked_first(monkeypatch):
    """Fewer checks per disagreement: a group that overtakes the one before it moves ahead of it."""
    t = triage.Triage("r")
    a = add(t, upper(vec()))
    b = add(t, b64(vec()))
    assert a is not b
    checked = []
    real = triage.explained_by_subset
    monkeypatch.setattr(triage, "explained_by_subset", lambda ids, *rest: checked.append(set(ids)) or real(ids, *rest))
    order = []
    for app_id, make, group in [("q", b64, b), ("s", b64, b), ("t", b64, b), ("u", upper, a), ("w", upper, a),
                                ("x", upper, a), ("y", upper, a), ("z", upper, a), ("v", upper, a)]:  # fmt: skip
        checked.clear()
        assert add(t, make(vec(app_id=app_id))) is group
        order.append("".join("a" if c == a.causes else "b" for c in checked))
    # b overtakes a (1 member) at its 3rd and is checked first from then on; a overtakes b (4) at its 6th
    assert order == ["ab", "ab", "b", "ba", "ba", "ba", "ba", "ba", "a"]
    assert (a.count, b.count) == (7, 4)


# --------------------------------------------------------------------------- same_cause (shrinking)


def test_same_cause_of_a_fault_group():
    t = triage.Triage("r")
    v = vec()
    g = add(t, Outcome(v, "r", fault="no response within 10 s"))
    assert t.same_cause(g, Outcome(v, "r", fault="no response within 1 s"))
    assert not t.same_cause(g, Outcome(v, "r", fault="runner exited"))
    assert not t.same_cause(g, Outcome(v, "r", v.string_to_sign, v.signature))
    assert not t.same_cause(g, upper(v))


def test_same_cause_of_a_refusal_group():
    t = triage.Triage("r")
    v = vec()
    g = add(t, Outcome(v, "r", error={"type": "E", "message": ""}))
    assert t.same_cause(g, Outcome(vec(app_id="z"), "r", error={"type": "E", "message": "x"}))
    assert not t.same_cause(g, Outcome(v, "r", error={"type": "F", "message": ""}))
    assert not t.same_cause(g, Outcome(v, "r", v.string_to_sign, v.signature))
    assert not t.same_cause(g, Outcome(v, "r", fault="runner exited"))


def test_same_cause_of_a_diagnosis_group():
    t = triage.Triage("r")
    g = add(t, upper(vec()))
    assert t.same_cause(g, upper(vec(app_id="other")))
    assert not t.same_cause(g, b64(vec()))
    assert not t.same_cause(g, Outcome(vec(), "r", vec().string_to_sign, vec().signature))
    wrong_text = vec()
    assert not t.same_cause(g, Outcome(wrong_text, "r", wrong_text.string_to_sign + "x", wrong_text.signature.upper()))
    refusal = Outcome(vec(), "r", error={"type": "E", "message": ""})
    g.stage = triage.stage_of(refusal)
    assert not t.same_cause(g, refusal)


def test_same_cause_of_an_unexplained_group():
    t = triage.Triage("r")
    g = add(t, unexplained(vec(app_id="a:\0")))
    assert t.same_cause(g, unexplained(vec(app_id=":")))  # still unexplained, one of its classes left
    assert not t.same_cause(g, unexplained(vec()))  # none of its classes left
    assert not t.same_cause(g, upper(vec(app_id=":")))  # explained now
    plain = triage.Triage("r")
    h = add(plain, unexplained(vec()))
    assert plain.same_cause(h, unexplained(vec(app_id="b")))
    assert plain.same_cause(h, unexplained(vec(app_id=":")))  # a group without classes takes any input


def test_same_cause_of_an_overflow_group_is_any_disagreement_at_its_stage():
    t = triage.Triage("r")
    v = vec()
    g = triage.Group("r", Stage.SIGNATURE.value, "overflow", frozenset({"more-groups-than-kept"}))
    assert t.same_cause(g, upper(v))
    assert not t.same_cause(g, Outcome(v, "r", error={"type": "E", "message": ""}))


# --------------------------------------------------------------------------- what the runner says it signed


def nul_cut(v) -> Outcome:
    """A runner that says it signed the text cut at its NUL, and signs something else: only its
    string_to_sign explains it (the signature alone explains nothing)."""
    return Outcome(v, "r", v.string_to_sign.split("\0")[0], "0" * 64)


def java(v) -> Outcome:
    """Lone surrogates (and whatever is not UTF-8) replaced by '?' before signing, as Java's getBytes does."""
    data, key = v.string_to_sign.encode("utf-8", "replace"), v.app_key.encode("utf-8", "replace")
    return Outcome(v, "r", v.string_to_sign, hmac.new(key, data, hashlib.sha256).hexdigest())


def test_a_disagreement_is_diagnosed_by_the_string_to_sign_it_shows():
    t = triage.Triage("r")
    g = add(t, nul_cut(vec(user_id="us\0er")))
    assert (g.kind, g.stage, g.causes) == ("diagnosis", Stage.STRING_TO_SIGN.value, {"nul-truncates-data"})
    assert add(t, nul_cut(vec(app_id="x", user_id="\0y"))) is g  # explained by the group's subset check
    assert g.causes == {"nul-truncates-data"} and g.count == 2 and len(t.groups) == 1
    assert t.same_cause(g, nul_cut(vec(user_id="a\0")))
    assert not t.same_cause(g, unexplained(vec(user_id="a\0")))


def test_an_unexplained_group_does_not_take_an_explained_disagreement():
    t = triage.Triage("r")
    g = add(t, Outcome(vec(user_id="a\0"), "r", "something else", "0" * 64))  # a text no mistake makes
    assert (g.kind, g.stage, g.causes) == ("classes", Stage.STRING_TO_SIGN.value, {"nul"})
    assert t.same_cause(g, Outcome(vec(user_id="\0"), "r", "another text", "1" * 64))
    assert not t.same_cause(g, nul_cut(vec(user_id="a\0")))  # at its stage, with its class, but explained


def test_a_diagnosis_group_narrows_to_the_mistakes_every_member_shares():
    """ASCII-only text with a lone surrogate: Latin-1, ASCII, cp1252 with replacement and '?' for surrogates
    all give the same bytes; a member with an é tells them apart."""
    t = triage.Triage("r")
    g = add(t, java(vec(user_id="a\ud800")))
    assert g.causes == {"ascii-replace", "cp1252-replace", "latin1-replace", "surrogate-question-mark"}
    assert add(t, java(vec(user_id="\xe9\ud800"))) is g
    assert g.causes == {"surrogate-question-mark"} and g.learned == 2


def test_a_diagnosis_group_after_an_unexplained_one_at_its_stage_is_still_found():
    t = triage.Triage("r")
    c = add(t, unexplained(vec()))
    d = add(t, upper(vec()))
    assert c.stage == d.stage and c is not d
    assert add(t, upper(vec(app_id="o"))) is d and len(t.groups) == 2


def test_a_learned_unexplained_group_takes_exactly_its_classes_without_a_diagnosis(monkeypatch):
    monkeypatch.setattr(triage.Triage, "LEARN", 2)
    t = triage.Triage("r")
    a = add(t, unexplained(vec(app_id=":")))
    add(t, unexplained(vec(app_id="a:")))
    assert add(t, unexplained(vec(app_id="b:"))) is a  # the same classes: counted without a diagnosis
    assert t.full_diagnoses == 2


def test_a_learned_unexplained_group_stops_narrowing(monkeypatch):
    monkeypatch.setattr(triage.Triage, "LEARN", 2)
    t = triage.Triage("r")
    a = add(t, unexplained(vec(app_id=":\0")))
    add(t, unexplained(vec(app_id="a:\0")))
    assert (a.causes, a.learned) == ({"colon", "nul"}, 2)
    assert add(t, unexplained(vec(app_id="b:"))) is a  # shares colon only: joins, no longer narrowed
    assert (a.causes, a.learned) == ({"colon", "nul"}, 2)
    plain = triage.Triage("r")
    p = add(plain, unexplained(vec()))
    add(plain, unexplained(vec(app_id="b")))
    assert add(plain, unexplained(vec(app_id="c"))) is p and p.learned == 2

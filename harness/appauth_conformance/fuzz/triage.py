"""Triage: group one runner's disagreements by cause, keeping a count and the smallest example.

Causes (see `Group.cause`, docs/fuzzing.md):

* ``diagnosis`` groups: the runner's output is explained by known implementation
  mistakes (`appauth_conformance.judging.diagnosis`). The group keeps the set of mistake ids that
  explain *every* member it diagnosed (the intersection), so coincidences of one
  input (an ASCII-only input makes "latin1-replace" and "surrogate-question-mark"
  the same bytes) fall away as members with other inputs arrive.
* ``classes`` groups: nothing in the catalogue explains the output; the cause is
  the set of input character classes (`input_classes`), intersected the same way
  ("expire-above-2^53" for the JS int64 precision loss).
* ``refused`` groups: a refusal where the vector is valid, by error type
  ("refused:IllegalArgumentException" for Java's empty key).
* ``fault`` groups: crash, hang or protocol violation, by kind (`fault_kind`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from appauth_conformance.core import scheme
from appauth_conformance.core.model import Outcome, Vector
from appauth_conformance.fuzz.edges import CHARSETS, FIELDS
from appauth_conformance.judging import diagnosis
from appauth_conformance.judging.verdicts import conformance

FAULT = "runner-fault"  # the stage name used for runner faults in groups and summaries

# ---------------------------------------------------------------------------------------------
# Input classes (triage of unexplained disagreements; field-less names so groups stay few).

CLASS_PATTERNS = {
    name: re.compile("[" + re.escape(CHARSETS[name]) + "]")
    for name in ("colon", "latin1", "control", "noncharacter", "nul", "zero-width")
}
CLASS_PATTERNS.update(
    {
        "lone-surrogate": re.compile("[\ud800-\udfff]"),  # pairs are one character in a Python str
        "astral": re.compile("[\U00010000-\U0010ffff]"),
        "cjk": re.compile("[\u3400-\u9fff\uac00-\ud7a3\U00020000-\U0002fa1f]"),
        "rtl": re.compile("[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]"),
        "combining": re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u20d0-\u20ff\ufe00-\ufe0f]"),
        "unicode-space": re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"),
        "ascii-whitespace": re.compile("[\t\n\r\x0b\x0c ]"),
    }
)
LONG_FIELD = 1024


def expire_class(t: int) -> str | None:
    """One bucket per expire time (exclusive, so a group never carries nested names)."""
    if t == 0:
        return "expire-zero"
    if t < 2**31:
        return None  # an ordinary expire time
    if t < 2**32:
        return "expire-above-int32"
    if t <= 2**53:
        return "expire-above-uint32"
    return "expire-above-2^53"


def input_classes(v: Vector) -> frozenset[str]:
    """The character classes (and size/expire classes) of an input, without field names."""
    out = set()
    joined = "".join(getattr(v, f) for f in FIELDS)  # classes are per character: one scan for all fields
    if not joined.isascii():
        for name, rx in CLASS_PATTERNS.items():
            if rx.search(joined):
                out.add(name)
    else:
        for name in ("colon", "control", "nul", "ascii-whitespace"):
            if CLASS_PATTERNS[name].search(joined):
                out.add(name)
    if v.app_key == "":
        out.add("empty-key")
    elif len(v.app_key.encode("utf-8", "surrogatepass")) > 64:
        out.add("key-over-block")
    if any(len(getattr(v, f)) > LONG_FIELD for f in FIELDS):
        out.add("long-field")
    e = expire_class(v.expire_time)
    if e:
        out.add(e)
    return frozenset(out)


def char_class(ch: str) -> str | None:
    """The first input class (CLASS_PATTERNS) one character belongs to; None for plain ASCII."""
    for name, rx in CLASS_PATTERNS.items():
        if rx.match(ch):
            return name
    return None


# ---------------------------------------------------------------------------------------------
# Diagnosis restricted to a few mistakes (the hot path of triage).


def explained_by_subset(
    ids: Iterable[str],
    fields: scheme.Fields,
    app_key: str,
    string_to_sign: str | None,
    signature: str | None,
    expected: Vector | None = None,
) -> frozenset[str]:
    """The ids of `ids` that diagnosis.diagnose() would return (diagnosis restricted to a few entries)."""
    oracle = (expected.string_to_sign, expected.signature) if expected is not None else None
    found = diagnosis.diagnose(fields, app_key, string_to_sign, signature, only=frozenset(ids), oracle=oracle)
    return frozenset(m.id for m in found)


def full_diagnosis(
    fields: scheme.Fields, app_key: str, string_to_sign: str | None, signature: str | None
) -> frozenset[str]:
    return frozenset(m.id for m in diagnosis.diagnose(fields, app_key, string_to_sign, signature))


# ---------------------------------------------------------------------------------------------
# Triage.


def stage_of(o: Outcome) -> str | None:
    """None when the outcome conforms to its vector; else the stage name (FAULT for runner faults)."""
    if o.fault is not None:
        return FAULT
    st = conformance(o)
    return None if st is None else st.value


# (start of a session's fault message, the kind a fault group is named after: fault:<kind>)
FAULT_KINDS = (
    ("no response within", "hang"),
    ("runner gave up", "gave-up"),
    ("runner could not start", "start"),
    ("response breaks the protocol schema", "protocol"),
    ("response with", "protocol"),
    ("response line longer", "protocol"),
    ("not a JSON line", "protocol"),
    ("stdout is not UTF-8", "protocol"),
    ("runner killed", "crash"),
    ("runner exited", "crash"),
)


def fault_kind(fault: str) -> str:
    for prefix, kind in FAULT_KINDS:
        if fault.startswith(prefix):
            return kind
    return "other"


def total_length(v: Vector) -> int:
    return len(v.app_id) + len(v.corp_id) + len(v.user_id) + len(v.nonce) + len(v.app_key)


def slug(s: str) -> str:
    s = s.replace("^", "-").lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-") or "x"


def input_repr(v: Vector) -> str:
    """A compact, ASCII-only, copy-pasteable description of the inputs."""
    parts = [f"mode={v.mode}"]
    for f in ("app_id", "corp_id", "user_id"):
        parts.append(f"{f}={getattr(v, f)!a}")
    parts.append(f"expire_time={v.expire_time}")
    parts += [f"nonce={v.nonce!a}", f"app_key={v.app_key!a}"]
    s = " ".join(parts)
    return s if len(s) <= 400 else s[:380] + f"... ({total_length(v)} chars)"


@dataclass
class Group:
    """Disagreements of one runner with one cause."""

    runner: str
    stage: str  # a verdicts.Stage value, or FAULT
    kind: str  # diagnosis | classes | refused | fault | overflow
    causes: frozenset[str]
    count: int = 0
    example: Vector | None = None  # the smallest member seen (by total text length)
    example_size: int = 1 << 62
    example_output: dict = field(default_factory=dict)
    learned: int = 0  # members fully diagnosed (the cause set narrows only while learning)
    reproducer: Vector | None = None  # the shrunk example
    reproducer_output: dict = field(default_factory=dict)
    shrink_tries: int = 0
    shrink_seconds: float = 0.0
    known: str | None = None  # the known-divergence entry covering the reproducer (its label), if any
    saved: str | None = None

    @property
    def cause(self) -> str:
        names = "+".join(sorted(self.causes))
        if self.kind == "classes":
            return "unexplained:" + (names or "no-special-input")
        return names

    @property
    def cause_slug(self) -> str:
        s = slug(self.cause)
        if len(s) > 48:
            s = s[:39].rstrip("-") + "-" + hashlib.sha256(self.cause.encode()).hexdigest()[:8]
        return s

    @property
    def smallest(self) -> Vector | None:
        return self.reproducer or self.example

    def add(self, o: Outcome) -> None:
        self.count += 1
        size = total_length(o.vector)
        if size < self.example_size:
            self.example, self.example_size, self.example_output = o.vector, size, output_of(o)


def output_of(o: Outcome) -> dict:
    if o.fault is not None:
        return {"fault": o.fault[:300]}
    if o.error is not None:
        return {"error": o.error}
    out = {"signature": o.signature}
    if o.string_to_sign is not None:
        out["string_to_sign"] = o.string_to_sign
    return out


class Triage:
    """Groups one runner's disagreements by cause. Used by one thread only (the runner's)."""

    LEARN = 32  # members per group fully diagnosed (narrowing the cause); afterwards exact subset checks
    MAX_GROUPS = 64

    def __init__(self, runner: str):
        self.runner = runner
        self.groups: list[Group] = []
        self.disagreements = 0
        self.full_diagnoses = 0
        self._by_stage: dict[str, list[Group]] = {}  # stage -> its groups, most frequent first (roughly)

    def add(self, o: Outcome, stage: str) -> Group:
        self.disagreements += 1
        g = self.classify(o, stage)
        g.add(o)
        return g

    def _new(self, stage: str, kind: str, causes) -> Group:
        if len(self.groups) >= self.MAX_GROUPS:
            for g in self.groups:
                if g.kind == "overflow":
                    return g
            kind, causes, stage = "overflow", frozenset({"more-groups-than-kept"}), "various"
        g = Group(self.runner, stage, kind, frozenset(causes))
        self.groups.append(g)
        self._by_stage.setdefault(stage, []).append(g)
        return g

    def classify(self, o: Outcome, stage: str) -> Group:
        if stage == FAULT:
            assert o.fault is not None  # the stage of a fault
            key = frozenset({"fault:" + fault_kind(o.fault)})
            return self._find(stage, "fault", key) or self._new(stage, "fault", key)
        if o.error is not None:
            key = frozenset({"refused:" + str(o.error.get("type"))})
            return self._find(stage, "refused", key) or self._new(stage, "refused", key)
        v = o.vector
        fields = None
        same_stage = self._by_stage.setdefault(stage, [])
        for i, g in enumerate(same_stage):
            if g.kind != "diagnosis":
                continue
            if fields is None:
                fields = v.fields
            hit = explained_by_subset(g.causes, fields, v.app_key, o.string_to_sign, o.signature, v)
            if hit:
                if g.learned < self.LEARN:  # narrowed to what a whole diagnosis of this member also says
                    g.learned += 1
                    self.full_diagnoses += 1
                    g.causes = diagnosis.explained_among(g.causes, fields, v.app_key, o.string_to_sign, o.signature)
                if i and same_stage[i - 1].count < g.count:  # keep the most frequent groups first: fewer checks
                    same_stage[i - 1], same_stage[i] = g, same_stage[i - 1]
                return g
        classes = input_classes(v)
        for g in same_stage:  # unexplained groups that finished learning: counted without a diagnosis
            if g.kind == "classes" and g.learned >= self.LEARN and g.causes and g.causes <= classes:
                return g
        self.full_diagnoses += 1
        found = full_diagnosis(v.fields, v.app_key, o.string_to_sign, o.signature)
        if found:
            g = self._new(stage, "diagnosis", found)
            g.learned = 1
            return g
        for g in same_stage:
            if g.kind == "classes" and (g.causes & classes or (not g.causes and not classes)):
                if g.learned < self.LEARN:
                    g.learned += 1
                    g.causes = g.causes & classes
                return g
        g = self._new(stage, "classes", classes)
        g.learned = 1
        return g

    def _find(self, stage, kind, key) -> Group | None:
        for g in self.groups:
            if g.kind == kind and g.stage == stage and g.causes == key:
                return g
        return None

    def same_cause(self, g: Group, o: Outcome) -> bool:
        """Does this outcome show group g's disagreement? (the shrinking predicate)"""
        stage = stage_of(o)
        if g.kind == "fault":
            return stage == FAULT and o.fault is not None and g.causes == {"fault:" + fault_kind(o.fault)}
        if stage != g.stage:
            return False
        if g.kind == "refused":
            return o.error is not None and g.causes == {"refused:" + str(o.error.get("type"))}
        if o.error is not None:
            return False
        v = o.vector
        if g.kind == "diagnosis":
            return bool(explained_by_subset(g.causes, v.fields, v.app_key, o.string_to_sign, o.signature))
        if g.kind == "classes":
            # still unexplained, with at least one of the group's classes left: shrinking may drop the
            # classes that do not matter (the group keeps only those its reproducer still has)
            if g.causes and not g.causes & input_classes(v):
                return False
            return not full_diagnosis(v.fields, v.app_key, o.string_to_sign, o.signature)
        return True

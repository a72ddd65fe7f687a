"""Shrink: simplify a group's example through the runner's live session while it keeps the group's cause.

Candidates come biggest simplification first (docs/fuzzing.md, "Shrinking"); every
accepted step makes `shrink_key` strictly smaller, so shrinking always ends, and it
is bounded by tries and seconds besides.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from appauth_conformance.core.model import Outcome, Vector
from appauth_conformance.execution.session import Session
from appauth_conformance.fuzz.edges import FIELDS
from appauth_conformance.fuzz.full_vectors import replace_inputs
from appauth_conformance.fuzz.triage import Group, Triage, char_class, input_classes, output_of, total_length

MODE_ORDER = ("sp_admin", "single", "sp_corp_admin", "sp_user")  # simplest (fewest fields) first
SIMPLE_EXPIRES = (0, 1, 10, 1_600_000_000, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**53 + 1, 2**62, 2**63 - 1)
_REPRESENTATIVE = {
    "lone-surrogate": "\ud800",
    "astral": "\U00010000",
    "cjk": "\u4e00",
    "latin1": "\xa1",
    "control": "\x01",
    "zero-width": "\u200b",
    "combining": "\u0300",
    "rtl": "\u05d0",
    "unicode-space": "\xa0",
    "noncharacter": "\ufffd",
    "colon": ":",
    "ascii-whitespace": "\t",
}


def _cx(ch: str) -> int:
    """How complex a character is ('a' < '0' < ' ' < everything else by code point)."""
    return {"a": 0, "0": 1, " ": 2}.get(ch, 3 + ord(ch))


def shrink_key(v: Vector) -> tuple:
    """Every accepted shrinking step makes this strictly smaller, so shrinking terminates."""
    return (
        total_length(v),
        sum(_cx(ch) for f in FIELDS for ch in getattr(v, f)),
        MODE_ORDER.index(v.mode),
        v.expire_time,
    )


def candidates(v: Vector) -> Iterator[Vector]:
    """Simpler variants of v, biggest simplifications first."""
    for m in MODE_ORDER[: MODE_ORDER.index(v.mode)]:
        yield replace_inputs(v, mode=m)
    for f in FIELDS:
        if getattr(v, f):
            yield replace_inputs(v, **{f: ""})
    for f in FIELDS:  # chunk deletions, halves first
        s = getattr(v, f)
        n = len(s) // 2
        while n >= 1:
            for i in range(0, len(s), n):
                yield replace_inputs(v, **{f: s[:i] + s[i + n :]})
            n //= 2
    for e in SIMPLE_EXPIRES:
        if e < v.expire_time:
            yield replace_inputs(v, expire_time=e)
    for f in FIELDS:  # runs of simpler characters, halves first (a long field that must keep its length)
        s = getattr(v, f)
        n = len(s) // 2
        while n >= 2:
            for i in range(0, len(s), n):
                if s[i : i + n].strip("a"):
                    yield replace_inputs(v, **{f: s[:i] + "a" * len(s[i : i + n]) + s[i + n :]})
            n //= 2
    for f in FIELDS:  # simpler characters: 'a', '0', ' ', or a simpler one of the same class
        s = getattr(v, f)
        for i, ch in enumerate(s):
            reps = ["a", "0", " "]
            cls = char_class(ch)
            if cls in _REPRESENTATIVE:
                reps.append(_REPRESENTATIVE[cls])
            for rep in reps:
                if _cx(rep) < _cx(ch):
                    yield replace_inputs(v, **{f: s[:i] + rep + s[i + 1 :]})


class Shrinker:
    """Shrinks a group's example through a live session, in small batches."""

    def __init__(
        self, session: Session, triage: Triage, batch: int = 32, max_tries: int = 4000, max_seconds: float = 30.0
    ):
        self.session, self.triage = session, triage
        self.batch, self.max_tries, self.max_seconds = batch, max_tries, max_seconds

    def _run(self, vs: list[Vector]) -> dict[int, Outcome]:
        return {id(o.vector): o for o in self.session.run(vs)}

    def shrink(self, g: Group) -> Vector:
        t0 = time.monotonic()
        best = g.example
        assert best is not None  # groups without an example are not shrunk (Fuzzer.shrink_all)
        out = {}
        # the example as a plain vector (re-run: the runner must still show the disagreement)
        start = replace_inputs(best)
        first = self._run([start]).get(id(start))
        tries = 1
        if first is None or not self.triage.same_cause(g, first):
            g.reproducer, g.reproducer_output, g.shrink_tries = best, g.example_output, tries
            g.shrink_seconds = time.monotonic() - t0
            return best  # not reproducible in isolation (flaky runner): keep the example
        best, out = start, output_of(first)
        seen: set = set()
        progress = True
        while progress and tries < self.max_tries and time.monotonic() - t0 < self.max_seconds:
            progress = False
            key = shrink_key(best)
            gen = candidates(best)
            while tries < self.max_tries and time.monotonic() - t0 < self.max_seconds:
                batch = []
                for c in gen:
                    sig = (c.mode, c.app_id, c.corp_id, c.user_id, c.expire_time, c.nonce, c.app_key)
                    if sig in seen or shrink_key(c) >= key:
                        continue
                    seen.add(sig)
                    batch.append(c)
                    if len(batch) >= self.batch:
                        break
                if not batch:
                    break
                tries += len(batch)
                outs = self._run(batch)
                hit = next((c for c in batch if id(c) in outs and self.triage.same_cause(g, outs[id(c)])), None)
                if hit is not None:
                    best, out, progress = hit, output_of(outs[id(hit)]), True
                    break
        g.reproducer, g.reproducer_output, g.shrink_tries = best, out, tries
        g.shrink_seconds = time.monotonic() - t0
        if g.kind == "classes" and g.causes:
            g.causes = g.causes & input_classes(best)  # the classes the minimal reproducer still needs
        return best

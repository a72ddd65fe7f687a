"""core/text.encode's repeat notation finds the first longest run of one character (over LONG // 2)
as a plain regex scan does, on strings built to put runs at and around the positions it samples."""

from __future__ import annotations

import random
import re

from appauth_conformance.core import text

HALF = text.LONG // 2
ORACLE = re.compile(r"(.)\1{%d,}" % HALF, re.S)  # every maximal run longer than HALF, left to right


def oracle(s: str) -> text.Notation:
    """What encode must give: the first longest run as a repeat, when s is long and has one."""
    runs = [m.span() for m in ORACLE.finditer(s)]
    if len(s) <= text.LONG or not runs:
        return s
    start, end = max(runs, key=lambda r: r[1] - r[0])
    parts = {"prefix": s[:start], "repeat": s[start], "count": end - start, "suffix": s[end:]}
    return {k: v for k, v in parts.items() if v != ""}


def test_the_repeat_notation_agrees_with_a_regex_scan():
    rng = random.Random(22)
    lengths = [1, 2, HALF - 1, HALF, HALF + 1, HALF + 2, 2 * HALF - 1, 2 * HALF, 2 * HALF + 1, 3 * HALF + 7]
    for _ in range(400):
        pieces = [rng.choice("ab\U0001f600\n") * rng.choice(lengths) for _ in range(rng.randint(1, 6))]
        s = "".join(pieces)
        assert text.encode(s) == oracle(s), [len(p) for p in pieces]


def test_a_long_run_is_written_as_a_repeat_and_read_back():
    s = "user-" + "u" * 1_000_000 + "-end"
    enc = text.encode(s)
    assert enc == {"prefix": "user-", "repeat": "u", "count": 1_000_000, "suffix": "-end"}
    assert text.decode(enc) == s

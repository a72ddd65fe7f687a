"""The portable text notation of vector files.

YAML loaders disagree on text with no UTF-8 form: libyaml (PyYAML's C loader)
refuses a "\\ud800" escape that the pure-Python loader accepts. So such values,
and values too long to write out, use an explicit mapping every loader reads
the same way:

    {utf16: "D800 0061"}                             UTF-16 code units in hex
    {prefix: "a:", repeat: "u", count: 1048576, suffix: ":1"}   long values

Everything else is a plain YAML string.
"""

from __future__ import annotations

import re
from typing import Required, TypedDict, final

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
LONG = 4096  # longer values are written with the repeat notation when they have a long run


@final  # the notations are closed (the vector schema says so): `"utf16" in value` tells them apart
class Utf16(TypedDict):
    utf16: str  # UTF-16 code units in hex, space-separated


@final
class Repeat(TypedDict, total=False):
    prefix: str
    repeat: Required[str]
    count: Required[int]
    suffix: str


Notation = str | Utf16 | Repeat  # a text value as a vector file writes it


def decode(value: Notation) -> str:
    """A notation value from a loaded YAML/JSON document to a Python str."""
    if isinstance(value, str):
        return value
    if "utf16" in value:
        units = bytes.fromhex(value["utf16"].replace(" ", ""))
        return units.decode("utf-16-be", "surrogatepass")
    return value.get("prefix", "") + value["repeat"] * value["count"] + value.get("suffix", "")


def has_lone_surrogate(s: str) -> bool:
    return _LONE_SURROGATE.search(s) is not None


def utf16_units(s: str) -> str:
    """Space-separated upper-case hex UTF-16 code units of s."""
    raw = s.encode("utf-16-be", "surrogatepass")
    return " ".join(raw[i : i + 2].hex().upper() for i in range(0, len(raw), 2))


def encode(s: str) -> Notation:
    """The notation for s: utf16 if it has no UTF-8 form, repeat if long, else s itself."""
    if has_lone_surrogate(s):
        return {"utf16": utf16_units(s)}
    if len(s) > LONG:
        run = _longest_run(s)
        if run:
            start, end = run
            out: Repeat = {"prefix": s[:start], "repeat": s[start], "count": end - start, "suffix": s[end:]}
            if not out["prefix"]:
                del out["prefix"]
            if not out["suffix"]:
                del out["suffix"]
            return out
    return s


def _longest_run(s: str) -> tuple[int, int] | None:
    """(start, end) of the first longest run of one character longer than LONG // 2, or None.

    Such a run covers a multiple of LONG // 2, so only those positions are looked at, and each run is
    measured with C-speed string operations (a backreference regex takes ~0.2 s on a 1 MB run)."""
    step = LONG // 2
    best: tuple[int, int] | None = None
    end = 0  # where the last run measured ends: a position before it is inside that run
    for p in range(0, len(s), step):
        if p < end:
            continue
        c = s[p]
        lo = max(0, p - step)  # a run reaching further back would cover the previous position, already measured
        start = lo + len(s[lo:p].rstrip(c))
        end = p + _run_length(s, p, c)
        if end - start > step and (best is None or end - start > best[1] - best[0]):
            best = (start, end)
    return best


def _run_length(s: str, at: int, c: str) -> int:
    """How many times c repeats from s[at] on: a binary search over startswith (no per-character loop)."""
    lo, hi = 1, len(s) - at  # s[at] == c: at least 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if s.startswith(c * mid, at):
            lo = mid
        else:
            hi = mid - 1
    return lo

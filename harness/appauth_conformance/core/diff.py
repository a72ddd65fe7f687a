"""Where two values first differ, with the bytes around it in hex: the heart of every mismatch message."""

from __future__ import annotations

from typing import TypedDict

CONTEXT = 8  # bytes shown either side of the first difference


def as_bytes(s: str) -> bytes:
    """UTF-8 bytes, with lone surrogates in their generalised form (so they can be shown, not lost)."""
    return s.encode("utf-8", "surrogatepass")


class Difference(TypedDict):
    """Where two values first differ (offsets and lengths count characters unless named for bytes)."""

    position: int
    byte_offset: int
    context_start: int  # byte offset of the first byte shown in the hex context
    expected_hex: str
    actual_hex: str
    marker: int
    expected_len: int
    actual_len: int


def first_difference(expected: str, actual: str) -> Difference:
    """{position (char), byte_offset, expected_hex, actual_hex, expected_len, actual_len} of the first difference."""
    n = min(len(expected), len(actual))
    i = 0
    # compare in blocks first: values may be megabytes long
    step = 4096
    while i + step <= n and expected[i : i + step] == actual[i : i + step]:
        i += step
    while i < n and expected[i] == actual[i]:
        i += 1
    off = len(as_bytes(expected[:i]))
    eb, ab = as_bytes(expected[max(0, i - CONTEXT) : i + CONTEXT]), as_bytes(actual[max(0, i - CONTEXT) : i + CONTEXT])
    lead = len(as_bytes(expected[max(0, i - CONTEXT) : i]))
    return {
        "position": i,
        "byte_offset": off,
        "context_start": off - lead,
        "expected_hex": eb.hex(" "),
        "actual_hex": ab.hex(" "),
        "marker": lead,  # index (in bytes) of the first differing byte within the hex context
        "expected_len": len(expected),
        "actual_len": len(actual),
    }

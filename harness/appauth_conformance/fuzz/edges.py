"""What fuzz inputs are made of and aimed at: the fields, character classes and their weights,
emoji sequences, expire-time edges. `generate` draws from these; `triage` names the classes.
"""

from __future__ import annotations

import itertools

from appauth_conformance.core import scheme
from appauth_conformance.core.model import TEXT_FIELDS

MODES = scheme.MODES
FIELDS = TEXT_FIELDS  # the text inputs, in wire order
DATA_FIELDS = FIELDS[:4]  # the text inputs that are signed (all but app_key)

# ---------------------------------------------------------------------------------------------
# Character classes: what the generator draws from, and what triage names.

_R = lambda a, b: "".join(map(chr, range(a, b + 1)))  # noqa: E731

CHARSETS: dict[str, str] = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "punct": "!\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~",
    "colon": ":",
    "space": " ",
    "whitespace": "\t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2003\u2009\u2028\u2029\u202f\u205f\u3000",
    "latin1": _R(0xA1, 0xFF),
    "cjk": _R(0x4E00, 0x4E7F) + "中文字漢語日本한국어",
    "astral": "\U0001f600\U0001f64f\U0001f680\U0001f4a9\U0001f1e8\U0001f1f3\U00010000\U0001d11e"
    "\U00020000\U0002a6d6\U000e0041\U000f0000\U0010fffd\U0010ffff\U0001f3fb",
    "combining": _R(0x0300, 0x036F) + "\u0489\u1ab0\u20d0\u20e3\ufe0f",
    "rtl": _R(0x05D0, 0x05EA)
    + _R(0x0627, 0x064A)
    + "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2069\u061c",
    "zero-width": "\u200b\u200c\u200d\u2060\ufeff\u180e",
    "control": _R(0x01, 0x08) + _R(0x0E, 0x1F) + "\x7f" + _R(0x80, 0x84) + _R(0x86, 0x9F),
    "noncharacter": "\ufffe\uffff\ufdd0\ufdef\ufffd\ue000\uf8ff",
    "nul": "\0",
    "high-surrogate": "\ud800\udbff\ud83d\ud834\udb40",
    "low-surrogate": "\udc00\udfff\ude00\udd1e\udc41",
}
# Weights for a "mixed" value (one class per character). NUL and lone surrogates are rare on purpose:
# every input that has one is a known disagreement of some reference runner, and at about 1.5% of inputs
# each they still occur thousands of times per 100,000 while the budget goes to what may still hide a bug.
MIX_WEIGHTS = {
    "ascii": 240,
    "punct": 40,
    "colon": 40,
    "space": 30,
    "whitespace": 30,
    "latin1": 48,
    "cjk": 48,
    "astral": 48,
    "combining": 40,
    "rtl": 30,
    "zero-width": 30,
    "control": 24,
    "noncharacter": 16,
    "nul": 0.3,
    "high-surrogate": 0.3,
    "low-surrogate": 0.3,
}
# The classes a "one special character" value puts into a plain value, and their weights (NUL and lone
# surrogates rarer, as above).
SPECIAL = (
    "colon",
    "space",
    "whitespace",
    "latin1",
    "cjk",
    "astral",
    "combining",
    "rtl",
    "zero-width",
    "control",
    "noncharacter",
    "nul",
    "high-surrogate",
    "low-surrogate",
)
SPECIAL_CUM = tuple(
    itertools.accumulate(0.15 if c.endswith("surrogate") else 0.25 if c == "nul" else 1.0 for c in SPECIAL)
)
EMPTY_KEY = 0.015  # share of empty keys (Java's known refusal); other fields are empty 5% of the time
# Emoji sequences: ZWJ families, flags, skin tones, keycaps (astral text that is several code points).
SEQUENCES = (
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1e8\U0001f1f3",
    "\U0001f44d\U0001f3fd",
    "1\ufe0f\u20e3",
    "e\u0301",
    "\u05e9\u05c1\u05b8",
    "\U0001f3f3\ufe0f\u200d\U0001f308",
)

# Expire-time edges: 0 (never expires), the 32-bit edges, the float64 edges, int64 max, dates.
EXPIRE_EDGES = (
    0,
    1,
    9,
    10,
    99,
    1000,
    10**9 - 1,
    10**9,
    1_604_020_600,
    2**31 - 2,
    2**31 - 1,
    2**31,
    2**31 + 1,
    2**32 - 1,
    2**32,
    2**32 + 1,
    253402300799,
    10**15,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**53 + 2,
    2**53 + 3,
    2**62,
    10**18,
    10**18 + 1,
    2**63 - 2,
    2**63 - 1,
)
INT64_MAX = 2**63 - 1

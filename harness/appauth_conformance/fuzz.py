"""Differential fuzzing: generate edge-aimed inputs, compare every runner with the oracle, triage, shrink, save.

Pipeline (docs/fuzzing.md):

    Inputs(seed) --chunks of FuzzInput--> one Session per runner (a thread each, all fed the same chunks)
                                 | Session.replies: (input, reply) pairs
                                 v
              EXPECTED (byte-identical), or the oracle's values -- conforming: counted, dropped
                                 | else: the full Vector, outcome(), verdicts.conformance
                                 v
              a disagreement (non-conforming outcome or runner fault)
                                 v
              Triage (per runner): group by cause, keep count + smallest example
                                 v
              shrink(group) through the live session --> minimal reproducer --> save (YAML)

Generation is seeded (`random.Random(seed)`) and independent of the chunk size, so
`--seed` alone reproduces a run. Memory stays flat: inputs are generated in
chunks, fanned out to the sessions through bounded queues and dropped once every
runner has answered; triage keeps only counters and one example per group.

Causes (see `Group.cause`):

* ``diagnosis`` groups: the runner's output is explained by known implementation
  mistakes (`appauth_conformance.diagnosis`). The group keeps the set of mistake ids that
  explain *every* member it diagnosed (the intersection), so coincidences of one
  input (an ASCII-only input makes "latin1-replace" and "surrogate-question-mark"
  the same bytes) fall away as members with other inputs arrive.
* ``classes`` groups: nothing in the catalogue explains the output; the cause is
  the set of input character classes (`input_classes`), intersected the same way
  ("expire-above-2^53" for the JS int64 precision loss).
* ``refused`` groups: a refusal where the vector is valid, by error type
  ("refused:IllegalArgumentException" for Java's empty key).
* ``fault`` groups: crash, hang or protocol violation, by kind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import operator
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import diagnosis, protocol, scheme, text
from .errors import HandshakeError, RunnerUnavailable, UsageError
from .expectations import Expectations
from .model import Outcome, RunnerSpec, Stage, Vector
from .session import EXPECTED, Session, outcome, steady_memory  # noqa: F401 (used by the CLI)
from .vectors import DEFAULT_VECTORS, TEXT_FIELDS
from .verdicts import conformance

MODES = scheme.MODES
FIELDS = ("app_id", "corp_id", "user_id", "nonce", "app_key")  # the text inputs, in wire order
DATA_FIELDS = ("app_id", "corp_id", "user_id", "nonce")
FAULT = "runner-fault"  # the stage name used for runner faults in groups and summaries
DEFAULT_BATCH = 2000  # inputs per chunk: per-chunk costs vanish, and the working set stays in cache (docs/fuzzing.md)

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

# ---------------------------------------------------------------------------------------------
# Input classes (triage of unexplained disagreements; field-less names so groups stay few).

_CLASS_RE = {
    name: re.compile("[" + re.escape(CHARSETS[name]) + "]")
    for name in ("colon", "latin1", "control", "noncharacter", "nul", "zero-width")
}
_CLASS_RE.update(
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
        for name, rx in _CLASS_RE.items():
            if rx.search(joined):
                out.add(name)
    else:
        for name in ("colon", "control", "nul", "ascii-whitespace"):
            if _CLASS_RE[name].search(joined):
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


# ---------------------------------------------------------------------------------------------
# Fast, exact construction of fuzz vectors.


def _layout_getters():
    """Per mode: a getter of the signed slots from (app_id, corp_id, user_id, expire, nonce, ""),
    read off the oracle by diagnosis.LAYOUT (the formula itself lives only in scheme.py)."""
    index = {"app_id": 0, "corp_id": 1, "user_id": 2, "expire_time": 3, "nonce": 4}
    out = {}
    for mode in scheme.Mode:
        slots = [index[n] if n in diagnosis.FILLED[mode] else 5 for n in diagnosis.LAYOUT[mode]]
        out[mode.value] = operator.itemgetter(*slots)
    return out


_SLOTS = _layout_getters()
_CARRIES = {m.value: ("corp_id" in scheme.CARRIES[m], "user_id" in scheme.CARRIES[m]) for m in scheme.Mode}
_RB = Vector.request_body.func  # the property's own encoder: the reference for the per-field pieces


def _body_pieces() -> dict[str, tuple[bytes, bytes]]:
    """Vector.request_body cut into one (before, after) pair of literal bytes per wire field, so that a
    body is b"".join of each field's `before + JSON(value) + after` in key order (and after is empty but
    for the last key). Derived by encoding a probe vector, never hand-written."""
    probe_values = {f: f"@@{f}@@" for f in ("mode", *FIELDS)}
    probe = Vector(
        "probe",
        "fuzz",
        0,
        "",
        probe_values["mode"],
        probe_values["app_id"],
        probe_values["corp_id"],
        probe_values["user_id"],
        987654321987654321,
        probe_values["nonce"],
        probe_values["app_key"],
        "valid",
        (),
        None,
        None,
    )
    raw = _RB(probe)
    markers = {n: json.dumps(v).encode() for n, v in probe_values.items()} | {"expire_time": b"987654321987654321"}
    if any(raw.count(m) != 1 for m in markers.values()):
        raise ImportError(f"Vector.request_body no longer holds each field once: adapt fuzz._body_pieces to {raw!r}")
    order = sorted(markers, key=lambda n: raw.index(markers[n]))
    pieces, pos = {}, 0
    for i, n in enumerate(order):
        at = raw.index(markers[n])
        after = raw[at + len(markers[n]) :] if i == len(order) - 1 else b""
        pieces[n] = (raw[pos:at], after)
        pos = at + len(markers[n])
    if b"".join(pieces[n][0] + markers[n] + pieces[n][1] for n in order) != raw:
        raise ImportError(
            f"Vector.request_body cannot be cut into per-field pieces: adapt fuzz._body_pieces to {raw!r}"
        )
    return pieces


_PIECES = _body_pieces()
_VECTOR_FIELDS = (
    "id",
    "file",
    "line",
    "description",
    "mode",
    "app_id",
    "corp_id",
    "user_id",
    "expire_time",
    "nonce",
    "app_key",
    "result",
    "flags",
    "string_to_sign",
    "signature",
)
# The fast constructor sets exactly these attributes; it is used only while Vector has this shape.
_FAST_NEW = (
    tuple(f.name for f in dataclasses.fields(Vector)) == _VECTOR_FIELDS
    and "__post_init__" not in vars(Vector)
    and not hasattr(Vector, "__slots__")
)
_ENC = json.JSONEncoder(ensure_ascii=True).encode


def _pair_up(s: str) -> str:
    """A high+low surrogate held as two code points travels as a valid \\u pair: make it one character."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _lone(s: str) -> bool:
    return text.has_lone_surrogate(s)


def make_vector(
    mode: str,
    app_id: str,
    corp_id: str,
    user_id: str,
    expire_time: int,
    nonce: str,
    app_key: str,
    id: str = "fuzz",
    description: str = "fuzz input",
    flags: tuple[str, ...] = (),
) -> Vector:
    """A fuzz Vector with the oracle's expected values (slow path, for shrinking and saving)."""
    vals = [app_id, corp_id, user_id, nonce, app_key]
    vals = [_pair_up(x) if _lone(x) else x for x in vals]
    app_id, corp_id, user_id, nonce, app_key = vals
    invalid = any(_lone(x) for x in vals)
    f = scheme.Fields(scheme.Mode(mode), app_id, corp_id, user_id, expire_time, nonce)
    data = scheme.string_to_sign(f)
    sig = None if invalid else scheme.sign_fields(f, app_key)[1]
    return Vector(
        id,
        "fuzz",
        0,
        description,
        mode,
        app_id,
        corp_id,
        user_id,
        expire_time,
        nonce,
        app_key,
        "invalid" if invalid else "valid",
        tuple(flags),
        data,
        sig,
    )


def replace_inputs(v: Vector, **changes) -> Vector:
    d = {n: getattr(v, n) for n in ("mode", *FIELDS, "expire_time")}
    d.update(changes)
    mode = d["mode"]
    corp, user = _CARRIES[mode]
    if not corp:
        d["corp_id"] = ""
    if not user:
        d["user_id"] = ""
    return make_vector(
        d["mode"],
        d["app_id"],
        d["corp_id"],
        d["user_id"],
        d["expire_time"],
        d["nonce"],
        d["app_key"],
        id=v.id,
        description=v.description,
    )


_NAMES = ("mode", *FIELDS, "expire_time")  # the order Inputs.chunk hands body pieces to _BODY_ORDER
_BODY_ORDER = operator.itemgetter(*sorted(range(len(_NAMES)), key=lambda i: list(_PIECES).index(_NAMES[i])))


def _piece(name: str, encoded: bytes) -> bytes:
    """One field's share of a request body: its literal key and separators around the encoded value."""
    before, after = _PIECES[name]
    return before + encoded + after


_MODE_PIECES = {m: _piece("mode", _ENC(m).encode("ascii")) for m in MODES}


class FuzzInput:
    """One generated input, as light as the hot path allows: the request body, the oracle's
    string-to-sign and signature (None when the input is invalid), the conforming replies in
    the two usual JSON styles (Session.replies accepts those without decoding them), and the
    raw inputs from which `vector()` builds the full Vector, only for the few inputs a runner
    disagrees on."""

    __slots__ = ("expected_replies", "parts", "request_body", "signature", "string_to_sign")

    def __init__(self, request_body: bytes, string_to_sign: str, signature: str | None, parts: tuple):
        self.request_body, self.string_to_sign, self.signature, self.parts = (
            request_body,
            string_to_sign,
            signature,
            parts,
        )
        self.expected_replies = expected_replies(string_to_sign, signature) if signature is not None else ()

    def vector(self) -> Vector:
        i, mode, app_id, corp_id, user_id, expire_time, nonce, app_key = self.parts
        result = "invalid" if self.signature is None else "valid"
        if not _FAST_NEW:  # pragma: no cover - only if Vector changes shape
            return Vector(
                str(i),
                "fuzz",
                0,
                "fuzz input",
                mode,
                app_id,
                corp_id,
                user_id,
                expire_time,
                nonce,
                app_key,
                result,
                (),
                self.string_to_sign,
                self.signature,
            )
        # Attribute by attribute, in the dataclass's field order: the instance keeps CPython's shared-key
        # (inline) dict. request_body is a cached_property: its cache slot gets what the property would
        # compute (Inputs._check proves it on the first inputs and one in 1000).
        v = _new(Vector)
        _set(v, "id", str(i))
        _set(v, "file", "fuzz")
        _set(v, "line", 0)
        _set(v, "description", "fuzz input")
        _set(v, "mode", mode)
        _set(v, "app_id", app_id)
        _set(v, "corp_id", corp_id)
        _set(v, "user_id", user_id)
        _set(v, "expire_time", expire_time)
        _set(v, "nonce", nonce)
        _set(v, "app_key", app_key)
        _set(v, "result", result)
        _set(v, "flags", ())
        _set(v, "string_to_sign", self.string_to_sign)
        _set(v, "signature", self.signature)
        _set(v, "request_body", self.request_body)
        return v


_new, _set = Vector.__new__, object.__setattr__
# json's own C string encoders (what JSONEncoder.encode calls for a str), without the method call
_JSON_ASCII, _JSON_RAW = json.encoder.encode_basestring_ascii, json.encoder.encode_basestring


def expected_replies(string_to_sign: str, signature: str) -> tuple[bytes, ...]:
    """The conforming reply after `{"seq":N`: string_to_sign escaped as \\u (Python's json, C++, Java for
    printable text) and, for non-ASCII text, as raw UTF-8 (JSON.stringify). Any other style is decoded."""
    sig = signature.encode("ascii")
    escaped = protocol.REPLY_TAIL % (_JSON_ASCII(string_to_sign).encode("ascii"), sig)
    if string_to_sign.isascii():
        return (escaped,)
    return (escaped, protocol.REPLY_TAIL % (_JSON_RAW(string_to_sign).encode("utf-8"), sig))


# ---------------------------------------------------------------------------------------------
# The generator.

_POOL_BITS = 10
_POOL = 1 << _POOL_BITS
_MASK = _POOL - 1
# A pool entry: (text, its piece of the request body, has a lone surrogate, the key's HMAC pads or None).
_EMPTY = {f: ("", _piece(f, b'""'), False, None) for f in ("corp_id", "user_id")}
_IPAD, _OPAD = bytes(x ^ 0x36 for x in range(256)), bytes(x ^ 0x5C for x in range(256))


def hmac_pads(key: bytes) -> tuple:
    """HMAC-SHA256 (RFC 2104) keyed once: the inner and outer hash states after the padded key.
    A pool key signs thousands of inputs; finishing from the pads costs a third of hmac.digest()."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


class Inputs:
    """Seeded, reproducible stream of fuzz inputs (FuzzInput) aimed at the edges.

    Each field is drawn from a pool of 1024 values made by the rich value
    generator (`value`); one pool slot in 32 inputs is replaced by a fresh value,
    so the stream keeps finding new values while most inputs cost a few dict
    look-ups. Expected values come from the oracle: the slot order is read off
    scheme.string_to_sign (diagnosis.LAYOUT), the HMAC is finished from the key's
    pads (hmac_pads), and the first `verify` inputs (then one in 1000) are re-checked against
    scheme.sign_fields and Vector.request_body, so the fast path cannot drift.
    """

    def __init__(self, seed: int = 1, verify: int = 1000):
        self.seed = seed
        self.rng = random.Random(seed)
        self.index = 0
        self.verify = verify
        self._mix = list(MIX_WEIGHTS)
        self._mix_cum = list(itertools.accumulate(MIX_WEIGHTS.values()))
        self.pools = [[self._entry(self.value(f), f) for _ in range(_POOL)] for f in FIELDS]
        self.expires = [self._expire_entry(self.expire()) for _ in range(_POOL)]

    # -- rich values -----------------------------------------------------------------------

    def _chars(self, cls: str, n: int = 1) -> str:
        cs = CHARSETS[cls]
        return "".join(self.rng.choice(cs) for _ in range(n))

    def _plain(self, n: int) -> str:
        return "".join(self.rng.choices(CHARSETS["ascii"], k=n))

    def _mixed(self, n: int) -> str:
        rng = self.rng
        classes = rng.choices(self._mix, cum_weights=self._mix_cum, k=n)
        out = []
        for c in classes:
            if c == "astral" and rng.random() < 0.2:
                out.append(rng.choice(SEQUENCES))
            else:
                out.append(rng.choice(CHARSETS[c]))
        return "".join(out)

    def _small_len(self) -> int:
        r = self.rng.random()
        return 1 + int(r * r * 12)  # mostly 1-4 characters, up to 12

    def _insert(self, base: str, piece: str) -> str:
        where = self.rng.randrange(3)
        if where == 0 or not base:
            return piece + base
        if where == 2:
            return base + piece
        i = self.rng.randrange(1, len(base)) if len(base) > 1 else 1
        return base[:i] + piece + base[i:]

    def block_key(self) -> str:
        """A key of 63/64/65 (or 127-129) bytes, often with a multi-byte character straddling the block edge."""
        rng = self.rng
        edge = 64 if rng.random() < 0.8 else 128
        if rng.random() < 0.5:
            return self._plain(edge + rng.choice((-1, 0, 1)))
        ch = rng.choice(("\xe9", "\u4e2d", "\U0001f600", "\u0301", "\0"))
        width = len(ch.encode("utf-8", "surrogatepass"))
        before = edge - rng.randrange(1, width + 1) if width > 1 else edge + rng.choice((-1, 0, 1)) - 1
        return self._plain(max(before, 0)) + ch + self._plain(rng.randrange(0, 3))

    def long_value(self) -> str:
        """1-10 KB: a run of one character with a few specials, or a mixed run."""
        rng = self.rng
        n = rng.randrange(1024, 10241)
        if rng.random() < 0.7:
            s = rng.choice("a0 :\xe9\u4e2d") * n
            for _ in range(rng.randrange(0, 3)):
                s = self._insert(s, self._chars(rng.choice(SPECIAL)))
            return s
        return self._mixed(n)

    def value(self, field: str) -> str:
        """One rich field value: mostly short, sometimes special, rarely long (rates in docs/fuzzing.md)."""
        rng = self.rng
        if field == "app_key" and rng.random() < 0.1:
            return self.block_key()
        r = rng.random()
        if r < 0.05:
            return "" if field != "app_key" or r < EMPTY_KEY else self._plain(self._small_len())
        if r < 0.0505:
            return self.long_value()
        if r < 0.55:
            return self._plain(self._small_len())
        if r < 0.65:  # documentation-shaped: 32 hex digits, a 32-64 character nonce
            if field == "nonce":
                return self._plain(rng.choice((31, 32, 48, 64, 65)))
            return "".join(rng.choices("0123456789abcdef", k=32))
        if r < 0.73:  # a plain value with one special character at the start, middle or end
            cls = rng.choices(SPECIAL, cum_weights=SPECIAL_CUM)[0]
            piece = self._chars(cls) if cls != "astral" or rng.random() < 0.7 else rng.choice(SEQUENCES)
            return self._insert(self._plain(rng.randrange(0, 6)), piece)
        if r < 0.98:
            return self._mixed(self._small_len())
        return self._mixed(rng.randrange(13, 80))

    def expire(self) -> int:
        rng = self.rng
        r = rng.random()
        if r < 0.85:  # (above 2^53 most values are the JS runner's known precision loss: kept rarer)
            return 1_600_000_000 + rng.randrange(400_000_000)
        if r < 0.95:
            return rng.choice(EXPIRE_EDGES)
        return rng.getrandbits(rng.randrange(1, 64))

    @staticmethod
    def _entry(s: str, field: str) -> tuple:
        if _lone(s):
            s = _pair_up(s)
        lone = _lone(s)
        return (
            s,
            _piece(field, _ENC(s).encode("ascii")),
            lone,
            hmac_pads(s.encode("utf-8")) if field == "app_key" and not lone else None,
        )

    @staticmethod
    def _expire_entry(t: int) -> tuple:
        return (t, str(t), _piece("expire_time", str(t).encode("ascii")))

    def _refresh(self, r: int) -> None:
        which = (r >> 53) % 6
        slot = self.rng.getrandbits(_POOL_BITS)
        if which == 5:
            self.expires[slot] = self._expire_entry(self.expire())
        else:
            self.pools[which][slot] = self._entry(self.value(FIELDS[which]), FIELDS[which])

    # -- the stream ------------------------------------------------------------------------

    def chunk(self, n: int) -> list[FuzzInput]:
        """The next n inputs."""
        out: list[FuzzInput] = []
        append = out.append
        bits = self.rng.getrandbits
        P_app, P_corp, P_user, P_nonce, P_key = self.pools
        E = self.expires
        slots, carries, modes = _SLOTS, _CARRIES, MODES
        order, mode_pieces, join = _BODY_ORDER, _MODE_PIECES, b"".join
        no_corp, no_user = _EMPTY["corp_id"], _EMPTY["user_id"]
        start = self.index
        for i in range(start, start + n):
            r = bits(64)
            if r >> 59 == 0:  # one input in 32 brings a fresh value into a pool
                self._refresh(r)
            mode = modes[r & 3]
            corp_on, user_on = carries[mode]
            a = P_app[(r >> 2) & _MASK]
            c = P_corp[(r >> 12) & _MASK] if corp_on else no_corp
            u = P_user[(r >> 22) & _MASK] if user_on else no_user
            no = P_nonce[(r >> 32) & _MASK]
            k = P_key[(r >> 42) & _MASK]
            e = E[(r >> 52) & _MASK]
            data = ":".join(slots[mode]((a[0], c[0], u[0], e[1], no[0], "")))
            if a[2] or c[2] or u[2] or no[2] or k[2]:
                sig = None  # a lone surrogate: the vector is invalid, a runner must refuse it
            else:  # the oracle's HMAC, finished from the key's pads (Inputs._check compares with scheme.sign)
                inner, outer = k[3][0].copy(), k[3][1].copy()
                inner.update(data.encode("utf-8"))
                outer.update(inner.digest())
                sig = outer.hexdigest()
            body = join(order((mode_pieces[mode], a[1], c[1], u[1], no[1], k[1], e[2])))
            item = FuzzInput(body, data, sig, (i, mode, a[0], c[0], u[0], e[0], no[0], k[0]))
            if i < self.verify or i % 1000 == 0:
                self._check(item.vector())
            append(item)
        self.index = start + n
        return out

    @staticmethod
    def _check(v: Vector) -> None:
        """The fast path must equal the oracle and the property's own encoding, exactly."""
        ref = make_vector(v.mode, v.app_id, v.corp_id, v.user_id, v.expire_time, v.nonce, v.app_key)
        if (v.string_to_sign, v.signature, v.result) != (ref.string_to_sign, ref.signature, ref.result):
            raise AssertionError(
                f"fuzz generator disagrees with the oracle on input {v.id}: "
                f"{(v.string_to_sign, v.signature, v.result)!r} != {(ref.string_to_sign, ref.signature, ref.result)!r}"
            )
        if v.request_body != _RB(v):
            raise AssertionError(f"fuzz generator's request body differs from Vector.request_body on input {v.id}")

    def chunks(
        self, batch: int, count: int | None = None, stop: Callable[[], bool] | None = None
    ) -> Iterator[list[FuzzInput]]:
        """Chunks of at most `batch` inputs until `count` (None: forever) or `stop()`."""
        done = 0
        while count is None or done < count:
            if stop is not None and stop():
                return
            n = batch if count is None else min(batch, count - done)
            yield self.chunk(n)
            done += n

    def take(self, n: int) -> list[Vector]:
        """The next n inputs as full Vectors (tests, and anything that wants the whole record)."""
        return [x.vector() for x in self.chunk(n)]


# ---------------------------------------------------------------------------------------------
# Diagnosis restricted to a few mistakes (the hot path of triage).


def _explained_by_subset(
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


_FAULT_KINDS = (
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
    for prefix, kind in _FAULT_KINDS:
        if fault.startswith(prefix):
            return kind
    return "other"


def total_length(v: Vector) -> int:
    return len(v.app_id) + len(v.corp_id) + len(v.user_id) + len(v.nonce) + len(v.app_key)


def slug(s: str) -> str:
    s = s.replace("^", "-").lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-") or "x"


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
            hit = _explained_by_subset(g.causes, fields, v.app_key, o.string_to_sign, o.signature, v)
            if hit:
                if g.learned < self.LEARN:
                    g.learned += 1
                    self.full_diagnoses += 1
                    g.causes = g.causes & full_diagnosis(fields, v.app_key, o.string_to_sign, o.signature)
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
            return stage == FAULT and g.causes == {"fault:" + fault_kind(o.fault)}
        if stage != g.stage:
            return False
        if g.kind == "refused":
            return o.error is not None and g.causes == {"refused:" + str(o.error.get("type"))}
        if o.error is not None:
            return False
        v = o.vector
        if g.kind == "diagnosis":
            return bool(_explained_by_subset(g.causes, v.fields, v.app_key, o.string_to_sign, o.signature))
        if g.kind == "classes":
            # still unexplained, with at least one of the group's classes left: shrinking may drop the
            # classes that do not matter (the group keeps only those its reproducer still has)
            if g.causes and not g.causes & input_classes(v):
                return False
            return not full_diagnosis(v.fields, v.app_key, o.string_to_sign, o.signature)
        return True


# ---------------------------------------------------------------------------------------------
# Shrinking.

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


def _char_class(ch: str) -> str | None:
    for name, rx in _CLASS_RE.items():
        if rx.match(ch):
            return name
    return None


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
            cls = _char_class(ch)
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


# ---------------------------------------------------------------------------------------------
# Flags of a reproducer: the corpus's own vocabulary, so known-divergence entries match.


def _kb(v: Vector) -> int:
    return len(v.app_key.encode("utf-8", "surrogatepass"))


REPRODUCER_FLAGS: dict[str, Callable[[Vector], bool]] = {
    "nul": lambda v: any("\0" in getattr(v, f) for f in DATA_FIELDS),
    "key-nul-start": lambda v: v.app_key.startswith("\0"),
    "key-nul-middle": lambda v: "\0" in v.app_key.strip("\0"),
    "key-nul-end": lambda v: v.app_key.endswith("\0"),
    "empty-key": lambda v: v.app_key == "",
    "high-surrogate": lambda v: any(re.search("[\ud800-\udbff]", getattr(v, f)) for f in TEXT_FIELDS),
    "low-surrogate": lambda v: any(re.search("[\udc00-\udfff]", getattr(v, f)) for f in TEXT_FIELDS),
    "reversed-surrogates": lambda v: any(
        re.search("[\udc00-\udfff][\ud800-\udbff]", getattr(v, f)) for f in TEXT_FIELDS
    ),
    "expire-zero": lambda v: v.expire_time == 0,
    "discouraged": lambda v: v.expire_time == 0 and v.result == "valid",
    "expire-2038": lambda v: v.expire_time == 2**31 - 1,
    "expire-int32-overflow": lambda v: v.expire_time == 2**31,
    "expire-2106": lambda v: v.expire_time == 2**32,
    "expire-float-precision": lambda v: v.expire_time > 2**53 and float(v.expire_time) != v.expire_time,
    "expire-int64-max": lambda v: v.expire_time == INT64_MAX,
    "key-63": lambda v: not _lone(v.app_key) and _kb(v) == 63,
    "key-64": lambda v: not _lone(v.app_key) and _kb(v) == 64,
    "key-65": lambda v: not _lone(v.app_key) and _kb(v) == 65,
    "colon": lambda v: any(":" in getattr(v, f) for f in TEXT_FIELDS),
    "emoji": lambda v: any(ord(ch) > 0xFFFF for f in TEXT_FIELDS for ch in getattr(v, f)),
    "latin1-range": lambda v: any("\x80" <= ch <= "\xff" for f in TEXT_FIELDS for ch in getattr(v, f)),
}
FUZZ_FLAG = "fuzz-regression"
FUZZ_NOTE = (
    "A minimal reproducer found by `appauth-conformance fuzz` (differential fuzzing against the oracle) "
    "and shrunk; the description names the runner, the cause and the seed."
)


def cause_flag(g: Group) -> str:
    return "fuzz-cause-" + g.cause_slug


def cause_note(g: Group) -> str:
    if g.kind == "diagnosis":
        titles = "; ".join(f"{i}: {diagnosis.BY_ID[i].title}" for i in sorted(g.causes) if i in diagnosis.BY_ID)
        what = f"the output is explained by the known mistake(s) {titles}"
    elif g.kind == "classes":
        what = "no known mistake explains the output; every disagreeing input carried the input classes " + (
            ", ".join(sorted(g.causes)) or "(none)"
        )
    elif g.kind == "refused":
        what = f"the runner refused a valid input with {sorted(g.causes)[0].partition(':')[2]}"
    else:
        what = f"the runner broke ({sorted(g.causes)[0]})"
    return f"Fuzz cause {g.cause}: {what}."


def reproducer_flags(v: Vector, g: Group | None = None, documented: set[str] | None = None) -> tuple[str, ...]:
    flags = [FUZZ_FLAG] + ([cause_flag(g)] if g is not None else [])
    for name, pred in REPRODUCER_FLAGS.items():
        if (documented is None or name in documented) and pred(v):
            flags.append(name)
    return tuple(flags)


def input_repr(v: Vector) -> str:
    """A compact, ASCII-only, copy-pasteable description of the inputs."""
    parts = [f"mode={v.mode}"]
    for f in ("app_id", "corp_id", "user_id"):
        parts.append(f"{f}={getattr(v, f)!a}")
    parts.append(f"expire_time={v.expire_time}")
    parts += [f"nonce={v.nonce!a}", f"app_key={v.app_key!a}"]
    s = " ".join(parts)
    return s if len(s) <= 400 else s[:380] + f"... ({total_length(v)} chars)"


# ---------------------------------------------------------------------------------------------
# The run.


@dataclass
class RunnerRun:
    spec: RunnerSpec
    session: Session | None = None
    expectations: Expectations | None = None
    unavailable: str | None = None
    triage: Triage | None = None
    outcomes: int = 0
    seconds: float = 0.0
    error: BaseException | None = None
    queue: queue.Queue | None = None


@dataclass
class FuzzReport:
    seed: int
    inputs: int
    wall: float  # seconds of the fuzzing phase
    cpu: float  # harness process CPU seconds during the fuzzing phase
    shrink_wall: float
    runners: list[RunnerRun]
    stopped_by: str

    @property
    def groups(self) -> list[Group]:
        return [g for r in self.runners if r.triage for g in r.triage.groups]

    @property
    def unknown(self) -> list[Group]:
        return [g for g in self.groups if g.known is None]

    @property
    def cpu_share(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0


class Fuzzer:
    """Runs one seeded stream through every runner concurrently; see the module docstring."""

    def __init__(
        self,
        specs: list[RunnerSpec],
        backend,
        *,
        seed: int = 1,
        count: int | None = None,
        time_budget: float | None = None,
        batch: int = DEFAULT_BATCH,
        timeout: float = 10.0,
        shrink: bool = True,
        require_all: bool = False,
        shrink_seconds: float = 30.0,
        window: int = 4096,
        on_progress: Callable[[Fuzzer], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ):
        if count is None and time_budget is None:
            raise UsageError("give --count N or --time-budget SECONDS")
        if count is not None and count < 0:
            raise UsageError(f"--count must be >= 0, got {count}")
        if time_budget is not None and time_budget <= 0:
            raise UsageError(f"--time-budget must be > 0 seconds, got {time_budget}")
        if batch < 1:
            raise UsageError(f"--batch must be >= 1, got {batch}")
        self.specs, self.backend = specs, backend
        self.seed, self.count, self.time_budget, self.batch = seed, count, time_budget, batch
        self.timeout, self.shrink_enabled, self.require_all = timeout, shrink, require_all
        self.shrink_seconds = shrink_seconds
        self.window = window  # requests in flight per runner: deep enough that GIL hand-offs never starve a runner
        self.queue_depth = 1  # chunks waiting per runner beyond the one it is on: memory stays a few chunks
        self.on_progress, self.warn = on_progress, warn or (lambda s: None)
        self.runs = [RunnerRun(s) for s in specs]
        self.generated = 0
        self.t0 = 0.0
        self._stop = threading.Event()
        self._done_feeding = False

    # -- set-up ----------------------------------------------------------------------------

    def prepare(self) -> None:
        for r in self.runs:
            r.expectations = Expectations.load(r.spec)
            r.triage = Triage(r.spec.name)
            try:
                self.backend.prepare(r.spec)
                r.session = Session(r.spec, self.backend, timeout=self.timeout, window=self.window)
                r.session.start()
            except (RunnerUnavailable, HandshakeError) as e:
                r.unavailable, r.session = str(e), None
                if self.require_all:
                    raise RunnerUnavailable(str(e)) from None
                self.warn(f"skipped {r.spec.name}: {str(e).splitlines()[0]}")
        if not any(r.session for r in self.runs):
            raise RunnerUnavailable(
                "no runner could be started: "
                + "; ".join(f"{r.spec.name}: {(r.unavailable or '').splitlines()[0]}" for r in self.runs)
            )

    def close(self) -> None:
        for r in self.runs:
            if r.session is not None:
                r.session.close()
        self.backend.close()

    # -- the fuzzing phase ----------------------------------------------------------------

    def _feed(self, q: queue.Queue) -> Iterator[FuzzInput]:
        while True:
            chunk = q.get()
            if chunk is None:
                return
            yield from chunk

    def _consume(self, r: RunnerRun) -> None:
        """Judge one runner's replies. The hot paths: a reply byte-identical to an expected one (not even
        decoded), then one comparison per decoded reply: exactly seq, string_to_sign and signature, both
        equal to the oracle's, is schema-valid and conforming. Everything else takes the full path
        (schema check, verdict, triage) with the whole Vector."""
        t0 = time.monotonic()
        triage, name = r.triage, r.spec.name
        n = 0
        try:
            for pairs in r.session.replies(self._feed(r.queue)):
                for item, reply in pairs:
                    if reply is EXPECTED:
                        continue
                    sig = item.signature
                    if (
                        sig is not None
                        and type(reply) is dict
                        and len(reply) == 3
                        and reply.get("signature") == sig
                        and reply.get("string_to_sign") == item.string_to_sign
                    ):
                        continue
                    o = outcome(item.vector(), name, reply)
                    stage = stage_of(o)
                    if stage is not None:
                        triage.add(o, stage)
                n += len(pairs)
                r.outcomes = n
        except BaseException as e:
            r.error = e
            self._stop.set()
            while True:  # keep the producer from blocking on this runner's queue
                try:
                    if r.queue.get(timeout=0.1) is None:
                        break
                except queue.Empty:
                    if self._done_feeding:
                        break
        finally:
            r.outcomes = n
            r.seconds = time.monotonic() - t0

    def _stop_generating(self) -> bool:
        if self._stop.is_set():
            return True
        return self.time_budget is not None and time.monotonic() - self.t0 >= self.time_budget

    def run(self) -> FuzzReport:
        live = [r for r in self.runs if r.session is not None]
        for r in live:
            r.queue = queue.Queue(maxsize=self.queue_depth)
        inputs = Inputs(self.seed)
        self.t0 = time.monotonic()
        c0 = time.process_time()
        threads = [
            threading.Thread(target=self._consume, args=(r,), daemon=True, name=f"fuzz-{r.spec.name}") for r in live
        ]
        for t in threads:
            t.start()
        ticker = _Ticker(self) if self.on_progress else None
        stopped_by = "count"
        try:
            # under a time budget, small chunks keep the overshoot (what is queued when time is up) short
            batch = self.batch if self.time_budget is None else min(self.batch, 2048)
            for chunk in inputs.chunks(batch, self.count, self._stop_generating):
                self.generated += len(chunk)
                for r in live:
                    if r.error is None:
                        r.queue.put(chunk)
                del chunk
            if self.time_budget is not None and time.monotonic() - self.t0 >= self.time_budget:
                stopped_by = "time budget"
        finally:
            self._done_feeding = True
            for r in live:
                if r.error is None:
                    r.queue.put(None)
                else:  # its thread drains the queue until it sees the end or _done_feeding
                    try:
                        r.queue.put_nowait(None)
                    except queue.Full:
                        pass
            for t in threads:
                while t.is_alive():
                    t.join(0.2)  # short joins keep Ctrl-C responsive
            if ticker:
                ticker.stop()
        wall = time.monotonic() - self.t0
        cpu = time.process_time() - c0
        for r in live:
            if r.error is not None:
                raise r.error
        t1 = time.monotonic()
        if self.shrink_enabled:
            self.shrink_all()
        for r in live:
            for g in r.triage.groups:
                self._judge_known(r, g)
        return FuzzReport(self.seed, self.generated, wall, cpu, time.monotonic() - t1, self.runs, stopped_by)

    # -- shrinking and known divergences -------------------------------------------------

    def shrink_all(self) -> None:
        """Shrink every group's example, one thread per runner (its session is free again)."""

        def work(r: RunnerRun) -> None:
            s = Shrinker(r.session, r.triage, max_seconds=self.shrink_seconds)
            deadline = time.monotonic() + max(60.0, 4 * self.shrink_seconds)  # per runner, largest groups first
            for g in sorted(r.triage.groups, key=lambda g: -g.count):
                if g.example is None or g.kind == "overflow" or g.causes == {"fault:hang"}:
                    continue
                if time.monotonic() > deadline:
                    self.warn(f"{r.spec.name}: shrinking time is up; {g.cause} keeps its smallest example")
                    continue
                try:
                    s.shrink(g)
                except Exception as e:
                    self.warn(f"{r.spec.name}: could not shrink {g.cause}: {e}")

        threads = [
            threading.Thread(target=work, args=(r,), daemon=True) for r in self.runs if r.session and r.triage.groups
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)

    def _judge_known(self, r: RunnerRun, g: Group) -> None:
        """Known iff the runner's known-divergence list would cover the reproducer (flags as --save writes them)."""
        g.known = None
        v = g.smallest
        if v is None or g.stage == FAULT or g.kind == "overflow" or r.expectations is None:
            return
        flagged = replace_inputs(v)
        object.__setattr__(flagged, "flags", reproducer_flags(flagged, g))
        stage = next((st for st in Stage if st.value == g.stage), None)
        d = r.expectations.find(flagged, stage)
        if d is not None and (d.stage is None or d.stage.value == g.stage):
            g.known = d.label

    def progress_line(self) -> str:
        el = max(time.monotonic() - self.t0, 1e-9)
        done = min((r.outcomes for r in self.runs if r.session), default=0)
        groups = sum(len(r.triage.groups) for r in self.runs if r.triage)
        return f"fuzz: {done:,} inputs through every runner ({done / el:,.0f}/s), {self.generated:,} generated, {groups} group(s), {el:.0f}s"


class _Ticker:
    def __init__(self, fuzzer: Fuzzer, every: float = 0.5):
        self.f, self.every = fuzzer, every
        self.ev = threading.Event()
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while not self.ev.wait(self.every):
            self.f.on_progress(self.f)

    def stop(self):
        self.ev.set()
        self.t.join(1)


# ---------------------------------------------------------------------------------------------
# Saving reproducers.


def save_reproducers(report: FuzzReport, save_dir: Path, corpus: Path = DEFAULT_VECTORS) -> list[Path]:
    """Write each group's reproducer into save_dir/<runner>-<cause>.yaml; returns the files written.

    Ids are unique across the corpus (and the save folder), flags are documented in each
    file's notes (corpus flags with the corpus's own note text), expected values come from
    authoring.fill_file, and the folder is re-loaded with vectors.load to prove it valid.
    """
    import yaml

    from . import authoring, vectors

    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    corpus_notes: dict[str, str] = {}
    ids: set[str] = set()
    for src in {Path(corpus).resolve(), save_dir.resolve()}:
        if src.is_dir() and not any(src.rglob("*.yaml")):
            continue  # an empty save folder: nothing to be unique against yet
        try:
            c = vectors.load(src, verify=False)
        except vectors.CorpusError as e:
            raise UsageError(f"cannot save reproducers: the corpus at {src} does not load:\n{e}") from None
        ids |= {v.id for v in c.vectors}
        for notes in c.notes.values():
            for k, n in notes.items():
                corpus_notes.setdefault(k, n)
    written: list[Path] = []
    for g in report.groups:
        v = g.smallest
        if v is None or g.kind == "overflow":
            continue
        base = replace_inputs(v)
        flags = reproducer_flags(base, g, documented=set(corpus_notes) | {FUZZ_FLAG, cause_flag(g)})
        digest = hashlib.sha256(
            json.dumps(
                [g.runner, g.cause, base.mode, *(text.utf16_units(getattr(base, f)) for f in FIELDS), base.expire_time]
            ).encode()
        ).hexdigest()[:8]
        runner_slug = slug(g.runner.removesuffix("-reference"))
        vid = f"fuzz-{runner_slug}-{g.cause_slug}"[:70].rstrip("-") + f"-{digest}"
        path = save_dir / f"{slug(g.runner)}-{g.cause_slug}.yaml"
        if vid in ids:
            g.saved = f"{path} (already there: {vid})"
            continue
        if path.exists():
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=vectors.SafeLoader) or {}
        else:
            doc = {
                "description": f"Fuzz regressions of {g.runner}: {g.cause}. Minimal reproducers written by "
                "`appauth-conformance fuzz --save`; see docs/fuzzing.md.",
                "notes": {},
                "vectors": [],
            }
        notes = doc.setdefault("notes", {})
        for fl in flags:
            if fl == FUZZ_FLAG:
                notes.setdefault(fl, corpus_notes.get(fl, FUZZ_NOTE))
            elif fl == cause_flag(g):
                notes.setdefault(fl, corpus_notes.get(fl, cause_note(g)))
            else:
                notes.setdefault(fl, corpus_notes[fl])
        doc.setdefault("vectors", []).append(
            {
                "id": vid,
                "description": (
                    f"{g.runner} disagrees with the oracle at stage {g.stage}: {g.cause}. "
                    f"Found by `appauth-conformance fuzz --seed {report.seed}` ({g.count} disagreeing "
                    f"input(s) in the group), shrunk to this input."
                ),
                "mode": base.mode,
                "inputs": {
                    "app_id": text.encode(base.app_id),
                    "corp_id": text.encode(base.corp_id),
                    "user_id": text.encode(base.user_id),
                    "expire_time": base.expire_time,
                    "nonce": text.encode(base.nonce),
                    "app_key": text.encode(base.app_key),
                },
                "result": base.result,
                "flags": list(flags),
            }
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(authoring.dump(doc), encoding="utf-8")
        authoring.fill_file(tmp)
        tmp.replace(path)
        ids.add(vid)
        g.saved = str(path)
        if path not in written:
            written.append(path)
    if any(save_dir.rglob("*.yaml")):
        vectors.load(save_dir)  # what was written must pass every check (raises CorpusError otherwise)
    return written

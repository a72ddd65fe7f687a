"""What a mistake's computation sees: the fields and their joins, one string to sign and the key.

The slot layout of each mode is read off the oracle (scheme.string_to_sign), never written
out here. Everything is lazy and shared within one diagnosis, so trying a hundred mistakes
computes the correct digest once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from functools import cached_property

from appauth_conformance.core import scheme

FIELD_ORDER = ("app_id", "corp_id", "user_id", "expire_time", "nonce")
TEXT_FIELDS = ("app_id", "corp_id", "user_id", "nonce")
IDS = ("app_id", "corp_id", "user_id")
PROBE_EXPIRE = 7


def _probe(mode: scheme.Mode) -> tuple[tuple[str, ...], frozenset[str]]:
    """(slot names in order, names the mode fills) from the oracle's string for named placeholders."""
    carried = scheme.CARRIES[mode]
    probe = scheme.Fields(
        mode,
        "app_id",
        "corp_id" if "corp_id" in carried else "",
        "user_id" if "user_id" in carried else "",
        PROBE_EXPIRE,
        "nonce",
    )
    pieces = ["expire_time" if p == str(PROBE_EXPIRE) else p for p in scheme.string_to_sign(probe).split(":")]
    filled = [p for p in pieces if p]
    assert set(filled) <= set(FIELD_ORDER) and len(set(filled)) == len(filled), pieces
    missing = iter(n for n in FIELD_ORDER if n not in filled)  # empty slots, in field order
    return tuple(p or next(missing) for p in pieces), frozenset(filled)


_PROBED = {m: _probe(m) for m in scheme.Mode}
LAYOUT: dict[scheme.Mode, tuple[str, ...]] = {m: p[0] for m, p in _PROBED.items()}
FILLED: dict[scheme.Mode, frozenset[str]] = {m: p[1] for m, p in _PROBED.items()}


class FieldsView:
    """What a string_to_sign mistake sees: the fields, and joins of them."""

    def __init__(self, f: scheme.Fields, oracle: str | None = None):
        self.f = f
        self.mode = scheme.Mode(f.mode)
        self.layout = LAYOUT[self.mode]
        if oracle is not None:  # the caller computed it already
            self.__dict__["oracle"] = oracle

    @cached_property
    def oracle(self) -> str | None:
        """The correct string to sign, None if the scheme refuses the fields."""
        try:
            return scheme.string_to_sign(self.f)
        except scheme.SchemeError:
            return None

    @property
    def refused(self) -> bool:
        return self.oracle is None

    @cached_property
    def baseline(self) -> str:
        """The oracle's string, or for refused fields the join it would make without refusing."""
        return self.oracle if self.oracle is not None else self.join()

    def value(self, name: str, raw: bool = False) -> str:
        if name == "expire_time":
            return str(self.f.expire_time)
        if raw or name in FILLED[self.mode]:
            return getattr(self.f, name)
        return ""  # a slot the mode leaves empty

    def join(
        self,
        sep: str = ":",
        *,
        slots=None,
        each=None,
        only=TEXT_FIELDS,
        exp=None,
        raw: bool = False,
        skip_empty: bool = False,
    ) -> str:
        """The fields in `slots` (default: the mode's layout) joined by sep; `each` maps the
        text fields named in `only`, `exp` maps the expire time; `raw` fills slots the mode
        leaves empty with the given value; `skip_empty` drops empty values."""
        out = []
        for name in self.layout if slots is None else slots:
            if name == "expire_time" and exp is not None:
                v = exp(self.f.expire_time)
            else:
                v = self.value(name, raw)
                if each is not None and name in only:
                    v = each(v)
            if v or not skip_empty:
                out.append(v)
        return sep.join(out)


class Signing:
    """What a signature mistake sees: one string to sign and the key, with shared lazy results."""

    def __init__(self, data: str, key: str, correct: str | None = None, app_id: str = ""):
        self.data, self.key, self.app_id = data, key, app_id  # app_id: for the header-shaped mistakes
        if correct is not None:
            self.__dict__["correct"] = correct

    @cached_property
    def data_utf8(self) -> bytes | None:
        return utf8_or_none(self.data)

    @cached_property
    def key_utf8(self) -> bytes | None:
        return utf8_or_none(self.key)

    @cached_property
    def correct(self) -> str | None:
        """scheme.sign(data, key), None if there is nothing the scheme can sign."""
        try:
            return scheme.sign(self.data, self.key)
        except scheme.SchemeError:
            return None

    @cached_property
    def digest(self) -> bytes:
        """The correct raw HMAC, for formatting mistakes (raises when there is none)."""
        if self.correct is None:
            raise ValueError("no UTF-8 form to sign")
        return bytes.fromhex(self.correct)

    def resign(self, data: str | None = None, key: str | None = None) -> str | None:
        """Correctly sign other text; None when it is the same text (the mistake changed nothing)."""
        d = self.data if data is None else data
        k = self.key if key is None else key
        if d == self.data and k == self.key:
            return None
        return scheme.sign(d, k)

    def rebytes(self, encode: Callable[[str], bytes]) -> str | None:
        """HMAC-SHA256 over other bytes for the same text; None when they are the UTF-8 bytes."""
        d, k = encode(self.data), encode(self.key)
        if d == self.data_utf8 and k == self.key_utf8:
            return None
        return scheme.hmac_hex(d, k)

    def with_key(self, key: bytes) -> str:
        """HMAC-SHA256 of the UTF-8 data under other key bytes."""
        if self.data_utf8 is None:
            raise ValueError("no UTF-8 form to sign")
        return scheme.hmac_hex(self.data_utf8, key)

    def mac(self, algorithm: str) -> str:
        """Hex HMAC of the UTF-8 bytes with another hash function."""
        if self.data_utf8 is None or self.key_utf8 is None:
            raise ValueError("no UTF-8 form to sign")
        return hmac.new(self.key_utf8, self.data_utf8, algorithm).hexdigest()

    def plain(self, *parts: str) -> str:
        """Hex SHA-256 (no HMAC) of the UTF-8 parts concatenated."""
        if self.data_utf8 is None or self.key_utf8 is None:
            raise ValueError("no UTF-8 form to sign")
        h = hashlib.sha256()
        for p in parts:
            h.update(self.data_utf8 if p == "data" else self.key_utf8)
        return h.hexdigest()


def utf8_or_none(s: str) -> bytes | None:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return None


def hex_shape(n: int) -> re.Pattern:
    """The shape of n lowercase hex digits (a signature entry's `shape`)."""
    return re.compile(f"[0-9a-f]{{{n}}}")


HEX64 = hex_shape(64)


def attempt(fn, arg) -> str | None:
    """A mistake's output, None when it does not apply (returned None or raised)."""
    try:
        return fn(arg)
    except Exception:  # an encoding that cannot hold the input, a key that is not base64...
        return None

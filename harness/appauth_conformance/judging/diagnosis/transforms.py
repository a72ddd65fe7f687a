"""The small mistaken computations the catalogue's entries are written with."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from appauth_conformance.judging.diagnosis.context import FieldsView, Signing

SURROGATE = re.compile("[\ud800-\udfff]")
ASTRAL = re.compile("[\U00010000-\U0010ffff]")
JAVA_TRIM = "".join(map(chr, range(0x21)))  # String.trim(): every char <= U+0020, NUL included


def swap(a: str, b: str):
    def text(c: FieldsView):
        slots = list(c.layout)
        if a not in slots or b not in slots:
            return None
        i, j = slots.index(a), slots.index(b)
        slots[i], slots[j] = slots[j], slots[i]
        return c.join(slots=slots)

    return text


def app_id_last(c: FieldsView) -> str:
    return c.join(slots=[n for n in c.layout if n != "app_id"] + ["app_id"])


def cut(s: str) -> str:
    """What C's strlen sees: everything before the first NUL."""
    return s.partition("\0")[0] if "\0" in s else s


def java_double(t: int) -> str:
    """Java's Double.toString of an integral value: "1.6040206E9" from 10^7 up, "123.0" below."""
    x = float(t)
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)  # a finite number ("n", "N", "F": NaN, sNaN, infinity)
    d = "".join(map(str, digits))
    return ("-" if sign else "") + d[0] + "." + (d[1:] or "0") + "E" + str(len(d) - 1 + exponent)


def js_number(t: int) -> str | None:
    """String(Number(t)) in JavaScript: a double's shortest digits, written out in full below 1e21.
    None where the double is exact (no mistake to see)."""
    x = float(t)
    if int(x) == t and t < 2**53:
        return None
    _sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)  # a finite number ("n", "N", "F": NaN, sNaN, infinity)
    d = "".join(map(str, digits))
    return d + "0" * exponent if exponent >= 0 else str(int(x))


def java_url_encoder(s: str) -> str:
    """java.net.URLEncoder.encode(s, UTF_8): space to '+', keeps [A-Za-z0-9.*_-]."""
    return urllib.parse.quote_plus(s, safe="*").replace("~", "%7E")


def encode_uri_component(s: str) -> str:
    """JavaScript encodeURIComponent: keeps [A-Za-z0-9] and -_.!~*'()."""
    return urllib.parse.quote(s, safe="!~*'()")


def if_surrogate(encode: Callable[[str], bytes]):
    """A lone-surrogate encoding mistake: applies only when the key or data has one (no UTF-8 form)."""

    def sign(s: Signing):
        if s.data_utf8 is not None and s.key_utf8 is not None:
            return None
        return s.rebytes(encode)

    return sign


def charset(encode: Callable[[str], bytes]):
    """An 8-bit charset mistake: makes no difference on ASCII text (str.isascii() is O(1))."""

    def sign(s: Signing):
        if s.data.isascii() and s.key.isascii():
            return None
        return s.rebytes(encode)

    return sign


def nf(form: Literal["NFC", "NFD", "NFKC", "NFKD"]) -> Callable[[str], str]:
    """Unicode normalisation, skipped on ASCII text (which every form leaves alone)."""
    return lambda v: v if v.isascii() else unicodedata.normalize(form, v)


def pair_up(s: str) -> str:
    """Valid surrogate pairs (if a str holds them as two code points) become one character."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def replace_lone(s: str, by: str) -> str:
    return SURROGATE.sub(by, pair_up(s))


def cesu8(s: str) -> bytes:
    """CESU-8: every UTF-16 code unit as its own 1-3 byte sequence (supplementary chars take 6)."""

    def split(m):
        v = ord(m.group()) - 0x10000
        return chr(0xD800 + (v >> 10)) + chr(0xDC00 + (v & 0x3FF))

    return ASTRAL.sub(split, pair_up(s)).encode("utf-8", "surrogatepass")


def if_cesu(encode: Callable[[str], bytes], nul: bool = False):
    """A CESU-8 mistake: differs from UTF-8 only on surrogates, supplementary chars (and NUL)."""

    def hit(x: str) -> bool:
        return (not x.isascii() and (SURROGATE.search(x) is not None or ASTRAL.search(x) is not None)) or (
            nul and "\0" in x
        )

    def sign(s: Signing):
        return s.rebytes(encode) if hit(s.data) or hit(s.key) else None

    return sign


def b64_key(urlsafe: bool):
    def sign(s: Signing):
        k = s.key
        if not k or (urlsafe and not ("-" in k or "_" in k)):
            return None
        if urlsafe:
            k = k.translate(str.maketrans("-_", "+/"))
        return s.with_key(base64.b64decode(k, validate=True))  # binascii.Error: does not apply

    return sign


def hex_key(s: Signing):
    if not s.key or not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", s.key):
        return None
    return s.with_key(bytes.fromhex(s.key))


def java_sign_extended(digest: bytes) -> str:
    """Integer.toHexString(b) on a Java (signed) byte: no padding, "ffffff80" for 0x80."""
    return "".join(format(b | 0xFFFFFF00 if b >= 0x80 else b, "x") for b in digest)


# -- the string to sign built the way other request-signing schemes build theirs -----------------

API_NAMES = {"app_id": "appId", "corp_id": "corpId", "user_id": "userId", "expire_time": "expireTime", "nonce": "nonce"}


def named_slots(c: FieldsView) -> list[tuple[str, str]]:
    """(API field name, value) of the mode's slots, in slot order (the names of the appauth request body)."""
    return [(API_NAMES[n], c.value(n)) for n in c.layout]


def literal_for_empty_ids(literal: str) -> Callable[[FieldsView], str | None]:
    """An empty CorpID/UserID slot written as `literal` ("null", "None", "undefined"): a missing value
    concatenated by Java +, a Python f-string or a JS template literal."""

    def text(c: FieldsView) -> str | None:
        empty = [n for n in ("corp_id", "user_id") if n in c.layout and c.value(n) == ""]
        if not empty:
            return None
        return c.join(each=lambda v: v or literal, only=tuple(empty))

    return text


def json_body(c: FieldsView) -> str:
    """The request body's fields as compact JSON (JSON.stringify, Jackson), in slot order."""
    body = {k: (int(v) if k == "expireTime" else v) for k, v in named_slots(c)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def query_pairs(c: FieldsView) -> str:
    """`name=value` pairs sorted by name and joined by '&' (WeChat Pay, Alibaba RPC, OAuth 1.0)."""
    return "&".join(f"{k}={v}" for k, v in sorted(named_slots(c)))


def int32_wrapped(t: object) -> str | None:
    """ExpireTime held in a signed 32-bit field: 2^31 and above wrap negative (Java `(int)`, C `int32_t`,
    Go `int32(t)`). None where the value fits, or where the wrap reads as a plain low-32-bit cut."""
    if not isinstance(t, int) or isinstance(t, bool) or t < 2**31:
        return None
    wrapped = (t + 2**31) % 2**32 - 2**31
    return str(wrapped) if wrapped < 0 else None


def uint32_cut(t: object) -> str | None:
    """ExpireTime held in an unsigned 32-bit field: only its low 32 bits kept (C `uint32_t`, Go `uint32(t)`).
    None where the value fits (below 2^32)."""
    if not isinstance(t, int) or isinstance(t, bool) or t < 2**32:
        return None
    return str(t % 2**32)


def shifted_expire(seconds: int) -> Callable[[int], str]:
    """ExpireTime moved by a time zone's offset (a naive local datetime taken for UTC, or the reverse)."""
    return lambda t: str(t + seconds)


def iso_expire(fmt: str) -> Callable[[int], str]:
    """ExpireTime as a UTC date (raises, so the mistake does not apply, beyond year 9999)."""
    return lambda t: datetime.datetime.fromtimestamp(t, datetime.UTC).strftime(fmt)


def access_value(app_id: str) -> str:
    """The access= value of the Authorization header: base64 of the UTF-8 AppID."""
    return base64.b64encode(app_id.encode("utf-8")).decode("ascii")


def go_sum_appends(s: Signing) -> str | None:
    """Go's mac.Sum(data) with nothing written: the data followed by the MAC of the empty message."""
    if s.data_utf8 is None or s.key_utf8 is None:
        return None
    return (s.data_utf8 + hmac.digest(s.key_utf8, b"", "sha256")).hex()


def hmac_of_hash(s: Signing) -> str | None:
    """HMAC over the hex SHA-256 of the string, as Huawei APIG and AWS SigV4 sign a canonical request."""
    if s.data_utf8 is None or s.key_utf8 is None:
        return None
    return hmac.digest(s.key_utf8, hashlib.sha256(s.data_utf8).hexdigest().encode("ascii"), "sha256").hex()

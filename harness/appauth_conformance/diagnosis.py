"""Name the implementation mistake behind a wrong output.

When a signer's output for a vector is wrong, `diagnose()` recomputes the
output under every entry of `CATALOGUE` -- a list of known implementation
mistakes -- and returns each mistake whose recomputation reproduces the actual
output exactly. An empty list means "no known mistake explains it" (or the
output was right after all).

There are two kinds of entries; each is defined once and serves both stages
where it can:

* ``stage="string_to_sign"``: a function of the fields that builds a wrong
  string to sign (wrong separator, wrong order, milliseconds, NFC...). It is
  matched against the reported string to sign, AND its correct signature
  (``scheme.sign(wrong_string, app_key)``) is matched against the reported
  signature, so a signer that reports only a signature but joins its fields
  wrongly is still diagnosed.
* ``stage="signature"``: a function of (string to sign, app_key) that signs
  wrongly (upper-case hex, Latin-1 bytes, SHA-1, NUL truncation of the key...).
  It is evaluated on the correct string to sign and, when the signer reports a
  different one, on the string the signer says it signed too, so a signer
  that both joins wrongly and, say, upper-cases its hex is named with both
  mistakes.

The formula itself is never written here: the correct string to sign and
signature come from `appauth_conformance.scheme`, and the order of the slots that the
join-level mistakes rearrange is read off `scheme.string_to_sign` by probing
it once per mode (`LAYOUT`).

A mistake "does not apply" -- and is skipped -- when its function returns
None, raises (a UnicodeEncodeError from an encoding that cannot hold the
input, a binascii.Error from a key that is not base64...), or produces the
correct output (the mistake would make no difference on this input). Two
mistakes may produce the same output on some inputs (base64 and base64url
when the digest has no '+' or '/'; expire-float and expire-java-double below
10^7 seconds); diagnose() then names all of them.

Two entries describe signing what the scheme refuses (a corp_id/user_id the
mode leaves empty, a negative expire time): their output is the join the
scheme would have made had it not refused, and they apply only to refused
inputs. All other entries use that same unrefused join as their starting
point, so they still explain outputs for refused inputs.

Adding a mistake is adding one `_text(...)` or `_sig(...)` line to CATALOGUE
(id, title, typical origin, function), a row in docs/diagnosis.md, and a case
in tests/test_diagnosis.py. For a signature-stage entry whose output is not 64
lowercase hex digits, give `shape=` (a regex of every output it can produce):
it lets diagnose() skip the entry without computing anything when the actual
signature cannot be its output.

Performance: diagnose() computes lazily (no HMAC at all when only a string to
sign is reported), checks cheap applicability first (e.g. "is there a NUL?"),
computes each mistaken string to sign once per call, signs each distinct
string once, shares the correct digest between all formatting mistakes, and
skips entries whose output shape cannot match. It is pure: no I/O, no global
state beyond the import-time layout probe.

Catalogue (see docs/diagnosis.md for origins):

  string_to_sign: separator-pipe, separator-comma, separator-semicolon,
    separator-empty, separator-ampersand, separator-newline, separator-space,
    empty-fields-skipped, uncarried-slots-dropped, corp-slot-in-single,
    corp-slot-omitted, uncarried-field-signed, uncarried-field-ignored,
    expire-unchecked, user-before-corp, nonce-before-expire, app-id-last,
    fields-reversed, expire-milliseconds, expire-float, expire-java-double, expire-js-number,
    nul-truncates-data, fields-stripped, fields-java-trimmed, string-stripped,
    fields-nfc, fields-nfd, fields-nfkc, ids-lowercased, fields-url-encoded,
    fields-uri-component, fields-form-encoded, string-url-encoded,
    app-id-base64, trailing-newline, trailing-crlf, trailing-colon
  signature: hex-uppercase, hex-unpadded, hex-java-sign-extended,
    hex-bigint-unpadded, hex-truncated-128, base64, base64url,
    base64url-unpadded, base64-of-hex, raw-digest-latin1, raw-digest-utf8,
    key-data-swapped, nul-truncates-key, nul-truncates-both, key-stripped,
    key-java-trimmed, key-nfc, key-nfd, nfc-everywhere, nfd-everywhere,
    key-hex-decoded, key-base64-decoded, key-base64url-decoded,
    latin1-replace, cp1252-replace, ascii-replace, utf16le, utf16be,
    utf16-bom, double-utf8, surrogate-question-mark,
    surrogate-replacement-char, surrogate-dropped, surrogate-wtf8, cesu8,
    modified-utf8, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512,
    hmac-sha512-truncated, hmac-md5, hmac-sha3-256, sha256-key-data,
    sha256-data-key, sha256-data
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from . import scheme

__all__ = ["BY_ID", "CATALOGUE", "STAGES", "Mistake", "diagnose"]

STAGES = ("string_to_sign", "signature")


@dataclass(frozen=True)
class Mistake:
    """One known way to get the signature wrong."""

    id: str  # kebab-case, stable, e.g. "hex-uppercase"
    title: str  # one line for humans: "hex digits in upper case"
    stage: str  # "string_to_sign" or "signature": which output it explains
    origin: str = ""  # where it typically comes from: "C printf %x"
    # internal: the mistaken computation. A string_to_sign entry has `text(_Fields) -> str | None`;
    # a signature entry has `sign(_Signing) -> str | None`. `shape` matches every output of a
    # signature entry (None: anything); `refused_only` marks entries that sign refused input.
    text: Callable[[_Fields], str | None] | None = field(default=None, repr=False, compare=False)
    sign: Callable[[_Signing], str | None] | None = field(default=None, repr=False, compare=False)
    shape: re.Pattern | None = field(default=None, repr=False, compare=False)
    refused_only: bool = field(default=False, repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# The slot layout of each mode, read off the oracle (never written out here).

_FIELD_ORDER = ("app_id", "corp_id", "user_id", "expire_time", "nonce")
_TEXT_FIELDS = ("app_id", "corp_id", "user_id", "nonce")
_IDS = ("app_id", "corp_id", "user_id")
_PROBE_EXPIRE = 7


def _probe(mode: scheme.Mode) -> tuple[tuple[str, ...], frozenset[str]]:
    """(slot names in order, names the mode fills) from the oracle's string for named placeholders."""
    carried = scheme.CARRIES[mode]
    probe = scheme.Fields(
        mode,
        "app_id",
        "corp_id" if "corp_id" in carried else "",
        "user_id" if "user_id" in carried else "",
        _PROBE_EXPIRE,
        "nonce",
    )
    pieces = ["expire_time" if p == str(_PROBE_EXPIRE) else p for p in scheme.string_to_sign(probe).split(":")]
    filled = [p for p in pieces if p]
    assert set(filled) <= set(_FIELD_ORDER) and len(set(filled)) == len(filled), pieces
    missing = iter(n for n in _FIELD_ORDER if n not in filled)  # empty slots, in field order
    return tuple(p or next(missing) for p in pieces), frozenset(filled)


_PROBED = {m: _probe(m) for m in scheme.Mode}
LAYOUT: dict[scheme.Mode, tuple[str, ...]] = {m: p[0] for m, p in _PROBED.items()}
FILLED: dict[scheme.Mode, frozenset[str]] = {m: p[1] for m, p in _PROBED.items()}


class _Fields:
    """What a string_to_sign mistake sees: the fields, and joins of them."""

    def __init__(self, f: scheme.Fields):
        self.f = f
        self.mode = scheme.Mode(f.mode)
        self.layout = LAYOUT[self.mode]

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
        only=_TEXT_FIELDS,
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


class _Signing:
    """What a signature mistake sees: one string to sign and the key, with shared lazy results."""

    def __init__(self, data: str, key: str, correct: str | None = None):
        self.data, self.key = data, key
        if correct is not None:
            self.__dict__["correct"] = correct

    @cached_property
    def data_utf8(self) -> bytes | None:
        return _utf8_or_none(self.data)

    @cached_property
    def key_utf8(self) -> bytes | None:
        return _utf8_or_none(self.key)

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


def _utf8_or_none(s: str) -> bytes | None:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return None


# --------------------------------------------------------------------------------------------
# Small helpers the catalogue entries are written with.

_SURROGATE = re.compile("[\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_JAVA_TRIM = "".join(map(chr, range(0x21)))  # String.trim(): every char <= U+0020, NUL included


def _hex(n: int) -> re.Pattern:
    return re.compile(f"[0-9a-f]{{{n}}}")


_HEX64 = _hex(64)


def _swap(a: str, b: str):
    def text(c: _Fields):
        slots = list(c.layout)
        if a not in slots or b not in slots:
            return None
        i, j = slots.index(a), slots.index(b)
        slots[i], slots[j] = slots[j], slots[i]
        return c.join(slots=slots)

    return text


def _app_id_last(c: _Fields) -> str:
    return c.join(slots=[n for n in c.layout if n != "app_id"] + ["app_id"])


def _cut(s: str) -> str:
    """What C's strlen sees: everything before the first NUL."""
    return s.partition("\0")[0] if "\0" in s else s


def _java_double(t: int) -> str:
    """Java's Double.toString of an integral value: "1.6040206E9" from 10^7 up, "123.0" below."""
    x = float(t)
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    d = "".join(map(str, digits))
    return ("-" if sign else "") + d[0] + "." + (d[1:] or "0") + "E" + str(len(d) - 1 + exponent)


def _js_number(t: int) -> str | None:
    """String(Number(t)) in JavaScript: a double's shortest digits, written out in full below 1e21.
    None where the double is exact (no mistake to see)."""
    x = float(t)
    if int(x) == t and t < 2**53:
        return None
    _sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    d = "".join(map(str, digits))
    return d + "0" * exponent if exponent >= 0 else str(int(x))


def _java_url_encoder(s: str) -> str:
    """java.net.URLEncoder.encode(s, UTF_8): space to '+', keeps [A-Za-z0-9.*_-]."""
    return urllib.parse.quote_plus(s, safe="*").replace("~", "%7E")


def _encode_uri_component(s: str) -> str:
    """JavaScript encodeURIComponent: keeps [A-Za-z0-9] and -_.!~*'()."""
    return urllib.parse.quote(s, safe="!~*'()")


def _if_surrogate(encode: Callable[[str], bytes]):
    """A lone-surrogate encoding mistake: applies only when the key or data has one (no UTF-8 form)."""

    def sign(s: _Signing):
        if s.data_utf8 is not None and s.key_utf8 is not None:
            return None
        return s.rebytes(encode)

    return sign


def _charset(encode: Callable[[str], bytes]):
    """An 8-bit charset mistake: makes no difference on ASCII text (str.isascii() is O(1))."""

    def sign(s: _Signing):
        if s.data.isascii() and s.key.isascii():
            return None
        return s.rebytes(encode)

    return sign


def _nf(form: str) -> Callable[[str], str]:
    """Unicode normalisation, skipped on ASCII text (which every form leaves alone)."""
    return lambda v: v if v.isascii() else unicodedata.normalize(form, v)


def _pair_up(s: str) -> str:
    """Valid surrogate pairs (if a str holds them as two code points) become one character."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _replace_lone(s: str, by: str) -> str:
    return _SURROGATE.sub(by, _pair_up(s))


def _cesu8(s: str) -> bytes:
    """CESU-8: every UTF-16 code unit as its own 1-3 byte sequence (supplementary chars take 6)."""

    def split(m):
        v = ord(m.group()) - 0x10000
        return chr(0xD800 + (v >> 10)) + chr(0xDC00 + (v & 0x3FF))

    return _ASTRAL.sub(split, _pair_up(s)).encode("utf-8", "surrogatepass")


def _if_cesu(encode: Callable[[str], bytes], nul: bool = False):
    """A CESU-8 mistake: differs from UTF-8 only on surrogates, supplementary chars (and NUL)."""

    def hit(x: str) -> bool:
        return (not x.isascii() and (_SURROGATE.search(x) or _ASTRAL.search(x))) or (nul and "\0" in x)

    def sign(s: _Signing):
        return s.rebytes(encode) if hit(s.data) or hit(s.key) else None

    return sign


def _b64_key(urlsafe: bool):
    def sign(s: _Signing):
        k = s.key
        if not k or (urlsafe and not ("-" in k or "_" in k)):
            return None
        if urlsafe:
            k = k.translate(str.maketrans("-_", "+/"))
        return s.with_key(base64.b64decode(k, validate=True))  # binascii.Error: does not apply

    return sign


def _hex_key(s: _Signing):
    if not s.key or not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", s.key):
        return None
    return s.with_key(bytes.fromhex(s.key))


def _java_sign_extended(digest: bytes) -> str:
    """Integer.toHexString(b) on a Java (signed) byte: no padding, "ffffff80" for 0x80."""
    return "".join(format(b | 0xFFFFFF00 if b >= 0x80 else b, "x") for b in digest)


def _text(id: str, title: str, origin: str, text, refused_only: bool = False) -> Mistake:
    return Mistake(id, title, "string_to_sign", origin, text=text, refused_only=refused_only)


def _sig(id: str, title: str, origin: str, sign, shape: str | re.Pattern | None = _HEX64) -> Mistake:
    return Mistake(
        id, title, "signature", origin, sign=sign, shape=re.compile(shape) if isinstance(shape, str) else shape
    )


# --------------------------------------------------------------------------------------------
# The catalogue. One entry per line-group: id, title, typical origin, computation.
# `c` is a _Fields (string_to_sign stage), `s` a _Signing (signature stage).

CATALOGUE: tuple[Mistake, ...] = (
    # --- the string to sign: separator -------------------------------------------------------
    _text(
        "separator-pipe",
        "fields joined with '|' instead of ':'",
        "copied from another signing scheme",
        lambda c: c.join("|"),
    ),
    _text(
        "separator-comma",
        "fields joined with ',' instead of ':'",
        'String.join(",", ...) / CSV habit',
        lambda c: c.join(","),
    ),
    _text(
        "separator-semicolon",
        "fields joined with ';' instead of ':'",
        "copied from another signing scheme",
        lambda c: c.join(";"),
    ),
    _text(
        "separator-empty",
        "fields concatenated with no separator",
        "StringBuilder.append without the ':'",
        lambda c: c.join(""),
    ),
    _text(
        "separator-ampersand",
        "fields joined with '&' instead of ':'",
        "query-string style signing (OAuth habit)",
        lambda c: c.join("&"),
    ),
    _text(
        "separator-newline",
        "fields joined with '\\n' instead of ':'",
        "canonical-request style (AWS SigV4 habit)",
        lambda c: c.join("\n"),
    ),
    _text(
        "separator-space",
        "fields joined with ' ' instead of ':'",
        "' '.join / printf(\"%s %s\")",
        lambda c: c.join(" "),
    ),
    # --- the string to sign: which slots ----------------------------------------------------
    _text(
        "empty-fields-skipped",
        "empty fields left out together with their colon",
        "join over non-empty values (filter(None, ...), StringUtils.join skipping blanks)",
        lambda c: c.join(skip_empty=True),
    ),
    _text(
        "uncarried-slots-dropped",
        "slots the mode leaves empty dropped (AppID:ExpireTime:Nonce for sp_admin)",
        "building the list from the fields the mode uses",
        lambda c: c.join(slots=[n for n in c.layout if n in FILLED[c.mode]]),
    ),
    _text(
        "corp-slot-in-single",
        "CorpID slot included in single mode (AppID:CorpID:UserID:...)",
        "one five-slot template for every mode",
        lambda c: c.join(slots=LAYOUT[scheme.Mode.SP_USER], raw=True) if c.mode is scheme.Mode.SINGLE else None,
    ),
    _text(
        "corp-slot-omitted",
        "CorpID slot left out in a service-provider mode",
        "single-enterprise template reused for SP apps",
        lambda c: c.join(slots=[n for n in c.layout if n != "corp_id"]) if c.mode is not scheme.Mode.SINGLE else None,
    ),
    _text(
        "uncarried-field-signed",
        "a corp_id/user_id the mode leaves empty signed in its slot (not refused)",
        "no input validation: the template takes every field",
        lambda c: c.join(raw=True) if c.mode is not scheme.Mode.SINGLE else None,
    ),
    _text(
        "uncarried-field-ignored",
        "a corp_id/user_id the mode leaves empty silently dropped (not refused)",
        "no input validation: the template takes only the mode's fields",
        lambda c: (
            c.baseline
            if c.refused and any(getattr(c.f, n) for n in ("corp_id", "user_id") if n not in FILLED[c.mode])
            else None
        ),
        refused_only=True,
    ),
    _text(
        "expire-unchecked",
        "a negative or non-integer expire time signed as given (not refused)",
        "no input validation on ExpireTime",
        lambda c: (
            c.baseline
            if c.refused
            and (isinstance(c.f.expire_time, bool) or not isinstance(c.f.expire_time, int) or c.f.expire_time < 0)
            else None
        ),
        refused_only=True,
    ),
    # --- the string to sign: order ----------------------------------------------------------
    _text(
        "user-before-corp",
        "UserID before CorpID",
        "fields in the order of another API's body",
        _swap("corp_id", "user_id"),
    ),
    _text(
        "nonce-before-expire",
        "Nonce before ExpireTime",
        "fields in alphabetical or body order",
        _swap("expire_time", "nonce"),
    ),
    _text("app-id-last", "AppID last instead of first", "fields in the order of another API's body", _app_id_last),
    _text(
        "fields-reversed", "fields in reverse order", "list built by prepending", lambda c: c.join(slots=c.layout[::-1])
    ),
    # --- the string to sign: expire time ------------------------------------------------------
    _text(
        "expire-milliseconds",
        "ExpireTime in milliseconds (x1000)",
        "JS Date.now() / Java currentTimeMillis()",
        lambda c: c.join(exp=lambda t: str(t * 1000)),
    ),
    _text(
        "expire-float",
        'ExpireTime as a float string ("1604020600.0")',
        "Python time.time() + ttl, str(float)",
        lambda c: c.join(exp=lambda t: repr(float(t))),
    ),
    _text(
        "expire-java-double",
        'ExpireTime as a Java double ("1.6040206E9")',
        "Java String.valueOf(double)",
        lambda c: c.join(exp=_java_double),
    ),
    _text(
        "expire-js-number",
        "ExpireTime rounded through a float64 (2^63-1 becomes 9223372036854776000)",
        "JavaScript Number / JSON.parse of a big integer",
        lambda c: c.join(exp=_js_number) if _js_number(c.f.expire_time) else None,
    ),
    # --- the string to sign: text -------------------------------------------------------------
    _text(
        "nul-truncates-data",
        "string to sign cut at the first NUL",
        "C strlen() on the data",
        lambda c: _cut(c.baseline),
    ),
    _text(
        "fields-stripped",
        "Unicode whitespace stripped from each field",
        "Python str.strip() / Java strip()",
        lambda c: c.join(each=str.strip),
    ),
    _text(
        "fields-java-trimmed",
        "chars <= U+0020 (NUL too) trimmed from each field",
        "Java String.trim()",
        lambda c: c.join(each=lambda v: v.strip(_JAVA_TRIM)),
    ),
    _text(
        "string-stripped",
        "whitespace stripped from the whole string to sign",
        "strip() on the joined string / a line reader",
        lambda c: c.baseline.strip(),
    ),
    _text(
        "fields-nfc",
        "fields NFC-normalised",
        "input layer normalising text (browsers, databases)",
        lambda c: c.join(each=_nf("NFC")),
    ),
    _text("fields-nfd", "fields NFD-normalised", "macOS file names / HFS+ input", lambda c: c.join(each=_nf("NFD"))),
    _text(
        "fields-nfkc",
        "fields NFKC-normalised",
        "identifier normalisation (Python identifiers, IDNA-like code)",
        lambda c: c.join(each=_nf("NFKC")),
    ),
    _text(
        "ids-lowercased",
        "AppID/CorpID/UserID lower-cased",
        "case-insensitive id handling",
        lambda c: c.join(each=str.lower, only=_IDS),
    ),
    _text(
        "fields-url-encoded",
        "each field percent-encoded (RFC 3986)",
        "Python urllib.parse.quote(safe='')",
        lambda c: c.join(each=lambda v: urllib.parse.quote(v, safe="")),
    ),
    _text(
        "fields-uri-component",
        "each field encodeURIComponent-encoded",
        "JavaScript encodeURIComponent",
        lambda c: c.join(each=_encode_uri_component),
    ),
    _text(
        "fields-form-encoded",
        "each field form-encoded (space as '+')",
        "Java URLEncoder.encode",
        lambda c: c.join(each=_java_url_encoder),
    ),
    _text(
        "string-url-encoded",
        "the whole string to sign percent-encoded",
        "URL-encoding the joined string",
        lambda c: urllib.parse.quote(c.baseline, safe=""),
    ),
    _text(
        "app-id-base64",
        "AppID base64-encoded (as in the access= header)",
        "reusing the Authorization header's access value",
        lambda c: c.join(each=lambda v: base64.b64encode(v.encode("utf-8")).decode("ascii"), only=("app_id",)),
    ),
    _text(
        "trailing-newline",
        "'\\n' appended to the string to sign",
        "echo without -n | openssl dgst; println",
        lambda c: c.baseline + "\n",
    ),
    _text(
        "trailing-crlf",
        "'\\r\\n' appended to the string to sign",
        "Windows line ending from a writer",
        lambda c: c.baseline + "\r\n",
    ),
    _text(
        "trailing-colon",
        "':' appended to the string to sign",
        "a loop writing field + ':' for every field",
        lambda c: c.baseline + ":",
    ),
    # --- the signature: output format -------------------------------------------------------
    _sig(
        "hex-uppercase",
        "hex digits in upper case",
        "Java DatatypeConverter.printHexBinary, C printf %02X",
        lambda s: s.digest.hex().upper(),
        shape="[0-9A-F]{64}",
    ),
    _sig(
        "hex-unpadded",
        "bytes below 0x10 written as one hex digit",
        "C printf %x instead of %02x, Integer.toHexString(b & 0xff)",
        lambda s: "".join(f"{b:x}" for b in s.digest),
        shape="[0-9a-f]{32,63}",
    ),
    _sig(
        "hex-java-sign-extended",
        "bytes >= 0x80 sign-extended to 'ffffff..', no padding",
        "Java Integer.toHexString(b) on a signed byte",
        lambda s: _java_sign_extended(s.digest),
        shape="[0-9a-f]{32,256}",
    ),
    _sig(
        "hex-bigint-unpadded",
        "leading zero hex digits dropped",
        "Java new BigInteger(1, digest).toString(16)",
        lambda s: format(int.from_bytes(s.digest, "big"), "x"),
        shape="[0-9a-f]{1,63}",
    ),
    _sig(
        "hex-truncated-128",
        "only the first 32 hex digits",
        "a char[33] buffer / HMAC truncation to 128 bits",
        lambda s: s.digest.hex()[:32],
        shape=_hex(32),
    ),
    _sig(
        "base64",
        "standard base64 of the digest instead of hex",
        "Base64.getEncoder() / CryptoJS.enc.Base64",
        lambda s: base64.b64encode(s.digest).decode("ascii"),
        shape="[A-Za-z0-9+/]{43}=",
    ),
    _sig(
        "base64url",
        "base64url of the digest instead of hex",
        "Base64.getUrlEncoder() / urlsafe_b64encode",
        lambda s: base64.urlsafe_b64encode(s.digest).decode("ascii"),
        shape="[A-Za-z0-9_-]{43}=",
    ),
    _sig(
        "base64url-unpadded",
        "unpadded base64url of the digest instead of hex",
        "JWT-style encoders, Node digest('base64url')",
        lambda s: base64.urlsafe_b64encode(s.digest).decode("ascii").rstrip("="),
        shape="[A-Za-z0-9_-]{43}",
    ),
    _sig(
        "base64-of-hex",
        "base64 of the hex text",
        "btoa(hex) / Base64 of the hex string's bytes",
        lambda s: base64.b64encode(s.digest.hex().encode("ascii")).decode("ascii"),
        shape="[A-Za-z0-9+/]{86}==",
    ),
    _sig(
        "raw-digest-latin1",
        "raw digest bytes as Latin-1 text",
        "Python digest().decode('latin-1'), PHP hash_hmac(..., true)",
        lambda s: s.digest.decode("latin-1"),
        shape=None,
    ),
    _sig(
        "raw-digest-utf8",
        "raw digest bytes decoded as UTF-8 (U+FFFD for invalid bytes)",
        "Java new String(mac.doFinal(...))",
        lambda s: s.digest.decode("utf-8", "replace"),
        shape=None,
    ),
    # --- the signature: key --------------------------------------------------------------------
    _sig(
        "key-data-swapped",
        "key and data swapped",
        "hmac(data, key) argument order (CryptoJS.HmacSHA256(message, key))",
        lambda s: s.resign(data=s.key, key=s.data),
    ),
    _sig(
        "nul-truncates-key",
        "key cut at the first NUL",
        "C strlen() on the key (OpenSSL HMAC_Init + strlen)",
        lambda s: s.resign(key=_cut(s.key)),
    ),
    _sig(
        "nul-truncates-both",
        "key and data each cut at the first NUL",
        "C strlen() on both (the C++ reference snippet)",
        lambda s: s.resign(data=_cut(s.data), key=_cut(s.key)),
    ),
    _sig(
        "key-stripped",
        "Unicode whitespace stripped from the key",
        "Python str.strip() / Java strip() on config input",
        lambda s: s.resign(key=s.key.strip()),
    ),
    _sig(
        "key-java-trimmed",
        "chars <= U+0020 (NUL too) trimmed from the key",
        "Java String.trim() on the key",
        lambda s: s.resign(key=s.key.strip(_JAVA_TRIM)),
    ),
    _sig("key-nfc", "key NFC-normalised", "input layer normalising text", lambda s: s.resign(key=_nf("NFC")(s.key))),
    _sig("key-nfd", "key NFD-normalised", "macOS text input / file names", lambda s: s.resign(key=_nf("NFD")(s.key))),
    _sig(
        "nfc-everywhere",
        "key and string to sign NFC-normalised",
        "normalising every input",
        lambda s: s.resign(data=_nf("NFC")(s.data), key=_nf("NFC")(s.key)),
    ),
    _sig(
        "nfd-everywhere",
        "key and string to sign NFD-normalised",
        "macOS text input for every value",
        lambda s: s.resign(data=_nf("NFD")(s.data), key=_nf("NFD")(s.key)),
    ),
    _sig(
        "key-hex-decoded",
        "key hex-decoded to bytes (it looked like hex)",
        "treating a hex-looking appKey as binary (AWS/Stripe habit)",
        _hex_key,
    ),
    _sig(
        "key-base64-decoded",
        "key base64-decoded to bytes (it was valid base64)",
        "treating the appKey as a base64 secret",
        _b64_key(urlsafe=False),
    ),
    _sig(
        "key-base64url-decoded",
        "key base64url-decoded to bytes",
        "treating the appKey as a base64url secret (JWK habit)",
        _b64_key(urlsafe=True),
    ),
    # --- the signature: text encoding ---------------------------------------------------------
    _sig(
        "latin1-replace",
        "text encoded as Latin-1, '?' for what it cannot hold",
        "Java getBytes(ISO_8859_1), Python encode('latin-1', 'replace')",
        _charset(lambda t: t.encode("latin-1", "replace")),
    ),
    _sig(
        "cp1252-replace",
        "text encoded as Windows-1252, '?' for what it cannot hold",
        "Java getBytes() with the Windows default charset",
        _charset(lambda t: t.encode("cp1252", "replace")),
    ),
    _sig(
        "ascii-replace",
        "text encoded as ASCII, '?' for what it cannot hold",
        "Java getBytes(US_ASCII), encode('ascii', 'replace')",
        _charset(lambda t: t.encode("ascii", "replace")),
    ),
    _sig(
        "utf16le",
        "text encoded as UTF-16LE",
        "C# Encoding.Unicode, Windows wchar_t buffers",
        lambda s: s.rebytes(lambda t: t.encode("utf-16-le", "surrogatepass")),
    ),
    _sig(
        "utf16be",
        "text encoded as UTF-16BE",
        "Java getBytes(UTF_16BE), JS string code units as bytes",
        lambda s: s.rebytes(lambda t: t.encode("utf-16-be", "surrogatepass")),
    ),
    _sig(
        "utf16-bom",
        "text encoded as UTF-16 with a byte-order mark",
        'Java getBytes("UTF-16") (BE with FE FF)',
        lambda s: s.rebytes(lambda t: b"\xfe\xff" + t.encode("utf-16-be", "surrogatepass")),
    ),
    _sig(
        "double-utf8",
        "text UTF-8 encoded twice (mojibake)",
        "UTF-8 bytes decoded as Latin-1 then encoded again",
        _charset(lambda t: t.encode("utf-8").decode("latin-1").encode("utf-8")),
    ),
    _sig(
        "surrogate-question-mark",
        "lone surrogate replaced by '?'",
        "Java String.getBytes(UTF_8) on a lone surrogate",
        _if_surrogate(lambda t: _replace_lone(t, "?").encode("utf-8")),
    ),
    _sig(
        "surrogate-replacement-char",
        "lone surrogate replaced by U+FFFD",
        "JS TextEncoder, Node Buffer.from, Go, Rust from_utf16_lossy",
        _if_surrogate(lambda t: _replace_lone(t, "\ufffd").encode("utf-8")),
    ),
    _sig(
        "surrogate-dropped",
        "lone surrogate dropped",
        "encode(errors='ignore'), iconv //IGNORE",
        _if_surrogate(lambda t: _replace_lone(t, "").encode("utf-8")),
    ),
    _sig(
        "surrogate-wtf8",
        "lone surrogate encoded as its 3-byte form (WTF-8)",
        "Python surrogatepass, Rust OsStr on Windows",
        _if_surrogate(lambda t: _pair_up(t).encode("utf-8", "surrogatepass")),
    ),
    _sig(
        "cesu8",
        "text encoded as CESU-8 (surrogates as 3-byte units)",
        "Oracle/MySQL utf8 (CESU-8), JNI GetStringUTFChars",
        _if_cesu(_cesu8),
    ),
    _sig(
        "modified-utf8",
        "text encoded as Java modified UTF-8 (CESU-8, NUL as C0 80)",
        "Java DataOutputStream.writeUTF, JNI NewStringUTF",
        _if_cesu(lambda t: _cesu8(t).replace(b"\0", b"\xc0\x80"), nul=True),
    ),
    # --- the signature: algorithm ---------------------------------------------------------------
    _sig(
        "hmac-sha1",
        "HMAC-SHA1 instead of HMAC-SHA256",
        "HmacSHA1 / hashlib.sha1 (older signing schemes)",
        lambda s: s.mac("sha1"),
        shape=_hex(40),
    ),
    _sig(
        "hmac-sha224",
        "HMAC-SHA224 instead of HMAC-SHA256",
        "picking the wrong SHA-2 variant",
        lambda s: s.mac("sha224"),
        shape=_hex(56),
    ),
    _sig(
        "hmac-sha384",
        "HMAC-SHA384 instead of HMAC-SHA256",
        "picking the wrong SHA-2 variant",
        lambda s: s.mac("sha384"),
        shape=_hex(96),
    ),
    _sig(
        "hmac-sha512",
        "HMAC-SHA512 instead of HMAC-SHA256",
        "picking the wrong SHA-2 variant",
        lambda s: s.mac("sha512"),
        shape=_hex(128),
    ),
    _sig(
        "hmac-sha512-truncated",
        "HMAC-SHA512 cut to 64 hex digits",
        "SHA-512 with a 64-char output buffer",
        lambda s: s.mac("sha512")[:64],
    ),
    _sig(
        "hmac-md5",
        "HMAC-MD5 instead of HMAC-SHA256",
        "hmac.new(key, msg) with Python 2's default digestmod",
        lambda s: s.mac("md5"),
        shape=_hex(32),
    ),
    _sig(
        "hmac-sha3-256",
        "HMAC-SHA3-256 instead of HMAC-SHA256",
        "confusing SHA3-256 with SHA-256",
        lambda s: s.mac("sha3_256"),
    ),
    _sig(
        "sha256-key-data",
        "plain SHA-256 of key + data, no HMAC",
        "home-made MAC: sha256(key + data)",
        lambda s: s.plain("key", "data"),
    ),
    _sig(
        "sha256-data-key",
        "plain SHA-256 of data + key, no HMAC",
        "home-made MAC: sha256(data + key)",
        lambda s: s.plain("data", "key"),
    ),
    _sig(
        "sha256-data",
        "plain SHA-256 of the data, key unused",
        "sha256(data) where HMAC was meant",
        lambda s: s.plain("data"),
    ),
)

BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}
assert len(BY_ID) == len(CATALOGUE), "mistake ids must be unique"


def _try(fn, arg) -> str | None:
    """A mistake's output, None when it does not apply (returned None or raised)."""
    try:
        return fn(arg)
    except Exception:  # an encoding that cannot hold the input, a key that is not base64...
        return None


def diagnose(inputs: scheme.Fields, app_key: str, string_to_sign: str | None, signature: str | None) -> list[Mistake]:
    """Every mistake whose output equals the actual string_to_sign (for stage string_to_sign) or
    signature (stage signature, and string_to_sign mistakes signed correctly). Empty list if
    none or if the actual output is correct."""
    c = _Fields(inputs)
    if string_to_sign is not None and string_to_sign == c.oracle:
        string_to_sign = None  # correct: nothing to explain
    base = _Signing(c.baseline, app_key)
    if signature is not None and not c.refused and signature == base.correct:
        signature = None
    if string_to_sign is None and signature is None:
        return []

    # Signature mistakes are tried on the correct string and on the string the signer says it signed.
    contexts = [base]
    if string_to_sign is not None and string_to_sign != c.baseline:
        contexts.append(_Signing(string_to_sign, app_key))
    text_sig_may_match = signature is not None and _HEX64.fullmatch(signature) is not None
    signed: dict[str, str | None] = {}  # mistaken string to sign -> its correct signature

    found = []
    for m in CATALOGUE:
        if m.text is not None:
            if string_to_sign is None and not text_sig_may_match:
                continue
            text = _try(m.text, c)  # computed once per call, used for both stages
            if text is None or (text == c.baseline and not m.refused_only):
                continue  # does not apply, or makes no difference here
            if string_to_sign is not None and text == string_to_sign:
                found.append(m)
            elif text_sig_may_match:
                if text not in signed:
                    signed[text] = _try(lambda t: scheme.sign(t, app_key), text)
                if signed[text] == signature:
                    found.append(m)
        else:
            if signature is None or (m.shape is not None and not m.shape.fullmatch(signature)):
                continue
            for s in contexts:
                out = _try(m.sign, s)
                if out is not None and out == signature and out != s.correct:
                    found.append(m)
                    break
    return found

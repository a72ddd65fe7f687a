"""The App ID authentication signature: the only place that knows the formula.

    Signature = HexEncode(HMAC-SHA256(string_to_sign, appKey))

Key and data are UTF-8 text; hex is lowercase. The string to sign joins the
fields with colons, keeping the colons where a mode leaves a field empty.

`sign` is the oracle; `keyed(key)` gives a `KeyedSigner` that signs many messages
under one key from precomputed HMAC pads (the fuzzer's hot path), with the same result.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum


class Mode(str, Enum):
    """Who signs, which decides which fields the string to sign carries."""

    SINGLE = "single"  # AppID:UserID:ExpireTime:Nonce (UserID may be empty: the owner)
    SP_USER = "sp_user"  # AppID:CorpID:UserID:ExpireTime:Nonce
    SP_CORP_ADMIN = "sp_corp_admin"  # AppID:CorpID::ExpireTime:Nonce
    SP_ADMIN = "sp_admin"  # AppID:::ExpireTime:Nonce


MODES = tuple(m.value for m in Mode)

# Which of (corp_id, user_id) each mode signs; a value given for the other is ignored (not signed).
CARRIES = {
    Mode.SINGLE: ("user_id",),
    Mode.SP_USER: ("corp_id", "user_id"),
    Mode.SP_CORP_ADMIN: ("corp_id",),
    Mode.SP_ADMIN: (),
}


class SchemeError(ValueError):
    """Input the scheme cannot sign."""


class UnencodableText(SchemeError):
    """A field holds text with no UTF-8 form (an unpaired surrogate)."""

    def __init__(self, field: str, position: int, code_unit: int):
        self.field, self.position, self.code_unit = field, position, code_unit
        super().__init__(
            f"{field}: unpaired surrogate U+{code_unit:04X} at position {position} "
            "has no UTF-8 encoding, so there is nothing to sign"
        )


@dataclass(frozen=True)
class Fields:
    """The signed inputs, as text (expire_time in Unix seconds)."""

    mode: Mode
    app_id: str
    corp_id: str
    user_id: str
    expire_time: int
    nonce: str


def string_to_sign(f: Fields) -> str:
    """Join the fields for f.mode. A corp_id or user_id the mode does not sign is ignored: the
    documented string for the mode has an empty slot (or none) there, whatever the caller passed."""
    mode = Mode(f.mode)
    if isinstance(f.expire_time, bool) or not isinstance(f.expire_time, int) or f.expire_time < 0:
        raise SchemeError(f"expire_time must be a non-negative integer of Unix seconds, got {f.expire_time!r}")
    exp = str(f.expire_time)
    parts: tuple[str, ...]
    if mode is Mode.SINGLE:
        parts = (f.app_id, f.user_id, exp, f.nonce)
    elif mode is Mode.SP_USER:
        parts = (f.app_id, f.corp_id, f.user_id, exp, f.nonce)
    elif mode is Mode.SP_CORP_ADMIN:
        parts = (f.app_id, f.corp_id, "", exp, f.nonce)
    else:
        parts = (f.app_id, "", "", exp, f.nonce)
    return ":".join(parts)


def utf8(text: str, field: str) -> bytes:
    """UTF-8 bytes of text, or UnencodableText naming the field and position."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise UnencodableText(field, e.start, ord(text[e.start])) from None


def hmac_hex(data: bytes, key: bytes) -> str:
    """Lowercase hex HMAC-SHA256, the raw primitive (used for RFC 4231 checks)."""
    return hmac.digest(key, data, "sha256").hex()  # the one-shot form: the same HMAC, without an object


def sign(data: str, app_key: str) -> str:
    """The oracle: HexEncode(HMAC-SHA256(data, appKey)) over UTF-8 text."""
    return hmac_hex(utf8(data, "string_to_sign"), utf8(app_key, "app_key"))


_IPAD = bytes(x ^ 0x36 for x in range(256))  # translation tables: every key byte XOR the RFC 2104 pads
_OPAD = bytes(x ^ 0x5C for x in range(256))
BLOCK = 64  # SHA-256's block size: longer HMAC keys are hashed first, shorter ones padded with zeros


class KeyedSigner:
    """HMAC-SHA256 (RFC 2104) keyed once, for signing many messages with one key (the fuzzer's pool keys).

    The key is hashed if longer than BLOCK bytes, padded to BLOCK, and XORed with the inner and outer
    pads once; `sign(data)` then only finishes the two SHA-256 states. That costs about a third of
    `hmac.digest()`, which sets up OpenSSL 3's HMAC afresh on every call. The result equals
    `hmac_hex(data, key)` for every key, including the empty key and keys over 64 bytes.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes):
        if len(key) > BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def sign(self, data: bytes) -> str:
        """Lowercase hex HMAC-SHA256 of data under this signer's key."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def keyed(key: bytes) -> KeyedSigner:
    """A signer for one raw key: `keyed(key).sign(data) == hmac_hex(data, key)`. For text keys, pass
    `utf8(app_key, "app_key")`, as `sign` does."""
    return KeyedSigner(key)


def sign_fields(f: Fields, app_key: str) -> tuple[str, str]:
    """(string_to_sign, signature) for a set of fields; UnencodableText names the field."""
    for name in ("app_id", *CARRIES[Mode(f.mode)], "nonce"):  # the signed fields: a precise message
        utf8(getattr(f, name), name)
    data = string_to_sign(f)
    return data, sign(data, app_key)


def oracle(fields: Fields, app_key: str) -> tuple[str | None, str | None, str | None]:
    """(string_to_sign, signature, error) the scheme gives: no string if the inputs do not fit the
    mode, no signature if they have no UTF-8 form; error says why."""
    try:
        data = string_to_sign(fields)
    except SchemeError as e:
        return None, None, str(e)
    try:
        return data, sign_fields(fields, app_key)[1], None
    except UnencodableText as e:
        return data, None, str(e)

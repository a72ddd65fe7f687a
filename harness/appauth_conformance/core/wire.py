"""The runner wire format's encoding side: request lines, the size limits replies are read within, and
clipping of runner text. Pure (no I/O, no schemas), so the shared types can encode their own requests;
decoding and checking replies against formats/schemas/protocol.json is formats/protocol.py's job.
"""

from __future__ import annotations

import json
from typing import Any

VERSION = 1
HELLO_REQUEST = b'{"op":"hello","protocol":1}\n'
# Replies are bounded when read (docs/runner-protocol.md, "Sizes"): a runner cannot make the harness grow.
# One line: the longest legitimate reply echoes the corpus's longest string to sign (1,048,697 characters,
# sp_user/long-corp-1m-001), at most 12 bytes a character when every one is written as a \u escape
# (a surrogate pair): about 12.6 MB. A longer line is a fault that says this limit.
MAX_LINE = 16 << 20
# What is kept of a runner's own text once a line is decoded: error types and messages, hello fields,
# header and body values, fault previews are cut to these sizes, their full length said ("… (N chars)").
MESSAGE_LIMIT = 1000  # an error message, a hello field, a value judging does not read
TYPE_LIMIT = 100  # an error type, a header or body key
ITEMS_LIMIT = 64  # entries of a list or an object a runner sends beyond those the protocol defines


def clip(s: str, limit: int = MESSAGE_LIMIT) -> str:
    """s cut to `limit` characters, its full length said (`… (N chars)`), as untrusted.line shows a value."""
    return s if len(s) <= limit else f"{s[:limit]}… ({len(s):,} chars)"


def clip_json(value: Any, limit: int = MESSAGE_LIMIT, depth: int = 3) -> Any:
    """A JSON value a runner sent, bounded: strings clipped, lists and objects cut to ITEMS_LIMIT entries
    (keys clipped too), anything deeper than `depth` replaced by its clipped JSON text."""
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, list):
        if depth <= 0:
            return clip(json.dumps(value), limit)
        return [clip_json(v, limit, depth - 1) for v in value[:ITEMS_LIMIT]]
    if isinstance(value, dict):
        if depth <= 0:
            return clip(json.dumps(value), limit)
        items = list(value.items())[:ITEMS_LIMIT]
        return {clip(k, TYPE_LIMIT): clip_json(v, limit, depth - 1) for k, v in items}
    return value  # a number, a boolean, null


def value_limit(request_body: bytes) -> int:
    """How much of a reply's string_to_sign, signature or nonce is kept for judging: plenty more than any
    reading of the request can make (a field base64- or hex-encoded, repeated), so every diagnosis still
    matches; a longer value is wrong whatever its end holds, and is judged on what is kept."""
    return 4 * len(request_body) + 4096


SIGN_REQUEST = b'{"op":"sign","seq":%d,%s\n'  # % (seq, body): the hot path formats it inline
TOKEN_REQUEST = b'{"op":"token","seq":%d,%s\n'  # % (seq, token_body(...))


# A sign response after its `{"seq":N`, in the compact form with the schema's key order (what
# json.dumps(separators=(",", ":")) and JSON.stringify write): % (JSON string_to_sign, signature).
# Session.replies accepts a line byte-identical to an expected one without decoding it.
REPLY_TAIL = b',"string_to_sign":%s,"signature":"%s"}'


def sign_request(seq: int, body: bytes) -> bytes:
    """A sign request line; body is Vector.request_body (fields after the seq, pre-encoded)."""
    return SIGN_REQUEST % (seq, body)


# The fields of a sign request after its seq, in wire order. A body is the concatenation of one
# piece per field, so callers that build millions of bodies (the fuzzer) can encode each distinct
# value once and join pieces; request_body() is built the same way, so the two cannot drift.
REQUEST_FIELDS = ("mode", "app_id", "corp_id", "user_id", "expire_time", "nonce", "app_key")
encode_text = json.encoder.encode_basestring_ascii  # a JSON string, ASCII only (lone surrogates as \u escapes)


def body_piece(name: str, encoded: bytes) -> bytes:
    """One field's share of a request body: `"name":VALUE,`, the last field closing the object.
    `encoded` is the JSON value: encode_text(s).encode("ascii") for text, str(n).encode() for expire_time."""
    return b'"' + name.encode("ascii") + b'":' + encoded + (b"}" if name == REQUEST_FIELDS[-1] else b",")


TOKEN_FIELDS = ("mode", "app_id", "corp_id", "user_id", "app_key")


def token_body(mode: str, app_id: str, corp_id: str, user_id: str, app_key: str) -> bytes:
    """The wire fields of a token request after `"seq":N,`: no nonce, no expiry (the runner chooses them)."""
    values = (mode, app_id, corp_id, user_id, app_key)
    parts = [
        b'"' + n.encode("ascii") + b'":' + encode_text(v).encode("ascii")
        for n, v in zip(TOKEN_FIELDS, values, strict=True)
    ]
    return b",".join(parts) + b"}"


# The sign request body with a %s per field value: made of body_piece, so the two cannot drift
_REQUEST_BODY = b"".join(body_piece(n, b"%s") for n in REQUEST_FIELDS)


def request_body(
    mode: str, app_id: str, corp_id: str, user_id: str, expire_time: int, nonce: str, app_key: str
) -> bytes:
    """The wire fields of a sign request after `"seq":N,` (SIGN_REQUEST % (seq, body) is the line).
    One format of _REQUEST_BODY (a quarter of the time the pieces' join takes: every Vector's body)."""
    return _REQUEST_BODY % (
        encode_text(mode).encode("ascii"),
        encode_text(app_id).encode("ascii"),
        encode_text(corp_id).encode("ascii"),
        encode_text(user_id).encode("ascii"),
        str(expire_time).encode("ascii"),  # REQUEST_FIELDS[4]
        encode_text(nonce).encode("ascii"),
        encode_text(app_key).encode("ascii"),
    )

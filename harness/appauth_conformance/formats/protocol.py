"""The runner wire format's reading side: decode reply lines and check them (wire.py encodes requests).

The schema of every message is `formats/schemas/protocol.json` (documented in
docs/runner-protocol.md), the only description of the messages: responses are
checked by the fast predicate compiled from it (schemas.check), and jsonschema
is asked only to word the message of a bad one.
"""

from __future__ import annotations

import json
from typing import Any

from appauth_conformance.core.errors import ProtocolError
from appauth_conformance.core.wire import MESSAGE_LIMIT, VERSION, clip, clip_json
from appauth_conformance.formats import schemas

SCHEMA_PATH = schemas.path("protocol")


def schema_errors(message: object, definition: str) -> list[str]:
    """Everything wrong with a message, each as `FIELD: RULE` (`expire_time: 1796187713.5 is not an
    integer`), the field first so that faults group by it (faults.cause). Slow: error path only."""
    out: list[str] = []
    # worded on a bounded copy (the same errors: a value past a limit stays past it): jsonschema quotes the
    # whole offending object in some messages, megabytes of text for each
    for e in schemas.errors("protocol", clip_json(message, MESSAGE_LIMIT, 8), definition):
        out += [clip(f"{where}: {rule}", 300) for where, rule in _problems(e)]
    return list(dict.fromkeys(out)) or ["(the reply): does not match the schema"]


_TYPES = {"integer": "an integer", "string": "a string", "object": "an object", "array": "a list",
          "number": "a number", "boolean": "true or false", "null": "null"}  # fmt: skip


def _value(x: object, n: int = 60) -> str:
    text = json.dumps(x, ensure_ascii=True)
    return text if len(text) <= n else text[: n - 1] + "…"


def _problems(e: Any) -> list[tuple[str, str]]:
    """(field, rule) of one jsonschema error. A oneOf (a reply is a signature or an error) is judged by the
    branch the message meant: the one with the fewest wrong or missing keys at its top level."""
    if e.validator in ("oneOf", "anyOf") and e.context:
        branches: dict[object, list[Any]] = {}
        for sub in e.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)

        def misfit(errs: list[Any]) -> tuple[int, int]:
            top = sum(
                len(x.absolute_path) == len(e.absolute_path) and x.validator in ("required", "additionalProperties")
                for x in errs
            )
            return top, len(errs)

        best = min(branches.values(), key=misfit)
        return [p for sub in best for p in _problems(sub)]
    where = "/".join(map(str, e.absolute_path))
    if e.validator == "type":
        want = e.validator_value if isinstance(e.validator_value, str) else " or ".join(e.validator_value)
        return [(where or "(the reply)", f"{_value(e.instance)} is not {_TYPES.get(want, want)}")]
    if e.validator == "required":
        missing = [k for k in e.validator_value if isinstance(e.instance, dict) and k not in e.instance]
        return [((f"{where}/" if where else "") + k, "missing (required)") for k in missing]
    if e.validator == "additionalProperties" and isinstance(e.instance, dict):
        allowed = set(e.schema.get("properties", {}))
        extra = [k for k in e.instance if k not in allowed]
        return [((f"{where}/" if where else "") + str(k), "not a field of this message") for k in extra]
    return [(where or "(the reply)", e.message if len(e.message) <= 200 else e.message[:199] + "…")]


def decode_line(line: bytes) -> Any:
    """bytes of one line (without the newline) to a JSON value, or ProtocolError."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(
            f"stdout is not UTF-8 ({e.reason} at byte {e.start}): {preview(line)}{STDOUT_RULE}"
        ) from None
    try:
        return json.loads(text)
    except ValueError as e:  # a JSONDecodeError, or a plain ValueError (an integer past Python's digit limit)
        why = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise ProtocolError(f"not a JSON line ({why}): {preview(line)}{STDOUT_RULE}") from None


def decode_batch(lines: list[bytes]) -> list[Any]:
    """Decode many lines in one C-level call (the hot path); any problem falls back to line by line,
    where a bad line becomes a ProtocolError in its place. Values need not be objects: the caller checks."""
    try:
        msgs: list[Any] = json.loads("[" + b",".join(lines).decode("utf-8") + "]")
        if len(msgs) == len(lines):  # else a line held a comma-joined pair of values, e.g. b"1,2"
            return msgs
    except (UnicodeDecodeError, ValueError):
        pass
    out: list[Any] = []
    for line in lines:
        try:
            out.append(decode_line(line))
        except ProtocolError as e:
            out.append(e)
    return out


# said with every line on stdout that is not a protocol message: the usual cause is a log line or a banner
STDOUT_RULE = (
    " -- stdout carries protocol lines only (one JSON object per line, the hello first); "
    "write logs and banners to stderr"
)


def preview(line: bytes, n: int = 120) -> str:
    """The line's start as text between quotes (bytes that are not UTF-8 as \\xNN), cut with its length:
    shown escaped, as every runner-chosen value is (appauth_conformance.core.untrusted)."""
    text = line[:n].decode("utf-8", "backslashreplace")
    return f"'{text}'" + (f"… ({len(line):,} bytes)" if len(line) > n else "")


def check_response(msg: object) -> str | None:
    """None if msg is a valid sign_response, else the schema's description of the problem."""
    if _sign_response(msg):
        return None
    return "; ".join(schema_errors(msg, "sign_response"))


_sign_response = schemas.check("protocol", "sign_response")


def check_token_response(msg: Any) -> str | None:
    """None if msg is a valid token_response, else the schema's description of the problem."""
    if schemas.check("protocol", "token_response")(msg):
        return None
    return "; ".join(schema_errors(msg, "token_response"))


def check_hello(msg: object) -> dict[str, Any]:
    """The runner's hello as a dict, or ProtocolError saying what is wrong with it."""
    if type(msg) is not dict or msg.get("op") != "hello":
        raise ProtocolError(
            f"expected the hello handshake as the first line, got {_value(clip_json(msg, MESSAGE_LIMIT, 8), 200)}{STDOUT_RULE}"
        )
    if msg.get("protocol") != VERSION:
        raise ProtocolError(
            f"runner speaks protocol {msg.get('protocol')!r}, the harness speaks {VERSION}: update the runner"
        )
    if not schemas.check("protocol", "hello_response")(msg):
        raise ProtocolError("bad hello: " + "; ".join(schema_errors(msg, "hello_response")))
    hello: dict[str, Any] = clip_json(msg, 500)  # its fields are shown and recorded: kept bounded
    return hello

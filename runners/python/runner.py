"""Python reference runner: the vendor's Python snippet behind the runner protocol (v1).

JSON Lines on stdin/stdout (docs/runner-protocol.md). Standard library only, so it
runs on any Python 3.9+ (Debian bullseye's python3 included). stderr is for humans.
"""

import hashlib
import hmac
import json
import os
import platform
import re
import sys

try:
    import ssl

    OPENSSL_VERSION = ssl.OPENSSL_VERSION
except ImportError:  # Python built without ssl: hashlib may still use OpenSSL, but we cannot say which
    OPENSSL_VERSION = "unknown"

HELLO = {
    "op": "hello",
    "protocol": 1,
    "name": "python-reference",
    "language": "python",
    "runtime": platform.python_version(),
    "library": "hmac+hashlib (OpenSSL)",
    "library_version": OPENSSL_VERSION,
    "details": {"implementation": platform.python_implementation()},
}

# ensure_ascii: a lone surrogate has no UTF-8 form, so it must travel as a \u escape.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_SEQ = re.compile(rb'"seq"\s*:\s*(\d+)')  # to blame a line that is not even JSON


def vendor_sign(data, key):
    """The vendor's documented Python snippet, unchanged.

    Preserved behaviour: .encode("utf-8") is strict, so an unpaired surrogate in
    key or data raises UnicodeEncodeError (the key is encoded first); NUL and an
    empty key are signed like any other bytes.
    """
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()


class ProtocolError(Exception):
    pass


def string_to_sign(req):
    """Join the fields for the mode; colons stay where a field is left empty."""
    app_id, corp_id, user_id, nonce = req["app_id"], req["corp_id"], req["user_id"], req["nonce"]
    if not (type(app_id) is type(corp_id) is type(user_id) is type(nonce) is type(req["app_key"]) is str):
        raise ProtocolError("app_id, corp_id, user_id, nonce and app_key must be strings")
    exp = req["expire_time"]
    if type(exp) is not int or exp < 0:  # type(), not isinstance(): True is not a time
        raise ProtocolError("expire_time must be a non-negative integer, got %r" % (exp,))
    exp = str(exp)  # Python ints are exact: 9223372036854775807 stays as written
    mode = req["mode"]
    if mode == "single":
        return ":".join((app_id, user_id, exp, nonce))
    if mode == "sp_user":
        return ":".join((app_id, corp_id, user_id, exp, nonce))
    if mode == "sp_corp_admin":
        return ":".join((app_id, corp_id, "", exp, nonce))
    if mode == "sp_admin":
        return ":".join((app_id, "", "", exp, nonce))
    raise ProtocolError("unknown mode %r" % (mode,))


def handle(req):
    """One request object to one response object."""
    op = req.get("op")
    if op == "hello":
        return HELLO
    if op != "sign":
        raise ProtocolError("unknown op %r" % (op,))
    seq = req["seq"]
    if type(seq) is not int or seq < 0:
        raise ProtocolError("seq must be a non-negative integer")
    data = string_to_sign(req)
    try:
        return {"seq": seq, "string_to_sign": data, "signature": vendor_sign(data, req["app_key"])}
    except Exception as e:  # the snippet's own refusal (UnicodeEncodeError) is the result, not a fault
        return {"seq": seq, "string_to_sign": data, "error": {"type": type(e).__name__, "message": str(e)}}


def respond(line, req=None):
    """One request line (or the request already decoded from it) to one response line, or None
    when no seq can be read."""
    try:
        if req is None:
            req = json.loads(line.decode("utf-8"))
        if type(req) is not dict:
            raise ProtocolError("a request must be a JSON object")
        return _encode(handle(req))
    except Exception as e:  # one bad request must not end the session
        sys.stderr.write("python-reference: bad request (%s: %s): %.200r\n" % (type(e).__name__, e, line))
        seq = req.get("seq") if isinstance(req, dict) else None
        if type(seq) is not int or seq < 0:
            m = _SEQ.search(line)
            seq = int(m.group(1)) if m else None
        if seq is None:
            return None
        return _encode({"seq": seq, "error": {"type": "ProtocolError", "message": "%s: %s" % (type(e).__name__, e)}})


def answer(lines):
    """Responses to complete lines, as one block of bytes ready to write.

    All lines are decoded with one json.loads (a third of the per-line cost); if that
    fails, line by line, so that each bad line gets its own reply and the rest are answered.
    """
    lines = [line for line in lines if line.strip()]
    reqs = None
    try:
        reqs = json.loads(b"[" + b",".join(lines) + b"]")
        if len(reqs) != len(lines):  # a line held two values, e.g. b"1,2"
            reqs = None
    except (ValueError, RecursionError):  # some line is not JSON, not UTF-8, or nested too deep
        pass
    replies = []
    for i, line in enumerate(lines):
        r = respond(line, None if reqs is None else reqs[i])
        if r is not None:
            replies.append(r)
    return ("\n".join(replies) + "\n").encode("ascii") if replies else b""


def main():
    out = sys.stdout.buffer
    tail = b""
    while True:
        # Take whatever has arrived, answer every complete line in one write, and
        # flush before the next read blocks: fast, and the harness never waits on us.
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        out.write(answer(lines))
        out.flush()
    out.write(answer([tail]))  # a last line without its newline
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

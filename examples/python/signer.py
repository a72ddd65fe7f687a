"""A conforming App ID signer behind the appauth-conformance runner protocol (v1).

Copy this file, replace `string_to_sign()` and `sign()` with calls to YOUR signer (drop
"string_to_sign" from the response if your signer does not expose it), and plug it in:

    pytest --lang=mine --runner "mine=python3 signer.py"
    appauth-conformance run --lang mine --runner "mine=python3 signer.py"

or declare it once in your pyproject.toml:

    [tool.appauth-conformance.runners.mine]
    command = ["python3", "signer.py"]

Standard library only (Python 3.9+). Protocol: docs/runner-protocol.md; this file is
walked through in docs/writing-a-runner.md.
"""

import hashlib
import hmac
import json
import os
import platform
import ssl
import sys

MODES = {  # which of corp_id / user_id each mode signs; the slots stay, colons and all
    "single": ("user_id",),
    "sp_user": ("corp_id", "user_id"),
    "sp_corp_admin": ("corp_id",),
    "sp_admin": (),
}


def string_to_sign(mode, app_id, corp_id, user_id, expire_time, nonce):
    """AppID:[CorpID:]UserID:ExpireTime:Nonce; a field the mode leaves empty keeps its colons."""
    corp_id = corp_id if "corp_id" in MODES[mode] else ""  # an id the mode does not sign is ignored
    user_id = user_id if "user_id" in MODES[mode] else ""
    if mode == "single":
        return f"{app_id}:{user_id}:{expire_time}:{nonce}"
    return f"{app_id}:{corp_id}:{user_id}:{expire_time}:{nonce}"  # sp_*: five slots


def sign(data, app_key):
    """The signer under test: lowercase hex HMAC-SHA256 of the UTF-8 text. Raises to refuse.

    Strict UTF-8: an unpaired surrogate has no UTF-8 form, so .encode() raises
    UnicodeEncodeError and the request is refused (never signed as '?' or U+FFFD).
    NUL is an ordinary character, and an empty key is a valid HMAC key.
    """
    return hmac.new(app_key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()


HELLO = {"op": "hello", "protocol": 1, "name": "python-example", "language": "python",
         "runtime": platform.python_version(), "library": "hmac+hashlib (OpenSSL)",
         "library_version": ssl.OPENSSL_VERSION}


def handle(line):
    """One request line to one response object. A line that is not a request raises: the
    process ends with a traceback on stderr, which the harness attaches to a runner fault."""
    req = json.loads(line)  # \u0000 and lone \ud800 escapes become str as sent; ints stay exact
    if req.get("op") == "hello":
        return HELLO
    seq = req["seq"]
    try:
        exp = req["expire_time"]
        if type(exp) is not int or exp < 0:  # exact int, never a float; bool is not a time
            raise ValueError(f"expire_time must be a non-negative integer, got {exp!r}")
        if req["mode"] not in MODES:
            raise ValueError(f"unknown mode {req['mode']!r}")
        data = string_to_sign(req["mode"], req["app_id"], req["corp_id"], req["user_id"], exp, req["nonce"])
        return {"seq": seq, "string_to_sign": data, "signature": sign(data, req["app_key"])}
    except Exception as e:  # a typed refusal: the exception's class name and message
        return {"seq": seq, "error": {"type": type(e).__name__, "message": str(e)}}


def main():
    tail = b""
    while True:
        chunk = os.read(0, 1 << 20)  # whatever has arrived; blocks only when nothing has
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop() if chunk else b""
        # ensure_ascii: a lone surrogate (no UTF-8 form) must go back as a \u escape
        out = "".join(json.dumps(handle(x), ensure_ascii=True) + "\n" for x in lines if x.strip())
        sys.stdout.buffer.write(out.encode("ascii"))
        sys.stdout.buffer.flush()  # before the next read can block: the harness pipelines requests
        if not chunk:
            return 0  # EOF: finish and exit 0


if __name__ == "__main__":
    sys.exit(main())

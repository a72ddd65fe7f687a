"""The vendor's official Python SDK (huaweicloudsdkmeeting) behind the runner protocol (v1).

An adapter, not a reimplementation: every signature comes from the SDK's own code.

- `sign`: the harness chooses nonce and expiry, so the adapter calls the one SDK function that
  signs given ones, the private MeetingCredentials._sign_hmac256 (no public function returns a
  signature). A new credentials object per request: the method turns None ids into "" in place.
- `token`: the SDK chooses nonce and expiry itself. The adapter calls the public
  MeetingCredentials.process_request with a stand-in HTTP client that records the request the SDK
  would send to POST /v2/usg/acs/auth/appauth, and answers with the Authorization header and the
  JSON body exactly as built: the harness reads nonce, expiry and signature from them (the
  "header only" way of docs/writing-a-runner.md).

Each mode's ids are given as the SDK is told them: single-tenant apps use
TenantSceneEnum.SINGLE_TENANT with the user id only, SP apps MULTI_TENANT with the ids the mode
carries (corp id for sp_user and sp_corp_admin, user id for sp_user). JSON Lines on stdin/stdout
(docs/runner-protocol.md); stderr is for humans.
"""

import json
import os
import platform
import re
import sys
from importlib.metadata import version

from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkmeeting.v1.meeting_credentials import AuthTypeEnum, MeetingCredentials, TenantSceneEnum

HELLO = {
    "op": "hello",
    "protocol": 1,
    "name": "huawei-python-sdk",
    "language": "python",
    "runtime": platform.python_version(),
    "library": "huaweicloudsdkmeeting",
    "library_version": version("huaweicloudsdkmeeting"),
    "details": {"huaweicloudsdkcore": version("huaweicloudsdkcore"), "signer": "MeetingCredentials"},
    "ops": ["sign", "token"],
}
CARRIES = {"single": ("user_id",), "sp_user": ("corp_id", "user_id"), "sp_corp_admin": ("corp_id",), "sp_admin": ()}
HOST = "api.meeting.huaweicloud.com"  # the host of the API call being authorised (v1/region/meeting_region.py)
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_SEQ = re.compile(rb'"seq"\s*:\s*(\d+)')


class ProtocolError(Exception):
    pass


def credentials(req):
    """MeetingCredentials for an App ID app of the request's mode, told only the ids the mode carries."""
    mode = req.get("mode")
    if mode not in CARRIES:
        raise ProtocolError("unknown mode %r" % (mode,))
    scene = TenantSceneEnum.SINGLE_TENANT if mode == "single" else TenantSceneEnum.MULTI_TENANT
    c = (
        MeetingCredentials()
        .with_auth_type_enum(AuthTypeEnum.APP_ID)
        .with_tenant_scene_enum(scene)
        .with_app_id(req["app_id"])
        .with_app_key(req["app_key"])
    )
    if "corp_id" in CARRIES[mode]:
        c.with_corp_id(req["corp_id"])
    if "user_id" in CARRIES[mode]:
        c.with_user_id(req["user_id"])
    return c


class CapturingClient:
    """Stands in for the SDK's HTTP client: keeps the request instead of sending it."""

    class Response:
        content = b'{"accessToken": "captured-by-appauth-conformance"}'

    def __init__(self):
        self.sent = None

    def do_request_sync(self, request):
        self.sent = request
        return self.Response()


def sign(req):
    exp, nonce = req["expire_time"], req["nonce"]
    if type(exp) is not int or type(nonce) is not str:
        raise ProtocolError("expire_time must be an integer and nonce a string")
    try:
        return {"seq": req["seq"], "signature": credentials(req)._sign_hmac256(exp, nonce)}
    except (UnicodeError, TypeError, ValueError) as e:  # the SDK's own refusal is the result, not a fault
        return {"seq": req["seq"], "error": {"type": type(e).__name__, "message": str(e)}}


def token(req):
    client = CapturingClient()
    try:
        credentials(req).process_request(SdkRequest("GET", "https", HOST, [], "/", [], {}, None, []), client)
    except (UnicodeError, TypeError, ValueError) as e:
        return {"seq": req["seq"], "error": {"type": type(e).__name__, "message": str(e)}}
    sent = client.sent
    return {"seq": req["seq"], "headers": dict(sent.header_params), "body": json.loads(sent.body)}


def handle(req):
    op = req.get("op")
    if op == "hello":
        return HELLO
    if type(req.get("seq")) is not int or req["seq"] < 0:
        raise ProtocolError("seq must be a non-negative integer")
    if op == "sign":
        return sign(req)
    if op == "token":
        return token(req)
    raise ProtocolError("unknown op %r" % (op,))


def respond(line):
    """One request line to one response line; None when not even a seq can be read from it."""
    req = None
    try:
        req = json.loads(line.decode("utf-8"))
        if type(req) is not dict:
            raise ProtocolError("a request must be a JSON object")
        return _encode(handle(req))
    except Exception as e:  # one bad request must not end the session
        sys.stderr.write("huawei-python-sdk: bad request (%s: %s): %.200r\n" % (type(e).__name__, e, line))
        seq = req.get("seq") if isinstance(req, dict) else None
        if type(seq) is not int or seq < 0:
            m = _SEQ.search(line)
            seq = int(m.group(1)) if m else None
        if seq is None:
            return None
        return _encode({"seq": seq, "error": {"type": "ProtocolError", "message": "%s: %s" % (type(e).__name__, e)}})


def main():
    out = sys.stdout.buffer
    tail = b""
    while True:
        # answer every complete line that has arrived in one write, and flush before the next read blocks
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        replies = [r for r in (respond(x) for x in lines if x.strip()) if r is not None]
        out.write("".join(r + "\n" for r in replies).encode("ascii"))
        out.flush()
    last = respond(tail) if tail.strip() else None  # a last line without its newline
    if last is not None:
        out.write(last.encode("ascii") + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

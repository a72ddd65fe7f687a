"""A client's whole login path against the endpoint over HTTPS (docs/endpoint.md): the token, then the
follow-up calls the reference documents (verify, update with PUT, log out with DELETE), answered with the token
response's fields and units ("Updating a Token", meeting_21_0307). Signed here with hmac, not by the
code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import ssl
import time
import urllib.error
import urllib.request


def _call(base: str, ctx: ssl.SSLContext, method: str, path: str, body=None, headers=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_login_validate_refresh_logout(appauth_endpoint):
    appauth_endpoint.add_app("path-app", "path-key")
    ctx = ssl.create_default_context(cafile=str(appauth_endpoint.ca_path))
    base = appauth_endpoint.url
    nonce, expire = secrets.token_hex(16), int(time.time()) + 600
    sig = hmac.new(b"path-key", f"path-app:bob:{expire}:{nonce}".encode(), hashlib.sha256).hexdigest()
    body = {"appId": "path-app", "userId": "bob", "expireTime": expire, "nonce": nonce, "clientType": 72}
    status, token = _call(
        base,
        ctx,
        "POST",
        "/v2/usg/acs/auth/appauth",
        body,
        {"Authorization": f"HMAC-SHA256 signature={sig},access={base64.b64encode(b'path-app').decode()}"},
    )
    assert status == 200 and token["accessToken"].startswith("cnr")
    assert token["expireTime"] < 10**11 and token["createTime"] > 10**12  # seconds; milliseconds

    verify = {"token": token["accessToken"], "needGenNewToken": False}
    status, valid = _call(base, ctx, "POST", "/v1/usg/acs/token/validate", verify)
    assert status == 200 and valid["accessToken"] == token["accessToken"]
    status, other = _call(base, ctx, "POST", "/v1/usg/acs/token/validate", {**verify, "needGenNewToken": True})
    assert status == 200 and other["accessToken"] != token["accessToken"] and other["user"] == token["user"]

    status, fresh = _call(base, ctx, "PUT", "/v1/usg/acs/token", headers={"X-Access-Token": token["accessToken"]})
    assert status == 200 and fresh["accessToken"] != token["accessToken"]
    assert fresh["user"] == token["user"] and fresh["expireTime"] >= token["expireTime"]
    assert "appauth_conformance" not in fresh
    status, old = _call(base, ctx, "POST", "/v1/usg/acs/token/validate", {"token": token["accessToken"]})
    assert status == 401 and old["error_code"]  # the refreshed-away token no longer validates

    status, _ = _call(base, ctx, "DELETE", "/v1/usg/acs/token", headers={"X-Access-Token": fresh["accessToken"]})
    assert status == 200
    status, gone = _call(base, ctx, "POST", "/v1/usg/acs/token/validate", {"token": fresh["accessToken"]})
    assert status == 401 and "error_msg" in gone
    appauth_endpoint.assert_conforming()
    assert len(appauth_endpoint.requests) == 1  # the follow-up calls are answered, not judged

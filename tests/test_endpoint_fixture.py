"""The `appauth_endpoint` pytest fixture (docs/endpoint.md): a Python team's test drives its own client against
the endpoint in-process and asserts with the staged explanation."""

from __future__ import annotations

CLIENT_TEST = """
import base64, hashlib, hmac, json, ssl, time, urllib.request, urllib.error, secrets

def login(url, ca, upper=False):
    nonce, expire = secrets.token_hex(16), int(time.time()) + 600
    sig = hmac.new(b"the-key", f"my-app:alice:{expire}:{nonce}".encode(), hashlib.sha256).hexdigest()
    sig = sig.upper() if upper else sig
    req = urllib.request.Request(url + "/v2/usg/acs/auth/appauth", method="POST",
        data=json.dumps({"appId": "my-app", "userId": "alice", "expireTime": expire, "nonce": nonce,
                         "clientType": 72}).encode(),
        headers={"Authorization": f"HMAC-SHA256 signature={sig},access={base64.b64encode(b'my-app').decode()}",
                 "Content-Type": "application/json", "X-Token-Type": "LongTicket"})
    try:
        with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=str(ca))) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

def test_conforming(appauth_endpoint):
    appauth_endpoint.add_app("my-app", "the-key")
    status, body = login(appauth_endpoint.url, appauth_endpoint.ca_path)
    assert status == 200 and body["accessToken"]
    appauth_endpoint.assert_conforming()
    assert [r.judgement.verdict.value for r in appauth_endpoint.requests] == ["pass"]

def test_upper_case_hex(appauth_endpoint):
    appauth_endpoint.add_app("my-app", "the-key")
    status, body = login(appauth_endpoint.url, appauth_endpoint.ca_path, upper=True)
    # the service takes upper-case hex (its own SDK sends it): a token, with our verdict beside it
    assert status == 200 and body["appauth_conformance"]["mistakes"][0]["id"] == "hex-uppercase"
    appauth_endpoint.assert_conforming()
"""


def test_fixture_passes_a_conforming_client_and_explains_a_failing_one(pytester):
    pytester.makepyfile(test_client=CLIENT_TEST)
    r = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    r.assert_outcomes(passed=1, failed=1)
    out = r.stdout.str()
    assert "1 of 1 request(s) do not conform" in out
    assert "FAIL token-signature" in out and "hex-uppercase (hex digits in upper case)" in out


def test_fixture_is_listed(pytester):
    r = pytester.runpytest_subprocess("--fixtures", "-p", "no:randomly")
    assert "appauth_endpoint" in r.stdout.str()

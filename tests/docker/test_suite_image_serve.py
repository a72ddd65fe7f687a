"""The suite's image as a CI service container (docs/endpoint.md, "As a CI service container"): started
with no command, as GitHub Actions' and GitLab's `services:` start it, its app from the environment and
its port published, then driven from the host like a team's client: a conforming request gets a token,
a non-conforming one the documented error with our verdict; stopped, it writes its results."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request

import pytest

from appauth_conformance.execution.backends.docker import LABEL, client

pytestmark = pytest.mark.docker

APP_ID, KEY, USER = "ci-app", "Svc-Key-Never-Logged-9031", "alice"


@pytest.fixture
def service(suite_image):
    """The image run with its default command, as a service container is: (base URL, container)."""
    since = int(time.time()) - 1
    c = client().containers.run(
        suite_image.id,
        environment={"APPAUTH_APP_ID": APP_ID, "APPAUTH_APP_KEY": KEY},
        ports={"8080/tcp": ("127.0.0.1", None)},  # published on a free port of the host
        labels={LABEL: "1"},
        detach=True,
    )
    try:
        # what a CI job waits for before its first step: the image's health check (or its death)
        events = client().events(since=since, filters={"container": c.id}, decode=True)
        try:
            for event in events:
                if event.get("Action", "").startswith("health_status") or event.get("Action") == "die":
                    break
        finally:
            events.close()
        assert event["Action"] == "health_status: healthy", c.logs().decode("utf-8", "replace")
        said = ""
        for chunk in c.logs(stream=True, follow=True):  # the port may answer a moment before serve says so
            said += chunk.decode("utf-8", "replace")
            if "(plain HTTP)" in said:
                break
        assert "serving http://0.0.0.0:8080/v2/usg/acs/auth/appauth (plain HTTP)" in said, said
        c.reload()
        port = c.ports["8080/tcp"][0]["HostPort"]
        yield f"http://127.0.0.1:{port}", c
    finally:
        c.remove(force=True)


def _login(base: str, signature_case=str.lower) -> tuple[int, dict]:
    nonce, expire = secrets.token_hex(16), int(time.time()) + 600
    signature = hmac.new(KEY.encode(), f"{APP_ID}:{USER}:{expire}:{nonce}".encode(), hashlib.sha256).hexdigest()
    body = {"appId": APP_ID, "userId": USER, "expireTime": expire, "nonce": nonce, "clientType": 72}
    request = urllib.request.Request(
        base + "/v2/usg/acs/auth/appauth",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"HMAC-SHA256 signature={signature_case(signature)},"
            f"access={base64.b64encode(APP_ID.encode()).decode()}",
            "X-Token-Type": "LongTicket",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_image_serves_a_ci_job_from_its_environment(service):
    base, container = service
    status, answer = _login(base)
    assert status == 200 and answer["accessToken"] and "appauth_conformance" not in answer, answer

    status, answer = _login(base, str.upper)  # a mistake the service lets pass; the image runs --strict
    assert status == 401 and answer["error_code"] == "USG.000000001", answer  # a refused authentication
    verdict = answer["appauth_conformance"]
    assert verdict["verdict"] == "fail" and verdict["stage"] == "token-signature", verdict
    assert [m["id"] for m in verdict["mistakes"]] == ["hex-uppercase"], verdict
    sent = verdict["expected"]["string_to_sign"]
    assert (
        sent.startswith(f"{APP_ID}:{USER}:")
        and verdict["expected"]["signature"] == hmac.new(KEY.encode(), sent.encode(), hashlib.sha256).hexdigest()
    )

    container.stop(timeout=60)  # SIGTERM, as a CI job's end does: serve writes its results and stops
    code = container.wait(timeout=60)["StatusCode"]
    logs = container.logs().decode("utf-8", "replace")
    assert code == 1, logs  # one request did not conform
    assert f"endpoint:{APP_ID}: 2 request(s)" in logs and "[hex-uppercase]" in logs, logs
    assert KEY not in logs

"""The endpoint's judging without HTTP (endpoint/judging.py): the mode from tenancy and body ids, the
seen-before findings, the key kept out of what is recorded and answered. Signatures are made here with
hmac from the documented layouts, not by the code under test."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import pytest

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.endpoint.apps import App, from_pyproject
from appauth_conformance.endpoint.judging import Endpoint, Memory
from appauth_conformance.judging import tokens

KEY = "judging-key-77"


def _endpoint(tenancy: str, state=None) -> Endpoint:
    memory = Memory.load(state)
    judge = tokens.Judge(Expectations.load(RunnerSpec("e", "http", (), group="declared")), memory=memory.recall)
    return Endpoint({"app": App("app", KEY, tenancy)}, judge, memory, "e")


def _call(e: Endpoint, data_ids: str, body_ids: dict, nonce: str | None = None, expire: int | None = None):
    nonce = nonce or secrets.token_hex(16)
    expire = expire or int(time.time()) + 600
    sig = hmac.new(KEY.encode(), f"app:{data_ids}:{expire}:{nonce}".encode(), hashlib.sha256).hexdigest()
    headers = [("Authorization", f"HMAC-SHA256 signature={sig},access=YXBw"), ("Content-Type", "application/json")]
    body = {"appId": "app", **body_ids, "expireTime": expire, "nonce": nonce, "clientType": 72}
    return e.handle("POST", headers, json.dumps(body).encode())


@pytest.mark.parametrize(
    "tenancy, data_ids, body_ids, mode",
    [
        ("single", "alice", {"userId": "alice"}, "single"),
        ("single", "", {}, "single"),  # the enterprise owner: no user
        ("sp", "corp:alice", {"corpId": "corp", "userId": "alice"}, "sp_user"),
        ("sp", "corp:", {"corpId": "corp"}, "sp_corp_admin"),
        ("sp", ":", {}, "sp_admin"),
    ],
)
def test_mode_follows_tenancy_and_body_ids(tenancy, data_ids, body_ids, mode):
    answer = _call(_endpoint(tenancy), data_ids, body_ids)
    assert answer.status == 200, answer.body
    assert answer.result is not None and answer.result.judgement.verdict.value == "pass"
    assert answer.result.outcome.request.mode == mode


def test_a_signature_of_another_mode_is_refused_with_the_expected_values():
    answer = _call(_endpoint("sp"), "alice", {"corpId": "corp", "userId": "alice"})  # single layout, SP app
    assert answer.status == 401
    verdict = answer.body["appauth_conformance"]
    assert verdict["stage"] == "token-signature" and verdict["expected"]["string_to_sign"].startswith("app:corp:alice:")
    assert KEY not in json.dumps(answer.body)
    assert answer.result is not None and answer.result.outcome.request.app_key == "***"


def test_seen_before_findings():
    e = _endpoint("single")
    nonce, expire = secrets.token_hex(16), int(time.time()) + 600
    assert _call(e, "alice", {"userId": "alice"}, nonce, expire).status == 200
    again = _call(e, "alice", {"userId": "alice"}, nonce, expire)  # the whole token resent
    assert again.body["appauth_conformance"]["mistakes"][0]["id"] == "token-reused"
    fixed = _call(e, "alice", {"userId": "alice"}, nonce, expire + 1)  # the same nonce, newly signed
    assert fixed.body["appauth_conformance"]["mistakes"][0]["id"] == "nonce-repeated"
    _call(e, "alice", {"userId": "alice"})
    restarted = _call(e, "alice", {"userId": "alice"}, nonce, expire + 2)  # back to an old nonce after others
    assert restarted.body["appauth_conformance"]["mistakes"][0]["id"] == "nonce-repeats-per-process"


def test_state_file_carries_memory_and_a_bad_one_is_a_usage_error(tmp_path):
    state = tmp_path / "state.db"
    e = _endpoint("single", state)
    nonce, expire = secrets.token_hex(16), int(time.time()) + 600
    _call(e, "alice", {"userId": "alice"}, nonce, expire)
    e.memory.close()
    assert KEY.encode() not in state.read_bytes()
    later = _endpoint("single", state)
    _call(later, "alice", {"userId": "alice"})
    assert _call(later, "alice", {"userId": "alice"}, nonce, expire + 5).status == 401
    later.memory.close()
    state.write_text("[1, 2]")
    with pytest.raises(UsageError, match="not a state file written by serve"):
        Memory.load(state)


def test_pyproject_apps_take_keys_from_the_environment(tmp_path):
    p = tmp_path / "pyproject.toml"
    p.write_text('[tool.appauth-conformance.endpoint]\napps = [{ id = "a", key-env = "K", tenancy = "sp" }]\n')
    [app] = from_pyproject(p, {"K": "from-env"})
    assert (app.app_id, app.key, app.tenancy) == ("a", "from-env", "sp")
    assert "from-env" not in repr(app)
    with pytest.raises(UsageError, match="K is not set"):
        from_pyproject(p, {})


def test_issued_tokens_are_bounded_to_the_latest(monkeypatch):
    """Tokens kept for the follow-up calls stay bounded over a long run (the soak): the oldest is forgotten."""
    monkeypatch.setattr("appauth_conformance.endpoint.judging.ISSUED_LIMIT", 3)
    e = _endpoint("single")
    answers = [_call(e, "alice", {"userId": "alice"}) for _ in range(5)]
    tokens_issued = [a.body["accessToken"] for a in answers]
    assert [a.status for a in answers] == [200] * 5
    assert list(e.issued) == tokens_issued[2:]
    assert len(e.results) == 5  # every judged request is still recorded


def test_judged_requests_are_kept_on_disk_and_read_back_in_order():
    """A long serve session keeps its judged requests in a spool file, not in memory; they come back whole."""
    e = _endpoint("single")
    nonces = [secrets.token_hex(16) for _ in range(3)]
    for n in nonces:
        _call(e, "alice", {"userId": "alice"}, nonce=n)
    assert e.results.file.tell() > 0  # written out as they arrived
    back = list(e.results)
    assert [r.outcome.nonce for r in back] == nonces and len(e.results) == 3
    assert all(r.judgement.verdict.value == "pass" and r.outcome.request.app_key == "***" for r in back)


def test_token_answer_has_the_reference_units():
    """The token response table of the reference ("Updating a Token", meeting_21_0307, and the SDK's
    UpdateTokenResponse): expireTime and refreshExpireTime in seconds, createTime and refreshCreateTime in
    milliseconds, validPeriod in seconds, a token valid 12 to 24 hours."""
    e = _endpoint("single")
    before = time.time()
    a = _call(e, "alice", {"userId": "alice"})
    after = time.time()
    b = a.body
    assert a.status == 200 and b["clientType"] == 72 and b["tokenType"] == 0
    assert int(before * 1000) <= b["createTime"] <= int(after * 1000) + 1
    assert int(before * 1000) <= b["refreshCreateTime"] <= int(after * 1000) + 1
    for expiry, period in (("expireTime", "validPeriod"), ("refreshExpireTime", "refreshValidPeriod")):
        assert 12 * 3600 <= b[period] <= 24 * 3600
        assert int(before) + b[period] <= b[expiry] <= int(after) + b[period]  # seconds, not milliseconds
    assert (b["user"]["appId"], b["user"]["userId"]) == ("app", "alice")
    assert b["firstLogin"] is False and b["pwdExpired"] is False

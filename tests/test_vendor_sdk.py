"""The vendor's official Python SDK (huaweicloudsdkmeeting, pinned in runners/huawei-python-sdk/requirements.txt),
built from PyPI by the local backend and run on the whole corpus through its adapter.

Real third-party code: what it signs is checked against the oracle and, for one vector, against the
`openssl` command line; its one known divergence (upper-case hex) is accepted by diagnosis and
nothing else. Skipped when PyPI cannot be reached, except under CI=true.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time

import pytest

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import Stage, Verdict
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.options import in_ci
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.execution.registry import BUILTINS
from appauth_conformance.judging import tokens

SDK = next(s for s in BUILTINS if s.name == "huawei-python-sdk")
CORPUS = vectors.load()
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def sdk():
    backend = LocalBackend()
    try:
        backend.prepare(SDK)
    except RunnerUnavailable as e:
        if in_ci():
            raise
        pytest.skip(f"the SDK could not be installed from PyPI: {e}")
    started = time.time()
    with Engine([SDK], backend) as engine:
        engine.prepare()
        engine.ensure(CORPUS.vectors)
        engine.ensure_tokens(tokens.suite(CORPUS.vectors))
        yield engine.runners[SDK.name], started


def test_hello_names_the_pinned_release(sdk):
    st, _ = sdk
    pins = (SDK.source / "requirements.txt").read_text()
    hello = st.session.hello
    assert hello["library"] == "huaweicloudsdkmeeting" and f"huaweicloudsdkmeeting=={hello['library_version']}" in pins
    assert f"huaweicloudsdkcore=={hello['details']['huaweicloudsdkcore']}" in pins
    assert hello["ops"] == ["sign", "token"]


def test_upper_case_hex_is_its_only_divergence(sdk):
    st, _ = sdk
    verdicts = {r.judgement.verdict for r in st.results.values()}
    assert verdicts == {Verdict.PASS, Verdict.KNOWN_DIVERGENCE}, verdicts
    for r in st.results.values():
        v = r.outcome.vector
        if v.result == "invalid":  # a lone surrogate: the SDK's str.encode refuses, as the snippet does
            assert r.judgement.verdict is Verdict.PASS and r.outcome.error["type"] == "UnicodeEncodeError"
        else:
            assert r.outcome.signature == v.signature.upper(), v.key
            assert r.judgement.stage is Stage.SIGNATURE and r.diagnosis[0] == "hex-uppercase", v.key


def test_a_signature_agrees_with_openssl(sdk):
    st, _ = sdk
    v = next(v for v in CORPUS.vectors if v.result == "valid" and v.flags == ("ordinary",) and v.mode == "sp_user")
    dgst = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hex", "-hmac", v.app_key],
        input=v.string_to_sign.encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert st.results[v.key].outcome.signature == dgst.split("= ")[-1].strip().upper()


def test_tokens_hold_every_documented_rule(sdk):
    st, started = sdk
    results = list(st.token_results.values())
    assert len(results) >= 300
    nonces = set()
    for t in results:
        o, req = t.outcome, t.outcome.request
        checks = {c.stage: c.verdict for c in t.checks}
        assert t.judgement.verdict is Verdict.KNOWN_DIVERGENCE and t.judgement.stage is Stage.TOKEN_SIGNATURE
        assert checks.pop(Stage.TOKEN_SIGNATURE) is Verdict.KNOWN_DIVERGENCE
        assert set(checks.values()) == {Verdict.PASS} and len(checks) == 5, checks
        # what the SDK's own code chose: a uuid4 nonce (36 characters), ten minutes of validity in seconds
        assert UUID4.fullmatch(o.nonce) and o.nonce not in nonces
        nonces.add(o.nonce)
        assert started + 590 <= o.expire_time <= time.time() + 610
        auth = o.headers["Authorization"]
        access = base64.b64encode(req.app_id.encode()).decode()
        assert auth == f"HMAC-SHA256 signature={o.signature},access={access}"
        assert list(o.body) == ["appId", "userId", "corpId", "expireTime", "nonce", "clientType", "deptCode"]
        assert o.body["clientType"] == 72 and o.body["expireTime"] == o.expire_time and o.body["nonce"] == o.nonce

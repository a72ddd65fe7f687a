"""Each default variant, in its container, shakes hands and signs vectors exactly as the oracle does."""

from __future__ import annotations

import pytest

from appauth_conformance.execution import variants
from appauth_conformance.execution.backends.docker import base_tag, image_exists
from appauth_conformance.execution.session import Session

pytestmark = pytest.mark.docker

LIBRARY = {
    "python-reference": "hmac+hashlib (OpenSSL)",
    "java-reference": "javax.crypto",
    "cpp-reference": None,
    "js-reference": "crypto-js",
    "huawei-python-sdk": "huaweicloudsdkmeeting",
}


@pytest.mark.parametrize("name", [s.name for s in variants.default_variants()])
def test_default_variant_answers_hello_and_signs(name, backend, built, sample_vectors):
    spec, tag = built[name]
    assert backend.prepare(spec) == {"backend": "docker", "image": tag, "variant": name}
    with Session(spec, backend, timeout=30) as s:
        hello = s.start()
        assert hello["name"] == name and hello["language"] == spec.language and hello["protocol"] == 1
        if LIBRARY[name]:
            assert hello["library"] == LIBRARY[name]
        outcomes = list(s.run(sample_vectors))
    assert len(outcomes) == len(sample_vectors)
    for o in outcomes:
        assert o.fault is None and o.error is None, (o.vector.key, o.fault, o.error, o.stderr_tail)
        if spec.group == "vendor-sdk":  # upper-case hex (its one known divergence); it reports no string
            assert o.signature == o.vector.signature.upper() and o.string_to_sign is None, o.vector.key
        else:
            assert o.signature == o.vector.signature, o.vector.key
            assert o.string_to_sign == o.vector.string_to_sign, o.vector.key
    assert s.restarts == 0


def test_variants_report_what_they_pin(backend, bases):
    """The pins are real: the runners report the library versions their variant names promise."""
    want = {
        "cpp-openssl-1.1.1": "OpenSSL 1.1.1",
        "js-cryptojs-4.2.0": "4.2.0",
        "java-jdk21": "21.",
        "huawei-python-sdk-3.1.167": "3.1.167",
    }
    for name, prefix in want.items():
        spec = variants.variant(name)
        if not image_exists(base_tag(spec.docker["suite"])):
            pytest.skip(
                f"base {spec.docker['suite']} not bootstrapped: appauth-conformance images bootstrap --suite {spec.docker['suite']}"
            )
        backend.prepare(spec)
        with Session(spec, backend, timeout=30) as s:
            hello = s.start()
        field = "runtime" if spec.language == "java" else "library_version"
        assert hello[field].startswith(prefix), (name, hello)


def test_restart_starts_a_fresh_container(backend, built, sample_vectors):
    spec, _ = built["python-reference"]
    with Session(spec, backend, timeout=30) as s:
        s.start()
        first = s._inc.proc
        first.kill()  # the harness would do this on a fault
        assert first.wait(10) is not None
        assert "killed" in first.describe_exit()
        outcomes = list(s.run(sample_vectors))  # the session notices, blames one vector, restarts
        assert len(outcomes) == len(sample_vectors)
        faults = [o for o in outcomes if o.fault]
        assert len(faults) <= 1 and s.restarts == len(faults)
        if faults:
            assert "killed by SIGKILL" in faults[0].fault, faults[0].fault
        assert s._inc.proc is not first
        assert all(o.signature == o.vector.signature for o in outcomes if not o.fault)

"""The four reference runners, built by the local backend, on the real corpus: each passes every
vector its documented snippet handles, and each documented quirk shows up by name."""

from __future__ import annotations

import pytest

from appauth_conformance import vectors
from appauth_conformance.backends.local import LocalBackend
from appauth_conformance.errors import RunnerUnavailable
from appauth_conformance.model import Stage
from appauth_conformance.runners import BUILTINS
from appauth_conformance.session import Session
from appauth_conformance.verdicts import conformance

CORPUS = vectors.load()


@pytest.fixture(scope="module")
def outcomes():
    backend = LocalBackend()
    out = {}
    for spec in BUILTINS:
        try:
            backend.prepare(spec)
        except RunnerUnavailable as e:
            pytest.fail(str(e)) if __import__("appauth_conformance.config").config.in_ci() else pytest.skip(str(e))
        with Session(spec, backend) as s:
            out[spec.language] = {o.vector.id: o for o in s.run(CORPUS.vectors)}
            out[spec.language]["__hello__"] = s.hello
    return out


def failing(outcomes, lang):
    return {vid: conformance(o) for vid, o in outcomes[lang].items() if vid != "__hello__" and conformance(o)}


def with_flag(*flags):
    return {v.id for v in CORPUS.vectors if set(flags) & set(v.flags)}


def test_every_runner_answers_every_vector_without_faults(outcomes):
    for lang, by_id in outcomes.items():
        assert len(by_id) - 1 == len(CORPUS.vectors)
        assert not [o.fault for vid, o in by_id.items() if vid != "__hello__" and o.fault], lang


def test_handshakes_report_real_versions(outcomes):
    import platform
    import ssl

    assert outcomes["python"]["__hello__"]["runtime"] == platform.python_version()
    assert outcomes["python"]["__hello__"]["library_version"] == ssl.OPENSSL_VERSION
    assert outcomes["cpp"]["__hello__"]["library_version"].startswith("OpenSSL ")
    assert outcomes["js"]["__hello__"]["library_version"] == "3.1.9-1"
    assert outcomes["java"]["__hello__"]["runtime"].split(".")[0] in ("17", "21")


def test_python_conforms_everywhere(outcomes):
    assert failing(outcomes, "python") == {}
    o = outcomes["python"]["lone-high-user-001"]
    assert o.error["type"] == "UnicodeEncodeError"


def test_java_errors_on_empty_key_and_signs_question_mark_for_surrogates(outcomes):
    f = failing(outcomes, "java")
    surrogates = with_flag("high-surrogate", "low-surrogate")
    assert set(f) == with_flag("empty-key") | surrogates
    for vid in with_flag("empty-key"):
        assert outcomes["java"][vid].error == {"type": "IllegalArgumentException", "message": "Empty key"}
    from appauth_conformance import scheme

    for vid in surrogates:
        o, v = outcomes["java"][vid], outcomes["java"][vid].vector
        assert f[vid] is Stage.UNEXPECTED_SIGNATURE
        replaced = lambda s: "".join("?" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)  # noqa: E731
        assert o.signature == scheme.sign(replaced(v.string_to_sign), replaced(v.app_key))


def test_cpp_truncates_at_nul_and_signs_surrogate_bytes(outcomes):
    from appauth_conformance import scheme

    f = failing(outcomes, "cpp")
    nul_key = with_flag("key-nul-start", "key-nul-middle") | {"key-nul-end-002"}
    assert set(f) == with_flag("nul") | nul_key | with_flag("high-surrogate", "low-surrogate")
    for vid in with_flag("nul") | nul_key:
        o, v = outcomes["cpp"][vid], outcomes["cpp"][vid].vector
        assert f[vid] is Stage.SIGNATURE and o.string_to_sign == v.string_to_sign
        cut = lambda s: s.split("\0")[0]  # noqa: E731 - what strlen() sees
        assert o.signature == scheme.sign(cut(v.string_to_sign), cut(v.app_key))


def test_cryptojs_refuses_surrogates_and_rounds_huge_expiry(outcomes):
    f = failing(outcomes, "js")
    assert set(f) == with_flag("expire-float-precision")
    assert all(s is Stage.STRING_TO_SIGN for s in f.values())
    assert outcomes["js"]["lone-high-user-001"].error["type"] == "URIError"
    big = outcomes["js"]["expire-int64-max-001"]
    assert ":9223372036854776000:" in big.string_to_sign


def test_long_fields_and_nul_travel_intact(outcomes):
    long_ids = with_flag("long-field")
    assert long_ids
    for lang in ("python", "java", "cpp", "js"):
        for vid in long_ids:
            o = outcomes[lang][vid]
            if o.vector.result == "valid":
                assert o.string_to_sign == o.vector.string_to_sign, (lang, vid)
        for vid in with_flag("nul"):
            assert outcomes[lang][vid].string_to_sign == outcomes[lang][vid].vector.string_to_sign, (lang, vid)


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.language)
def test_bad_request_lines_in_a_chunk_spoil_only_themselves(spec, outcomes):  # outcomes: the runners are built
    """One write holding good requests and bad lines (runners decode a chunk at once where they can):
    every good request is answered, a bad one whose seq can be read gets an error reply, and nothing stops."""
    import json
    import subprocess

    from appauth_conformance import protocol

    backend = LocalBackend()
    good = [
        v
        for v in CORPUS.vectors
        if v.result == "valid"
        and v.app_key
        and v.expire_time < 2**31
        and (v.string_to_sign + v.app_key).isascii()
        and "\0" not in v.string_to_sign + v.app_key
    ][:3]
    lines = [
        protocol.HELLO_REQUEST.rstrip(b"\n"),
        protocol.sign_request(1, good[0].request_body).rstrip(b"\n"),
        b'{"op":"sign","seq":2,"mode":"single","app_id":"a"',  # cut short: not JSON, seq readable
        b"this is not json",  # no seq at all: no reply
        b"1,2",  # two JSON values on one line
        b"[" * 100_000,  # nested too deep for a recursive parser: no seq, no reply, no crash
        protocol.sign_request(3, good[1].request_body).rstrip(b"\n"),
        b'{"op":"sign","seq":4,"mode":"single","app_id":"a","corp_id":"","user_id":"u","expire_time":"soon",'
        b'"nonce":"n","app_key":"k"}',  # a field of the wrong type
        protocol.sign_request(5, good[2].request_body).rstrip(b"\n"),
    ]
    r = subprocess.run(
        spec.argv(), cwd=backend.build_dir(spec), input=b"\n".join(lines) + b"\n", capture_output=True, timeout=60
    )
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    replies = [json.loads(x) for x in r.stdout.splitlines()]
    assert replies[0]["op"] == "hello"
    by_seq = {m["seq"]: m for m in replies[1:]}
    assert sorted(by_seq) == [1, 2, 3, 4, 5], replies
    for seq, v in ((1, good[0]), (3, good[1]), (5, good[2])):
        assert by_seq[seq].get("signature") == v.signature, (seq, by_seq[seq])
    for seq in (2, 4):
        assert by_seq[seq]["error"]["type"] == "ProtocolError" and "signature" not in by_seq[seq]

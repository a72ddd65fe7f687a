"""The four reference runners, built by the local backend, on the real corpus: each passes every
vector its documented snippet handles, and each documented quirk shows up by name."""

from __future__ import annotations

import pytest

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import Stage
from appauth_conformance.corpus import vectors
from appauth_conformance.execution import options
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.registry import BUILTINS
from appauth_conformance.execution.session import Session
from appauth_conformance.judging.verdicts import conformance

CORPUS = vectors.load()
REFERENCE = [s for s in BUILTINS if s.group == "reference"]  # the vendor SDKs: tests/test_vendor_sdk.py


@pytest.fixture(scope="module")
def outcomes():
    backend = LocalBackend()
    out = {}
    for spec in REFERENCE:
        try:
            backend.prepare(spec)
        except RunnerUnavailable as e:
            pytest.fail(str(e)) if options.in_ci() else pytest.skip(str(e))
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
    from appauth_conformance.core import scheme

    for vid in surrogates:
        o, v = outcomes["java"][vid], outcomes["java"][vid].vector
        assert f[vid] is Stage.UNEXPECTED_SIGNATURE
        replaced = lambda s: "".join("?" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)  # noqa: E731
        assert o.signature == scheme.sign(replaced(v.string_to_sign), replaced(v.app_key))


def test_cpp_truncates_at_nul_and_signs_surrogate_bytes(outcomes):
    from appauth_conformance.core import scheme

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


@pytest.mark.parametrize("spec", REFERENCE, ids=lambda s: s.language)
def test_bad_request_lines_in_a_chunk_spoil_only_themselves(spec, outcomes):  # outcomes: the runners are built
    """One write holding good requests and bad lines (runners decode a chunk at once where they can):
    every good request is answered, a bad one whose seq can be read gets an error reply, and nothing stops."""
    import json
    import subprocess

    from appauth_conformance.core import wire

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
        wire.HELLO_REQUEST.rstrip(b"\n"),
        wire.sign_request(1, good[0].request_body).rstrip(b"\n"),
        b'{"op":"sign","seq":2,"mode":"single","app_id":"a"',  # cut short: not JSON, seq readable
        b"this is not json",  # no seq at all: no reply
        b"1,2",  # two JSON values on one line
        b"[" * 100_000,  # nested too deep for a recursive parser: no seq, no reply, no crash
        wire.sign_request(3, good[1].request_body).rstrip(b"\n"),
        b'{"op":"sign","seq":4,"mode":"single","app_id":"a","corp_id":"","user_id":"u","expire_time":"soon",'
        b'"nonce":"n","app_key":"k"}',  # a field of the wrong type
        wire.sign_request(5, good[2].request_body).rstrip(b"\n"),
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


# -- the Docker variants: data beside each runner (runners/<runner>/variants.yaml) ------------------------


def test_every_runner_with_a_variants_file_has_its_variants():
    from appauth_conformance.core.errors import UsageError
    from appauth_conformance.execution import variants

    found = variants.files()
    assert {p.parent.name for p in found} >= {"python", "java", "cpp", "js", "huawei-python-sdk"}
    defaults = variants.default_variants()
    with_file = [s for s in BUILTINS if (s.source / "variants.yaml").is_file()]
    assert [s.name for s in defaults] == [s.name for s in with_file]  # one default each, the registry's order
    for d, ref in zip(defaults, with_file, strict=True):
        assert d.builtin and d.family == ref.name and set(ref.aliases) <= set(d.aliases)
        assert (d.command, d.build, d.source, d.divergences) == (ref.command, ref.build, ref.source, ref.divergences)
        assert variants.docker_spec(ref) is d
    for v in variants.all_variants():
        assert v.docker["template"] == "Dockerfile.j2" and (v.source / "Dockerfile.j2").is_file()
        assert set(v.docker) == {"template", "suite", "pins", "vars"}
    with pytest.raises(UsageError, match=r"unknown Docker variant 'cpp-openssl-0\.9'; known: python-reference"):
        variants.variant("cpp-openssl-0.9")


def _runner_folder(tmp_path, name: str, text: str):
    """A runners/ folder with one runner, `name`, whose variants.yaml is `text`; and that runner."""
    from appauth_conformance.core.model import RunnerSpec

    folder = tmp_path / "runners" / name
    folder.mkdir(parents=True)
    (folder / "variants.yaml").write_text(text)
    return tmp_path / "runners", RunnerSpec(name=name, language="go", command=("./signer",), source=folder)


GOOD = """\
schema: appauth-conformance/variants/1
variants:
  - name: vendor-sdk
    default: true
    alias: vendor-sdk-bookworm
    suite: bookworm
    pins: SDK 2.1 (Go 1.19)
    vars: {packages: [golang-go]}
  - name: vendor-sdk-trixie
    suite: trixie
    pins: SDK 2.1 (Go 1.24)
"""


def test_a_new_runner_folder_brings_its_variants(tmp_path):
    """Not a list of four: any runner whose folder has a variants.yaml gets its variants."""
    from appauth_conformance.execution import variants

    runners_dir, sdk = _runner_folder(tmp_path, "vendor-sdk", GOOD)
    got = variants.load(runners_dir, [*BUILTINS, sdk])
    assert [v.name for v in got] == ["vendor-sdk", "vendor-sdk-trixie"]  # the built-ins' folders are elsewhere
    default, trixie = got
    assert default.builtin and default.aliases == ("vendor-sdk-bookworm",) and default.family == "vendor-sdk"
    assert default.docker == {
        "template": "Dockerfile.j2",
        "suite": "bookworm",
        "pins": "SDK 2.1 (Go 1.19)",
        "vars": {"packages": ["golang-go"]},
    }
    assert not trixie.builtin and trixie.docker["vars"] == {} and trixie.command == ("./signer",)


SCHEMA_FIX = (
    r"; fix the file to match the schema appauth_conformance/formats/schemas/variants\.json of the installed package "
    r"\(.*`appauth-conformance docs docker`"
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("    alias: vendor-sdk-bookworm\n", "    aliases: [vendor-sdk-bookworm]\n"),
            r"variants\.yaml:5: variants\[0\]\.aliases: Additional properties are not allowed .*; "
            r"allowed: alias, default, name, pins, suite, template, vars" + SCHEMA_FIX,
        ),
        (
            ("schema: appauth-conformance/variants/1\n", ""),
            r"variants\.yaml:1: `schema` is None, expected 'appauth-conformance/variants/1'; "
            r"start the file with `schema: appauth-conformance/variants/1`",
        ),
        (("variants/1", "variants/2"), r"variants\.yaml:1: schema: `schema` is 'appauth-conformance/variants/2'"),
        (
            ("suite: trixie", "suite: Trixie"),
            r"variants\.yaml:10: variants\[1\]\.suite: 'Trixie' does not match" + ".*" + SCHEMA_FIX,
        ),
        (("packages: [golang-go]", "packages: golang-go"), r"variants\.yaml:8: variants\[0\]\.vars\.packages: .*array"),
        (("    pins: SDK 2.1 (Go 1.24)\n", ""), r"variants\.yaml:9: variants\[1\]: 'pins' is a required property"),
        (
            ("    default: true\n", ""),
            r"variants\.yaml:3: variants: 0 variants are marked `default: true`, expected exactly one; "
            r"mark the one that --backend=docker runs for vendor-sdk with `default: true`",
        ),
        (
            ("  - name: vendor-sdk\n", "  - name: vendor-sdk-bookworm\n"),
            r"variants\.yaml:3: variants\[0\]\.name: the default variant is named 'vendor-sdk-bookworm'; "
            r"name it 'vendor-sdk' \(the runner's own name",
        ),
        (
            ("name: vendor-sdk-trixie", "name: vendor-sdk-bookworm"),
            r"variants\.yaml:9: variants\[1\]: 'vendor-sdk-bookworm' is used twice; give every variant a unique name",
        ),
        (("    vars:", "    vars: [\n"), r"variants\.yaml:10: YAML syntax: .*" + SCHEMA_FIX),
    ],
)
def test_a_wrong_variants_file_names_the_file_the_line_and_the_fix(tmp_path, change, message):
    from appauth_conformance.core.errors import UsageError
    from appauth_conformance.execution import variants

    runners_dir, sdk = _runner_folder(tmp_path, "vendor-sdk", GOOD.replace(*change))
    with pytest.raises(UsageError, match=message) as e:
        variants.load(runners_dir, [sdk])
    assert str(e.value).startswith(str(runners_dir / "vendor-sdk" / "variants.yaml") + ":")


def test_a_variants_file_no_runner_builds_from_is_an_error(tmp_path):
    from appauth_conformance.core.errors import UsageError
    from appauth_conformance.execution import variants

    runners_dir, _sdk = _runner_folder(tmp_path, "vendor-sdk", GOOD)
    with pytest.raises(UsageError, match=r"vendor-sdk/variants.yaml: no runner builds from .*add the runner"):
        variants.load(runners_dir, BUILTINS)

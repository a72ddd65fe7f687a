"""diagnose(): every catalogued mistake is recognised from an independently computed wrong output.

The wrong outputs below are written out by hand with hashlib/hmac/base64, never with
appauth_conformance.judging.diagnosis's own functions, so a bug in a catalogue entry cannot hide itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from appauth_conformance.core import scheme
from appauth_conformance.judging import diagnosis
from appauth_conformance.judging.diagnosis import CATALOGUE, STAGES, Mistake, diagnose

ROOT = Path(__file__).resolve().parent.parent
T = 1604020600
N = "0123456789abcdef0123456789abcdef"  # a 32-character nonce
KEY = "secret-key"


def F(mode="sp_user", app="app123", corp="corp9", user="alice", exp=T, nonce=N) -> scheme.Fields:
    return scheme.Fields(scheme.Mode(mode), app, corp, user, exp, nonce)


def single(**kw) -> scheme.Fields:
    kw.setdefault("corp", "")
    return F("single", **kw)


def H(data, key=KEY, algo=hashlib.sha256) -> str:
    """Hex HMAC over UTF-8 text or bytes, written independently of the harness."""
    data = data.encode("utf-8") if isinstance(data, str) else data
    key = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(key, data, algo).hexdigest()


def D(data, key=KEY) -> bytes:
    return bytes.fromhex(H(data, key))


# The correct strings to sign of the default fields, written out.
SP = f"app123:corp9:alice:{T}:{N}"
SINGLE = f"app123:alice:{T}:{N}"


def find_nonce(accept) -> str:
    """A nonce whose correct digest (of the default sp_user fields) satisfies accept(digest)."""
    for i in range(10000):
        nonce = f"{i:032d}"
        if accept(D(f"app123:corp9:alice:{T}:{nonce}")):
            return nonce
    raise AssertionError("no nonce found")


@dataclass
class Case:
    id: str
    fields: scheme.Fields
    key: str = KEY
    string: str | None = None  # for string_to_sign mistakes: the wrong string
    signature: str | None = None  # for signature mistakes: the wrong signature


def lazy_cases() -> list[Case]:
    c = []
    add = c.append
    # --- string to sign: separators
    for id, sep in [
        ("separator-pipe", "|"),
        ("separator-comma", ","),
        ("separator-semicolon", ";"),
        ("separator-empty", ""),
        ("separator-ampersand", "&"),
        ("separator-newline", "\n"),
        ("separator-space", " "),
    ]:
        add(Case(id, F(), string=sep.join(["app123", "corp9", "alice", str(T), N])))
    # --- which slots
    add(Case("empty-fields-skipped", single(user=""), string=f"app123:{T}:{N}"))  # the owner
    add(Case("empty-fields-skipped", F("sp_admin", corp="", user=""), string=f"app123:{T}:{N}"))
    add(Case("uncarried-slots-dropped", F("sp_corp_admin", user=""), string=f"app123:corp9:{T}:{N}"))
    add(Case("uncarried-slots-dropped", F("sp_admin", corp="", user=""), string=f"app123:{T}:{N}"))
    add(Case("corp-slot-in-single", single(), string=f"app123::alice:{T}:{N}"))
    add(Case("corp-slot-in-single", single(corp="corp9"), string=f"app123:corp9:alice:{T}:{N}"))  # an ignored corp
    add(Case("corp-slot-omitted", F(), string=f"app123:alice:{T}:{N}"))
    add(Case("corp-slot-omitted", F("sp_corp_admin", user=""), string=f"app123::{T}:{N}"))
    add(Case("uncarried-field-signed", F("sp_admin", corp="", user="bob"), string=f"app123::bob:{T}:{N}"))
    add(Case("uncarried-field-signed", F("sp_corp_admin", user="bob"), string=f"app123:corp9:bob:{T}:{N}"))
    add(Case("expire-unchecked", single(exp=-5), string=f"app123:alice:-5:{N}"))
    # --- order
    add(Case("user-before-corp", F(), string=f"app123:alice:corp9:{T}:{N}"))
    add(Case("user-before-corp", F("sp_corp_admin", user=""), string=f"app123::corp9:{T}:{N}"))
    add(Case("nonce-before-expire", F(), string=f"app123:corp9:alice:{N}:{T}"))
    add(Case("nonce-before-expire", single(), string=f"app123:alice:{N}:{T}"))
    add(Case("app-id-last", F(), string=f"corp9:alice:{T}:{N}:app123"))
    add(Case("fields-reversed", F(), string=f"{N}:{T}:alice:corp9:app123"))
    # --- expire time
    add(Case("expire-milliseconds", F(), string=f"app123:corp9:alice:{T}000:{N}"))
    add(Case("expire-float", F(), string=f"app123:corp9:alice:1604020600.0:{N}"))
    add(Case("expire-java-double", F(), string=f"app123:corp9:alice:1.6040206E9:{N}"))
    add(Case("expire-java-double", single(exp=2000000000), string=f"app123:alice:2.0E9:{N}"))
    # JavaScript: Number(2**63 - 1) prints as 9223372036854776000
    add(Case("expire-js-number", single(exp=2**63 - 1), string=f"app123:alice:9223372036854776000:{N}"))
    # held in 32 bits: a signed field wraps 2^31 to -2^31 (and 2^32-1 to -1); an unsigned one keeps the low bits
    add(Case("expire-int32-wrap", F(exp=2**31), string=f"app123:corp9:alice:-2147483648:{N}"))
    add(Case("expire-int32-wrap", single(exp=2**32 - 1), string=f"app123:alice:-1:{N}"))
    add(Case("expire-uint32-truncated", F(exp=2**32), string=f"app123:corp9:alice:0:{N}"))
    add(Case("expire-uint32-truncated", single(exp=10**10), string=f"app123:alice:1410065408:{N}"))
    # --- text of the fields
    add(Case("nul-truncates-data", F(nonce="abc\0" + N), string="app123:corp9:alice:" + str(T) + ":abc"))
    add(Case("fields-stripped", F(user=" alice\u3000"), string=SP))
    add(Case("fields-java-trimmed", F(user="\0alice\t"), string=SP))
    add(Case("string-stripped", F(app=" app123", nonce=N + "\n"), string=SP))
    add(Case("fields-nfc", F(user="cafe\u0301"), string=f"app123:corp9:caf\u00e9:{T}:{N}"))
    add(Case("fields-nfd", F(user="caf\u00e9"), string=f"app123:corp9:cafe\u0301:{T}:{N}"))
    add(Case("fields-nfkc", F(user="\uff41lice"), string=SP))
    add(Case("ids-lowercased", F(app="App123", corp="CORP9", user="Alice"), string=SP))
    add(Case("fields-url-encoded", F(user="a b/c~"), string=f"app123:corp9:a%20b%2Fc~:{T}:{N}"))
    add(Case("fields-uri-component", F(user="a b!(é)"), string=f"app123:corp9:a%20b!(%C3%A9):{T}:{N}"))
    add(Case("fields-form-encoded", F(user="a b*~"), string=f"app123:corp9:a+b*%7E:{T}:{N}"))
    add(Case("string-url-encoded", F(), string=SP.replace(":", "%3A")))
    add(Case("app-id-base64", F(), string=f"YXBwMTIz:corp9:alice:{T}:{N}"))
    add(Case("trailing-newline", F(), string=SP + "\n"))
    add(Case("trailing-crlf", F(), string=SP + "\r\n"))
    add(Case("trailing-colon", F(), string=SP + ":"))
    add(Case("trailing-colon", F("sp_admin", corp="", user=""), string=f"app123:::{T}:{N}:"))

    # --- string to sign: other schemes' habits
    add(Case("null-literal-field", F("sp_corp_admin", user=""), string=f"app123:corp9:null:{T}:{N}"))
    add(Case("null-literal-field", single(user=""), string=f"app123:null:{T}:{N}"))
    add(Case("none-literal-field", F("sp_admin", corp="", user=""), string=f"app123:None:None:{T}:{N}"))
    add(Case("undefined-literal-field", F("sp_corp_admin", user=""), string=f"app123:corp9:undefined:{T}:{N}"))
    add(
        Case(
            "json-body-signed",
            F(user="zoë"),
            string=f'{{"appId":"app123","corpId":"corp9","userId":"zoë","expireTime":{T},"nonce":"{N}"}}',
        )
    )
    add(Case("query-string-pairs", F(), string=f"appId=app123&corpId=corp9&expireTime={T}&nonce={N}&userId=alice"))
    add(Case("fields-sorted-by-name", F(), string=f"app123:corp9:{T}:{N}:alice"))
    add(Case("fields-sorted-by-name", single(), string=f"app123:{T}:{N}:alice"))
    add(Case("values-sorted", F(), string=":".join(sorted(["app123", "corp9", "alice", str(T), N]))))
    add(Case("expire-tz-minus-8h", F(), string=f"app123:corp9:alice:{T - 28800}:{N}"))
    add(Case("expire-tz-plus-8h", F(), string=f"app123:corp9:alice:{T + 28800}:{N}"))
    add(Case("expire-iso8601-basic", F(), string=f"app123:corp9:alice:20201030T011640Z:{N}"))  # 1604020600 in UTC
    add(Case("expire-iso8601", F(), string=f"app123:corp9:alice:2020-10-30T01:16:40.000Z:{N}"))
    add(Case("string-json-quoted", F(user='a"b'), string=f'"app123:corp9:a\\"b:{T}:{N}"'))
    # --- signature: output format
    d = D(SP)
    add(Case("hex-uppercase", F(), signature=d.hex().upper()))
    n = find_nonce(lambda d: any(b < 0x10 for b in d))
    dn = D(f"app123:corp9:alice:{T}:{n}")
    add(Case("hex-unpadded", F(nonce=n), signature="".join("%x" % b for b in dn)))
    add(
        Case(
            "hex-java-sign-extended",
            F(),
            signature="".join("%x" % (b if b < 128 else (b - 256) & 0xFFFFFFFF) for b in d),
        )
    )
    n = find_nonce(lambda d: d[0] < 0x10)
    dn = D(f"app123:corp9:alice:{T}:{n}")
    add(Case("hex-bigint-unpadded", F(nonce=n), signature=dn.hex().lstrip("0")))
    add(Case("hex-truncated-128", F(), signature=d.hex()[:32]))
    add(Case("hex-truncated", F(), signature=d.hex()[:63]))
    add(Case("hex-truncated", F(), signature=d.hex()[:40]))
    add(Case("signature-not-hex", F(), signature="not-hex!"))
    add(Case("signature-not-hex", F(), signature="g" * 64))
    add(Case("base64", F(), signature=base64.b64encode(d).decode()))
    n = find_nonce(lambda d: b"+" in base64.b64encode(d) or b"/" in base64.b64encode(d))
    dn = D(f"app123:corp9:alice:{T}:{n}")
    add(Case("base64url", F(nonce=n), signature=base64.b64encode(dn).decode().replace("+", "-").replace("/", "_")))
    add(Case("base64url-unpadded", F(), signature=base64.urlsafe_b64encode(d).decode().rstrip("=")))
    add(Case("base64-of-hex", F(), signature=base64.b64encode(d.hex().encode()).decode()))
    add(Case("raw-digest-latin1", F(), signature="".join(map(chr, d))))
    add(Case("raw-digest-utf8", F(), signature=d.decode("utf-8", "replace")))
    add(Case("hex-dotnet-dashed", F(), signature="-".join("%02X" % b for b in d)))
    add(Case("hex-colon-separated", F(), signature=":".join("%02x" % b for b in d)))
    add(Case("hex-0x-prefixed", F(), signature="0x" + d.hex()))
    add(Case("signature-scheme-prefix", F(), signature="sha256=" + d.hex()))
    add(Case("signature-bytes-repr", F(), signature="b'" + d.hex() + "'"))
    add(Case("openssl-stdin-prefix", F(), signature="SHA2-256(stdin)= " + d.hex()))
    add(Case("openssl-stdin-prefix", F(), signature="(stdin)= " + d.hex()))
    add(Case("base64-trailing-newline", F(), signature=base64.b64encode(d).decode() + "\n"))
    n = find_nonce(lambda d: any(c in base64.b64encode(d) for c in b"+/="))
    dn = D(f"app123:corp9:alice:{T}:{n}")
    quoted = base64.b64encode(dn).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    add(Case("base64-percent-encoded", F(nonce=n), signature=quoted))
    add(Case("signature-full-header", F(), signature=f"HMAC-SHA256 signature={d.hex()},access=YXBwMTIz"))
    add(Case("signature-appid-prefix", F(), signature="app123:" + d.hex()))
    add(Case("empty-signature", F(), signature=""))
    add(Case("signature-null-literal", F(), signature="null"))
    add(Case("signature-none-literal", F(), signature="None"))
    add(Case("signature-undefined-literal", F(), signature="undefined"))
    # --- signature: key
    add(Case("key-data-swapped", F(), signature=hmac.new(SP.encode(), KEY.encode(), hashlib.sha256).hexdigest()))
    add(Case("nul-truncates-key", F(), key="sec\0ret", signature=H(SP, b"sec")))
    add(
        Case(
            "nul-truncates-both",
            F(nonce="abc\0" + N),
            key="sec\0ret",
            signature=H(f"app123:corp9:alice:{T}:abc", b"sec"),
        )
    )
    add(Case("key-stripped", F(), key=" secret\u3000", signature=H(SP, "secret")))
    add(Case("key-java-trimmed", F(), key="\0secret\n", signature=H(SP, "secret")))
    add(Case("key-nfc", F(), key="cle\u0301", signature=H(SP, b"cl\xc3\xa9")))
    add(Case("key-nfd", F(), key="cl\u00e9", signature=H(SP, b"cle\xcc\x81")))
    add(
        Case(
            "nfc-everywhere",
            F(user="cafe\u0301"),
            key="cle\u0301",
            signature=H(f"app123:corp9:caf\u00e9:{T}:{N}", b"cl\xc3\xa9"),
        )
    )
    add(
        Case(
            "nfd-everywhere",
            F(user="caf\u00e9"),
            key="cl\u00e9",
            signature=H(f"app123:corp9:cafe\u0301:{T}:{N}", b"cle\xcc\x81"),
        )
    )
    add(Case("key-hex-decoded", F(), key="00ff10AB", signature=H(SP, b"\x00\xff\x10\xab")))
    add(Case("key-base64-decoded", F(), key="c2VjcmV0", signature=H(SP, b"secret")))
    add(Case("key-base64url-decoded", F(), key="-_-_", signature=H(SP, b"\xfb\xff\xbf")))
    add(Case("key-trailing-newline", F(), signature=H(SP, KEY + "\n")))
    add(Case("key-ampersand-suffix", F(), signature=H(SP, KEY + "&")))
    add(Case("key-empty", F(), signature=H(SP, "")))
    add(Case("key-undefined-literal", F(), signature=H(SP, "undefined")))
    add(Case("key-sha256-prehashed", F(), signature=H(SP, hashlib.sha256(KEY.encode()).digest())))
    add(Case("key-appended-to-data", F(), signature=H(SP + "&key=" + KEY)))
    # --- signature: text encoding
    s = f"app123:corp9:zo\u00eb\u20ac:{T}:{N}"
    add(Case("latin1-replace", F(user="zo\u00eb\u20ac"), signature=H(s.replace("\u20ac", "?").encode("latin-1"))))
    add(
        Case(
            "cp1252-replace",
            F(user="zo\u00eb\u20ac\u0100"),
            signature=H(f"app123:corp9:zo\xeb\x80?:{T}:{N}".encode("latin-1")),
        )
    )
    add(Case("ascii-replace", F(user="zo\u00eb\u20ac"), signature=H(f"app123:corp9:zo??:{T}:{N}".encode())))
    add(Case("utf16le", F(), signature=H(SP.encode("utf-16-le"), KEY.encode("utf-16-le"))))
    add(Case("utf16be", F(), signature=H(SP.encode("utf-16-be"), KEY.encode("utf-16-be"))))
    add(
        Case("utf16-bom", F(), signature=H(b"\xfe\xff" + SP.encode("utf-16-be"), b"\xfe\xff" + KEY.encode("utf-16-be")))
    )
    add(Case("double-utf8", F(user="\u00e9"), signature=H(f"app123:corp9:\u00c3\u00a9:{T}:{N}")))
    add(Case("surrogate-question-mark", F(user="a\ud800b"), signature=H(f"app123:corp9:a?b:{T}:{N}")))
    add(Case("surrogate-question-mark", F(), key="k\udfffey", signature=H(SP, "k?ey")))
    add(Case("surrogate-replacement-char", F(user="a\ud800b"), signature=H(f"app123:corp9:a\ufffdb:{T}:{N}")))
    add(Case("surrogate-dropped", F(user="a\ud800b"), signature=H(f"app123:corp9:ab:{T}:{N}")))
    add(
        Case(
            "surrogate-wtf8",
            F(user="a\ud800b"),
            signature=H(b"app123:corp9:a" + b"\xed\xa0\x80b:" + f"{T}:{N}".encode()),
        )
    )
    add(
        Case(
            "cesu8", F(user="\U0001f600"), signature=H(b"app123:corp9:\xed\xa0\xbd\xed\xb8\x80:" + f"{T}:{N}".encode())
        )
    )
    add(Case("modified-utf8", F(nonce="a\0b"), signature=H(f"app123:corp9:alice:{T}:a".encode() + b"\xc0\x80b")))
    # --- signature: algorithm
    for id, algo in [
        ("hmac-sha1", hashlib.sha1),
        ("hmac-sha224", hashlib.sha224),
        ("hmac-sha384", hashlib.sha384),
        ("hmac-sha512", hashlib.sha512),
        ("hmac-md5", hashlib.md5),
        ("hmac-sha3-256", hashlib.sha3_256),
    ]:
        add(Case(id, F(), signature=H(SP, KEY, algo)))
    add(Case("hmac-sha512-truncated", F(), signature=H(SP, KEY, hashlib.sha512)[:64]))
    add(Case("hmac-of-sha256-hex", F(), signature=H(hashlib.sha256(SP.encode()).hexdigest())))
    add(Case("go-sum-appends", F(), signature=(SP.encode() + D(b"")).hex()))
    add(Case("hmac-last-field-only", F(), signature=H(N)))
    add(Case("sha256-key-data", F(), signature=hashlib.sha256((KEY + SP).encode()).hexdigest()))
    add(Case("sha256-data-key", F(), signature=hashlib.sha256((SP + KEY).encode()).hexdigest()))
    add(Case("sha256-data", F(), signature=hashlib.sha256(SP.encode()).hexdigest()))
    return c


CASES = lazy_cases()


def oracle(f: scheme.Fields, key: str) -> tuple[str | None, str | None]:
    try:
        data = scheme.string_to_sign(f)
    except scheme.SchemeError:
        return None, None
    try:
        return data, scheme.sign_fields(f, key)[1]
    except scheme.SchemeError:
        return data, None


def ids(found: list[Mistake]) -> list[str]:
    return [m.id for m in found]


def test_every_mistake_has_a_case():
    assert {m.id for m in CATALOGUE} == {c.id for c in CASES}


def test_every_case_names_a_catalogued_mistake_of_its_stage():
    for c in CASES:
        stage = diagnosis.BY_ID[c.id].stage
        assert (c.string is not None) == (stage == "string_to_sign"), c.id
        assert (c.signature is not None) == (stage == "signature"), c.id


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id}-{i}" for i, c in enumerate(CASES)])
def test_case_output_differs_from_the_oracle(case):
    data, sig = oracle(case.fields, case.key)
    if case.string is not None:
        assert case.string != data
        assert H(case.string, case.key) != sig
    else:
        assert case.signature != sig


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.string is not None],
    ids=[f"{c.id}-{i}" for i, c in enumerate(CASES) if c.string is not None],
)
def test_string_mistake_named_from_the_string_alone(case):
    assert case.id in ids(diagnose(case.fields, case.key, case.string, None))


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.string is not None],
    ids=[f"{c.id}-{i}" for i, c in enumerate(CASES) if c.string is not None],
)
def test_string_mistake_named_from_the_signature_alone(case):
    # a signer that exposes only its signature but joins its fields wrongly
    assert case.id in ids(diagnose(case.fields, case.key, None, H(case.string, case.key)))


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.string is not None],
    ids=[f"{c.id}-{i}" for i, c in enumerate(CASES) if c.string is not None],
)
def test_string_mistake_named_from_both(case):
    assert case.id in ids(diagnose(case.fields, case.key, case.string, H(case.string, case.key)))


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.signature is not None],
    ids=[f"{c.id}-{i}" for i, c in enumerate(CASES) if c.signature is not None],
)
def test_signature_mistake_named(case):
    assert case.id in ids(diagnose(case.fields, case.key, None, case.signature))
    data, _ = oracle(case.fields, case.key)
    if data is not None:  # reported together with the correct string to sign
        assert case.id in ids(diagnose(case.fields, case.key, data, case.signature))


# --- what must not be diagnosed --------------------------------------------------------------

SAMPLES = [
    (F(), KEY),
    (single(), KEY),
    (single(user=""), KEY),
    (F("sp_corp_admin", user=""), KEY),
    (F("sp_admin", corp="", user=""), KEY),
    (F(user=" caf\u00e9 \U0001f600", nonce="x\0y"), "k\0 ey"),
    (single(app="App", user="Zo\u00eb", exp=0), ""),
    (F(user="a:b"), "00ff"),
]


@pytest.mark.parametrize("fields,key", SAMPLES)
def test_correct_output_diagnoses_to_nothing(fields, key):
    data, sig = oracle(fields, key)
    assert diagnose(fields, key, data, sig) == []
    assert diagnose(fields, key, data, None) == []
    assert diagnose(fields, key, None, sig) == []
    assert diagnose(fields, key, None, None) == []


@pytest.mark.parametrize("fields,key", SAMPLES)
def test_unrelated_output_diagnoses_to_nothing(fields, key):
    rnd = random.Random(repr(fields) + key)
    for _ in range(20):
        junk = "%064x" % rnd.getrandbits(256)
        assert diagnose(fields, key, None, junk) == []
        assert diagnose(fields, key, None, junk.upper()) == []
        # not even hex: that much is said of it, nothing more
        assert ids(diagnose(fields, key, None, base64.b64encode(junk.encode()[:32]).decode())) == ["signature-not-hex"]
        assert diagnose(fields, key, junk, None) == []
        assert diagnose(fields, key, junk, junk) == []


def test_inapplicable_mistakes_are_not_named():
    # no NUL, no whitespace, ASCII only, lower-case ids, key not hex nor base64: a random
    # signature matches nothing, and neither do no-op mistakes on a wrong string
    f = F()
    assert diagnose(f, "secret-key!", SP + "x", None) == []


# --- catalogue shape -------------------------------------------------------------------------


def test_ids_unique_kebab_case_and_entries_complete():
    seen = [m.id for m in CATALOGUE]
    assert len(seen) == len(set(seen))
    for m in CATALOGUE:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", m.id), m.id
        assert m.stage in STAGES, m.id
        assert m.title and "\n" not in m.title, m.id
        assert m.origin, m.id
        assert (m.text is not None) == (m.stage == "string_to_sign"), m.id
        assert (m.sign is not None) == (m.stage == "signature"), m.id
    assert diagnosis.BY_ID == {m.id: m for m in CATALOGUE}


def test_every_mistake_documented():
    doc = (ROOT / "docs" / "diagnosis.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*(\w+)\s*\|", doc, re.M))
    for m in CATALOGUE:
        assert m.id in rows, f"{m.id} has no row in docs/diagnosis.md"
        assert rows[m.id] == m.stage, m.id
    assert set(rows) == {m.id for m in CATALOGUE}, "docs/diagnosis.md lists mistakes that do not exist"


def test_every_mistake_named_in_the_module_docstring():
    for m in CATALOGUE:
        assert m.id in diagnosis.__doc__, m.id


# --- both stages, composition, refused inputs ------------------------------------------------


def test_wrong_string_without_signature():
    assert ids(diagnose(F(), KEY, SP.replace(":", "|"), None)) == ["separator-pipe"]


def test_signature_only():
    assert ids(diagnose(F(), KEY, None, H(SP).upper())) == ["hex-uppercase"]
    assert ids(diagnose(F(), KEY, None, H(SP.replace(":", ",")))) == ["separator-comma"]


def test_correct_string_wrong_signature():
    # the signer reports the right string but signs it with a trailing newline
    assert "trailing-newline" in ids(diagnose(F(), KEY, SP, H(SP + "\n")))


def test_string_mistake_and_signature_mistake_together():
    wrong = SP.replace(":", "|")
    found = ids(diagnose(F(), KEY, wrong, H(wrong).upper()))
    assert found == ["separator-pipe", "hex-uppercase"]


def test_consistently_wrong_signer_is_not_blamed_for_signing():
    # the string is wrong but the signature is right for that string: only the join is named
    wrong = f"app123:{T}:{N}"
    found = ids(diagnose(F("sp_admin", corp="", user=""), KEY, wrong, H(wrong)))
    assert found == ["empty-fields-skipped", "uncarried-slots-dropped"]


def test_an_id_the_mode_does_not_sign_is_ignored_not_refused():
    f = single(corp="corp9")  # single mode signs no corp_id: the oracle ignores it
    assert oracle(f, KEY) == (SINGLE, H(SINGLE))
    assert ids(diagnose(f, KEY, None, H(SINGLE))) == []  # ignoring it is right
    assert ids(diagnose(f, KEY, None, H(SINGLE).upper())) == ["hex-uppercase"]
    signed = f"app123:corp9:alice:{T}:{N}"  # signing it anyway, in a five-slot template
    assert ids(diagnose(f, KEY, signed, H(signed))) == ["corp-slot-in-single"]


def test_refused_input_signed_anyway():
    f = single(exp=-5)  # the scheme refuses a negative expire time
    assert oracle(f, KEY) == (None, None)
    wrong = f"app123:alice:-5:{N}"
    assert ids(diagnose(f, KEY, None, H(wrong))) == ["expire-unchecked"]
    assert ids(diagnose(f, KEY, wrong, H(wrong).upper())) == ["expire-unchecked", "hex-uppercase"]


def test_java_reference_on_a_lone_surrogate():
    # Java's getBytes(UTF_8) writes '?': indistinguishable here from the 8-bit charsets' '?'
    f = F(user="a\ud800b")
    found = ids(diagnose(f, KEY, None, H(f"app123:corp9:a?b:{T}:{N}")))
    assert "surrogate-question-mark" in found
    assert set(found) <= {"surrogate-question-mark", "latin1-replace", "cp1252-replace", "ascii-replace"}


def test_cpp_reference_on_nul():
    f = F(nonce="abc\0def")
    both = H(f"app123:corp9:alice:{T}:abc", "sec")
    assert ids(diagnose(f, "sec\0ret", None, both)) == ["nul-truncates-both"]
    # NUL in the data only: cutting the data and cutting both are the same computation
    assert ids(diagnose(f, "sec", None, both)) == ["nul-truncates-data", "nul-truncates-both"]


def test_mistakes_that_cannot_encode_the_input_do_not_apply():
    f = F(app="\udc00", corp="\ud800", user="\ud83d", nonce="\udfff\0")
    for junk in ["x", "0" * 64, "\udc00", "A" * 88]:
        found = ids(diagnose(f, "\ud800", junk, junk))
        assert found == ([] if junk == "0" * 64 else ["signature-not-hex"]), junk  # hex or not is all it can say
    assert ids(diagnose(f, "\ud800", None, "")) == ["empty-signature"]  # a constant: it needs no encoding


def test_megabyte_fields():
    big = "n" * (1 << 20)
    f = F(nonce=big)
    data = f"app123:corp9:alice:{T}:{big}"
    assert ids(diagnose(f, KEY, None, H(data).upper())) == ["hex-uppercase"]
    assert ids(diagnose(f, KEY, None, H(data.replace(":", ";")))) == ["separator-semicolon"]
    assert diagnose(f, KEY, data, H(data)) == []


def test_layout_probed_from_the_oracle_matches_it():
    rnd = random.Random(7)
    alphabet = "ab:C \0\u00e9\U0001f600"
    for _ in range(300):
        mode = scheme.Mode(rnd.choice(scheme.MODES))
        val = lambda: "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(4)))  # noqa: E731
        f = scheme.Fields(
            mode,
            val(),
            val() if "corp_id" in scheme.CARRIES[mode] else "",
            val() if "user_id" in scheme.CARRIES[mode] else "",
            rnd.randrange(2**40),
            val(),
        )
        assert diagnosis.FieldsView(f).join() == scheme.string_to_sign(f)


# --- two mistakes at once ------------------------------------------------------------------------


def test_a_lone_surrogate_as_u_fffd_with_upper_case_hex_is_named_as_a_pair():
    f = F(user="a\ud800b")  # no single mistake gives this signature
    wrong = H(f"app123:corp9:a\ufffdb:{T}:{N}").upper()
    assert ids(diagnose(f, KEY, None, wrong)) == ["surrogate-replacement-char+hex-uppercase"]
    assert diagnosis.title("surrogate-replacement-char+hex-uppercase") == (
        "lone surrogate replaced by U+FFFD, and hex digits in upper case"
    )


def test_a_lone_surrogate_as_question_mark_with_the_corp_slot_dropped_is_named_as_a_pair():
    f = F(user="a\ud800b")
    wrong = H(f"app123:a?b:{T}:{N}")  # a single-tenant layout, and Java's '?' for the surrogate
    found = ids(diagnose(f, KEY, None, wrong))
    assert "corp-slot-omitted+surrogate-question-mark" in found
    assert all("+" in i for i in found)


def test_pairs_are_searched_only_when_no_single_mistake_explains():
    assert ids(diagnose(F(), KEY, None, D(SP).hex().upper())) == ["hex-uppercase"]


def test_only_checks_the_pairs_it_names():
    f = F(user="a\ud800b")
    wrong = H(f"app123:corp9:a\ufffdb:{T}:{N}").upper()
    wanted = frozenset({"surrogate-replacement-char+hex-uppercase"})
    assert ids(diagnose(f, KEY, None, wrong, only=wanted)) == ["surrogate-replacement-char+hex-uppercase"]
    assert ids(diagnose(f, KEY, None, wrong, only=frozenset({"hex-uppercase"}))) == []


def test_an_empty_signature_is_a_value_to_explain():
    assert ids(diagnose(F(), KEY, None, "")) == ["empty-signature"]


def test_only_tries_just_the_mistakes_it_names():
    sha1 = H(SP, algo=hashlib.sha1)
    assert ids(diagnose(F(), KEY, None, sha1)) == ["hmac-sha1"]
    assert ids(diagnose(F(), KEY, None, sha1, only=frozenset({"hmac-sha1"}))) == ["hmac-sha1"]
    assert ids(diagnose(F(), KEY, None, sha1, only=frozenset({"hmac-sha512", "base64"}))) == []
    piped = SP.replace(":", "|")
    assert ids(diagnose(F(), KEY, piped, None, only=frozenset({"separator-pipe"}))) == ["separator-pipe"]
    assert ids(diagnose(F(), KEY, piped, None, only=frozenset({"separator-comma"}))) == []


def test_an_oracle_given_by_the_caller_is_used_as_the_correct_string_and_signature():
    """The token check passes the oracle it computed; the result is the one diagnose() finds by itself."""
    sha1 = H(SP, algo=hashlib.sha1)
    oracle = (SP, H(SP))
    assert ids(diagnose(F(), KEY, None, sha1, oracle=oracle)) == ["hmac-sha1"]
    assert ids(diagnose(F(), KEY, SP, sha1, oracle=oracle)) == ["hmac-sha1"]
    assert ids(diagnose(F(), KEY, SP, H(SP), oracle=oracle)) == []  # both correct: nothing to explain
    piped = SP.replace(":", "|")
    assert ids(diagnose(F(), KEY, piped, H(piped), oracle=oracle)) == ids(diagnose(F(), KEY, piped, H(piped)))


def test_titles_of_token_mistakes_and_of_ids_that_are_not_mistakes():
    from appauth_conformance.judging.diagnosis.token_mistakes import TOKEN_MISTAKES

    for mistake, (title, _seen) in TOKEN_MISTAKES.items():
        assert diagnosis.title(mistake) == title
    for unknown in ("no-such-mistake", "no-such+hex-uppercase", "hex-uppercase+no-such", "a+b+c", "+"):
        assert diagnosis.title(unknown) == unknown


def test_a_correct_string_to_sign_says_nothing_about_the_signature():
    piped_upper = H(SP.replace(":", "|")).upper()  # a join mistake and upper-case hex: a pair
    assert ids(diagnose(F(), KEY, None, piped_upper)) == ["separator-pipe+hex-uppercase"]
    assert ids(diagnose(F(), KEY, SP, piped_upper)) == ["separator-pipe+hex-uppercase"]
    assert ids(diagnose(F(), KEY, SP, H(SP))) == []


def test_a_wrong_string_signed_right_names_the_join_only():
    piped = SP.replace(":", "|")
    assert ids(diagnose(F(), KEY, piped, H(piped))) == ["separator-pipe"]
    # a key ending in NUL: dropping it (or trimming it, as Java's trim() does) signs the same (HMAC pads keys
    # with zeros), so those mistakes make no difference here and are not named
    key = "k\x00"
    assert ids(diagnose(F(), key, piped, H(piped, key))) == ["separator-pipe"]


def test_the_app_id_reaches_every_signature_mistake_that_shows_it():
    piped = SP.replace(":", "|")
    # the signer's own (wrong) string, signed and written Pusher-style
    assert ids(diagnose(F(), KEY, piped, f"app123:{H(piped)}")) == ["separator-pipe", "signature-appid-prefix"]
    # a join mistake, then the AppID prefix (the signer did not say what it signed)
    assert "separator-pipe+signature-appid-prefix" in ids(diagnose(F(), KEY, None, f"app123:{H(piped)}"))
    # a byte-level mistake, then the AppID prefix
    assert "hmac-sha1+signature-appid-prefix" in ids(diagnose(F(), KEY, None, f"app123:{H(SP, algo=hashlib.sha1)}"))


def test_only_finds_the_join_pair_it_names_and_no_other_pair():
    reversed_upper = H(f"{N}:{T}:alice:corp9:app123").upper()  # fields reversed, then upper-case hex
    assert "fields-reversed+hex-uppercase" in ids(diagnose(F(), KEY, None, reversed_upper))
    wanted = frozenset({"fields-reversed+hex-uppercase"})
    assert ids(diagnose(F(), KEY, None, reversed_upper, only=wanted)) == ["fields-reversed+hex-uppercase"]

    # base64 and base64url give the same text for a digest without + or /: only= keeps the one named
    def swapped(nonce: str) -> bytes:  # HMAC keyed with the data, over the key
        return hmac.new(f"app123:corp9:alice:{T}:{nonce}".encode(), KEY.encode(), hashlib.sha256).digest()

    nonce = next(
        f"{i:032d}" for i in range(1000) if not {"+", "/"} & set(base64.b64encode(swapped(f"{i:032d}")).decode())
    )
    text = base64.b64encode(swapped(nonce)).decode()
    both = {"key-data-swapped+base64", "key-data-swapped+base64url"}
    assert both <= set(ids(diagnose(F(nonce=nonce), KEY, None, text)))
    only = frozenset({"key-data-swapped+base64"})
    assert ids(diagnose(F(nonce=nonce), KEY, None, text, only=only)) == ["key-data-swapped+base64"]


def test_a_pair_is_looked_for_on_the_signers_own_string_when_the_correct_one_gives_nothing():
    # the signer says it signed a string with a lone surrogate; it signed '?' in its place, in upper-case hex
    said = SP + "\ud800"
    found = ids(diagnose(F(), KEY, said, H(SP + "?").upper()))
    assert "surrogate-question-mark+hex-uppercase" in found


# --- explained_among: a whole diagnosis cut to a group's ids, without the pairs outside them ------


def test_pairs_among_limits_the_pairs_searched_not_the_single_mistakes():
    f = F(user="a\ud800b")
    wrong = H(f"app123:corp9:a\ufffdb:{T}:{N}").upper()  # only a pair explains it
    wanted = frozenset({"surrogate-replacement-char+hex-uppercase"})
    assert ids(diagnose(f, KEY, None, wrong, pairs_among=wanted)) == ["surrogate-replacement-char+hex-uppercase"]
    assert diagnose(f, KEY, None, wrong, pairs_among=frozenset({"hex-uppercase"})) == []
    # every single mistake is still tried
    assert ids(diagnose(F(), KEY, None, D(SP).hex().upper(), pairs_among=frozenset())) == ["hex-uppercase"]


def _outputs_to_explain() -> list[tuple[scheme.Fields, str, str | None, str | None]]:
    """Wrong outputs of every kind: each case's (alone, and signed), pairs, a digest in base64 that only a
    pair explains, junk that is not even hex, junk hex."""
    out: list[tuple[scheme.Fields, str, str | None, str | None]] = []
    for c in CASES:
        if c.string is not None:
            out += [(c.fields, c.key, c.string, None), (c.fields, c.key, None, H(c.string, c.key))]
        else:
            out.append((c.fields, c.key, None, c.signature))
    surrogate = F(user="a\ud800b")
    out += [
        (surrogate, KEY, None, H(f"app123:corp9:a\ufffdb:{T}:{N}").upper()),
        (surrogate, KEY, None, H(f"app123:a?b:{T}:{N}")),
        (F(), KEY, None, H(SP.replace(":", "|")).upper()),
        (F(), KEY, SP, H(SP.replace(":", "|")).upper()),
        (F(), KEY, None, f"app123:{H(SP, algo=hashlib.sha1)}"),
        (F(), KEY, SP + "\ud800", H(SP + "?").upper()),
    ]
    swapped = hmac.new(SP.encode(), KEY.encode(), hashlib.sha256).digest()  # key and data swapped
    out.append((F(), KEY, None, base64.b64encode(swapped).decode()))  # a pair, and not hex
    out += [(F(), KEY, None, "not hex at all"), (F(), KEY, None, "%064x" % 12345)]
    return out


def test_explained_among_is_exactly_the_whole_diagnosis_cut_to_the_ids():
    rnd = random.Random(7)
    singles = sorted(m.id for m in CATALOGUE)
    checked_pairs = checked_not_hex = 0
    for fields, key, string, signature in _outputs_to_explain():
        whole = frozenset(ids(diagnose(fields, key, string, signature)))
        pair_ids = sorted({f"{a}+{b}" for a in rnd.sample(singles, 12) for b in rnd.sample(singles, 3)})
        candidates = [
            whole,
            frozenset(singles),
            whole | frozenset(rnd.sample(singles, 5)),
            frozenset(rnd.sample(singles, 8)) | frozenset(rnd.sample(pair_ids, 6)),
            whole | {"surrogate-replacement-char+hex-uppercase", "key-data-swapped+base64"},
        ]
        for group_ids in candidates:
            for with_not_hex in (group_ids - {diagnosis.NOT_HEX}, group_ids | {diagnosis.NOT_HEX}):
                got = diagnosis.explained_among(with_not_hex, fields, key, string, signature)
                assert got == with_not_hex & whole, (fields, key, string, signature, sorted(with_not_hex))
        checked_pairs += any("+" in i for i in whole)
        checked_not_hex += diagnosis.NOT_HEX in whole
    assert checked_pairs >= 5 and checked_not_hex >= 1


def test_explained_among_says_not_hex_only_when_the_whole_diagnosis_does():
    # a base64 digest of a byte-level mistake: a pair explains it, so the whole diagnosis does not add
    # "signature-not-hex"; cut to that id alone, the pairs must still be searched to know it
    swapped = hmac.new(SP.encode(), KEY.encode(), hashlib.sha256).digest()
    text = base64.b64encode(swapped).decode()
    whole = ids(diagnose(F(), KEY, None, text))
    assert any(i.startswith("key-data-swapped+base64") for i in whole) and diagnosis.NOT_HEX not in whole
    assert diagnosis.explained_among(frozenset({diagnosis.NOT_HEX}), F(), KEY, None, text) == frozenset()
    assert diagnosis.explained_among(frozenset({diagnosis.NOT_HEX}), F(), KEY, None, "zz") == {diagnosis.NOT_HEX}


def test_explained_among_does_not_search_the_pairs_outside_the_ids(monkeypatch):
    """What it is for: a whole diagnosis of an output only a pair explains tries every pair (a signing
    context per join mistake); cut to ids without pairs, it tries none."""
    made: list[str] = []

    class Counting(diagnosis.Signing):
        def __init__(self, data, *rest, **kw):
            made.append(data)
            super().__init__(data, *rest, **kw)

    monkeypatch.setattr(diagnosis, "Signing", Counting)
    f = F(user="a\ud800b")
    wrong = H(f"app123:corp9:a\ufffdb:{T}:{N}").upper()
    assert "surrogate-replacement-char+hex-uppercase" in ids(diagnose(f, KEY, None, wrong))
    whole = len(made)
    made.clear()
    assert diagnosis.explained_among(frozenset({"hex-uppercase", "nfc-everywhere"}), f, KEY, None, wrong) == frozenset()
    assert whole > 10 and len(made) <= 2, (whole, len(made))

"""A synthetic but realistic results.json, made by the real Recorder: for the report benchmark and tests.

    doc = synthetic_results.document(vectors=10_000, runners=12, seed=1)

A benchmark fixture, not part of the package: benchmarks/report_html.py and
tests/browser/test_report_html.py import it from this folder.

Vectors are spread over the corpus's families (files) with their flags; inputs
are documentation-shaped (a few app ids and keys shared by many vectors, random
32-character nonces) and the expected values come from the oracle
(appauth_conformance.core.scheme). Each runner has a profile of real implementation mistakes on
the families that trigger them (NUL truncation, '?' for a lone surrogate, hex in
upper case, stripped whitespace, ...); most are listed as known divergences,
some are not (failures), a few list entries are stale (unexpected passes), and
a few vectors crash a runner (runner faults). Outcomes are judged by
appauth_conformance.judging.verdicts.judge and diagnosed by appauth_conformance.judging.diagnosis.diagnose, exactly as
in a real run.

The mix with the defaults (10,000 vectors x 12 runners, seed 1): 95.1 % pass,
3.6 % known divergence, 0.9 % fail, 0.3 % unexpected pass, 0.1 % runner fault.
"""

from __future__ import annotations

import random
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from appauth_conformance.core import scheme

# family (file stem) -> (share of the corpus, flags it draws from)
from appauth_conformance.core.model import Corpus, Outcome, Stage, Vector, Verdict
from appauth_conformance.corpus.expectations import Divergence
from appauth_conformance.formats.results import Recorder
from appauth_conformance.judging import diagnosis
from appauth_conformance.judging.verdicts import judge

FAMILIES = {
    "single": (0.14, ["ordinary", "owner-signs"]),
    "sp_user": (0.14, ["ordinary"]),
    "sp_corp_admin": (0.1, ["ordinary"]),
    "sp_admin": (0.1, ["ordinary"]),
    "text": (0.12, ["cjk", "emoji", "combining", "whitespace", "nbsp", "rtl", "zero-width", "mixed-case"]),
    "keys": (0.06, ["non-ascii-key", "long-key", "key-64", "key-65", "empty-key"]),
    "nul": (0.07, ["nul", "nul-start", "nul-middle", "nul-end", "key-nul-middle"]),
    "surrogates": (0.07, ["high-surrogate", "low-surrogate", "reversed-surrogates"]),
    "expire": (0.06, ["expire-zero", "expire-2038", "expire-int64-max", "expire-seconds"]),
    "nonces": (0.04, ["nonce-32", "nonce-64", "nonce-uuid"]),
    "hex": (0.04, ["hex-leading-zero", "hex-letters"]),
    "colons": (0.035, ["colon", "colon-ambiguity"]),
    "long": (0.005, ["long-field"]),
}
NOTES = {
    "ordinary": "Documentation-shaped values; catches any mistake in the basic formula.",
    "owner-signs": "single mode without a UserID (the enterprise owner): the colons stay.",
    "cjk": "CJK text in a field: multi-byte UTF-8.",
    "emoji": "A supplementary character (surrogate pair in UTF-16).",
    "combining": "Combining marks: NFC and NFD differ.",
    "whitespace": "Leading/trailing spaces: catches strip().",
    "nbsp": "U+00A0 in a field: catches Latin-1 and strip().",
    "rtl": "Right-to-left text.",
    "zero-width": "U+200B in a field: invisible but signed.",
    "mixed-case": "Upper-case letters in ids: catches lower-casing.",
    "non-ascii-key": "AppKey with non-ASCII text.",
    "long-key": "AppKey longer than the HMAC block (hashed first).",
    "key-64": "AppKey of exactly one block.",
    "key-65": "AppKey of one block plus one byte.",
    "empty-key": "Empty AppKey: Java's SecretKeySpec refuses it.",
    "nul": "NUL in a field: catches C strings.",
    "nul-start": "NUL first.",
    "nul-middle": "NUL in the middle.",
    "nul-end": "NUL last.",
    "key-nul-middle": "NUL in the middle of the AppKey.",
    "high-surrogate": "Unpaired high surrogate: no UTF-8 form.",
    "low-surrogate": "Unpaired low surrogate.",
    "reversed-surrogates": "Low then high surrogate.",
    "expire-zero": "ExpireTime 0 (never expires).",
    "expire-2038": "ExpireTime past 2^31.",
    "expire-int64-max": "ExpireTime 2^63-1.",
    "expire-seconds": "ExpireTime in seconds, not milliseconds.",
    "nonce-32": "32-character nonce.",
    "nonce-64": "64-character nonce.",
    "nonce-uuid": "UUID nonce with hyphens.",
    "hex-leading-zero": "Signature with a leading zero nibble.",
    "hex-letters": "Signature with letters a-f.",
    "colon": "Colon inside a field.",
    "colon-ambiguity": "Different fields, same string to sign.",
    "long-field": "A field of 5,000 characters.",
}
APP_IDS = [
    "60f0e5b8a8f54b2fa81fb1a0b83c10a1",
    "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "b5d3c0f3e1a24f0e9e6f5b1c2d3e4f50",
    "1234567890abcdef1234567890abcdef",
    "ffeeddccbbaa99887766554433221100",
]
KEYS = [
    "AppKeyForTesting123456",
    "k3y-" + "x" * 28,
    "s3cr3t/Base64+Like==",
    "0123456789abcdef0123456789abcdef",
    "appkey-with-dash",
    "a" * 40,
    "Key With Spaces",
    "中文密钥",
    "naïve-clé",
]
ALNUM = string.ascii_letters + string.digits


@dataclass
class Profile:
    """How one synthetic runner behaves: (family or flag) -> mistake, and which are listed."""

    name: str
    language: str
    library: str
    version: str
    runtime: str
    mistakes: dict[str, str]  # flag or family -> mistake id below
    listed: set[str]  # flags/families whose mistake is a listed known divergence
    stale: set[str] = frozenset()  # listed although the runner gets them right (unexpected passes)
    fault_rate: float = 0.0


PROFILES = [
    Profile("python-reference", "python", "hmac", "3.12.3", "CPython 3.12.3", {}, set()),
    Profile(
        "java-reference",
        "java",
        "javax.crypto",
        "17.0.15",
        "OpenJDK 17.0.15",
        {"surrogates": "surrogate-question-mark", "empty-key": "error"},
        {"surrogates", "empty-key"},
    ),
    Profile(
        "cpp-reference",
        "cpp",
        "OpenSSL",
        "3.0.16",
        "g++ 12.2.0",
        {"nul": "nul-truncates-both", "long": "fault"},
        {"nul"},
    ),
    Profile("js-reference", "js", "crypto-js", "3.1.9-1", "Node v20.19.2", {}, set()),
    Profile("go-stdlib", "go", "crypto/hmac", "go1.22.2", "go1.22.2", {}, set(), {"emoji"}),
    Profile("rust-hmac", "rust", "hmac", "0.12.1", "rustc 1.79.0", {"mixed-case": "ids-lowercased"}, set()),
    Profile(
        "dotnet-hmac",
        "csharp",
        "System.Security.Cryptography",
        "8.0.6",
        ".NET 8.0.6",
        {"surrogates": "surrogate-replacement-char"},
        {"surrogates"},
    ),
    Profile("php-hash-hmac", "php", "hash", "8.3.7", "PHP 8.3.7", {"whitespace": "fields-stripped"}, set()),
    Profile("ruby-openssl", "ruby", "openssl", "3.2.0", "ruby 3.3.1", {"expire": "expire-float"}, {"expire"}),
    Profile(
        "swift-cryptokit",
        "swift",
        "CryptoKit",
        "Xcode 15",
        "Swift 5.10",
        {"surrogates": "surrogate-replacement-char", "combining": "fields-nfc"},
        {"surrogates", "combining"},
        {"nbsp"},
    ),
    Profile(
        "kotlin-jvm",
        "kotlin",
        "javax.crypto",
        "21.0.3",
        "Kotlin 2.0.0 / JDK 21",
        {"surrogates": "surrogate-question-mark", "empty-key": "error"},
        {"surrogates", "empty-key"},
        fault_rate=0.008,
    ),
    Profile(
        "node-crypto",
        "js",
        "node:crypto",
        "3.0.13+quic",
        "Node v22.2.0",
        {"hex": "hex-uppercase", "nonces": "hex-uppercase"},
        set(),
    ),
]


def _nonce(rng: random.Random, n: int = 32) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(n))


def _vector(i: int, rng: random.Random) -> Vector:
    fam = rng.choices(list(FAMILIES), weights=[w for w, _ in FAMILIES.values()])[0]
    flags = [rng.choice(FAMILIES[fam][1])]
    mode = fam if fam in scheme.MODES else rng.choice(scheme.MODES)
    app_id, key = rng.choice(APP_IDS), rng.choice(KEYS)
    corp = f"corp{rng.randint(1, 40)}" if mode in ("sp_user", "sp_corp_admin") else ""
    user = f"user{rng.randint(1, 500)}@example.com" if mode in ("single", "sp_user") else ""
    if "owner-signs" in flags:
        user = ""
    expire, nonce, result = 1604020600 + rng.randint(0, 10**8), _nonce(rng), "valid"
    flag = flags[0]
    if fam == "text" and mode in ("single", "sp_user"):
        user = {
            "cjk": "用户名",
            "emoji": "user😀",
            "combining": "e\u0301lise",
            "whitespace": " user ",
            "nbsp": "user\u00a0x",
            "rtl": "משתמש",
            "zero-width": "us\u200ber",
            "mixed-case": "User@Example.COM",
        }[flag] + str(i)
    elif fam == "text":
        app_id = app_id.upper() if flag == "mixed-case" else app_id
    elif fam == "keys":
        key = {
            "non-ascii-key": "clé-ключ-鍵",
            "long-key": "K" * 100,
            "key-64": "k" * 64,
            "key-65": "k" * 65,
            "empty-key": "",
        }[flag]
    elif fam == "nul":
        if flag == "key-nul-middle":
            key = "ab\0cd"
        else:
            app_id = {"nul": "app\0id", "nul-start": "\0app", "nul-middle": "ap\0p", "nul-end": "app\0"}[flag]
    elif fam == "surrogates":
        app_id = {"high-surrogate": "app\ud800", "low-surrogate": "app\udc00", "reversed-surrogates": "a\udc00\ud800"}[
            flag
        ]
        result = "invalid"
    elif fam == "expire":
        expire = {
            "expire-zero": 0,
            "expire-2038": 2**31 + rng.randint(0, 10**6),
            "expire-int64-max": 2**63 - 1,
            "expire-seconds": 1700000000,
        }[flag]
    elif fam == "nonces":
        nonce = {
            "nonce-32": _nonce(rng, 32),
            "nonce-64": _nonce(rng, 64),
            "nonce-uuid": "-".join(_nonce(rng, n).lower() for n in (8, 4, 4, 4, 12)),
        }[flag]
    elif fam == "colons" and mode in ("single", "sp_user"):
        user = "a:b" if flag == "colon" else ":x"
    elif fam == "long":
        nonce = "n" * 5000
    fields = scheme.Fields(scheme.Mode(mode), app_id, corp, user, expire, nonce)
    sts = scheme.string_to_sign(fields)
    try:
        sig = scheme.sign(sts, key)
    except scheme.SchemeError:
        sig = None
    if fam == "hex" and sig is not None:
        flags = ["hex-leading-zero" if sig[0] == "0" else "hex-letters"]
    vid = f"{fam.replace('_', '-')}-{i:05d}"
    return Vector(
        id=vid,
        file=f"vectors/{fam}.yaml",
        line=3 + 14 * i,
        description=f"{fam} {flags[0]} #{i}",
        mode=mode,
        app_id=app_id,
        corp_id=corp,
        user_id=user,
        expire_time=expire,
        nonce=nonce,
        app_key=key,
        result=result,
        flags=tuple(flags),
        string_to_sign=sts,
        signature=sig,
    )


def _sign_bytes(data: bytes, key: bytes) -> str:
    return scheme.hmac_hex(data, key)


def _pair_lone(s: str, by: str) -> str:
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").replace("\ufffd", by)


MISTAKES: dict[str, Callable[[Vector], tuple]] = {
    # -> (string_to_sign, signature, error)
    "surrogate-question-mark": lambda v: (
        v.string_to_sign,
        _sign_bytes(_pair_lone(v.string_to_sign, "?").encode(), _pair_lone(v.app_key, "?").encode()),
        None,
    ),
    "surrogate-replacement-char": lambda v: (
        v.string_to_sign,
        _sign_bytes(_pair_lone(v.string_to_sign, "\ufffd").encode(), _pair_lone(v.app_key, "\ufffd").encode()),
        None,
    ),
    "nul-truncates-both": lambda v: (
        v.string_to_sign,
        _sign_bytes(v.string_to_sign.split("\0")[0].encode(), v.app_key.split("\0")[0].encode()),
        None,
    ),
    "hex-uppercase": lambda v: (v.string_to_sign, v.signature.upper() if v.signature else None, None),
    "ids-lowercased": lambda v: _with_sts(
        v, ":".join([p.lower() if i < 3 else p for i, p in enumerate(v.string_to_sign.split(":"))])
    ),
    "fields-stripped": lambda v: _with_sts(v, ":".join(p.strip() for p in v.string_to_sign.split(":"))),
    "expire-float": lambda v: _with_sts(
        v, v.string_to_sign.replace(f":{v.expire_time}:", f":{float(v.expire_time)!r}:")
    ),
    "error": lambda v: (None, None, {"type": "IllegalArgumentException", "message": "Empty key"}),
    "fields-nfc": lambda v: _with_sts(v, unicodedata.normalize("NFC", v.string_to_sign)),
}


def _with_sts(v: Vector, sts: str) -> tuple:
    try:
        return sts, scheme.sign(sts, v.app_key), None
    except scheme.SchemeError:
        return sts, None, None


def _correct(v: Vector) -> tuple:
    if v.signature is None:
        return (
            v.string_to_sign,
            None,
            {"type": "UnicodeEncodeError", "message": "'utf-8' codec can't encode character: surrogates not allowed"},
        )
    return v.string_to_sign, v.signature, None


def document(vectors: int = 10_000, runners: int = 12, seed: int = 1, complete: bool = True) -> dict:
    """A results document for `vectors` synthetic vectors and the first `runners` profiles (cycled)."""
    rng = random.Random(seed)
    vs = [_vector(i, rng) for i in range(vectors)]
    used = {f for v in vs for f in v.flags}
    corpus = Corpus(
        vs, {f"vectors/{fam}.yaml": {f: NOTES[f] for f in fl if f in used} for fam, (_, fl) in FAMILIES.items()}
    )
    rec = Recorder("/dev/null", corpus, backend="docker", command=["appauth-conformance", "run", "--all"])
    profiles = [PROFILES[i % len(PROFILES)] for i in range(runners)]
    for n, p in enumerate(profiles):
        name = p.name if n < len(PROFILES) else f"{p.name}-{n // len(PROFILES) + 1}"
        hello = {
            "op": "hello",
            "protocol": 1,
            "name": name,
            "language": p.language,
            "runtime": p.runtime,
            "library": p.library,
            "library_version": p.version,
        }
        rec.runner(name, p.language, hello=hello, facts={"image": f"appauth-conformance/{p.name}:{p.version}"})
        prng = random.Random(f"{seed}-{name}")
        for v in vs:
            fam = v.file.split("/")[-1][:-5]
            hit = next((k for k in (fam, *v.flags) if k in p.mistakes), None)
            if prng.random() < p.fault_rate or (hit and p.mistakes[hit] == "fault"):
                o = Outcome(
                    v,
                    name,
                    fault="runner exited with status 134 (SIGABRT) while signing",
                    stderr_tail="terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n",
                )
            else:
                sts, sig, err = MISTAKES[p.mistakes[hit]](v) if hit else _correct(v)
                o = Outcome(v, name, string_to_sign=sts, signature=sig, error=err)
            listed = next((k for k in (fam, *v.flags) if k in p.listed or k in p.stale), None)
            div = Divergence(reason=_reason(p, listed), flag=listed) if listed else None
            j = judge(o, div)
            diag = []
            if j.verdict in (Verdict.FAIL, Verdict.KNOWN_DIVERGENCE) and j.stage in (
                Stage.STRING_TO_SIGN,
                Stage.SIGNATURE,
            ):
                diag = [m.id for m in diagnosis.diagnose(v.fields, v.app_key, o.string_to_sign, o.signature)]
            rec.add(o, j, diag)
        rec.timing(name, "start_s", 0.8 + prng.random() * 3)
        rec.timing(name, "run_s", vectors / 4000 * (1 + prng.random()))
    return rec.document(complete)


def _reason(p: Profile, key: str) -> str:
    return {
        "surrogates": f"{p.library} replaces an unpaired surrogate instead of refusing it (the documented snippet signs what it gets)",
        "empty-key": 'SecretKeySpec throws IllegalArgumentException("Empty key"), which the snippet does not catch',
        "nul": "the C++ snippet passes strlen() lengths to HMAC: key and data end at the first NUL",
        "expire": 'Ruby\'s Time arithmetic turns expire times into Floats ("1604020600.0")',
        "combining": "CryptoKit's String bridging NFC-normalises the fields",
        "emoji": "listed in 2023 for a since-fixed surrogate-pair bug",
        "nbsp": "listed for a CryptoKit normalisation bug that Swift 5.9 fixed",
    }.get(key, f"{key}: known to differ")

"""The vector corpus itself: portable, complete, true to its flags, and independently cross-checked.

- Both PyYAML loaders (pure Python and libyaml) decode every file identically.
- Size and coverage: enough vectors, every mode, every required edge family (by flag).
- Flags mean what their notes say (lengths, positions, values, hex shapes).
- colon-ambiguity pairs really collide; NFC/NFD twins really differ.
- Every signature (and the RFC 4231 known answers) is recomputed with the `openssl` command line.
- Every mistake in the "mistake -> vectors that catch it" table of docs/vectors.md is
  re-checked by mutating the oracle: the table lists exactly the vectors the mistake fails.
"""

from __future__ import annotations

import base64
import collections
import functools
import hashlib
import hmac
import re
import shutil
import struct
import subprocess
import unicodedata
import urllib.parse
from pathlib import Path

import pytest
import yaml

from appauth_conformance.core import scheme, text
from appauth_conformance.corpus import vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
DOC = ROOT / "docs" / "vectors.md"
MODES = ("single", "sp_user", "sp_corp_admin", "sp_admin")


@functools.cache
def corpus() -> vectors.Corpus:
    return vectors.load(VECTORS)


def by_flag(flag: str) -> list[vectors.Vector]:
    return [v for v in corpus().vectors if flag in v.flags]


def signable() -> list[vectors.Vector]:
    return [v for v in corpus().vectors if v.signature is not None]


# --------------------------------------------------------------------------- loading


def _decoded(doc: dict) -> list[dict]:
    """The vectors of one loaded document with every text notation decoded."""
    out = []
    for v in doc["vectors"]:
        inputs = {k: (x if k == "expire_time" else text.decode(x)) for k, x in v["inputs"].items()}
        exp = v.get("expected", {})
        out.append(
            {
                **{k: v[k] for k in ("id", "description", "mode", "result", "flags")},
                "inputs": inputs,
                "string_to_sign": text.decode(exp["string_to_sign"]) if "string_to_sign" in exp else None,
                "signature": exp.get("signature"),
            }
        )
    return out


def test_both_pyyaml_loaders_decode_the_corpus_identically():
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml: yaml.CSafeLoader is unavailable")
    files = sorted(VECTORS.glob("*.yaml"))
    assert files
    for f in files:
        raw = f.read_text(encoding="utf-8")
        pure = yaml.load(raw, Loader=yaml.SafeLoader)
        lib = yaml.load(raw, Loader=yaml.CSafeLoader)
        assert pure == lib, f"{f.name}: yaml.SafeLoader and yaml.CSafeLoader disagree"
        assert _decoded(pure) == _decoded(lib), f"{f.name}: decoded vectors differ between loaders"
        # and the harness (whichever loader it picked) agrees with both
        loaded = {v.id: v for v in corpus().vectors if Path(v.file).name == f.name}
        for d in _decoded(pure):
            v = loaded[d["id"]]
            for k, x in d["inputs"].items():
                assert getattr(v, k) == x, (f.name, d["id"], k)
            assert (v.string_to_sign, v.signature) == (d["string_to_sign"], d["signature"])


def test_corpus_size_and_modes():
    c = corpus()
    assert len(c.vectors) >= 250
    per_mode = collections.Counter(v.mode for v in c.vectors)
    for mode in MODES:
        assert per_mode[mode] >= 25, f"only {per_mode[mode]} vectors in mode {mode}"


def test_ids_are_descriptive_and_numbered():
    for v in corpus().vectors:
        assert re.fullmatch(r"[a-z][a-z0-9-]*-\d{3}(-[a-z])?", v.id), v.id


REQUIRED_FLAGS = [
    "ordinary",
    "owner-signs",
    "mixed-case",
    "numeric-id",
    "url-special",
    "latin1-range",
    "cjk",
    "emoji",
    "combining",
    "nfc",
    "nfd",
    "rtl",
    "zero-width",
    "whitespace",
    "tab",
    "nbsp",
    "line-break",
    "empty-key",
    "short-key",
    "key-63",
    "key-64",
    "key-65",
    "long-key",
    "multibyte-key",
    "non-ascii-key",
    "key-nul-start",
    "key-nul-middle",
    "key-nul-end",
    "key-hex-digits",
    "nul",
    "nul-start",
    "nul-middle",
    "nul-end",
    "high-surrogate",
    "low-surrogate",
    "reversed-surrogates",
    "surrogate-pair",
    "colon",
    "colon-ambiguity",
    "expire-zero",
    "discouraged",
    "expire-seconds",
    "expire-2038",
    "expire-int32-overflow",
    "expire-2106",
    "expire-max-date",
    "expire-float-precision",
    "expire-int64-max",
    "nonce-31",
    "nonce-32",
    "nonce-64",
    "nonce-65",
    "nonce-empty",
    "long-field",
    "hex-leading-zero",
    "hex-leading-zero-byte",
    "hex-inner-zero",
    "hex-letters",
    "sp-empty-corp",
    "sp-empty-user",
    "uncarried-corp",
    "uncarried-user",
]


@pytest.mark.parametrize("flag", REQUIRED_FLAGS)
def test_required_category_present(flag):
    assert by_flag(flag), f"no vector carries the required flag {flag!r}"


@pytest.mark.parametrize(
    "char, fields",
    [
        ("\u200b", {"user_id", "app_id"}),
        ("\u200d", {"corp_id"}),
        ("\ufeff", {"app_key", "nonce"}),
        ("\t", {"nonce", "app_key"}),
        ("\u00a0", {"corp_id", "app_key"}),
        (" ", {"user_id", "corp_id", "app_key"}),
        ("\x00", {"app_id", "corp_id", "user_id", "nonce", "app_key"}),
    ],
    ids=lambda x: repr(x) if isinstance(x, str) else "+".join(sorted(x)),
)
def test_edge_characters_reach_every_field(char, fields):
    for field in fields:
        assert any(char in getattr(v, field) for v in signable()), f"no signable vector has {char!r} in {field}"


def test_text_families_span_all_modes():
    for flag in (
        "cjk",
        "emoji",
        "combining",
        "nfd",
        "rtl",
        "zero-width",
        "whitespace",
        "nul",
        "empty-key",
        "expire-zero",
        "expire-int64-max",
        "hex-leading-zero",
        "high-surrogate",
        "nonce-31",
    ):
        modes = {v.mode for v in by_flag(flag)}
        assert modes == set(MODES), f"{flag}: only in {sorted(modes)}"


# --------------------------------------------------------------------------- flags mean what they say

RESULT_OF = {
    "high-surrogate": "invalid",
    "low-surrogate": "invalid",
    "reversed-surrogates": "invalid",
    "nonce-31": "acceptable",
    "nonce-65": "acceptable",
    "nonce-empty": "acceptable",
    "nonce-long": "acceptable",
    "sp-empty-corp": "acceptable",
    "sp-empty-user": "acceptable",
    "uncarried-corp": "acceptable",
    "uncarried-user": "acceptable",
}


def _kb(v):
    return len(v.app_key.encode("utf-8"))


FLAG_TRUTH = {
    "owner-signs": lambda v: v.mode == "single" and v.user_id == "",
    "empty-key": lambda v: v.app_key == "",
    "short-key": lambda v: _kb(v) == 1,
    "key-63": lambda v: _kb(v) == 63,
    "key-64": lambda v: _kb(v) == 64,
    "key-65": lambda v: _kb(v) == 65,
    "long-key": lambda v: _kb(v) >= 200,
    "multibyte-key": lambda v: _kb(v) > len(v.app_key),
    "non-ascii-key": lambda v: not v.app_key.isascii(),
    "key-nul-start": lambda v: v.app_key.startswith("\0"),
    "key-nul-middle": lambda v: "\0" in v.app_key.strip("\0"),
    "key-nul-end": lambda v: v.app_key.endswith("\0"),
    "key-hex-digits": lambda v: re.fullmatch(r"[0-9a-fA-F]+", v.app_key) is not None,
    "key-base64-shaped": lambda v: base64.b64decode(v.app_key, validate=True) is not None,
    "nul": lambda v: any("\0" in getattr(v, f) for f in ("app_id", "corp_id", "user_id", "nonce")),
    "nul-start": lambda v: any(getattr(v, f).startswith("\0") for f in ("app_id", "corp_id", "user_id", "nonce")),
    "nul-middle": lambda v: any("\0" in getattr(v, f).strip("\0") for f in ("app_id", "corp_id", "user_id", "nonce")),
    "nul-end": lambda v: any(getattr(v, f).endswith("\0") for f in ("app_id", "corp_id", "user_id", "nonce")),
    "nfc": lambda v: (
        all(unicodedata.is_normalized("NFC", getattr(v, f)) for f in vectors.TEXT_FIELDS)
        and any(not unicodedata.is_normalized("NFD", getattr(v, f)) for f in vectors.TEXT_FIELDS)
    ),
    "nfd": lambda v: any(not unicodedata.is_normalized("NFC", getattr(v, f)) for f in vectors.TEXT_FIELDS),
    "emoji": lambda v: any(ord(ch) > 0xFFFF for f in vectors.TEXT_FIELDS for ch in getattr(v, f)),
    "latin1-range": lambda v: any("\x80" <= ch <= "\xff" for f in vectors.TEXT_FIELDS for ch in getattr(v, f)),
    "colon": lambda v: any(":" in getattr(v, f) for f in vectors.TEXT_FIELDS),
    "high-surrogate": lambda v: any(re.search("[\ud800-\udbff]", getattr(v, f)) for f in vectors.TEXT_FIELDS),
    "low-surrogate": lambda v: any(re.search("[\udc00-\udfff]", getattr(v, f)) for f in vectors.TEXT_FIELDS),
    "reversed-surrogates": lambda v: any(
        re.search("[\udc00-\udfff][\ud800-\udbff]", getattr(v, f)) for f in vectors.TEXT_FIELDS
    ),
    "expire-zero": lambda v: v.expire_time == 0,
    "discouraged": lambda v: v.expire_time == 0 and v.result == "valid",
    "expire-short": lambda v: 0 < v.expire_time < 10**9,
    "expire-seconds": lambda v: 10**9 <= v.expire_time < 2**31,
    "expire-2038": lambda v: v.expire_time == 2**31 - 1,
    "expire-int32-overflow": lambda v: v.expire_time == 2**31,
    "expire-uint32-max": lambda v: v.expire_time == 2**32 - 1,
    "expire-2106": lambda v: v.expire_time == 2**32,
    "expire-11-digits": lambda v: len(str(v.expire_time)) == 11,
    "expire-max-date": lambda v: v.expire_time == 253402300799,
    "expire-float-precision": lambda v: v.expire_time > 2**53 and float(v.expire_time) != v.expire_time,
    "expire-int64-max": lambda v: v.expire_time == 2**63 - 1,
    "nonce-31": lambda v: len(v.nonce) == 31,
    "nonce-32": lambda v: len(v.nonce) == 32,
    "nonce-64": lambda v: len(v.nonce) == 64,
    "nonce-65": lambda v: len(v.nonce) == 65,
    "nonce-empty": lambda v: v.nonce == "",
    "nonce-long": lambda v: len(v.nonce) > 1000,
    "long-field": lambda v: any(len(getattr(v, f)) >= 10240 for f in vectors.TEXT_FIELDS),
    "hex-leading-zero": lambda v: v.signature[0] == "0",
    "hex-leading-zero-byte": lambda v: v.signature[:2] == "00",
    "hex-inner-zero": lambda v: v.signature[0] != "0" and any(v.signature[i] == "0" for i in range(2, 64, 2)),
    "hex-letters": lambda v: re.search("[a-f]", v.signature) is not None,
    "sp-empty-corp": lambda v: v.mode in ("sp_user", "sp_corp_admin") and v.corp_id == "",
    "sp-empty-user": lambda v: v.mode == "sp_user" and v.user_id == "",
    "uncarried-corp": lambda v: v.mode in ("single", "sp_admin") and v.corp_id != "",
    "uncarried-user": lambda v: v.mode in ("sp_corp_admin", "sp_admin") and v.user_id != "",
}


@pytest.mark.parametrize("flag", sorted(FLAG_TRUTH))
def test_flag_is_true_of_its_vectors(flag):
    vs = by_flag(flag)
    assert vs, flag
    wrong = [v.id for v in vs if not FLAG_TRUTH[flag](v)]
    assert not wrong, f"flag {flag} does not hold for {wrong}"


def test_results_follow_the_rules():
    for v in corpus().vectors:
        due = {RESULT_OF[f] for f in v.flags if f in RESULT_OF}
        assert len(due) <= 1, v.id
        expected = due.pop() if due else "valid"
        assert v.result == expected, f"{v.id}: result {v.result}, expected {expected} from its flags {v.flags}"
        if v.result == "invalid":
            assert v.signature is None and text.has_lone_surrogate(
                "".join(getattr(v, f) for f in vectors.TEXT_FIELDS)
            ), v.id
        else:
            assert v.signature is not None, v.id


def test_ordinary_vectors_are_documentation_shaped():
    for v in by_flag("ordinary"):
        assert re.fullmatch(r"[0-9a-fA-F]{32}", v.app_id), v.id
        assert re.fullmatch(r"[A-Za-z0-9+/=]{32,64}", v.nonce), v.id
        assert 1_600_000_000 <= v.expire_time <= 1_800_001_000, v.id
        for f in ("corp_id", "user_id"):
            val = getattr(v, f)
            assert val == "" or val != val[::-1], f"{v.id}: palindromic {f} would hide a reversal"
        assert len({v.app_id, v.corp_id, v.user_id, v.nonce, v.app_key} - {""}) == len(
            [x for x in (v.app_id, v.corp_id, v.user_id, v.nonce, v.app_key) if x]
        ), f"{v.id}: repeated values hide swaps"


def test_colon_ambiguity_pairs_collide():
    groups = collections.defaultdict(list)
    for v in by_flag("colon-ambiguity"):
        groups[v.string_to_sign].append(v)
    collisions = 0
    for sts, vs in groups.items():
        assert len(vs) >= 2, f"{vs[0].id} has no twin with the same string to sign"
        tuples = {(v.mode, v.app_id, v.corp_id, v.user_id, v.expire_time, v.nonce) for v in vs}
        assert len(tuples) == len(vs), f"{[v.id for v in vs]}: identical inputs are not an ambiguity"
        for v in vs:
            assert scheme.string_to_sign(v.fields) == sts
        if len({v.app_key for v in vs}) == 1:
            assert len({v.signature for v in vs}) == 1
        collisions += 1
    assert collisions >= 4


def test_nfc_nfd_twins_differ():
    nfc = by_flag("nfc")
    nfd = by_flag("nfd")
    assert len(nfc) == len(nfd) >= 4

    def norm(v):
        return (*tuple(unicodedata.normalize("NFC", getattr(v, f)) for f in vectors.TEXT_FIELDS), v.mode, v.expire_time)

    twins = {norm(v): v for v in nfd}
    for v in nfc:
        twin = twins[norm(v)]
        assert twin.signature != v.signature, (v.id, twin.id)


def test_hex_leading_zero_vectors_start_with_zero():
    assert len(by_flag("hex-leading-zero")) >= 8
    for v in by_flag("hex-leading-zero"):
        assert v.signature.startswith("0"), v.id
    for v in by_flag("hex-leading-zero-byte"):
        assert v.signature.startswith("00"), v.id


# --------------------------------------------------------------------------- openssl cross-check

CHUNK = 100


def _openssl_hmacs(jobs: list[tuple[str, bytes, bytes]], tmp: Path) -> dict[str, str]:
    """id -> lowercase hex HMAC-SHA256 computed by the openssl CLI, ~CHUNK jobs per `sh` process.

    Keys travel as `hexkey:` (so NULs survive), data through files.
    """
    out: dict[str, str] = {}
    for start in range(0, len(jobs), CHUNK):
        lines = ["set -e"]
        for n, (jid, key, data) in enumerate(jobs[start : start + CHUNK]):
            f = tmp / f"d{start + n}.bin"
            f.write_bytes(data)
            lines.append(
                f"printf '%s ' '{jid}'; openssl mac -digest SHA256 -macopt 'hexkey:{key.hex()}' -in '{f}' HMAC"
            )
        script = tmp / f"chunk{start}.sh"
        script.write_text("\n".join(lines) + "\n")
        r = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        for line in r.stdout.splitlines():
            jid, _, mac = line.partition(" ")
            out[jid] = mac.strip().lower()
    return out


def test_openssl_recomputes_every_signature(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed")
    c = corpus()
    jobs = [(f"v:{v.id}", v.app_key.encode("utf-8"), v.string_to_sign.encode("utf-8")) for v in signable()]
    jobs += [(f"h:{h.id}", h.key, h.data) for h in c.hmac_checks]
    got = _openssl_hmacs(jobs, tmp_path)
    assert len(got) == len(jobs)
    want = {f"v:{v.id}": v.signature for v in signable()} | {f"h:{h.id}": h.signature for h in c.hmac_checks}
    wrong = sorted(j for j in want if got.get(j) != want[j])
    assert not wrong, f"openssl disagrees on {wrong[:10]}"


def test_rfc4231_known_answers_present():
    checks = {h.id: h for h in corpus().hmac_checks}
    assert checks["rfc4231-tc1"].key == b"\x0b" * 20 and checks["rfc4231-tc1"].data == b"Hi There"
    assert checks["rfc4231-tc1"].signature == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert checks["rfc4231-tc2"].key == b"Jefe" and checks["rfc4231-tc2"].data == b"what do ya want for nothing?"
    assert checks["rfc4231-tc2"].signature == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


# --------------------------------------------------------------------------- mutated oracles
# Each mutant is a signer with one mistake: it returns a signature or raises (refuses).
# A vector catches it when the verdict would not be a pass: a valid vector gets a refusal
# or another signature, an acceptable vector gets another signature, an invalid vector gets
# any signature.


def _parts(v, exp=None) -> list[str]:
    e = str(v.expire_time if exp is None else exp)
    return {
        "single": [v.app_id, v.user_id, e, v.nonce],
        "sp_user": [v.app_id, v.corp_id, v.user_id, e, v.nonce],
        "sp_corp_admin": [v.app_id, v.corp_id, "", e, v.nonce],
        "sp_admin": [v.app_id, "", "", e, v.nonce],
    }[v.mode]


def _utf8(s: str) -> bytes:
    return s.encode("utf-8")  # raises on lone surrogates, like the oracle: a refusal


def _sign(
    v,
    *,
    exp=None,
    prep=None,
    kprep=None,
    join=None,
    sep=":",
    enc=_utf8,
    kenc=None,
    algo=hashlib.sha256,
    swap=False,
    hexer=bytes.hex,
) -> str:
    ps = [prep(p) for p in _parts(v, exp)] if prep else _parts(v, exp)
    data = join(ps) if join else sep.join(ps)
    key = kprep(v.app_key) if kprep else v.app_key
    d, k = enc(data), (kenc or enc)(key)
    if swap:
        d, k = k, d
    return hexer(hmac.new(k, d, algo).digest())


def _cesu8(s: str) -> bytes:
    out = bytearray()
    for ch in s:
        if ch == "\0":
            out += b"\xc0\x80"
        elif ord(ch) > 0xFFFF:
            hi, lo = struct.unpack(">HH", ch.encode("utf-16-be"))
            out += chr(hi).encode("utf-8", "surrogatepass") + chr(lo).encode("utf-8", "surrogatepass")
        else:
            out += ch.encode("utf-8")
    return bytes(out)


def _java_trim(s: str) -> str:
    i, j = 0, len(s)
    while i < j and s[i] <= " ":
        i += 1
    while j > i and s[j - 1] <= " ":
        j -= 1
    return s[i:j]


_FORMAT_CHARS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def _int32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def _js_number(x: int) -> str:
    f = float(x)  # JS Number; Number#toString prints integers below 1e21 without exponent
    return str(int(f)) if f < 1e21 else repr(f)


def _refuse_empty_key(v):
    if v.app_key == "":
        raise ValueError("Empty key")
    return _sign(v)


def _refuse_expire_zero(v):
    if v.expire_time == 0:
        raise ValueError("expire_time must be in the future")
    return _sign(v)


def _hmac_by_hand(v, *, key_len) -> str:
    """Hand-written HMAC-SHA256 whose only mistake is how it measures/prepares a long key."""
    k = v.app_key.encode("utf-8")
    if key_len == "chars" and len(v.app_key) > 64:
        k = hashlib.sha256(k).digest()
    k = k[:64].ljust(64, b"\0")  # key_len == "truncate": never hashes, truncates
    d = ":".join(_parts(v)).encode("utf-8")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k) + d).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in k) + inner).hexdigest()


def _nul_truncated(v):
    def cut(b):
        return b.split(b"\0")[0]

    return hmac.new(cut(_utf8(v.app_key)), cut(_utf8(":".join(_parts(v)))), hashlib.sha256).hexdigest()


def _ids_only(fn):
    """Apply fn to CorpID and UserID (the slots between AppID and ExpireTime)."""
    return lambda ps: ":".join([ps[0], *map(fn, ps[1:-2]), *ps[-2:]])


MUTANTS = {
    # hex and digest
    "upper-hex": lambda v: _sign(v).upper(),
    "base64-digest": lambda v: _sign(v, hexer=lambda d: base64.b64encode(d).decode()),
    "hex-no-zero-pad-per-byte": lambda v: _sign(v, hexer=lambda d: "".join(format(b, "x") for b in d)),
    "hex-via-biginteger": lambda v: _sign(v, hexer=lambda d: format(int.from_bytes(d, "big"), "x")),
    "hmac-sha1": lambda v: _sign(v, algo=hashlib.sha1),
    "hmac-sha512": lambda v: _sign(v, algo=hashlib.sha512),
    "plain-sha256": lambda v: hashlib.sha256(_utf8(v.app_key) + _utf8(":".join(_parts(v)))).hexdigest(),
    "key-data-swapped": lambda v: _sign(v, swap=True),
    # joining
    "pipe-separator": lambda v: _sign(v, sep="|"),
    "no-separator": lambda v: _sign(v, sep=""),
    "fields-reversed": lambda v: _sign(v, join=lambda ps: ":".join(reversed(ps))),
    "corp-user-swapped": lambda v: (
        _sign(v, join=lambda ps: ":".join([ps[0], ps[2], ps[1], *ps[3:]])) if v.mode == "sp_user" else _sign(v)
    ),
    "expire-nonce-swapped": lambda v: _sign(v, join=lambda ps: ":".join([*ps[:-2], ps[-1], ps[-2]])),
    "dropped-empty-slots": lambda v: _sign(v, join=lambda ps: ":".join(p for p in ps if p)),
    "single-as-sp-user": lambda v: (
        _sign(v, join=lambda ps: ":".join([ps[0], "", *ps[1:]])) if v.mode == "single" else _sign(v)
    ),
    "corp-in-user-slot": lambda v: (
        _sign(v, join=lambda ps: ":".join([ps[0], "", ps[1], *ps[3:]])) if v.mode == "sp_corp_admin" else _sign(v)
    ),
    # expiry
    "milliseconds": lambda v: _sign(v, exp=v.expire_time * 1000),
    "expire-zero-padded": lambda v: _sign(v, exp=format(v.expire_time, "010d")),
    "expire-int32": lambda v: _sign(v, exp=_int32(v.expire_time)),
    "expire-uint32": lambda v: _sign(v, exp=v.expire_time & 0xFFFFFFFF),
    "expire-float64": lambda v: _sign(v, exp=_js_number(v.expire_time)),
    "refuse-expire-zero": _refuse_expire_zero,
    # text handling
    "unicode-trim": lambda v: _sign(v, prep=str.strip, kprep=str.strip),
    "ascii-trim": lambda v: _sign(v, prep=_java_trim, kprep=_java_trim),
    "key-trimmed": lambda v: _sign(v, kprep=str.strip),
    "strip-format-chars": lambda v: _sign(
        v, prep=lambda s: s.translate(_FORMAT_CHARS), kprep=lambda s: s.translate(_FORMAT_CHARS)
    ),
    "nfc-normalised": lambda v: _sign(
        v, prep=lambda s: unicodedata.normalize("NFC", s), kprep=lambda s: unicodedata.normalize("NFC", s)
    ),
    "nfkc-normalised": lambda v: _sign(
        v, prep=lambda s: unicodedata.normalize("NFKC", s), kprep=lambda s: unicodedata.normalize("NFKC", s)
    ),
    "ids-lower-cased": lambda v: _sign(v, join=_ids_only(str.lower)),
    "digit-ids-as-numbers": lambda v: _sign(v, join=_ids_only(lambda s: str(int(s)) if s.isdigit() else s)),
    "url-encoded-fields": lambda v: _sign(v, prep=lambda s: urllib.parse.quote(s, safe="")),
    # encoding
    "latin1": lambda v: _sign(v, enc=lambda s: s.encode("latin-1", "replace")),
    "utf16": lambda v: _sign(v, enc=lambda s: s.encode("utf-16-le")),
    "cesu8": lambda v: _sign(v, enc=_cesu8),
    "lone-surrogate-as-question-mark": lambda v: _sign(v, enc=lambda s: s.encode("utf-8", "replace")),
    "lone-surrogate-generalised-utf8": lambda v: _sign(v, enc=lambda s: s.encode("utf-8", "surrogatepass")),
    "nul-truncation": _nul_truncated,
    # key handling
    "refuse-empty-key": _refuse_empty_key,
    "key-hex-decoded": lambda v: _sign(v, kenc=bytes.fromhex),
    "key-base64-decoded": lambda v: _sign(v, kenc=lambda s: base64.b64decode(s, validate=True)),
    "long-key-truncated": lambda v: _hmac_by_hand(v, key_len="truncate"),
    "key-measured-in-chars": lambda v: _hmac_by_hand(v, key_len="chars"),
    # nonce
    "nonce-truncated-64": lambda v: _sign(v, join=lambda ps: ":".join([*ps[:-1], ps[-1][:64]])),
}


def caught_by(mutant) -> list[vectors.Vector]:
    """The vectors on which this mistaken signer would not pass."""
    out = []
    for v in corpus().vectors:
        try:
            sig = mutant(v)
        except Exception:
            sig = None
        if v.result == "valid":
            bad = sig != v.signature
        elif v.result == "acceptable":
            bad = sig is not None and sig != v.signature
        else:
            bad = sig is not None
        if bad:
            out.append(v)
    return out


def _doc_table(heading: str) -> dict[str, list[str]]:
    """Rows (key -> cells) of the markdown table under a `## heading`; the key is the first cell's `code`."""
    doc = DOC.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    assert m, f"docs/vectors.md has no section '## {heading}'"
    rows = {}
    for line in m.group(1).splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key = re.match(r"`([^`]+)`", cells[0]).group(1)
        assert key not in rows, f"{heading}: row {key} twice"
        rows[key] = cells
    return rows


MISTAKE_TABLE = "Mistakes and the vectors that catch them"


def test_docs_mistake_table_lists_every_mutant():
    assert set(_doc_table(MISTAKE_TABLE)) == set(MUTANTS)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_as_the_docs_say(name):
    caught = caught_by(MUTANTS[name])
    assert caught, f"no vector catches the mistake {name}"
    if name not in ("lone-surrogate-as-question-mark", "lone-surrogate-generalised-utf8", "nonce-truncated-64"):
        assert any(v.result == "valid" for v in caught), f"{name}: no valid vector's signature differs"
    ids = {v.id for v in caught}
    cells = _doc_table(MISTAKE_TABLE)[name]
    # columns: mistake | what the signer does | caught by | modes
    caught_cell, modes_cell = cells[2], cells[3]
    count = int(re.search(r"\*\*(\d+)\*\*", caught_cell).group(1))
    listed = set(re.findall(r"`([a-z0-9-]+)`", caught_cell))
    assert count == len(ids), f"{name}: docs say {count} vectors, the mutant is caught by {len(ids)}"
    everyone = {v.id for v in signable()}
    if "every signable vector except" in caught_cell:
        assert ids == everyone - listed, f"{name}: differs from 'every signable vector except ...'"
    elif "every signable vector" in caught_cell:
        assert ids == everyone
    elif "e.g." in caught_cell:
        assert listed <= ids, f"{name}: docs list {sorted(listed - ids)} which do not catch it"
    else:
        assert listed == ids, f"{name}: docs list {sorted(listed ^ ids)} wrongly"
    modes = {m for m in MODES if f"`{m}`" in modes_cell}
    assert modes == {v.mode for v in caught}, f"{name}: modes column is {sorted(modes)}"


def test_docs_flag_table_lists_every_flag():
    rows = _doc_table("Flags")
    used = {f for v in corpus().vectors for f in v.flags}
    assert set(rows) == used, f"missing: {sorted(used - set(rows))}, stale: {sorted(set(rows) - used)}"
    notes = corpus().notes
    for flag, _cells in rows.items():
        files = {Path(f).name for f, ns in notes.items() if flag in ns}
        assert files, flag


def test_a_flag_means_the_same_in_every_file():
    meanings = collections.defaultdict(set)
    for notes in corpus().notes.values():
        for flag, note in notes.items():
            meanings[flag].add(note)
    differing = sorted(f for f, ns in meanings.items() if len(ns) > 1)
    assert not differing, f"flags documented differently in different files: {differing}"

"""The differential fuzzer: a reproducible generator aimed at the edges, triage by cause, shrinking, --save.

Unit tests use emulated signers (the reference snippets' quirks re-done in Python), so they
run anywhere; the integration tests run the four reference runners on the local backend
(skipped when a toolchain is missing, never under CI=true).
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import appauth_conformance
from appauth_conformance import fuzz
from appauth_conformance.core import scheme, text, wire
from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import Outcome, Stage
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.options import in_ci
from appauth_conformance.execution.registry import BUILTINS
from appauth_conformance.execution.session import outcome
from appauth_conformance.formats import protocol
from appauth_conformance.frontends import cli

REFERENCE = [s for s in BUILTINS if s.group == "reference"]

ROOT = Path(__file__).resolve().parent.parent
SEED = 1
COUNT = 3000


# --------------------------------------------------------------------------- emulated signers


def _hmac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _js_number(t: int) -> str:
    """String(Number(t)) in JavaScript for a non-negative integer below 1e21."""
    f = float(t)
    if f == t:
        return str(t)
    mantissa, _, exp = repr(f).partition("e+")
    digits = mantissa.replace(".", "")
    return digits.ljust(int(exp) + 1, "0") if exp else str(int(f))


class Emulated:
    """A fake session: `run(vectors)` yields Outcomes the way a reference snippet would."""

    def __init__(self, name: str):
        self.name = name

    def outcome(self, v) -> Outcome:
        data = v.string_to_sign
        if self.name == "cpp":  # std::string bytes (WTF-8 for lone surrogates), strlen() on key and data
            d = data.encode("utf-8", "surrogatepass").split(b"\0")[0]
            k = v.app_key.encode("utf-8", "surrogatepass").split(b"\0")[0]
            return Outcome(v, "cpp", data, _hmac(k, d))
        if self.name == "java":  # getBytes("UTF-8") replaces lone surrogates by '?'; empty key throws
            if v.app_key == "":
                return Outcome(v, "java", error={"type": "IllegalArgumentException", "message": "Empty key"})
            return Outcome(
                v, "java", data, _hmac(v.app_key.encode("utf-8", "replace"), data.encode("utf-8", "replace"))
            )
        if self.name == "latin1-bug":  # an unknown mistake on Latin-1 text: signs the wrong thing
            if any("\xa1" <= ch <= "\xff" for f in fuzz.FIELDS for ch in getattr(v, f)):  # the latin1 class
                return Outcome(v, "latin1-bug", data, _hmac(b"bug", b"bug"))
            self = Emulated("python")
        if self.name == "js":  # the expire time through a double; URIError on lone surrogates
            exp = _js_number(v.expire_time)
            data = (
                data.replace(":" + str(v.expire_time) + ":", ":" + exp + ":", 1) if exp != str(v.expire_time) else data
            )
            try:
                return Outcome(v, "js", data, _hmac(v.app_key.encode("utf-8"), data.encode("utf-8")))
            except UnicodeEncodeError:
                return Outcome(v, "js", data, error={"type": "URIError", "message": "URI malformed"})
        try:  # python
            return Outcome(v, "python", data, _hmac(v.app_key.encode("utf-8"), data.encode("utf-8")))
        except UnicodeEncodeError as e:
            return Outcome(v, "python", data, error={"type": "UnicodeEncodeError", "message": str(e)})

    def run(self, vs):
        for v in vs:
            yield self.outcome(v)


def triage_of(name: str, inputs) -> fuzz.Triage:
    t = fuzz.Triage(name)
    sig = Emulated(name)
    for v in inputs:
        o = sig.outcome(v)
        st = fuzz.stage_of(o)
        if st is not None:
            t.add(o, st)
    return t


def group(t: fuzz.Triage, stage: str, cause_part: str) -> fuzz.Group:
    found = [g for g in t.groups if g.stage == stage and cause_part in g.cause]
    assert found, f"no {cause_part!r} group at {stage} in {[(g.stage, g.cause, g.count) for g in t.groups]}"
    return max(found, key=lambda g: g.count)


@pytest.fixture(scope="module")
def inputs():
    return fuzz.Inputs(SEED).take(COUNT)


# --------------------------------------------------------------------------- the generator


def _key(v):
    return (v.mode, v.app_id, v.corp_id, v.user_id, v.expire_time, v.nonce, v.app_key)


def test_same_seed_same_inputs_other_seed_other_inputs():
    a = [_key(v) for v in fuzz.Inputs(7).take(2000)]
    assert a == [_key(v) for v in fuzz.Inputs(7).take(2000)]
    g = fuzz.Inputs(7)
    assert a == [_key(v) for v in g.take(700) + g.take(1300)], "chunking must not change the stream"
    b = [_key(v) for v in fuzz.Inputs(8).take(2000)]
    assert sum(x != y for x, y in zip(a, b, strict=False)) > 1900


def test_fast_path_equals_the_oracle_and_the_wire_encoding(inputs):
    for v in inputs:
        assert isinstance(v, vectors.Vector) and v.file == "fuzz" and v.line == 0
        data, sig, _ = vectors.expected_for(v)
        assert (v.string_to_sign, v.signature) == (data, sig), v.id
        lone = any(text.has_lone_surrogate(getattr(v, f)) for f in fuzz.FIELDS)
        assert v.result == ("invalid" if lone else "valid")
        assert not re.search("[\ud800-\udbff][\udc00-\udfff]", "".join(getattr(v, f) for f in fuzz.FIELDS)), (
            "a high+low surrogate pair held as two code points would travel as one valid character"
        )


def test_fast_request_bodies_equal_the_wire_encoding():
    """Bodies joined from per-value pieces equal wire.request_body (what Vector.request_body sends)."""
    for x in fuzz.Inputs(SEED).chunk(COUNT):
        _, mode, app_id, corp_id, user_id, expire_time, nonce, app_key = x.parts
        want = wire.request_body(mode, app_id, corp_id, user_id, expire_time, nonce, app_key)
        assert x.request_body == want == x.vector().request_body


def test_request_body_is_the_join_of_its_pieces_for_every_corpus_vector():
    """wire.request_body formats one template made of body_piece; the bytes are the pieces' join, exactly."""
    vs = vectors.load(ROOT / "vectors", verify=False).vectors
    assert len(vs) > 100
    for v in vs:
        values = (v.mode, v.app_id, v.corp_id, v.user_id, v.expire_time, v.nonce, v.app_key)
        pieces = [
            wire.body_piece(n, str(x).encode() if n == "expire_time" else wire.encode_text(x).encode("ascii"))
            for n, x in zip(wire.REQUEST_FIELDS, values, strict=True)
        ]
        assert wire.request_body(*values) == b"".join(pieces) == v.request_body, v.id


def test_expected_replies_decode_to_exactly_the_oracles_reply():
    """Session.replies accepts these bytes undecoded, so they must mean the conforming reply, nothing else."""
    items = fuzz.Inputs(SEED).chunk(COUNT)
    styles = 0
    for x in items:
        if x.signature is None:
            assert x.expected_replies == ()  # an invalid input expects a refusal: always decoded
            continue
        assert 1 <= len(x.expected_replies) <= 2
        assert x.expected_replies == fuzz.expected_replies(x.string_to_sign, x.signature)  # made inline: the same
        for tail in x.expected_replies:
            msg = json.loads(b'{"seq":12' + tail)
            assert msg == {"seq": 12, "string_to_sign": x.string_to_sign, "signature": x.signature}
            assert protocol.check_response(msg) is None
        styles += len(x.expected_replies) == 2
    assert styles > COUNT // 4  # non-ASCII text: escaped and raw UTF-8 both expected


def _decoded_replies(x):
    """Replies a runner could send for input x: refusals (schema-valid or not) and signatures (right or wrong)."""
    sig = x.signature or "0" * 64
    err = {"type": "ValueError", "message": "lone surrogate"}
    yield {"seq": 1, "error": err}
    yield {"seq": 1, "error": err, "string_to_sign": x.string_to_sign}
    yield {"seq": 1, "error": {"type": 7, "message": "m"}}  # breaks the schema: a fault
    yield {"seq": 1, "error": err, "extra": True}
    yield {"seq": 1, "error": err, "signature": sig}
    yield {"seq": 1, "string_to_sign": x.string_to_sign, "signature": sig}
    yield {"seq": 1, "string_to_sign": x.string_to_sign + "x", "signature": sig}
    yield {"seq": 1, "string_to_sign": x.string_to_sign, "signature": sig.upper()}
    yield {"seq": 1, "signature": sig}
    yield {"seq": 1, "string_to_sign": x.string_to_sign, "signature": sig, "error": err}


def test_conforms_decides_as_the_full_path_without_building_an_outcome():
    """The consumer drops a decoded reply that `conforms`: only where outcome() and stage_of find no
    disagreement; for invalid inputs (refusals) it decides exactly as they do."""
    items = fuzz.Inputs(SEED).chunk(4000)
    invalid = [x for x in items if x.signature is None][:25]
    valid = [x for x in items if x.signature is not None][:25]
    assert len(invalid) == len(valid) == 25
    taken = {True: 0, False: 0}
    for x in invalid + valid:
        for reply in _decoded_replies(x):
            full = fuzz.stage_of(outcome(x.vector(), "r", reply)) is None
            fast = fuzz.conforms(x, reply)
            if x.signature is None:
                assert fast == full, reply
            else:
                assert full or not fast, reply
            taken[x.signature is None] += fast
    assert taken == {True: 2 * 25, False: 25}  # both refusals of each invalid input, the oracle's reply of each valid


def test_generator_aims_at_the_edges():
    vs = fuzz.Inputs(SEED).take(30000)
    modes = {v.mode for v in vs}
    assert modes == set(scheme.MODES)
    classes = set().union(*(fuzz.input_classes(v) for v in vs))
    for c in (
        "nul",
        "lone-surrogate",
        "astral",
        "cjk",
        "latin1",
        "combining",
        "rtl",
        "zero-width",
        "control",
        "colon",
        "unicode-space",
        "ascii-whitespace",
        "noncharacter",
        "empty-key",
        "key-over-block",
        "long-field",
        "expire-zero",
        "expire-above-int32",
        "expire-above-uint32",
        "expire-above-2^53",
    ):
        assert c in classes, c
    exp = {v.expire_time for v in vs}
    for e in (0, 2**31 - 1, 2**31, 2**31 + 1, 2**32, 2**53 - 1, 2**53 + 1, 2**63 - 1):
        assert e in exp, e
    key_bytes = {len(v.app_key.encode("utf-8", "surrogatepass")) for v in vs}
    assert {63, 64, 65} <= key_bytes
    straddle = [
        v
        for v in vs
        if not v.app_key.isascii()
        and any(
            len(v.app_key[:i].encode("utf-8", "surrogatepass"))
            < 64
            < len(v.app_key[: i + 1].encode("utf-8", "surrogatepass"))
            for i in range(len(v.app_key))
        )
    ]
    assert straddle, "a multi-byte character straddling the 64-byte HMAC block"
    assert any(v.mode == "single" and v.user_id == "" for v in vs), "the owner signs"
    assert any(any(len(getattr(v, f)) >= 1024 for f in fuzz.FIELDS) for v in vs)
    assert all(max(len(getattr(v, f)) for f in fuzz.FIELDS) <= 10240 for v in vs)
    sizes = sorted(fuzz.total_length(v) for v in vs)
    assert sizes[len(sizes) // 2] < 40, "mostly small values"
    assert 0.01 < sum(v.result == "invalid" for v in vs) / len(vs) < 0.15


# --------------------------------------------------------------------------- triage


def test_subset_diagnosis_agrees_with_full_diagnosis(inputs):
    subsets = [
        {"nul-truncates-both", "nul-truncates-data", "nul-truncates-key"},
        {"surrogate-question-mark", "latin1-replace"},
        {"surrogate-wtf8", "cesu8"},
        {"hex-uppercase"},
    ]
    checked = 0
    for name in ("cpp", "java"):
        sig = Emulated(name)
        for v in inputs[:2500]:
            o = sig.outcome(v)
            if o.error is not None or fuzz.stage_of(o) is None:
                continue
            full = fuzz.full_diagnosis(v.fields, v.app_key, o.string_to_sign, o.signature)
            for s in subsets:
                want = full & s
                assert fuzz.explained_by_subset(s, v.fields, v.app_key, o.string_to_sign, o.signature) == want
                # seeded with the vector's own oracle values (the hot path): the same answer
                assert fuzz.explained_by_subset(s, v.fields, v.app_key, o.string_to_sign, o.signature, v) == want
            checked += 1
    assert checked > 50


def test_emulated_quirks_form_clear_groups(inputs):
    cpp = triage_of("cpp", inputs)
    assert "nul-truncates" in group(cpp, "signature", "nul-truncates").cause
    assert group(cpp, "signature-where-refusal-was-due", "surrogate-wtf8").kind == "diagnosis"
    java = triage_of("java", inputs)
    assert group(java, "signature-where-refusal-was-due", "surrogate-question-mark").kind == "diagnosis"
    assert group(java, "error-where-none-was-due", "refused:IllegalArgumentException").count == sum(
        v.app_key == "" and v.result == "valid" for v in inputs
    )
    js = triage_of("js", inputs)
    assert [g.cause for g in js.groups] == ["expire-js-number"], [g.cause for g in js.groups]
    assert triage_of("python", inputs).groups == [], "refusing lone surrogates is right: those vectors are invalid"
    # counts add up; the example is the smallest member
    for t in (cpp, java, js):
        assert sum(g.count for g in t.groups) == t.disagreements
        for g in t.groups:
            assert g.example_size == fuzz.total_length(g.example)


def test_a_fault_is_a_disagreement_of_its_own_kind(inputs):
    t = fuzz.Triage("x")
    for v in inputs[:5]:
        t.add(Outcome(v, "x", fault="no response within 10s (hang)"), fuzz.FAULT)
    t.add(Outcome(inputs[5], "x", fault="runner exited with status 3 with 2 request(s) outstanding"), fuzz.FAULT)
    assert sorted((g.cause, g.count) for g in t.groups) == [("fault:crash", 1), ("fault:hang", 5)]


# --------------------------------------------------------------------------- shrinking


def test_shrinking_an_emulated_nul_truncation_gives_a_tiny_reproducer(inputs):
    t = triage_of("cpp", inputs)
    for g in t.groups:
        if g.kind == "overflow":
            continue
        r = fuzz.Shrinker(Emulated("cpp"), t).shrink(g)
        assert t.same_cause(g, Emulated("cpp").outcome(r))
        # tiny, or (a combination of quirks that needs a key over the 64-byte block) a run of 'a' and one
        # special character
        assert all(len(x) <= 4 or len(set(x) - {"a"}) <= 1 for x in (getattr(r, f) for f in fuzz.FIELDS)), (
            fuzz.input_repr(r)
        )
        if g.kind == "diagnosis":
            assert all(len(getattr(r, f)) <= 4 for f in fuzz.FIELDS), fuzz.input_repr(r)
        assert fuzz.shrink_key(r) <= fuzz.shrink_key(g.example)
    g = group(t, "signature", "nul-truncates")
    assert "\0" in "".join(getattr(g.reproducer, f) for f in fuzz.FIELDS)
    assert g.reproducer.mode == "sp_admin" and g.reproducer.expire_time == 0


def test_shrinking_lowers_the_expire_time_to_the_simplest_imprecise_one(inputs):
    t = triage_of("js", inputs)
    (g,) = t.groups
    r = fuzz.Shrinker(Emulated("js"), t).shrink(g)
    assert r.expire_time == 2**53 + 1 and fuzz.total_length(r) == 0


def test_shrinking_an_unexplained_group_keeps_only_the_classes_that_matter(inputs):
    t = triage_of("latin1-bug", inputs)
    g = group(t, "signature", "unexplained:")
    assert "latin1" in g.causes
    r = fuzz.Shrinker(Emulated("latin1-bug"), t).shrink(g)
    assert g.cause == "unexplained:latin1"
    assert fuzz.total_length(r) == 1 and "\xa1" <= "".join(getattr(r, f) for f in fuzz.FIELDS) <= "\xff"


# --------------------------------------------------------------------------- the four reference runners


@pytest.fixture(scope="module")
def backend():
    b = LocalBackend()
    for s in REFERENCE:
        try:
            b.prepare(s)
        except RunnerUnavailable as e:
            if in_ci():
                raise
            pytest.skip(f"toolchain missing: {e}")
    return b


@pytest.fixture(scope="module")
def report(backend):
    f = fuzz.Fuzzer(REFERENCE, backend, seed=SEED, count=COUNT, batch=1000, require_all=True)
    f.prepare()
    try:
        return f.run()
    finally:
        f.close()


def _find(report, runner, stage, part):
    gs = [g for g in report.groups if g.runner == runner and g.stage == stage and part in g.cause]
    assert gs, f"{runner}: no {part!r} group at {stage}: {[(g.runner, g.stage, g.cause) for g in report.groups]}"
    return max(gs, key=lambda g: g.count)


@pytest.mark.parametrize(
    "runner, stage, part, char",
    [
        ("cpp-reference", Stage.SIGNATURE.value, "nul-truncates", "\0"),
        ("java-reference", Stage.UNEXPECTED_SIGNATURE.value, "surrogate-question-mark", None),
        ("cpp-reference", Stage.UNEXPECTED_SIGNATURE.value, "surrogate-wtf8", None),
    ],
)
def test_finds_and_shrinks_the_reference_quirks(report, runner, stage, part, char):
    g = _find(report, runner, stage, part)
    r = g.reproducer
    assert r is not None and g.count >= 5
    assert all(len(getattr(r, f)) <= 4 for f in fuzz.FIELDS), fuzz.input_repr(r)
    joined = "".join(getattr(r, f) for f in fuzz.FIELDS)
    assert (char in joined) if char else text.has_lone_surrogate(joined)
    assert g.known, "the runner's known-divergence list covers its own snippet's quirk"


def test_the_reference_runners_agree_otherwise(report):
    assert report.inputs == COUNT
    assert all(r.outcomes == COUNT for r in report.runners)
    py = next(r for r in report.runners if r.spec.name == "python-reference")
    assert py.triage.disagreements == 0
    assert all(g.stage != fuzz.FAULT for g in report.groups), [g.cause for g in report.groups]
    js = [g.cause for g in report.groups if g.runner == "js-reference"]
    assert js == ["expire-js-number"]


def test_save_writes_loadable_vectors_unique_across_the_corpus(report, tmp_path):
    corpus = tmp_path / "vectors"
    shutil.copytree(ROOT / "vectors", corpus, ignore=shutil.ignore_patterns("regressions"))
    out = corpus / "regressions"
    written = fuzz.save_reproducers(report, out, corpus)
    assert written and all(p.parent == out for p in written)
    assert {p.name for p in written} == {f"{fuzz.slug(g.runner)}-{g.cause_slug}.yaml" for g in report.groups}
    saved = vectors.load(out)  # schema, notes, expected values (raises on any problem)
    full = vectors.load(corpus)  # ids unique across the corpus, flags documented
    assert len(full.vectors) == len(saved.vectors) + len(vectors.load(ROOT / "vectors", verify=False).vectors) - len(
        vectors.load(ROOT / "vectors" / "regressions", verify=False).vectors
        if (ROOT / "vectors" / "regressions").is_dir()
        else []
    )
    for v in saved.vectors:
        assert fuzz.FUZZ_FLAG in v.flags and any(f.startswith("fuzz-cause-") for f in v.flags)
        assert "seed 1" in v.description and any(r.spec.name in v.description for r in report.runners)
        assert v.string_to_sign is not None and (v.signature is not None) == (v.result == "valid")
    for p in written:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
        assert set(doc["notes"]) == {f for v in doc["vectors"] for f in v["flags"]}
    # saving again adds nothing: the ids are derived from the inputs
    again = fuzz.save_reproducers(report, out, corpus)
    assert again == [] and len(vectors.load(out).vectors) == len(saved.vectors)


def test_cli_fuzz_exit_code_and_summary(backend, tmp_path, capsys):
    save = tmp_path / "regressions"
    rc = cli.main(["fuzz", "--count", "2000", "--seed", str(SEED), "--batch", "500", "--save", "--save-dir", str(save)])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("fuzz: seed 1, 2,000 inputs through 4 runner(s)")
    assert lines[1].startswith("disagreement groups: ")
    n = int(re.match(r"disagreement groups: (\d+)", lines[1]).group(1))
    group_lines = lines[2 : 2 + n]
    assert all(
        re.match(r"  \S+-reference\s+\S+\s+\S+\s+[\d,]+x  (known \(.+\)|NEW)  (shrunk|smallest): mode=", ln)
        for ln in group_lines
    ), group_lines
    assert any("cpp-reference" in ln and "nul-truncates" in ln for ln in group_lines)
    assert lines[2 + n] == "runners:"
    assert sum("outcomes" in ln and "/s" in ln for ln in lines) == 4
    assert any(ln.startswith("harness CPU: ") and "% of one core" in ln for ln in lines)
    new = sum(" NEW " in ln for ln in group_lines)
    assert rc == (1 if new else 0)
    assert sum(ln.startswith("saved: ") for ln in lines) >= 1
    vectors.load(save)


def test_cli_fuzz_clean_runner_exits_0(backend, capsys):
    rc = cli.main(["fuzz", "--lang", "python", "--count", "2000", "--batch", "700"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "disagreement groups: 0" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--count", "-1"], "--count: '-1' is not a whole number from 1 to 10,000,000,000"),
        (["--count", "10", "--batch", "0"], "--batch: '0' is not a whole number from 1 to 1,000,000"),
        (["--time-budget", "0"], "--time-budget: '0' is not a number of seconds from 0.1 to 604,800"),
        (["--lang", "cobol"], "unknown runner 'cobol'"),
    ],
)
def test_cli_fuzz_usage_errors_exit_2(args, message, capsys):
    rc = cli.main(["fuzz", *args])
    assert rc == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- the package's shape

PACKAGE = Path(appauth_conformance.__file__).parent
FUZZ = PACKAGE / "fuzz"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_reaches(path: Path) -> list[str]:
    """`module._name` on an imported name, `from x import _name`, getattr(x, "_name"), and building objects
    behind their constructor (`__setattr__`, `__new__`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported, out = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                imported.add(a.asname or a.name)
                if _private(a.name):
                    out.append(f"{path.name}:{node.lineno}: from {'.' * node.level}{node.module or ''} import {a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if _private(node.attr) and isinstance(base, ast.Name) and base.id in imported:
                out.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
            if node.attr in ("__setattr__", "__new__"):
                out.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and _private(name.value):
                out.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_the_fuzz_package_reaches_no_private_name_of_another_module():
    files = sorted(FUZZ.glob("*.py"))
    assert {p.stem for p in files} >= {
        "__init__",
        "edges",
        "full_vectors",
        "generate",
        "triage",
        "shrink",
        "save",
        "run",
        "cli",
    }
    assert [x for p in files for x in _private_reaches(p)] == []


def test_the_private_name_scan_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from .. import protocol\nfrom .triage import _CLASSES\nimport json\nfrom ..model import Vector\n"
        "x = protocol._validator\ny = json.encoder._x\nz = getattr(protocol, '_y')\n"
        "v = object.__setattr__\nw = Vector.__new__\nok = self._mine, wire.encode_text, Vector.__init__\n"
    )
    assert [line.split(": ", 1)[1] for line in _private_reaches(bad)] == [
        "from .triage import _CLASSES",
        "protocol._validator",
        "json.encoder._x",
        "getattr(protocol, '_y')",
        "object.__setattr__",
        "Vector.__new__",
    ]


def _module_name(path: Path) -> str:
    parts = ["appauth_conformance", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports, at module or function level."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m in modules and m != name}


def test_no_import_cycle_through_the_fuzz_package():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: _imports(p, set(paths)) for m, p in paths.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            for n in graph[m]:
                if n == goal:
                    return True
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return False

    fuzz_modules = sorted(m for m in graph if m.startswith("appauth_conformance.fuzz"))
    assert len(fuzz_modules) >= 7
    assert [m for m in fuzz_modules if reaches(m, m)] == []


def test_no_fuzz_module_is_over_600_lines():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in FUZZ.glob("*.py")}
    assert max(sizes.values()) <= 600, sizes

"""Load the vector corpus into typed objects, and refuse a broken one precisely.

Checks, in order: YAML syntax (file and line), the closed schema (file, line,
vector id, field), ids unique across files, every flag documented in its
file's notes (and every note used), and expected values re-computed by the
oracle.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from appauth_conformance.core import scheme, text, untrusted
from appauth_conformance.core.errors import CorpusError, Problem
from appauth_conformance.core.model import RESULTS, TEXT_FIELDS, Corpus, HmacCheck, Tombstone, Vector
from appauth_conformance.corpus import cache
from appauth_conformance.formats import resources, schemas, yamlfile

__all__ = [
    "DEFAULT_VECTORS",
    "RESULTS",
    "SCHEMA_PATH",
    "TEXT_FIELDS",
    "decode_inputs",
    "display",
    "expected_for",
    "files_under",
    "load",
    "load_file",
    "read_yaml",
    "retired",
]

DEFAULT_VECTORS = resources.VECTORS
SCHEMA_PATH = schemas.path("vectors")
SCHEMA_ID = "appauth-conformance/vectors/1"  # the `schema:` every vector file names
RETIRED_FILE = "retired.json"  # the tombstones of a corpus folder (formats/schemas/retired.json)


def files_under(path: Path) -> list[Path]:
    """The YAML vector files at path (a file, or a folder searched recursively)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.yaml") if p.is_file())
        if not found:
            raise CorpusError(
                [Problem(str(path), "no .yaml vector files in this folder; pass a .yaml file or a folder of them")]
            )
        return found
    if path.exists():
        return [path]
    raise CorpusError([Problem(str(path), "no such file or folder; pass a .yaml file or a folder of them")])


def display(path: Path) -> str:
    """How a vector file is named in messages and results: relative to the current folder, and a file of the
    bundled corpus as vectors/NAME (its name in the suite's repository, the same on every machine)."""
    full = path.resolve()
    for base, shown in ((resources.VECTORS.resolve(), "vectors"), (Path.cwd(), None)):
        try:
            rel = full.relative_to(base)
        except ValueError:
            continue
        return str(rel) if shown is None else f"{shown}/{rel.as_posix()}"
    return str(path)


def read_yaml(path: Path, problems: list[Problem]):
    name = display(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(Problem(name, f"cannot read: {e}"))
        return None, None
    try:
        doc = yamlfile.load(raw)
    except yamlfile.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.append(
            Problem(name, f"YAML syntax: {getattr(e, 'problem', None) or e}", line=mark.line + 1 if mark else None)
        )
        return None, None
    return raw, doc


def _text_notation_message(e) -> str | None:
    """jsonschema's oneOf message hides why a {utf16:} or {repeat:} value is wrong; say it plainly."""
    if e.validator != "oneOf" or not isinstance(e.instance, dict):
        return None
    if "utf16" in e.instance:
        return (
            f"utf16 value {e.instance['utf16']!r} must be 4-digit hex UTF-16 code units separated by single "
            'spaces, e.g. "D800 0061", and nothing else in the mapping'
        )
    if "repeat" in e.instance or "count" in e.instance:
        return (
            "a long-text value needs `repeat` (non-empty text) and `count` (1..16777216), optionally `prefix` and "
            f"`suffix`, nothing else; got keys {sorted(e.instance)}"
        )
    return f"a text value is a string, {{utf16: ...}} or {{repeat: ..., count: ...}}; got keys {sorted(e.instance)}"


def load_file(path: Path, problems: list[Problem], verify: bool = True) -> tuple[list[Vector], dict, list[HmacCheck]]:
    """Vectors of one file; problems are appended, never raised, so a check reports them all."""
    name = display(path)
    raw, doc = read_yaml(path, problems)
    if raw is None:
        return [], {}, []
    line = yamlfile.Lines(raw).of

    errors = [] if schemas.check("vectors")(doc) else schemas.errors("vectors", doc)
    if isinstance(doc, dict) and doc.get("schema") != SCHEMA_ID:
        # said plainly, instead of jsonschema's "'schema' is a required property" / "... was expected"
        errors = [e for e in errors if list(e.absolute_path) != ["schema"] and "'schema'" not in e.message]
        if "schema" not in doc:
            msg = f"the file names no format version: add `schema: {SCHEMA_ID}` as its first key (`appauth-conformance docs vectors`)"
        else:
            msg = (
                f"schema {doc['schema']!r}: this version of the suite reads {SCHEMA_ID}; migrate the file "
                "as `appauth-conformance docs vectors` says, or use the suite's version that wrote it"
            )
        problems.append(Problem(name, msg, line=line(["schema"]) if "schema" in doc else 1, field="schema"))
        if not errors:
            return [], {}, []
    if errors:
        for e in errors:
            p = list(e.absolute_path)
            vid = None
            if len(p) >= 2 and p[0] == "vectors" and isinstance(doc, dict):
                try:
                    vid = doc["vectors"][p[1]].get("id")
                except (AttributeError, IndexError, KeyError, TypeError):
                    pass
            extra = schemas.unexpected_keys(e)
            if extra:
                p = [*p, extra[0]]
            fld = ".".join(str(s) for s in (p[2:] if vid is not None else p)) or None
            msg = _text_notation_message(e) or e.message
            msg = msg if len(msg) < 300 else msg[:300] + "..."
            problems.append(
                Problem(
                    name,
                    f"{msg} (schema: {'/'.join(map(str, e.absolute_schema_path))})",
                    line=line(p),
                    vector=vid,
                    field=fld,
                )
            )
        return [], {}, []

    notes = doc["notes"]
    used: set[str] = set()
    out: list[Vector] = []
    id_lines = _id_lines(raw)
    for i, v in enumerate(doc["vectors"]):
        inputs = decode_inputs(v["inputs"])
        exp = v.get("expected", {})
        lines = id_lines.get(v["id"]) or [0]
        vec = Vector(
            id=v["id"],
            file=name,
            line=lines.pop(0) if len(lines) > 1 else lines[0],
            description=v["description"],
            mode=v["mode"],
            **inputs,
            result=v["result"],
            flags=tuple(v["flags"]),
            string_to_sign=text.decode(exp["string_to_sign"]) if "string_to_sign" in exp else None,
            signature=exp.get("signature"),
        )
        used.update(vec.flags)
        for flag in vec.flags:
            if flag not in notes:
                problems.append(
                    Problem(
                        name,
                        f"flag '{flag}' is not documented: add it to this file's notes",
                        line=line(["vectors", i, "flags"]),
                        vector=vec.id,
                        field="flags",
                    )
                )
        if verify:
            for msg, fld in _oracle_problems(vec):
                problems.append(
                    Problem(name, msg, line=line(["vectors", i, *fld.split(".")]), vector=vec.id, field=fld)
                )
        out.append(vec)
    for flag in sorted(set(notes) - used):
        problems.append(
            Problem(
                name,
                f"note for flag '{flag}' is not used by any vector: remove it",
                line=line(["notes", flag]),
                field=f"notes.{flag}",
            )
        )
    if any(p.file == name for p in problems):
        return out, notes, []
    checks = [
        HmacCheck(c["id"], name, bytes.fromhex(c["key_hex"]), bytes.fromhex(c["data_hex"]), c["signature"])
        for c in doc.get("hmac_checks", [])
    ]
    if verify:
        for i, c in enumerate(checks):
            if scheme.hmac_hex(c.data, c.key) != c.signature:
                problems.append(
                    Problem(
                        name,
                        "the oracle does not reproduce this HMAC known answer",
                        line=line(["hmac_checks", i, "signature"]),
                        vector=c.id,
                        field="signature",
                    )
                )
    for i, c in enumerate(checks):
        if [x.id for x in checks].count(c.id) > 1 or c.id in {v.id for v in out}:
            problems.append(
                Problem(
                    name,
                    "duplicate id among vectors and hmac_checks",
                    line=line(["hmac_checks", i]),
                    vector=c.id,
                    field="id",
                )
            )
            break
    return out, notes, checks


_ID_LINE = re.compile(r"^\s*-?\s*id:\s*['\"]?([a-z0-9][a-z0-9-]*)", re.M)


def _id_lines(raw: str) -> dict[str, list[int]]:
    """id -> lines of its `id:` keys, by a text scan (composing YAML nodes is too slow for big corpora)."""
    out: dict[str, list[int]] = {}
    line, pos = 1, 0
    for m in _ID_LINE.finditer(raw):
        line += raw.count("\n", pos, m.start())  # incremental: linear in the file size
        pos = m.start()
        out.setdefault(m.group(1), []).append(line)
    return out


def decode_inputs(raw: dict) -> dict:
    """A vector's `inputs` mapping with every text value decoded from its notation."""
    return {k: text.decode(x) if k != "expire_time" else x for k, x in raw.items()}


def expected_for(vec: Vector) -> tuple[str | None, str | None, str | None]:
    """(string_to_sign, signature, error) the oracle gives for a vector's inputs."""
    return scheme.oracle(vec.fields, vec.app_key)


def _oracle_problems(vec: Vector) -> Iterator[tuple[str, str]]:
    data, sig, err = expected_for(vec)
    if data is None:
        assert err is not None  # the oracle says why it has no string to sign
        yield err, "inputs"
        return
    if vec.string_to_sign is None or (vec.signature is None and sig is not None):
        yield f"expected values are missing: run `appauth-conformance vectors fill {shlex.quote(vec.file)}`", "expected"
        return
    if vec.string_to_sign != data:
        yield (
            f"expected.string_to_sign {untrusted.cut(repr(vec.string_to_sign), 90)} is not what the scheme joins: "
            f"{untrusted.cut(repr(data), 90)}",
            "expected.string_to_sign",
        )
    if sig is None:
        if vec.signature is not None:
            yield f"a signature is given but the inputs cannot be signed ({err})", "expected.signature"
        if vec.result == "valid":
            yield f"result is valid but the inputs cannot be signed ({err}); use invalid", "result"
    elif vec.signature != sig:
        yield f"expected.signature {vec.signature} is not the oracle's {sig}", "expected.signature"


def load(path: Path | str = DEFAULT_VECTORS, verify: bool = True, *, keep: bool = False) -> Corpus:
    """Load and check a file or folder of vector files; CorpusError lists every problem.

    The bundled corpus comes from the cache folder when it is kept there (corpus/cache.py); `keep`
    writes it there when it is not (a run does; collecting tests writes nothing to the cache folder)."""
    problems: list[Problem] = []
    vectors: list[Vector] = []
    notes: dict[str, dict[str, str]] = {}
    checks: list[HmacCheck] = []
    files = files_under(Path(path))
    kept = _kept(Path(path), files) if verify else None
    if kept is not None and (corpus := cache.get(*kept)) is not None:
        return corpus
    for f in files:
        vs, ns, cs = load_file(f, problems, verify)
        vectors += vs
        notes[display(f)] = ns
        checks += cs
    tombstones = _tombstones(Path(path) / RETIRED_FILE, problems) if Path(path).is_dir() else {}
    seen: dict[str, Vector] = {}
    for v in vectors:
        if v.id in tombstones:
            t = tombstones[v.id]
            problems.append(
                Problem(
                    v.file,
                    f"id {v.id} was retired in {t.retired_in} ({t.reason[:80]}); a published id is never reused: "
                    "give this vector a new id",
                    line=v.line or None,
                    vector=v.id,
                    field="id",
                )
            )
        if v.id in seen:
            first = seen[v.id]
            problems.append(
                Problem(
                    v.file,
                    f"duplicate id: also at {first.file}:{first.line}; ids are unique across files",
                    line=v.line or None,
                    vector=v.id,
                    field="id",
                )
            )
        else:
            seen[v.id] = v
    if problems:
        raise CorpusError(problems)
    corpus = Corpus(vectors, notes, checks, tombstones)
    if kept is not None and keep:
        cache.put(*kept, corpus)
    return corpus


def _kept(path: Path, files: list[Path]) -> tuple[Path, bytes] | None:
    """Where the bundled corpus is kept loaded, and the key it must have (corpus/cache.py); None for any
    other corpus (a team's own, a test's): only the everyday one is worth a cache entry."""
    if path.resolve() != DEFAULT_VECTORS.resolve():
        return None
    retired = path / RETIRED_FILE
    named = [(display(f), f) for f in files] + ([(RETIRED_FILE, retired)] if retired.is_file() else [])
    try:
        return cache.key(__file__, named)
    except OSError:  # a file that cannot be read: the loading below says so
        return None


def _tombstones(path: Path, problems: list[Problem]) -> dict[str, Tombstone]:
    """id -> tombstone from a corpus folder's retired.json (none when the file is absent)."""
    if not path.is_file():
        return {}
    name = display(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        problems.append(Problem(name, f"cannot read the tombstones: {e}"))
        return {}
    errors = [] if schemas.check("retired")(doc) else schemas.errors("retired", doc)
    for err in errors[:5]:
        where = "/".join(map(str, err.absolute_path)) or "(top level)"
        problems.append(Problem(name, f"{where}: {err.message[:200]} (layout: formats/schemas/retired.json)"))
    if errors:
        return {}
    out: dict[str, Tombstone] = {}
    for t in doc["retired"]:
        if t["id"] in out:
            problems.append(Problem(name, f"id {t['id']} is retired twice; keep one tombstone", vector=t["id"]))
        out[t["id"]] = Tombstone(t["id"], t["reason"], t["retired_in"])
    return out


def retired(path: Path | str = DEFAULT_VECTORS) -> dict[str, Tombstone]:
    """The tombstones of a corpus folder alone (id -> tombstone), without loading its vectors."""
    problems: list[Problem] = []
    found = _tombstones(Path(path) / RETIRED_FILE, problems)
    if problems:
        raise CorpusError(problems)
    return found


def flags_checked(vectors: Path | str, corpus: Corpus) -> set[str] | None:
    """The flags a known-divergence entry may name: the bundled corpus's (a smaller --vectors corpus may
    lack some, so its lists' flags are not checked)."""
    if Path(vectors).resolve() != DEFAULT_VECTORS.resolve():
        return None
    return {f for v in corpus.vectors for f in v.flags}

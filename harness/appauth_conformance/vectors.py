"""Load the vector corpus into typed objects, and refuse a broken one precisely.

Checks, in order: YAML syntax (file and line), the closed schema (file, line,
vector id, field), ids unique across files, every flag documented in its
file's notes (and every note used), and expected values re-computed by the
oracle.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

import jsonschema
import yaml

from . import resources, scheme, text

try:  # libyaml is an order of magnitude faster; the pure loader is the fallback
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader

DEFAULT_VECTORS = resources.VECTORS
SCHEMA_PATH = DEFAULT_VECTORS / "schema.json"
TEXT_FIELDS = ("app_id", "corp_id", "user_id", "nonce", "app_key")
RESULTS = ("valid", "invalid", "acceptable")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the corpus, with the place it is at."""

    file: str
    message: str
    line: int | None = None
    vector: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = "".join(
            [f" vector {self.vector}:" if self.vector else "", f" {self.field}:" if self.field else ""]
        )
        return f"{where}:{what} {self.message}"


class CorpusError(Exception):
    """The corpus is broken; .problems lists every place, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{len(problems)} problem(s) in the vector corpus:\n{shown}{more}\n"
            "Fix the files above; `appauth-conformance vectors check` re-checks them, "
            "`appauth-conformance vectors fill` writes missing expected values."
        )


@dataclass(frozen=True, eq=False)
class Vector:
    """One test vector, its text decoded to Python strings (which may hold lone surrogates)."""

    id: str
    file: str
    line: int
    description: str
    mode: str
    app_id: str
    corp_id: str
    user_id: str
    expire_time: int
    nonce: str
    app_key: str
    result: str
    flags: tuple[str, ...]
    string_to_sign: str | None
    signature: str | None

    @property
    def key(self) -> str:
        """The display id, `mode/id`, used in test ids and reports."""
        return f"{self.mode}/{self.id}"

    @property
    def fields(self) -> scheme.Fields:
        return scheme.Fields(
            scheme.Mode(self.mode), self.app_id, self.corp_id, self.user_id, self.expire_time, self.nonce
        )

    @cached_property
    def request_body(self) -> bytes:
        """The wire fields after `"seq":N,`, encoded once and reused by every session."""
        body = {
            "mode": self.mode,
            "app_id": self.app_id,
            "corp_id": self.corp_id,
            "user_id": self.user_id,
            "expire_time": self.expire_time,
            "nonce": self.nonce,
            "app_key": self.app_key,
        }
        return json.dumps(body, ensure_ascii=True, separators=(",", ":"))[1:].encode("ascii")

    def to_json(self) -> dict:
        """Plain JSON form (strings may hold lone surrogates; json.dumps escapes them)."""
        return {
            "id": self.id,
            "mode": self.mode,
            "description": self.description,
            "inputs": {name: getattr(self, name) for name in (*TEXT_FIELDS[:3], "expire_time", *TEXT_FIELDS[3:])},
            "result": self.result,
            "flags": list(self.flags),
            "expected": {
                k: v for k, v in (("string_to_sign", self.string_to_sign), ("signature", self.signature)) if v is not None
            },
        }


@dataclass(frozen=True)
class HmacCheck:
    """A raw HMAC-SHA256 known answer (RFC 4231), checked by the oracle and openssl."""

    id: str
    file: str
    key: bytes
    data: bytes
    signature: str


@dataclass
class Corpus:
    vectors: list[Vector]
    notes: dict[str, dict[str, str]]  # file -> flag -> note
    hmac_checks: list[HmacCheck] = field(default_factory=list)

    @cached_property
    def digest(self) -> str:
        """sha256 over the canonical JSON of every vector: the corpus identity in reports."""
        h = hashlib.sha256()
        for v in sorted(self.vectors, key=lambda v: v.key):
            h.update(json.dumps(v.to_json(), sort_keys=True, ensure_ascii=True).encode())
            h.update(b"\n")
        return h.hexdigest()

    def by_key(self) -> dict[str, Vector]:
        return {v.key: v for v in self.vectors}


_validator = None


def validator() -> jsonschema.protocols.Validator:
    global _validator
    if _validator is None:
        schema = json.loads(SCHEMA_PATH.read_text())
        _validator = jsonschema.Draft202012Validator(schema)
    return _validator


def files_under(path: Path) -> list[Path]:
    """The YAML vector files at path (a file, or a folder searched recursively)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.yaml") if p.is_file())
        if not found:
            raise CorpusError([Problem(str(path), "no .yaml vector files in this folder; pass a .yaml file or a folder of them")])
        return found
    if path.exists():
        return [path]
    raise CorpusError([Problem(str(path), "no such file or folder; pass a .yaml file or a folder of them")])


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _line_of(node: yaml.Node | None, path: Iterable) -> int | None:
    """1-based line of the YAML node at a JSON path (for error messages only)."""
    line = node.start_mark.line + 1 if node else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def read_yaml(path: Path, problems: list[Problem]):
    name = display(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(Problem(name, f"cannot read: {e}"))
        return None, None
    try:
        doc = yaml.load(raw, Loader=SafeLoader)
    except yaml.YAMLError as e:
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
        return (f"utf16 value {e.instance['utf16']!r} must be 4-digit hex UTF-16 code units separated by single "
                "spaces, e.g. \"D800 0061\", and nothing else in the mapping")
    if "repeat" in e.instance or "count" in e.instance:
        return ("a long-text value needs `repeat` (non-empty text) and `count` (1..16777216), optionally `prefix` and "
                f"`suffix`, nothing else; got keys {sorted(e.instance)}")
    return f"a text value is a string, {{utf16: ...}} or {{repeat: ..., count: ...}}; got keys {sorted(e.instance)}"


def load_file(path: Path, problems: list[Problem], verify: bool = True) -> tuple[list[Vector], dict, list[HmacCheck]]:
    """Vectors of one file; problems are appended, never raised, so a check reports them all."""
    name = display(path)
    raw, doc = read_yaml(path, problems)
    if raw is None:
        return [], {}, []
    nodes = None

    def line(path_):
        nonlocal nodes
        if nodes is None:
            nodes = yaml.compose(raw, Loader=SafeLoader)
        return _line_of(nodes, path_)

    errors = sorted(validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        for e in errors:
            p = list(e.absolute_path)
            vid = None
            if len(p) >= 2 and p[0] == "vectors" and isinstance(doc, dict):
                try:
                    vid = doc["vectors"][p[1]].get("id")
                except (AttributeError, IndexError, KeyError, TypeError):
                    pass
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
                if extra:
                    p = [*p, extra[0]]
            fld = ".".join(str(s) for s in (p[2:] if vid is not None else p)) or None
            msg = _text_notation_message(e) or e.message
            msg = msg if len(msg) < 300 else msg[:300] + "..."
            problems.append(Problem(name, f"{msg} (schema: {'/'.join(map(str, e.absolute_schema_path))})",
                                    line=line(p), vector=vid, field=fld))
        return [], {}, []

    notes = doc["notes"]
    used: set[str] = set()
    out: list[Vector] = []
    for i, v in enumerate(doc["vectors"]):
        inputs = decode_inputs(v["inputs"])
        exp = v.get("expected", {})
        vec = Vector(
            id=v["id"], file=name, line=0, description=v["description"], mode=v["mode"],
            **inputs, result=v["result"], flags=tuple(v["flags"]),
            string_to_sign=text.decode(exp["string_to_sign"]) if "string_to_sign" in exp else None,
            signature=exp.get("signature"),
        )
        used.update(vec.flags)
        for flag in vec.flags:
            if flag not in notes:
                problems.append(Problem(name, f"flag '{flag}' is not documented: add it to this file's notes",
                                        line=line(["vectors", i, "flags"]), vector=vec.id, field="flags"))
        if verify:
            for msg, fld in _oracle_problems(vec):
                problems.append(Problem(name, msg, line=line(["vectors", i, *fld.split(".")]), vector=vec.id, field=fld))
        out.append(vec)
    for flag in sorted(set(notes) - used):
        problems.append(Problem(name, f"note for flag '{flag}' is not used by any vector: remove it",
                                line=line(["notes", flag]), field=f"notes.{flag}"))
    if any(p.file == name for p in problems):
        return out, notes, []
    id_lines = _id_lines(raw)
    for vec in out:
        lines = id_lines.get(vec.id) or [0]
        object.__setattr__(vec, "line", lines.pop(0) if len(lines) > 1 else lines[0])
    checks = [
        HmacCheck(c["id"], name, bytes.fromhex(c["key_hex"]), bytes.fromhex(c["data_hex"]), c["signature"])
        for c in doc.get("hmac_checks", [])
    ]
    if verify:
        for i, c in enumerate(checks):
            if scheme.hmac_hex(c.data, c.key) != c.signature:
                problems.append(Problem(name, "the oracle does not reproduce this HMAC known answer",
                                        line=line(["hmac_checks", i, "signature"]), vector=c.id, field="signature"))
    for i, c in enumerate(checks):
        if [x.id for x in checks].count(c.id) > 1 or c.id in {v.id for v in out}:
            problems.append(Problem(name, "duplicate id among vectors and hmac_checks", line=line(["hmac_checks", i]),
                                    vector=c.id, field="id"))
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


def oracle(fields: scheme.Fields, app_key: str) -> tuple[str | None, str | None, str | None]:
    """(string_to_sign, signature, error) the scheme gives: no string if the inputs do not fit the
    mode, no signature if they have no UTF-8 form; error says why."""
    try:
        data = scheme.string_to_sign(fields)
    except scheme.SchemeError as e:
        return None, None, str(e)
    try:
        return data, scheme.sign_fields(fields, app_key)[1], None
    except scheme.UnencodableText as e:
        return data, None, str(e)


def expected_for(vec: Vector) -> tuple[str | None, str | None, str | None]:
    """(string_to_sign, signature, error) the oracle gives for a vector's inputs."""
    return oracle(vec.fields, vec.app_key)


def _oracle_problems(vec: Vector) -> Iterator[tuple[str, str]]:
    data, sig, err = expected_for(vec)
    if data is None:
        yield err, "inputs"
        return
    if vec.string_to_sign is None or vec.signature is None and sig is not None:
        yield "expected values are missing: run `appauth-conformance vectors fill`", "expected"
        return
    if vec.string_to_sign != data:
        yield f"expected.string_to_sign {vec.string_to_sign[:80]!r} is not what the scheme joins: {data[:80]!r}", "expected.string_to_sign"
    if sig is None:
        if vec.signature is not None:
            yield f"a signature is given but the inputs cannot be signed ({err})", "expected.signature"
        if vec.result == "valid":
            yield f"result is valid but the inputs cannot be signed ({err}); use invalid", "result"
    elif vec.signature != sig:
        yield f"expected.signature {vec.signature} is not the oracle's {sig}", "expected.signature"


def load(path: Path | str = DEFAULT_VECTORS, verify: bool = True) -> Corpus:
    """Load and check a file or folder of vector files; CorpusError lists every problem."""
    problems: list[Problem] = []
    vectors: list[Vector] = []
    notes: dict[str, dict[str, str]] = {}
    checks: list[HmacCheck] = []
    for f in files_under(Path(path)):
        vs, ns, cs = load_file(f, problems, verify)
        vectors += vs
        notes[display(f)] = ns
        checks += cs
    seen: dict[str, Vector] = {}
    for v in vectors:
        if v.id in seen:
            first = seen[v.id]
            problems.append(Problem(v.file, f"duplicate id: also at {first.file}:{first.line}; ids are unique across files",
                                    line=v.line or None, vector=v.id, field="id"))
        else:
            seen[v.id] = v
    if problems:
        raise CorpusError(problems)
    return Corpus(vectors, notes, checks)

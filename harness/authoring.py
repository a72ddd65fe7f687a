"""Write vector files: `vectors fill` (expected values from the oracle) and `vectors export`.

Files are machine-formatted on fill, so prose belongs in `description` and
`notes`, not in YAML comments.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from . import __version__, scheme, text
from .vectors import TEXT_FIELDS, Corpus, CorpusError, Problem, SafeLoader, display, files_under

try:
    from yaml import CSafeDumper as SafeDumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper

HEADER = "# Expected values are written by `appauth-conformance vectors fill`; see docs/vectors.md.\n"


def dump(doc: dict) -> str:
    return HEADER + yaml.dump(doc, Dumper=SafeDumper, sort_keys=False, allow_unicode=True, width=1 << 30)


def fill_file(path: Path, overwrite: bool = False) -> int:
    """Add missing expected values to one file (all of them with overwrite); returns how many changed."""
    raw = path.read_text(encoding="utf-8")
    try:
        doc = yaml.load(raw, Loader=SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise CorpusError([Problem(display(path), f"YAML syntax: {e}", line=mark.line + 1 if mark else None)])
    changed = 0
    for v in doc.get("vectors", []):
        if "expected" in v and not overwrite:
            continue
        inputs = {k: text.decode(x) if k != "expire_time" else x for k, x in v["inputs"].items()}
        f = scheme.Fields(scheme.Mode(v["mode"]), inputs["app_id"], inputs["corp_id"], inputs["user_id"],
                          inputs["expire_time"], inputs["nonce"])
        try:
            data = scheme.string_to_sign(f)
        except scheme.SchemeError as e:
            raise CorpusError([Problem(display(path), str(e), vector=v.get("id"), field="inputs")])
        expected = {"string_to_sign": text.encode(data)}
        try:
            expected["signature"] = scheme.sign_fields(f, inputs["app_key"])[1]
        except scheme.UnencodableText:
            pass  # no UTF-8 form: nothing can be signed, the vector must be invalid
        if v.get("expected") != expected:
            v["expected"] = expected
            changed += 1
    if changed:
        path.write_text(dump(doc), encoding="utf-8")
    return changed


def fill(path: Path, overwrite: bool = False) -> dict[str, int]:
    return {display(f): fill_file(f, overwrite) for f in files_under(path)}


def _escaped(s: str) -> str:
    """JSON string body, ASCII only: every loader's JSON parser decodes it to the same UTF-16."""
    return json.dumps(s, ensure_ascii=True)


def export_json(corpus: Corpus) -> dict:
    """The whole corpus as one JSON document for other languages' unit tests (docs/vectors.md)."""
    vectors = []
    for v in corpus.vectors:
        j = v.to_json()
        j["key"] = v.key
        # Values with no UTF-8 form also travel as UTF-16 code units, so a language whose JSON
        # parser replaces or refuses lone surrogates (Go, Rust) cannot silently misread them.
        units = {
            name: text.utf16_units(val)
            for name, val in [*((n, getattr(v, n)) for n in TEXT_FIELDS), ("string_to_sign", v.string_to_sign or "")]
            if text.has_lone_surrogate(val)
        }
        if units:
            j["utf16"] = units
        vectors.append(j)
    return {
        "schema": "appauth-conformance/vectors-export/1",
        "generator": f"appauth-conformance {__version__}",
        "corpus_sha256": corpus.digest,
        "vector_count": len(corpus.vectors),
        "notes": corpus.notes,
        "hmac_checks": [
            {"id": c.id, "key_hex": c.key.hex(), "data_hex": c.data.hex(), "signature": c.signature}
            for c in corpus.hmac_checks
        ],
        "vectors": vectors,
    }


def write_export(corpus: Corpus, out: Path) -> None:
    doc = export_json(corpus)
    data = json.dumps(doc, ensure_ascii=True, indent=1)
    assert data.isascii()
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(data + "\n", encoding="ascii")
    tmp.replace(out)

"""Write vector files: `vectors fill` (expected values from the oracle) and `vectors export`.

Files are machine-formatted on fill, so prose belongs in `description` and
`notes`, not in YAML comments.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from appauth_conformance import __version__
from appauth_conformance.core import scheme, text
from appauth_conformance.core.errors import CorpusError, Problem
from appauth_conformance.core.model import Corpus
from appauth_conformance.core.scheme import oracle
from appauth_conformance.corpus.vectors import TEXT_FIELDS, decode_inputs, display, files_under, read_yaml
from appauth_conformance.formats.files import write_atomic

SafeDumper: type[yaml.CSafeDumper] | type[yaml.SafeDumper]  # libyaml's where PyYAML was built with it
try:
    from yaml import CSafeDumper as SafeDumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper

HEADER = (
    "# Expected values are written by `appauth-conformance vectors fill`; see `appauth-conformance docs vectors`.\n"
)


def dump(doc: dict) -> str:
    return HEADER + yaml.dump(doc, Dumper=SafeDumper, sort_keys=False, allow_unicode=True, width=1 << 30)


def fill_file(path: Path, overwrite: bool = False) -> int:
    """Add missing expected values to one file (all of them with overwrite); returns how many changed."""
    problems: list[Problem] = []
    _, doc = read_yaml(path, problems)
    if problems:
        raise CorpusError(problems)
    changed = 0
    for v in doc.get("vectors", []):
        if "expected" in v and not overwrite:
            continue
        inputs = decode_inputs(v["inputs"])
        f = scheme.Fields(
            scheme.Mode(v["mode"]),
            inputs["app_id"],
            inputs["corp_id"],
            inputs["user_id"],
            inputs["expire_time"],
            inputs["nonce"],
        )
        data, sig, err = oracle(f, inputs["app_key"])
        if data is None:
            assert err is not None  # the oracle says why it has no string to sign
            raise CorpusError([Problem(display(path), err, vector=v.get("id"), field="inputs")])
        expected = {"string_to_sign": text.encode(data)}
        if sig is not None:  # no UTF-8 form: nothing can be signed, the vector must be invalid
            expected["signature"] = sig
        if v.get("expected") != expected:
            v["expected"] = expected
            changed += 1
    if changed:
        write_atomic(path, dump(doc))
    return changed


def fill(path: Path, overwrite: bool = False) -> dict[str, int]:
    return {display(f): fill_file(f, overwrite) for f in files_under(path)}


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
    write_atomic(out, data + "\n", encoding="ascii")

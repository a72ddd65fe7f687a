"""`vectors export --format json`: one ASCII-only file, schema-valid, decoding to the exact strings."""

import json

import jsonschema

from appauth_conformance.core import text
from appauth_conformance.corpus import vectors
from appauth_conformance.formats import schemas
from appauth_conformance.frontends import cli

EXPORT_SCHEMA = schemas.path("vectors-export")


def test_export_is_ascii_schema_valid_and_exact(tmp_path):
    out = tmp_path / "vectors.json"
    assert cli.main(["vectors", "export", "--format", "json", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.isascii()
    doc = json.loads(raw)
    jsonschema.Draft202012Validator(json.loads(EXPORT_SCHEMA.read_text())).validate(doc)
    corpus = vectors.load()
    assert doc["vector_count"] == len(corpus.vectors) == len(doc["vectors"])
    assert doc["corpus_sha256"] == corpus.digest
    by_key = corpus.by_key()
    surrogate_fields = 0
    for v in doc["vectors"]:
        orig = by_key[v["key"]]
        for name in ("app_id", "corp_id", "user_id", "nonce", "app_key"):
            assert v["inputs"][name] == getattr(orig, name)
            if text.has_lone_surrogate(getattr(orig, name)):
                surrogate_fields += 1
                # the code units alone reproduce the value, for parsers that mangle lone surrogates
                assert text.decode({"utf16": v["utf16"][name]}) == getattr(orig, name)
        assert v["expected"].get("signature") == orig.signature
    assert surrogate_fields >= 20

"""The JSON Schemas: the one description of every format, and the validators made from them.

Each format the suite reads or writes — vector files, runner messages, results.json, the
export, known-divergence files, Docker variants — is described once, by a closed and
versioned JSON Schema (Draft 2020-12) shipped in the package. Nothing else describes it:

- `errors(name, doc)` words everything wrong with a document (jsonschema), for messages;
- `check(name)` is a fast yes/maybe predicate compiled from the same schema by jsonschema-rs,
  for the hot paths (a reply per request, a pass per outcome): True means valid, False means
  "ask `errors`". Its "yes" agrees with jsonschema's (tests/test_schema_check.py compares them
  on documents of every schema); it may say "ask" where jsonschema says valid (its regex `$`
  does not match before a final newline, as Python's does), which costs only the slow path.
  Measured faster than the hand-written predicate it replaced (benchmarks/schema_check.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from appauth_conformance.formats import resources

if TYPE_CHECKING:  # imported when a document fails check(): the fast path never pays for jsonschema's import
    import jsonschema

Check = Callable[[Any], bool]
Schema = dict[str, Any]  # a JSON Schema document or subschema, as loaded

# name -> file: the vector file schema lives with the corpus (teams validate their own files with it)
FILES = {
    "vectors": resources.VECTORS / "schema.json",
    "protocol": resources.SCHEMAS / "protocol.json",
    "results": resources.SCHEMAS / "results.json",
    "vectors-export": resources.SCHEMAS / "vectors-export.json",
    "known-divergences": resources.SCHEMAS / "known-divergences.json",
}


def path(name: str) -> Path:
    return FILES[name] if name in FILES else resources.SCHEMAS / f"{name}.json"


@cache
def load(name: str) -> Schema:
    doc: Schema = json.loads(path(name).read_text(encoding="utf-8"))
    return doc


def _rooted(name: str, definition: str | None) -> Schema:
    s = load(name)
    return s if definition is None else {"$defs": s.get("$defs", {}), "$ref": f"#/$defs/{definition}"}


@cache
def validator(name: str, definition: str | None = None) -> jsonschema.protocols.Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(_rooted(name, definition))


def errors(name: str, doc: Any, definition: str | None = None) -> list[jsonschema.ValidationError]:
    """Every place doc breaks the schema, in document order (empty: valid)."""
    return sorted(validator(name, definition).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])


def listed_keys(e: jsonschema.ValidationError) -> list[str]:
    """For an additionalProperties error: the keys its schema node allows, sorted."""
    node = e.schema if isinstance(e.schema, dict) else {}
    return sorted(node.get("properties", {}))


def unexpected_keys(e: jsonschema.ValidationError) -> list[str]:
    """For an additionalProperties error: the keys of the object its schema node does not allow, sorted."""
    if e.validator != "additionalProperties" or not isinstance(e.instance, dict):
        return []
    return sorted(set(e.instance) - set(listed_keys(e)))


@cache
def check(name: str, definition: str | None = None) -> Check:
    """The fast predicate of a schema (or of one of its $defs): True, valid; False, ask `errors`."""
    schema = {k: v for k, v in _rooted(name, definition).items() if k != "$id"}  # $defs are resolved in place
    is_valid = jsonschema_rs.Draft202012Validator(schema).is_valid

    def fast(doc: Any) -> bool:
        try:
            return is_valid(doc)
        # a value JSON has no form for (a YAML date, ...): ask jsonschema
        except (ValueError, TypeError, OverflowError):
            return False

    return fast

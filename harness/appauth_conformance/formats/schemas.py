"""The JSON Schemas: the one description of every format, and the validators made from them.

Each format the suite reads or writes — vector files, runner messages, results.json, the
export, known-divergence files, Docker variants — is described once, by a closed and
versioned JSON Schema (Draft 2020-12) shipped in the package. Nothing else describes it:

- `errors(name, doc)` words everything wrong with a document (jsonschema), for messages;
- `check(name)` is a fast yes/maybe predicate compiled from the same schema, for the hot
  paths (a reply per request, a pass per outcome): True means valid, False means "ask
  `errors`". It understands a subset of the vocabulary (object, array, string, integer,
  boolean, null, enum, const, minimum, maximum, minLength, maxLength, pattern, required,
  properties, additionalProperties, propertyNames, min/maxProperties, items, minItems, maxItems, uniqueItems, $ref, oneOf,
  anyOf, if/then/else), exactly, so it is as strict as the schema and no stricter (tests/
  test_schemas.py compares it with jsonschema); a schema that uses anything else simply gets
  a predicate that always says "ask".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appauth_conformance.formats import resources

if TYPE_CHECKING:  # imported when a document fails check(): the fast path never pays for jsonschema's import
    import jsonschema  # no stubs installed: types-jsonschema is not a test extra

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
    """The fast predicate of a schema (or of one of its $defs)."""
    root = _rooted(name, definition)
    try:
        return _Compiler(root).compile(root)
    except _Unsupported:
        return lambda doc: False  # every document goes to the full validator


# -- the compiler ------------------------------------------------------------------------------------


class _Unsupported(Exception):
    pass


_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs", "format"}
_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": lambda x: (
        type(x) is int or (type(x) is float and x.is_integer())
    ),  # JSON: 1.0 is an integer, true is not
    "number": lambda x: type(x) is int or type(x) is float,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}


class _Compiler:
    def __init__(self, root: Schema):
        self.root = root
        self.refs: dict[str, Check] = {}
        self.inexact = 0  # checks that may say "ask" for a valid value (fine alone, not under oneOf/if)
        self.ref_inexact: dict[str, int] = {}
        self.compiling: set[str] = set()

    def compile(self, s: Any) -> Check:
        if s is True:
            return lambda x: True
        if not isinstance(s, dict) or set(s) - _ANNOTATIONS - set(_KEYWORDS):
            raise _Unsupported(s)
        leaf = _leaf(s)
        if leaf is not None:
            return leaf
        # each keyword's method (_type, _enum, ...) gives its check, or None when another keyword handles it
        found: list[Check | None] = [getattr(self, "_" + k.lstrip("$"))(s[k], s) for k in _KEYWORDS if k in s]
        checks = [c for c in found if c is not None]
        return _all(checks)

    def _ref(self, ref: str, s: Schema) -> Check:
        if not ref.startswith("#/$defs/"):
            raise _Unsupported(ref)
        name = ref[len("#/$defs/") :]
        if name not in self.refs:
            if name in self.compiling:  # a recursive reference: not in the subset
                raise _Unsupported(ref)
            self.compiling.add(name)
            before = self.inexact
            self.refs[name] = self.compile(self.root["$defs"][name])
            self.ref_inexact[name] = self.inexact - before
            self.compiling.discard(name)
        else:
            self.inexact += self.ref_inexact[name]  # a cached definition counts as often as it is used
        return self.refs[name]

    def _type(self, t: str | list[str], s: Schema) -> Check | None:
        if t == "object" and "properties" in s:
            return None  # one fused check with the properties
        if isinstance(t, list):
            preds = [_TYPES[n] for n in t]
            return lambda x: any(p(x) for p in preds)
        return _TYPES[t]

    def _enum(self, values: list[Any], s: Schema) -> Check:
        return lambda x: any(_json_equal(x, v) for v in values)

    def _const(self, value: Any, s: Schema) -> Check:
        return lambda x: _json_equal(x, value)

    def _minimum(self, m: float, s: Schema) -> Check:
        return lambda x: type(x) not in (int, float) or x >= m

    def _maximum(self, m: float, s: Schema) -> Check:
        return lambda x: type(x) not in (int, float) or x <= m

    def _minLength(self, n: int, s: Schema) -> Check:
        return lambda x: type(x) is not str or len(x) >= n

    def _maxLength(self, n: int, s: Schema) -> Check:
        return lambda x: type(x) is not str or len(x) <= n

    def _pattern(self, p: str, s: Schema) -> Check:
        rx = re.compile(p)
        return lambda x: type(x) is not str or rx.search(x) is not None

    def _required(self, names: list[str], s: Schema) -> Check | None:
        if "properties" in s:
            return None  # one fused check with the properties
        need = frozenset(names)
        return lambda x: type(x) is not dict or need <= x.keys()

    def _properties(self, props: dict[str, Any], s: Schema) -> Check | None:
        compiled = {k: self.compile(v) for k, v in props.items()}
        extra = s.get("additionalProperties", True)
        other = None if extra is False else self.compile(extra)
        known = frozenset(compiled)
        need = frozenset(s.get("required", ()))
        is_object = s.get("type") == "object"  # fused here: type, required, properties, additionalProperties
        string = _TYPES["string"]  # the commonest property: checked inline, not called

        def check(x: Any) -> bool:
            if type(x) is not dict:
                return not is_object
            if not need <= x.keys() or (other is None and not x.keys() <= known):
                return False
            for k, v in x.items():
                c = compiled.get(k, other)
                if c is string:
                    if type(v) is not str:
                        return False
                elif c is not None and not c(v):
                    return False
            return True

        return check

    def _additionalProperties(self, extra: Any, s: Schema) -> Check | None:
        if "properties" in s:
            return None  # handled with the properties
        if extra is False:
            return lambda x: type(x) is not dict or not x
        c = self.compile(extra)
        return lambda x: type(x) is not dict or all(c(v) for v in x.values())

    def _minProperties(self, n: int, s: Schema) -> Check:
        return lambda x: type(x) is not dict or len(x) >= n

    def _maxProperties(self, n: int, s: Schema) -> Check:
        return lambda x: type(x) is not dict or len(x) <= n

    def _propertyNames(self, names: Any, s: Schema) -> Check:
        c = self.compile(names)
        return lambda x: type(x) is not dict or all(c(k) for k in x)

    def _items(self, items: Any, s: Schema) -> Check:
        c = self.compile(items)
        return lambda x: type(x) is not list or all(c(v) for v in x)

    def _minItems(self, n: int, s: Schema) -> Check:
        return lambda x: type(x) is not list or len(x) >= n

    def _maxItems(self, n: int, s: Schema) -> Check:
        return lambda x: type(x) is not list or len(x) <= n

    def _uniqueItems(self, unique: bool, s: Schema) -> Check | None:
        if not unique:
            return None
        self.inexact += 1
        return lambda x: type(x) is not list or len({_canonical(v) for v in x}) == len(x)

    def _if(self, cond: Any, s: Schema) -> Check:
        c = self._exact(cond)
        then = self.compile(s["then"]) if "then" in s else None
        other = self.compile(s["else"]) if "else" in s else None

        def check(x: Any) -> bool:
            if c(x):
                return then is None or then(x)
            return other is None or other(x)

        return check

    def _then(self, value: Any, s: Schema) -> None:
        return None  # handled with `if`

    def _else(self, value: Any, s: Schema) -> None:
        return None

    def _exact(self, s: Any) -> Check:
        """A check that must never say "ask" for a valid value (its "no" is used as a verdict)."""
        before = self.inexact
        c = self.compile(s)
        if self.inexact != before:
            raise _Unsupported(s)
        return c

    def _oneOf(self, options: list[Any], s: Schema) -> Check:
        cs = [self._exact(o) for o in options]
        if _exclusive(options):  # at most one can hold: the first that does settles it
            if len(cs) == 2:
                a, b = cs
                return lambda x: a(x) or b(x)
            return lambda x: any(c(x) for c in cs)
        return lambda x: sum(1 for c in cs if c(x)) == 1

    def _anyOf(self, options: list[Any], s: Schema) -> Check:
        cs = [self.compile(o) for o in options]
        return lambda x: any(c(x) for c in cs)


def _leaf(s: Schema) -> Check | None:
    """A scalar schema (one type, with bounds) as a single check: most properties are such, and the hot
    paths check millions of them. None for anything else."""
    keys = set(s) - _ANNOTATIONS
    t = s.get("type")
    if t not in ("string", "integer", "boolean") or not keys <= {
        "type",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
    }:
        return None
    if t == "boolean":
        return None if keys != {"type"} else _TYPES["boolean"]
    if t == "integer":
        if keys - {"type", "minimum", "maximum"}:
            return None
        lo, hi = s.get("minimum", float("-inf")), s.get("maximum", float("inf"))
        return lambda x: (type(x) is int or (type(x) is float and x.is_integer())) and lo <= x <= hi
    if keys - {"type", "minLength", "maxLength", "pattern"}:
        return None
    lo_n, hi_n = s.get("minLength", 0), s.get("maxLength", float("inf"))
    rx = re.compile(s["pattern"]) if "pattern" in s else None
    if rx is None:
        if lo_n == 0 and hi_n == float("inf"):
            return _TYPES["string"]
        return lambda x: type(x) is str and lo_n <= len(x) <= hi_n
    return lambda x: type(x) is str and lo_n <= len(x) <= hi_n and rx.search(x) is not None


def _all(checks: list[Check]) -> Check:
    """One check that holds when all hold (spelled out for the usual one to three: no generator per call)."""
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    if len(checks) == 3:
        a, b, c = checks
        return lambda x: a(x) and b(x) and c(x)
    return lambda x: all(c(x) for c in checks)


def _exclusive(options: list[Any]) -> bool:
    """Can no value satisfy two of these object schemas? True when each pair has a key one requires
    and the other forbids (closed, without that property)."""

    def shut_out(a: Any, b: Any) -> bool:
        if not (isinstance(a, dict) and isinstance(b, dict)) or b.get("additionalProperties", True) is not False:
            return False
        return any(k not in b.get("properties", {}) for k in a.get("required", ()))

    return all(shut_out(a, b) or shut_out(b, a) for i, a in enumerate(options) for b in options[i + 1 :])


def _canonical(v: Any) -> str:
    """A key equal for JSON-equal values. Numbers all become floats, so it may call two different
    big integers equal: `uniqueItems` then says "ask", never "valid" wrongly."""

    def norm(x: Any) -> Any:
        if isinstance(x, bool) or x is None or isinstance(x, str):
            return x
        if isinstance(x, (int, float)):
            return float(x)
        if isinstance(x, list):
            return [norm(i) for i in x]
        if isinstance(x, dict):
            return {k: norm(i) for k, i in x.items()}
        return x

    return json.dumps(norm(v), sort_keys=True)


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b and (type(a) is type(b) or (type(a) in (int, float) and type(b) in (int, float)))


# fmt: off
_KEYWORDS = ("$ref", "type", "enum", "const", "minimum", "maximum", "minLength", "maxLength", "pattern", "required",
             "properties", "additionalProperties", "propertyNames", "minProperties", "maxProperties", "items", "minItems", "maxItems", "uniqueItems",
             "if", "then", "else", "oneOf", "anyOf")
# fmt: on

"""The fast checks of the JSON Schemas (`schemas.check`) against jsonschema, differentially.

`schemas.check(name, definition)` is the hot path's yes/maybe predicate (True: valid; False: "ask
jsonschema"): its yes must never be wrong, and it must say yes to valid documents (or the hot path is
slow and, for a predicate that always says "ask", untested). Here it is compared with jsonschema's Draft 2020-12 validator on every schema
the suite ships (formats/schemas/*.json and vectors/schema.json), on each document and each of its
`$defs`:

- generated documents: hypothesis-jsonschema draws valid ones from the schema itself;
- mutated documents: a valid one (generated, or a real one the package ships: the corpus, the runners'
  known divergences and variants, a run's results made by the Recorder, the published site) with one value changed, one key added
  or one key removed, so that invalid ones, and valid ones that only look broken, are covered too.

Bounded and derandomized (a fixed profile below): the same examples on every run, a few seconds in all.
"""

from __future__ import annotations

import copy
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from appauth_conformance.corpus import authoring, vectors
from appauth_conformance.formats import resources, schemas

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import synthetic_results  # noqa: E402  (a results.json made by the real Recorder, as the report benchmark does)

NAMES = sorted(["vectors", *(p.stem for p in resources.SCHEMAS.glob("*.json"))])
# every schema's document and each of its $defs (None: the document itself)
TARGETS = [(n, d) for n in NAMES for d in [None, *sorted(schemas.load(n).get("$defs", {}))]]
# hypothesis-jsonschema draws these too slowly for the unit tier (about a second or more per example: long
# closed objects of patterned strings, oneOf filtered by validation); their parts are drawn one $def at a time
# where that is quick, and whole ones come from SEEDS, the real documents below, mutated
SLOW = {
    ("vectors", None), ("vectors", "vector"), ("vectors", "inputs"), ("results", None), ("results", "vector"),
    ("results", "outcome"), ("site", None), ("site", "index"), ("site", "implementation"), ("vectors-export", None),
    ("variants", None),
}  # fmt: skip
# drawn, but only a few: a few tenths of a second each
FEW = {("fuzz", None): 3}

PROFILE = settings(
    max_examples=8,
    derandomize=True,  # the same examples on every run: never flaky, and a failure comes back
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def label(target: tuple[str, str | None]) -> str:
    name, definition = target
    return name if definition is None else f"{name}#{definition}"


def valid(name: str, definition: str | None, doc: Any) -> bool:
    return schemas.validator(name, definition).is_valid(doc)


@cache
def strategy(name: str, definition: str | None) -> st.SearchStrategy[Any]:
    s = copy.deepcopy(schemas.load(name))
    s.pop("$id", None)  # a relative $id makes hypothesis-jsonschema look the $defs up remotely
    if definition is not None:
        s = {"$defs": s.get("$defs", {}), "$ref": f"#/$defs/{definition}"}
    return from_schema(s)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def seeds(name: str, definition: str | None) -> list[Any]:
    """Real documents of a schema (or of one of its $defs), as the package ships, writes or publishes them."""
    files = sorted((ROOT / "vectors").glob("*.yaml"))[:3]
    vector_files = [_yaml(p) for p in files]
    results = [synthetic_results.document(vectors=8, runners=3, seed=s) for s in (1, 2)]
    corpus = vectors.load(files[0])
    corpus.vectors[:] = corpus.vectors[:6]
    site = json.loads((ROOT / "reports" / "site" / "index.json").read_text(encoding="utf-8"))
    found: dict[tuple[str, str | None], list[Any]] = {
        ("vectors", None): vector_files,
        ("vectors", "vector"): [v for doc in vector_files for v in doc["vectors"][:4]],
        ("vectors", "inputs"): [v["inputs"] for doc in vector_files for v in doc["vectors"][:4]],
        ("known-divergences", None): [_yaml(p) for p in sorted((ROOT / "runners").glob("*/known-divergences.yaml"))],
        ("variants", None): [_yaml(p) for p in sorted((ROOT / "runners").glob("*/variants.yaml"))],
        ("retired", None): [json.loads((ROOT / "vectors" / "retired.json").read_text(encoding="utf-8"))],
        ("results", None): results,
        ("results", "vector"): [v for doc in results for v in list(doc["vectors"].values())[:4]],
        ("results", "outcome"): [o for doc in results for o in doc["outcomes"][:12]],
        ("site", None): [site],
        ("site", "index"): [site],
        ("site", "implementation"): [
            json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "reports" / "site" / "impl").glob("*.json"))[:2]
        ],
        ("vectors-export", None): [authoring.export_json(corpus)],
    }
    return found.get((name, definition), [])


@pytest.mark.parametrize("target", [t for t in TARGETS if t in SLOW], ids=label)
def test_the_seeds_are_valid_and_the_check_says_so(target):
    name, definition = target
    assert seeds(name, definition), f"{label(target)}: no real document to start from"
    for doc in seeds(name, definition):
        assert valid(name, definition, doc), label(target)
        assert schemas.check(name, definition)(doc), f"{label(target)}: the fast check refuses a valid document"


@pytest.mark.parametrize("target", [t for t in TARGETS if t not in SLOW], ids=label)
def test_generated_documents_are_accepted(target):
    name, definition = target
    ok = schemas.check(name, definition)

    @settings(PROFILE, max_examples=FEW.get(target, PROFILE.max_examples))
    @given(strategy(name, definition))
    def agree(doc: Any) -> None:
        assert valid(name, definition, doc)  # hypothesis-jsonschema's side of the bargain
        assert ok(doc), f"{label(target)}: the fast check refuses a valid document"

    agree()


# values a mutation puts in place of another: each JSON type, the edges the schemas bound (empty,
# negative, integral float, huge), and text that patterns refuse or accept
REPLACEMENTS = [
    None,
    True,
    False,
    0,
    -1,
    1,
    1.0,
    0.5,
    2**64,
    "",
    "x",
    "A",
    "a-b",
    "0" * 64,
    "\n",
    [],
    [1],
    {},
    {"x": 1},
]


def _places(doc: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside doc (the document itself included)."""
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _places(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _places(v, (*at, i))
    return out


def _newline_ended(doc: Any) -> bool:
    return any(isinstance(v, str) and v.endswith("\n") for v in (_get(doc, p) for p in _places(doc)))


def _get(doc: Any, at: tuple[Any, ...]) -> Any:
    for k in at:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw: st.DrawFn, source: st.SearchStrategy[Any]) -> Any:
    """A valid document with one change: a value replaced, a key added to an object (one the schema lists
    elsewhere, or one it lists nowhere), an item added to an array, or a key removed."""
    doc = copy.deepcopy(draw(source))
    places = _places(doc)
    containers = [p for p in places if isinstance(_get(doc, p), (dict, list))]
    keyed = [p for p in places if p and isinstance(p[-1], str)]
    how = draw(st.sampled_from(["replace"] + ["add"] * bool(containers) + ["remove"] * bool(keyed)))
    if how == "replace":
        at = draw(st.sampled_from(places))
        new = draw(st.sampled_from(REPLACEMENTS))
        if not at:
            return new
        _get(doc, at[:-1])[at[-1]] = new
    elif how == "add":
        target = _get(doc, draw(st.sampled_from(containers)))
        if isinstance(target, dict):
            keys = [*sorted({p[-1] for p in keyed} - set(target)), "extra"]
            target[draw(st.sampled_from(keys))] = draw(st.sampled_from(REPLACEMENTS))
        else:
            target.append(copy.deepcopy(draw(st.sampled_from(target))) if target else None)
    else:
        at = draw(st.sampled_from(keyed))
        del _get(doc, at[:-1])[at[-1]]
    return doc


@pytest.mark.parametrize("target", TARGETS, ids=label)
def test_mutated_documents_get_the_same_answer(target):
    name, definition = target
    sources = []
    if target not in SLOW:
        sources.append(strategy(name, definition))
    if seeds(name, definition):
        sources.append(st.sampled_from(seeds(name, definition)))
    assert sources, f"{label(target)}: neither generated nor shipped documents"
    ok = schemas.check(name, definition)

    @settings(PROFILE, max_examples=FEW.get(target, PROFILE.max_examples))
    @given(mutated(st.one_of(sources)))
    def agree(doc: Any) -> None:
        yes, is_valid = ok(doc), valid(name, definition, doc)
        shown = f"{label(target)}: {json.dumps(doc)[:300]}"
        assert is_valid or not yes, f"the fast check accepts an invalid document: {shown}"
        # the one known difference: a pattern's `$` matches before a final newline in Python, not in Rust
        assert yes or not is_valid or _newline_ended(doc), f"the fast check refuses a valid document: {shown}"

    agree()

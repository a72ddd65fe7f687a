"""The typed model of results.json (formats/records.py) and its closed JSON Schema are one: every object,
field, type, required key and enum of one is in the other. Adding a field to one only fails here."""

import copy
import types
import typing
from typing import (
    Any,
    ForwardRef,
    Literal,
    NotRequired,
    Required,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from appauth_conformance.formats import records, schemas

SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _resolve(node: dict, root: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = {**root["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _alternatives(node: dict, root: dict) -> list[dict]:
    node = _resolve(node, root)
    if "anyOf" in node:
        return [a for alt in node["anyOf"] for a in _alternatives(alt, root)]
    return [node]


def _members(tp: Any) -> list[Any]:
    if get_origin(tp) in (Union, types.UnionType):
        return [m for a in get_args(tp) for m in _members(a)]
    return [tp]


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _fields(tp: Any) -> tuple[dict[str, Any], set[str]]:
    """A TypedDict's fields and its required keys, read from the annotations as written (a TypedDict defined
    under `from __future__ import annotations`, as core/text.py's are, has wrong __required_keys__ at run
    time on Python 3.11: its Required/NotRequired are still strings then)."""
    hints = get_type_hints(tp)
    required = set()
    for k, raw in tp.__annotations__.items():
        written = raw.__forward_arg__ if isinstance(raw, ForwardRef) else raw if isinstance(raw, str) else None
        if written is not None:
            marker = (
                Required
                if written.startswith("Required[")
                else NotRequired
                if written.startswith("NotRequired[")
                else None
            )
        else:
            marker = get_origin(raw)
        if marker is Required or (marker is not NotRequired and tp.__total__):
            required.add(k)
    return hints, required


def differences(tp: Any, node: dict, root: dict, where: str = "results.json") -> list[str]:
    """What differs between a type of the model and a node of the schema (empty when they are equal)."""
    alts = _alternatives(node, root)
    members = _members(tp)
    if len(members) > 1 or len(alts) > 1:
        nulls = [a for a in alts if a.get("type") == "null"]
        rest_alts = [a for a in alts if a.get("type") != "null"]
        rest = [m for m in members if m is not type(None)]
        if len(nulls) != len(members) - len(rest):
            return [f"{where}: null allowed in one only"]
        if len(rest) != len(rest_alts):
            return [f"{where}: {len(rest)} forms in the model, {len(rest_alts)} in the schema"]
        return [
            d
            for i, (m, a) in enumerate(zip(rest, rest_alts, strict=True))
            for d in differences(m, a, root, f"{where}|{i}")
        ]
    node = alts[0]
    if tp is Any:
        return [] if node.keys() <= {"description"} else [f"{where}: Any in the model, {node} in the schema"]
    if get_origin(tp) is Literal:
        values = set(get_args(tp))
        theirs = set(node["enum"]) if "enum" in node else {node["const"]} if "const" in node else None
        return [] if values == theirs else [f"{where}: enum {sorted(map(str, values))} vs {theirs}"]
    if tp in SCALARS:
        if node.get("type") == SCALARS[tp]:
            return []
        return [f"{where}: {tp.__name__} in the model, {node.get('type') or node} in the schema"]
    if get_origin(tp) is list:
        if node.get("type") != "array":
            return [f"{where}: list in the model, {node.get('type')} in the schema"]
        return differences(get_args(tp)[0], node["items"], root, f"{where}[]")
    if get_origin(tp) is dict:
        if node.get("type") != "object" or "properties" in node:
            return [f"{where}: a map in the model, not in the schema"]
        value = get_args(tp)[1]
        if "additionalProperties" not in node:
            return [] if value is Any else [f"{where}: values typed in the model only"]
        return differences(value, node["additionalProperties"], root, f"{where}{{}}")
    if _is_typeddict(tp):
        if node.get("type") != "object" or node.get("additionalProperties") is not False:
            return [f"{where}: {tp.__name__} is not a closed object in the schema"]
        hints, required_here = _fields(tp)
        props = node.get("properties", {})
        out = [f"{where}/{k}: in the model only" for k in hints if k not in props]
        out += [f"{where}/{k}: in the schema only" for k in props if k not in hints]
        required = set(node.get("required", ()))
        if required_here != required:
            out.append(f"{where}: required {sorted(required_here)} in the model, {sorted(required)} in the schema")
        for k in hints.keys() & props.keys():
            out += differences(hints[k], props[k], root, f"{where}/{k}")
        return out
    return [f"{where}: cannot compare {tp!r}"]


def _schema() -> dict:
    return copy.deepcopy(schemas.load("results"))


def test_the_model_is_the_schema():
    root = _schema()
    assert differences(records.ResultsDocument, root, root) == []


def test_a_field_in_the_schema_only_is_found():
    root = _schema()
    root["$defs"]["outcome"]["properties"]["elapsed_s"] = {"type": "number"}
    assert differences(records.ResultsDocument, root, root) == ["results.json/outcomes[]/elapsed_s: in the schema only"]


def test_a_field_in_the_model_only_is_found():
    class Outcome(records.OutcomeRecord):
        elapsed_s: NotRequired[float]

    class Document(records.ResultsDocument):  # the same document, with that outcome
        outcomes: list[Outcome]  # type: ignore[misc]

    root = _schema()
    assert differences(Document, root, root) == ["results.json/outcomes[]/elapsed_s: in the model only"]


def test_a_type_an_enum_or_a_required_key_that_differs_is_found():
    root = _schema()
    outcome = root["$defs"]["outcome"]
    outcome["properties"]["verdict"]["enum"].append("flaky")
    outcome["properties"]["fault"] = {"type": "integer"}
    outcome["required"].append("stage")
    found = differences(records.ResultsDocument, root, root)
    assert any(d.startswith("results.json/outcomes[]/verdict: enum") for d in found), found
    assert "results.json/outcomes[]/fault: str in the model, integer in the schema" in found
    assert any(d.startswith("results.json/outcomes[]: required") for d in found), found


def test_a_closed_object_stays_closed():
    class Tool(TypedDict):
        name: str

    root = _schema()
    root["properties"]["tool"].pop("additionalProperties")
    found = differences(records.ResultsDocument, root, root)
    assert found == ["results.json/tool: Tool is not a closed object in the schema"]
    assert differences(Tool, root["properties"]["tool"], root, "tool")  # name: a str, not the const

"""`report merge`: the results.json of the N shards of one run (`--shard K/N`), joined into one.

Shards are joined only when they are parts of the same run: the same corpus (sha256), the same tool
version, the same runners, the same N, each shard at most once, and no (vector, runner) outcome in
two of them. Anything else is refused with the files named (ResultsError, exit 2). A merge that lacks
a shard is written, marked incomplete, with the missing shards named (`shards.missing`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import ResultsError
from ..results import SCHEMA_ID
from . import load, validate


def _refuse(what: str) -> ResultsError:
    return ResultsError(f"cannot merge: {what}")


def merge_files(paths: list[Path]) -> dict[str, Any]:
    """Load, check and join shard results (each validated against the schema first)."""
    return merge([(str(p), load(p)) for p in paths])


def merge(named: list[tuple[str, dict]]) -> dict[str, Any]:
    if not named:
        raise _refuse("no results given")
    for name, doc in named:
        if "shard" not in doc:
            raise _refuse(f"{name} is not one shard of a run (it has no `shard`): merge joins `--shard K/N` results")
    first_name, first = named[0]
    count = first["shard"]["count"]
    by_index: dict[int, str] = {}
    for name, doc in named:
        for what, mine, theirs in (
            ("shard count", doc["shard"]["count"], count),
            ("corpus", doc["corpus"]["sha256"], first["corpus"]["sha256"]),
            ("tool version", doc["tool"]["version"], first["tool"]["version"]),
            ("runners", sorted(r["name"] for r in doc["runners"]), sorted(r["name"] for r in first["runners"])),
        ):
            if mine != theirs:
                raise _refuse(
                    f"{name} and {first_name} differ in {what} ({mine!r} vs {theirs!r}): not shards of one run"
                )
        k = doc["shard"]["index"]
        if k in by_index:
            raise _refuse(f"shard {k}/{count} is given twice: {by_index[k]} and {name}")
        by_index[k] = name
    seen: dict[tuple[str, str], str] = {}
    for name, doc in named:
        for o in doc["outcomes"]:
            pair = (o["vector"], o["runner"])
            if pair in seen:
                raise _refuse(f"{o['runner']} on {o['vector']} is in both {seen[pair]} and {name}: the shards overlap")
            seen[pair] = name
    ordered = [doc for _, doc in sorted(named, key=lambda nd: nd[1]["shard"]["index"])]
    missing = [k for k in range(1, count + 1) if k not in by_index]
    merged = {
        "schema": SCHEMA_ID,
        "tool": first["tool"],
        "complete": not missing and all(d["complete"] for d in ordered),
        "started": min(d["started"] for d in ordered),
        "finished": max(d["finished"] for d in ordered),
        "duration_s": max(d["duration_s"] for d in ordered),  # the shards ran side by side
        "command": ["appauth-conformance", "report", "merge", *(Path(n).name for n, _ in named)],
        "corpus": first["corpus"],
        "runners": _runners(ordered),
        "notes": {k: v for d in ordered for k, v in d["notes"].items()},
        "vectors": {k: v for d in ordered for k, v in d["vectors"].items()},
        "outcomes": [o for d in ordered for o in d["outcomes"]],
        "shards": {"count": count, "merged": sorted(by_index), "missing": missing},
    }
    validate(merged, "the merged results")
    return merged


def _runners(docs: list[dict]) -> list[dict]:
    """Each runner once: its record from the first shard that started it, counts added up, the longest
    timings (shards run side by side), and `unavailable` if any shard could not start it."""
    out: dict[str, dict] = {}
    counts: dict[str, Counter[str]] = {}
    for d in docs:
        for r in d["runners"]:
            rec = out.setdefault(r["name"], {k: v for k, v in r.items() if k not in ("counts", "timings")})
            if "hello" not in rec and "hello" in r:
                rec["hello"] = r["hello"]
            if r.get("unavailable") and not rec.get("unavailable"):
                rec["unavailable"] = r["unavailable"]
            counts.setdefault(r["name"], Counter()).update(r.get("counts", {}))
            for k, sec in r.get("timings", {}).items():
                rec.setdefault("timings", {})[k] = max(sec, rec.get("timings", {}).get(k, 0))
    return [{**rec, "counts": dict(counts[name])} for name, rec in out.items()]

"""`report merge`: the results.json of the N shards of one run (`--shard K/N`), joined into one; `join`
is the one merge of results documents, which pytest-xdist's controller uses for its workers' parts too.

Shards are joined only when they are parts of the same run: the same corpus (sha256), the same tool
version, the same runners, the same N, each shard at most once, and no (vector, runner) outcome in
two of them. Anything else is refused with the files named (ResultsError, exit 2). A merge that lacks
a shard is written, marked incomplete, with the missing shards named (`shards.missing`).

Each shard ran its own runner processes: a token nonce that two shards both hold fails in the later
shard (tokens.across: `nonce-repeats-per-process`), and the runners' counts are those of the merged outcomes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple, cast

from appauth_conformance.core.errors import ResultsError
from appauth_conformance.formats import schemas
from appauth_conformance.formats.records import Counts, OutcomeRecord, ResultsDocument, RunnerRecord, VectorRecord
from appauth_conformance.formats.results import SCHEMA_ID
from appauth_conformance.judging import tokens
from appauth_conformance.report import load, validate


def _refuse(what: str) -> ResultsError:
    return ResultsError(f"cannot merge: {what}")


FUZZ_ID = schemas.load("fuzz")["$id"]


def merge_files(paths: list[Path]) -> tuple[dict[str, Any], list[str]]:
    """Load, check and join shard results (each validated against its schema first): results.json of
    `run --shard`, or fuzz.json of `fuzz --shard` (not both in one merge). With the joined document, the
    outcomes ("RUNNER on KEY") that fail only once joined (a token nonce two shards made)."""
    raw = [(str(p), _read(p)) for p in paths]
    fuzz = [isinstance(d, dict) and d.get("schema") == FUZZ_ID for _, d in raw]
    if all(fuzz):
        for name, doc in raw:
            problems = schemas.errors("fuzz", doc)
            if problems:
                where = "/".join(map(str, problems[0].absolute_path)) or "(top level)"
                raise ResultsError(f"{name}: not a fuzz.json ({FUZZ_ID}): at {where}: {problems[0].message}")
        return merge_fuzz(raw), []
    if any(fuzz):
        raise _refuse("fuzz.json and results.json files are given together: merge the shards of one kind of run")
    merged, failed = merge_checked([(str(p), load(p)) for p in paths])
    return dict(merged), [f"{o['runner']} on {o['vector']}" for o in failed]


def _read(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg}") from None


def _shard_index(named: list[tuple[str, Any]], same: tuple[str, ...]) -> tuple[int, dict[int, str], list[int]]:
    """The shards' common N, index -> file, and the missing indexes; refuses what is not one run's shards."""
    for name, doc in named:
        if "shard" not in doc:
            raise _refuse(f"{name} is not one shard of a run (it has no `shard`): merge joins `--shard K/N` results")
    first_name, first = named[0]
    count = first["shard"]["count"]
    by_index: dict[int, str] = {}
    for name, doc in named:
        for what in ("shard count", *same):
            mine, theirs = _fact(doc, what), _fact(first, what)
            if mine != theirs:
                raise _refuse(
                    f"{name} and {first_name} differ in {what} ({mine!r} vs {theirs!r}): not shards of one run"
                )
        k = doc["shard"]["index"]
        if k in by_index:
            raise _refuse(f"shard {k}/{count} is given twice: {by_index[k]} and {name}")
        by_index[k] = name
    return count, by_index, [k for k in range(1, count + 1) if k not in by_index]


def _fact(doc: dict, what: str) -> Any:
    return {
        "shard count": lambda: doc["shard"]["count"],
        "corpus": lambda: doc["corpus"]["sha256"],
        "tool version": lambda: doc["tool"]["version"],
        "runners": lambda: sorted(r["name"] for r in doc["runners"]),
        "seed": lambda: doc["seed"],
        "count": lambda: doc["count"],
    }[what]()


def merge_fuzz(named: list[tuple[str, dict]]) -> dict[str, Any]:
    """The fuzz.json of a campaign's shards joined: groups of the same runner, stage and cause added up,
    each keeping the smallest input any shard found (its reproducer)."""
    count, by_index, missing = _shard_index(named, ("seed", "count", "tool version", "runners"))
    ordered = [doc for _, doc in sorted(named, key=lambda nd: nd[1]["shard"]["index"])]
    groups: dict[tuple[str, str, str], dict] = {}
    for doc in ordered:
        for g in doc["groups"]:
            key = (g["runner"], g["stage"], g["cause"])
            have = groups.get(key)
            if have is None:
                groups[key] = dict(g)
                continue
            have["count"] += g["count"]
            have["known"] = have["known"] or g["known"]
            if g["size"] is not None and (have["size"] is None or g["size"] < have["size"]):
                have["input"], have["size"] = g["input"], g["size"]
    runners: dict[str, dict] = {}
    for doc in ordered:
        for r in doc["runners"]:
            have = runners.setdefault(r["name"], {"name": r["name"], "outcomes": 0, "disagreements": 0})
            have["outcomes"] += r["outcomes"]
            have["disagreements"] += r["disagreements"]
            if r.get("unavailable"):
                have["unavailable"] = r["unavailable"]
    first = ordered[0]
    merged = {
        "schema": FUZZ_ID,
        "tool": first["tool"],
        "seed": first["seed"],
        "count": first["count"],
        "generated": sum(d["generated"] for d in ordered),
        "wall_s": max(d["wall_s"] for d in ordered),
        "stopped_by": "; ".join(f"{d['shard']['index']}: {d['stopped_by']}" for d in ordered),
        "shards": {"count": count, "merged": sorted(by_index), "missing": missing},
        "runners": list(runners.values()),
        "groups": [groups[k] for k in sorted(groups)],
    }
    problems = schemas.errors("fuzz", merged)
    if problems:  # a bug of the merge, not of its input
        raise AssertionError(f"the merged fuzz.json breaks its schema: {problems[0].message}")
    return merged


def _endpoint(doc: ResultsDocument) -> bool:
    """A results.json of `serve` (every runner an endpoint's): joined beside a run or its shards, not a shard."""
    return "shard" not in doc and bool(doc["runners"]) and all(r.get("backend") == "endpoint" for r in doc["runners"])


class Joined(NamedTuple):
    """The parts of one run joined: what `report merge` and pytest-xdist's controller both write."""

    runners: list[RunnerRecord]  # each once, with the counts of the joined outcomes
    vectors: dict[str, VectorRecord]
    notes: dict[str, str]
    outcomes: list[OutcomeRecord]
    failed: list[OutcomeRecord]  # the outcomes that fail only once joined (each part passed them alone)
    complete: bool  # every part complete


def join(parts: list[tuple[str, ResultsDocument]], made: list[tokens.Made] | None = None) -> Joined:
    """The one merge of results documents that ran side by side, each with its own runner processes: the
    shards of `run --shard` (and `serve` runs beside them) and pytest-xdist's workers' parts, given as
    (label, document) in order. A token nonce two parts both hold fails in the later part (tokens.across;
    `made`: per part, every nonce its processes made, as xdist's workers keep them)."""
    crossed = tokens.across([(label, d["outcomes"]) for label, d in parts], made)
    outcomes: list[OutcomeRecord] = []
    failed: list[OutcomeRecord] = []
    for (_, d), mine in zip(parts, crossed, strict=True):
        for was, o in zip(d["outcomes"], mine, strict=True):
            if o is not was and was["verdict"] != "fail":
                failed.append(o)
        outcomes += mine
    docs = [d for _, d in parts]
    return Joined(
        runners=_runners(docs, outcomes),
        vectors={k: v for d in docs for k, v in d["vectors"].items()},
        notes={k: v for d in docs for k, v in d["notes"].items()},
        outcomes=outcomes,
        failed=failed,
        complete=all(d["complete"] for d in docs),
    )


def merge(named: list[tuple[str, ResultsDocument]]) -> ResultsDocument:
    """results.json of one run's shards joined into one (validated against the schema), with the results of
    `serve` runs beside them (a real client's requests: docs/endpoint.md)."""
    return merge_checked(named).document


class Merged(NamedTuple):
    document: ResultsDocument
    failed: list[OutcomeRecord]


def merge_checked(named: list[tuple[str, ResultsDocument]]) -> Merged:
    """`merge`, with the outcomes that fail only once joined."""
    if not named:
        raise _refuse("no results given")
    served = [(n, d) for n, d in named if _endpoint(d)]
    shards = [(n, d) for n, d in named if not _endpoint(d)]
    missing: list[int] = []
    if served and len(shards) == 1 and "shard" not in shards[0][1]:  # one whole run beside serve results
        count, by_index = 1, {1: shards[0][0]}
    elif shards:
        count, by_index, missing = _shard_index(shards, ("corpus", "tool version", "runners"))
    else:  # serve results alone: one "shard" each, so the merged document says what it joins
        count, by_index = len(served), {i + 1: n for i, (n, _) in enumerate(served)}
    first = (shards or served)[0][1]
    seen: dict[tuple[str, str], str] = {}
    for name, doc in named:
        for o in doc["outcomes"]:
            pair = (o["vector"], o["runner"])
            if pair in seen:
                raise _refuse(f"{o['runner']} on {o['vector']} is in both {seen[pair]} and {name}: the shards overlap")
            seen[pair] = name
    ordered = [doc for _, doc in sorted(shards, key=lambda nd: nd[1]["shard"]["index"] if "shard" in nd[1] else 1)]
    ordered += [doc for _, doc in served]
    labels = [f"shard {d['shard']['index']}/{count}" if "shard" in d else "a serve run" for d in ordered]
    joined = join(list(zip(labels, ordered, strict=True)))
    merged: ResultsDocument = {
        "schema": SCHEMA_ID,
        "tool": first["tool"],
        "complete": not missing and joined.complete,
        "started": min(d["started"] for d in ordered),
        "finished": max(d["finished"] for d in ordered),
        "duration_s": max(d["duration_s"] for d in ordered),  # the shards ran side by side
        "command": ["appauth-conformance", "report", "merge", *(Path(n).name for n, _ in named)],
        "corpus": first["corpus"],
        "runners": joined.runners,
        "notes": joined.notes,
        "vectors": joined.vectors,
        "outcomes": joined.outcomes,
        "shards": {"count": count, "merged": sorted(by_index), "missing": missing},
    }
    validate(merged, "the merged results")
    return Merged(merged, joined.failed)


def _runners(docs: list[ResultsDocument], outcomes: list[OutcomeRecord]) -> list[RunnerRecord]:
    """Each runner once: its record from the first part that started it, the counts of its merged outcomes,
    the longest timings (parts run side by side), and `unavailable` if any part could not start it."""
    out: dict[str, RunnerRecord] = {}
    counts: dict[str, Counter[str]] = {}
    for o in outcomes:
        counts.setdefault(o["runner"], Counter())[o["verdict"]] += 1
    for d in docs:
        for r in d["runners"]:
            rec = out.setdefault(r["name"], _identity(r))
            if "hello" not in rec and "hello" in r:
                rec["hello"] = r["hello"]
            if r.get("unavailable") and not rec.get("unavailable"):
                rec["unavailable"] = r["unavailable"]
            for k, sec in r.get("timings", {}).items():
                timings = rec.setdefault("timings", {})
                timings[k] = max(sec, timings.get(k, 0))
    return [{**rec, "counts": cast(Counts, dict(counts.get(name, {})))} for name, rec in out.items()]


def _identity(r: RunnerRecord) -> RunnerRecord:
    """A runner's record without what a merge computes again (counts, timings)."""
    return cast(RunnerRecord, {k: v for k, v in r.items() if k not in ("counts", "timings")})

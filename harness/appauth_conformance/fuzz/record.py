"""fuzz.json: what a fuzz run (or one shard of a campaign) found, for `report merge` and for people.

One record per run, written atomically next to the reports (`--report-dir`): the seed, the campaign's
count and the shard, the inputs generated, per runner its outcomes and disagreements, and per group of
disagreements its runner, stage, cause, count, whether a known divergence covers it, and its smallest
input (the shrunk reproducer where there is one) in the text notation of the vector files. The layout is
the closed schema `formats/schemas/fuzz.json`; `report merge` joins the shards of one campaign.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appauth_conformance import __version__
from appauth_conformance.core.errors import UsageError
from appauth_conformance.execution.shards import Shard
from appauth_conformance.formats import schemas
from appauth_conformance.formats.files import write_json_atomic
from appauth_conformance.formats.results import value
from appauth_conformance.fuzz.run import FuzzReport

SCHEMA_ID = schemas.load("fuzz")["$id"]
FIELDS = ("app_id", "corp_id", "user_id", "nonce", "app_key")


def document(report: FuzzReport, count: int | None, shard: Shard | None) -> dict[str, Any]:
    groups = []
    for g in sorted(report.groups, key=lambda g: (g.runner, g.stage, g.cause)):
        v = g.smallest
        groups.append(
            {
                "runner": g.runner,
                "stage": g.stage,
                "cause": g.cause,
                "count": g.count,
                "known": g.known,
                "input": None
                if v is None
                else {"mode": v.mode, "expire_time": v.expire_time, **{f: value(getattr(v, f)) for f in FIELDS}},
                "size": None if v is None else sum(len(getattr(v, f)) for f in FIELDS),
            }
        )
    doc: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "appauth-conformance", "version": __version__},
        "seed": report.seed,
        "count": count,
        "generated": report.inputs,
        "wall_s": round(report.wall, 3),
        "stopped_by": report.stopped_by,
        "runners": [
            {
                "name": r.spec.name,
                "outcomes": r.outcomes,
                "disagreements": r.triage.disagreements if r.triage else 0,
                **({"unavailable": r.unavailable} if r.unavailable else {}),
            }
            for r in report.runners
        ],
        "groups": groups,
    }
    if shard is not None:
        doc["shard"] = shard.record()
    return doc


def write(doc: dict[str, Any], folder: Path) -> Path:
    problems = schemas.errors("fuzz", doc)
    if problems:  # a bug of the writer, not of the user's input
        raise AssertionError(f"fuzz.json breaks its schema: {problems[0].message}")
    return write_json_atomic(Path(folder) / "fuzz.json", doc)


def check(doc: Any, name: str) -> None:
    problems = schemas.errors("fuzz", doc)
    if problems:
        where = "/".join(map(str, problems[0].absolute_path)) or "(top level)"
        raise UsageError(f"{name}: not a fuzz.json ({SCHEMA_ID}): at {where}: {problems[0].message}")

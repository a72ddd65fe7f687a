"""pytest-xdist: the controller merges its workers' parts of results.json into one, at the end."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from appauth_conformance.formats.results import Recorder
from appauth_conformance.judging import tokens

if TYPE_CHECKING:
    from appauth_conformance.frontends.pytest_suite import Suite


def merge_parts(suite: Suite, interrupted: bool) -> None:
    parts_dir = suite.parts
    rec = Recorder(
        suite.report_dir / "results.json",
        suite.corpus,
        backend=suite.opts.backend,
        shard=suite.shard_record,
        since=suite.began,  # the run's start and duration, not the merge's
    )
    docs, made = [], []
    for part in sorted(parts_dir.glob("*.json")) if parts_dir.exists() else []:
        doc = json.loads(part.read_text())
        docs.append((f"worker {part.stem}", doc))
        nonces = part.with_suffix(".nonces")
        made.append(json.loads(nonces.read_text()) if nonces.exists() else {})
        for r in doc["runners"]:
            known = rec.runners.setdefault(r["name"], {k: v for k, v in r.items() if k not in ("counts", "timings")})
            for k, sec in r.get("timings", {}).items():
                known.setdefault("timings", {})[k] = max(sec, known.get("timings", {}).get(k, 0))
        if not doc["complete"]:
            interrupted = True
    # each worker ran its own runner processes: a token nonce two workers both hold fails (tokens.across)
    crossed = tokens.across([(name, doc["outcomes"]) for name, doc in docs], made)
    for (_, doc), outcomes in zip(docs, crossed, strict=True):
        for was, o in zip(doc["outcomes"], outcomes, strict=True):
            if o is not was:  # failed only once merged: the workers' items passed, the run must not
                suite.failed_across += 1
            rec.add_record(o, doc["vectors"].get(o["vector"]))
    rec.write(complete=not interrupted)
    shutil.rmtree(parts_dir, ignore_errors=True)  # this run's parts only, once merged
    try:
        parts_dir.parent.rmdir()  # .parts/ itself, unless another run sharing the folder still has parts there
    except OSError:
        pass

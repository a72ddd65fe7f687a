"""pytest-xdist: the controller merges its workers' parts of results.json into one, at the end."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from appauth_conformance.formats.results import Recorder

if TYPE_CHECKING:
    from appauth_conformance.frontends.pytest_suite import Suite


def merge_parts(suite: Suite, interrupted: bool) -> None:
    from appauth_conformance.report import merge  # the report stack only for a controller that merges

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
        docs.append((f"worker {part.stem}", json.loads(part.read_text())))
        nonces = part.with_suffix(".nonces")
        made.append(json.loads(nonces.read_text()) if nonces.exists() else {})
    # each worker ran its own runner processes: the one merge of results (report/merge.py, as for shards)
    joined = merge.join(docs, made)
    if joined.failed:  # the workers' items passed, the run must not
        suite.failed_across += len(joined.failed)
    for r in joined.runners:
        rec.runners[r["name"]] = {k: v for k, v in r.items() if k != "counts"}  # the Recorder counts again
    for o in joined.outcomes:
        rec.add_record(o, joined.vectors.get(o["vector"]))
    interrupted = interrupted or not joined.complete
    rec.write(complete=not interrupted)
    shutil.rmtree(parts_dir, ignore_errors=True)  # this run's parts only, once merged
    try:
        parts_dir.parent.rmdir()  # .parts/ itself, unless another run sharing the folder still has parts there
    except OSError:
        pass

"""pytest-xdist's controller (frontends/xdist_parts.py) and `report merge` join results with one merge (report/merge.py `join`)."""

import json
import types
from pathlib import Path

from appauth_conformance import report
from appauth_conformance.corpus import vectors
from appauth_conformance.formats.results import Recorder, clock
from appauth_conformance.frontends import xdist_parts
from appauth_conformance.report import merge

SMALL = Path(__file__).parent / "fixtures" / "vectors" / "small.yaml"
HELLO = {
    "op": "hello",
    "protocol": 1,
    "name": "python-reference",
    "language": "python",
    "runtime": "3",
    "library": "hmac",
    "library_version": "3",
}


def _parts(folder: Path, corpus) -> None:
    """Two workers' parts: the first could not start the runner, the second started it (its hello)."""
    first = Recorder(folder / "gw0.json", corpus, backend="local")
    first.runner("python-reference", "python", unavailable="build failed")
    first.timing("python-reference", "start_s", 2.0)
    first.write(complete=True)
    second = Recorder(folder / "gw1.json", corpus, backend="local")
    second.runner("python-reference", "python", hello=HELLO)
    second.timing("python-reference", "start_s", 3.0)
    second.write(complete=False)


def test_the_controller_joins_its_workers_parts_as_report_merge_joins_shards(tmp_path):
    corpus = vectors.load(SMALL)
    suite = types.SimpleNamespace(
        report_dir=tmp_path / "out",
        parts=tmp_path / "out" / ".parts" / "run-1",
        corpus=corpus,
        opts=types.SimpleNamespace(backend="local"),
        shard_record=None,
        began=clock(),
    )
    _parts(suite.parts, corpus)
    parts = [(f"worker {p.stem}", report.load(p)) for p in sorted(suite.parts.glob("*.json"))]
    joined = merge.join(parts)
    xdist_parts.merge_parts(suite, interrupted=False)
    doc = report.load(tmp_path / "out" / "results.json")
    (runner,) = doc["runners"]
    (expected,) = joined.runners
    # the runner's record as the one merge makes it: the later part's hello, the longest start, unavailable kept
    assert runner["hello"] == expected["hello"] == HELLO
    assert runner["timings"] == expected["timings"] == {"start_s": 3.0}
    assert runner["unavailable"] == expected["unavailable"] == "build failed"
    assert doc["complete"] is False and joined.complete is False  # a part was interrupted
    assert json.loads((tmp_path / "out" / "results.json").read_text())["runners"] == doc["runners"]

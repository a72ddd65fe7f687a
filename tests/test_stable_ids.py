"""Stable vector ids: a published id is never reused, and a removed vector leaves a tombstone.

vectors/published-ids.txt is the ledger of every id ever published (append-only); vectors/retired.json
holds the tombstones (formats/schemas/retired.json). The corpus loader refuses a live vector with a retired
id; `report compare`, the site's history and the known-divergence checks call such a vector retired.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from appauth_conformance.core.errors import CorpusError
from appauth_conformance.core.model import Tombstone
from appauth_conformance.corpus import vectors
from appauth_conformance.formats import schemas
from appauth_conformance.report.compare import compare
from appauth_conformance.report.site import Site
from appauth_conformance.report.site.data import changes
from test_report import crafted_run  # the crafted run of the report tests

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
LEDGER = VECTORS / "published-ids.txt"


def ledger(path: Path = LEDGER) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x and not x.startswith("#")]


def unaccounted(corpus, published: list[str]) -> list[str]:
    """Published ids that are neither in the corpus nor retired: ids that disappeared without a tombstone."""
    live = {v.id for v in corpus.vectors}
    return [i for i in published if i not in live and i not in corpus.retired]


def test_no_published_id_disappears_without_a_tombstone():
    corpus = vectors.load(VECTORS)
    missing = unaccounted(corpus, ledger())
    assert missing == [], (
        f"vector ids published before are gone without a tombstone: {missing[:10]}; keep the vector, or add "
        "{id, reason, retired_in} to vectors/retired.json"
    )


def test_every_id_is_in_the_ledger_and_the_ledger_is_sorted_and_unique():
    corpus = vectors.load(VECTORS)
    ids = ledger()
    assert ids == sorted(set(ids)), "vectors/published-ids.txt: keep it sorted, one id a line, each once"
    new = sorted({v.id for v in corpus.vectors} - set(ids))
    assert new == [], f"append these ids to vectors/published-ids.txt (then never remove them): {new[:10]}"
    assert not set(corpus.retired) - set(ids), "a tombstone names an id that was never published"
    published = json.loads((ROOT / "reports" / "results.json").read_text())
    seen = {k.rsplit("/", 1)[-1] for k in published["vectors"]}
    assert not seen - set(ids), "the published report holds ids missing from the ledger"


def _corpus_without(tmp_path: Path, file: str, vid: str) -> Path:
    folder = tmp_path / "vectors"
    shutil.copytree(VECTORS, folder)
    doc = yaml.safe_load((folder / file).read_text())
    doc["vectors"] = [v for v in doc["vectors"] if v["id"] != vid]
    (folder / file).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    return folder


def test_removing_a_vector_without_a_tombstone_is_caught_and_with_one_is_not(tmp_path):
    first = vectors.load(VECTORS).vectors[0]
    folder = _corpus_without(tmp_path, Path(first.file).name, first.id)
    assert unaccounted(vectors.load(folder), ledger()) == [first.id]
    retired = json.loads((folder / "retired.json").read_text())
    retired["retired"].append({"id": first.id, "reason": "replaced by a clearer vector", "retired_in": "0.2.0"})
    (folder / "retired.json").write_text(json.dumps(retired))
    corpus = vectors.load(folder)
    assert unaccounted(corpus, ledger()) == []
    assert corpus.retired[first.id] == Tombstone(first.id, "replaced by a clearer vector", "0.2.0")


def test_a_retired_id_is_never_reused(tmp_path):
    folder = tmp_path / "vectors"
    shutil.copytree(VECTORS, folder)
    live = vectors.load(folder).vectors[0]
    doc = {
        "schema": "appauth-conformance/retired/1",
        "retired": [{"id": live.id, "reason": "old", "retired_in": "0.1.0"}],
    }
    (folder / "retired.json").write_text(json.dumps(doc))
    with pytest.raises(CorpusError, match=f"id {live.id} was retired in 0.1.0 .*never reused"):
        vectors.load(folder)
    (folder / "retired.json").write_text(
        json.dumps({"schema": "appauth-conformance/retired/1", "retired": [{"id": "x"}]})
    )
    with pytest.raises(CorpusError, match=r"retired\.json.*'reason' is a required property"):
        vectors.load(folder)


def test_tombstone_file_matches_its_closed_schema():
    schema = schemas.load("retired")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schemas.errors("retired", json.loads((VECTORS / "retired.json").read_text())) == []
    assert schemas.errors("retired", {"schema": "appauth-conformance/retired/1", "retired": [], "extra": 1})


def _doc_without(doc: dict, key: str) -> dict:
    d = copy.deepcopy(doc)
    del d["vectors"][key]
    d["outcomes"] = [o for o in d["outcomes"] if o["vector"] != key]
    return d


def test_compare_and_history_call_a_tombstoned_vector_retired():
    with tempfile.TemporaryDirectory() as tmp:
        _, old = crafted_run(Path(tmp))
    key = next(k for k in old["vectors"] if k.endswith("/a-ok"))
    new = _doc_without(old, key)
    plain = compare(old, new)
    assert plain.vectors_removed == [key] and "no tombstone" in plain.format()
    stones = {"a-ok": Tombstone("a-ok", "duplicate of b", "0.2.0")}
    c = compare(old, new, stones)
    assert c.vectors_removed == [] and c.vectors_retired == {key: "retired in 0.2.0: duplicate of b"}
    assert f"RETIRED      {key}: retired in 0.2.0: duplicate of b" in c.format()
    for r in new["runners"]:
        r["hello"]["library_version"] = "3.0"  # a later version of each runner: a history
    site = Site([("old.json", old), ("new.json", new)], stones)
    py_old, py_new = (r for r in site.runs if r.name == "py")
    assert changes(py_old, py_new, stones) == [(key, "pass", "retired")]
    assert changes(py_old, py_new) == [(key, "pass", "not run")]


def test_a_divergence_entry_naming_a_retired_vector_says_so(monkeypatch):
    from types import SimpleNamespace

    from appauth_conformance.corpus import expectations
    from appauth_conformance.corpus.expectations import Divergence, stale_message

    monkeypatch.setattr(expectations.vectors, "retired", lambda: {"a-ok": Tombstone("a-ok", "dup", "0.2.0")})
    spec = SimpleNamespace(name="java-reference", divergences=Path("runners/java/known-divergences.yaml"))
    msg = stale_message(spec, [Divergence("listed", match="a-ok", line=3), Divergence("other", match="b-x", line=5)])
    assert ":3: match: a-ok (listed) [vector retired in 0.2.0: remove the entry]" in msg
    assert ":5: match: b-x (other)\n" in msg + "\n" and "b-x (other) [" not in msg

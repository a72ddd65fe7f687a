"""Shards: `--shard K/N` runs a stable, balanced part of the corpus; `report merge` joins the N parts into
exactly what one unsharded run gives, and refuses anything that is not the shards of one run."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from appauth_conformance import report
from appauth_conformance.core.errors import UsageError
from appauth_conformance.corpus import vectors
from appauth_conformance.execution import shards
from appauth_conformance.judging import tokens

HERE = Path(__file__).resolve().parent
TOKEN_RUNNER = HERE / "fixtures" / "runners" / "token_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"
PUBLISHED_JSON = HERE.parent / "reports" / "results.json"
CORPUS = vectors.load()
# a reference runner, and a declared one that answers tokens and writes upper-case hex (it fails: verdicts
# other than pass must survive the merge too)
RUNNERS = ["--lang=python,tok", f"--runner=tok={sys.executable} {TOKEN_RUNNER} upper"]


def verdicts(doc: dict) -> Counter:
    return Counter((o["vector"], o["runner"], o["verdict"], o.get("stage")) for o in doc["outcomes"])


def test_the_partition_is_stable_balanced_and_covers_every_vector_once():
    keys = [v.key for v in CORPUS.vectors]
    for n in (1, 2, 3, 7):
        parts = [shards.members(keys, shards.Shard(k, n)) for k in range(1, n + 1)]
        assert sorted(k for p in parts for k in p) == sorted(keys)  # every vector in exactly one shard
        sizes = [len(p) for p in parts]
        assert max(sizes) - min(sizes) <= 1, sizes
        assert parts == [shards.members(list(reversed(keys)), shards.Shard(k, n)) for k in range(1, n + 1)]
    vs, rs = shards.part(CORPUS.vectors, tokens.suite(CORPUS.vectors), shards.Shard(2, 3))
    mine = {v.key for v in vs}
    assert rs and all(r.key.removeprefix("token/") in mine for r in rs)  # a request follows its vector


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "1/0", "a/b", "1/3/2", " ", "1/10001"])
def test_a_bad_shard_is_one_message(text):
    with pytest.raises(UsageError, match=r"--shard: .* is not K/N"):
        shards.parse(text)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, run_cli, load_results):
    """One unsharded run and its three shards (run one after another: the same runners, the same corpus)."""
    tmp = tmp_path_factory.mktemp("shards")
    whole = run_cli("run", *RUNNERS, "--report-dir", str(tmp / "whole"), cwd=tmp)
    assert whole.returncode == 1, whole.stderr  # the upper-case runner fails
    parts = []
    for k in (1, 2, 3):
        r = run_cli("run", *RUNNERS, f"--shard={k}/3", "--report-dir", str(tmp / f"shard{k}"), cwd=tmp)
        assert r.returncode == 1, r.stderr
        parts.append(tmp / f"shard{k}" / "results.json")
    return tmp, load_results(tmp / "whole"), parts


def test_three_shards_merged_are_exactly_one_unsharded_run(sharded, run_cli, load_results):
    tmp, whole, parts = sharded
    docs = [load_results(p) for p in parts]
    assert [d["shard"] for d in docs] == [{"index": k, "count": 3} for k in (1, 2, 3)]
    sizes = [sum(1 for k in d["vectors"] if not k.startswith("token/")) for d in docs]
    assert sum(sizes) == len(CORPUS.vectors) and max(sizes) - min(sizes) <= 1
    r = run_cli("report", "merge", *map(str, parts), "--out", str(tmp / "merged"), cwd=tmp)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "merged 3 of 3 shards (all shards)" in r.stdout
    merged = report.load(tmp / "merged" / "results.json")
    assert merged["complete"] is True and merged["shards"] == {"count": 3, "merged": [1, 2, 3], "missing": []}
    # every (vector, runner) once, with the same verdict and stage as the unsharded run; tokens included
    assert verdicts(merged) == verdicts(whole)
    assert max(verdicts(merged).values()) == 1
    assert (
        any(k.startswith("token/") for k in merged["vectors"]) and merged["vectors"].keys() == whole["vectors"].keys()
    )
    assert (tmp / "merged" / "report.md").read_text().count("3 of 3 shards merged") == 1


def test_a_missing_shard_makes_the_merge_incomplete_and_says_which(sharded, run_cli):
    tmp, _, parts = sharded
    r = run_cli("report", "merge", str(parts[0]), str(parts[2]), "--out", str(tmp / "partial"), cwd=tmp)
    assert r.returncode == 1 and "INCOMPLETE: shard(s) 2 missing" in r.stdout, r.stdout + r.stderr
    merged = report.load(tmp / "partial" / "results.json")
    assert merged["complete"] is False and merged["shards"]["missing"] == [2]
    assert "shard 2 of 3 was not merged" in (tmp / "partial" / "report.md").read_text()


def test_merge_refuses_what_is_not_the_shards_of_one_run(sharded, tmp_path, run_cli, load_results):
    tmp, _, parts = sharded
    other = run_cli(
        "run",
        "--lang=python",
        "--vectors",
        str(SMALL),
        "--shard=2/3",
        "--report-dir",
        str(tmp_path / "o"),
        cwd=tmp_path,
    )
    assert other.returncode == 0, other.stderr
    cases = [
        ([parts[0], parts[0]], "shard 1/3 is given twice"),
        ([parts[0], tmp / "whole" / "results.json"], "is not one shard of a run"),
        ([parts[0], tmp_path / "o" / "results.json"], "differ in corpus"),
    ]
    for files, said in cases:
        r = run_cli("report", "merge", *map(str, files), "--out", str(tmp_path / "m"), cwd=tmp_path)
        assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
    # two shards that overlap: the same outcomes in both
    doc = load_results(parts[1])
    doc["shard"] = {"index": 3, "count": 3}
    (tmp_path / "overlap.json").write_text(json.dumps(doc))
    r = run_cli(
        "report", "merge", str(parts[1]), str(tmp_path / "overlap.json"), "--out", str(tmp_path / "m"), cwd=tmp_path
    )
    assert r.returncode == 2 and "the shards overlap" in r.stderr, r.stderr


def test_pytest_runs_one_shard(pytester, tmp_path, load_results):
    out = tmp_path / "out"
    r = pytester.runpytest_subprocess("--lang=python", "--shard=2/3", f"--report-dir={out}", "-p", "no:randomly")
    mine = shards.members([v.key for v in CORPUS.vectors], shards.Shard(2, 3))
    r.assert_outcomes(passed=len(mine))  # no known-divergence list item: a shard cannot judge it
    doc = load_results(out)
    assert doc["shard"] == {"index": 2, "count": 3} and {o["vector"] for o in doc["outcomes"]} == mine


# -- fuzz campaigns: shards of one seed's stream ----------------------------------------------------------


def test_fuzz_shards_partition_the_stream_of_one_seed():
    """The exact relation: the stream is made of blocks of BLOCK positions; shard K/N generates the blocks
    K-1, K-1+N, ... below the campaign's count. So the shards never share a position, and between them
    generate exactly the inputs (position by position) one unsharded process generates."""
    from appauth_conformance.fuzz.generate import BLOCK, Inputs

    count = 7 * BLOCK + 123
    whole = [x.parts for chunk in Inputs(9).chunks(1000, count) for x in chunk]
    parts = [
        [x.parts for chunk in Inputs(9, shard=shards.Shard(k, 3)).chunks(777, count) for x in chunk] for k in (1, 2, 3)
    ]
    positions = [{p[0] for p in part} for part in parts]
    assert not positions[0] & positions[1] and not positions[0] & positions[2] and not positions[1] & positions[2]
    assert sorted(p for part in parts for p in part) == sorted(whole) and len(whole) == count
    # reproducible: the same seed and shard give the same inputs, whatever the chunk size
    again = [x.parts for chunk in Inputs(9, shard=shards.Shard(2, 3)).chunks(4096, count) for x in chunk]
    assert again == parts[1]
    assert max(map(len, parts)) - min(map(len, parts)) <= BLOCK  # even to within one block


MUTANT = HERE / "fixtures" / "mutants" / "mutant_signer.py"


def test_fuzz_shards_merged_find_what_one_process_finds(tmp_path, run_cli):
    runner = f"--runner=m={sys.executable} {MUTANT} hex-uppercase"
    common = ["fuzz", "--lang=python,m", runner, "--seed=3", "--count=9000", "--no-shrink"]
    whole = run_cli(*common, "--report-dir", str(tmp_path / "whole"), cwd=tmp_path)
    assert whole.returncode == 1, whole.stdout + whole.stderr  # the mutant's groups are NEW
    files = []
    for k in (1, 2, 3):
        r = run_cli(*common, f"--shard={k}/3", "--report-dir", str(tmp_path / f"s{k}"), cwd=tmp_path)
        assert r.returncode == 1 and f"shard {k}/3" in r.stdout, r.stdout + r.stderr
        files.append(tmp_path / f"s{k}" / "fuzz.json")
    r = run_cli("report", "merge", *map(str, files), "--out", str(tmp_path / "merged"), cwd=tmp_path)
    assert r.returncode == 1 and "merged 3 of 3 fuzz shards (all shards): 9,000 inputs" in r.stdout, r.stdout + r.stderr
    merged = json.loads((tmp_path / "merged" / "fuzz.json").read_text())
    one = json.loads((tmp_path / "whole" / "fuzz.json").read_text())
    summary = lambda d: sorted((g["runner"], g["stage"], g["cause"], g["count"]) for g in d["groups"])  # noqa: E731
    assert summary(merged) == summary(one) and merged["generated"] == one["generated"] == 9000
    assert merged["shards"] == {"count": 3, "merged": [1, 2, 3], "missing": []}
    # each group keeps the smallest input any shard found: no larger than the unsharded run's
    sizes = {(g["runner"], g["cause"]): g["size"] for g in one["groups"]}
    assert all(g["size"] <= sizes[(g["runner"], g["cause"])] for g in merged["groups"])
    # a results.json cannot be merged with a fuzz.json
    r = run_cli("report", "merge", str(files[0]), str(PUBLISHED_JSON), "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert r.returncode == 2 and "given together" in r.stderr

"""The suite's own image (examples/kubernetes/Dockerfile), built from a wheel of this checkout, run as
the pods of docs/kubernetes.md run it: two shards of one fuzz campaign in two containers without any
network (nothing is downloaded or built at run time), writing to one shared folder, then the merge."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appauth_conformance.execution.backends.docker import LABEL, client

pytestmark = pytest.mark.docker


@pytest.fixture
def image(suite_image):
    return suite_image  # built once per session by conftest.py (also run as a service by test_suite_image_serve.py)


def in_container(image, args: list[str], results: Path) -> tuple[int, str]:
    c = client().containers.run(
        image.id,
        command=args,
        volumes={str(results): {"bind": "/results", "mode": "rw"}},
        network_mode="none",  # a pod needs nothing from outside
        labels={LABEL: "1"},
        detach=True,
    )
    try:
        code = c.wait(timeout=600)["StatusCode"]
        return code, c.logs().decode("utf-8", "replace")
    finally:
        c.remove(force=True)


def test_two_shards_in_containers_and_their_merge(image, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    os.chmod(results, 0o777)  # the image runs as uid 1000, as the pods do
    campaign = ["fuzz", "--lang=all", "--seed=11", "--count=12000", "--no-shrink"]
    for k in (1, 2):
        code, logs = in_container(image, [*campaign, f"--shard={k}/2", f"--report-dir=/results/shard-{k}"], results)
        assert code in (0, 1), logs  # 1: findings, not a failure (the Job's command turns it into 0)
        assert f"shard {k}/2" in logs and "skipped" not in logs, logs  # all four runners ran, offline
    code, logs = in_container(
        image,
        ["report", "merge", "/results/shard-1/fuzz.json", "/results/shard-2/fuzz.json", "--out", "/results/merged"],
        results,
    )
    assert code in (0, 1) and "merged 2 of 2 fuzz shards (all shards): 12,000 inputs" in logs, logs
    merged = json.loads((results / "merged" / "fuzz.json").read_text())
    assert merged["generated"] == 12000 and {r["name"] for r in merged["runners"]} == {
        "python-reference",
        "java-reference",
        "cpp-reference",
        "js-reference",
    }
    assert all(r["outcomes"] == 12000 for r in merged["runners"])

"""examples/kubernetes/: the manifests of a fuzzing campaign as an Indexed Job. Kubernetes cannot run
here; the manifests are validated against the Kubernetes API schemas (kubernetes-validate, from PyPI,
strict: an unknown field is an error) and their shard arithmetic is checked. The suite's image is
built and run as the pods would run it in tests/docker/test_suite_image.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

HERE = Path(__file__).resolve().parents[1] / "examples" / "kubernetes"
MANIFESTS = sorted(HERE.glob("*.yaml"))
VERSION = "1.30.0"  # backoffLimitPerIndex is beta from 1.29 and on by default


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_the_manifest_is_valid_kubernetes(path):
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_refuses_a_broken_manifest():
    """The check can fail: a misspelt field is caught."""
    doc = yaml.safe_load((HERE / "fuzz-job.yaml").read_text())
    doc["spec"]["completionz"] = doc["spec"].pop("completions")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_every_pod_runs_its_own_shard_and_the_merge_reads_them_all():
    job = yaml.safe_load((HERE / "fuzz-job.yaml").read_text())
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    args = " ".join(spec["template"]["spec"]["containers"][0]["args"])
    assert f"--shard=$((JOB_COMPLETION_INDEX + 1))/{n}" in args  # indexes 0..n-1 -> shards 1..n
    assert re.search(r"--report-dir=/results/shard-\$JOB_COMPLETION_INDEX\b", args)
    assert '[ "$code" -le 1 ]' in args  # findings (exit 1) are a result; a usage error (2) fails the pod
    merge = yaml.safe_load((HERE / "merge-job.yaml").read_text())
    margs = " ".join(merge["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "report merge /results/shard-*/fuzz.json" in margs
    claims = {
        v["persistentVolumeClaim"]["claimName"] for m in (job, merge) for v in m["spec"]["template"]["spec"]["volumes"]
    }
    assert claims == {yaml.safe_load((HERE / "pvc.yaml").read_text())["metadata"]["name"]}

"""The published report in reports/ covers the current corpus, so it never goes stale silently."""

import json
from pathlib import Path

from appauth_conformance import report
from appauth_conformance.corpus import vectors
from appauth_conformance.judging import tokens

REPORTS = Path(__file__).resolve().parent.parent / "reports"
REGENERATE = "bash scripts/publish-report.sh"


def test_published_report_covers_the_current_corpus():
    doc = report.load(REPORTS / "results.json")
    corpus = vectors.load()
    assert doc["corpus"]["sha256"] == corpus.digest, f"reports/ is stale: regenerate it with `{REGENERATE}`"
    assert doc["complete"] is True
    names = {r["name"] for r in doc["runners"]}
    assert len(names) >= 12 and all(r["backend"] == "docker" for r in doc["runners"]), "publish from the Docker matrix"
    assert all("hello" in r for r in doc["runners"]), "every variant reports its versions"
    groups = {r["name"]: r["group"] for r in doc["runners"]}
    sdks = {n for n, g in groups.items() if g == "vendor-sdk"}
    assert sdks == {"huawei-python-sdk", "huawei-python-sdk-3.1.167"}, "both SDK versions, as their own group"
    assert {g for n, g in groups.items() if n not in sdks} == {"reference"}
    requests = tokens.suite(corpus.vectors)
    signed = [o for o in doc["outcomes"] if not o["vector"].startswith("token/")]
    tokened = [o for o in doc["outcomes"] if o["vector"].startswith("token/")]
    assert len(signed) == len(corpus.vectors) * len(names)
    assert len(tokened) == len(requests) * len(sdks), "the SDKs' token checks are in the report"
    assert all(len(o["checks"]) == 6 for o in tokened), "every token check, header and body included"
    assert not [o for o in doc["outcomes"] if o["verdict"] in ("fail", "unexpected-pass", "runner-fault")]
    # the SDKs' one accepted divergence is upper-case hex, and nothing else
    excused = [o for o in doc["outcomes"] if o["runner"] in sdks and o["verdict"] == "known-divergence"]
    assert excused and all("hex-uppercase" in (o.get("diagnosis") or o["checks"][0]["diagnosis"]) for o in excused)


def test_published_renderings_are_current():
    doc = json.loads((REPORTS / "results.json").read_text())
    assert (REPORTS / "report.md").read_text() == report.render_markdown(doc)
    assert (REPORTS / "report.html").exists()

"""The published report in reports/ covers the current corpus, so it never goes stale silently."""

import json
from pathlib import Path

from appauth_conformance import report, vectors

REPORTS = Path(__file__).resolve().parent.parent / "reports"
REGENERATE = "bash scripts/publish-report.sh"


def test_published_report_covers_the_current_corpus():
    doc = report.load(REPORTS / "results.json")
    corpus = vectors.load()
    assert doc["corpus"]["sha256"] == corpus.digest, f"reports/ is stale: regenerate it with `{REGENERATE}`"
    assert doc["complete"] is True
    names = {r["name"] for r in doc["runners"]}
    assert len(names) >= 10 and all(r["backend"] == "docker" for r in doc["runners"]), "publish from the Docker matrix"
    assert all("hello" in r for r in doc["runners"]), "every variant reports its versions"
    assert len(doc["outcomes"]) == len(corpus.vectors) * len(names)
    assert not [o for o in doc["outcomes"] if o["verdict"] in ("fail", "unexpected-pass", "runner-fault")]


def test_published_renderings_are_current():
    doc = json.loads((REPORTS / "results.json").read_text())
    assert (REPORTS / "report.md").read_text() == report.render_markdown(doc)
    assert (REPORTS / "report.html").exists()

"""The published site in reports/site/ is the one `site build` makes from reports/, and stays within its budget."""

from __future__ import annotations

from pathlib import Path

from appauth_conformance.report import site

REPORTS = Path(__file__).resolve().parent.parent / "reports"
REGENERATE = "bash scripts/publish-report.sh (or, without Docker: appauth-conformance site build reports/results.json reports/series/*/*.json --out reports/site)"
BUDGET_BYTES = 10_000_000  # the published site: 6.7 MB when the matrix alone is published (README)
BUDGET_FILES = 2_500


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_published_site_is_built_from_the_published_results(tmp_path):
    sources = [REPORTS / "results.json", *sorted(REPORTS.glob("series/*/*.json"))]
    site.build(sources, tmp_path / "site")
    fresh, published = _files(tmp_path / "site"), _files(REPORTS / "site")
    assert sorted(fresh) == sorted(published), f"reports/site/ is stale: regenerate it with `{REGENERATE}`"
    stale = [name for name in fresh if fresh[name] != published[name]]
    assert stale == [], f"{len(stale)} page(s) of reports/site/ are stale ({stale[:3]}): regenerate with `{REGENERATE}`"


def test_published_site_stays_within_its_budget():
    files = [p for p in (REPORTS / "site").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size <= BUDGET_BYTES, f"reports/site/ is {size:,} bytes, over its budget of {BUDGET_BYTES:,}"
    assert len(files) <= BUDGET_FILES

"""The published site in reports/site/ is the one `site build` makes from reports/, and stays within its budget."""

from __future__ import annotations

from pathlib import Path

from appauth_conformance.report import site

REPORTS = Path(__file__).resolve().parent.parent / "reports"
REGENERATE = "bash scripts/publish-report.sh (or, without Docker: appauth-conformance site build reports/results.json reports/series/*/*.json.gz --out reports/site)"
BUDGET_BYTES = 36_000_000  # the matrix and every release of both series: 30.7 MB (reports/README.md states it)
BUDGET_FILES = 2_500


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_published_site_is_built_from_the_published_results(tmp_path):
    sources = [REPORTS / "results.json", *sorted(REPORTS.glob("series/*/*.json.gz"))]
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


def test_the_sdk_history_shows_where_the_header_gained_access():
    """Measured, not said: the series has 3.1.166 (no access= in the header) and the matrix 3.1.167."""
    series = REPORTS / "series" / "huawei-python-sdk"
    assert (series / "3.1.166.json.gz").is_file() and (series / "3.0.94.json.gz").is_file()
    page = (REPORTS / "site" / "impl" / "huawei-python-sdk-3.1.167.html").read_text(encoding="utf-8")
    since = page.split('id="history"')[1]
    assert 'href="huawei-python-sdk-pypi--3.1.166.html"' in since.split("</p>")[0]
    gone = since.split("Mistakes that disappear:")[1].split("</p>")[0]
    assert "(<code>header-access-missing</code>)" in gone
    assert "<code>token-header</code>: failing 323 → 0" in since
    old = (REPORTS / "site" / "impl" / "huawei-python-sdk-pypi--3.1.166.html").read_text(encoding="utf-8")
    assert "header-access-missing" in old.split('id="failing"')[1].split('id="known"')[0]

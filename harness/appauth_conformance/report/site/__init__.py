"""`appauth-conformance site build RESULTS... --out DIR`: a static site from any number of results.json files.

    stats = build(["reports/results.json", "series/sdk-3.1.167.json"], Path("site"))

The results are read by report.load (validated against formats/schemas/results.json) and only counted and
grouped (data.py, through report/views.py's Summary): nothing is judged again. The site:

    index.html            the support matrix (rows: implementations; columns: modes and token checks)
    index.json            the same for tooling (formats/schemas/site.json, docs/site.md)
    impl/<id>.html|json   a page and a JSON per implementation version (id: runner name; older
                          versions name--version)
    badges/<id>.svg       a badge per implementation version (and name--version.svg for the newest)
    vector/<id>.html      every implementation's answer to one vector
    mistake/<id>.html     a diagnosis catalogue entry: who makes it
    history/<id>.html     an implementation over its versions, with a two-version comparison
    vectors.html, mistakes.html, history.html   the lists

Modules: data.py (the model), pages.py (HTML through templates/), badges.py (SVG), jsondocs.py (JSON).
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from appauth_conformance.core.errors import UsageError
from appauth_conformance.formats.records import ResultsDocument
from appauth_conformance.report import ResultsError, html, load, validate
from appauth_conformance.report.site import jsondocs, pages
from appauth_conformance.report.site.data import Site

__all__ = ["BuildStats", "Site", "build", "build_site", "load_site"]

SUBFOLDERS = ("impl", "badges", "vector", "mistake", "history")
MARKER = "index.json"


@dataclass
class BuildStats:
    files: int
    bytes: int
    implementations: int
    runs: int
    vectors: int


def load_site(paths: list[str | Path]) -> Site:
    """Read every results.json (ResultsError, exit 2, names a bad one) into the site model."""
    if not paths:
        raise UsageError("site build: give at least one results.json")
    from appauth_conformance.corpus import vectors

    return Site([(Path(p).name, _load(Path(p))) for p in paths], vectors.retired())  # the corpus's tombstones


def _load(path: Path) -> ResultsDocument:
    """A results.json, or a gzip-compressed one (`.json.gz`: how reports/series/ keeps its releases)."""
    if path.suffix != ".gz":
        return load(path)
    try:
        doc = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"{path}: not a gzip-compressed results.json: {e}") from None
    validate(doc, str(path))
    return doc


def _prepare(out: Path) -> None:
    """The output folder: made if missing; an earlier site there is replaced, anything else refused."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(
            f"--out {out}: the folder holds files but no {MARKER} (not a site this command built); "
            "give an empty or new folder"
        )
    for name in SUBFOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    out.mkdir(parents=True, exist_ok=True)
    for name in SUBFOLDERS:
        (out / name).mkdir()


def build_site(site: Site, out: Path, base: str = "") -> BuildStats:
    """Write every page, badge and JSON of `site` into `out`. `base`: the site's public URL (ending
    in /) for the badge embed lines; empty for relative URLs."""
    out = Path(out)
    _prepare(out)
    files = size = 0

    def put(rel: str, text: str) -> None:
        nonlocal files, size
        data = text.encode("utf-8")
        (out / rel).write_bytes(data)
        files += 1
        size += len(data)

    for rel, text in pages.all_pages(site, base):
        put(rel, text)
    for run in site.runs:
        put(f"impl/{run.id}.json", _json(jsondocs.implementation(site, run)))
    put(MARKER, _json(jsondocs.index(site)))  # last: a folder with index.json is a finished site
    return BuildStats(files, size, len(site.rows), len(site.runs), len(site.vectors))


def build(paths: list[str | Path], out: Path, base: str = "") -> BuildStats:
    return build_site(load_site(paths), out, base)


def _json(doc: dict) -> str:
    """Compact JSON that is inert anywhere it is shown (no '<', '>', '&', `##` or control character raw)."""
    return html.dumps_for_html(doc) + "\n"

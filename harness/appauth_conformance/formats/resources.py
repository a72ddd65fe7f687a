"""Package data, found through importlib.resources: the corpus, the runners' sources, schemas, templates.

The wheel and the sdist carry the repository's vectors/, runners/, docs/ and examples/ as
`appauth_conformance/data/` (copied in at build time, see pyproject.toml);
formats/schemas/ and report/templates/ live in the package itself. Nothing is ever
written here: builds go to the cache folder, so a read-only site-packages works.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """A file or folder of the installed package, as a real path (the runners' sources are copied
    and hashed as folders, so a zip import cannot serve them)."""
    found = files("appauth_conformance").joinpath(*parts)
    if not isinstance(found, Path):  # pragma: no cover - only for zip imports
        raise RuntimeError(f"appauth_conformance must be installed as files, not imported from {found}")
    return found


VECTORS = path("data", "vectors")  # the bundled corpus and its schema.json
RUNNERS = path("data", "runners")  # the reference runners: sources, Dockerfile templates, known divergences
DOCS = path("data", "docs")  # the documentation pages: `appauth-conformance docs TOPIC`
EXAMPLES = path("data", "examples")  # example runners and CI files: `appauth-conformance examples LANG DIR`
SCHEMAS = path("formats", "schemas")
TEMPLATES = path("report", "templates")


def cache_root() -> Path:
    """The suite's cache folder: runner builds, compiled report templates, the loaded bundled corpus."""
    base = (
        os.environ.get("APPAUTH_CONFORMANCE_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "appauth-conformance"
    )
    return Path(base)

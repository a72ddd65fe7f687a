"""The JSON beside the pages, for tooling: index.json and impl/<id>.json (layout: formats/schemas/site.json).

Every string a runner controls is passed through untrusted.escape (as on the pages): a tool reading
these files gets the same inert text a reader sees.
"""

from __future__ import annotations

from typing import Any

from appauth_conformance import __version__
from appauth_conformance.core import untrusted
from appauth_conformance.report.site.data import Run, Site

INDEX_ID = "appauth-conformance/site-index/1"
IMPLEMENTATION_ID = "appauth-conformance/site-implementation/1"


def _s(value: object) -> str | None:
    return None if value is None else untrusted.escape(str(value))


def _cells(run: Run, modes: list[str]) -> dict[str, dict[str, int]]:
    out = {}
    for m, c in run.cells(modes).items():
        out[m] = {"pass": c["pass"], "known": c["known"], "failing": c["failing"], "total": c["total"]}
    return out


def _about(site: Site, run: Run) -> dict[str, Any]:
    h = run.hello
    return {
        "id": run.id,
        "name": _s(run.name),
        "group": run.view.group,
        "language": _s(run.view.language) or "",
        "library": _s(h.get("library")),
        "version": _s(run.version) or None,
        "runtime": _s(h.get("runtime")),
        "latest": run.latest,
        "page": f"impl/{run.id}.html",
        "json": f"impl/{run.id}.json",
        "badge": f"badges/{run.id}.svg",
        "history_page": f"history/{run.family}.html",
        "counts": run.counts,
        "modes": _cells(run, site.modes),
    }


def index(site: Site) -> dict[str, Any]:
    return {
        "schema": INDEX_ID,
        "tool": {"name": "appauth-conformance", "version": __version__},
        "sources": [
            {
                "file": _s(src),
                "tool_version": _s(doc["tool"]["version"]),
                "corpus_sha256": doc["corpus"]["sha256"],
                "complete": bool(doc.get("complete")),
            }
            for src, doc in site.docs
        ],
        "modes": site.modes,
        "implementations": [_about(site, r) for r in site.runs],
    }


def implementation(site: Site, run: Run) -> dict[str, Any]:
    rv = run.view
    fam = site.family_of(run)
    return {
        "schema": IMPLEMENTATION_ID,
        **_about(site, run),
        "failing": [
            {
                "verdict": g[0].verdict,
                "stage": g[0].stage,
                "reason": _s(g[0].reason),
                "diagnosis": list(g[0].diagnosis),
                "vectors": [a.vector for a in g],
            }
            for g in rv.groups()
        ],
        "known": [{"reason": _s(reason), "vectors": [a.vector for a in items]} for reason, items in rv.known.items()],
        "mistakes": [
            {"id": d, "title": site.mistakes.get(d, d), "failing": n, "excused": k} for d, n, k in rv.mistakes()
        ],
        "tokens": [
            {"stage": row["stage"], "pass": row["pass"], "fail": row["fail"], "known": row["known"]}
            for row in rv.token_rows()
        ]
        if rv.tokens
        else [],
        "history": [
            {
                "id": s.run.id,
                "version": _s(s.run.version) or None,
                "counts": s.run.counts,
                "appeared": s.appeared,
                "gone": s.gone,
            }
            for s in fam.steps
        ],
    }

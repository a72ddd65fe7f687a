"""The site's HTML pages, from the Site model through the templates in templates/ (jinja2, autoescape on).

Every page is self-contained (its CSS and script inline, no image, font or request of its own) so it
works from file://, GitHub Pages or any static server; links are relative. Runner-controlled text is
escaped by untrusted.line before the template's HTML escaping, and the finished page goes through
report/html.py's `inert` (control characters, `##` and lines starting with `::` neutralised).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import jinja2
from markupsafe import Markup

from appauth_conformance.core import untrusted
from appauth_conformance.formats import resources
from appauth_conformance.formats.records import OutcomeRecord
from appauth_conformance.report import html, views
from appauth_conformance.report.site import badges
from appauth_conformance.report.site.data import Family, Run, Site, retired_id

TEMPLATES = resources.path("report", "site", "templates")
CSS_CLASS = {
    "pass": "pass",
    "known-divergence": "known",
    "not run": "muted",
    "unsupported": "muted",
    "skipped": "muted",
}


def _u(value: object, limit: int = 200) -> str:
    """Runner-controlled text as one escaped line (the template escapes it again for HTML)."""
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    return untrusted.line(value, limit)


def _show(value: object, limit: int = 200) -> str:
    """A value in the text notation (strings, {utf16}, {repeat}, {truncated}) or a number, as one line."""
    return views.show(value, limit) if value is None or isinstance(value, str | dict) else str(value)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["u"] = _u
    env.globals.update(
        css=Markup(html.asset_text(TEMPLATES / "site.css")),
        groups=views.GROUPS,
        label=views.VERDICT_LABEL,
        show=_show,
    )
    return env


NEAR = 3  # versions shown on each side of an implementation page's own in its timeline
KNOWN_LIMIT = 100  # vectors listed per known-divergence reason on a page (the JSON lists all)
INTERACTIVE = ("index.html.j2", "history.html.j2")  # the pages with filters or a version chooser
READY = Markup("window.__siteReady = true;")  # the other pages' whole script: tests wait for it


@cache
def _script() -> Markup:
    return Markup(html.asset_text(TEMPLATES / "site.js"))


def _render(name: str, root: str, **context) -> str:
    js = _script() if name in INTERACTIVE else READY
    return html.inert(environment().get_template(name).render(root=root, js=js, **context))


def answer(run: Run, o: OutcomeRecord) -> dict:
    """One implementation's answer to one vector, for the side-by-side table."""
    verdict = o["verdict"]
    if verdict == "pass":
        shown = "as expected"
    elif o.get("fault"):
        shown = "runner fault: " + untrusted.line(o["fault"], 160)
    elif o.get("error"):
        shown = "refused: " + untrusted.line(o["error"]["type"], 60) + ": " + untrusted.line(o["error"]["message"], 120)
    elif o.get("signature") is not None:
        shown = "signature " + views.show(o["signature"], 100)
    elif o.get("string_to_sign") is not None:
        shown = "string to sign " + views.show(o["string_to_sign"], 160)
    else:
        shown = ""
    diag = list(o.get("diagnosis", ())) or [d for c in o.get("checks", ()) for d in c.get("diagnosis", ())]
    return {
        "run": run,
        "verdict": verdict,
        "css": CSS_CLASS.get(verdict, "fail"),
        "stage": o.get("stage"),
        "answer": shown,
        "reason": o.get("reason"),
        "diagnosis": list(dict.fromkeys(diag)),
    }


def index_page(site: Site) -> str:
    languages = sorted({r.view.language for r in site.rows if r.view.language})
    return _render("index.html.j2", "", site=site, languages=languages)


def implementation_page(site: Site, run: Run, base: str) -> str:
    newest = next(r for r in site.rows if r.name == run.name)
    family = site.family_of(run)
    at = family.runs.index(run)
    near = family.steps[max(0, at - NEAR) : at + NEAR + 1]  # the whole timeline is on the history page
    text = f"{badges.LABEL}: {badges.status(run.counts)[0]}"
    return _render(
        "impl.html.j2",
        "../",
        site=site,
        r=run,
        newest=newest,
        family=family,
        steps=near,
        failing_groups=run.view.groups(),
        outcome=lambda k: run.outcomes.get(k, {}),
        badge_svg=Markup(badges.for_counts(run.counts)),
        badge_text=text,
        version_badge=version_badge_id(run),
        known_limit=KNOWN_LIMIT,
        base=base,
    )


def vector_page(site: Site, key: str) -> str:
    answers = [answer(r, o) for r in site.rows if (o := r.outcomes.get(key)) is not None]
    return _render(
        "vector.html.j2",
        "../",
        key=key,
        v=site.vectors[key],
        notes=site.notes,
        answers=answers,
        disagree=[a for a in answers if a["verdict"] != "pass"],
        mistakes=site.mistakes,
        mistake_page=site.mistake_page,
    )


def vectors_page(site: Site) -> str:
    rows = [(k, site.vector_page[k], site.vectors[k], site.disagreement(k)) for k in site.vector_keys]
    return _render("vectors.html.j2", "", rows=rows)


def mistake_makers(site: Site, mid: str) -> list[tuple[Run, int, int]]:
    return [(r, r.view.explains[mid], r.view.excused[mid]) for r in site.runs if mid in r.mistakes()]


def mistake_page(site: Site, mid: str) -> str:
    return _render(
        "mistake.html.j2", "../", mid=mid, title=site.mistakes.get(mid, mid), makers=mistake_makers(site, mid)
    )


def mistakes_page(site: Site) -> str:
    rows = [(m, site.mistake_page[m], t, len(mistake_makers(site, m))) for m, t in site.mistakes.items()]
    return _render("mistakes.html.j2", "", rows=rows)


def history_page(site: Site, family: Family) -> str:
    keys = list(dict.fromkeys(k for r in family.runs for k in r.outcomes))
    codes = {**html.CODES, "unsupported": "."}
    data = {
        "keys": keys,
        "pages": [site.vector_page.get(k, "") for k in keys],
        "labels": {
            **{c: views.VERDICT_LABEL[v] for v, c in html.CODES.items()},
            ".": views.NOT_RUN_PLURAL,
            "-": views.NOT_RUN_PLURAL,
            "R": "retired",
        },
        "versions": [
            {
                "v": f"{r.version} ({r.name})",
                "codes": "".join(
                    codes[r.outcomes[k]["verdict"]]
                    if k in r.outcomes
                    else "R"
                    if retired_id(k) in site.retired
                    else "-"
                    for k in keys
                ),
            }
            for r in family.runs
        ],
    }
    return _render("history.html.j2", "../", site=site, family=family, data_json=Markup(html.dumps_for_html(data)))


def histories_page(site: Site) -> str:
    return _render("histories.html.j2", "", site=site)


def version_badge_id(run: Run) -> str:
    """The badge pinned to this run's version: `name--version` (an older version's page id already is)."""
    return run.id if not run.latest or not run.version else f"{run.id}--{untrusted_id(run.version)}"


def untrusted_id(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in text).strip("-.")[:60] or "x"


def all_pages(site: Site, base: str = "") -> Iterator[tuple[str, str]]:
    """(relative path, content) of every page and badge."""
    yield "index.html", index_page(site)
    yield "vectors.html", vectors_page(site)
    yield "mistakes.html", mistakes_page(site)
    yield "history.html", histories_page(site)
    for run in site.runs:
        yield f"impl/{run.id}.html", implementation_page(site, run, base)
        svg = badges.for_counts(run.counts)
        yield f"badges/{run.id}.svg", svg
        if version_badge_id(run) != run.id:
            yield f"badges/{version_badge_id(run)}.svg", svg
    for key in site.vector_keys:
        yield f"vector/{site.vector_page[key]}.html", vector_page(site, key)
    for mid in site.mistakes:
        yield f"mistake/{site.mistake_page[mid]}.html", mistake_page(site, mid)
    for fam in site.families:
        yield f"history/{fam.id}.html", history_page(site, fam)

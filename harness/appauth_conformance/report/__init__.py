"""The renderings of results.json: report.md (PR comments, CI step summaries) and report.html.

    doc = load("reports/results.json")           # read + validate against formats/schemas/results.json
    render_markdown(doc), render_html(doc)        # strings
    write_reports("reports/results.json", "reports")   # report.md + report.html, atomically

Renderings are computed from the results document alone: no corpus, no
runner. They count and group what the document says (harness/appauth_conformance/report/views.py)
and never judge or diff again. `compare.py` compares two documents.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import jinja2
import jinja2.bccache

from appauth_conformance import __version__
from appauth_conformance.core.errors import ResultsError
from appauth_conformance.formats import resources, schemas
from appauth_conformance.formats.files import write_atomic
from appauth_conformance.formats.records import ResultsDocument
from appauth_conformance.formats.results import READS, SCHEMA_ID
from appauth_conformance.report import views
from appauth_conformance.report.views import VERDICT_LABEL, Summary

__all__ = [
    "SCHEMA_PATH",
    "AfterRun",
    "ResultsError",
    "load",
    "load_templates",
    "render_html",
    "render_markdown",
    "validate",
    "write_reports",
    "write_reports_after_run",
    "write_reports_of",
]

SCHEMA_PATH = schemas.path("results")
TEMPLATES = resources.TEMPLATES

MD_LIMIT = 60_000  # GitHub comments hold 65,536 characters; the step summary 1 MiB


def validate(doc, name: str = "results document") -> None:
    """Raise ResultsError naming `name` and each place that does not match the schema (first 10)."""
    if isinstance(doc, dict) and doc.get("schema") not in READS:
        raise ResultsError(
            f"{name}: schema {doc.get('schema')!r} is not one of {', '.join(READS)}, the results layouts this "
            "version reads; re-run the suite with this version, or render with the version that wrote it"
        )
    if isinstance(doc, dict) and doc.get("schema") != SCHEMA_ID:
        doc["schema"] = SCHEMA_ID  # each version only adds to the one before: the document reads as it is
    # the compiled check answers for a valid document (most are); jsonschema words what is wrong
    errors = [] if schemas.check("results")(doc) else schemas.errors("results", doc)
    problems = []
    for e in errors[:10]:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        msg = e.message if len(e.message) < 200 else e.message[:200] + "..."
        problems.append(f"  at {where}: {msg}")
    if isinstance(doc, dict) and not errors:
        runners = {r["name"] for r in doc["runners"]}
        for i, o in enumerate(doc["outcomes"]):
            if o["vector"] not in doc["vectors"]:
                problems.append(f"  at outcomes/{i}/vector: {o['vector']!r} is not a key of `vectors`")
            if o["runner"] not in runners:
                problems.append(f"  at outcomes/{i}/runner: {o['runner']!r} is not a name in `runners`")
            if len(problems) >= 10:
                break
    if problems:
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise ResultsError(f"{name}: does not match {SCHEMA_PATH.name} ({SCHEMA_ID}):\n" + "\n".join(problems) + more)


def load(path) -> ResultsDocument:
    """Read a results.json and validate it; ResultsError names the file and what is wrong."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: cannot read: {e}") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ResultsError(
            f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg} (a results.json is written "
            "atomically, so a half file means it was not written by appauth-conformance)"
        ) from None
    validate(doc, str(path))
    return doc


# ----------------------------------------------------------------------------------------------
# Jinja environment and filters


def _md(value, limit: int = 200) -> str:
    """Free text for markdown: escaped, one line, markdown and HTML specials neutralised."""
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    s = views.show(value, limit) if not isinstance(value, str) else views.escape_text(value)
    if len(s) > limit:
        s = s[:limit] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = []
    for c in s:
        out.append("\\" + c if c in "\\`*_[]|~#!" else c)
    return "".join(out)


def _code(value, limit: int = 120, table: bool = False) -> str:
    """Inline code: escaped text in a backtick fence longer than any run of backticks inside."""
    if value is None or isinstance(value, jinja2.Undefined) or value == "":
        return ""
    s = views.show(value, limit) if not isinstance(value, str) else views.escape_text(value)
    if len(s) > limit:
        s = s[:limit] + "…"
    if table:
        s = s.replace("|", "\\|")
    longest = run = 0
    for c in s:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _cell(value) -> str:
    return _md(value, 80) if not isinstance(value, jinja2.Undefined) and value not in (None, "") else "—"


def _cellfmt(c, compact: bool = False) -> str:
    cell = views.cell(c)
    if cell["total"] == 0:  # nothing run, or only what the runner says it does not support
        return "— unsupported" if cell["unsupported"] else "—"
    if compact and cell["pass"] == cell["total"]:
        return "✅"
    extra = []
    if cell["known"]:
        extra.append(f"({cell['known']:,} known)")
    if cell["skipped"]:
        extra.append(f"({cell['skipped']:,} skipped)")
    if cell["unsupported"]:
        extra.append(f"({cell['unsupported']:,} unsupported)")
    return f"{cell['mark']} {cell['pass']:,}/{cell['total']:,}" + (" " + " ".join(extra) if extra else "")


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _runner_line(rv) -> str:
    c = rv.counts
    parts = [
        _plural(c[v], one, many)
        for v, one, many in (
            ("fail", "failure", None),
            ("unexpected-pass", "unexpected pass", "unexpected passes"),
            ("runner-fault", "runner fault", None),
            ("known-divergence", "known divergence", None),
            ("skipped", "skipped", "skipped"),
            ("unsupported", "unsupported", "unsupported"),
        )
        if c[v]
    ]
    parts.append(f"{c['pass']:,}/{rv.total:,} pass")
    return " · ".join(parts)


def _group_line(group, titles: dict[str, str], examples: int = 4) -> str:
    """One line for a group of like anomalies: what, how many, why, and a few of the vectors."""
    a = group[0]
    n = len(group)
    out = [f"**{VERDICT_LABEL[a.verdict].upper()}** ×{n}"]
    if a.verdict == "unexpected-pass":
        out.append(f" · listed as a known divergence ({_md(a.reason, 140)}) but passes: remove or narrow the entry")
    elif a.verdict == "runner-fault":  # one group per cause (exit status, signal, timeout, garbage, schema field)
        f = views.fault_summary(group)
        out.append(
            f" · {_md(f['cause'], 80)} · first {_code(f['first'])}, last {_code(f['last'])} · {_md(f['fault'], 200)}"
        )
        if f["stderr"]:
            # free text a runner wrote: escaped, its colons and parentheses as entities (no link survives)
            lines = (_md(x, 120).replace(":", "&#58;").replace("(", "&#40;") for x in f["stderr"][-4:])
            out.append("\n  - last lines of its stderr: " + " ⏎ ".join(lines))
        return "".join(out)
    else:
        if a.stage:
            out.append(f" · stage `{a.stage}`")
        if a.error:
            out.append(f" · error {_code(a.error.get('type'), 60)}: {_md(a.error.get('message'), 120)}")
        if a.diagnosis:  # every one, the one that explains most of the runner's failures first
            out.append(" · diagnosis: " + "; ".join(f"{_md(titles.get(d, d), 100)} ({_code(d)})" for d in a.diagnosis))
        elif a.stage in ("string-to-sign", "signature") or (a.stage or "").startswith("token-"):
            out.append(" · no known mistake explains it")
        for stage, verdict, ids in a.also:  # the token's other checks, each with its own mistakes
            how = "excused (known divergence)" if verdict == "known-divergence" else "also fails"
            found = "; ".join(f"{_md(titles.get(d, d), 100)} ({_code(d)})" for d in ids) or "no known mistake"
            out.append(f" · {how} at `{stage}`: {found}")
        if a.reason:  # a token group's members each have their own values: the first stands for them
            first = "first: " if n > 1 and (a.stage or "").startswith("token-") else ""
            out.append(f" · {first}{_md(a.reason, 160)}")
    shown = ", ".join(
        f"{_code(x.vector)}" + (f" <sub>{_md(x.where)}</sub>" if n == 1 else "") for x in group[:examples]
    )
    out.append(f" — {shown}" + (f" and {n - examples:,} more" if n > examples else ""))
    return "".join(out)


def _when(ts) -> str:
    """2026-11-29T18:52:50+00:00 -> 2026-11-29 18:52 UTC (display only)."""
    if not isinstance(ts, str):
        return ""
    if len(ts) >= 16 and ts[10] == "T" and ts.endswith("+00:00"):
        return f"{ts[:10]} {ts[11:16]} UTC"
    return _md(ts)


def _timing(rv) -> str:
    t = rv.record.get("timings") or {}
    total = sum(t.values())
    return f"{total:.1f} s" if t else "—"


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """The templates' compiled code, kept in the suite's cache folder (compiling them took ~0.07 s of every
    run). Never a reason for a report to fail: a folder that cannot be written, or a file that cannot be
    read back, only means compiling again. Jinja checks each entry against its template's source."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry: compiled again, and replaced
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:  # a read-only or full cache folder
            pass


def _template_cache() -> jinja2.BytecodeCache:
    """In the runners' cache folder (`APPAUTH_CONFORMANCE_CACHE` moves both), one folder per suite and jinja2
    version: the code compiled also depends on the environment's options and on jinja2's runtime."""
    return _TemplateCache(str(resources.cache_root() / "templates" / f"{__version__}-jinja2-{jinja2.__version__}"))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_template_cache(),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "html"), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.ChainableUndefined,
    )
    env.filters.update(
        when=_when,
        md=_md,
        code=_code,
        show=views.show,
        cellcode=lambda v, limit=60: _code(v, limit, table=True) or "—",
        cell=_cell,
    )
    return env


def load_templates() -> None:
    """Load (or compile) both reports' templates now: a run calls it while its runners answer."""
    env = environment()
    for name in ("report.md.j2", "report.html.j2"):
        env.get_template(name)


# ----------------------------------------------------------------------------------------------


def render_markdown(doc: ResultsDocument, s: Summary | None = None) -> str:
    """report.md: status, matrices by mode and by flag, anomalies per runner, runner versions. `s`: the
    document's Summary, if already made (the two reports share one)."""
    s = s or Summary(doc)
    flags = s.anomalous_flags()
    text = ""
    for cap, reason_cap, flag_cap in ((20, 10, 25), (10, 5, 15), (5, 3, 10), (1, 1, 5), (0, 0, 0)):
        text = (
            environment()
            .get_template("report.md.j2")
            .render(
                doc=doc,
                s=s,
                corpus_short=views.short_hash(doc["corpus"]["sha256"]),
                command=" ".join(doc.get("command") or []),
                flag_rows=flags[:flag_cap],
                flags_more=max(0, len(flags) - flag_cap),
                flags_clean=len(s.flags) - len(flags),
                cap=cap,
                reason_cap=reason_cap,
                LABEL=VERDICT_LABEL,
                GROUPS=views.GROUPS,
                cellfmt=_cellfmt,
                runner_line=_runner_line,
                timing=_timing,
                group_line=lambda g: _group_line(g, s.diagnoses),
                more_count=lambda groups: f"{sum(len(g) for g in groups):,}",
                stages_of=lambda items: ", ".join(sorted({a.stage or "no stage" for a in items})),
            )
        )
        if len(text) <= MD_LIMIT:
            break
    return text


def render_html(doc: ResultsDocument, *, compress: bool | None = None, summary: Summary | None = None) -> str:
    """report.html: one self-contained page (inline CSS and JS, data embedded as JSON).

    `compress`: embed the drill-down data gzip + base64 (None: only when it is large)."""
    from appauth_conformance.report.html import render

    return render(doc, environment(), compress, summary)


def write_reports(results_path, out_dir=None) -> list[Path]:
    """Render report.md and report.html from a results.json into out_dir (default: its folder).

    Each file is written to a temporary file in out_dir, fsynced and renamed over the old one,
    so a reader (a CI upload, a browser) sees the old report or the new one, never half of one.
    """
    results_path = Path(results_path)
    return write_reports_of(load(results_path), out_dir if out_dir is not None else results_path.parent)


def write_reports_of(doc: ResultsDocument, out_dir) -> list[Path]:
    """write_reports for a results document already in memory and validated (a merge's, for one)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = Summary(doc)
    rendered = [(out / "report.md", render_markdown(doc, s)), (out / "report.html", render_html(doc, summary=s))]
    for path, text in rendered:
        write_atomic(path, text)
    return [p for p, _ in rendered]


class AfterRun(NamedTuple):
    """What writing a run's reports came to: the line to show, and whether the reports were written."""

    line: str
    ok: bool
    doc: ResultsDocument | None = (
        None  # the results document, loaded and validated once (the terminal summary reuses it)
    )


def write_reports_after_run(results_path: Path, doc: ResultsDocument | None = None) -> AfterRun:
    """write_reports next to a run's results.json, as every run does at its end. `doc`: the document just
    written there (Recorder.written), rendered without reading the file back (it is validated all the same).
    A failure (an invalid document, a rendering bug, a folder that cannot be written) is said in the line,
    never raised: results.json is already safe and must not be hidden by it; the caller fails the run
    (`ok` False)."""
    try:
        if doc is None:
            doc = load(results_path)
        else:
            validate(doc, str(results_path))
        paths = write_reports_of(doc, results_path.parent)
    except Exception as e:
        return AfterRun(
            f"appauth-conformance: wrote {results_path}; the reports could NOT be written "
            f"({type(e).__name__}: {e}); the run fails",
            False,
        )
    return AfterRun(f"appauth-conformance: wrote {results_path} and {', '.join(p.name for p in paths)}", True, doc)

"""What the terminal shows after a conformance run: the reports written, what failed by kind (the same
grouping as report.md), and the runners that were NOT run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import ResultsError

if TYPE_CHECKING:
    from appauth_conformance.formats.records import ResultsDocument
    from appauth_conformance.report import AfterRun


def render(results: Path, doc: ResultsDocument | None = None) -> AfterRun | None:
    """Write the reports next to results.json; the line that says so (shown in the terminal summary).
    `doc`: the document just written there, when this process wrote it (not read back)."""
    if not results.exists():
        return None
    from appauth_conformance.report import write_reports_after_run

    return write_reports_after_run(results, doc)


def summarise(terminalreporter: Any, results: Path, written: AfterRun | None) -> None:
    """What failed, by kind, every distinct diagnosis shown; the runners that did not start, loud."""
    from appauth_conformance.report import load, terminal

    if written is not None:
        terminalreporter.write_line(written.line)
    try:
        doc = written.doc if written is not None and written.doc is not None else load(results)
    except ResultsError as e:  # already said when the reports were rendered; the verdicts stand
        terminalreporter.write_line(f"appauth-conformance: cannot summarise: {e}")
        return
    lines = terminal.grouped(doc)
    if lines:
        terminalreporter.section("appauth-conformance: what failed, by kind")
        for line in lines:
            terminalreporter.write_line(line)
    missing = {r["name"]: r["unavailable"] for r in doc["runners"] if r.get("unavailable")}
    if missing:  # loud: a runner that did not start was not measured at all
        terminalreporter.section("appauth-conformance: runners NOT run", red=True, bold=True)
        for name, why in missing.items():
            first = why.splitlines()[0]  # the reason names the runner, as a rule
            shown = first if first.startswith(f"{name}:") else f"{name}: {first}"
            terminalreporter.write_line(untrusted.line(shown, 300), red=True)

"""The run's anomalies as plain lines for a terminal or a CI log, grouped as report.md groups them.

Every value a runner chose (reasons, faults, error messages) goes through model.show: control
characters, escape sequences and line breaks come out as \\uXXXX, so a runner cannot draw on the
terminal or start a line of its own (a CI workflow command needs one).
"""

from __future__ import annotations

from appauth_conformance.formats.records import ResultsDocument
from appauth_conformance.report.views import VERDICT_LABEL, Anomaly, Summary, fault_summary, show


def _group(group: list[Anomaly], titles: dict[str, str], examples: int = 3) -> str:
    a, n = group[0], len(group)
    out = [f"{VERDICT_LABEL[a.verdict].upper()} x{n}"]
    if a.stage:
        out.append(f" at {a.stage}")
    if a.diagnosis:
        out.append(": " + "; ".join(f"{show(titles.get(d, d), 100)} [{show(d, 60)}]" for d in a.diagnosis))
    elif a.verdict == "runner-fault":
        f = fault_summary(group)
        out.append(f" ({f['cause']}): " + show(f["fault"], 160))
    elif a.error:
        out.append(f": error {show(a.error.get('type'), 60)}: {show(a.error.get('message'), 100)}")
    elif a.verdict == "unexpected-pass":
        out.append(": listed as a known divergence but passes")
    elif a.stage in ("string-to-sign", "signature") or (a.stage or "").startswith("token-"):
        out.append(": no known mistake explains it")
    for stage, verdict, ids in a.also:  # the token's other checks, each with its own mistakes
        how = "excused (known divergence)" if verdict == "known-divergence" else "also fails"
        mistakes = "; ".join(f"{show(titles.get(d, d), 100)} [{show(d, 60)}]" for d in ids) or "no known mistake"
        out.append(f"; {how} at {stage}: {mistakes}")
    shown = ", ".join(x.vector for x in group[:examples])
    out.append(f" - {shown}" + (f" and {n - examples:,} more" if n > examples else ""))
    return "".join(out)


def fault_lines(group: list[Anomaly], indent: str = "    ") -> list[str]:
    """The rest of a group of runner faults: first and last request, the last lines of stderr."""
    f = fault_summary(group)
    out = [f"{indent}first request {show(f['first'], 80)}, last {show(f['last'], 80)} ({f['count']:,} in all)"]
    if f["stderr"]:
        out.append(f"{indent}last lines of its stderr:")
        out += [f"{indent}  | {show(x, 200)}" for x in f["stderr"]]
    else:
        out.append(f"{indent}(nothing on its stderr)")
    return out


def grouped(doc: ResultsDocument, cap: int = 8) -> list[str]:
    """One block per runner with a failing outcome: its failures by kind (every distinct diagnosis, the
    one that explains most first), then its known divergences by reason."""
    s = Summary(doc)
    lines: list[str] = []
    for rv in s.runners.values():
        kinds = rv.groups()
        if not kinds:  # nothing failed: its known divergences are in the reports
            continue
        known = rv.counts["known-divergence"]
        head = f"{show(rv.name, 60)}: {rv.counts['pass']:,}/{rv.total:,} pass"
        lines.append(head + (f", {known:,} known divergences" if known else ""))
        for g in kinds[:cap]:
            lines.append("  " + _group(g, s.diagnoses))
            if g[0].verdict == "runner-fault":
                lines += fault_lines(g)
        if len(kinds) > cap:
            lines.append(f"  ... and {len(kinds) - cap} more kinds of failure (report.md, report.html)")
        for reason, items in list(rv.known.items())[:cap]:
            lines.append(f"  known divergence x{len(items):,}: {show(reason, 140)}")
        if len(rv.known) > cap:
            lines.append(f"  ... and {len(rv.known) - cap} more known-divergence reasons")
    return lines

"""Display-level aggregation of one results.json document, shared by report.md and report.html.

Everything here is counting, grouping and formatting of what the document
already says: verdicts, stages, differences and diagnoses are read, never
recomputed (the corpus and the runners are not needed and not touched). The
one lookup outside the document is the title of a diagnosis id, from the
static catalogue in harness/appauth_conformance/diagnosis.py (an unknown id is shown as itself).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

VERDICTS = ("pass", "fail", "known-divergence", "unexpected-pass", "runner-fault", "skipped")
FAILING = frozenset({"fail", "unexpected-pass", "runner-fault"})
MODES = ("single", "sp_user", "sp_corp_admin", "sp_admin")
# The order anomalies are listed in: what fails the run first.
SEVERITY = {"unexpected-pass": 0, "fail": 1, "runner-fault": 2, "known-divergence": 3, "skipped": 4, "pass": 5}
VERDICT_LABEL = {
    "pass": "pass",
    "fail": "fail",
    "known-divergence": "known divergence",
    "unexpected-pass": "unexpected pass",
    "runner-fault": "runner fault",
    "skipped": "skipped",
}
VERDICT_PLURAL = {
    "pass": "passes",
    "fail": "failures",
    "known-divergence": "known divergences",
    "unexpected-pass": "unexpected passes",
    "runner-fault": "runner faults",
    "skipped": "skipped",
}


def diagnosis_titles(ids) -> dict[str, str]:
    """id -> one-line title, from the diagnosis catalogue; unknown ids map to themselves."""
    try:
        from ..diagnosis import BY_ID
    except Exception:  # pragma: no cover - the catalogue is part of the package
        BY_ID = {}
    return {i: (BY_ID[i].title if i in BY_ID else i) for i in ids}


def family(file: str) -> str:
    """The family of a vector: the stem of the file it is written in (vectors/nul.yaml -> nul)."""
    return PurePosixPath(file.replace("\\", "/")).stem or file


# ----------------------------------------------------------------------------------------------
# Text values for display: escapes for what cannot or should not be shown raw.

# C0, DEL, C1, soft hyphen, zero-width and bidi controls, line/paragraph separators, BOM, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff\\\\]"
)


def _esc(m: re.Match) -> str:
    c = m.group()
    if c == "\\":
        return "\\\\"
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c) or f"\\u{ord(c):04x}"


def escape_text(s: str) -> str:
    """s with control, invisible and bidi characters and lone surrogates as \\uXXXX (backslash doubled)."""
    return _UNSAFE.sub(_esc, s)


def decode_utf16(units: str) -> str:
    raw = bytes.fromhex(units.replace(" ", ""))
    return raw.decode("utf-16-be", "surrogatepass")


def show(value, limit: int = 200) -> str:
    """A notation value as one line of display text: escaped, long values cut or summarised."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        s = escape_text(value)
        return s if len(s) <= limit else s[:limit] + f"… ({len(value)} chars)"
    if "utf16" in value:
        return show(decode_utf16(value["utf16"]), limit)
    if "truncated" in value:
        return escape_text(value["truncated"][:limit]) + f"… ({value['length']} chars)"
    if "repeat" in value:
        pre, suf = value.get("prefix", ""), value.get("suffix", "")
        return (
            (show(pre, limit // 2) + f"«{escape_text(value['repeat'])}×{value['count']}»" + show(suf, limit // 2))
            if (pre or suf)
            else f"«{escape_text(value['repeat'])}×{value['count']}»"
        )
    return str(value)


def short_hash(sha: str) -> str:
    return sha[:12]


# ----------------------------------------------------------------------------------------------


@dataclass
class Anomaly:
    """One non-passing outcome, ready for display."""

    vector: str
    runner: str
    verdict: str
    stage: str | None
    reason: str | None
    diagnosis: list[str]
    error: dict | None
    fault: str | None
    where: str  # file:line


@dataclass
class RunnerView:
    name: str
    record: dict
    counts: Counter[str] = field(default_factory=Counter)  # by verdict
    by_mode: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_family: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_flag: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    anomalies: list[Anomaly] = field(default_factory=list)  # fail / unexpected-pass / runner-fault, most severe first
    known: dict[str, list[Anomaly]] = field(default_factory=dict)  # known divergences by reason
    skipped: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def groups(self) -> list[list[Anomaly]]:
        """The anomalies grouped by what went wrong (verdict, stage, diagnosis, reason, error type),
        most severe first, then largest first; vectors in corpus order within a group."""
        by: dict[tuple, list[Anomaly]] = {}
        for a in self.anomalies:
            k = (
                a.verdict,
                a.stage,
                tuple(a.diagnosis),
                a.reason if a.verdict != "runner-fault" else a.fault or a.reason,
                (a.error or {}).get("type"),
            )
            by.setdefault(k, []).append(a)
        return sorted(by.values(), key=lambda g: (SEVERITY[g[0].verdict], -len(g)))

    @property
    def failing(self) -> int:
        return sum(self.counts[v] for v in FAILING)

    @property
    def hello(self) -> dict:
        return self.record.get("hello") or {}

    @property
    def language(self) -> str:
        return self.record.get("language") or self.hello.get("language") or ""


def cell(c: Counter) -> dict:
    """A matrix cell: pass count, total, marker and the non-pass counts."""
    total = sum(c.values())
    failing = sum(c[v] for v in FAILING)
    return {
        "pass": c["pass"],
        "total": total,
        "failing": failing,
        "known": c["known-divergence"],
        "skipped": c["skipped"],
        "ok": total > 0 and failing == 0,
        "mark": ""
        if total == 0
        else ("❌" if failing else ("✅" if c["pass"] + c["known-divergence"] == total else "⚠️")),
    }


class Summary:
    """Counts and groupings of a results document (no verdict is recomputed)."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.vectors: dict[str, dict] = doc.get("vectors", {})
        names = [r["name"] for r in doc.get("runners", [])]
        records = {r["name"]: r for r in doc.get("runners", [])}
        for o in doc.get("outcomes", []):  # tolerate outcomes of a runner missing from the list
            if o["runner"] not in records:
                records[o["runner"]] = {"name": o["runner"]}
                names.append(o["runner"])
        self.runners: dict[str, RunnerView] = {n: RunnerView(n, records[n]) for n in names}
        self.modes = [m for m in MODES if any(v["mode"] == m for v in self.vectors.values())]
        self.families = sorted({family(v["file"]) for v in self.vectors.values()})
        self.flags = sorted({f for v in self.vectors.values() for f in v["flags"]})
        self.vectors_per_mode = Counter(v["mode"] for v in self.vectors.values())
        self.vectors_per_flag = Counter(f for v in self.vectors.values() for f in v["flags"])
        self.vectors_per_family = Counter(family(v["file"]) for v in self.vectors.values())

        latest: dict[tuple[str, str], dict] = {}
        for o in doc.get("outcomes", []):
            latest[(o["runner"], o["vector"])] = o  # a re-run pair counts once, last record wins
        self.outcome_count = len(latest)
        diag_ids: set[str] = set()
        for (rn, vk), o in latest.items():
            rv = self.runners[rn]
            verdict = o["verdict"]
            v = self.vectors.get(vk, {"mode": vk.split("/", 1)[0], "file": "?", "flags": [], "line": 0})
            rv.counts[verdict] += 1
            rv.by_mode[v["mode"]][verdict] += 1
            rv.by_family[family(v["file"])][verdict] += 1
            for f in v["flags"]:
                rv.by_flag[f][verdict] += 1
            if verdict == "pass":
                continue
            if verdict == "skipped":
                rv.skipped += 1
                continue
            diag_ids.update(o.get("diagnosis", ()))
            a = Anomaly(
                vk,
                rn,
                verdict,
                o.get("stage"),
                o.get("reason"),
                list(o.get("diagnosis", ())),
                o.get("error"),
                o.get("fault"),
                f"{v['file']}:{v.get('line') or '?'}",
            )
            if verdict == "known-divergence":
                rv.known.setdefault(a.reason or "(no reason given)", []).append(a)
            else:
                rv.anomalies.append(a)
        order = {k: i for i, k in enumerate(self.vectors)}
        for rv in self.runners.values():
            rv.anomalies.sort(key=lambda a: (SEVERITY[a.verdict], order.get(a.vector, 1 << 30)))
            rv.known = dict(sorted(rv.known.items(), key=lambda kv: -len(kv[1])))
        self.diagnoses = diagnosis_titles(sorted(diag_ids))
        self.counts: Counter[str] = Counter()
        for rv in self.runners.values():
            self.counts.update(rv.counts)

    # -- overall status -------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        return bool(self.doc.get("complete"))

    @property
    def unavailable(self) -> dict[str, str]:
        return {n: rv.record["unavailable"] for n, rv in self.runners.items() if rv.record.get("unavailable")}

    @property
    def failing(self) -> int:
        return sum(self.counts[v] for v in FAILING)

    @property
    def status(self) -> str:
        """failing (a failing verdict), incomplete (interrupted, or a runner was not measured), or passing."""
        if self.failing:
            return "failing"
        if not self.complete or self.counts["skipped"] or self.unavailable:
            return "incomplete"
        return "passing"

    @property
    def status_mark(self) -> str:
        return {"failing": "❌", "incomplete": "⚠️", "passing": "✅"}[self.status]

    def headline(self) -> str:
        """'3 failures, 1 runner fault' / 'all 1,288 outcomes pass' / '... 15 known divergences'."""
        c = self.counts
        parts = []
        for v, one, many in (
            ("fail", "failure", "failures"),
            ("unexpected-pass", "unexpected pass", "unexpected passes"),
            ("runner-fault", "runner fault", "runner faults"),
        ):
            if c[v]:
                parts.append(f"{c[v]:,} {one if c[v] == 1 else many}")
        if not parts:
            parts.append(
                f"{c['pass']:,} of {self.outcome_count:,} outcomes pass"
                if self.outcome_count
                else "no outcome was recorded"
            )
        if c["known-divergence"]:
            parts.append(f"{c['known-divergence']:,} known divergence{'s' if c['known-divergence'] != 1 else ''}")
        if c["skipped"]:
            parts.append(f"{c['skipped']:,} skipped")
        return ", ".join(parts)

    def anomalous_flags(self) -> list[str]:
        """Flags where some runner has an outcome other than pass, most affected first."""
        bad: Counter[str] = Counter()
        for rv in self.runners.values():
            for f, c in rv.by_flag.items():
                bad[f] += sum(c.values()) - c["pass"]
        return [f for f, n in sorted(bad.items(), key=lambda kv: (-kv[1], kv[0])) if n]

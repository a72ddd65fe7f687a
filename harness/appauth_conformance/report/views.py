"""Display-level aggregation of one results.json document, shared by report.md and report.html.

Everything here is counting, grouping and formatting of what the document
already says: verdicts, stages, differences and diagnoses are read, never
recomputed (the corpus and the runners are not needed and not touched). The
one lookup outside the document is the title of a diagnosis id, from the
static catalogue in harness/appauth_conformance/judging/diagnosis/catalogue.py (an unknown id is shown as itself).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, cast

from appauth_conformance.core import faults, model, untrusted
from appauth_conformance.core.model import Stage, Verdict
from appauth_conformance.formats.records import (
    CheckRecord,
    ErrorRecord,
    OutcomeRecord,
    ResultsDocument,
    RunnerRecord,
    VectorRecord,
)
from appauth_conformance.judging import diagnosis

VERDICTS = tuple(v.value for v in Verdict)
FAILING = frozenset(v.value for v in model.FAILING)
MODES = model.MODES
TOKEN = "token/"  # the key prefix of token requests (results.json `vectors`)
TOKEN_COLUMN = "tokens"  # their column in the by-mode matrix
# The order anomalies are listed in: what fails the run first.
SEVERITY = {
    "unexpected-pass": 0,
    "fail": 1,
    "runner-fault": 2,
    "known-divergence": 3,
    "skipped": 4,
    "unsupported": 5,
    "pass": 6,
}
VERDICT_LABEL = {
    "pass": "pass",
    "fail": "fail",
    "known-divergence": "known divergence",
    "unexpected-pass": "unexpected pass",
    "runner-fault": "runner fault",
    "skipped": "skipped",
    "unsupported": "unsupported",
}
VERDICT_PLURAL = {
    "pass": "passes",
    "fail": "failures",
    "known-divergence": "known divergences",
    "unexpected-pass": "unexpected passes",
    "runner-fault": "runner faults",
    "skipped": "skipped",
    "unsupported": "unsupported",
}
VERDICT_SHORT = {  # a matrix cell's tally of one verdict
    "pass": "pass",
    "fail": "fail",
    "known-divergence": "known",
    "unexpected-pass": "unexp. pass",
    "runner-fault": "fault",
    "skipped": "skipped",
    "unsupported": "unsupported",
}
NOT_RUN_LABEL = "not run or unsupported"  # a matrix cell with no outcome (not run, or a request not supported)
NOT_RUN_PLURAL = "not run"
GROUPS = {"reference": "Documented reference snippets", "vendor-sdk": "Vendor SDKs", "declared": "Your runners"}
TOKEN_STAGES = tuple(s.value for s in Stage if s.value.startswith("token-"))


def diagnosis_titles(ids) -> dict[str, str]:
    """id -> one-line title, from the diagnosis catalogue (pairs and token mistakes too); unknown ids map to themselves."""
    return {i: diagnosis.title(i) for i in ids}


@functools.lru_cache(maxsize=1024)  # a corpus has a few files and many vectors
def family(file: str) -> str:
    """The family of a vector: the stem of the file it is written in (vectors/nul.yaml -> nul)."""
    return PurePosixPath(file.replace("\\", "/")).stem or file


# ----------------------------------------------------------------------------------------------
# Text values for display: escapes for what cannot or should not be shown raw.


def escape_text(s: str) -> str:
    """s with control, invisible and bidi characters and lone surrogates as \\uXXXX (backslash doubled):
    the one neutralisation of runner-controlled text (appauth_conformance.core.untrusted)."""
    return untrusted.escape(s)


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
    error: ErrorRecord | None
    fault: str | None
    where: str  # file:line
    # a token's other non-passing checks: (stage, verdict, their mistakes); `diagnosis` holds only the
    # mistakes of the check its verdict names (each mistake belongs to the check that found it)
    also: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    stderr_tail: str | None = None  # a runner fault: the runner's last words

    @property
    def cause(self) -> faults.Cause | None:
        """A runner fault's cause (exit status, signal, timeout, garbage, the field of a schema violation)."""
        return faults.cause(self.fault or self.reason or "") if self.verdict == "runner-fault" else None


@dataclass
class RunnerView:
    name: str
    record: RunnerRecord
    counts: Counter[str] = field(default_factory=Counter)  # by verdict
    by_mode: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_family: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_flag: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    anomalies: list[Anomaly] = field(default_factory=list)  # fail / unexpected-pass / runner-fault, most severe first
    known: dict[str, list[Anomaly]] = field(default_factory=dict)  # known divergences by reason
    skipped: int = 0
    unsupported: int = 0
    tokens: Counter[str] = field(default_factory=Counter)  # token outcomes by verdict
    token_checks: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # stage -> verdicts
    token_diagnoses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # stage -> ids
    token_excused: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # stage -> ids
    explains: Counter[str] = field(default_factory=Counter)  # diagnosis id -> failing outcomes it explains
    excused: Counter[str] = field(
        default_factory=Counter
    )  # diagnosis id -> outcomes where a known divergence excused it

    def mistakes(self) -> list[tuple[str, int, int]]:
        """(id, failing outcomes it explains, outcomes where it was excused), the most failing first."""
        ids = sorted({*self.explains, *self.excused}, key=lambda d: (-self.explains[d], -self.excused[d], d))
        return [(d, self.explains[d], self.excused[d]) for d in ids]

    @property
    def group(self) -> str:
        return self.record.get("group") or "reference"

    @property
    def token_total(self) -> int:
        return sum(n for v, n in self.tokens.items() if v != "unsupported")

    def token_rows(self) -> list[dict]:
        """One row per token stage: passes, failures, known divergences, and the mistakes seen there."""
        rows = []
        for stage in TOKEN_STAGES:
            c = self.token_checks.get(stage, Counter())
            judged = c["fail"] + c["known-divergence"]
            if stage in ("token-header", "token-body") and not c["checked"]:
                continue  # the runner hands back no header (body): nothing to check there
            rows.append(
                {
                    "stage": stage,
                    "pass": c["checked"] - judged,
                    "fail": c["fail"],
                    "known": c["known-divergence"],
                    "diagnoses": self.token_diagnoses.get(stage, Counter()).most_common(),  # of failing checks
                    "excused": self.token_excused.get(stage, Counter()).most_common(),  # of excused checks
                }
            )
        return rows

    @property
    def total(self) -> int:
        """Outcomes judged: what the runner does not support is not among them."""
        return sum(self.counts.values()) - self.counts["unsupported"]

    def groups(self) -> list[list[Anomaly]]:
        """The anomalies grouped by what went wrong (verdict, stage, diagnosis, reason, error type),
        most severe first, then largest first; vectors in corpus order within a group."""
        by: dict[tuple, list[Anomaly]] = {}
        for a in self.anomalies:
            k = (
                a.verdict,
                a.stage,
                tuple(a.diagnosis),
                # a token check's reason quotes that request's own values: it does not tell groups apart
                None
                if (a.stage or "").startswith("token-")
                else a.reason
                if a.cause is None
                else a.cause.label,  # one crash is one group, not one per restart
                a.error["type"] if a.error else None,
                tuple(a.also),
            )
            by.setdefault(k, []).append(a)
        return sorted(by.values(), key=lambda g: (SEVERITY[g[0].verdict], -len(g)))

    def fault_groups(self) -> list[dict]:
        """The runner's faults by cause (fault_summary of each group), largest first."""
        return [fault_summary(g) for g in self.groups() if g[0].verdict == "runner-fault"]

    @property
    def failing(self) -> int:
        return sum(self.counts[v] for v in FAILING)

    @property
    def hello(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.record.get("hello") or {})

    @property
    def language(self) -> str:
        return self.record.get("language") or self.hello.get("language") or ""


def _token_findings(o: OutcomeRecord) -> tuple[list[str], list[tuple[str, str, tuple[str, ...]]]]:
    """For a token outcome: the mistakes of the check its verdict names, and its other non-passing checks
    as (stage, verdict, mistakes): a mistake belongs to the check that found it."""
    own: list[str] = []
    also: list[tuple[str, str, tuple[str, ...]]] = []
    for c in o.get("checks", ()):
        if c["verdict"] == "pass":
            continue
        if c["stage"] == o.get("stage") and not own:
            own = list(c.get("diagnosis", ()))
        else:
            also.append((c["stage"], c["verdict"], tuple(c.get("diagnosis", ()))))
    return own, also


def _mistakes_by_verdict(o: OutcomeRecord, found: list[str]) -> tuple[list[str], list[str]]:
    """An outcome's mistakes split in two: those of failing checks, those a known divergence excused."""
    if o["vector"].startswith(TOKEN) and o.get("checks"):
        fail = [d for c in o["checks"] if c["verdict"] == "fail" for d in c.get("diagnosis", ())]
        known = [d for c in o["checks"] if c["verdict"] == "known-divergence" for d in c.get("diagnosis", ())]
        return list(dict.fromkeys(fail)), list(dict.fromkeys(known))
    return ([], found) if o["verdict"] == "known-divergence" else (found, [])


def fault_summary(group: list[Anomaly], lines: int = 6) -> dict:
    """What one group of runner faults shows: its cause, how many, the first and last request, the first
    fault's own words and the last lines of stderr (raw text: each view escapes it)."""
    first, last = group[0], group[-1]
    tail = next((a.stderr_tail for a in reversed(group) if a.stderr_tail and a.stderr_tail.strip()), None)
    cause = first.cause
    return {
        "cause": cause.label if cause else "runner fault",
        "count": len(group),
        "first": first.vector,
        "last": last.vector,
        "fault": first.fault or first.reason or "",
        "stderr": faults.last_lines(tail, lines),
    }


def cell(c: Counter) -> dict:
    """A matrix cell: pass count, total, marker and the non-pass counts (what the runner does not support
    is not in the total)."""
    total = sum(c.values()) - c["unsupported"]
    failing = sum(c[v] for v in FAILING)
    return {
        "pass": c["pass"],
        "total": total,
        "failing": failing,
        "known": c["known-divergence"],
        "skipped": c["skipped"],
        "unsupported": c["unsupported"],
        "ok": total > 0 and failing == 0,
        "mark": ""
        if total == 0
        else ("❌" if failing else ("✅" if c["pass"] + c["known-divergence"] == total else "⚠️")),
    }


class Summary:
    """Counts and groupings of a results document (no verdict is recomputed)."""

    def __init__(self, doc: ResultsDocument):
        self.doc = doc
        self.vectors: dict[str, VectorRecord] = doc.get("vectors", {})
        names = [r["name"] for r in doc.get("runners", [])]
        records = {r["name"]: r for r in doc.get("runners", [])}
        for o in doc.get("outcomes", []):  # tolerate outcomes of a runner missing from the list
            if o["runner"] not in records:
                records[o["runner"]] = cast(RunnerRecord, {"name": o["runner"]})
                names.append(o["runner"])
        self.runners: dict[str, RunnerView] = {n: RunnerView(n, records[n]) for n in names}
        signed = [v for k, v in self.vectors.items() if not k.startswith(TOKEN)]  # the corpus's sign vectors
        self.families = sorted({family(v["file"]) for v in signed})
        self.flags = sorted({f for v in signed for f in v["flags"]})
        self.vectors_per_mode: Counter[str] = Counter(v["mode"] for v in signed)
        self.vectors_per_flag = Counter(f for v in signed for f in v["flags"])
        self.vectors_per_family = Counter(family(v["file"]) for v in signed)
        self.token_requests = len(self.vectors) - len(signed)
        self.modes = [m for m in MODES if self.vectors_per_mode[m]]
        if self.token_requests:
            self.modes.append(TOKEN_COLUMN)

        latest: dict[tuple[str, str], OutcomeRecord] = {}
        for o in doc.get("outcomes", []):
            latest[(o["runner"], o["vector"])] = o  # a re-run pair counts once, last record wins
        self.outcome_count = len(latest)
        diag_ids: set[str] = set()
        for (rn, vk), o in latest.items():
            rv = self.runners[rn]
            verdict = o["verdict"]
            v = self.vectors.get(vk) or cast(
                VectorRecord, {"mode": vk.split("/", 1)[0], "file": "?", "flags": [], "line": 0}
            )
            rv.counts[verdict] += 1
            if vk.startswith(TOKEN):  # token requests have a column (and a checks table) of their own
                self._token(rv, o)
                rv.by_mode[TOKEN_COLUMN][verdict] += 1
            else:
                rv.by_mode[v["mode"]][verdict] += 1
                rv.by_family[family(v["file"])][verdict] += 1
                for f in v["flags"]:
                    rv.by_flag[f][verdict] += 1
            if verdict == "pass":
                continue
            if verdict == "skipped":
                rv.skipped += 1
                continue
            if verdict == "unsupported":
                rv.unsupported += 1
                continue
            found, also = (
                _token_findings(o) if vk.startswith(TOKEN) and o.get("checks") else (list(o.get("diagnosis", ())), [])
            )
            failing, excused = _mistakes_by_verdict(o, found)
            diag_ids.update(found, failing, excused)
            rv.explains.update(failing)
            rv.excused.update(excused)
            a = Anomaly(
                vk,
                rn,
                verdict,
                o.get("stage"),
                o.get("reason"),
                found,
                o.get("error"),
                o.get("fault"),
                f"{v['file']}:{v.get('line') or '?'}",
                also,
                o.get("stderr_tail"),
            )
            if verdict == "known-divergence":
                rv.known.setdefault(a.reason or "(no reason given)", []).append(a)
            else:
                rv.anomalies.append(a)
        order = {k: i for i, k in enumerate(self.vectors)}
        for rv in self.runners.values():
            for a in [*rv.anomalies, *(x for items in rv.known.values() for x in items)]:
                # the mistake that explains most of this runner's failures first: its likely real cause
                a.diagnosis.sort(key=lambda d: -(rv.explains[d] + rv.excused[d]))
            rv.anomalies.sort(key=lambda a: (SEVERITY[a.verdict], order.get(a.vector, 1 << 30)))
            rv.known = dict(sorted(rv.known.items(), key=lambda kv: -len(kv[1])))
        self.diagnoses = diagnosis_titles(sorted(diag_ids))
        self.counts: Counter[str] = Counter()
        for rv in self.runners.values():
            self.counts.update(rv.counts)

    @staticmethod
    def _token(rv: RunnerView, o: OutcomeRecord) -> None:
        """Count a token outcome: its verdict, and each of its checks (a pass carries none: all held)."""
        verdict = o["verdict"]
        rv.tokens[verdict] += 1
        if verdict in ("skipped", "unsupported", "runner-fault") or o.get("error"):
            return
        checks = o.get("checks")
        stages = [c["stage"] for c in checks] if checks else list(TOKEN_STAGES[:4])
        for c in checks or [cast(CheckRecord, {"stage": st, "verdict": "pass"}) for st in stages]:
            rv.token_checks[c["stage"]]["checked"] += 1
            rv.token_checks[c["stage"]][c["verdict"]] += 1
            if c["verdict"] != "pass":
                seen = rv.token_diagnoses if c["verdict"] == "fail" else rv.token_excused
                seen[c["stage"]].update(c.get("diagnosis", ()) or ["(no known mistake)"])

    @property
    def groups(self) -> dict[str, list[RunnerView]]:
        """The runners by what they are (reference snippets, vendor SDKs, declared), in that order."""
        out: dict[str, list[RunnerView]] = {}
        for g in GROUPS:
            members = [rv for rv in self.runners.values() if rv.group == g]
            if members:
                out[g] = members
        return out

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
        """failing (a failing verdict), empty (no outcome at all: nothing ran, which is never a pass),
        incomplete (interrupted, or a runner was not measured), or passing."""
        if self.failing:
            return "failing"
        if not self.outcome_count:
            return "empty"
        if not self.complete or self.counts["skipped"] or self.unavailable:
            return "incomplete"
        return "passing"

    @property
    def status_mark(self) -> str:
        return {"failing": "❌", "empty": "⚠️", "incomplete": "⚠️", "passing": "✅"}[self.status]

    @property
    def status_label(self) -> str:
        return "nothing ran" if self.status == "empty" else self.status

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

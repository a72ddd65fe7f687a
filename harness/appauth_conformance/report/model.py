"""Display-level aggregation of one results.json document, shared by report.md and report.html.

Everything here is counting, grouping and formatting of what the document
already says: verdicts, stages, differences and diagnoses are read, never
recomputed (the corpus and the runners are not needed and not touched). The
one lookup outside the document is the title of a diagnosis id, from the
static catalogue in harness/appauth_conformance/diagnosis.py (an unknown id is shown as itself).
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .. import diagnosis, model, untrusted
from ..model import Stage, Verdict

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
    the one neutralisation of runner-controlled text (appauth_conformance.untrusted)."""
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
    unsupported: int = 0
    tokens: Counter[str] = field(default_factory=Counter)  # token outcomes by verdict
    token_checks: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # stage -> verdicts
    token_diagnoses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # stage -> ids
    explains: Counter[str] = field(default_factory=Counter)  # diagnosis id -> failing outcomes it explains

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
                    "diagnoses": self.token_diagnoses.get(stage, Counter()).most_common(),
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
                if a.verdict != "runner-fault"
                else a.fault or a.reason,
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


def _checks_diagnosis(o: dict) -> list[str]:
    """For a token outcome: the mistakes of every check it failed, the stage of its verdict first."""
    checks = sorted(o.get("checks", ()), key=lambda c: c["stage"] != o.get("stage"))
    return list(dict.fromkeys(d for c in checks if c["verdict"] != "pass" for d in c.get("diagnosis", ())))


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
        signed = [v for k, v in self.vectors.items() if not k.startswith(TOKEN)]  # the corpus's sign vectors
        self.families = sorted({family(v["file"]) for v in signed})
        self.flags = sorted({f for v in signed for f in v["flags"]})
        self.vectors_per_mode = Counter(v["mode"] for v in signed)
        self.vectors_per_flag = Counter(f for v in signed for f in v["flags"])
        self.vectors_per_family = Counter(family(v["file"]) for v in signed)
        self.token_requests = len(self.vectors) - len(signed)
        self.modes = [m for m in MODES if self.vectors_per_mode[m]]
        if self.token_requests:
            self.modes.append(TOKEN_COLUMN)

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
            found = list(o.get("diagnosis", ())) or _checks_diagnosis(o)
            diag_ids.update(found)
            rv.explains.update(found)
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
            )
            if verdict == "known-divergence":
                rv.known.setdefault(a.reason or "(no reason given)", []).append(a)
            else:
                rv.anomalies.append(a)
        order = {k: i for i, k in enumerate(self.vectors)}
        for rv in self.runners.values():
            for a in [*rv.anomalies, *(x for items in rv.known.values() for x in items)]:
                # the mistake that explains most of this runner's failures first: its likely real cause
                a.diagnosis.sort(key=lambda d: -rv.explains[d])
            rv.anomalies.sort(key=lambda a: (SEVERITY[a.verdict], order.get(a.vector, 1 << 30)))
            rv.known = dict(sorted(rv.known.items(), key=lambda kv: -len(kv[1])))
        self.diagnoses = diagnosis_titles(sorted(diag_ids))
        self.counts: Counter[str] = Counter()
        for rv in self.runners.values():
            self.counts.update(rv.counts)

    @staticmethod
    def _token(rv: RunnerView, o: dict) -> None:
        """Count a token outcome: its verdict, and each of its checks (a pass carries none: all held)."""
        verdict = o["verdict"]
        rv.tokens[verdict] += 1
        if verdict in ("skipped", "unsupported", "runner-fault") or o.get("error"):
            return
        checks = o.get("checks")
        stages = [c["stage"] for c in checks] if checks else list(TOKEN_STAGES[:4])
        for c in checks or [{"stage": st, "verdict": "pass"} for st in stages]:
            rv.token_checks[c["stage"]]["checked"] += 1
            rv.token_checks[c["stage"]][c["verdict"]] += 1
            if c["verdict"] != "pass":
                rv.token_diagnoses[c["stage"]].update(c.get("diagnosis", ()) or ["(no known mistake)"])

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

"""Compare two results documents: what got worse, what got better, what changed.

    c = compare(load("published/results.json"), load("results.json"))
    print(c.format()); sys.exit(1 if c.regressed else 0)

Outcomes are matched by (runner, vector key). Verdicts fall in three classes:
good (pass, known-divergence), bad (fail, runner-fault, unexpected-pass) and
absent (skipped, or no outcome although the runner and the vector are in both
documents). Per runner:

    new failure     good -> bad                                   (a regression)
    lost            good or bad -> absent: coverage lost          (a regression)
    fix             bad -> pass
    changed output  same non-pass verdict, but a different signature,
                    string_to_sign or error type
    other change    any other verdict change (pass -> known-divergence,
                    fail -> known-divergence, fail -> runner-fault, absent -> judged...)

Across runners: runners added, runners removed (a regression: their coverage is
gone), vectors added, vectors removed (by key, from each document's `vectors`), and vectors retired:
removed with a tombstone in the corpus's vectors/retired.json (stable ids: an id is never reused).
`regressed` is true when there is a new failure, a lost outcome, a removed
runner, or when the new document is incomplete (an interrupted run cannot show
that nothing regressed). Nothing is judged again: verdicts and values are read from the documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from appauth_conformance.core import untrusted
from appauth_conformance.core.model import Tombstone
from appauth_conformance.formats.records import OutcomeRecord, ResultsDocument

GOOD = frozenset({"pass", "known-divergence"})
BAD = frozenset({"fail", "runner-fault", "unexpected-pass"})
ABSENT = "absent"  # no outcome, or skipped
LIST_LIMIT = 50  # per category and runner, in format()


@dataclass(frozen=True)
class Change:
    """One (vector, runner) pair that changed between the two documents."""

    vector: str
    runner: str
    old: str  # old verdict, or "absent"
    new: str  # new verdict, or "absent"
    detail: str = ""  # what changed, for people: stage, diagnosis, values

    def line(self) -> str:
        what = self.old if self.old == self.new else f"{self.old} -> {self.new}"
        return f"{self.vector}  {what}" + (f"  ({self.detail})" if self.detail else "")


@dataclass
class RunnerComparison:
    name: str
    new_failures: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    changed_outputs: list[Change] = field(default_factory=list)
    lost: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.new_failures or self.lost)

    @property
    def empty(self) -> bool:
        return not (self.new_failures or self.fixes or self.changed_outputs or self.lost or self.other_changes)


@dataclass
class Comparison:
    old_corpus: str
    new_corpus: str
    runners: dict[str, RunnerComparison]  # runners present in both documents
    runners_added: list[str]
    runners_removed: list[str]
    vectors_added: list[str]
    vectors_removed: list[str]  # gone from the new run without a tombstone
    old_complete: bool = True
    new_complete: bool = True
    vectors_retired: dict[str, str] = field(default_factory=dict)  # gone, with a tombstone: key -> why and when

    @property
    def new_failures(self) -> list[Change]:
        return [c for r in self.runners.values() for c in r.new_failures]

    @property
    def fixes(self) -> list[Change]:
        return [c for r in self.runners.values() for c in r.fixes]

    @property
    def changed_outputs(self) -> list[Change]:
        return [c for r in self.runners.values() for c in r.changed_outputs]

    @property
    def lost(self) -> list[Change]:
        return [c for r in self.runners.values() for c in r.lost]

    @property
    def regressed(self) -> bool:
        return bool(self.runners_removed) or not self.new_complete or any(r.regressed for r in self.runners.values())

    def format(self, limit: int = LIST_LIMIT) -> str:
        """Plain text for a terminal or a CI log."""
        out = []
        same = self.old_corpus == self.new_corpus
        out.append(f"corpus: {self.old_corpus[:12]}" + (" (unchanged)" if same else f" -> {self.new_corpus[:12]}"))
        if not self.new_complete:
            out.append("warning: the new run is incomplete (interrupted): it cannot show that nothing regressed")
        if not self.old_complete:
            out.append("warning: the old run is incomplete (interrupted)")
        reasons = []
        if self.new_failures:
            reasons.append(_n(len(self.new_failures), "new failure"))
        if self.lost:
            reasons.append(_n(len(self.lost), "lost outcome"))
        if self.runners_removed:
            reasons.append(_n(len(self.runners_removed), "runner removed", "runners removed"))
        if not self.new_complete:
            reasons.append("the new run is incomplete")
        if self.regressed:
            out.append("REGRESSED: " + ", ".join(reasons))
        else:
            good = [_n(len(self.fixes), "fix", "fixes")] if self.fixes else []
            out.append("no regression" + (f" ({', '.join(good)})" if good else ""))
        if self.runners_added:
            out.append("runners added: " + ", ".join(self.runners_added))
        if self.runners_removed:
            out.append("runners removed: " + ", ".join(self.runners_removed))
        for label, keys in (
            ("vectors added", self.vectors_added),
            (
                "vectors removed (no tombstone in vectors/retired.json: a published id must not disappear)",
                self.vectors_removed,
            ),
        ):
            if keys:
                shown = ", ".join(keys[:10]) + (f", ... and {len(keys) - 10} more" if len(keys) > 10 else "")
                out.append(f"{label}: {len(keys)} ({shown})")
        if self.vectors_retired:
            out.append(f"vectors retired: {len(self.vectors_retired)}")
            for key, why in list(self.vectors_retired.items())[:limit]:
                out.append(f"  RETIRED      {key}: {why}")
        for name, r in self.runners.items():
            if r.empty:
                continue
            counts = [
                _n(len(items), one, many)
                for items, one, many in (
                    (r.new_failures, "new failure", None),
                    (r.lost, "lost outcome", None),
                    (r.fixes, "fix", "fixes"),
                    (r.changed_outputs, "changed output", None),
                    (r.other_changes, "other change", None),
                )
                if items
            ]
            out.append("")
            out.append(f"{name}: " + ", ".join(counts))
            for label, items in (
                ("NEW FAILURE", r.new_failures),
                ("LOST", r.lost),
                ("FIX", r.fixes),
                ("CHANGED", r.changed_outputs),
                ("CHANGE", r.other_changes),
            ):
                for c in items[:limit]:
                    out.append(f"  {label:<12} {c.line()}")
                if len(items) > limit:
                    out.append(f"  {label:<12} ... and {len(items) - limit} more")
        if all(r.empty for r in self.runners.values()) and not (self.runners_added or self.runners_removed):
            out.append("no outcome changed")
        return "\n".join(out) + "\n"


def _id(key: str) -> str:
    """The vector id of a results key (mode/id, token/mode/id)."""
    return key.rsplit("/", 1)[-1]


def _n(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _index(doc: ResultsDocument) -> dict[tuple[str, str], OutcomeRecord]:
    out = {}
    for o in doc.get("outcomes", []):
        out[(o["runner"], o["vector"])] = o  # a pair recorded twice: the last record counts
    return out


def _verdict(o: OutcomeRecord | None) -> str:
    if o is None or o["verdict"] == "skipped":
        return ABSENT
    return o["verdict"]


def _describe(o: OutcomeRecord | None) -> str:
    if o is None:
        return ""
    parts: list[str] = []
    if o.get("stage"):
        parts.append(o["stage"])
    if o.get("diagnosis"):
        parts.append(", ".join(o["diagnosis"][:3]) + (", …" if len(o["diagnosis"]) > 3 else ""))
    if o.get("error"):
        parts.append(f"error {o['error'].get('type')}")
    if o.get("fault"):
        parts.append(f"fault: {untrusted.cut(o['fault'], 80)}")
    return "; ".join(parts)


def _value(v) -> str:
    if v is None:
        return "none"
    s = v if isinstance(v, str) else repr(v)
    s = s.encode("unicode_escape", "backslashreplace").decode("ascii")
    return untrusted.cut(s, 73)


def _output_change(a: OutcomeRecord, b: OutcomeRecord) -> str | None:
    """What differs between two outcomes with the same verdict: signature, string_to_sign or error type."""
    diffs = []
    for k in ("signature", "string_to_sign"):
        if a.get(k) != b.get(k):
            diffs.append(f"{k} {_value(a.get(k))} -> {_value(b.get(k))}")
    ea, eb = (a["error"]["type"] if "error" in a else None), (b["error"]["type"] if "error" in b else None)
    if ea != eb:
        diffs.append(f"error type {ea or 'none'} -> {eb or 'none'}")
    return "; ".join(diffs) or None


def compare(old: ResultsDocument, new: ResultsDocument, retired: Mapping[str, Tombstone] | None = None) -> Comparison:
    """Classify every change between two results documents (see the module docstring). `retired`: the
    corpus's tombstones (id -> Tombstone); a vector gone from the new run with one is retired, not removed."""
    retired = retired or {}
    old_runners = [r["name"] for r in old.get("runners", [])]
    new_runners = [r["name"] for r in new.get("runners", [])]
    for doc, names in ((old, old_runners), (new, new_runners)):
        for o in doc.get("outcomes", []):
            if o["runner"] not in names:
                names.append(o["runner"])
    both_runners = [n for n in new_runners if n in old_runners]
    old_vectors, new_vectors = list(old.get("vectors", {})), list(new.get("vectors", {}))
    old_set, new_set = set(old_vectors), set(new_vectors)
    both_vectors = [k for k in new_vectors if k in old_set]
    a_idx, b_idx = _index(old), _index(new)

    runners: dict[str, RunnerComparison] = {}
    for name in both_runners:
        rc = RunnerComparison(name)
        for key in both_vectors:
            a, b = a_idx.get((name, key)), b_idx.get((name, key))
            va, vb = _verdict(a), _verdict(b)
            if va == ABSENT and vb == ABSENT:
                continue
            if va == vb:
                if va != "pass" and a is not None and b is not None:
                    change = _output_change(a, b)
                    if change:
                        rc.changed_outputs.append(Change(key, name, va, vb, change))
                continue
            detail = _describe(b) or _describe(a)
            if va in GOOD and vb in BAD:
                rc.new_failures.append(Change(key, name, va, vb, detail))
            elif va != ABSENT and vb == ABSENT:
                rc.lost.append(Change(key, name, va, vb, "skipped" if b is not None else "no outcome"))
            elif va in BAD and vb == "pass":
                rc.fixes.append(Change(key, name, va, vb, _describe(a)))
            else:
                rc.other_changes.append(Change(key, name, va, vb, detail))
        runners[name] = rc

    return Comparison(
        old_corpus=old.get("corpus", {}).get("sha256", ""),
        new_corpus=new.get("corpus", {}).get("sha256", ""),
        runners=runners,
        runners_added=[n for n in new_runners if n not in old_runners],
        runners_removed=[n for n in old_runners if n not in new_runners],
        vectors_added=[k for k in new_vectors if k not in old_set],
        vectors_removed=[k for k in old_vectors if k not in new_set and _id(k) not in retired],
        vectors_retired={
            k: f"retired in {retired[_id(k)].retired_in}: {retired[_id(k)].reason}"
            for k in old_vectors
            if k not in new_set and _id(k) in retired
        },
        old_complete=bool(old.get("complete", True)),
        new_complete=bool(new.get("complete", True)),
    )

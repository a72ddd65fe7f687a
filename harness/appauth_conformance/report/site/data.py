"""The site's data: the runs of any number of results.json files, counted and grouped (never judged again).

A *run* is one runner record of one results document, with that document's outcomes for it. Runs
are told apart by runner name and library version (the hello's `library_version`, else the
variant): the same runner measured in two documents at two versions is two runs of one
implementation; at one version, the later document wins.

- rows: per runner name, its newest run (the support matrix shows these); its page id is the name,
  an older version's is `name--version`.
- families: the runs of one implementation over its versions, keyed by the hello's `name` and
  `library` (a reference snippet's OpenSSL variants, the SDK's releases), newest last: the history.

Counting is report/views.py's (a Summary per document); this module only sorts what it says.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from appauth_conformance.core.model import Tombstone
from appauth_conformance.formats.records import OutcomeRecord, ResultsDocument, RunnerRecord, VectorRecord
from appauth_conformance.report import views
from appauth_conformance.report.views import RunnerView, Summary

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


def version_key(version: str) -> list[tuple[int, int, str]]:
    """Sorts '3.0.94' < '3.1.167' and 'OpenSSL 1.1.1w' < 'OpenSSL 3.0.20': numbers as numbers (compared by
    length, then digits: no int(), which raises past 4,300 digits and a runner chose the text)."""
    return [_version_part(p) for p in re.findall(r"[0-9]+|[A-Za-z]+", version)]


def _version_part(p: str) -> tuple[int, int, str]:
    if not p[0].isdigit():
        return (1, 0, p)
    digits = p.lstrip("0")
    return (0, len(digits), digits)


class Ids:
    """File-safe ids, unique within one namespace: the same text always gets the same id."""

    def __init__(self) -> None:
        self.given: dict[str, str] = {}
        self.taken: set[str] = set()

    def __call__(self, text: str) -> str:
        if text in self.given:
            return self.given[text]
        base = _UNSAFE_ID.sub("-", text).strip("-.")[:80] or "x"
        found, n = base, 1
        while found.lower() in self.taken:  # case-insensitive file systems
            n += 1
            found = f"{base}-{n}"
        self.taken.add(found.lower())
        self.given[text] = found
        return found


@dataclass
class Run:
    """One runner of one results document."""

    name: str
    version: str
    view: RunnerView
    summary: Summary
    source: str  # the results file's name, as given
    outcomes: dict[str, OutcomeRecord]  # vector key -> its (last) outcome
    id: str = ""
    family: str = ""
    latest: bool = False

    @property
    def record(self) -> RunnerRecord:
        return self.view.record

    @property
    def hello(self) -> dict:
        return self.view.hello

    @property
    def counts(self) -> dict[str, int]:
        return {v: self.view.counts[v] for v in views.VERDICTS}

    def mistakes(self) -> set[str]:
        return {*self.view.explains, *self.view.excused}

    def cells(self, modes: list[str]) -> dict[str, dict]:
        return {m: views.cell(self.view.by_mode.get(m, Counter())) for m in modes}


@dataclass
class Step:
    """One version of a family's history, and what changed since the previous one."""

    run: Run
    appeared: list[str] = field(default_factory=list)  # mistakes first seen at this version
    gone: list[str] = field(default_factory=list)  # mistakes the previous version made and this one does not
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (vector, verdict before, verdict now)
    previous: Run | None = None
    # (token check, failing before, failing now, known before, known now) for each check whose counts moved
    token_changes: list[tuple[str, int, int, int, int]] = field(default_factory=list)


@dataclass
class Family:
    key: str  # the hello's name and library
    id: str
    title: str
    steps: list[Step]

    @property
    def runs(self) -> list[Run]:
        return [s.run for s in self.steps]


class Site:
    """Every run of the given documents, the matrix rows, the families, the vectors and the mistakes."""

    def __init__(self, docs: list[tuple[str, ResultsDocument]], retired: Mapping[str, Tombstone] | None = None):
        self.docs = docs
        self.retired = dict(retired or {})  # vector id -> tombstone (the corpus's vectors/retired.json)
        by_key: dict[tuple[str, str], Run] = {}
        self.vectors: dict[str, VectorRecord] = {}  # key -> record (the last document's)
        self.notes: dict[str, str] = {}
        for source, doc in docs:
            s = Summary(doc)
            self.vectors.update(doc.get("vectors", {}))
            self.notes.update(doc.get("notes", {}))
            per: dict[str, dict[str, OutcomeRecord]] = {n: {} for n in s.runners}
            for o in doc.get("outcomes", []):
                per[o["runner"]][o["vector"]] = o  # the last record of a pair wins, as in the Summary
            for name, rv in s.runners.items():
                version = rv.hello.get("library_version") or rv.record.get("variant") or ""
                by_key[(name, str(version))] = Run(name, str(version), rv, s, source, per[name])
        self.runs: list[Run] = sorted(by_key.values(), key=lambda r: (r.name, version_key(r.version), r.version))
        self.run_ids, self.vector_ids, self.mistake_ids, self.family_ids = Ids(), Ids(), Ids(), Ids()
        newest: dict[str, Run] = {}
        for r in self.runs:
            newest[r.name] = r  # sorted by version: the last one is the newest
        for r in newest.values():
            r.latest = True
            r.id = self.run_ids(r.name)
        for r in self.runs:
            if not r.latest:
                r.id = self.run_ids(f"{r.name}--{r.version}")
        order = {g: i for i, g in enumerate(views.GROUPS)}
        self.rows: list[Run] = sorted(newest.values(), key=lambda r: (order.get(r.view.group, 9), r.name))
        self.modes = [m for m in (*views.MODES, views.TOKEN_COLUMN) if any(m in r.view.by_mode for r in self.runs)]
        self.families = self._families()
        self.vector_keys = list(self.vectors)
        self.vector_page = {k: self.vector_ids(k) for k in self.vector_keys}
        seen: set[str] = set()
        for r in self.runs:
            seen |= r.mistakes()
        self.mistakes = views.diagnosis_titles(sorted(seen))
        self.mistake_page = {m: self.mistake_ids(m) for m in self.mistakes}

    def _families(self) -> list[Family]:
        def family_key(r: Run) -> str:
            return f"{r.hello.get('name') or r.name} / {r.hello.get('library') or '?'}"

        # a run without a hello (its runner did not start) joins the family of its runner name's other runs
        by_name = {r.name: family_key(r) for r in self.runs if r.hello}
        groups: dict[str, list[Run]] = {}
        for r in self.runs:
            groups.setdefault(family_key(r) if r.hello else by_name.get(r.name, family_key(r)), []).append(r)
        out = []
        for key, runs in sorted(groups.items()):
            runs.sort(key=lambda r: (version_key(r.version), r.version, r.name))
            steps: list[Step] = []
            for r in runs:
                r.family = self.family_ids(key)
                step = Step(r)
                if steps:
                    prev = steps[-1].run
                    step.appeared = sorted(r.mistakes() - prev.mistakes())
                    step.gone = sorted(prev.mistakes() - r.mistakes())
                    step.changed = changes(prev, r, self.retired)
                    step.previous = prev
                    step.token_changes = token_changes(prev, r)
                else:
                    step.appeared = sorted(r.mistakes())
                steps.append(step)
            title = runs[-1].hello.get("library") or runs[-1].name
            out.append(Family(key, self.family_ids(key), title, steps))
        return out

    def family_of(self, run: Run) -> Family:
        return next(f for f in self.families if f.id == run.family)

    def step_of(self, run: Run) -> Step:
        return next(s for s in self.family_of(run).steps if s.run is run)

    def outcome(self, run: Run, key: str) -> OutcomeRecord | None:
        return run.outcomes.get(key)

    def disagreement(self, key: str) -> int:
        """How many matrix rows give another verdict than pass for this vector."""
        return sum(1 for r in self.rows if (o := r.outcomes.get(key)) is not None and o["verdict"] != "pass")


def changes(before: Run, after: Run, retired: Mapping[str, Tombstone] | None = None) -> list[tuple[str, str, str]]:
    """(vector, verdict before, verdict after) for every vector whose verdict differs between two runs;
    a vector one of them did not run shows as 'not run', or 'retired' when its id has a tombstone."""
    out = []
    for k in dict.fromkeys([*before.outcomes, *after.outcomes]):
        gone = "retired" if retired and retired_id(k) in retired else "not run"
        a: str = before.outcomes[k]["verdict"] if k in before.outcomes else gone
        b: str = after.outcomes[k]["verdict"] if k in after.outcomes else gone
        if a != b:
            out.append((k, a, b))
    return out


def token_changes(before: Run, after: Run) -> list[tuple[str, int, int, int, int]]:
    """Token checks whose failing or known-divergence counts differ between two runs."""
    a = {row["stage"]: row for row in before.view.token_rows()} if before.view.tokens else {}
    b = {row["stage"]: row for row in after.view.token_rows()} if after.view.tokens else {}
    out = []
    for stage in views.TOKEN_STAGES:
        x, y = a.get(stage, {}), b.get(stage, {})
        moved = (x.get("fail", 0), y.get("fail", 0), x.get("known", 0), y.get("known", 0))
        if moved[0] != moved[1] or moved[2] != moved[3]:
            out.append((stage, *moved))
    return out


def retired_id(key: str) -> str:
    """The vector id of a results key (mode/id, token/mode/id): what a tombstone names."""
    return key.rsplit("/", 1)[-1]

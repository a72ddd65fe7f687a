"""Known divergences: per-runner lists of what a runner is known to get wrong, each with a reason.

Strict, like protobuf's failure lists: an entry whose vectors pass is an
unexpected pass, and an entry that matches no vector or excuses nothing in a
full run is stale; both fail the run, and the message prints the command that
rewrites the file.

    # runners/java/known-divergences.yaml
    schema: appauth-conformance/known-divergences/1
    runner: java-reference
    divergences:
      - match: empty-key-*          # fnmatch pattern on the vector id (or mode/id)
        stage: error-where-none-was-due   # optional: the failure must be at this stage
        reason: SecretKeySpec throws IllegalArgumentException("Empty key") ...
      - flag: high-surrogate        # or every vector carrying a flag
        reason: ...
      - diagnosis: hex-uppercase    # or one named mistake, wherever it explains the failure
        reason: the vendor SDK writes upper-case hex
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import schemas, vectors, yamlfile
from .errors import UsageError
from .files import write_atomic
from .model import RunnerSpec, Stage, Vector

SCHEMA_ID = "appauth-conformance/known-divergences/1"


@dataclass(frozen=True, eq=False)
class Divergence:
    reason: str
    match: str | None = None
    flag: str | None = None
    stage: Stage | None = None
    line: int = 0
    diagnosis: str | None = None  # excuses only failures this mistake (id, or "a+b" pair) explains

    def matches(self, v: Vector) -> bool:
        """Does the entry name this vector (by id pattern and flag; a diagnosis-only entry names every one)?"""
        if self.flag is not None and self.flag not in v.flags:
            return False
        if self.match is not None and not (
            fnmatch.fnmatchcase(v.id, self.match) or fnmatch.fnmatchcase(v.key, self.match)
        ):
            return False
        return True

    def explains(self, diagnosis: Collection[str]) -> bool:
        return self.diagnosis is None or self.diagnosis in diagnosis

    @property
    def label(self) -> str:
        parts = [
            f"{k}: {v}" for k, v in (("match", self.match), ("flag", self.flag), ("diagnosis", self.diagnosis)) if v
        ]
        return ", ".join(parts)


def update_command(spec: RunnerSpec) -> str:
    return f"appauth-conformance divergences update --lang {spec.name}"


class Expectations:
    """The known divergences of one runner, indexed so that lookups stay linear in the corpus."""

    def __init__(self, spec: RunnerSpec, entries: list[Divergence], path: Path | None):
        self.spec, self.entries, self.path = spec, entries, path
        self._exact: dict[str, list[Divergence]] = {}  # exact ids: a dict lookup, not a scan
        for e in entries:
            if e.match and e.flag is None and not any(c in e.match for c in "*?["):
                self._exact.setdefault(e.match, []).append(e)
        exact = {id(e) for es in self._exact.values() for e in es}
        self._other = [e for e in entries if id(e) not in exact]

    @classmethod
    def load(cls, spec: RunnerSpec) -> Expectations:
        path = spec.divergences
        if path is None or not path.exists():
            return cls(spec, [], path)
        try:
            raw = path.read_text(encoding="utf-8")
            doc = yamlfile.load(raw) or {}
        except (OSError, UnicodeDecodeError, yamlfile.YAMLError) as e:
            raise UsageError(f"{path}: cannot read known divergences: {e}") from None
        lines = yamlfile.Lines(raw)
        if not schemas.check("known-divergences")(doc):
            problems = []
            for err in schemas.errors("known-divergences", doc)[:5]:
                p = list(err.absolute_path)
                at = lines.of(p[:2]) or "?"  # the entry's line (or the deepest node there is)
                problems.append(f"  {path}:{at}: {'/'.join(map(str, p)) or '(top level)'}: {err.message[:200]}")
            raise UsageError(
                f"{path}: not a known-divergence file ({SCHEMA_ID}, docs/gate.md):\n"
                + "\n".join(problems)
                + f"\nA file starts with `schema: {SCHEMA_ID}`; each entry has `reason` and `match`, `flag` or `diagnosis`."
            )
        if doc.get("runner") not in (None, spec.name, spec.family):
            raise UsageError(f"{path}: file is for runner {doc.get('runner')!r}, not {spec.name!r}")
        entries = []
        for i, entry in enumerate(doc["divergences"]):
            stage = Stage(entry["stage"]) if entry.get("stage") else None
            entries.append(
                Divergence(
                    entry["reason"],
                    entry.get("match"),
                    entry.get("flag"),
                    stage,
                    lines.of(["divergences", i]) or 0,
                    entry.get("diagnosis"),
                )
            )
        return cls(spec, entries, path)

    def candidates(self, v: Vector) -> list[Divergence]:
        """The entries that name v, in file order (exact ids first)."""
        return [*self._exact.get(v.id, ()), *self._exact.get(v.key, ()), *(o for o in self._other if o.matches(v))]

    def find(self, v: Vector, stage: Stage | None = None, diagnosis: Collection[str] = ()) -> Divergence | None:
        """The entry for an outcome of v: failing at `stage` (None: conforming), explained by `diagnosis`.

        A conforming outcome is matched only by entries that name no diagnosis (those make it an
        unexpected pass); a failing one by entries whose diagnosis explains it, and among them one
        listing that stage wins over the first (a vector with a NUL and a surrogate is covered by the
        surrogate entry when that is how it fails)."""
        first = None
        for e in self.candidates(v):
            if stage is None:
                if e.diagnosis is None:
                    return e
                continue
            if not e.explains(diagnosis):
                continue
            if e.stage in (None, stage):
                return e
            first = first or e
        return first

    def stale(self, vectors: list[Vector], excused: Collection[Divergence] | None = None) -> list[Divergence]:
        """Entries that name no vector of the corpus; with `excused` (the entries that excused an outcome
        in a run over the whole corpus), also those that excused nothing."""
        named: set[int] = set()
        for v in vectors:
            named.update(id(e) for e in self.candidates(v))
        used = {id(e) for e in excused} if excused is not None else None
        return [e for e in self.entries if id(e) not in named or (used is not None and id(e) not in used)]


def stale_message(spec: RunnerSpec, stale: list[Divergence]) -> str:
    tombstones = vectors.retired()  # an entry naming a retired vector says so: retired, not missing

    def why(e: Divergence) -> str:
        t = tombstones.get((e.match or "").rsplit("/", 1)[-1])
        return f" [vector retired in {t.retired_in}: remove the entry]" if t else ""

    listed = "\n".join(f"  {spec.divergences}:{e.line}: {e.label} ({e.reason[:60]}){why(e)}" for e in stale)
    n = len(stale)
    return (
        f"{n} known-divergence entr{'y' if n == 1 else 'ies'} of {spec.name} excuse{'s' if n == 1 else ''} nothing "
        f"(no vector of the corpus fails as listed):\n{listed}\nThe list is stale: run `{update_command(spec)}`"
    )


def write(spec: RunnerSpec, path: Path, entries: list[dict[str, str | None]]) -> None:
    """Rewrite a known-divergence file (used by `divergences update`)."""
    doc = {"schema": SCHEMA_ID, "runner": spec.name, "divergences": entries}
    header = (
        f"# Known divergences of {spec.name}: what it is known to do differently, with the reason.\n"
        f"# Strict: an entry that excuses nothing, or whose vectors pass, fails the run. Regenerate: {update_command(spec)}\n"
    )
    write_atomic(path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))

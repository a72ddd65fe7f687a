"""Known divergences: per-runner lists of vectors a runner is known to fail, each with a reason.

Strict, like protobuf's failure lists: an entry whose vectors pass is an
unexpected pass, and an entry that matches no vector is stale; both fail the
run, and the message prints the command that rewrites the file.

    # runners/java/known-divergences.yaml
    runner: java-reference
    divergences:
      - match: empty-key-*          # fnmatch pattern on the vector id (or mode/id)
        stage: error-where-none-was-due   # optional: the failure must be at this stage
        reason: SecretKeySpec throws IllegalArgumentException("Empty key") ...
      - flag: high-surrogate        # or every vector carrying a flag
        reason: ...
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import schemas, yamlfile
from .errors import UsageError
from .files import write_atomic
from .model import RunnerSpec, Stage, Vector

SCHEMA_ID = "appauth-conformance/known-divergences/1"


@dataclass(frozen=True)
class Divergence:
    reason: str
    match: str | None = None
    flag: str | None = None
    stage: Stage | None = None
    line: int = 0

    def matches(self, v: Vector) -> bool:
        if self.flag is not None and self.flag not in v.flags:
            return False
        if self.match is not None and not (
            fnmatch.fnmatchcase(v.id, self.match) or fnmatch.fnmatchcase(v.key, self.match)
        ):
            return False
        return True

    @property
    def label(self) -> str:
        return f"match: {self.match}" if self.match else f"flag: {self.flag}"


def update_command(spec: RunnerSpec) -> str:
    return f"appauth-conformance divergences update --lang {spec.name}"


class Expectations:
    """The known divergences of one runner, indexed so that lookups stay linear in the corpus."""

    def __init__(self, spec: RunnerSpec, entries: list[Divergence], path: Path | None):
        self.spec, self.entries, self.path = spec, entries, path
        self._exact = {
            e.match: e for e in entries if e.match and e.flag is None and not any(c in e.match for c in "*?[")
        }
        self._other = [e for e in entries if e not in self._exact.values()]

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
                + f"\nA file starts with `schema: {SCHEMA_ID}`; each entry has `reason` and `match` or `flag`."
            )
        if doc.get("runner") not in (None, spec.name, spec.family):
            raise UsageError(f"{path}: file is for runner {doc.get('runner')!r}, not {spec.name!r}")
        entries = []
        for i, entry in enumerate(doc["divergences"]):
            stage = Stage(entry["stage"]) if entry.get("stage") else None
            entries.append(
                Divergence(
                    entry["reason"], entry.get("match"), entry.get("flag"), stage, lines.of(["divergences", i]) or 0
                )
            )
        return cls(spec, entries, path)

    def find(self, v: Vector, stage: Stage | None = None) -> Divergence | None:
        """The entry for v; with a stage, an entry listing that stage wins over the first match
        (a vector with a NUL and a surrogate is covered by the surrogate entry when that is how it fails)."""
        first = None
        for e in (self._exact.get(v.id), self._exact.get(v.key), *(o for o in self._other if o.matches(v))):
            if e is None:
                continue
            if stage is None or e.stage in (None, stage):
                return e
            first = first or e
        return first

    def stale(self, vectors: list[Vector]) -> list[Divergence]:
        """Entries that match no vector of the corpus."""
        used = set()
        for v in vectors:
            e = self.find(v)
            if e is not None:
                used.add(id(e))
        return [e for e in self.entries if id(e) not in used]


def write(spec: RunnerSpec, path: Path, entries: list[dict[str, str | None]]) -> None:
    """Rewrite a known-divergence file (used by `divergences update`)."""
    doc = {"schema": SCHEMA_ID, "runner": spec.name, "divergences": entries}
    header = (
        f"# Known divergences of {spec.name}: vectors it is known to fail, with the reason.\n"
        f"# Strict: an entry that passes or matches nothing fails the run. Regenerate: {update_command(spec)}\n"
    )
    write_atomic(path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))

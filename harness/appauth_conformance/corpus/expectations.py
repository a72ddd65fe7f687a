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
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec, Stage, Vector
from appauth_conformance.corpus import vectors
from appauth_conformance.formats import schemas, yamlfile
from appauth_conformance.formats.files import write_atomic

SCHEMA_ID = "appauth-conformance/known-divergences/1"
# the stages an entry may name (the schema's enum): where a sign outcome fails
ENTRY_STAGES = (
    Stage.STRING_TO_SIGN.value,
    Stage.SIGNATURE.value,
    Stage.UNEXPECTED_ERROR.value,
    Stage.UNEXPECTED_SIGNATURE.value,
)


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
    def placeholder(self) -> bool:
        """A reason still to be written (what `divergences update` adds without --reason): fails the run."""
        return is_placeholder(self.reason)

    @property
    def label(self) -> str:
        parts = [
            f"{k}: {v}" for k, v in (("match", self.match), ("flag", self.flag), ("diagnosis", self.diagnosis)) if v
        ]
        return ", ".join(parts)


TODO = "TODO"  # a reason starting with it is a placeholder: the entry fails the run until it is written


def is_placeholder(reason: str) -> bool:
    return reason.strip().upper().startswith(TODO) or not reason.strip()


def update_command(spec: RunnerSpec, run_args: Sequence[str] = ()) -> str:
    """The command that rewrites spec's list, as the user can paste it where they ran the suite: it carries
    `run_args`, the run's own selection arguments (config.Options.rerun_args: --runner, --divergences,
    --config, --vectors, --backend, ...), shell-quoted."""
    return shlex.join(["appauth-conformance", "divergences", "update", "--lang", spec.name, *run_args])


def did_you_mean(word: str, known: Collection[str]) -> str:
    import difflib  # only for a misspelt name

    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown_names(exp: Expectations, diagnoses: Collection[str], flags: Collection[str] | None = None) -> list[str]:
    """Every entry naming a diagnosis id (or a pair "a+b") not in `diagnoses`, or a flag not in `flags`
    (None: not checked), as a message with its place and the nearest known name. Such an entry would
    excuse nothing: a misspelling, not a stale entry (and `divergences update` must never delete it)."""
    out = []
    for e in exp.entries:
        where = f"{exp.path}:{e.line}"
        for d in (e.diagnosis or "").split("+") if e.diagnosis else ():
            if d not in diagnoses:
                out.append(f"{where}: unknown diagnosis id '{d}'{did_you_mean(d, diagnoses)}")
        if flags is not None and e.flag is not None and e.flag not in flags:
            out.append(f"{where}: unknown flag '{e.flag}'{did_you_mean(e.flag, flags)}")
    return out


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
        _check_stages(doc, path, lines)
        if not schemas.check("known-divergences")(doc):
            problems = []
            for err in schemas.errors("known-divergences", doc)[:5]:
                p = list(err.absolute_path)
                at = lines.of(p[:2]) or "?"  # the entry's line (or the deepest node there is)
                problems.append(f"  {path}:{at}: {'/'.join(map(str, p)) or '(top level)'}: {_cut(err.message, 200)}")
            raise UsageError(
                f"{path}: not a known-divergence file ({SCHEMA_ID}, `appauth-conformance docs gate`):\n"
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

    def placeholders(self) -> list[Divergence]:
        """Entries whose reason is still a placeholder (`reason: TODO...`): each fails the run."""
        return [e for e in self.entries if e.placeholder]

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


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def stale_message(spec: RunnerSpec, stale: list[Divergence], run_args: Sequence[str] = ()) -> str:
    tombstones = vectors.retired()  # an entry naming a retired vector says so: retired, not missing

    def why(e: Divergence) -> str:
        t = tombstones.get((e.match or "").rsplit("/", 1)[-1])
        return f" [vector retired in {t.retired_in}: remove the entry]" if t else ""

    listed = "\n".join(f"  {spec.divergences}:{e.line}: {e.label} ({_cut(e.reason, 60)}){why(e)}" for e in stale)
    n = len(stale)
    return (
        f"{n} known-divergence entr{'y' if n == 1 else 'ies'} of {spec.name} excuse{'s' if n == 1 else ''} nothing "
        f"(no vector of the corpus fails as listed):\n{listed}\n"
        f"The list is stale: run `{update_command(spec, run_args)}`"
    )


def placeholder_message(spec: RunnerSpec, entries: list[Divergence]) -> str:
    listed = "\n".join(f"  {spec.divergences}:{e.line}: {e.label} (reason: {_cut(e.reason, 60)})" for e in entries)
    n = len(entries)
    return (
        f"{n} known-divergence entr{'y' if n == 1 else 'ies'} of {spec.name} ha{'s' if n == 1 else 've'} no reason "
        f"yet (`reason: {TODO}...`, as `divergences update` writes without --reason):\n{listed}\n"
        "An entry excuses a failure only with a reason a reviewer can check: write why the runner diverges "
        "in each `reason:` (or remove the entry). Until then the run fails."
    )


def _check_stages(doc: object, path: Path, lines: yamlfile.Lines) -> None:
    """An unknown stage is a usage error naming the nearest stage (before the schema's wording of it)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("divergences"), list):
        return
    known = ENTRY_STAGES
    for i, entry in enumerate(doc["divergences"]):
        stage = entry.get("stage") if isinstance(entry, dict) else None
        if isinstance(stage, str) and stage not in known:
            raise UsageError(
                f"{path}:{lines.of(['divergences', i]) or '?'}: unknown stage '{stage}'{did_you_mean(stage, known)} "
                f"(a stage is one of: {', '.join(known)})"
            )


def write(spec: RunnerSpec, path: Path, entries: list[dict[str, str | None]], run_args: Sequence[str] = ()) -> None:
    """Rewrite a known-divergence file (used by `divergences update`)."""
    doc = {"schema": SCHEMA_ID, "runner": spec.name, "divergences": entries}
    header = (
        f"# Known divergences of {spec.name}: what it is known to do differently, with the reason.\n"
        "# Strict: an entry that excuses nothing, or whose vectors pass, or whose reason is still TODO, fails the run.\n"
        f"# Regenerate: {update_command(spec, run_args)}\n"
    )
    write_atomic(path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))

"""Save: reproducer flags in the corpus's own vocabulary, and `--save` (each group's reproducer as a vector).

The flags are those `--save` writes; the fuzzer also gives them to a group's reproducer
before asking the runner's known-divergence list about it, so a group is "known" exactly
when `appauth-conformance run` would call the saved vector a known divergence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from appauth_conformance.core import text
from appauth_conformance.core.errors import CorpusError, UsageError
from appauth_conformance.core.model import Vector
from appauth_conformance.corpus import authoring, vectors
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS
from appauth_conformance.formats import yamlfile
from appauth_conformance.fuzz.edges import DATA_FIELDS, FIELDS, INT64_MAX
from appauth_conformance.fuzz.full_vectors import replace_inputs
from appauth_conformance.fuzz.triage import Group, slug
from appauth_conformance.judging import diagnosis


def _kb(v: Vector) -> int:
    return len(v.app_key.encode("utf-8", "surrogatepass"))


REPRODUCER_FLAGS: dict[str, Callable[[Vector], bool]] = {
    "nul": lambda v: any("\0" in getattr(v, f) for f in DATA_FIELDS),
    "key-nul-start": lambda v: v.app_key.startswith("\0"),
    "key-nul-middle": lambda v: "\0" in v.app_key.strip("\0"),
    "key-nul-end": lambda v: v.app_key.endswith("\0"),
    "empty-key": lambda v: v.app_key == "",
    "high-surrogate": lambda v: any(re.search("[\ud800-\udbff]", getattr(v, f)) for f in FIELDS),
    "low-surrogate": lambda v: any(re.search("[\udc00-\udfff]", getattr(v, f)) for f in FIELDS),
    "reversed-surrogates": lambda v: any(re.search("[\udc00-\udfff][\ud800-\udbff]", getattr(v, f)) for f in FIELDS),
    "expire-zero": lambda v: v.expire_time == 0,
    "discouraged": lambda v: v.expire_time == 0 and v.result == "valid",
    "expire-2038": lambda v: v.expire_time == 2**31 - 1,
    "expire-int32-overflow": lambda v: v.expire_time == 2**31,
    "expire-2106": lambda v: v.expire_time == 2**32,
    "expire-float-precision": lambda v: v.expire_time > 2**53 and float(v.expire_time) != v.expire_time,
    "expire-int64-max": lambda v: v.expire_time == INT64_MAX,
    "key-63": lambda v: not text.has_lone_surrogate(v.app_key) and _kb(v) == 63,
    "key-64": lambda v: not text.has_lone_surrogate(v.app_key) and _kb(v) == 64,
    "key-65": lambda v: not text.has_lone_surrogate(v.app_key) and _kb(v) == 65,
    "colon": lambda v: any(":" in getattr(v, f) for f in FIELDS),
    "emoji": lambda v: any(ord(ch) > 0xFFFF for f in FIELDS for ch in getattr(v, f)),
    "latin1-range": lambda v: any("\x80" <= ch <= "\xff" for f in FIELDS for ch in getattr(v, f)),
}
FUZZ_FLAG = "fuzz-regression"
FUZZ_NOTE = (
    "A minimal reproducer found by `appauth-conformance fuzz` (differential fuzzing against the oracle) "
    "and shrunk; the description names the runner, the cause and the seed."
)


def cause_flag(g: Group) -> str:
    return "fuzz-cause-" + g.cause_slug


def cause_note(g: Group) -> str:
    if g.kind == "diagnosis":
        titles = "; ".join(f"{i}: {diagnosis.BY_ID[i].title}" for i in sorted(g.causes) if i in diagnosis.BY_ID)
        what = f"the output is explained by the known mistake(s) {titles}"
    elif g.kind == "classes":
        what = "no known mistake explains the output; every disagreeing input carried the input classes " + (
            ", ".join(sorted(g.causes)) or "(none)"
        )
    elif g.kind == "refused":
        what = f"the runner refused a valid input with {sorted(g.causes)[0].partition(':')[2]}"
    else:
        what = f"the runner broke ({sorted(g.causes)[0]})"
    return f"Fuzz cause {g.cause}: {what}."


def reproducer_flags(v: Vector, g: Group | None = None, documented: set[str] | None = None) -> tuple[str, ...]:
    flags = [FUZZ_FLAG] + ([cause_flag(g)] if g is not None else [])
    for name, pred in REPRODUCER_FLAGS.items():
        if (documented is None or name in documented) and pred(v):
            flags.append(name)
    return tuple(flags)


def flagged_reproducer(g: Group) -> Vector | None:
    """The group's reproducer (or smallest example) as a plain vector with the flags --save gives it."""
    if g.smallest is None:
        return None
    base = replace_inputs(g.smallest)
    return dataclasses.replace(base, flags=reproducer_flags(base, g))


class Findings(Protocol):
    """What save_reproducers needs of a run (a FuzzReport)."""

    seed: int

    @property
    def groups(self) -> list[Group]: ...


def save_reproducers(report: Findings, save_dir: Path, corpus: Path = DEFAULT_VECTORS) -> list[Path]:
    """Write each group's reproducer into save_dir/<runner>-<cause>.yaml; returns the files written.

    Ids are unique across the corpus (and the save folder), flags are documented in each
    file's notes (corpus flags with the corpus's own note text), expected values come from
    authoring.fill_file, and the folder is re-loaded with vectors.load to prove it valid.
    """
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    corpus_notes: dict[str, str] = {}
    ids: set[str] = set()
    for src in {Path(corpus).resolve(), save_dir.resolve()}:
        if src.is_dir() and not any(src.rglob("*.yaml")):
            continue  # an empty save folder: nothing to be unique against yet
        try:
            c = vectors.load(src, verify=False)
        except CorpusError as e:
            raise UsageError(f"cannot save reproducers: the corpus at {src} does not load:\n{e}") from None
        ids |= {v.id for v in c.vectors}
        for notes in c.notes.values():
            for k, n in notes.items():
                corpus_notes.setdefault(k, n)
    written: list[Path] = []
    for g in report.groups:
        v = g.smallest
        if v is None or g.kind == "overflow":
            continue
        base = replace_inputs(v)
        flags = reproducer_flags(base, g, documented=set(corpus_notes) | {FUZZ_FLAG, cause_flag(g)})
        digest = hashlib.sha256(
            json.dumps(
                [g.runner, g.cause, base.mode, *(text.utf16_units(getattr(base, f)) for f in FIELDS), base.expire_time]
            ).encode()
        ).hexdigest()[:8]
        runner_slug = slug(g.runner.removesuffix("-reference"))
        vid = f"fuzz-{runner_slug}-{g.cause_slug}"[:70].rstrip("-") + f"-{digest}"
        path = save_dir / f"{slug(g.runner)}-{g.cause_slug}.yaml"
        if vid in ids:
            g.saved = f"{path} (already there: {vid})"
            continue
        if path.exists():
            doc = yamlfile.load(path.read_text(encoding="utf-8")) or {}
        else:
            doc = {
                "schema": vectors.SCHEMA_ID,
                "description": f"Fuzz regressions of {g.runner}: {g.cause}. Minimal reproducers written by "
                "`appauth-conformance fuzz --save`; see `appauth-conformance docs fuzzing`.",
                "notes": {},
                "vectors": [],
            }
        notes = doc.setdefault("notes", {})
        for fl in flags:
            if fl == FUZZ_FLAG:
                notes.setdefault(fl, corpus_notes.get(fl, FUZZ_NOTE))
            elif fl == cause_flag(g):
                notes.setdefault(fl, corpus_notes.get(fl, cause_note(g)))
            else:
                notes.setdefault(fl, corpus_notes[fl])
        doc.setdefault("vectors", []).append(
            {
                "id": vid,
                "description": (
                    f"{g.runner} disagrees with the oracle at stage {g.stage}: {g.cause}. "
                    f"Found by `appauth-conformance fuzz --seed {report.seed}` ({g.count} disagreeing "
                    f"input(s) in the group), shrunk to this input."
                ),
                "mode": base.mode,
                "inputs": {
                    "app_id": text.encode(base.app_id),
                    "corp_id": text.encode(base.corp_id),
                    "user_id": text.encode(base.user_id),
                    "expire_time": base.expire_time,
                    "nonce": text.encode(base.nonce),
                    "app_key": text.encode(base.app_key),
                },
                "result": base.result,
                "flags": list(flags),
            }
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(authoring.dump(doc), encoding="utf-8")
        authoring.fill_file(tmp)
        tmp.replace(path)
        ids.add(vid)
        g.saved = str(path)
        if path not in written:
            written.append(path)
    if any(save_dir.rglob("*.yaml")):
        vectors.load(save_dir)  # what was written must pass every check (raises CorpusError otherwise)
    return written

"""The Docker variants of the runners: data beside each runner, in `runners/<runner>/variants.yaml`.

Every runner folder of the package data that has a variants.yaml gets its variants from it
(checked against the closed schema `formats/schemas/variants.json`); one file looks like

    schema: appauth-conformance/variants/1
    variants:
      - name: cpp-reference            # the default keeps the runner's name (test ids, divergence lists)
        default: true
        alias: cpp-openssl-3.0         # another name that selects it with --lang
        suite: bookworm                # Debian suite of the base image and the apt mirror
        pins: OpenSSL 3.0 (Debian 12 bookworm libssl-dev, g++ 12)
        vars: {packages: [g++, libssl-dev], runtime_packages: [libssl3]}   # template variables
      - name: cpp-openssl-1.1.1
        ...

A variant is its runner's RunnerSpec (command, build recipe, sources) with another name and a
`docker` setting that says how to build its image:

    docker = {"template": "Dockerfile.j2", "suite": "bullseye", "pins": "...", "vars": {...}}

and it shares the runner's known-divergence list (`family` = the runner's name). The default
variant of each runner is what `--backend=docker` runs; `--matrix` runs them all.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from pathlib import Path

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.registry import BUILTINS, RUNNERS_DIR
from appauth_conformance.formats import schemas, yamlfile

FILE_NAME = "variants.yaml"
SCHEMA_PATH = schemas.path("variants")
SCHEMA_VERSION = "appauth-conformance/variants/1"
DEFAULT_TEMPLATE = "Dockerfile.j2"
HOW_TO_FIX = (
    "fix the file to match the schema appauth_conformance/formats/schemas/variants.json of the installed package "
    '(the format and an example: `appauth-conformance docs docker`, "The variant matrix")'
)


def files(runners_dir: Path = RUNNERS_DIR) -> list[Path]:
    """Every runners/<runner>/variants.yaml, in folder-name order."""
    return sorted(p for p in Path(runners_dir).glob(f"*/{FILE_NAME}") if p.is_file())


def _where(path: Iterable) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


class _File:
    """One variants.yaml being read: its text, for line numbers in messages."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{path}: cannot read the Docker variants: {e}") from None
        self.lines = yamlfile.Lines(self.raw)

    def error(self, problem: str, path: Iterable = (), fix: str = HOW_TO_FIX) -> UsageError:
        path = list(path)
        line = self.lines.of(path)
        where = f"{self.path}:{line}" if line else str(self.path)
        at = f" {_where(path)}:" if path else ""
        return UsageError(f"{where}:{at} {problem}; {fix}")


def load_file(path: Path, runner: RunnerSpec) -> list[RunnerSpec]:
    """The variants of `runner` declared in `path`, checked; UsageError naming the file, the line and the fix."""
    f = _File(Path(path))
    try:
        doc = yamlfile.load(f.raw)
    except yamlfile.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{f.path}:{mark.line + 1}" if mark else str(f.path)
        raise UsageError(f"{where}: YAML syntax: {getattr(e, 'problem', None) or e}; {HOW_TO_FIX}") from None
    if isinstance(doc, dict) and doc.get("schema") != SCHEMA_VERSION:
        raise f.error(
            f"`schema` is {doc.get('schema')!r}, expected {SCHEMA_VERSION!r}",
            ["schema"] if "schema" in doc else [],
            fix=f"start the file with `schema: {SCHEMA_VERSION}`",
        )
    errors = schemas.errors("variants", doc)
    if errors:
        err = errors[0]
        path_ = list(err.absolute_path)
        msg = err.message
        extra = schemas.unexpected_keys(err)
        if extra:
            path_.append(extra[0])
            msg += f"; allowed: {', '.join(schemas.listed_keys(err))}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise f.error(msg + more, path_)
    out: list[RunnerSpec] = []
    defaults = [i for i, v in enumerate(doc["variants"]) if v.get("default")]
    if len(defaults) != 1:
        raise f.error(
            f"{len(defaults)} variants are marked `default: true`, expected exactly one",
            ["variants", defaults[1]] if defaults else ["variants"],
            fix=f"mark the one that --backend=docker runs for {runner.name} with `default: true`",
        )
    seen: set[str] = set()
    for i, v in enumerate(doc["variants"]):
        default = bool(v.get("default"))
        if default and v["name"] != runner.name:
            raise f.error(
                f"the default variant is named {v['name']!r}",
                ["variants", i, "name"],
                fix=f"name it {runner.name!r} (the runner's own name, so test ids and divergence lists match "
                "--backend=local) and give the pinned name as its `alias`",
            )
        for word in (v["name"], v.get("alias")):
            if word is None:
                continue
            if word in seen:
                raise f.error(f"{word!r} is used twice", ["variants", i], fix="give every variant a unique name")
            seen.add(word)
        alias = (v["alias"],) if "alias" in v else ()
        out.append(
            dataclasses.replace(
                runner,
                name=v["name"],
                aliases=(*runner.aliases, *alias) if default else alias,
                builtin=default,  # a default replaces the local built-in of the same name in a registry
                family=runner.family or runner.name,
                divergences=runner.divergences,
                docker={
                    "template": v.get("template", DEFAULT_TEMPLATE),
                    "suite": v["suite"],
                    "pins": v["pins"],
                    "vars": dict(v.get("vars", {})),
                },
            )
        )
    return out


def load(runners_dir: Path = RUNNERS_DIR, runners: Iterable[RunnerSpec] = BUILTINS) -> list[RunnerSpec]:
    """The variants of every runner whose source folder in `runners_dir` has a variants.yaml, in the
    order of `runners` (the registry's). A variants.yaml in a folder that no runner builds from is an
    error (it would be ignored)."""
    runners = list(runners)
    owners = {Path(r.source).resolve(): r for r in runners if r.source is not None}
    out: list[RunnerSpec] = []
    by_name: dict[str, Path] = {}
    found = files(runners_dir)
    for path in found:
        if path.parent.resolve() not in owners:
            raise UsageError(
                f"{path}: no runner builds from {path.parent}; add the runner to the registry "
                "(appauth_conformance.execution.registry.BUILTINS, with this folder as its source) or remove the file"
            )
    by_folder = {path.parent.resolve(): path for path in found}
    for r in runners:
        vfile = by_folder.get(Path(r.source).resolve()) if r.source is not None else None
        if vfile is None:
            continue
        for v in load_file(vfile, r):
            for word in (v.name, *v.aliases):
                if word in by_name and by_name[word] != vfile:
                    raise UsageError(
                        f"{vfile}: the variant name {word!r} is also used in {by_name[word]}; "
                        "give every variant a unique name"
                    )
                by_name[word] = vfile
            out.append(v)
    return out


@functools.cache
def _loaded() -> tuple[RunnerSpec, ...]:
    return tuple(load())


def default_variants() -> list[RunnerSpec]:
    """The runners of `--backend=docker` (one per runner, with the runner's own name)."""
    return [v for v in _loaded() if v.builtin]


def all_variants() -> list[RunnerSpec]:
    """Every variant, the defaults first and each once (`--matrix`)."""
    return [*default_variants(), *(v for v in _loaded() if not v.builtin)]


def variant(name: str) -> RunnerSpec:
    """A variant by name or alias (e.g. `cpp-openssl-1.1.1`, `python-bookworm`)."""
    for v in _loaded():
        if name == v.name or name in v.aliases:
            return v
    known = ", ".join(v.name for v in all_variants())
    raise UsageError(f"unknown Docker variant {name!r}; known: {known}")


def docker_spec(spec: RunnerSpec) -> RunnerSpec | None:
    """The spec the Docker backend builds: itself when it has docker settings, the default
    variant of the same name for a local built-in (python-reference, ...), else None."""
    if spec.docker:
        return spec
    if spec.builtin:
        for v in default_variants():
            if v.name == spec.name:
                return v
    return None

"""What a runner's image is made from, without building it: the runner's Docker settings, its
Dockerfile (the suite's template rendered with jinja2, a team's as written or rendered in jinja2's
sandbox), the build context's members and the content-hash tag `appauth-conformance/<runner>:<hash16>`.

The hash covers the Dockerfile, every member of the context (the runner's source files and the CA
bundle) and the base image's id, so a tag that exists is never rebuilt. Functions take the
DockerBackend (its mirror, CA bundle, uid and base image look-ups)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.backends.docker.ca_bundle import CA_NAME
from appauth_conformance.execution.backends.docker.context import Member, render, source_files
from appauth_conformance.execution.backends.docker.engine import LABEL
from appauth_conformance.execution.registry import RUNNERS_DIR

BASE_ARG = re.compile(r"^\s*ARG\s+BASE_IMAGE\b", re.IGNORECASE | re.MULTILINE)


def repo_name(name: str) -> str:
    """A runner name as a Docker repository path component."""
    s = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("._-")
    return s or "runner"


def in_container(argv: Iterable[str]) -> list[str]:
    return [a.replace("{python}", "python3") for a in argv]


def settings(spec: RunnerSpec) -> dict[str, Any]:
    """The docker settings of a resolved spec (DockerBackend.resolve() gives only specs that have them)."""
    assert spec.docker is not None, f"{spec.name}: not resolved for Docker"
    return spec.docker


def declared_command(spec: RunnerSpec | None) -> list[str] | None:
    """The command a team declared for its own image (`image`/`dockerfile` with `command`), else None."""
    d = (spec.docker if spec else None) or {}
    if spec is not None and ("image" in d or "dockerfile" in d) and (d.get("command") or spec.command):
        return in_container(d.get("command") or spec.command)
    return None


def is_own(template: Path) -> bool:
    """A template shipped in the suite's own package (rendered with full jinja2); anything else is a team's."""
    return template.resolve().is_relative_to(Path(RUNNERS_DIR).resolve())


def template_path(spec: RunnerSpec) -> Path:
    d = settings(spec)
    t = Path(d.get("template") or d["dockerfile"])  # called for specs with one or the other
    if t.is_absolute():
        return t
    for folder in (spec.source, RUNNERS_DIR / spec.language):
        if folder is not None and (Path(folder) / t).is_file():
            return Path(folder) / t
    raise RunnerUnavailable(
        f"{spec.name}: Dockerfile template {t} not found in {spec.source or RUNNERS_DIR / spec.language}"
    )


def render_template(backend: Any, spec: RunnerSpec, template: Path, base: str, suite: str, sources: list[str]) -> str:
    """The Dockerfile of a template: the suite's own with full jinja2, a team's in the sandbox."""
    d = settings(spec)
    variables = {
        "name": spec.name,
        "base_image": base,
        "suite": suite,
        "mirror": backend.mirror,
        "ca_bundle": CA_NAME if backend.ca_bundle else None,
        "sources": sources,
        "command": in_container(d.get("command") or spec.command),
        "build": [in_container(b) for b in spec.build],
        "uid": backend.uid,
        "packages": [],
        "runtime_packages": [],
        **d.get("vars", {}),
    }
    return render(template, variables, own=is_own(template), where=f"{spec.name}: Dockerfile template {template}")


def context(backend: Any, spec: RunnerSpec) -> tuple[str, dict[str, Member], str, str]:
    """(Dockerfile text, build-context members, tag, base image) of a resolved spec, without building.

    A team's Dockerfile (`dockerfile`) is used as written, or rendered in jinja2's sandbox when
    it ends in .j2 (context.render_sandboxed): computing a tag runs no code of the team."""
    d = settings(spec)
    files: dict[str, Member] = {}
    if "template" in d or ("dockerfile" in d and str(d["dockerfile"]).endswith(".j2")):
        suite = d.get("suite", "bookworm")
        base = backend.base_for(suite)
        template = template_path(spec)
        if "dockerfile" in d:
            sources = source_files(Path(d.get("context") or template.parent), own=False)
        else:
            if spec.source is None:
                raise RunnerUnavailable(f"{spec.name}: a templated Docker runner needs a source folder")
            sources = source_files(spec.source, own=True)
        dockerfile = backend.render(spec, template, base, suite, sorted(sources))
    elif "dockerfile" in d:
        sources = source_files(Path(d.get("context") or Path(d["dockerfile"]).parent), own=False)
        dockerfile = Path(d["dockerfile"]).read_text(errors="replace")
        # `ARG BASE_IMAGE` + `FROM ${BASE_IMAGE}`: the base the suite's own runners use, as a build argument
        base = backend.base_for(d.get("suite", "bookworm")) if BASE_ARG.search(dockerfile) else ""
    else:
        raise RunnerUnavailable(f"{spec.name}: docker settings need `template`, `dockerfile` or `image`")
    if "dockerfile" in d:
        files.update(sources)  # a user context is used as it is
    else:
        files.update({f"src/{k}": v for k, v in sources.items()})
    if backend.ca_bundle:
        files[CA_NAME] = Member(Path(backend.ca_bundle).read_bytes())
    files["Dockerfile"] = Member(dockerfile.encode())
    h = hashlib.sha256()
    for k in sorted(files):
        h.update(k.encode() + b"\0" + hashlib.sha256(files[k].data).digest() + files[k].digest_extra())
    base_id = backend.image_id(base) if base else None
    h.update(b"base\0" + (base_id or base).encode())
    tag = f"{LABEL}/{repo_name(spec.name)}:{h.hexdigest()[:16]}"
    return dockerfile, files, tag, base

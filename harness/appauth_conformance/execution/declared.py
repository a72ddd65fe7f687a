"""Runners declared by users in the project's config, and their Docker settings.

Users declare their own signers in `[tool.appauth-conformance.runners.NAME]`
of their pyproject.toml (or `[runners.NAME]` of appauth-conformance.toml).
Commands are argv lists, never shell strings. This is also the one place that
makes the Docker settings of a declared runner (`image`, or `dockerfile` with an
optional `context`; see `appauth-conformance docs docker`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DOCKER_KEYS = ("image", "dockerfile", "context")
RUNNER_KEYS = {"command", "workdir", "env", "build", "language", "divergences", "allow_outside_project", *DOCKER_KEYS}


def find_config(start: Path | None = None) -> Path | None:
    """appauth-conformance.toml, or a pyproject.toml with a [tool.appauth-conformance] table, upwards from cwd."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        own = d / "appauth-conformance.toml"
        if own.is_file():
            return own
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                raw = py.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "appauth-conformance" not in raw:
                continue
            try:
                if "appauth-conformance" in tomllib.loads(raw).get("tool", {}):
                    return py
            except tomllib.TOMLDecodeError as e:
                raise UsageError(f"{py}: TOML syntax: {e}") from None
    return None


def docker_settings(r: dict, base: Path, where: str) -> dict | None:
    """The `docker` settings of a declared runner's table `r` (paths relative to `base`, the config
    file's folder), or None when it declares no image: then it has no Docker image of its own.

    - `image = "NAME[:TAG]"`: runs in that image of the local engine (no registry is needed);
    - `dockerfile = "PATH"`: built from it, with `context` (default: the Dockerfile's folder) as
      the build context, cached by a hash of both; a `*.j2` Dockerfile is rendered in jinja2's
      sandbox with the documented variables only. Both must lie inside the project folder (`base`)
      unless the table says `allow_outside_project = true`.

    Either way the runner's `command`, when given, is the container's entrypoint (run in the
    image's WORKDIR; "{python}" becomes python3); without one the image's own ENTRYPOINT/CMD runs.
    """
    for key in DOCKER_KEYS:
        if key in r and not (isinstance(r[key], str) and r[key].strip()):
            raise UsageError(f'{where}: `{key}` must be a non-empty string, e.g. {key} = "{_EXAMPLE[key]}"')
    if "image" in r and "dockerfile" in r:
        raise UsageError(f"{where}: give a Docker `image` or a `dockerfile` to build one, not both")
    if "context" in r and "dockerfile" not in r:
        raise UsageError(
            f"{where}: `context` is the build context of a `dockerfile`; add the `dockerfile` or remove it"
        )
    if "image" in r:
        return {"image": r["image"].strip()}
    if "dockerfile" not in r:
        return None
    outside = r.get("allow_outside_project", False)
    if not isinstance(outside, bool):
        raise UsageError(f"{where}: `allow_outside_project` must be true or false")
    dockerfile = (base / Path(r["dockerfile"]).expanduser()).resolve()
    if not dockerfile.is_file():
        raise UsageError(f"{where}: `dockerfile` {dockerfile} does not exist")
    context = (base / Path(r["context"]).expanduser()).resolve() if "context" in r else dockerfile.parent
    if not context.is_dir():
        raise UsageError(f"{where}: the build `context` {context} is not a folder")
    for key, path in (("dockerfile", dockerfile), ("context", context)):
        if not outside and not path.is_relative_to(base.resolve()):
            raise UsageError(
                f"{where}: `{key}` {path} lies outside the project folder {base.resolve()} (the config file's "
                "folder), and a build would send it to the engine; move it into the project, or add "
                "`allow_outside_project = true` to this runner's table if you trust that folder (`appauth-conformance docs docker`)"
            )
    return {"dockerfile": str(dockerfile), "context": str(context)}


_EXAMPLE = {"image": "my-signer:1.0", "dockerfile": "signer/Dockerfile", "context": "signer"}


def declared_runners(path: Path) -> list[RunnerSpec]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: TOML syntax: {e}") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    table = doc.get("tool", {}).get("appauth-conformance", {}) if path.name == "pyproject.toml" else doc
    prefix = "tool.appauth-conformance." if path.name == "pyproject.toml" else ""
    runners = table.get("runners", {})
    if not isinstance(runners, dict):
        raise UsageError(f"{path}: [{prefix}runners] must be a table of runner tables")
    out = []
    for name, r in runners.items():
        where = f"{path}: [{prefix}runners.{name}]"
        if not NAME.match(name):
            raise UsageError(f"{where}: a runner name is letters, digits, '.', '_' and '-'")
        if not isinstance(r, dict):
            raise UsageError(f"{where}: must be a table")
        unknown = set(r) - RUNNER_KEYS
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(RUNNER_KEYS)}")
        base = path.parent
        docker = docker_settings(r, base, where)
        cmd = r.get("command")
        if cmd is None and docker is not None:
            cmd = []  # the image's own entrypoint runs
        elif not (isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd)):
            raise UsageError(
                f'{where}: `command` must be a non-empty list of strings (argv, never a shell string), e.g. ["node", "signer.js"]'
                + ("" if "command" in r else "; it may be left out only with a Docker `image` or `dockerfile`")
            )
        build = r.get("build", [])
        if isinstance(build, list) and build and all(isinstance(a, str) for a in build):
            build = [build]  # one command
        if not (
            isinstance(build, list)
            and all(isinstance(b, list) and b and all(isinstance(a, str) for a in b) for b in build)
        ):
            raise UsageError(f"{where}: `build` must be an argv list or a list of argv lists")
        env = r.get("env", {})
        if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
            raise UsageError(f"{where}: `env` must be a table of strings")
        workdir = (base / r.get("workdir", ".")).resolve()
        if not workdir.is_dir():
            raise UsageError(f"{where}: workdir {workdir} does not exist")
        div = r.get("divergences")
        out.append(
            RunnerSpec(
                name=name,
                language=str(r.get("language", "custom")),
                command=tuple(cmd),
                workdir=workdir,
                build=tuple(tuple(b) for b in build),
                env=dict(env),
                divergences=(base / div).resolve() if div else workdir / "known-divergences.yaml",
                docker=docker,
                group="declared",
            )
        )
    return out

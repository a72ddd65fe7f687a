"""Runners declared by users in the project's config, and their Docker settings.

Users declare their own signers in `[tool.appauth-conformance.runners.NAME]`
of their pyproject.toml (or `[runners.NAME]` of appauth-conformance.toml).
A table with `endpoint = true` declares an endpoint client instead: a
command that calls the verifying endpoint (`appauth-conformance docs endpoint`),
never started as a runner. Commands are argv lists, never shell strings. This is also the one place that
makes the Docker settings of a declared runner (`image`, or `dockerfile` with an
optional `context`; see `appauth-conformance docs docker`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec

if TYPE_CHECKING:  # the schemas (and jsonschema) are imported when a config file is read
    import jsonschema

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DOCKER_KEYS = ("image", "dockerfile", "context")
ENDPOINT_NOT = (*DOCKER_KEYS, "allow_outside_project", "build", "language")  # keys an endpoint client has not


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
            import tomllib  # here: a run from a folder without a config file never imports it

            try:
                if "appauth-conformance" in tomllib.loads(raw).get("tool", {}):
                    return py
            except tomllib.TOMLDecodeError as e:
                raise UsageError(f"{py}: TOML syntax: {e}") from None
    return None


def docker_settings(r: dict, base: Path, where: str) -> dict | None:
    """The `docker` settings of a declared runner's table `r`, valid against the schema (paths relative
    to `base`, the config file's folder), or None when it declares no image: then it has no Docker image
    of its own.

    - `image = "NAME[:TAG]"`: runs in that image of the local engine (no registry is needed);
    - `dockerfile = "PATH"`: built from it, with `context` (default: the Dockerfile's folder) as
      the build context, cached by a hash of both; a `*.j2` Dockerfile is rendered in jinja2's
      sandbox with the documented variables only. Both must lie inside the project folder (`base`)
      unless the table says `allow_outside_project = true`.

    Either way the runner's `command`, when given, is the container's entrypoint (run in the
    image's WORKDIR; "{python}" becomes python3); without one the image's own ENTRYPOINT/CMD runs.
    """
    if "image" in r:
        return {"image": r["image"].strip()}
    if "dockerfile" not in r:
        return None
    outside = r.get("allow_outside_project", False)
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
    """The runners the config file at `path` declares, checked against formats/schemas/declared-runners.json, then
    their files and folders: UsageError names the file, the runner's table, the key and the fix."""
    import tomllib

    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: TOML syntax: {e}") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    table = doc.get("tool", {}).get("appauth-conformance", {}) if path.name == "pyproject.toml" else doc
    prefix = "tool.appauth-conformance." if path.name == "pyproject.toml" else ""
    runners = table.get("runners", {})
    from appauth_conformance.formats import schemas

    problems = schemas.errors("declared-runners", runners)
    if problems:  # an endpoint client's own rule first: it explains the other errors of its table
        first = next((e for e in problems if "then" in e.relative_schema_path), problems[0])
        raise UsageError(_problem(first, f"{path}: [{prefix}runners"))
    out = []
    for name, r in runners.items():
        where = f"{path}: [{prefix}runners.{name}]"
        base = path.parent
        docker = docker_settings(r, base, where)
        cmd = r.get("command", [])  # none: the image's own entrypoint runs
        build = r.get("build", [])
        if build and all(isinstance(a, str) for a in build):
            build = [build]  # one command
        env = r.get("env", {})
        workdir = (base / r.get("workdir", ".")).resolve()
        if not workdir.is_dir():
            raise UsageError(f"{where}: workdir {workdir} does not exist")
        div = r.get("divergences")
        client = bool(r.get("endpoint"))  # judged by the endpoint; its apps are read by the front end that runs it
        out.append(
            RunnerSpec(
                name=name,
                language="http" if client else r.get("language", "custom"),
                command=tuple(cmd),
                workdir=workdir,
                build=tuple(tuple(b) for b in build),  # none for a client: the schema refuses the key
                env=dict(env),
                divergences=(base / div).resolve() if div else workdir / "known-divergences.yaml",
                docker=docker,
                group="declared",
                client_of=path if client else None,
            )
        )
    return out


# what each key must be, said as the fix (a schema error at or under that key)
_FIX = {
    "command": '`command` must be a non-empty list of strings (argv, never a shell string), e.g. ["node", "signer.js"]',
    "build": "`build` must be an argv list or a list of argv lists",
    "env": "`env` must be a table of strings",
    "allow_outside_project": "`allow_outside_project` must be true or false",
    "endpoint": "`endpoint` must be true or false (true: an endpoint client, `appauth-conformance docs endpoint`)",
    **{k: f'`{k}` must be a string, e.g. {k} = "{v}"' for k, v in (("workdir", "signer"), ("language", "java"))},
    "divergences": '`divergences` must be a string, e.g. divergences = "known-divergences.yaml"',
    **{k: f'`{k}` must be a non-empty string, e.g. {k} = "{_EXAMPLE[k]}"' for k in DOCKER_KEYS},
}


def _problem(e: jsonschema.ValidationError, where: str) -> str:
    """A schema error of a runners table as the message a user acts on (`where`: "FILE: [PREFIXrunners")."""
    from appauth_conformance.formats import schemas

    at = [str(p) for p in e.absolute_path]
    if not at:
        if "propertyNames" in e.schema_path:
            return f"{where}.{e.instance}]: a runner name is letters, digits, '.', '_' and '-'"
        return f"{where}] must be a table of runner tables"
    here = f"{where}.{at[0]}]"
    if "then" in e.relative_schema_path:  # `endpoint = true`
        if e.validator == "required":
            return f'{here}: an endpoint client (`endpoint = true`) needs a `command`, its argv, e.g. ["node", "client.js"]'
        extra = sorted(k for k in ENDPOINT_NOT if isinstance(e.instance, dict) and k in e.instance)
        return (
            f"{here}: an endpoint client (`endpoint = true`) runs its `command` on this machine against the "
            f"endpoint, so {', '.join(f'`{k}`' for k in extra)} cannot go with it; remove "
            f"{'it' if len(extra) == 1 else 'them'} (only `command`, `workdir`, `env` and `divergences` do), or "
            "remove `endpoint` to declare a runner (`appauth-conformance docs endpoint`)"
        )
    if len(at) > 1:
        return f"{here}: {_FIX[at[1]]}"
    if e.validator == "type":
        return f"{here}: must be a table"
    if e.validator == "additionalProperties":
        return f"{here}: unknown key(s) {schemas.unexpected_keys(e)}; allowed: {schemas.listed_keys(e)}"
    if e.validator == "not":
        return f"{here}: give a Docker `image` or a `dockerfile` to build one, not both"
    if e.validator == "dependentRequired":
        return f"{here}: `context` is the build context of a `dockerfile`; add the `dockerfile` or remove it"
    return f"{here}: {_FIX['command']}; it may be left out only with a Docker `image` or `dockerfile`"

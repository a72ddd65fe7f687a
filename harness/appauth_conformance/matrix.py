"""The Docker variant matrix: each reference runner on the library and runtime versions that matter.

A variant is a RunnerSpec whose `docker` says how to build its image:

    docker = {"template": "Dockerfile.j2",      # in the runner's source folder (or an absolute path)
              "suite": "bullseye",              # Debian suite of the base image
              "pins": "OpenSSL 1.1.1 (...)",    # what the variant pins, for people and reports
              "vars": {...}}                    # template variables: packages, runtime_packages, ...

A variant keeps its reference runner's command and build recipe, and shares its
known-divergence list (`family` = the reference runner's name, `divergences` = its file).

The four defaults of `--backend=docker` run on bookworm and keep the reference names
(`python-reference`, ...) so test ids and divergence lists match the local backend;
their pinned names (`python-bookworm`, `cpp-openssl-3.0`, ...) are aliases.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .errors import UsageError
from .model import RunnerSpec
from .runners import BUILTINS

_REFERENCE = {s.language: s for s in BUILTINS}


def _variant(
    lang: str, name: str, suite: str, pins: str, vars: dict, *, default: bool = False, alias: str | None = None
) -> RunnerSpec:
    ref = _REFERENCE[lang]
    if default:
        aliases = (*ref.aliases, *((alias,) if alias else ()))
    else:
        aliases = (alias,) if alias else ()
    return dataclasses.replace(
        ref,
        name=name,
        aliases=aliases,
        builtin=default,  # a default replaces the local built-in of the same name in a registry
        family=ref.name,
        divergences=ref.divergences,
        docker={"template": "Dockerfile.j2", "suite": suite, "pins": pins, "vars": dict(vars)},
    )


_CPP_BUILD = ["g++", "libssl-dev"]
_NODE_BUILD = ["nodejs", "npm"]

_VARIANTS: tuple[RunnerSpec, ...] = (
    # -- Python: the interpreter and the OpenSSL its hashlib links -------------------------------
    _variant(
        "python",
        "python-reference",
        "bookworm",
        "Python 3.11 + OpenSSL 3.0 (Debian 12 bookworm python3)",
        {"packages": ["python3"]},
        default=True,
        alias="python-bookworm",
    ),
    _variant(
        "python",
        "python-bullseye",
        "bullseye",
        "Python 3.9 + OpenSSL 1.1.1 (Debian 11 bullseye python3)",
        {"packages": ["python3"]},
    ),
    _variant(
        "python",
        "python-trixie",
        "trixie",
        "Python 3.13 + OpenSSL 3.5 (Debian 13 trixie python3)",
        {"packages": ["python3"]},
    ),
    # -- Java: the JDK's javax.crypto ---------------------------------------------------------------
    _variant(
        "java",
        "java-reference",
        "bookworm",
        "OpenJDK 17 (Debian 12 bookworm openjdk-17-jdk-headless)",
        {"packages": ["openjdk-17-jdk-headless"], "runtime_packages": ["openjdk-17-jre-headless"]},
        default=True,
        alias="java-jdk17",
    ),
    _variant(
        "java",
        "java-jdk21",
        "trixie",
        "OpenJDK 21 (Debian 13 trixie openjdk-21-jdk-headless)",
        {"packages": ["openjdk-21-jdk-headless"], "runtime_packages": ["openjdk-21-jre-headless"]},
    ),
    # -- C++: the OpenSSL HMAC API the snippet calls ----------------------------------------------
    _variant(
        "cpp",
        "cpp-reference",
        "bookworm",
        "OpenSSL 3.0 (Debian 12 bookworm libssl-dev, g++ 12)",
        {"packages": _CPP_BUILD, "runtime_packages": ["libssl3"]},
        default=True,
        alias="cpp-openssl-3.0",
    ),
    _variant(
        "cpp",
        "cpp-openssl-1.1.1",
        "bullseye",
        "OpenSSL 1.1.1 (Debian 11 bullseye libssl-dev, g++ 10)",
        {"packages": _CPP_BUILD, "runtime_packages": ["libssl1.1"]},
    ),
    _variant(
        "cpp",
        "cpp-openssl-trixie",
        "trixie",
        "OpenSSL 3.5 (Debian 13 trixie libssl-dev, g++ 14)",
        {"packages": _CPP_BUILD, "runtime_packages": ["libssl3t64"]},
    ),
    # -- JS: crypto-js on Debian's Node.js 18 ---------------------------------------------------------
    _variant(
        "js",
        "js-reference",
        "bookworm",
        "crypto-js 3.1.9-1 from package-lock.json (Node.js 18, Debian 12 bookworm)",
        {"packages": _NODE_BUILD, "runtime_packages": ["nodejs"], "crypto_js": "3.1.9-1", "lockfile": True},
        default=True,
        alias="js-cryptojs-3.1.9-1",
    ),
    _variant(
        "js",
        "js-cryptojs-4.2.0",
        "bookworm",
        "crypto-js 4.2.0, exactly (Node.js 18, Debian 12 bookworm)",
        {"packages": _NODE_BUILD, "runtime_packages": ["nodejs"], "crypto_js": "4.2.0", "lockfile": False},
    ),
)


def default_variants() -> list[RunnerSpec]:
    """The four runners of `--backend=docker` (bookworm), with the reference names."""
    return [v for v in _VARIANTS if v.builtin]


def all_variants() -> list[RunnerSpec]:
    """Every variant, the defaults first and each once (`--matrix`)."""
    return [*default_variants(), *(v for v in _VARIANTS if not v.builtin)]


def variant(name: str) -> RunnerSpec:
    """A variant by name or alias (e.g. `cpp-openssl-1.1.1`, `python-bookworm`)."""
    for v in _VARIANTS:
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


def with_docker(
    spec: RunnerSpec,
    *,
    image: str | None = None,
    dockerfile: str | Path | None = None,
    context: str | Path | None = None,
    command: list[str] | tuple[str, ...] | None = None,
) -> RunnerSpec:
    """A user-declared runner that runs in Docker: from an existing image, or built from a Dockerfile.

    - image:      a local image (no registry is needed); it runs `spec.command` when that is not
                  empty (as its entrypoint, in the image's WORKDIR), else the image's own entrypoint.
    - dockerfile: built with `context` (default: the runner's source folder, else the Dockerfile's
                  folder) as the build context; a `*.j2` Dockerfile is rendered like the built-in
                  templates. Cached by a hash of the Dockerfile and the context files.
    - command:    overrides the command run in the container (default: spec.command).
    """
    if (image is None) == (dockerfile is None):
        raise UsageError(f"runner {spec.name!r}: give exactly one of a Docker image or a Dockerfile")
    docker: dict = {}
    if image is not None:
        if not str(image).strip():
            raise UsageError(f"runner {spec.name!r}: the Docker image name is empty")
        docker["image"] = str(image)
    else:
        path = Path(dockerfile).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"runner {spec.name!r}: Dockerfile {dockerfile} does not exist")
        docker["dockerfile"] = str(path)
        ctx = Path(context).expanduser().resolve() if context else (spec.source or path.parent)
        if not Path(ctx).is_dir():
            raise UsageError(f"runner {spec.name!r}: build context {ctx} is not a folder")
        docker["context"] = str(ctx)
    if command is not None:
        docker["command"] = list(command)
    return dataclasses.replace(spec, docker=docker)

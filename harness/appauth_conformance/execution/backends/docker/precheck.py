"""Set-up errors before any build: every selected runner's image or Dockerfile, and the base images.

`problems(backend, specs)` looks at all of them first (the engine answers, a declared `image` is in
the local engine, a `dockerfile` or template exists and renders, each base image is local or can be
pulled) and says what is wrong with each runner and how to fix it, so a team learns of a runner
without an image at once, not after minutes of other runners' builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import RunnerSpec

FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.I | re.M)


def bases_of(dockerfile: str) -> list[str]:
    """The images a Dockerfile builds FROM, its own stages and `scratch` left out."""
    stages: set[str] = set()
    out: list[str] = []
    for image, stage in FROM.findall(dockerfile):
        if image.lower() not in stages and image != "scratch" and "$" not in image and image not in out:
            out.append(image)
        if stage:
            stages.add(stage.lower())
    return out


def problems(backend: Any, specs: Iterable[RunnerSpec]) -> dict[str, str]:
    """Runner name -> what stops its image from being built or found, with the fix. `backend`: the
    DockerBackend (its client, api, resolve, context and image_id). Raises DockerUnavailable (a
    UsageError) at once when no engine answers."""
    backend.client  # noqa: B018 - connects and pings: DockerUnavailable names the fix
    out: dict[str, str] = {}
    bases: dict[str, list[tuple[str, str]]] = {}  # base image -> (runner, its Debian suite or "")
    for spec in specs:
        try:
            rspec = backend.resolve(spec)
            settings = rspec.docker or {}
            if "image" in settings:
                if backend.image_id(settings["image"]) is None:
                    out[spec.name] = (
                        f"{spec.name}: Docker image {settings['image']} is not in the local engine; build or load "
                        "it (`docker build -t ...`, `docker load`), or declare a `dockerfile` instead"
                    )
                continue
            dockerfile, _files, tag, base = backend.context(rspec)
        except RunnerUnavailable as e:
            out[spec.name] = str(e)
            continue
        if backend.image_id(tag) is not None:
            continue  # built before: nothing to build, nothing to pull
        for b in [base] if base else bases_of(dockerfile):
            bases.setdefault(b, []).append((spec.name, str(settings.get("suite", "bookworm")) if base else ""))
    for base, users in bases.items():
        if backend.image_id(base) is not None:
            continue
        why = _not_pullable(backend, base)
        if why is None:
            continue
        for name, suite in users:
            fix = (
                f"make it with `appauth-conformance images bootstrap --suite {suite}` (no registry needed) or give "
                "another with --base-image"
                if suite
                else "pull or load it into the engine, or change the Dockerfile's FROM"
            )
            out.setdefault(
                name, f"{name}: base image {base} is not in the local engine and cannot be pulled ({why}); {fix}"
            )
    return out


def _not_pullable(backend: Any, image: str) -> str | None:
    """None when the engine's registry has the image (a build would pull it), else why not."""
    from docker.errors import APIError

    try:
        backend.api.inspect_distribution(image)
    except APIError as e:
        return (e.explanation or str(e)).splitlines()[0][:200]
    except Exception as e:  # a registry that does not answer
        return f"{type(e).__name__}: {e}"[:200]
    return None

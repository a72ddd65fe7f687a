"""One runner image's build through the engine's build API: the context sent as a tar, one condensed
progress line per step, the builder stages removed afterwards, and a failure raised as
RunnerUnavailable with the failing step, the last lines of its log and a hint. A team's build
(`dockerfile`) is shown by step number and instruction only, and Docker's error with any Dockerfile
line in it replaced: never the file's content."""

from __future__ import annotations

import time
import uuid
from collections import deque
from typing import Any

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.backends.docker import stages
from appauth_conformance.execution.backends.docker.context import Member, build_hint, condense, instruction, scrub, tar
from appauth_conformance.execution.backends.docker.engine import LABEL
from appauth_conformance.execution.backends.docker.recipe import settings

STEP_LOG_LINES = 30


def build_image(backend: Any, spec: RunnerSpec, tag: str, files: dict[str, Member], base: str, written: str) -> None:
    """Build one image tagged `tag` from the context `files` (`written`: the Dockerfile as the team wrote
    it, kept out of any message). `backend`: the DockerBackend (its api, progress and offline_build)."""
    from docker.errors import APIError

    name = spec.name
    team = "dockerfile" in settings(spec)
    offline = team and backend.offline_build
    started = time.monotonic()
    backend.say(f"[{name}] building {tag} FROM {base or 'its Dockerfile'}" + (" (no network)" if offline else ""))
    step = "(before the first step)"
    log: deque[str] = deque(maxlen=200)
    partial = ""
    error = None
    build_id = uuid.uuid4().hex  # labels this build's builder stages, removed below
    dockerfile_text = stages.label_stages(files["Dockerfile"].data.decode(), build_id)
    files = {**files, "Dockerfile": Member(dockerfile_text.encode(), files["Dockerfile"].mode)}
    try:
        stream = backend.api.build(
            fileobj=tar(files),
            custom_context=True,
            tag=tag,
            dockerfile="Dockerfile",
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            labels={LABEL: "1", f"{LABEL}.runner": name},
            network_mode="none" if offline else None,
            buildargs={"BASE_IMAGE": base} if team and base else None,
        )
        for chunk in stream:
            if "stream" in chunk:
                text = partial + chunk["stream"]
                lines = text.split("\n")
                partial = lines.pop()
                for line in lines:
                    line = line.rstrip("\r")
                    if line.startswith("Step "):
                        step = instruction(line) if team else line
                        log.clear()
                        backend.say(f"[{name}] {untrusted.line(step if team else condense(line))}")
                    elif line.strip():
                        log.append(line)
            elif "error" in chunk:
                error = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            elif "status" in chunk:  # a pull: the base image is not local
                log.append(chunk["status"])
    except APIError as e:
        error = e.explanation or str(e)
    except Exception as e:  # connection reset and the like
        error = f"{type(e).__name__}: {e}"
    if partial.strip():
        log.append(partial)
    stages.remove_stages(backend.api, build_id)  # no untagged builder stages left behind
    if error is None:
        try:
            backend.api.inspect_image(tag)
        except APIError:
            error = "the build ended without an image"
    if error is not None:
        if team:
            error = scrub(error, written)
        tail = "\n".join(list(log)[-STEP_LOG_LINES:])
        hint = build_hint(step, error, base, settings(spec).get("suite", "SUITE"), offline=offline)
        raise RunnerUnavailable(
            f"{name}: building image {tag} failed at {step}\n{error.strip()}"
            + (f"\n--- last {min(len(log), STEP_LOG_LINES)} lines of that step ---\n{tail}" if tail else "")
            + hint
        )
    backend.say(f"[{name}] built {tag} in {time.monotonic() - started:.0f}s")

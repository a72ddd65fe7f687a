"""How a runner is built and started: on this machine (local) or in a container (docker).

A backend's `start(spec)` returns a Process: binary `stdin`, `stdout`, `stderr`
file objects plus `poll()`, `kill()`, `wait(timeout)` and `describe_exit()`;
`subprocess.Popen` is the model. The session never knows which backend it has.

The Backend and Process protocols are defined in appauth_conformance.core.model, so that the
session (a sibling layer of this package, which must not import it) can name them too.
"""

from __future__ import annotations

from typing import Any

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import Backend, Process, Reader, Writer

__all__ = ["Backend", "Process", "Reader", "Writer", "make_backend"]


def make_backend(name: str, **options: Any) -> Backend:
    if name == "local":
        from appauth_conformance.execution.backends.local import LocalBackend

        return LocalBackend(**options)
    if name == "docker":
        from appauth_conformance.execution.backends.docker.backend import DockerBackend

        return DockerBackend(**options)
    raise UsageError(f"unknown backend {name!r}; use --backend=local or --backend=docker")

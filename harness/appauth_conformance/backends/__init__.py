"""How a runner is built and started: on this machine (local) or in a container (docker).

A backend's `start(spec)` returns a Process: binary `stdin`, `stdout`, `stderr`
file objects plus `poll()`, `kill()`, `wait(timeout)` and `describe_exit()`;
`subprocess.Popen` is the model. The session never knows which backend it has.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import UsageError


class Process(Protocol):
    stdin: object
    stdout: object
    stderr: object

    def poll(self) -> int | None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def describe_exit(self) -> str: ...


class Backend(Protocol):
    name: str

    def prepare(self, spec) -> dict: ...  # build once; returns facts for reports (image, build dir)
    def start(self, spec) -> Process: ...
    def close(self) -> None: ...


def make_backend(name: str, **options):
    if name == "local":
        from .local import LocalBackend

        return LocalBackend(**options)
    if name == "docker":
        from .docker.backend import DockerBackend

        return DockerBackend(**options)
    raise UsageError(f"unknown backend {name!r}; use --backend=local or --backend=docker")

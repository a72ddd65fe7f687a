"""The Docker engine client: connect and ping, one shared client per process, image look-ups, the
sweep of leftover containers, and the DockerUnavailable message that says how to get an engine.

Everything talks to the engine through the Docker SDK for Python, never the docker CLI. The SDK
is imported when first needed, so importing the suite costs nothing without Docker.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from appauth_conformance.core.errors import DockerUnavailable

if TYPE_CHECKING:  # the SDK is imported when first needed
    from docker import APIClient, DockerClient

LABEL = "appauth-conformance"  # on every image and container the suite makes
SESSION_LABEL = f"{LABEL}.session"  # on every container: the uuid of the backend that started it
DEFAULT_HOST = "unix:///var/run/docker.sock"

_shared: DockerClient | None = None
_shared_lock = threading.Lock()
_host: str | None = None  # --docker-host: the engine of this process, instead of DOCKER_HOST


def use_host(host: str | None) -> None:
    """Talk to the engine at `host` (tcp://, ssh://, unix://...) from now on, in this whole process (the
    backend, the image look-ups and the clean-up all share one engine); None: DOCKER_HOST again."""
    global _host, _shared
    with _shared_lock:
        if host != _host:
            _host, _shared = host, None


def where() -> str:
    return _host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def unavailable(why: str) -> DockerUnavailable:
    """The error for an engine that does not answer: where it was looked for, and how to start one."""
    where_ = where()
    return DockerUnavailable(
        f"no Docker engine answers at {where_} ({why}).\n"
        "Start one: `sudo systemctl start docker`, or by hand `sudo dockerd &` (`apt-get install docker.io` "
        "if it is missing; `appauth-conformance docs docker` has more); check --docker-host or DOCKER_HOST "
        "if you use a remote engine.\n"
        "Or run the runners on this machine instead: --backend=local."
    )


def short_error(e: BaseException) -> str:
    """The first line of an exception's text, at most 300 characters."""
    text = str(e).strip().splitlines()
    msg = text[0] if text else type(e).__name__
    return msg if len(msg) < 300 else msg[:300] + "..."


def connect() -> DockerClient:
    """A new docker.DockerClient for --docker-host, DOCKER_HOST or the local socket, that answered a ping."""
    try:
        from docker.errors import DockerException

        import docker
    except ImportError as e:  # pragma: no cover - docker is a declared dependency
        raise unavailable(f"the docker SDK for Python is not installed: {e}; `pip install docker`") from None
    try:
        if _host is None:
            c = docker.from_env(timeout=120, max_pool_size=64)
        else:  # ssh:// through the ssh command (the SDK's own ssh needs paramiko)
            c = docker.DockerClient(
                base_url=_host, timeout=120, max_pool_size=64, use_ssh_client=_host.startswith("ssh://")
            )
        c.ping()
    except DockerException as e:
        raise unavailable(short_error(e)) from None
    except Exception as e:  # requests/urllib3 errors not wrapped by the SDK
        raise unavailable(short_error(e)) from None
    return c


def client(*, fresh: bool = False) -> DockerClient:
    """The connected docker.DockerClient shared by this process (a new, unshared one with `fresh`),
    or DockerUnavailable with the fix."""
    global _shared
    if fresh:
        return connect()
    with _shared_lock:
        if _shared is None:
            _shared = connect()
        return _shared


def forget_client() -> None:
    """Drop the shared client: the next client() connects again (after DOCKER_HOST changed, say)."""
    global _shared
    with _shared_lock:
        _shared = None


def image_exists(name: str) -> bool:
    return image_id(name) is not None


def image_id(name: str) -> str | None:
    """The engine's id of an image (name, tag or id), or None when the engine does not have it."""
    from docker.errors import ImageNotFound

    try:
        return client().api.inspect_image(name)["Id"]
    except ImageNotFound:
        return None


def _shared_api() -> APIClient:
    return client().api


def remove_leftovers(session: str | None = None, client: DockerClient | None = None) -> int:
    """Remove every container labelled appauth-conformance (or of one backend session); for CI cleanup.

    Returns how many were removed. Containers of a run still in progress are removed too
    (their sessions see the runner killed): run it between runs.
    """
    from docker.errors import APIError, NotFound

    api = client.api if client is not None else _shared_api()
    label = f"{SESSION_LABEL}={session}" if session else LABEL
    n = 0
    for c in api.containers(all=True, filters={"label": label}, quiet=True):
        try:
            api.remove_container(c["Id"], force=True, v=True)
            n += 1
        except NotFound:
            pass
        except APIError as e:
            if "already in progress" not in str(e):
                raise
    return n

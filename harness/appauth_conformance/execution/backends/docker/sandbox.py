"""The container sandbox: the create_container options of a runner container (no network, a read-only
root filesystem with /tmp the one writable place, no capabilities, no new privileges, the backend's
non-root uid:gid whatever the image's USER says, memory/pid/CPU limits, no log driver, the session and
owner labels) and its entrypoint under `timeout -s KILL LIFETIME` (owners.py) when the image has a
`timeout` command. Functions take the DockerBackend (its api, limits, uid:gid, session and lifetime)."""

from __future__ import annotations

from typing import Any

from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.backends.docker import owners
from appauth_conformance.execution.backends.docker.engine import LABEL, SESSION_LABEL
from appauth_conformance.execution.backends.docker.recipe import declared_command, settings

DEFAULT_CPUS = 1.0  # --cpus: one of the machine's cores at most, per runner container


def image_config(backend: Any, tag: str) -> dict[str, Any]:
    """The image's Config (Entrypoint, Cmd, ...), looked up once per tag and backend."""
    config = backend.image_configs.get(tag)
    if config is None:
        try:
            config = backend.api.inspect_image(tag).get("Config") or {}
        except Exception:  # an image we cannot inspect is started as if it had no Entrypoint/Cmd of its own
            config = {}
        backend.image_configs[tag] = config
    return config


def container_options(backend: Any, tag: str, spec: RunnerSpec | None = None) -> dict[str, Any]:
    """create_container keyword arguments: the sandbox (also used by the tests for probes).

    The user is always the backend's uid:gid, never the image's USER; the entrypoint (the
    runner's `command`, else the image's ENTRYPOINT + CMD) runs under `timeout -s KILL
    LIFETIME` unless the image has no `timeout` (probe_timeout)."""
    from docker.types import LogConfig

    host_config = backend.api.create_host_config(
        network_mode="none",
        read_only=True,
        tmpfs={
            "/tmp": f"rw,nosuid,nodev,noexec,size={backend.tmpfs_size},mode=1777",
            "/dev/mqueue": "ro,nosuid,nodev,noexec,size=4k",  # the POSIX queue folder, not writable
        },
        ipc_mode="none",  # no /dev/shm at all: /tmp is the one writable place
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit=backend.mem_limit,
        memswap_limit=backend.mem_limit,  # no swap on top
        pids_limit=backend.pids_limit,
        nano_cpus=int(backend.cpus * 1e9),
        init=False,
        # no json-file log: it would cost the engine a JSON encode and a disk write per
        # line, and keep app keys on disk; the session reads stdio through the attach
        log_config=LogConfig(Type="none", Config={}),
        auto_remove=False,  # we read the exit status, then remove it ourselves
    )
    opts: dict[str, Any] = dict(
        image=tag,
        stdin_open=True,
        tty=False,
        network_disabled=True,
        user=f"{backend.uid}:{backend.gid}",
        labels={
            LABEL: "1",
            SESSION_LABEL: backend.session,
            f"{LABEL}.runner": spec.name if spec else "",
            **owners.labels(backend.lifetime),
        },
        host_config=host_config,
    )
    if spec is not None and spec.env:
        opts["environment"] = dict(spec.env)
    declared = declared_command(spec)
    if declared is not None:
        argv = declared
    else:
        config = image_config(backend, tag)
        argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    if argv and backend.has_timeout.get(tag, True):
        opts.update(entrypoint=owners.wrap(argv, backend.lifetime), command=[])
    elif declared is not None:
        opts.update(entrypoint=argv, command=[])
    return opts


def probe_timeout(backend: Any, spec: RunnerSpec, tag: str) -> None:
    """Whether a team's image has a `timeout` command (the suite's own images are Debian's, with coreutils):
    one throw-away container per image and backend. Without it the lifetime is the harness's alone."""
    if tag in backend.has_timeout or "template" in settings(spec):
        return
    if not (found := owners.has_timeout(backend.api, container_options(backend, tag))):
        backend.say(f"[{spec.name}] the image has no `timeout` command: {owners.NO_TIMEOUT}")
    backend.has_timeout[tag] = found

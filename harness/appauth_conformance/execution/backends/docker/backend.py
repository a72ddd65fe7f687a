"""The Docker backend: each runner in its own image, one sandboxed container per session.

Images are built from `runners/<runner>/Dockerfile.j2` (rendered with jinja2, with the variables of
the runner's variant from its variants.yaml) and tagged `appauth-conformance/<runner>:<hash16>`,
the hash covering the rendered Dockerfile, the build context (the runner's source files and the CA
bundle) and the base image's id: a tag that exists is never rebuilt, so only a changed runner is.
Containers run with no network, a read-only root filesystem, no capabilities, no new privileges,
the backend's non-root uid:gid (never the image's USER), memory/pid/CPU limits and a maximum
lifetime enforced inside them (owners.py). Every container carries this backend's session label;
`close()` removes them all, and the backend registers with the interruption handler
(appauth_conformance.execution.interrupt) while it has containers, so SIGTERM and interpreter exit close it too.
Docker work goes through the SDK only.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import BackendGone, RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution import interrupt
from appauth_conformance.execution.backends.docker import engine, owners, precheck, stages
from appauth_conformance.execution.backends.docker.context import (
    Member,
    build_hint,
    condense,
    instruction,
    render,
    scrub,
    source_files,
    tar,
)
from appauth_conformance.execution.backends.docker.engine import LABEL, SESSION_LABEL
from appauth_conformance.execution.backends.docker.images import base_tag, host_mirror
from appauth_conformance.execution.backends.docker.process import DockerProcess
from appauth_conformance.execution.registry import RUNNERS_DIR
from appauth_conformance.execution.variants import docker_spec

if TYPE_CHECKING:  # the SDK is imported when first needed
    from docker import APIClient, DockerClient

CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS")
CA_NAME = "appauth-ca.crt"  # the CA bundle's name in a build context
STEP_LOG_LINES = 30
DEFAULT_CPUS = 1.0  # --cpus: one of the machine's cores at most, per runner container
BASE_ARG = re.compile(r"^\s*ARG\s+BASE_IMAGE\b", re.IGNORECASE | re.MULTILINE)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def default_ca_bundle() -> str | None:
    """The machine's CA bundle: the first existing file named by SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
    PIP_CERT or NODE_EXTRA_CA_CERTS (the corporate-proxy convention), else None."""
    for var in CA_ENV:
        path = os.environ.get(var)
        if path and os.path.isfile(path):
            return path
    return None


def _repo_name(name: str) -> str:
    """A runner name as a Docker repository path component."""
    s = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("._-")
    return s or "runner"


def _in_container(argv: Iterable[str]) -> list[str]:
    return [a.replace("{python}", "python3") for a in argv]


def _settings(spec: RunnerSpec) -> dict[str, Any]:
    """The docker settings of a resolved spec (DockerBackend.resolve() gives only specs that have them)."""
    assert spec.docker is not None, f"{spec.name}: not resolved for Docker"
    return spec.docker


def _own(template: Path) -> bool:
    """A template shipped in the suite's own package (rendered with full jinja2); anything else is a team's."""
    return template.resolve().is_relative_to(Path(RUNNERS_DIR).resolve())


# -- the backend -----------------------------------------------------------------------------------


class DockerBackend:
    """Build each runner's image once (cached by content hash) and start sandboxed containers.

    base_image: the image every runner builds FROM; may contain `{suite}` (e.g.
        `registry.corp/debian:{suite}-slim`). Default: appauth-conformance/base:<suite> when it
        exists locally (`appauth-conformance images bootstrap`), else debian:<suite>-slim.
    ca_bundle: a PEM bundle the builds trust (TLS interception by a corporate proxy); default:
        the file named by SSL_CERT_FILE, REQUESTS_CA_BUNDLE, PIP_CERT or NODE_EXTRA_CA_CERTS,
        the first that exists. "" turns it off.
    mirror: the Debian mirror the builds use; default: the host's apt mirror (images.host_mirror()).
    client: a docker.DockerClient to use; default: the shared one (engine.client()).
    docker_host: the engine's address (tcp://HOST:PORT, ssh://USER@HOST, unix:///PATH); default: DOCKER_HOST,
        else the local socket. It is the whole process's engine (engine.use_host).
    progress: called with one condensed line per build step; default: printed to stderr; None: quiet.
    uid, gid: the user every container runs as, whatever the image's USER says (never 0).
    cpus: the CPU limit of each runner container, in cores (--cpus).
    lifetime: seconds a runner container may live at most, enforced inside it (--container-lifetime).
    offline_build: build the images of declared runners (`dockerfile`) with no network (--offline-build).
    """

    name = "docker"

    def __init__(
        self,
        base_image: str | None = None,
        ca_bundle: str | None = None,
        progress: Callable[[str], None] | Literal["stderr"] | None = "stderr",
        mirror: str | None = None,
        *,
        mem_limit: str = "512m",
        pids_limit: int = 256,
        tmpfs_size: str = "64m",
        uid: int = 1000,
        gid: int | None = None,
        cpus: float = DEFAULT_CPUS,
        lifetime: float = owners.DEFAULT_LIFETIME,
        offline_build: bool = False,
        client: DockerClient | None = None,
        docker_host: str | None = None,
    ):
        if uid <= 0 or (gid is not None and gid <= 0):
            raise UsageError(f"DockerBackend(uid={uid}, gid={gid}): containers never run as root; give ids above 0")
        if docker_host is not None:  # this process's engine, for the builds, the look-ups and the clean-up alike
            engine.use_host(docker_host)
        self.base_image = base_image
        if ca_bundle is None:
            ca_bundle = default_ca_bundle()
        elif ca_bundle and not os.path.isfile(ca_bundle):
            raise UsageError(f"--ca-bundle {ca_bundle}: no such file; give the PEM bundle your proxy's CA is in")
        self.ca_bundle = ca_bundle or None
        self.mirror = (mirror or host_mirror()).rstrip("/")
        # builds take minutes when nothing is cached: by default their steps go to stderr
        self.progress = _to_stderr if progress == "stderr" else progress
        self.mem_limit = mem_limit
        self.pids_limit = pids_limit
        self.tmpfs_size = tmpfs_size
        self.uid = uid
        self.gid = uid if gid is None else gid
        self.cpus = cpus
        self.lifetime = lifetime
        self.offline_build = offline_build
        self.docker_host = docker_host
        self.session = uuid.uuid4().hex
        self.builds = 0  # images this backend built (not found in the cache)
        self.images: dict[str, str] = {}  # runner name -> image tag
        self._client = client
        self._procs: dict[str, DockerProcess | None] = {}  # None: created, not yet attached
        self._lock = threading.Lock()
        self._build_locks: dict[str, threading.Lock] = {}
        self._image_config: dict[str, dict[str, Any]] = {}
        self._has_timeout: dict[str, bool] = {}
        self._watchdog: owners.Watchdog | None = None
        self._first_lock = threading.Lock()
        self._started = False
        self._reaper: ThreadPoolExecutor | None = None

    # -- engine ----------------------------------------------------------------------------------

    @property
    def client(self) -> DockerClient:
        if self._client is None:
            self._client = engine.client()
        return self._client

    @property
    def api(self) -> APIClient:
        return self.client.api

    def _say(self, line: str) -> None:
        if self.progress:
            self.progress(line)

    # -- images ----------------------------------------------------------------------------------

    def resolve(self, spec: RunnerSpec) -> RunnerSpec:
        """The spec with docker settings (a local built-in maps to its default variant)."""
        out = docker_spec(spec)
        if out is None:
            raise RunnerUnavailable(
                f"{spec.name}: no Docker image is declared for this runner; give it one "
                "(`image=` or `dockerfile=`, see `appauth-conformance docs docker`) or run it with --backend=local"
            )
        return out

    def base_for(self, suite: str) -> str:
        """The image a runner of this Debian suite is built FROM (see the class docstring)."""
        if self.base_image:
            return self.base_image.replace("{suite}", suite)
        own = base_tag(suite)
        if self.image_id(own) is not None:
            return own
        return f"debian:{suite}-slim"

    def image_id(self, name: str) -> str | None:
        """The engine's id of an image, or None when the engine does not have it."""
        from docker.errors import ImageNotFound

        try:
            image_id: str = self.api.inspect_image(name)["Id"]
        except ImageNotFound:
            return None
        return image_id

    def context(self, spec: RunnerSpec) -> tuple[str, dict[str, Member], str, str]:
        """(Dockerfile text, build-context members, tag, base image) of a spec, without building.

        A team's Dockerfile (`dockerfile`) is used as written, or rendered in jinja2's sandbox when
        it ends in .j2 (context.render_sandboxed): computing a tag runs no code of the team."""
        spec = self.resolve(spec)
        d = _settings(spec)
        files: dict[str, Member] = {}
        if "template" in d or ("dockerfile" in d and str(d["dockerfile"]).endswith(".j2")):
            suite = d.get("suite", "bookworm")
            base = self.base_for(suite)
            template = self._template_path(spec)
            if "dockerfile" in d:
                sources = source_files(Path(d.get("context") or template.parent), own=False)
            else:
                if spec.source is None:
                    raise RunnerUnavailable(f"{spec.name}: a templated Docker runner needs a source folder")
                sources = source_files(spec.source, own=True)
            dockerfile = self.render(spec, template, base, suite, sorted(sources))
        elif "dockerfile" in d:
            sources = source_files(Path(d.get("context") or Path(d["dockerfile"]).parent), own=False)
            dockerfile = Path(d["dockerfile"]).read_text(errors="replace")
            # `ARG BASE_IMAGE` + `FROM ${BASE_IMAGE}`: the base the suite's own runners use, as a build argument
            base = self.base_for(d.get("suite", "bookworm")) if BASE_ARG.search(dockerfile) else ""
        else:
            raise RunnerUnavailable(f"{spec.name}: docker settings need `template`, `dockerfile` or `image`")
        if "dockerfile" in d:
            files.update(sources)  # a user context is used as it is
        else:
            files.update({f"src/{k}": v for k, v in sources.items()})
        if self.ca_bundle:
            files[CA_NAME] = Member(Path(self.ca_bundle).read_bytes())
        files["Dockerfile"] = Member(dockerfile.encode())
        h = hashlib.sha256()
        for k in sorted(files):
            h.update(k.encode() + b"\0" + hashlib.sha256(files[k].data).digest() + files[k].digest_extra())
        base_id = self.image_id(base) if base else None
        h.update(b"base\0" + (base_id or base).encode())
        tag = f"{LABEL}/{_repo_name(spec.name)}:{h.hexdigest()[:16]}"
        return dockerfile, files, tag, base

    def _template_path(self, spec: RunnerSpec) -> Path:
        d = _settings(spec)
        t = Path(d.get("template") or d["dockerfile"])  # called for specs with one or the other
        if t.is_absolute():
            return t
        for folder in (spec.source, RUNNERS_DIR / spec.language):
            if folder is not None and (Path(folder) / t).is_file():
                return Path(folder) / t
        raise RunnerUnavailable(
            f"{spec.name}: Dockerfile template {t} not found in {spec.source or RUNNERS_DIR / spec.language}"
        )

    def render(self, spec: RunnerSpec, template: Path, base: str, suite: str, sources: list[str]) -> str:
        """The Dockerfile of a template: the suite's own with full jinja2, a team's in the sandbox."""
        d = _settings(spec)
        command = _in_container(d.get("command") or spec.command)
        variables = {
            "name": spec.name,
            "base_image": base,
            "suite": suite,
            "mirror": self.mirror,
            "ca_bundle": CA_NAME if self.ca_bundle else None,
            "sources": sources,
            "command": command,
            "build": [_in_container(b) for b in spec.build],
            "uid": self.uid,
            "packages": [],
            "runtime_packages": [],
            **d.get("vars", {}),
        }
        return render(template, variables, own=_own(template), where=f"{spec.name}: Dockerfile template {template}")

    def check(self, specs: Iterable[RunnerSpec]) -> dict[str, str]:
        """Before any build: runner name -> why its image cannot be built or found, with the fix."""
        return precheck.problems(self, specs)

    def prepare(self, spec: RunnerSpec) -> dict[str, str]:
        """Build the runner's image unless an image with its content hash exists; returns the facts."""
        from docker.errors import APIError, ImageNotFound

        rspec = self.resolve(spec)
        if "image" in _settings(rspec):
            tag: str = _settings(rspec)["image"]
            try:
                self.api.inspect_image(tag)
            except ImageNotFound:
                raise RunnerUnavailable(
                    f"{spec.name}: Docker image {tag} is not in the local engine; build or load it "
                    "(`docker load`, or declare a Dockerfile instead)"
                ) from None
        else:
            dockerfile, files, tag, base = self.context(rspec)
            with self._lock:
                lock = self._build_locks.setdefault(tag, threading.Lock())
            with lock:
                try:
                    self.api.inspect_image(tag)
                except ImageNotFound:
                    self._build(rspec, tag, files, base, dockerfile)
                except APIError as e:
                    raise RunnerUnavailable(f"{spec.name}: cannot inspect image {tag}: {e}") from None
        self.images[spec.name] = tag
        return {"backend": self.name, "image": tag, "variant": spec.name}

    def _build(self, spec: RunnerSpec, tag: str, files: dict[str, Member], base: str, written: str) -> None:
        """Build one image. A team's build (`dockerfile`) is shown by step number and instruction only,
        and Docker's error with any Dockerfile line in it replaced: never the file's content."""
        from docker.errors import APIError

        name = spec.name
        team = "dockerfile" in _settings(spec)
        offline = team and self.offline_build
        started = time.monotonic()
        self._say(f"[{name}] building {tag} FROM {base or 'its Dockerfile'}" + (" (no network)" if offline else ""))
        dockerfile = "Dockerfile"
        step = "(before the first step)"
        log: deque[str] = deque(maxlen=200)
        partial = ""
        error = None
        build_id = uuid.uuid4().hex  # labels this build's builder stages, removed below
        dockerfile_text = stages.label_stages(files["Dockerfile"].data.decode(), build_id)
        files = {**files, "Dockerfile": Member(dockerfile_text.encode(), files["Dockerfile"].mode)}
        try:
            stream = self.api.build(
                fileobj=tar(files),
                custom_context=True,
                tag=tag,
                dockerfile=dockerfile,
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
                            self._say(f"[{name}] {untrusted.line(step if team else condense(line))}")
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
        stages.remove_stages(self.api, build_id)  # no untagged builder stages left behind
        if error is None:
            try:
                self.api.inspect_image(tag)
            except APIError:
                error = "the build ended without an image"
        if error is not None:
            if team:
                error = scrub(error, written)
            tail = "\n".join(list(log)[-STEP_LOG_LINES:])
            hint = build_hint(step, error, base, _settings(spec).get("suite", "SUITE"), offline=offline)
            raise RunnerUnavailable(
                f"{name}: building image {tag} failed at {step}\n{error.strip()}"
                + (f"\n--- last {min(len(log), STEP_LOG_LINES)} lines of that step ---\n{tail}" if tail else "")
                + hint
            )
        with self._lock:
            self.builds += 1
        self._say(f"[{name}] built {tag} in {time.monotonic() - started:.0f}s")

    # -- containers ------------------------------------------------------------------------------

    def _config(self, tag: str) -> dict[str, Any]:
        """The image's Config (Entrypoint, Cmd, ...), looked up once per tag."""
        config = self._image_config.get(tag)
        if config is None:
            try:
                config = self.api.inspect_image(tag).get("Config") or {}
            except Exception:
                config = {}
            self._image_config[tag] = config
        return config

    def container_options(self, tag: str, spec: RunnerSpec | None = None) -> dict[str, Any]:
        """create_container keyword arguments: the sandbox (also used by the tests for probes).

        The user is always the backend's uid:gid, never the image's USER; the entrypoint (the
        runner's `command`, else the image's ENTRYPOINT + CMD) runs under `timeout -s KILL
        LIFETIME` unless the image has no `timeout` (see start())."""
        from docker.types import LogConfig

        host_config = self.api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={
                "/tmp": f"rw,nosuid,nodev,noexec,size={self.tmpfs_size},mode=1777",
                "/dev/mqueue": "ro,nosuid,nodev,noexec,size=4k",  # the POSIX queue folder, not writable
            },
            ipc_mode="none",  # no /dev/shm at all: /tmp is the one writable place
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=self.mem_limit,
            memswap_limit=self.mem_limit,  # no swap on top
            pids_limit=self.pids_limit,
            nano_cpus=int(self.cpus * 1e9),
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
            user=f"{self.uid}:{self.gid}",
            labels={
                LABEL: "1",
                SESSION_LABEL: self.session,
                f"{LABEL}.runner": spec.name if spec else "",
                **owners.labels(self.lifetime),
            },
            host_config=host_config,
        )
        if spec is not None and spec.env:
            opts["environment"] = dict(spec.env)
        d = (spec.docker if spec else None) or {}
        if ("image" in d or "dockerfile" in d) and spec is not None and (d.get("command") or spec.command):
            argv = _in_container(d.get("command") or spec.command)
        else:
            config = self._config(tag)
            argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
        if argv and self._has_timeout.get(tag, True):
            opts.update(entrypoint=owners.wrap(argv, self.lifetime), command=[])
        elif ("image" in d or "dockerfile" in d) and spec is not None and (d.get("command") or spec.command):
            opts.update(entrypoint=argv, command=[])
        return opts

    def _probe_timeout(self, spec: RunnerSpec, tag: str) -> None:
        """Whether a team's image has a `timeout` command (the suite's own images are Debian's, with coreutils):
        one throw-away container per image and backend. Without it the lifetime is the harness's alone."""
        if tag in self._has_timeout or "template" in _settings(spec):
            return
        if not (found := owners.has_timeout(self.api, self.container_options(tag))):
            self._say(f"[{spec.name}] the image has no `timeout` command: {owners.NO_TIMEOUT}")
        self._has_timeout[tag] = found

    @property
    def watchdog_pid(self) -> int | None:
        """The process id of this backend's watchdog (owners.Watchdog), while it has one."""
        w = self._watchdog
        return w.proc.pid if w is not None and w.proc is not None else None

    def _first_start(self) -> None:
        """Before this backend's first container: remove the stale ones of dead runs, start the watchdog."""
        self._started = True
        owners.sweep(self.api, keep_session=self.session)
        self._watchdog = owners.Watchdog(self.session, self.docker_host)

    def start(self, spec: RunnerSpec) -> DockerProcess:
        from docker.errors import APIError

        tag = self.images.get(spec.name) or self.prepare(spec)["image"]
        rspec = self.resolve(spec)
        interrupt.register(self)  # SIGTERM and interpreter exit close() it too
        with self._first_lock:
            if self._watchdog is None:
                self._first_start()
        self._probe_timeout(rspec, tag)
        api = self.api
        cid: str | None = None
        proc: DockerProcess | None = None
        try:
            cid = api.create_container(**self.container_options(tag, rspec))["Id"]
            with self._lock:
                self._procs[cid] = None  # tracked from creation, so close() finds it whatever happens next
            sock = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            proc = DockerProcess(self, cid, sock, spec.name, self.mem_limit)
            with self._lock:
                self._procs[cid] = proc
            proc.begin()
            api.start(cid)
        except BaseException as e:
            if cid:
                self.remove(cid)
            if proc is not None:
                for f in (proc.stdin, proc.stdout, proc.stderr):
                    try:
                        f.close()
                    except OSError:
                        pass
            if isinstance(e, APIError):
                raise RunnerUnavailable(
                    f"{spec.name}: cannot start a container from {tag}: {e.explanation or e}"
                ) from None
            if isinstance(e, Exception):  # connection refused / reset: the engine itself is gone
                raise BackendGone(
                    f"the Docker engine stopped answering while starting {spec.name} ({type(e).__name__}: {e}); "
                    "start it again (`sudo systemctl start docker`, or `sudo dockerd &`) and re-run, or use --backend=local"
                ) from None
            raise
        return proc

    def remove(self, cid: str) -> None:
        """Force-remove a container now (killing it if it runs); errors are ignored."""
        from docker.errors import APIError, NotFound

        try:
            self.api.remove_container(cid, force=True, v=True)
        except NotFound:
            pass
        except APIError as e:
            if "already in progress" not in str(e):
                try:
                    self.api.kill(cid)
                except Exception:
                    pass
        except Exception:
            pass
        with self._lock:
            self._procs.pop(cid, None)

    def remove_later(self, cid: str) -> None:
        """Remove a container in the background (close() waits for those removals)."""
        with self._lock:
            if self._reaper is None:
                self._reaper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="docker-remove")
            reaper = self._reaper
        try:
            reaper.submit(self.remove, cid)
        except RuntimeError:  # interpreter shutting down: do it now
            self.remove(cid)

    def containers(self) -> list[str]:
        """Ids of the containers of this backend the engine still has (running or not)."""
        if not self._started:
            return []
        return [
            c["Id"]
            for c in self.api.containers(all=True, quiet=True, filters={"label": f"{SESSION_LABEL}={self.session}"})
        ]

    def close(self) -> None:
        """Remove every container this backend started; safe to call more than once."""
        if not self._started:
            return
        with self._lock:
            reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.shutdown(wait=True)  # removals already under way finish first
        with self._lock:
            procs = list(self._procs.items())
        for cid, proc in procs:
            if proc is not None and not proc.exited:
                proc.killed = True
            self.remove(cid)
        try:
            for cid in self.containers():  # anything created but never tracked
                self.remove(cid)
        except Exception:
            pass
        with self._first_lock:
            watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.close()
        interrupt.unregister(self)

"""DockerBackend: one session's runner images and sandboxed containers.

It resolves a runner to its Docker settings, finds its image by content-hash tag or builds it
(recipe.py says what an image is made from, building.py runs one build), starts one container per
runner session in the sandbox of sandbox.py (owners.py enforces its lifetime inside it), tracks every
container it created by its session label, and removes them all in `close()`. While it has containers
it is registered with the interruption handler (appauth_conformance.execution.interrupt), so SIGTERM
and interpreter exit close it too. Docker work goes through the SDK only.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from appauth_conformance.core.errors import BackendGone, RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution import interrupt
from appauth_conformance.execution.backends.docker import engine, owners, precheck, recipe, sandbox
from appauth_conformance.execution.backends.docker.building import build_image
from appauth_conformance.execution.backends.docker.ca_bundle import CA_NAME, default_ca_bundle
from appauth_conformance.execution.backends.docker.context import Member
from appauth_conformance.execution.backends.docker.engine import SESSION_LABEL
from appauth_conformance.execution.backends.docker.images import base_tag, host_mirror
from appauth_conformance.execution.backends.docker.process import DockerProcess
from appauth_conformance.execution.backends.docker.sandbox import DEFAULT_CPUS
from appauth_conformance.execution.variants import docker_spec

if TYPE_CHECKING:  # the SDK is imported when first needed
    from docker import APIClient, DockerClient

__all__ = ["CA_NAME", "DEFAULT_CPUS", "DockerBackend", "default_ca_bundle"]


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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
        self.image_configs: dict[str, dict[str, Any]] = {}  # tag -> the image's Config (sandbox.image_config)
        self.has_timeout: dict[str, bool] = {}  # tag -> the image has `timeout` (sandbox.probe_timeout)
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

    def say(self, line: str) -> None:
        """One progress line (build steps, probes), when the backend has a progress callback."""
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
        """(Dockerfile text, build-context members, tag, base image) of a spec, without building
        (recipe.context: a team's template is rendered in jinja2's sandbox, running no code of the team)."""
        return recipe.context(self, self.resolve(spec))

    def render(self, spec: RunnerSpec, template: Path, base: str, suite: str, sources: list[str]) -> str:
        """The Dockerfile of a template: the suite's own with full jinja2, a team's in the sandbox."""
        return recipe.render_template(self, spec, template, base, suite, sources)

    def check(self, specs: Iterable[RunnerSpec]) -> dict[str, str]:
        """Before any build: runner name -> why its image cannot be built or found, with the fix."""
        return precheck.problems(self, specs)

    def prepare(self, spec: RunnerSpec) -> dict[str, str]:
        """Build the runner's image unless an image with its content hash exists; returns the facts."""
        from docker.errors import APIError, ImageNotFound

        rspec = self.resolve(spec)
        if "image" in recipe.settings(rspec):
            tag: str = recipe.settings(rspec)["image"]
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
                    build_image(self, rspec, tag, files, base, dockerfile)
                    with self._lock:
                        self.builds += 1
                except APIError as e:
                    raise RunnerUnavailable(f"{spec.name}: cannot inspect image {tag}: {e}") from None
        self.images[spec.name] = tag
        return {"backend": self.name, "image": tag, "variant": spec.name}

    # -- containers ------------------------------------------------------------------------------

    def container_options(self, tag: str, spec: RunnerSpec | None = None) -> dict[str, Any]:
        """create_container keyword arguments: the sandbox (sandbox.container_options; the tests probe with it)."""
        return sandbox.container_options(self, tag, spec)

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
        sandbox.probe_timeout(self, rspec, tag)
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
                except Exception:  # stopping is best effort: the removal below forces it, and says what fails
                    pass
        except Exception:  # the engine may be gone or the container already dead: removal below still runs
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
        except Exception:  # closing must not raise: the watchdog and the next run's sweep remove what is left
            pass
        with self._first_lock:
            watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.close()
        interrupt.unregister(self)

"""The Docker backend: each runner in its own image, one sandboxed container per session.

Images are built from `runners/<lang>/Dockerfile.j2` (rendered with jinja2) and tagged
`appauth-conformance/<runner>:<hash16>`, the hash covering the rendered Dockerfile, the
runner's source files, the CA bundle and the base image's id: a tag that exists is never
rebuilt, so only a changed runner is. Containers run with no network, a read-only root
filesystem, no capabilities, no new privileges, a non-root user and memory/pid limits;
their stdio is one attached socket, demultiplexed into two pipes so the session sees a
Popen-like process. Every container carries this backend's session label; `close()`
removes them all (also at exit and on SIGTERM). Docker work goes through the SDK only.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import BackendGone, RunnerUnavailable, UsageError
from ..model import RunnerSpec
from ..runners import RUNNERS_DIR

LABEL = "appauth-conformance"
SESSION_LABEL = f"{LABEL}.session"
CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS")
CA_NAME = "appauth-ca.crt"  # the CA bundle's name in a build context
SKIP_SOURCES = {"node_modules", "__pycache__", ".git", "known-divergences.yaml", "Dockerfile.j2"}
STEP_LOG_LINES = 30


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


def _in_container(argv) -> list[str]:
    return [a.replace("{python}", "python3") for a in argv]


def _source_files(folder: Path) -> dict[str, bytes]:
    """Relative path -> content of every file the image gets (sorted, deterministic)."""
    out: dict[str, bytes] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part in SKIP_SOURCES or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file():
            out[rel.as_posix()] = p.read_bytes()
    return out


def _tar(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _condense(step: str, width: int = 110) -> str:
    """One short line for a build step: whitespace folded, the shell boilerplate dropped."""
    s = " ".join(step.split())
    s = s.replace("RUN set -eux; ", "RUN ")
    m = re.search(r"apt-get install -y -q --no-install-recommends ([^;]*)", s)
    if m and s.split(" : ", 1)[-1].startswith("RUN"):
        s = s.split(" : ", 1)[0] + " : RUN apt-get install " + m.group(1).strip()
    return s if len(s) <= width else s[: width - 1] + "\u2026"


# -- cleanup on every exit path --------------------------------------------------------------------

_live: weakref.WeakSet[DockerBackend] = weakref.WeakSet()
_hooks_installed = False
_hooks_lock = threading.Lock()


def _close_all() -> None:
    for b in list(_live):
        try:
            b.close()
        except Exception:
            pass


def _on_sigterm(signum, frame):
    _close_all()
    prev = _previous_sigterm
    if callable(prev):
        prev(signum, frame)
    elif prev == signal.SIG_IGN:
        return
    else:  # default action, but let finally blocks and atexit run
        raise SystemExit(128 + signum)


_previous_sigterm = None
_signal_installed = False


def _install_hooks() -> None:
    """atexit and SIGTERM run close() of every backend with containers; installed once, chained."""
    global _hooks_installed, _previous_sigterm, _signal_installed
    with _hooks_lock:
        if not _hooks_installed:
            _hooks_installed = True
            atexit.register(_close_all)
        if not _signal_installed and threading.current_thread() is threading.main_thread():
            try:
                prev = signal.getsignal(signal.SIGTERM)
                if prev is not _on_sigterm:
                    _previous_sigterm = prev
                    signal.signal(signal.SIGTERM, _on_sigterm)
                _signal_installed = True
            except (ValueError, OSError):  # not the main interpreter
                pass


def remove_leftovers(session: str | None = None, client=None) -> int:
    """Remove every container labelled appauth-conformance (or of one backend session); for CI cleanup.

    Returns how many were removed. Containers of a run still in progress are removed too
    (their sessions see the runner killed): run it between runs.
    """
    from docker.errors import APIError, NotFound

    from .. import images

    api = (client or images.client()).api
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


# -- the process -----------------------------------------------------------------------------------


class _SocketStdin:
    """The container's stdin: write() sends on the attach socket, close() half-closes it (EOF)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self.closed = False

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to closed stdin")
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise BrokenPipeError(e.errno, f"runner stdin closed: {e}") from None
        return len(data)

    def flush(self) -> None:
        if self.closed:
            raise ValueError("flush of closed stdin")

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def fileno(self) -> int:
        return self._sock.fileno()


def _set_pipe_size(fd: int, size: int = 1 << 20) -> None:
    try:
        fcntl.fcntl(fd, 1031, size)  # F_SETPIPE_SZ: fewer context switches on big responses
    except OSError:
        pass


class DockerProcess:
    """A running container that looks like subprocess.Popen(stdin=PIPE, stdout=PIPE, stderr=PIPE, bufsize=0)."""

    def __init__(self, backend: DockerBackend, container_id: str, sock_io, name: str, mem_limit: str):
        self.backend = backend
        self.id = container_id
        self.name = name
        self.mem_limit = mem_limit
        self.returncode: int | None = None
        self.oom_killed = False
        self.killed = False  # by us
        self._exited = threading.Event()
        self._sock_io = sock_io  # keeps the HTTP response (and so the socket) alive
        self._sock: socket.socket = getattr(sock_io, "_sock", sock_io)
        self._sock.settimeout(None)
        r_out, self._w_out = os.pipe()
        r_err, self._w_err = os.pipe()
        _set_pipe_size(self._w_out)
        self.stdout = os.fdopen(r_out, "rb", buffering=0)
        self.stderr = os.fdopen(r_err, "rb", buffering=0)
        self.stdin = _SocketStdin(self._sock)
        self.pid = None
        self._thread = threading.Thread(target=self._demux, name=f"docker-demux-{name}", daemon=True)

    def _begin(self) -> None:
        self._thread.start()

    # Docker's multiplexed stream: frames of [stream, 0, 0, 0, size (4 bytes, big endian)] + payload.
    def _demux(self) -> None:
        """Copy payloads to the pipes in big chunks: one recv into a reused buffer, no per-line work."""
        sock = self._sock
        fds = {1: self._w_out, 2: self._w_err}
        dead: set[int] = set()  # a pipe whose reader went away: its data is dropped
        buf = bytearray(1 << 20)
        whole = memoryview(buf)
        head = b""  # a frame header split across two reads
        fd = -1
        remaining = 0  # payload bytes of the current frame still to come
        try:
            while True:
                try:
                    n = sock.recv_into(buf)
                except OSError:
                    n = 0
                if not n:
                    break
                view = whole[:n]
                pos = 0
                while pos < n:
                    if remaining:
                        take = min(remaining, n - pos)
                        if fd not in dead:
                            self._write_all(fd, view[pos : pos + take], dead)
                        pos += take
                        remaining -= take
                        continue
                    need = 8 - len(head)
                    if n - pos < need:
                        head += bytes(view[pos:])
                        break
                    hdr = head + bytes(view[pos : pos + need])
                    head = b""
                    pos += need
                    fd = fds.get(hdr[0], self._w_err)  # 1 stdout, 2 stderr; anything else is for humans
                    remaining = int.from_bytes(hdr[4:8], "big")
        finally:
            for w in (self._w_out, self._w_err):
                try:
                    os.close(w)
                except OSError:
                    pass
            self._collect_exit()

    @staticmethod
    def _write_all(fd: int, chunk: memoryview, dead: set[int]) -> None:
        while chunk:
            try:
                written = os.write(fd, chunk)
            except OSError:  # EPIPE: the session closed its end
                dead.add(fd)
                return
            chunk = chunk[written:]

    def _collect_exit(self) -> None:
        """After the stream ends: the container's exit status (and whether the kernel OOM-killed it)."""
        from docker.errors import APIError, NotFound

        api = self.backend.api
        try:
            if not self.killed:
                status = api.wait(self.id, timeout=None).get("StatusCode")
                if self.returncode is None:
                    if status not in (0, None):
                        try:
                            self.oom_killed = bool(api.inspect_container(self.id)["State"].get("OOMKilled"))
                        except (NotFound, APIError):
                            pass
                    self.returncode = status if status is not None else -1
        except (NotFound, APIError, OSError, Exception):
            pass
        finally:
            if self.returncode is None:
                self.returncode = -signal.SIGKILL if self.killed else -1
            self._exited.set()
            try:  # wakes a writer still blocked on the socket before the fd goes away
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            for s in (self._sock, self._sock_io):
                try:
                    s.close()
                except Exception:
                    pass

    # -- Popen-like ----------------------------------------------------------------------------

    def poll(self) -> int | None:
        if self._exited.is_set():
            return self.returncode
        from docker.errors import NotFound

        try:
            state = self.backend.api.inspect_container(self.id)["State"]
        except NotFound:
            return -signal.SIGKILL if self.killed else None
        except Exception:
            return None
        if state.get("Running") or state.get("Status") in ("created", "restarting", "running", "paused"):
            return None
        # exited, the stream may still be draining: report it now, the demux thread agrees later
        self.oom_killed = bool(state.get("OOMKilled"))
        return state.get("ExitCode")

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"container {self.id[:12]} ({self.name})", timeout)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL and remove the container (one API call); its streams then end.

        A container that already exited (the usual end: EOF on stdin, exit 0) is removed in
        the background, so closing a session does not wait for the engine; the backend's
        close() waits for those removals."""
        if self._exited.is_set():
            self.backend._remove_later(self.id)
            return
        self.killed = True
        self.backend._remove(self.id)
        try:  # unblocks the demux thread if the engine keeps the stream open a moment longer
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def terminate(self) -> None:
        self.kill()

    def describe_exit(self) -> str:
        code = self.returncode if self._exited.is_set() else self.poll()
        if code is None:
            return "still running"
        if self.oom_killed:
            return f"killed: out of memory (container limit {self.mem_limit}; exit status {code})"
        if self.killed and code < 0:
            return "killed by SIGKILL (container stopped by the harness)"
        if code < 0:
            return "container gone (exit status unknown)"
        if code > 128:
            try:
                sig = signal.Signals(code - 128).name
                return f"exited with status {code} (killed by {sig} in the container)"
            except ValueError:
                pass
        return f"exited with status {code}"


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
    progress: called with one condensed line per build step; default: printed to stderr; None: quiet.
    """

    name = "docker"

    def __init__(
        self,
        base_image: str | None = None,
        ca_bundle: str | None = None,
        progress: Callable[[str], None] | str | None = "stderr",
        mirror: str | None = None,
        *,
        mem_limit: str = "512m",
        pids_limit: int = 256,
        tmpfs_size: str = "64m",
        uid: int = 1000,
        client=None,
    ):
        from .. import images

        self.base_image = base_image
        if ca_bundle is None:
            ca_bundle = default_ca_bundle()
        elif ca_bundle and not os.path.isfile(ca_bundle):
            raise UsageError(f"--ca-bundle {ca_bundle}: no such file; give the PEM bundle your proxy's CA is in")
        self.ca_bundle = ca_bundle or None
        self.mirror = (mirror or images.host_mirror()).rstrip("/")
        # builds take minutes when nothing is cached: by default their steps go to stderr
        self.progress = _to_stderr if progress == "stderr" else progress
        self.mem_limit = mem_limit
        self.pids_limit = pids_limit
        self.tmpfs_size = tmpfs_size
        self.uid = uid
        self.session = uuid.uuid4().hex
        self.builds = 0  # images this backend built (not found in the cache)
        self.images: dict[str, str] = {}  # runner name -> image tag
        self._client = client
        self._procs: dict[str, DockerProcess] = {}
        self._lock = threading.Lock()
        self._build_locks: dict[str, threading.Lock] = {}
        self._user: dict[str, str] = {}
        self._started = False
        self._reaper: ThreadPoolExecutor | None = None
        _install_hooks()

    # -- engine ----------------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            from .. import images

            self._client = images.client()
        return self._client

    @property
    def api(self):
        return self.client.api

    def _say(self, line: str) -> None:
        if self.progress:
            self.progress(line)

    # -- images ----------------------------------------------------------------------------------

    def resolve(self, spec: RunnerSpec) -> RunnerSpec:
        """The spec with docker settings (a local built-in maps to its default variant)."""
        from ..matrix import docker_spec

        out = docker_spec(spec)
        if out is None:
            raise RunnerUnavailable(
                f"{spec.name}: no Docker image is declared for this runner; give it one "
                "(`image=` or `dockerfile=`, see docs/docker.md) or run it with --backend=local"
            )
        return out

    def base_for(self, suite: str) -> str:
        from .. import images

        if self.base_image:
            return self.base_image.replace("{suite}", suite)
        own = images.base_tag(suite)
        if images.image_exists(own):
            return own
        return f"debian:{suite}-slim"

    def context(self, spec: RunnerSpec) -> tuple[str, dict[str, bytes], str, str]:
        """(Dockerfile text, build-context files, tag, base image) of a spec, without building."""
        spec = self.resolve(spec)
        d = spec.docker
        files: dict[str, bytes] = {}
        if "template" in d or ("dockerfile" in d and str(d["dockerfile"]).endswith(".j2")):
            suite = d.get("suite", "bookworm")
            base = self.base_for(suite)
            template = self._template_path(spec)
            if "dockerfile" in d:
                sources = _source_files(Path(d.get("context") or spec.source or template.parent))
            else:
                if spec.source is None:
                    raise RunnerUnavailable(f"{spec.name}: a templated Docker runner needs a source folder")
                sources = _source_files(spec.source)
            dockerfile = self.render(spec, template, base, suite, sorted(sources))
        elif "dockerfile" in d:
            base = ""
            sources = _source_files(Path(d.get("context") or spec.source or Path(d["dockerfile"]).parent))
            dockerfile = Path(d["dockerfile"]).read_text()
        else:
            raise RunnerUnavailable(f"{spec.name}: docker settings need `template`, `dockerfile` or `image`")
        if "dockerfile" in d:
            files.update(sources)  # a user context is used as it is
        else:
            files.update({f"src/{k}": v for k, v in sources.items()})
        if self.ca_bundle:
            files[CA_NAME] = Path(self.ca_bundle).read_bytes()
        files["Dockerfile"] = dockerfile.encode()
        h = hashlib.sha256()
        for k in sorted(files):
            h.update(k.encode() + b"\0" + hashlib.sha256(files[k]).digest())
        from .. import images

        base_id = images.image_id(base) if base else None
        h.update(b"base\0" + (base_id or base).encode())
        tag = f"{LABEL}/{_repo_name(spec.name)}:{h.hexdigest()[:16]}"
        return dockerfile, files, tag, base

    def _template_path(self, spec: RunnerSpec) -> Path:
        d = spec.docker
        t = Path(d.get("template") or d.get("dockerfile"))
        if t.is_absolute():
            return t
        for folder in (spec.source, RUNNERS_DIR / spec.language):
            if folder is not None and (Path(folder) / t).is_file():
                return Path(folder) / t
        raise RunnerUnavailable(
            f"{spec.name}: Dockerfile template {t} not found in {spec.source or RUNNERS_DIR / spec.language}"
        )

    def render(self, spec: RunnerSpec, template: Path, base: str, suite: str, sources: list[str]) -> str:
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(template.parent)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        env.filters["shquote"] = shlex.quote
        command = _in_container(spec.docker.get("command") or spec.command)
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
            **spec.docker.get("vars", {}),
        }
        try:
            return env.get_template(template.name).render(**variables)
        except jinja2.TemplateError as e:
            raise RunnerUnavailable(f"{spec.name}: cannot render {template}: {e}") from None

    def prepare(self, spec: RunnerSpec) -> dict:
        """Build the runner's image unless an image with its content hash exists; returns the facts."""
        from docker.errors import APIError, ImageNotFound

        rspec = self.resolve(spec)
        if "image" in rspec.docker:
            tag = rspec.docker["image"]
            try:
                self.api.inspect_image(tag)
            except ImageNotFound:
                raise RunnerUnavailable(
                    f"{spec.name}: Docker image {tag} is not in the local engine; build or load it "
                    "(`docker load`, or declare a Dockerfile instead)"
                ) from None
        else:
            _dockerfile, files, tag, base = self.context(rspec)
            with self._lock:
                lock = self._build_locks.setdefault(tag, threading.Lock())
            with lock:
                try:
                    self.api.inspect_image(tag)
                except ImageNotFound:
                    self._build(rspec, tag, files, base)
                except APIError as e:
                    raise RunnerUnavailable(f"{spec.name}: cannot inspect image {tag}: {e}") from None
        self.images[spec.name] = tag
        return {"backend": self.name, "image": tag, "variant": spec.name}

    def _build(self, spec: RunnerSpec, tag: str, files: dict[str, bytes], base: str) -> None:
        from docker.errors import APIError

        name = spec.name
        started = time.monotonic()
        self._say(f"[{name}] building {tag} FROM {base or 'its Dockerfile'}")
        dockerfile = "Dockerfile"
        step = "(before the first step)"
        log: deque[str] = deque(maxlen=200)
        partial = ""
        error = None
        try:
            stream = self.api.build(
                fileobj=_tar(files),
                custom_context=True,
                tag=tag,
                dockerfile=dockerfile,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
                labels={LABEL: "1", f"{LABEL}.runner": name},
            )
            for chunk in stream:
                if "stream" in chunk:
                    text = partial + chunk["stream"]
                    lines = text.split("\n")
                    partial = lines.pop()
                    for line in lines:
                        line = line.rstrip("\r")
                        if line.startswith("Step "):
                            step = line
                            log.clear()
                            self._say(f"[{name}] {_condense(line)}")
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
        if error is None:
            try:
                self.api.inspect_image(tag)
            except APIError:
                error = "the build ended without an image"
        if error is not None:
            tail = "\n".join(list(log)[-STEP_LOG_LINES:])
            hint = ""
            if (
                step.startswith("Step 1/")
                or "pull access denied" in error
                or "registry" in error
                or ("not found" in error.lower() and base in error)
            ):
                suite = spec.docker.get("suite", "SUITE")
                hint = (
                    f"\nThe base image {base} is not in the local engine: make it with "
                    f"`appauth-conformance images bootstrap --suite {suite}` or give one with --base-image."
                )
            raise RunnerUnavailable(
                f"{name}: building image {tag} failed at {step}\n{error.strip()}"
                + (f"\n--- last {min(len(log), STEP_LOG_LINES)} lines of that step ---\n{tail}" if tail else "")
                + hint
            )
        with self._lock:
            self.builds += 1
        self._say(f"[{name}] built {tag} in {time.monotonic() - started:.0f}s")

    # -- containers ------------------------------------------------------------------------------

    def _image_user(self, tag: str) -> str:
        user = self._user.get(tag)
        if user is None:
            try:
                user = (self.api.inspect_image(tag).get("Config") or {}).get("User") or ""
            except Exception:
                user = ""
            if user.split(":")[0] in ("", "0", "root"):
                user = f"{self.uid}:{self.uid}"
            self._user[tag] = user
        return user

    def container_options(self, tag: str, spec: RunnerSpec | None = None) -> dict:
        """create_container keyword arguments: the sandbox (also used by the tests for probes)."""
        host_config = self.api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={self.tmpfs_size},mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=self.mem_limit,
            memswap_limit=self.mem_limit,  # no swap on top
            pids_limit=self.pids_limit,
            init=False,
            # no json-file log: it would cost the engine a JSON encode and a disk write per
            # line, and keep app keys on disk; the session reads stdio through the attach
            log_config={"Type": "none", "Config": {}},
            auto_remove=False,  # we read the exit status, then remove it ourselves
        )
        opts = dict(
            image=tag,
            stdin_open=True,
            tty=False,
            network_disabled=True,
            user=self._image_user(tag),
            labels={LABEL: "1", SESSION_LABEL: self.session, f"{LABEL}.runner": spec.name if spec else ""},
            host_config=host_config,
        )
        if spec is not None:
            if spec.env:
                opts["environment"] = dict(spec.env)
            user_image = spec.docker and ("image" in spec.docker or "dockerfile" in spec.docker)
            if user_image and (spec.docker.get("command") or spec.command):
                opts["entrypoint"] = _in_container(spec.docker.get("command") or spec.command)
                opts["command"] = []
        return opts

    def start(self, spec: RunnerSpec) -> DockerProcess:
        from docker.errors import APIError

        tag = self.images.get(spec.name) or self.prepare(spec)["image"]
        rspec = self.resolve(spec)
        _install_hooks()
        _live.add(self)
        self._started = True
        api = self.api
        cid = proc = None
        try:
            cid = api.create_container(**self.container_options(tag, rspec))["Id"]
            with self._lock:
                self._procs[cid] = None  # tracked from creation, so close() finds it whatever happens next
            sock = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            proc = DockerProcess(self, cid, sock, spec.name, self.mem_limit)
            with self._lock:
                self._procs[cid] = proc
            proc._begin()
            api.start(cid)
        except BaseException as e:
            if cid:
                self._remove(cid)
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
                    "start it again (scripts/docker-up.sh) and re-run, or use --backend=local"
                ) from None
            raise
        return proc

    def _remove(self, cid: str) -> None:
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

    def _remove_later(self, cid: str) -> None:
        with self._lock:
            if self._reaper is None:
                self._reaper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="docker-remove")
            reaper = self._reaper
        try:
            reaper.submit(self._remove, cid)
        except RuntimeError:  # interpreter shutting down: do it now
            self._remove(cid)

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
            if proc is not None and not proc._exited.is_set():
                proc.killed = True
            self._remove(cid)
        try:
            for cid in self.containers():  # anything created but never tracked
                self._remove(cid)
        except Exception:
            pass
        _live.discard(self)

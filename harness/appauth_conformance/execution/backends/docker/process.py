"""A runner's container as a process: the Popen-like DockerProcess, its stdin on the attach socket,
and the demultiplexer that splits the socket's frames into a stdout and a stderr pipe.

The container's stdio is one attached socket. A thread reads it in large chunks, splits Docker's
8-byte-header frames into two OS pipes without looking at lines, and the session sees an ordinary
Popen-like process; closing its stdin half-closes the socket, so the runner sees EOF and exits 0.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from typing import TYPE_CHECKING, Any, Protocol

from appauth_conformance.execution.backends.pipes import set_pipe_size

if TYPE_CHECKING:  # the SDK is imported when first needed
    from docker import APIClient

BACKGROUND_SHARES = 102  # a background container's CPU weight: a tenth of the default 1024


class Host(Protocol):
    """What a DockerProcess needs from the backend that started it."""

    @property
    def api(self) -> APIClient: ...  # the engine's low-level API client

    def remove(self, container_id: str) -> None: ...  # force-remove now
    def remove_later(self, container_id: str) -> None: ...  # remove in the background


class SocketStdin:
    """The container's stdin: write() sends on the attach socket, close() half-closes it (EOF)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self.closed = False
        # held by every write and by the socket's close: a write that started before the close never
        # lands on a new socket that reused the descriptor number
        self.lock = threading.Lock()

    def write(self, data: bytes) -> int:
        with self.lock:
            if self.closed or self._sock.fileno() < 0:
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


class DockerProcess:
    """A running container that looks like subprocess.Popen(stdin=PIPE, stdout=PIPE, stderr=PIPE, bufsize=0).

    `begin()` starts the demultiplexer thread; call it before the container starts so no output is lost."""

    def __init__(self, host: Host, container_id: str, sock_io: Any, name: str, mem_limit: str):
        self.host = host
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
        set_pipe_size(self._w_out)
        self.stdout = os.fdopen(r_out, "rb", buffering=0)
        self.stderr = os.fdopen(r_err, "rb", buffering=0)
        self.stdin = SocketStdin(self._sock)
        self.pid = None
        self._thread = threading.Thread(target=self._demux, name=f"docker-demux-{name}", daemon=True)

    def begin(self) -> None:
        """Start copying the attach stream to the pipes."""
        self._thread.start()

    @property
    def exited(self) -> bool:
        """The stream has ended and the exit status is known."""
        return self._exited.is_set()

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

        api = self.host.api
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
        except Exception:
            pass  # the container or the engine is gone (NotFound, APIError, a broken socket): finally records the exit
        finally:
            if self.returncode is None:
                self.returncode = -signal.SIGKILL if self.killed else -1
            self._exited.set()
            try:  # wakes a writer still blocked on the socket before the fd goes away
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            with self.stdin.lock:
                for s in (self._sock, self._sock_io):
                    try:
                        s.close()
                    except Exception:  # a socket already closed or broken: nothing is left to release
                        pass

    # -- Popen-like ----------------------------------------------------------------------------

    def poll(self) -> int | None:
        if self._exited.is_set():
            return self.returncode
        from docker.errors import NotFound

        try:
            state = self.host.api.inspect_container(self.id)["State"]
        except NotFound:
            return -signal.SIGKILL if self.killed else None
        except Exception:  # the engine does not answer: the state is unknown, so not yet exited (asked again later)
            return None
        if state.get("Running") or state.get("Status") in ("created", "restarting", "running", "paused"):
            return None
        # exited, the stream may still be draining: report it now, the demux thread agrees later
        self.oom_killed = bool(state.get("OOMKilled"))
        return state.get("ExitCode")

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            assert timeout is not None  # waiting with no timeout returns only once the event is set
            raise subprocess.TimeoutExpired(f"container {self.id[:12]} ({self.name})", timeout)
        assert self.returncode is not None  # _collect_exit sets it before it sets _exited
        return self.returncode

    def kill(self) -> None:
        """SIGKILL and remove the container (one API call); its streams then end.

        A container that already exited (the usual end: EOF on stdin, exit 0) is removed in
        the background, so closing a session does not wait for the engine; the backend's
        close() waits for those removals."""
        if self._exited.is_set():
            self.host.remove_later(self.id)
            return
        self.killed = True
        self.host.remove(self.id)
        try:  # unblocks the demux thread if the engine keeps the stream open a moment longer
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def terminate(self) -> None:
        self.kill()

    def set_background(self, background: bool) -> None:
        """The container's CPU weight (cpu_shares; 1024 is everyone's default): a tenth of it in the
        background, as a local runner's nice 10. One engine call, only when the fuzzer's favourite changes."""
        if self._exited.is_set():
            return
        try:
            self.host.api.update_container(self.id, cpu_shares=BACKGROUND_SHARES if background else 1024)
        except Exception:  # gone, or an engine that cannot update a running container: its weight stays
            pass

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

"""A started runner process and its pipes: the stdout reader, the stderr drain, the request writer.

`RunnerProcess` is one started process (an incarnation of a `session.Session`'s runner) with the
threads that read its stdout into a queue of line batches and keep its stderr tail; `RequestFeed`
is the writer side of one incarnation: it takes items, registers them as pending by seq and writes
their request lines, keeping a window of requests in flight. `session.Session` matches the replies.
"""

from __future__ import annotations

import collections
import itertools
import operator
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from appauth_conformance.core import wire
from appauth_conformance.core.model import Process

STDERR_TAIL = 16 << 10  # the last bytes of a runner's stderr kept, and handed to each fault
QUEUE_BYTES = 32 << 20  # reply bytes read but not yet judged, at most (then the reader waits): with
# wire.MAX_LINE and the cuts made when a reply is judged, a runner cannot make the harness grow


class Request(Protocol):
    """What a session sends: a request line template and its body (a Vector, a TokenRequest, the fuzzer's
    lighter inputs): the line is `request_template % (seq, request_body)`."""

    @property
    def request_body(self) -> bytes: ...

    @property
    def request_template(self) -> bytes: ...


R = TypeVar("R", bound=Request)

# What the stdout reader queues: ("lines", list[bytes], size) complete lines; ("eof", bytes, 0) the
# unfinished last line; ("toolong", int, 0) the size of a line past wire.MAX_LINE. `size` is the
# bytes they hold, counted against QUEUE_BYTES until taken (RunnerProcess.take).
StdoutEvent = tuple[str, Any, int]


def steady_memory() -> bool:
    """Fix glibc's mmap threshold (as MALLOC_MMAP_THRESHOLD_=131072 would), so the sessions' 256 KiB read
    buffers are always mapped and unmapped instead of raising the threshold and fragmenting the heap.
    For long fuzzing processes (CLI, benchmark); returns False where there is no glibc."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 128 * 1024))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


class RunnerProcess:
    """One started process with its reader, stderr-drain and writer threads.

    Each stream is closed by the thread that uses it, after its last use (stdin under a lock its
    writers hold). Closing a pipe that another thread is about to read lets the next runner's pipe
    reuse the descriptor number: the late read then steals that runner's hello, or a late write
    sends requests to the wrong runner.
    """

    def __init__(self, proc: Process, lines: queue.Queue[StdoutEvent]):
        self.proc = proc
        self.lines = lines
        self.stderr: collections.deque[bytes] = collections.deque()
        self.stderr_size = 0
        self.stop = threading.Event()
        self.stderr_lock = threading.Lock()
        self.stderr_done = threading.Event()  # the drain saw EOF: the tail is complete
        self.stdin_lock = threading.Lock()  # held by every write to stdin and by its close
        self.stdin_closed = False
        self.next_seq = 0  # seqs stay unique for the life of the process, across run() calls
        self.queued = 0  # bytes of lines queued and not yet taken
        self.room = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        """Split stdout into lines; a batch of lines per queue item keeps the queue cheap."""
        out = self.proc.stdout
        try:
            self._split_lines(_reader(out))
        finally:
            _close(out)

    def _split_lines(self, read: Callable[[int], bytes | None]) -> None:
        parts: list[bytes] = []  # pieces of an unfinished line, joined once (a long line stays linear)
        size = 0
        while True:
            try:
                chunk = read(1 << 18)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                self.lines.put(("eof", b"".join(parts), 0))
                return
            if b"\n" not in chunk:
                parts.append(chunk)
                size += len(chunk)
                if size > wire.MAX_LINE:
                    self.lines.put(("toolong", size, 0))
                    return
                continue
            done = chunk.split(b"\n")
            if size + len(done[0]) > wire.MAX_LINE:  # the line's last piece counts too
                self.lines.put(("toolong", size + len(done[0]), 0))
                return
            if parts:
                done[0] = b"".join(parts) + done[0]
            tail = done.pop()
            held = size + len(chunk) - len(tail)  # the bytes of the complete lines (and their newlines)
            parts, size = ([tail], len(tail)) if tail else ([], 0)
            self._put(done, held)

    def _put(self, lines: list[bytes], size: int) -> None:
        """Queue complete lines once fewer than QUEUE_BYTES wait to be judged (a stopped process never waits)."""
        with self.room:
            while self.queued > QUEUE_BYTES and not self.stop.is_set():
                self.room.wait(0.1)
            self.queued += size
        self.lines.put(("lines", lines, size))

    def take(self, timeout: float) -> tuple[str, Any]:
        """The next event of the reader (queue.Empty after `timeout`), its bytes no longer counted as queued."""
        kind, payload, size = self.lines.get(timeout=timeout)
        if size:
            with self.room:
                self.queued -= size
                if self.queued + size > QUEUE_BYTES:  # the reader may be waiting for room (_put)
                    self.room.notify()
        return kind, payload

    def _drain_stderr(self) -> None:
        """Keep the stderr tail; draining also keeps a chatty runner from blocking on a full pipe."""
        err = self.proc.stderr
        read = getattr(err, "read1", err.read)
        try:
            while True:
                try:
                    chunk = read(1 << 16)
                except (OSError, ValueError):
                    return
                if not chunk:
                    return
                with self.stderr_lock:
                    self.stderr.append(chunk)
                    self.stderr_size += len(chunk)
                    while self.stderr_size - len(self.stderr[0]) > STDERR_TAIL:
                        self.stderr_size -= len(self.stderr.popleft())
        finally:
            _close(err)
            self.stderr_done.set()

    def stderr_tail(self) -> str:
        """The last words on stderr. Call after kill(): the drain then reaches EOF with everything the
        process wrote (bounded: a process it left behind may still hold the pipe)."""
        self.stderr_done.wait(2)
        with self.stderr_lock:
            data = b"".join(self.stderr)[-STDERR_TAIL:]
        return data.decode("utf-8", "replace")

    def close_stdin(self, wait: bool = True) -> bool:
        """EOF on the runner's stdin, once no write is under way; without `wait`, only if none is."""
        if not self.stdin_lock.acquire(timeout=10 if wait else 0):
            return False  # a write still blocked on a runner that will not die: leave the pipe open
        try:
            if not self.stdin_closed:
                self.stdin_closed = True
                _close(self.proc.stdin)
        finally:
            self.stdin_lock.release()
        return True

    def kill(self) -> None:
        """Kill and reap the process; its stdout and stderr threads close their ends at EOF."""
        self.stop.set()
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except Exception:  # killed but not reaped in time: the process is gone for us either way
            pass
        self.close_stdin()  # a write blocked on the dead runner has failed by now


_TEMPLATE, _BODY = operator.attrgetter("request_template"), operator.attrgetter("request_body")


def _reader(stream: Any) -> Callable[[int], bytes | None]:
    """read(n) for the stdout reader: into one buffer kept for the process's life, returning a copy of what
    came. read1(256 KiB) allocates a 256 KiB object per read, which glibc maps and unmaps (steady_memory):
    measured, that was about half of a reader's CPU for replies that come 20-40 KiB at a time."""
    readinto = getattr(stream, "readinto1", None) or getattr(stream, "readinto", None)
    if readinto is None:
        return getattr(stream, "read1", stream.read)
    view = memoryview(bytearray(1 << 18))

    def read(n: int) -> bytes:
        got = readinto(view[:n])
        return view[:got].tobytes() if got else b""

    return read


def _close(stream: Any) -> None:
    try:
        stream.close()
    except Exception:  # a pipe to a dead runner may fail to flush on close: nothing left to tell it
        pass


class RequestFeed(Generic[R]):
    """The writer side of one incarnation: takes items, registers them in `pending`, writes lines.

    An item is always in exactly one place: the source, `resend`, or `pending`; `_claim`
    moves it under a lock, so stopping the writer after a fault can never lose or double one.
    """

    def __init__(self, inc: RunnerProcess, source: Iterator[R], resend: list[R], window: int):
        self.inc, self.source, self.window = inc, source, window
        self.resend = collections.deque(resend)
        self.pending: dict[int, R] = {}
        # a full window is topped up once a quarter of it is answered, not after every read of replies:
        # far fewer wake-ups and writes, and the runner still has three quarters of a window to work on
        self.refill = max(1, window // 4)
        self.done = False  # the source is exhausted and every taken vector was written
        self._room = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._write, daemon=True).start()

    def stop(self) -> list[R]:
        """Stop writing; returns the vectors taken for resending but not yet claimed."""
        with self._lock:
            self.inc.stop.set()
            out = list(self.resend)
            self.resend.clear()
        self._room.set()
        return out

    def wake(self) -> None:
        """Responses arrived: wake the writer if the window has room enough to top up (an Event already set
        needs no lock)."""
        if not self._room.is_set() and len(self.pending) <= self.window - self.refill:
            self._room.set()

    def _claim(self, n: int) -> list[bytes]:
        """Move up to n vectors into `pending` and return their request lines (one lock per chunk)."""
        out: list[bytes] = []
        with self._lock:
            if self.inc.stop.is_set():
                return out
            pending, seq, resend, append = self.pending, self.inc.next_seq, self.resend, out.append
            while resend and len(out) < n:
                v = resend.popleft()
                pending[seq] = v
                append(v.request_template % (seq, v.request_body))
                seq += 1
            items = list(itertools.islice(self.source, n - len(out)))  # takes no item past the n-th
            seqs = range(seq, seq + len(items))
            pending.update(zip(seqs, items, strict=True))
            # the lines in C loops: request_template % (seq, request_body) per item
            out += map(operator.mod, map(_TEMPLATE, items), zip(seqs, map(_BODY, items), strict=True))
            self.inc.next_seq = seq + len(items)
        return out

    def _write(self) -> None:
        stdin, stop = self.inc.proc.stdin, self.inc.stop
        try:
            while not stop.is_set():
                room = self.window - len(self.pending)
                if room <= 0:
                    self._room.clear()
                    while len(self.pending) > self.window - self.refill and not stop.is_set():
                        self._room.wait(0.1)
                    continue
                lines = self._claim(min(room, 512))
                if not lines:
                    break
                with self.inc.stdin_lock:
                    stdin.write(b"".join(lines))  # ValueError once kill() has closed it
                    stdin.flush()
            if not stop.is_set():
                self.done = True
                self.inc.lines.put(("lines", [], 0))  # wake the pump to notice
        except (OSError, ValueError):
            return  # the runner died; the reader reports it with its exit status

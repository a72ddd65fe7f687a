"""The one progress display of long jobs (run, fuzz): seen in a terminal and in a CI log alike.

On a terminal it is one self-overwriting status line, redrawn at most five times a second.
Without one (a CI log, a pipe) it prints a plain line every `every` seconds, so a long run is
never silent there, while a run shorter than that prints nothing. Callers format their own
status (counts and rates only: nothing a runner controls goes into it).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Stream(Protocol):
    """Where progress goes: a text stream (stderr), or pytest's terminal through an adapter."""

    def write(self, s: str, /) -> int: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool: ...


REDRAW = 0.2  # seconds between terminal redraws
EVERY = 10.0  # seconds between lines in a log


def interactive(stream: Stream) -> bool:
    """A terminal a person watches (CI=true counts as none, even with a pseudo-terminal)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


class Progress:
    def __init__(self, stream: Stream | None = None, *, every: float = EVERY, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = interactive(self.stream) if live is None else live
        self.every = every
        self.t0 = self.last = time.monotonic()
        self.width = 0
        self._lock = threading.Lock()

    def show(self, status: str) -> None:
        """Offer the current status; it is drawn when its time has come."""
        now = time.monotonic()
        with self._lock:
            if now - self.last < (REDRAW if self.live else self.every):
                return
            self.last = now
            if self.live:
                self.width = max(self.width, len(status))
                self.stream.write("\r" + status.ljust(self.width))
            else:
                self.stream.write(f"[{now - self.t0:6.0f}s] {status}\n")
            self.stream.flush()

    def end(self) -> None:
        """Clear the terminal line (a log keeps its lines)."""
        with self._lock:
            if self.live and self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()
                self.width = 0


class Ticker:
    """Calls progress.show(status()) every `interval` seconds from a thread, for jobs that have no
    natural moment to report (the fuzzer's runners stream in their own threads)."""

    def __init__(self, progress: Progress, status: Callable[[], str], interval: float = REDRAW):
        self.progress, self.status, self.interval = progress, status, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="progress")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.progress.show(self.status())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)


class Tally:
    """A run's outcomes counted (`count`, from any thread) and shown as one status: done of total, rate,
    failing so far. `show` draws when its time has come; with `auto`, every count offers it. Before the
    first outcome it shows `phase` instead (what the run is doing: building images, starting runners),
    never "0/s"."""

    def __init__(self, total: int, display: Progress | None = None, *, auto: bool = True, phase: str = ""):
        self.total, self.done, self.failures = total, 0, 0
        self.phase = phase
        self.display = display or Progress()
        self.auto = auto
        self._lock = threading.Lock()

    def count(self, failed: bool) -> None:
        with self._lock:
            self.done += 1
            self.failures += failed
        if self.auto:
            self.show()

    def show(self) -> None:
        if not self.done and self.phase:
            self.display.show(f"{self.phase} ({time.monotonic() - self.display.t0:,.0f}s)")
            return
        rate = self.done / max(time.monotonic() - self.display.t0, 1e-9)
        self.display.show(f"{self.done:,}/{self.total:,} outcomes  {rate:,.0f}/s  {self.failures:,} failing")

    def end(self) -> None:
        self.display.end()

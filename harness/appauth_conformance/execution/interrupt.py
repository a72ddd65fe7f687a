"""The one interruption handler: SIGTERM ends a run like Ctrl-C, and nothing is left behind.

`install()` (called by the CLI and the pytest plugin) makes SIGTERM raise KeyboardInterrupt in
the main thread, so every `finally` runs: sessions stop, results.json is written and marked
incomplete, the exit code is 130. Objects that hold outside resources (a Docker backend's
containers) `register()` themselves: their `close()` runs on SIGTERM before the unwinding
starts, and at interpreter exit, whatever way the process ends.
"""

from __future__ import annotations

import atexit
import signal
import threading
import weakref
from types import FrameType
from typing import NoReturn, Protocol


class Closable(Protocol):
    def close(self) -> None: ...


_open: weakref.WeakSet[Closable] = weakref.WeakSet()
_lock = threading.Lock()
_atexit_installed = False


def close_all() -> None:
    """close() every registered object that is still alive (each at most once per call, errors ignored)."""
    with _lock:
        objs = list(_open)
    for obj in objs:
        try:
            obj.close()
        except Exception:  # at exit or on Ctrl-C: one object that fails to close must not keep the others open
            pass


def register(obj: Closable) -> None:
    """Close obj on SIGTERM and at exit (held weakly: an object closed and dropped is forgotten)."""
    global _atexit_installed
    with _lock:
        _open.add(obj)
        if not _atexit_installed:
            atexit.register(close_all)
            _atexit_installed = True


def unregister(obj: Closable) -> None:
    with _lock:
        _open.discard(obj)


def _on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    close_all()
    raise KeyboardInterrupt


def install() -> None:
    """SIGTERM behaves like Ctrl-C (from the main thread only; elsewhere Python refuses signal handlers)."""
    if threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            pass

"""Every error the suite raises on purpose, and the one table of exit codes.

Each message names the place and the fix. The front doors (cli, plugin) map them to exit
codes here: a usage or set-up error is never a verdict on a runner.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from enum import IntEnum


class Exit(IntEnum):
    """Exit codes of every `appauth-conformance` command."""

    OK = 0  # conforming; a check passed
    NONCONFORMING = 1  # a failure, a fault, an unexpected pass; a failed check; a regression
    USAGE = 2  # bad input, or a set-up that cannot run (the message says how to fix it)
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: runners stopped, results.json kept (marked incomplete)


class UsageError(Exception):
    """Bad command-line or configuration input; the message names the place and the fix (exit 2)."""


class RunnerUnavailable(Exception):
    """A runner cannot be built or started here (missing toolchain, failed build); the message says how to fix it."""


class DockerUnavailable(UsageError):
    """No Docker engine is reachable; the message says how to start one or to use --backend=local."""


class BackendGone(Exception):
    """The backend stopped working mid-run (the Docker engine went away): a set-up error, not a verdict on any
    runner. The message says how to bring it back."""


class HandshakeError(Exception):
    """A runner did not start speaking the protocol (no hello, a bad hello, exited first)."""


class ProtocolError(Exception):
    """A runner broke the protocol; the message says how, for the fault verdict."""


class ResultsError(UsageError):
    """A results.json that cannot be read or does not match its schema; the message names the file."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a vector file, with the place it is at."""

    file: str
    message: str
    line: int | None = None
    vector: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = "".join([f" vector {self.vector}:" if self.vector else "", f" {self.field}:" if self.field else ""])
        return f"{where}:{what} {self.message}"


class CorpusError(UsageError):
    """The corpus is broken; .problems lists every place, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        named = list(dict.fromkeys(p.file for p in problems))  # as named above: from the current folder
        files = shlex.quote(named[0] if len(named) == 1 else os.path.commonpath(named) or ".")
        super().__init__(
            f"{len(problems)} problem(s) in the vector corpus:\n{shown}{more}\n"
            f"Fix the files above; `appauth-conformance vectors check {files}` re-checks them, "
            f"`appauth-conformance vectors fill {files}` writes missing expected values."
        )

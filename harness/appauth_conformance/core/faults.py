"""Runner faults by cause: one crashing runner is one problem, however many requests it took down.

A fault's text says what broke (session.py and tokens.py write it); `cause()` reads it back as a
kind and a key: the exit status or signal, a timeout, garbage on stdout, or the field of a reply
that breaks the schema. Faults of one cause are one group in the CLI summary, in pytest and in the
reports, shown once in full with the count, the first and last request and the runner's stderr tail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXIT, SIGNAL, TIMEOUT, GARBAGE, SCHEMA, START, OTHER = (
    "exit status",
    "signal",
    "timeout",
    "garbage on stdout",
    "schema violation",
    "could not start",
    "other",
)
_GAVE_UP = re.compile(r"runner gave up after \d+ restarts without progress; last fault: ")
_SIGNAL = re.compile(r"killed by (SIG[A-Z0-9]+|signal \d+)|killed: out of memory")
_EXIT = re.compile(r"exited with status (\d+)")
_SCHEMA = re.compile(r"(?:token )?(?:reply|response) breaks the protocol schema: ([^:;]+):")


@dataclass(frozen=True)
class Cause:
    kind: str  # one of EXIT, SIGNAL, TIMEOUT, GARBAGE, SCHEMA, START, OTHER
    key: str  # what tells causes of one kind apart: "status 3", "SIGSEGV", the field of a schema violation

    @property
    def label(self) -> str:
        return self.kind if not self.key else f"{self.kind}: {self.key}"


def cause(fault: str) -> Cause:
    """The cause of a fault text (the restarts a crash costs, and the give-up after them, share it)."""
    text = _GAVE_UP.sub("", fault or "", count=1)
    start = text.startswith("runner could not start: ")
    m = _SIGNAL.search(text)
    if m:
        return Cause(SIGNAL, m.group(1) or "out of memory")
    m = _EXIT.search(text)
    if m:
        return Cause(EXIT, f"status {m.group(1)}" + (" before its hello" if "before its hello" in text else ""))
    if start:
        return Cause(START, "")
    if "(hang)" in text or text.startswith("no response within") or "no hello within" in text:
        return Cause(TIMEOUT, "")
    m = _SCHEMA.match(text)
    if m:
        return Cause(SCHEMA, m.group(1).strip())
    if text.startswith(("not a JSON line", "stdout is not UTF-8", "response line longer", "response with ")):
        return Cause(GARBAGE, "")
    if text.startswith("token reply gives"):
        return Cause(SCHEMA, text.removeprefix("token reply ").split(" (", 1)[0])
    return Cause(OTHER, text.split(":", 1)[0][:80])


def last_lines(stderr: str | None, n: int = 8) -> list[str]:
    """The last n non-empty lines of a stderr tail (raw: the caller escapes them)."""
    lines = [line for line in (stderr or "").splitlines() if line.strip()]
    return lines[-n:]

"""Which runner gets the CPU first: the one the stream waits on.

The fuzzer hands the same chunks to every runner through bounded queues, so the stream moves at the
pace of the runner furthest behind. With fewer cores than runners, the kernel shares the CPU fairly
among them (each local runner is a session, so an autogroup, of its own): the slowest runner gets no
more than its fair share while the others are busy, falls behind, and then the others wait for it
with a core idle. Measured on this project's 2-core machine, 1,000,000 inputs: 12-13 % of both cores
idle through the run with equal shares; 96-98 % of both busy with the waited-on runner favoured
(docs/fuzzing.md, "Priority").

`Priority` watches where the generator waits: after every `window` chunks, the runner whose queue it
waited on longest (its waits decayed by DECAY a window, at least `min_wait` of the window's time) becomes
the favoured one; the fuzzer then runs every other runner in the background (`Session.set_background`)
until the favourite changes. When no runner holds the stream back, the harness itself is the bottleneck and nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

WINDOW = 4  # chunks between decisions: 8,000 inputs at the default batch, about a quarter of a second
DECAY = 0.75  # how much of a runner's past waits counts again each window
MIN_WAIT = 0.05  # the share of a window's time the generator must have waited on a runner to favour it


class Priority:
    """Chooses the favoured runner from the generator's waits; see the module docstring."""

    def __init__(self, names: Sequence[str], start: float, *, window: int = WINDOW, min_wait: float = MIN_WAIT):
        self.window, self.min_wait = window, min_wait
        self.waits = dict.fromkeys(names, 0.0)  # seconds the generator waited on each runner, this window
        self.chunks = 0  # chunks handed out this window
        self.start = start  # when this window began (time.monotonic())
        self.favoured: str | None = None
        self.score = dict.fromkeys(names, 0.0)  # the waits of past windows, decayed by DECAY a window
        self.changes = 0  # how often the favourite changed (the benchmark prints it)
        self.windows: dict[str, int] = {}  # per runner: the windows that ended with it favoured

    def waited(self, name: str, seconds: float) -> None:
        """The generator waited `seconds` to hand a chunk to `name` (its queue was full)."""
        self.waits[name] += seconds

    def chunk_done(self, now: float) -> str | None:
        """A chunk went to every runner. At the end of a window: the runner to favour from now on, if that
        changes (None otherwise)."""
        self.chunks += 1
        if self.chunks < self.window:
            return None
        elapsed, self.chunks, self.start = now - self.start, 0, now
        # decayed: a runner behind for many windows keeps the favour through one window of another's wait
        self.score = {n: DECAY * self.score[n] + w for n, w in self.waits.items()}
        self.waits = dict.fromkeys(self.waits, 0.0)
        if len(self.score) < 2:
            return None  # a lone runner has no one to yield to
        name = max(self.score, key=self.score.__getitem__)  # the first of equals
        changed = name != self.favoured and self.score[name] >= self.min_wait * elapsed  # else: noise, or no change
        if changed:
            self.favoured = name
            self.changes += 1
        if self.favoured is not None:
            self.windows[self.favoured] = self.windows.get(self.favoured, 0) + 1
        return name if changed else None

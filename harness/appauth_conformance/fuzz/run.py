"""Run: one seeded stream through every runner at once, compared with the oracle, triaged, shrunk.

    Inputs(seed) --chunks of FuzzInput--> one Session per runner (a thread each, all fed the same chunks)
                                 | Session.replies: (input, reply) pairs
                                 v
              EXPECTED (byte-identical), or the oracle's values -- conforming: counted, dropped
                                 | else: the full Vector, session.outcome(), verdicts.conformance
                                 v
              a disagreement (non-conforming outcome or runner fault)
                                 v
              Triage (per runner): group by cause, keep count + smallest example
                                 v
              Shrinker(group) through the live session --> minimal reproducer --> known? --> save

Memory stays flat: inputs are generated in chunks, fanned out to the sessions through
bounded queues and dropped once every runner has answered; triage keeps only counters
and one example per group.

The runners' lifecycle is a gate run's: an `engine.Engine` builds and starts every
runner concurrently (an unavailable one is recorded with its reason, as in `run`),
holds their sessions, and closes them and the backend. This module keeps only what is
fuzz-specific, per runner (`RunnerRun`): a chunk queue, a thread, a `Triage`, counters.

Streaming is the one part that does not go through the engine: each runner's thread
reads its session's `Session.replies()` itself instead of calling `Engine.ensure()`.
`ensure()` takes a list of Vectors and keeps a `Result` (Outcome, Judgement,
diagnosis) per (runner, vector) for the reports, so memory grows with the inputs, and
every reply is decoded, judged and stored. The fuzzer accepts 91-99% of replies
undecoded and keeps nothing per input. Measured on this project's 2-core machine (a
shared VM, load average 3.5-4 at the time), 100,000 seed-1 inputs through the four
reference runners, `benchmarks/fuzz.py --engine-ensure --count 100000` against
`benchmarks/fuzz.py --count 100000`:

    path                                          wall     harness CPU    peak RSS
    Engine.ensure(Inputs(1).take(100000))         14.6 s   13.8 s (95%)   427.1 MB  (400,000 Results kept)
    Fuzzer: Session.replies, chunks of 2000        6.6 s    2.6 s (40%)    46.8 MB

At 1,000,000 inputs `ensure()` would hold 4,000,000 Results (about 4 GB) and take
the harness's core for the whole run.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec, Stage
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.execution.backends import Backend
from appauth_conformance.execution.pipeline import Engine, RunnerState
from appauth_conformance.execution.progress import Progress, Ticker
from appauth_conformance.execution.session import Session, outcome
from appauth_conformance.execution.shards import Shard
from appauth_conformance.formats.protocol import check_response
from appauth_conformance.fuzz.generate import FuzzInput, Inputs
from appauth_conformance.fuzz.priority import Priority
from appauth_conformance.fuzz.save import flagged_reproducer
from appauth_conformance.fuzz.shrink import Shrinker
from appauth_conformance.fuzz.triage import FAULT, Group, Triage, stage_of

Chunks = queue.Queue[list[FuzzInput] | None]  # a runner's chunks of inputs; None ends them

DEFAULT_BATCH = 2000  # inputs per chunk: per-chunk costs vanish, and the working set stays in cache (docs/fuzzing.md)


def conforms(item: FuzzInput, reply: dict) -> bool:
    """A decoded reply that conforms, told without building the Vector and Outcome (True only where
    `stage_of(outcome(item.vector(), runner, reply))` is None): exactly seq, string_to_sign and signature,
    both the oracle's; or, for an invalid input, a schema-valid refusal, whatever it says (an outcome
    without a signature is an error, and an error conforms to an invalid vector: verdicts.conformance)."""
    sig = item.signature
    if sig is None:
        return "signature" not in reply and check_response(reply) is None
    return len(reply) == 3 and reply.get("signature") == sig and reply.get("string_to_sign") == item.string_to_sign


@dataclass
class RunnerRun:
    """One runner in a fuzz run: the engine's state of it (spec, session, expectations, why it is
    unavailable) and what only the fuzzer keeps."""

    state: RunnerState
    triage: Triage
    outcomes: int = 0
    seconds: float = 0.0
    error: BaseException | None = None
    queue: Chunks | None = None  # given by Fuzzer.run() to each runner it streams through

    @property
    def spec(self) -> RunnerSpec:
        return self.state.spec

    @property
    def session(self) -> Session | None:
        return self.state.session

    @property
    def expectations(self) -> Expectations:
        return self.state.expectations

    @property
    def unavailable(self) -> str | None:
        return self.state.unavailable


@dataclass
class FuzzReport:
    seed: int
    inputs: int
    wall: float  # seconds of the fuzzing phase
    cpu: float  # harness process CPU seconds during the fuzzing phase
    shrink_wall: float
    runners: list[RunnerRun]
    stopped_by: str

    @property
    def groups(self) -> list[Group]:
        return [g for r in self.runners if r.triage for g in r.triage.groups]

    @property
    def unknown(self) -> list[Group]:
        return [g for g in self.groups if g.known is None]

    @property
    def cpu_share(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0


class Fuzzer:
    """Runs one seeded stream through every runner concurrently; see the module docstring.

    Use: `prepare()`, `run()` (a FuzzReport), and `close()` in a finally. `progress`, if given,
    shows `progress_line()` during the fuzzing phase (a live line on a terminal, a line every
    10 s in a log); `warn` receives the warnings (skipped runners, shrinking problems)."""

    def __init__(
        self,
        specs: list[RunnerSpec],
        backend: Backend,
        *,
        seed: int = 1,
        count: int | None = None,
        time_budget: float | None = None,
        batch: int = DEFAULT_BATCH,
        timeout: float = 10.0,
        shrink: bool = True,
        require_all: bool = False,
        shrink_seconds: float = 30.0,
        shard: Shard | None = None,
        progress: Progress | None = None,
        warn: Callable[[str], None] | None = None,
    ):
        if count is None and time_budget is None:
            raise UsageError("give --count N or --time-budget SECONDS")
        if count is not None and count < 0:
            raise UsageError(f"--count must be >= 0, got {count}")
        if time_budget is not None and time_budget <= 0:
            raise UsageError(f"--time-budget must be > 0 seconds, got {time_budget}")
        if batch < 1:
            raise UsageError(f"--batch must be >= 1, got {batch}")
        self.specs, self.backend = specs, backend
        self.seed, self.count, self.time_budget, self.batch = seed, count, time_budget, batch
        self.shard = shard  # this run's blocks of the seed's stream; count is the whole campaign's
        self.timeout, self.shrink_enabled, self.require_all = timeout, shrink, require_all
        self.shrink_seconds = shrink_seconds
        self.queue_depth = 1  # chunks waiting per runner beyond the one it is on: memory stays a few chunks
        self.progress, self.warn = progress, warn or (lambda s: None)
        # the sessions' window is Session's default (4096 requests in flight): deep enough that GIL
        # hand-offs never starve a runner, small enough that the working set stays in cache
        self.engine = Engine(specs, backend, timeout=timeout)
        self.runs = [RunnerRun(st, Triage(st.spec.name)) for st in self.engine.runners.values()]
        self.generated = 0
        self.t0 = 0.0
        self._stop = threading.Event()
        self._done_feeding = False
        self.priority: Priority | None = None  # run()'s: which runner was favoured (fuzz.priority)

    # -- set-up ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Build and start every runner at once (Engine.prepare). An unavailable runner is an error under
        require_all; otherwise it is skipped with a warning, unless no runner is left."""
        self.engine.prepare()
        for r in self.runs:
            if r.unavailable is None:
                continue
            if self.require_all:
                raise RunnerUnavailable(r.unavailable)
            self.warn(f"skipped {r.spec.name}: {r.unavailable.splitlines()[0]}")
        if not any(r.session for r in self.runs):
            raise RunnerUnavailable(
                "no runner could be started: "
                + "; ".join(f"{r.spec.name}: {(r.unavailable or '').splitlines()[0]}" for r in self.runs)
            )

    def close(self) -> None:
        """Stop every session and close the backend (Engine.close)."""
        self.engine.close()

    # -- the fuzzing phase ----------------------------------------------------------------

    def _feed(self, q: Chunks) -> Iterator[FuzzInput]:
        """The runner's inputs, chunk after chunk until None; flattened in C (no generator resumed per
        input: the session's writer takes them one by one)."""
        return itertools.chain.from_iterable(iter(q.get, None))

    def _consume(self, r: RunnerRun) -> None:
        """Judge one runner's replies. The hot paths: a reply byte-identical to an expected one (not even
        decoded), then a decoded reply that `conforms` (one comparison, or the schema check of a refusal).
        Everything else takes the full path (schema check, verdict, triage) with the whole Vector."""
        t0 = time.monotonic()
        triage, name = r.triage, r.spec.name
        session, q = r.session, r.queue
        assert session is not None and q is not None  # run() consumes the runners with a session, each with a queue
        n = 0
        accepted0 = session.accepted  # replies byte-identical to an expected one: counted, never paired
        try:
            for pairs in session.replies(self._feed(q), expected=False):
                for item, reply in pairs:
                    if type(reply) is dict and conforms(item, reply):
                        continue
                    o = outcome(item.vector(), name, reply)
                    stage = stage_of(o)
                    if stage is not None:
                        triage.add(o, stage)
                n += len(pairs)
                r.outcomes = n + session.accepted - accepted0
        except BaseException as e:
            r.error = e
            self._stop.set()
            while True:  # keep the producer from blocking on this runner's queue
                try:
                    if q.get(timeout=0.1) is None:
                        break
                except queue.Empty:
                    if self._done_feeding:
                        break
        finally:
            r.outcomes = n + session.accepted - accepted0
            r.seconds = time.monotonic() - t0

    @staticmethod
    def _favour(live: list[RunnerRun], name: str | None) -> None:
        """Every runner but `name` in the background; all of them equal again when name is None."""
        for r in live:
            if r.session is not None:
                r.session.set_background(name is not None and r.spec.name != name)

    def _stop_generating(self) -> bool:
        if self._stop.is_set():
            return True
        return self.time_budget is not None and time.monotonic() - self.t0 >= self.time_budget

    def run(self) -> FuzzReport:
        live = [r for r in self.runs if r.session is not None]
        feeds: list[tuple[RunnerRun, Chunks]] = []
        for r in live:
            q: Chunks = queue.Queue(maxsize=self.queue_depth)
            r.queue = q
            feeds.append((r, q))
        inputs = Inputs(self.seed, shard=self.shard)
        self.t0 = time.monotonic()
        priority = self.priority = Priority([r.spec.name for r in live], self.t0)
        c0 = time.process_time()
        threads = [
            threading.Thread(target=self._consume, args=(r,), daemon=True, name=f"fuzz-{r.spec.name}") for r in live
        ]
        for t in threads:
            t.start()
        ticker = Ticker(self.progress, self.progress_line) if self.progress is not None else None
        stopped_by = "count"
        try:
            # under a time budget, small chunks keep the overshoot (what is queued when time is up) short
            batch = self.batch if self.time_budget is None else min(self.batch, 2048)
            for chunk in inputs.chunks(batch, self.count, self._stop_generating):
                self.generated += len(chunk)
                for r, q in feeds:
                    if r.error is None:
                        began = time.monotonic()
                        q.put(chunk)
                        priority.waited(r.spec.name, time.monotonic() - began)
                del chunk
                favoured = priority.chunk_done(time.monotonic())
                if favoured is not None:
                    self._favour(live, favoured)
            if self.time_budget is not None and time.monotonic() - self.t0 >= self.time_budget:
                stopped_by = "time budget"
        finally:
            self._done_feeding = True
            for r, q in feeds:
                if r.error is None:
                    q.put(None)
                else:  # its thread drains the queue until it sees the end or _done_feeding
                    try:
                        q.put_nowait(None)
                    except queue.Full:
                        pass
            for t in threads:
                while t.is_alive():
                    t.join(0.2)  # short joins keep Ctrl-C responsive
            if priority.favoured is not None:
                self._favour(live, None)  # shrinking, and whoever uses the runners next, find them equal
            if ticker is not None:
                assert self.progress is not None  # what the ticker shows on
                ticker.stop()
                self.progress.end()  # the line goes before any warning of the shrinking phase
        wall = time.monotonic() - self.t0
        cpu = time.process_time() - c0
        for r in live:
            if r.error is not None:
                raise r.error
        t1 = time.monotonic()
        if self.shrink_enabled:
            self.shrink_all()
        for r in live:
            for g in r.triage.groups:
                self._judge_known(r, g)
        return FuzzReport(self.seed, self.generated, wall, cpu, time.monotonic() - t1, self.runs, stopped_by)

    # -- shrinking and known divergences -------------------------------------------------

    def shrink_all(self) -> None:
        """Shrink every group's example, one thread per runner (its session is free again)."""

        def work(r: RunnerRun) -> None:
            assert r.session is not None  # only the runners with a session are shrunk (below)
            s = Shrinker(r.session, r.triage, max_seconds=self.shrink_seconds)
            deadline = time.monotonic() + max(60.0, 4 * self.shrink_seconds)  # per runner, largest groups first
            for g in sorted(r.triage.groups, key=lambda g: -g.count):
                if g.example is None or g.kind == "overflow" or g.causes == {"fault:hang"}:
                    continue
                if time.monotonic() > deadline:
                    self.warn(f"{r.spec.name}: shrinking time is up; {g.cause} keeps its smallest example")
                    continue
                try:
                    s.shrink(g)
                except Exception as e:
                    self.warn(f"{r.spec.name}: could not shrink {g.cause}: {e}")

        threads = [
            threading.Thread(target=work, args=(r,), daemon=True) for r in self.runs if r.session and r.triage.groups
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)

    def _judge_known(self, r: RunnerRun, g: Group) -> None:
        """Known iff the runner's known-divergence list would cover the reproducer (flags as --save writes them)."""
        g.known = None
        if g.stage == FAULT or g.kind == "overflow":
            return
        v = flagged_reproducer(g)
        if v is None:
            return
        stage = next((st for st in Stage if st.value == g.stage), None)
        d = r.expectations.find(v, stage, g.causes if g.kind == "diagnosis" else ())
        if d is not None and (d.stage is None or d.stage.value == g.stage):
            g.known = d.label

    def progress_line(self) -> str:
        el = max(time.monotonic() - self.t0, 1e-9)
        done = min((r.outcomes for r in self.runs if r.session), default=0)
        groups = sum(len(r.triage.groups) for r in self.runs)
        return (
            f"fuzz: {done:,} inputs through every runner ({done / el:,.0f}/s), {self.generated:,} generated, "
            f"{groups} group(s), {el:.0f}s"
        )

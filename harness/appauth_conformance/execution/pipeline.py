"""A conformance run: start the runners, stream vectors through their sessions, judge, record.

Shared by the pytest plugin and the CLI. Every selected runner has one
long-lived session; `ensure(vectors)` streams a batch through all of them at
once (a thread each) and keeps each (runner, vector) result. `launch()` starts
the runners without waiting for them (the caller loads the corpus meanwhile), and
each runner streams as soon as its own hello has come, not once all have started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from appauth_conformance.core.errors import HandshakeError, RunnerUnavailable, UsageError
from appauth_conformance.core.model import (
    MODES,
    Judgement,
    Outcome,
    Result,
    RunnerSpec,
    Stage,
    TokenOutcome,
    TokenRequest,
    TokenResult,
    Vector,
    Verdict,
)
from appauth_conformance.corpus.expectations import Divergence, Expectations, unknown_names
from appauth_conformance.execution.backends import Backend
from appauth_conformance.execution.session import Session
from appauth_conformance.formats.results import Recorder
from appauth_conformance.judging import diagnosis, tokens
from appauth_conformance.judging.verdicts import conformance, judge

DIAGNOSED = (Stage.STRING_TO_SIGN, Stage.SIGNATURE, Stage.UNEXPECTED_SIGNATURE)
# Requests this long are sent after the others: a JIT-compiled runner takes its megabyte lines warm, not
# cold (java-reference: 0.1 s less CPU over the corpus, measured); the outcomes are the same in any order.
LARGE = 64 << 10


@dataclass
class RunnerState:
    spec: RunnerSpec
    expectations: Expectations
    facts: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None
    session: Session | None = None
    results: dict[str, Result] = field(default_factory=dict)  # by vector key
    seconds: float = 0.0
    error: BaseException | None = None  # raised in its streaming thread, re-raised by ensure()
    excused: dict[Divergence, int] = field(default_factory=dict)  # known-divergence entry -> outcomes it excused
    ops: tuple[str, ...] = ("sign",)  # what its hello says it answers
    modes: frozenset[str] = frozenset(MODES)  # the modes its hello says it supports
    token_results: dict[str, TokenResult] = field(default_factory=dict)  # by token request key
    judge: tokens.Judge | None = None  # checks its tokens (keeps the nonces it has seen)
    restarted: bool = False  # its process was restarted once for the token suite (tokens.AFTER_RESTART)
    started: threading.Event = field(default_factory=threading.Event)  # its start was tried: session or unavailable
    start_s: float | None = None  # how long its build and start took

    def unsupported(self, op: str, mode: str) -> str | None:
        """Why the runner does not do this request (it said so in its hello), or None."""
        if op not in self.ops:
            return f"{self.spec.name} answers {', '.join(self.ops)} requests only (its hello's `ops`)"
        if mode not in self.modes:
            return f"{self.spec.name} supports the modes {', '.join(sorted(self.modes))} only (its hello's `modes`)"
        return None


def diagnose(o: Outcome, stage: Stage | None) -> list[str]:
    """The mistakes that explain an outcome failing at `stage` (none for stages a signature cannot explain)."""
    if stage not in DIAGNOSED:
        return []
    return [m.id for m in diagnosis.diagnose(o.vector.fields, o.vector.app_key, o.string_to_sign, o.signature)]


def assess(o: Outcome, expectations: Expectations, excused: dict[Divergence, int] | None = None) -> Result:
    """Judge one outcome: its stage, the mistakes that explain it (before the known-divergence lookup, which
    may excuse a failure only when a named mistake explains it), its verdict. Counts the excusing entry."""
    stage = None if o.fault else conformance(o)
    found = diagnose(o, stage)
    entry = expectations.find(o.vector, stage, found)
    j = judge(o, entry)
    if entry is not None and excused is not None and j.verdict is Verdict.KNOWN_DIVERGENCE:
        excused[entry] = excused.get(entry, 0) + 1
    return Result(o, j, found if j.verdict in (Verdict.FAIL, Verdict.KNOWN_DIVERGENCE) else [])


def check_names(lists: list[Expectations], flags: Collection[str] | None = None) -> None:
    """UsageError (exit 2) naming every entry of the lists with an unknown diagnosis id, or a flag that is
    not in `flags` (the corpus's; None: flags not checked): a misspelt name excuses nothing, and would
    otherwise be reported as a stale entry, which `divergences update` deletes."""
    known = {*diagnosis.BY_ID, *diagnosis.TOKEN_MISTAKES}
    problems = [p for exp in lists for p in unknown_names(exp, known, flags)]
    if problems:
        raise UsageError(
            "\n".join(problems)
            + "\nFix the name (`appauth-conformance docs diagnosis` lists the diagnosis ids, `appauth-conformance docs vectors` the flags)."
        )


class Engine:
    def __init__(
        self,
        specs: list[RunnerSpec],
        backend: Backend,
        recorder: Recorder | None = None,
        *,
        timeout: float = 10.0,
        on_result: Callable[[Result | TokenResult], None] | None = None,
        on_wait: Callable[[], None] | None = None,
        token_window: int = tokens.WINDOW,
        allow_never_expires: bool = False,
        record_outcomes: bool = True,
        flags: Collection[str] | None = None,
        expectations: dict[str, Expectations] | None = None,
    ):
        self.backend = backend
        self.timeout = timeout
        self.on_result = on_result
        self.on_wait = on_wait  # called from the waiting (main) thread a few times a second: progress
        # False: the recorder gets the runners only, and the caller records the outcomes it uses (the pytest
        # plugin records each item's own: xdist workers run overlapping batches)
        self.record_outcomes = record_outcomes
        known = expectations or {}  # already loaded by the caller (the pytest plugin loads them to collect)
        # an endpoint client is never started as a runner: the front ends run it against the endpoint
        self.runners = {
            s.name: RunnerState(s, known[s.name] if s.name in known else Expectations.load(s))
            for s in specs
            if s.client_of is None
        }
        check_names([st.expectations for st in self.runners.values()], flags)
        for st in self.runners.values():
            st.judge = tokens.Judge(st.expectations, window=token_window, allow_never=allow_never_expires)
        self._lock = threading.Lock()
        self._record_lock = threading.Lock()  # a runner's start is recorded once, whether before or after record_to
        self._starting: list[threading.Thread] = []  # launch()'s threads, one a runner
        self._launched = self._closed = False
        self.recorder: Recorder | None = None
        if recorder is not None:
            self.record_to(recorder)

    def record_to(self, recorder: Recorder) -> None:
        """Record into `recorder` from now on (made once the corpus is loaded, which may be after launch()):
        every runner is listed in the order asked for, whichever starts first, with its start if it has one."""
        with self._record_lock:
            self.recorder = recorder
            for st in self.runners.values():
                self._record_runner(st)

    def _record_runner(self, st: RunnerState) -> None:
        """The runner's record as known so far (hold _record_lock)."""
        if self.recorder is None:
            return
        if not st.started.is_set():
            self.recorder.runner(st.spec.name, st.spec.language, group=st.spec.group)
            return
        self.recorder.runner(
            st.spec.name,
            st.spec.language,
            group=st.spec.group,
            hello=st.session.hello if st.session else None,
            facts=st.facts,
            unavailable=st.unavailable,
        )
        if st.start_s is not None:
            self.recorder.timing(st.spec.name, "start_s", st.start_s)

    def launch(self) -> None:
        """Build and start every runner, concurrently (JVM, Node and container start-up overlap), without
        waiting: `ensure()` streams each runner's vectors once its own start is done. Idempotent.
        An unavailable runner is recorded with its reason, not raised; but first the backend's set-up check
        (Docker: every image, Dockerfile and base image) runs for all of them, here, before any build: a
        declared runner that cannot be built stops the run at once (UsageError), a built-in one is not built."""
        if self._launched:
            return
        check = getattr(self.backend, "check", None)
        if check is not None:
            found = check([st.spec for st in self.runners.values()])
            fatal = [why for name, why in found.items() if self.runners[name].spec.declared]
            if fatal:
                raise UsageError("before any build:\n" + "\n".join(fatal))
            for name, why in found.items():
                self.runners[name].unavailable = why
        self._launched = True
        self._starting = [self._thread(self._prepare_one, st) for st in self.runners.values()]

    def prepare(self) -> None:
        """launch(), and wait until every runner has started (or is known unavailable)."""
        self.launch()
        self._wait(self._starting)

    def _prepare_one(self, st: RunnerState) -> None:
        t0 = time.monotonic()
        try:
            if st.unavailable is not None:  # the set-up check found it cannot be built: not tried
                raise RunnerUnavailable(st.unavailable)
            st.facts = self.backend.prepare(st.spec) or {}
            if self._closed:  # the run ended while it was being built: not started
                raise RunnerUnavailable(f"{st.spec.name}: the run ended before it started")
            # close() stops a session whose process is starting (Session.start checks): no process outlives it
            st.session = Session(st.spec, self.backend, timeout=self.timeout)
            if self._closed:
                st.session.close()
            said = st.session.start()
            st.ops = tuple(said.get("ops", ["sign"]))
            st.modes = frozenset(said.get("modes", MODES))
        except (RunnerUnavailable, HandshakeError) as e:
            st.unavailable = str(e)
            st.session = None
        except Exception as e:  # a backend bug must not take the other runners down with it
            st.unavailable = f"{st.spec.name}: {type(e).__name__}: {e}"
            st.session = None
        finally:
            with self._record_lock:
                st.start_s = time.monotonic() - t0
                st.started.set()
                self._record_runner(st)

    def ensure(
        self,
        vectors: list[Vector],
        runners: Collection[str] | None = None,
        *,
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        """Run every vector not yet run through every available runner (or those named), concurrently: each
        runner as soon as it has started. `meanwhile` runs in this thread while they answer (work that would
        otherwise wait until the end: the record's corpus part)."""
        self.launch()
        threads = []
        for st in self.runners.values():
            if runners is not None and st.spec.name not in runners:
                continue
            if not st.started.is_set():  # still starting: its thread waits for its hello, then streams
                threads.append(self._thread(self._when_started, st, vectors))
                continue
            run = self._plan(st, vectors)
            if run:
                threads.append(self._thread(self._stream, st, run))
        if meanwhile is not None:
            meanwhile()
        self._wait(threads)

    def _plan(self, st: RunnerState, vectors: list[Vector]) -> list[Vector]:
        """The vectors of `vectors` to stream through a started runner; those it cannot run are kept as
        skipped (so a report shows what was not measured and why) or unsupported (its hello says so)."""
        todo = [v for v in vectors if v.key not in st.results]
        if st.session is None:
            for v in todo:
                self._keep(st, Result(Outcome(v, st.spec.name), Judgement(Verdict.SKIPPED, reason=st.unavailable)))
            return []
        run: list[Vector] = []
        large: list[Vector] = []
        for v in todo:
            why = st.unsupported("sign", v.mode)
            if why is not None:
                self._keep(st, Result(Outcome(v, st.spec.name), Judgement(Verdict.UNSUPPORTED, reason=why)))
            else:
                (large if len(v.request_body) >= LARGE else run).append(v)
        return run + large

    def _when_started(self, st: RunnerState, vectors: list[Vector]) -> None:
        try:
            st.started.wait()
            run = self._plan(st, vectors)
            if run:
                self._stream_unguarded(st, run)
        except BaseException as e:  # never die silently in a thread: the main thread re-raises it
            st.error = e

    def ensure_tokens(self, requests: list[TokenRequest], runners: Collection[str] | None = None) -> None:
        """Send every token request not yet sent to every available runner that answers tokens."""
        self.prepare()  # which runners answer tokens is in their hellos
        threads = []
        for st in self.runners.values():
            if st.session is None or "token" not in st.ops or (runners is not None and st.spec.name not in runners):
                continue
            run = []
            for r in (r for r in requests if r.key not in st.token_results):
                why = st.unsupported("token", r.mode)
                if why is None:
                    run.append(r)
                else:
                    o = TokenOutcome(r, st.spec.name)
                    self._keep_token(st, TokenResult(o, Judgement(Verdict.UNSUPPORTED, reason=why)))
            if run:
                threads.append(self._thread(self._stream_tokens, st, run))
        self._wait(threads)

    @staticmethod
    def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
        """A daemon thread, started. Not a ThreadPoolExecutor: its workers are joined at interpreter exit even
        after shutdown(wait=False, cancel_futures=True), so a Ctrl-C during a Docker build or a JVM start would
        wait for it to finish (measured: an exit held 3 s by a 3 s task); a daemon thread lets the process go."""
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        return t

    def _wait(self, threads: list[threading.Thread]) -> None:
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # short joins keep Ctrl-C responsive
                if self.on_wait is not None:
                    self.on_wait()
        for st in self.runners.values():
            if st.error is not None:  # e.g. BackendGone: the engine went away mid-run
                err, st.error = st.error, None
                raise err

    def _stream(self, st: RunnerState, todo: list[Vector]) -> None:
        try:
            self._stream_unguarded(st, todo)
        except BaseException as e:  # never die silently in a thread: the main thread re-raises it
            st.error = e

    def _stream_tokens(self, st: RunnerState, todo: list[TokenRequest]) -> None:
        """Each request three times: once (judged on every stage), again in the same process (a cached token
        comes back), and, the first time a runner gets token requests, once more after its process is
        restarted (a nonce generator seeded the same in every process makes the same nonces again)."""
        try:
            judge = st.judge
            assert st.session is not None and judge is not None  # ensure_tokens() streams only those
            results = {r.key: judge.judge(o) for r, o in self._ask(st, todo)}
            for r, o in self._ask(st, todo):
                results[r.key] = judge.again(results[r.key], o, tokens.AGAIN)
            if not st.restarted:
                st.restarted = True
                if self._restart(st):
                    judge.restarted()
                    for r, o in self._ask(st, todo):
                        results[r.key] = judge.again(results[r.key], o, tokens.AFTER_RESTART)
            for t in results.values():
                self._keep_token(st, t)
        except BaseException as e:  # never die silently in a thread: the main thread re-raises it
            st.error = e

    def _ask(self, st: RunnerState, todo: list[TokenRequest]) -> list[tuple[TokenRequest, TokenOutcome]]:
        """Every request of `todo` through the runner's session, each with its outcome, in the order answered."""
        assert st.session is not None
        return [(r, tokens.outcome(r, st.spec.name, reply)) for pairs in st.session.replies(todo) for r, reply in pairs]

    def _restart(self, st: RunnerState) -> bool:
        """Close the runner's process and start a new one (its session); False, and the runner unavailable
        from then on, when the new one does not start."""
        assert st.session is not None
        st.session.close()
        st.session = Session(st.spec, self.backend, timeout=self.timeout)
        try:
            st.session.start()
        except (RunnerUnavailable, HandshakeError) as e:
            st.unavailable, st.session = f"restarted for the token suite, it did not start again: {e}", None
            return False
        return True

    def _stream_unguarded(self, st: RunnerState, todo: list[Vector]) -> None:
        t0 = time.monotonic()
        session = st.session
        assert session is not None  # ensure() streams only the runners that have a session
        for o in session.run(todo):
            self._keep(st, assess(o, st.expectations, st.excused))
        st.seconds += time.monotonic() - t0
        if self.recorder:
            self.recorder.timing(st.spec.name, "run_s", st.seconds)

    def _keep(self, st: RunnerState, r: Result) -> None:
        st.results[r.outcome.vector.key] = r
        if self.recorder and self.record_outcomes:
            self.recorder.add(r.outcome, r.judgement, r.diagnosis)
        if self.on_result:
            with self._lock:
                self.on_result(r)

    def _keep_token(self, st: RunnerState, r: TokenResult) -> None:
        st.token_results[r.outcome.request.key] = r
        if self.recorder and self.record_outcomes:
            self.recorder.add_token(r)
        if self.on_result:
            with self._lock:
                self.on_result(r)

    def stale(self, name: str, vectors: list[Vector]) -> list[Divergence]:
        """The runner's known-divergence entries that name no vector of `vectors` (the whole corpus) or excuse
        none of its outcomes, tokens included: runs whatever of the corpus this runner has not run yet."""
        st = self.runners[name]
        self.prepare()
        if st.session is None:
            return st.expectations.stale(vectors)  # not measured here: only what the file alone can tell
        self.ensure(vectors, runners={name})
        self.ensure_tokens(tokens.suite(vectors), runners={name})
        judged = st.judge.excused if st.judge is not None else {}
        return st.expectations.stale(vectors, [*st.excused, *judged])

    def token_result(self, runner: str, request: TokenRequest) -> TokenResult | None:
        return self.runners[runner].token_results.get(request.key)

    def result(self, runner: str, vector: Vector) -> Result | None:
        return self.runners[runner].results.get(vector.key)

    def others(self, vector: Vector, but: str) -> list[tuple[str, Result]]:
        """What the other runners produced for the same vector (for diffs)."""
        return [(n, st.results[vector.key]) for n, st in self.runners.items() if n != but and vector.key in st.results]

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def end_input(self) -> None:
        """EOF to every runner at once, without waiting: they exit while the caller writes the record, and
        close() then only reaps them. Streaming stops (quietly: no fault is recorded for it)."""
        for st in self.runners.values():
            if st.session is not None:
                st.session.end_input()

    def close(self) -> None:
        self._closed = True  # a runner still starting closes itself (_prepare_one)
        self.end_input()  # all at once: their exits overlap
        for st in self.runners.values():
            if st.session is not None:
                st.session.close()
        self.backend.close()

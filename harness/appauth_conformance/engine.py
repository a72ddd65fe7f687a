"""A conformance run: prepare the runners, stream vectors through their sessions, judge, record.

Shared by the pytest plugin and the CLI. Every selected runner has one
long-lived session; `ensure(vectors)` streams a batch through all of them at
once (a thread each) and keeps each (runner, vector) result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import diagnosis
from .backends import Backend
from .errors import HandshakeError, RunnerUnavailable
from .expectations import Expectations
from .model import Judgement, Outcome, Result, RunnerSpec, Stage, Vector, Verdict
from .results import Recorder
from .session import Session
from .verdicts import conformance, judge

DIAGNOSED = (Stage.STRING_TO_SIGN, Stage.SIGNATURE, Stage.UNEXPECTED_SIGNATURE)


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


def diagnose(o: Outcome, j: Judgement) -> list[str]:
    if j.stage not in DIAGNOSED:
        return []
    return [m.id for m in diagnosis.diagnose(o.vector.fields, o.vector.app_key, o.string_to_sign, o.signature)]


class Engine:
    def __init__(
        self,
        specs: list[RunnerSpec],
        backend: Backend,
        recorder: Recorder | None = None,
        *,
        timeout: float = 10.0,
        on_result: Callable[[Result], None] | None = None,
    ):
        self.backend = backend
        self.recorder = recorder
        self.timeout = timeout
        self.on_result = on_result
        self.runners = {s.name: RunnerState(s, Expectations.load(s)) for s in specs}
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Build and start every runner, concurrently (JVM, Node and container start-up overlap).
        An unavailable runner is recorded with its reason, not raised."""
        threads = [threading.Thread(target=self._prepare_one, args=(st,), daemon=True) for st in self.runners.values()]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # short joins keep Ctrl-C responsive

    def _prepare_one(self, st: RunnerState) -> None:
        t0 = time.monotonic()
        try:
            st.facts = self.backend.prepare(st.spec) or {}
            st.session = Session(st.spec, self.backend, timeout=self.timeout)
            st.session.start()
        except (RunnerUnavailable, HandshakeError) as e:
            st.unavailable = str(e)
            st.session = None
        except Exception as e:  # a backend bug must not take the other runners down with it
            st.unavailable = f"{st.spec.name}: {type(e).__name__}: {e}"
            st.session = None
        if self.recorder:
            hello = st.session.hello if st.session else None
            self.recorder.runner(
                st.spec.name, st.spec.language, hello=hello, facts=st.facts, unavailable=st.unavailable
            )
            self.recorder.timing(st.spec.name, "start_s", time.monotonic() - t0)

    def ensure(self, vectors: list[Vector]) -> None:
        """Run every vector not yet run through every available runner, concurrently."""
        threads = []
        for st in self.runners.values():
            todo = [v for v in vectors if v.key not in st.results]
            if st.session is None:
                for v in todo:  # recorded as skipped, so a report shows what was not measured and why
                    self._keep(st, Result(Outcome(v, st.spec.name), Judgement(Verdict.SKIPPED, reason=st.unavailable)))
                continue
            if not todo:
                continue
            t = threading.Thread(target=self._stream, args=(st, todo), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # short joins keep Ctrl-C responsive
        for st in self.runners.values():
            if st.error is not None:  # e.g. BackendGone: the engine went away mid-run
                err, st.error = st.error, None
                raise err

    def _stream(self, st: RunnerState, todo: list[Vector]) -> None:
        try:
            self._stream_unguarded(st, todo)
        except BaseException as e:  # never die silently in a thread: the main thread re-raises it
            st.error = e

    def _stream_unguarded(self, st: RunnerState, todo: list[Vector]) -> None:
        t0 = time.monotonic()
        session = st.session
        assert session is not None  # ensure() streams only the runners that have a session
        for o in session.run(todo):
            j = judge(o, st.expectations.find(o.vector, None if o.fault else conformance(o)))
            self._keep(
                st, Result(o, j, diagnose(o, j) if j.verdict in (Verdict.FAIL, Verdict.KNOWN_DIVERGENCE) else [])
            )
        st.seconds += time.monotonic() - t0
        if self.recorder:
            self.recorder.timing(st.spec.name, "run_s", st.seconds)

    def _keep(self, st: RunnerState, r: Result) -> None:
        st.results[r.outcome.vector.key] = r
        if self.recorder:
            self.recorder.add(r.outcome, r.judgement, r.diagnosis)
        if self.on_result:
            with self._lock:
                self.on_result(r)

    def result(self, runner: str, vector: Vector) -> Result | None:
        return self.runners[runner].results.get(vector.key)

    def others(self, vector: Vector, but: str) -> list[tuple[str, Result]]:
        """What the other runners produced for the same vector (for diffs)."""
        return [(n, st.results[vector.key]) for n, st in self.runners.items() if n != but and vector.key in st.results]

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for st in self.runners.values():
            if st.session is not None:
                st.session.close()
        self.backend.close()

"""What one pytest process knows about the conformance run: the corpus, the runners, the engine (started
by the first item that needs it, never while collecting), the recorder, and the batches items share."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from appauth_conformance.core.errors import BackendGone, UsageError
from appauth_conformance.core.model import FAILING, Outcome, Result, TokenRequest, TokenResult, Vector
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS, load
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.pipeline import Engine, check_names
from appauth_conformance.execution.progress import Progress, Tally
from appauth_conformance.formats.files import write_json_atomic
from appauth_conformance.formats.results import Recorder, clock, value
from appauth_conformance.judging import tokens
from appauth_conformance.judging.explain import kind

if TYPE_CHECKING:
    from appauth_conformance.report import AfterRun

DETAILED_FAILURES = 25  # kinds of failure explained in full; the others, and repeats of a kind, get one line each
BLOCK = 64  # vectors per batch under xdist
RUN_ID = "appauth_conformance_run"  # key of xdist's workerinput: the run's id


class Suite:
    """Everything one pytest process knows about the conformance run."""

    def __init__(self, config: pytest.Config, opts: cfg.Options):
        self.config = config
        self.opts = opts
        self.began = clock()  # the run's start: xdist's controller writes it into the merged results.json
        self.corpus = load(opts.vectors)
        self.specs = cfg.select_runners(opts)
        # loaded now, not when the runners start: a list naming an unknown diagnosis is bad input (exit 2)
        self.expectations = {s.name: Expectations.load(s) for s in self.specs}
        check_names(list(self.expectations.values()), self.corpus_flags)
        self.worker = getattr(config, "workerinput", {}).get("workerid")
        self.report_dir = Path(opts.report_dir)
        self.engine: Engine | None = None
        self.recorder: Recorder | None = None
        self.selected: list[Vector] = []  # vectors with at least one selected item, in corpus order
        self.position: dict[str, int] = {}
        self.requests: list[TokenRequest] = []  # token requests with at least one selected item
        self.request_position: dict[str, int] = {}
        self.detailed: set[tuple] = set()  # the kinds of failure explained in full so far
        self.rendered: AfterRun | None = None  # "wrote results.json and ..." and the document, for the terminal summary
        self.reports_failed = False  # the run's reports could not be written: the run fails
        # serial: the selection streams through the runners in a thread of its own while the items report what
        # is already measured (each waits for its own outcome), so pytest's per-item work overlaps the runners'
        self.stream: threading.Thread | None = None
        self.stream_error: BaseException | None = None
        self.arrived = threading.Condition()
        self.awaited: tuple[str, str] | None = None  # (runner, key) of the outcome the main thread waits for
        self.light = False  # items already measured may run the lighter protocol (set once collected)
        self.failed_across = 0  # xdist: token outcomes that fail only once the workers' parts are merged
        # a long batch is otherwise silent (the first item runs it all): a line every few seconds
        self.tally = Tally(
            0,
            Progress(_TerminalLines(config), live=False),
            auto=False,
            phase="building the runner images and starting the runners"
            if opts.backend == "docker"
            else "starting the runners",
        )
        # xdist: each worker writes its part of results.json into a folder of this run's own, so two runs
        # sharing a report folder (two CI jobs, two terminals) never merge or delete each other's parts
        workerinput = getattr(config, "workerinput", {})
        self.run_id = workerinput.get(RUN_ID) or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.parts = self.report_dir / ".parts" / self.run_id

    # xdist: the controller does not collect; it merges the workers' records at the end
    @property
    def is_controller(self) -> bool:
        return self.worker is None and xdist_active(self.config)

    @property
    def corpus_flags(self) -> set[str] | None:
        return {f for v in self.corpus.vectors for f in v.flags} if self.full_corpus else None

    def start(self) -> Engine:
        """Build and start the runners (once): a set-up error (the engine went away, a declared runner that
        cannot be built) ends the whole run with one message, exit 2, from whichever item asked first."""
        if self.engine is None:
            try:
                self.engine = self._engine()
                self.engine.prepare()
            except (BackendGone, UsageError) as e:
                pytest.exit(f"appauth-conformance: {e}", returncode=2)
        return self.engine

    def _engine(self) -> Engine:
        path = self.parts / f"{self.worker}.json" if self.worker else self.report_dir / "results.json"
        self.recorder = Recorder(path, self.corpus, backend=self.opts.backend, shard=self.shard_record)
        return Engine(
            self.specs,
            cfg.make_backend(self.opts),
            self.recorder,
            timeout=self.opts.timeout,
            on_result=self._counted,
            on_wait=None if self.worker else self._show,  # a worker's output is not shown
            token_window=self.opts.token_window,
            allow_never_expires=self.opts.allow_never_expires,
            flags=self.corpus_flags,
            # serial: every outcome as it is measured (an interrupted run keeps them); an xdist worker:
            # only those of its own items (the workers' batches overlap)
            record_outcomes=self.worker is None,
            expectations=self.expectations,
        )

    def _counted(self, r: Result | TokenResult) -> None:
        """Each outcome as the engine keeps it (from its streaming threads): counted; the waiting item woken when
        it is its own (not at each of the others': a wake-up costs a thread switch)."""
        self.tally.count(r.judgement.verdict in FAILING)
        o = r.outcome
        awaited = self.awaited
        if awaited is None or awaited == (o.runner, o.vector.key if isinstance(o, Outcome) else o.request.key):
            with self.arrived:
                self.arrived.notify_all()

    def _show(self) -> None:
        """The progress line, from the main thread only (pytest's terminal is not written from others)."""
        if threading.current_thread() is threading.main_thread():
            self.tally.show()

    def start_stream(self) -> None:
        """Serial: stream the whole selection (its vectors, then its token requests) through the started runners
        in a thread (a list's staleness is asked for by its item, once the stream has ended)."""
        if self.worker or self.stream is not None or self.engine is None:
            return
        engine, selected, requests = self.engine, self.selected, self.requests

        def stream() -> None:
            try:
                if selected:
                    engine.ensure(selected)
                if requests:
                    engine.ensure_tokens(requests)
            except BaseException as e:  # re-raised in the main thread by the item that needs what is missing
                self.stream_error = e
            finally:
                with self.arrived:
                    self.arrived.notify_all()

        self.stream = threading.Thread(target=stream, daemon=True, name="appauth-conformance stream")
        self.stream.start()

    def ensure(self, vectors: list[Vector]) -> None:
        self.settle()
        self.start().ensure(vectors)

    def ensure_tokens(self, requests: list[TokenRequest]) -> None:
        self.settle()
        self.start().ensure_tokens(requests)

    def await_measured(self, done: Callable[[], bool], key: tuple[str, str] | None = None) -> None:
        """Wait (showing progress) until `done()` or the stream has ended, whichever is first; `key` (runner,
        vector or request key): the outcome that makes it done, the one the stream wakes this wait for."""
        stream = self.stream
        if stream is None:
            return
        with self.arrived:
            self.awaited = key  # set before done() is asked: an outcome kept after that asks for it wakes this
            try:
                while not done() and stream.is_alive():
                    self.arrived.wait(0.2)
                    self.tally.show()
            finally:
                self.awaited = None

    def settle(self) -> None:
        """Wait for the stream to end and raise what ended it (e.g. the engine went away): before the engine
        is asked anything else, so no two threads ever use one runner's session."""
        stream = self.stream
        if stream is not None:
            self.await_measured(lambda: False)
            stream.join()
            err, self.stream_error = self.stream_error, None
            if err is not None:
                raise err

    @property
    def shard_record(self) -> dict[str, int] | None:
        return self.opts.shard.record() if self.opts.shard else None

    def token_batch_for(self, request: TokenRequest) -> list[TokenRequest]:
        if not self.worker:
            return self.requests
        i = self.request_position[request.key] // BLOCK * BLOCK
        return self.requests[i : i + BLOCK]

    def batch_for(self, vector: Vector) -> list[Vector]:
        if not self.worker:
            return self.selected
        i = self.position[vector.key] // BLOCK * BLOCK
        return self.selected[i : i + BLOCK]

    def detail(self, runner: str, j: Any, diagnosis: Any) -> bool:
        """Whether this failure gets a full explanation: the first of each kind (runner, verdict, stage,
        diagnoses), up to DETAILED_FAILURES kinds; the rest get one line each."""
        k = kind(runner, j, diagnosis)  # the same kinds as `appauth-conformance run` explains
        if k in self.detailed or len(self.detailed) >= DETAILED_FAILURES:
            return False
        self.detailed.add(k)
        return True

    @property
    def full_corpus(self) -> bool:
        """The run sees the whole bundled corpus (no shard, no --vectors): the lists' staleness can be judged."""
        return self.opts.shard is None and Path(self.opts.vectors).resolve() == DEFAULT_VECTORS.resolve()

    def finish(self, interrupted: bool) -> None:
        """Stop the runners and write this process's record (a worker's part, or the serial results.json)."""
        if self.stream is not None and not interrupted:  # -x, --maxfail: the record holds the whole selection, as ever
            try:
                self.stream.join()
            except KeyboardInterrupt:
                interrupted = True
        if self.engine is not None:
            self.engine.close()
        if self.stream is not None:  # an interrupted stream ends with its runners: nothing then adds to the record
            self.stream.join(5)
        if self.recorder is not None:
            if self.worker and self.engine is not None:  # beside its part: every nonce its runners made
                made = tokens.made({n: st.judge for n, st in self.engine.runners.items() if st.judge is not None})
                kept = {name: [(value(n), key) for n, key in pairs] for name, pairs in made.items()}
                write_json_atomic(self.parts / f"{self.worker}.nonces", kept)
            self.recorder.write(complete=not interrupted)

    @property
    def writes_reports(self) -> bool:
        """Whether this process writes the run's reports: serial, or xdist's controller (not a worker)."""
        return not self.worker and (self.recorder is not None or self.is_controller)


class _TerminalLines:
    """A stream for the progress display: each line through pytest's terminal, outside output capture.
    Written only from the main thread (Engine.on_wait), as pytest's live logging is."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def write(self, text: str) -> int:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is not None and text.strip():
            if capture is not None:
                with capture.global_and_fixture_disabled():
                    tr.write_line("appauth-conformance " + text.strip())
            else:
                tr.write_line("appauth-conformance " + text.strip())
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


SUITE = pytest.StashKey[Suite]()  # the Suite on the config, when --lang asks for a conformance run


def suite_of(config: pytest.Config) -> Suite | None:
    """The conformance run of this pytest process; None when it was not asked for (no --lang)."""
    return config.stash.get(SUITE, None)


def xdist_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")

"""What one pytest process knows about the conformance run: the corpus, the runners, the engine (started
by the first item that needs it, never while collecting), the recorder, and the batches items share."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from appauth_conformance.core.errors import BackendGone, UsageError
from appauth_conformance.core.model import FAILING, TokenRequest, Vector
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS, load
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.pipeline import Engine, check_names
from appauth_conformance.execution.progress import Progress, Tally
from appauth_conformance.formats.files import write_json_atomic
from appauth_conformance.formats.results import Recorder, clock, value
from appauth_conformance.frontends import clients
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
        # endpoint clients: one item each, run against the endpoint (never started as runners)
        self.specs, self.clients = clients.split(cfg.select_runners(opts))
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
            on_result=lambda r: self.tally.count(r.judgement.verdict in FAILING),
            on_wait=None if self.worker else self.tally.show,  # a worker's output is not shown
            token_window=self.opts.token_window,
            allow_never_expires=self.opts.allow_never_expires,
            flags=self.corpus_flags,
            # serial: every outcome as it is measured (an interrupted run keeps them); an xdist worker:
            # only those of its own items (the workers' batches overlap)
            record_outcomes=self.worker is None,
            expectations=self.expectations,
        )

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
        if self.engine is not None:
            self.engine.close()
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

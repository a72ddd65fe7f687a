"""The pytest plugin: `pytest --lang=all` turns the corpus into one test per (vector, runner).

Items are named `test_vector[<runner>:<mode>/<id>]`, so `-k` selects by runner,
mode or id. Outcomes are computed in batches: serially the whole selection
streams through every runner at the first item; under xdist each worker
streams blocks of the vectors it is handed. Verdicts map to pytest outcomes:
pass -> passed, known divergence -> xfailed (with the reason), fail /
unexpected pass / runner fault -> failed with a staged diff, skipped -> skipped
(failed under CI=true or --require-all).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import BackendGone, CorpusError, ResultsError, UsageError
from appauth_conformance.core.model import FAILING, Judgement, Outcome, TokenRequest, Vector, Verdict
from appauth_conformance.corpus.expectations import placeholder_message, stale_message
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS, load
from appauth_conformance.execution import interrupt, shards
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.execution.progress import Progress, Tally
from appauth_conformance.formats.files import write_json_atomic
from appauth_conformance.formats.results import Recorder, clock, value
from appauth_conformance.judging import tokens
from appauth_conformance.judging.explain import explain, explain_token, kind

if TYPE_CHECKING:
    from appauth_conformance.report import AfterRun

# what the face (appauth_conformance/plugin.py, the entry point) re-exports: pytest finds hooks and
# fixtures by name on the registered module (tests/test_architecture.py checks the list is whole)
__all__ = [
    "appauth_endpoint",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_report_header",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
]

DETAILED_FAILURES = 25  # kinds of failure explained in full; the others, and repeats of a kind, get one line each
BLOCK = 64  # vectors per batch under xdist


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("appauth-conformance", "App ID signature conformance")
    cfg.add_options(g.addoption, pytest_style=True)


def _options(config: pytest.Config) -> cfg.Options:
    return cfg.Options.from_namespace(config.option)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: an App ID signature conformance item")
    if config.getoption("appauth_lang", None) is None:
        return
    try:
        config.stash[SUITE] = Suite(config, _options(config))
    except (UsageError, CorpusError) as e:  # bad input: one message and exit 2, as the CLI does
        pytest.exit(f"appauth-conformance: {e}", returncode=2)
    interrupt.install()


def _suite(config: pytest.Config) -> Suite | None:
    """The conformance run of this pytest process; None when it was not asked for (no --lang)."""
    return config.stash.get(SUITE, None)


class Suite:
    """Everything one pytest process knows about the conformance run."""

    def __init__(self, config: pytest.Config, opts: cfg.Options):
        self.config = config
        self.opts = opts
        self.began = clock()  # the run's start: xdist's controller writes it into the merged results.json
        self.corpus = load(opts.vectors)
        self.specs = cfg.select_runners(opts)
        self.worker = getattr(config, "workerinput", {}).get("workerid")
        self.report_dir = Path(opts.report_dir)
        self.engine: Engine | None = None
        self.recorder: Recorder | None = None
        self.selected: list[Vector] = []  # vectors with at least one selected item, in corpus order
        self.position: dict[str, int] = {}
        self.requests: list[TokenRequest] = []  # token requests with at least one selected item
        self.request_position: dict[str, int] = {}
        self.detailed: set[tuple] = set()  # the kinds of failure explained in full so far
        self.rendered: str | None = None  # "wrote results.json and ...", for the terminal summary
        self.reports_failed = False  # the run's reports could not be written: the run fails
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
        return self.worker is None and _xdist_active(self.config)

    def start(self) -> Engine:
        if self.engine is None:
            path = self.parts / f"{self.worker}.json" if self.worker else self.report_dir / "results.json"
            self.recorder = Recorder(path, self.corpus, backend=self.opts.backend, shard=self.shard_record)
            backend = cfg.make_backend(self.opts)
            self.engine = Engine(
                self.specs,
                backend,
                self.recorder,
                timeout=self.opts.timeout,
                on_result=lambda r: self.tally.count(r.judgement.verdict in FAILING),
                on_wait=None if self.worker else self.tally.show,  # a worker's output is not shown
                token_window=self.opts.token_window,
                allow_never_expires=self.opts.allow_never_expires,
                flags={f for v in self.corpus.vectors for f in v.flags} if self.full_corpus else None,
                # serial: every outcome as it is measured (an interrupted run keeps them); an xdist worker:
                # only those of its own items (the workers' batches overlap)
                record_outcomes=self.worker is None,
            )
            self.engine.prepare()
        return self.engine

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
        if self.engine is not None:
            self.engine.close()
        if self.recorder is not None:
            if self.worker and self.engine is not None:  # beside its part: every nonce its runners made
                made = tokens.made({n: st.judge for n, st in self.engine.runners.items() if st.judge is not None})
                kept = {name: [(value(n), key) for n, key in pairs] for name, pairs in made.items()}
                write_json_atomic(self.parts / f"{self.worker}.nonces", kept)
            self.recorder.write(complete=not interrupted)
        if self.is_controller:
            merge_parts(self, interrupted)
        if not self.worker and (self.recorder is not None or self.is_controller):
            written = render(self.report_dir / "results.json")
            self.rendered = written.line if written else None
            self.reports_failed = written is not None and not written.ok


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
RUN_ID = "appauth_conformance_run"  # key of xdist's workerinput: the run's id


def _xdist_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): tell each worker this run's id, the folder of its part of results.json."""
    suite = _suite(node.config)
    if suite is not None:
        node.workerinput[RUN_ID] = suite.run_id


def merge_parts(suite: Suite, interrupted: bool) -> None:
    from appauth_conformance.report import merge  # the report stack only for a controller that merges

    parts_dir = suite.parts
    rec = Recorder(
        suite.report_dir / "results.json",
        suite.corpus,
        backend=suite.opts.backend,
        shard=suite.shard_record,
        since=suite.began,  # the run's start and duration, not the merge's
    )
    docs, made = [], []
    for part in sorted(parts_dir.glob("*.json")) if parts_dir.exists() else []:
        docs.append((f"worker {part.stem}", json.loads(part.read_text())))
        nonces = part.with_suffix(".nonces")
        made.append(json.loads(nonces.read_text()) if nonces.exists() else {})
    # each worker ran its own runner processes: the one merge of results (report/merge.py, as for shards)
    joined = merge.join(docs, made)
    if joined.failed:  # the workers' items passed, the run must not
        suite.failed_across += len(joined.failed)
    for r in joined.runners:
        rec.runners[r["name"]] = {k: v for k, v in r.items() if k != "counts"}  # the Recorder counts again
    for o in joined.outcomes:
        rec.add_record(o, joined.vectors.get(o["vector"]))
    interrupted = interrupted or not joined.complete
    rec.write(complete=not interrupted)
    shutil.rmtree(parts_dir, ignore_errors=True)  # this run's parts only, once merged
    try:
        parts_dir.parent.rmdir()  # .parts/ itself, unless another run sharing the folder still has parts there
    except OSError:
        pass


def render(results: Path) -> AfterRun | None:
    """Write the reports next to results.json; the line that says so (shown in the terminal summary)."""
    if not results.exists():
        return None
    from appauth_conformance.report import write_reports_after_run

    return write_reports_after_run(results)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    suite = _suite(config)
    if suite is None:
        return
    parent = ConformanceSuite.from_parent(session, name="conformance", nodeid="conformance")
    # the runners' hellos say what they answer (sign requests, token requests): start them now
    try:
        engine = suite.start()
    except (
        BackendGone,
        UsageError,
    ) as e:  # the engine went away; a set-up error (an unknown diagnosis id, a missing image)
        pytest.exit(f"appauth-conformance: {e}", returncode=2)
    signers = [s for s in suite.specs if "sign" in engine.runners[s.name].ops]  # an unavailable one keeps sign
    tokeners = [s for s in suite.specs if "token" in engine.runners[s.name].ops]
    vectors, requests = shards.part(suite.corpus.vectors, tokens.suite(suite.corpus.vectors), suite.opts.shard)
    new: list[pytest.Item] = [
        VectorItem.from_parent(parent, name=f"test_vector[{spec.name}:{v.key}]", vector=v, runner=spec.name)
        for v in vectors
        for spec in signers
    ]
    if tokeners:
        new += [
            TokenItem.from_parent(parent, name=f"test_token[{spec.name}:{r.key}]", request=r, runner=spec.name)
            for r in requests
            for spec in tokeners
        ]
    # a list is judged stale only over the whole corpus (not a shard, not --vectors); one with placeholder
    # reasons (`reason: TODO`) fails in every run
    new += [
        DivergenceListItem.from_parent(parent, name=f"test_known_divergences[{spec.name}]", runner=spec.name)
        for spec in suite.specs
        if suite.full_corpus or engine.runners[spec.name].expectations.placeholders()
    ]
    items.extend(new)
    # report them as collected, so pytest's counts ("collected N items") include them
    config.hook.pytest_collectreport(report=pytest.CollectReport(parent.nodeid, "passed", None, list(new)))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    suite = _suite(session.config)
    if suite is None:
        return
    seen: dict[str, Vector] = {}
    asked: dict[str, TokenRequest] = {}
    for item in session.items:
        if isinstance(item, VectorItem):
            seen.setdefault(item.vector.key, item.vector)
        elif isinstance(item, TokenItem):
            asked.setdefault(item.request.key, item.request)
    suite.selected = list(seen.values())
    suite.position = {v.key: i for i, v in enumerate(suite.selected)}
    suite.requests = list(asked.values())
    suite.request_position = {r.key: i for i, r in enumerate(suite.requests)}
    suite.tally.total = sum(isinstance(i, (VectorItem, TokenItem)) for i in session.items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    suite = _suite(session.config)
    if suite is not None:
        suite.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
        if suite.reports_failed and exitstatus == pytest.ExitCode.OK:  # a gate without its reports fails
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if suite.failed_across and exitstatus == pytest.ExitCode.OK:  # a nonce two workers' runners both made
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """What failed, by kind, every distinct diagnosis shown: the same grouping as report.md."""
    suite = _suite(config)
    results = suite.report_dir / "results.json" if suite is not None and not suite.worker else None
    if results is None or not results.exists():
        return
    from appauth_conformance.report import load, terminal

    if suite is not None and suite.rendered:
        terminalreporter.write_line(suite.rendered)
    try:
        doc = load(results)
    except ResultsError as e:  # already said when the reports were rendered; the verdicts stand
        terminalreporter.write_line(f"appauth-conformance: cannot summarise: {e}")
        return
    lines = terminal.grouped(doc)
    if lines:
        terminalreporter.section("appauth-conformance: what failed, by kind")
        for line in lines:
            terminalreporter.write_line(line)
    missing = {r["name"]: r["unavailable"] for r in doc["runners"] if r.get("unavailable")}
    if missing:  # loud: a runner that did not start was not measured at all
        terminalreporter.section("appauth-conformance: runners NOT run", red=True, bold=True)
        for name, why in missing.items():
            first = why.splitlines()[0]  # the reason names the runner, as a rule
            shown = first if first.startswith(f"{name}:") else f"{name}: {first}"
            terminalreporter.write_line(untrusted.line(shown, 300), red=True)


class ConformanceSuite(pytest.Collector):
    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []


class ConformanceFailure(Exception):
    pass


class _OutcomeItem(pytest.Item):
    """One request through one runner; the subclasses say how its result is found and explained."""

    def __init__(self, *, runner: str, **kw: Any):
        super().__init__(**kw)
        self.runner = runner
        self.add_marker("conformance")

    def _engine(self, suite: Suite) -> Engine:
        engine = suite.start()
        st = engine.runners[self.runner]
        if st.unavailable:
            self._record_skipped(suite, st.unavailable)
            msg = f"runner {self.runner} unavailable: {untrusted.message(st.unavailable)}"
            if st.spec.declared:  # the user's own runner: a typo must not pass the gate
                raise ConformanceFailure(msg + "\n(a declared runner that cannot start fails the run)")
            if suite.opts.require_all:
                raise ConformanceFailure(msg + "\n(--require-all or CI=true: an unavailable runner fails the run)")
            if all(other.unavailable for other in engine.runners.values()):
                raise ConformanceFailure(msg + "\n(no runner could start: nothing was measured)")
            pytest.skip(msg)
        return engine

    def _record_skipped(self, suite: Suite, why: str) -> None:
        """What results.json keeps of an item whose runner could not start (a token item has none)."""

    def _judged(self, suite: Suite, j: Judgement, diagnosis: tuple[str, ...]) -> None:
        """Record the verdict; return on a pass, skip, xfail, or raise the short line when this kind of
        failure was already explained in full (the caller raises the full explanation)."""
        self.user_properties.append(("verdict", j.verdict.value))
        if j.stage is not None:
            self.user_properties.append(("stage", j.stage.value))
        if j.verdict is Verdict.PASS:
            return
        if j.verdict is Verdict.UNSUPPORTED:  # the runner said so in its hello: not a failure
            pytest.skip(f"unsupported: {j.reason}")
        if j.verdict is Verdict.KNOWN_DIVERGENCE:
            assert j.stage is not None  # a known divergence always names the stage that broke
            pytest.xfail(f"known divergence ({j.stage.value}): {j.reason}")
        if not suite.detail(self.runner, j, diagnosis):
            raise ConformanceFailure(
                f"{j.verdict.value}"
                + (f" at {j.stage.value}" if j.stage else "")
                + (f": {untrusted.line(j.reason, 300)}" if j.reason else "")
                + (f" [{', '.join(diagnosis)}]" if diagnosis else "")
                + " (details in results.json / report.html)"
            )

    def _ensure(self, run: Any) -> None:
        try:
            run()
        except BackendGone as e:  # a set-up error, not a verdict: stop the run, keep what was measured
            pytest.exit(f"appauth-conformance: {e}", returncode=2)

    def repr_failure(self, excinfo):
        # xfail too: pytest would otherwise format a traceback (parsing source files) per known divergence
        if isinstance(excinfo.value, (ConformanceFailure, pytest.xfail.Exception)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class VectorItem(_OutcomeItem):
    def __init__(self, *, vector: Vector, **kw: Any):
        super().__init__(**kw)
        self.vector = vector

    def runtest(self) -> None:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        engine = self._engine(suite)
        r = engine.result(self.runner, self.vector)
        if r is None:
            self._ensure(lambda: engine.ensure(suite.batch_for(self.vector)))
            r = engine.result(self.runner, self.vector)
            assert r is not None  # ensure() ran the batch, this vector included, through this (available) runner
        if suite.worker and suite.recorder is not None:
            suite.recorder.add(r.outcome, r.judgement, r.diagnosis)
        self._judged(suite, r.judgement, tuple(r.diagnosis))
        if r.judgement.verdict is not Verdict.PASS:
            raise ConformanceFailure(
                explain(
                    r,
                    engine.others(self.vector, self.runner),
                    engine.runners[self.runner].spec,
                    suite.opts.rerun_args(),
                )
            )

    def _record_skipped(self, suite: Suite, why: str) -> None:
        if suite.worker and suite.recorder is not None:  # serial: the engine records it with its batch
            suite.recorder.add(Outcome(self.vector, self.runner), Judgement(Verdict.SKIPPED, reason=why))

    def reportinfo(self):
        return self.vector.file, self.vector.line - 1 if self.vector.line else None, f"{self.runner}:{self.vector.key}"


class TokenItem(_OutcomeItem):
    """One token request through one runner that answers tokens: every check of what its code made."""

    def __init__(self, *, request: TokenRequest, **kw: Any):
        super().__init__(**kw)
        self.request = request

    def runtest(self) -> None:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        engine = self._engine(suite)
        t = engine.token_result(self.runner, self.request)
        if t is None:
            self._ensure(lambda: engine.ensure_tokens(suite.token_batch_for(self.request)))
            t = engine.token_result(self.runner, self.request)
            if t is None:  # the runner went away after its hello
                raise ConformanceFailure(
                    f"runner {self.runner} gave no result: {untrusted.message(engine.runners[self.runner].unavailable or '')}"
                )
        if suite.worker and suite.recorder is not None:
            suite.recorder.add_token(t)
        # the mistakes of the check the verdict names; the other checks' are in the full explanation
        own = next((c.diagnosis for c in t.checks if c.stage is t.judgement.stage), ())
        self._judged(suite, t.judgement, own)
        if t.judgement.verdict is not Verdict.PASS:
            raise ConformanceFailure(explain_token(t, engine.runners[self.runner].spec, suite.opts.rerun_args()))

    def reportinfo(self):
        r = self.request
        return r.file, r.line - 1 if r.line else None, f"{self.runner}:{r.key}"


class DivergenceListItem(pytest.Item):
    """Fails when a known-divergence entry's reason is still a placeholder (`reason: TODO...`), or, in a run
    over the whole corpus, names no vector of it or excuses none of the runner's outcomes (a stale list)."""

    def __init__(self, *, runner: str, **kw: Any):
        super().__init__(**kw)
        self.runner = runner
        self.add_marker("conformance")

    def runtest(self) -> None:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        spec = next(s for s in suite.specs if s.name == self.runner)
        try:
            engine = suite.start()
            stale = engine.stale(self.runner, suite.corpus.vectors) if suite.full_corpus else []
        except BackendGone as e:
            pytest.exit(f"appauth-conformance: {e}", returncode=2)
        problems = []
        todo = engine.runners[self.runner].expectations.placeholders()
        if todo:
            problems.append(placeholder_message(spec, todo))
        if stale:
            problems.append(stale_message(spec, stale, suite.opts.rerun_args()))
        if problems:
            raise ConformanceFailure("\n".join(problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        spec = next(s for s in suite.specs if s.name == self.runner)
        return spec.divergences or "", None, f"known divergences of {self.runner}"


@pytest.fixture
def appauth_endpoint() -> Any:
    """The verifying endpoint in this test (`appauth-conformance docs endpoint`, "The pytest fixture"): `.add_app(id, key)`, `.url`,
    `.ca_path`, `.requests` (the judged requests), `.assert_conforming()`."""
    from appauth_conformance.endpoint.fixture import LocalEndpoint

    served = LocalEndpoint().start()
    try:
        yield served
    finally:
        served.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    suite = _suite(config)
    if suite is None:
        return None
    return (
        f"appauth-conformance: {len(suite.corpus.vectors)} vectors (sha256 {suite.corpus.digest[:12]}), "
        f"runners: {', '.join(s.name for s in suite.specs)}, backend: {suite.opts.backend}"
    )

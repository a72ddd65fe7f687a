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
import shutil
from pathlib import Path
from typing import Any

import pytest

from . import config as cfg
from . import interrupt
from .engine import Engine
from .errors import BackendGone, CorpusError, UsageError
from .expectations import update_command
from .explain import explain
from .model import Vector, Verdict
from .results import Recorder
from .vectors import DEFAULT_VECTORS, load

DETAILED_FAILURES = 25  # after this many full explanations, failures get one compact line each
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
    except (UsageError, CorpusError) as e:
        raise pytest.UsageError(str(e)) from None
    interrupt.install()


def _suite(config: pytest.Config) -> Suite | None:
    """The conformance run of this pytest process; None when it was not asked for (no --lang)."""
    return config.stash.get(SUITE, None)


class Suite:
    """Everything one pytest process knows about the conformance run."""

    def __init__(self, config: pytest.Config, opts: cfg.Options):
        self.config = config
        self.opts = opts
        self.corpus = load(opts.vectors)
        self.specs = cfg.select_runners(opts)
        self.worker = getattr(config, "workerinput", {}).get("workerid")
        self.report_dir = Path(opts.report_dir)
        self.engine: Engine | None = None
        self.recorder: Recorder | None = None
        self.selected: list[Vector] = []  # vectors with at least one selected item, in corpus order
        self.position: dict[str, int] = {}
        self.detailed = 0
        if self.is_controller:  # parts of an earlier, interrupted run must not be merged into this one
            shutil.rmtree(self.report_dir / ".parts", ignore_errors=True)

    # xdist: the controller does not collect; it merges the workers' records at the end
    @property
    def is_controller(self) -> bool:
        return self.worker is None and _xdist_active(self.config)

    def start(self) -> Engine:
        if self.engine is None:
            path = self.report_dir / (f".parts/{self.worker}.json" if self.worker else "results.json")
            self.recorder = Recorder(path, self.corpus, backend=self.opts.backend)
            backend = cfg.make_backend(self.opts)
            self.engine = Engine(self.specs, backend, self.recorder, timeout=self.opts.timeout)
            self.engine.prepare()
        return self.engine

    def batch_for(self, vector: Vector) -> list[Vector]:
        if not self.worker:
            return self.selected
        i = self.position[vector.key] // BLOCK * BLOCK
        return self.selected[i : i + BLOCK]

    def finish(self, interrupted: bool) -> None:
        if self.engine is not None:
            self.engine.close()
        if self.recorder is not None:
            self.recorder.write(complete=not interrupted)
        if self.is_controller:
            merge_parts(self, interrupted)
        if not self.worker and (self.recorder is not None or self.is_controller):
            render(self.report_dir / "results.json", self.config)


SUITE = pytest.StashKey[Suite]()  # the Suite on the config, when --lang asks for a conformance run


def _xdist_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def merge_parts(suite: Suite, interrupted: bool) -> None:
    parts_dir = suite.report_dir / ".parts"
    rec = Recorder(suite.report_dir / "results.json", suite.corpus, backend=suite.opts.backend)
    for part in sorted(parts_dir.glob("*.json")) if parts_dir.exists() else []:
        doc = json.loads(part.read_text())
        for r in doc["runners"]:
            known = rec.runners.setdefault(r["name"], {k: v for k, v in r.items() if k not in ("counts", "timings")})
            for k, sec in r.get("timings", {}).items():
                known.setdefault("timings", {})[k] = max(sec, known.get("timings", {}).get(k, 0))
        for o in doc["outcomes"]:
            rec.add_record(o)
        if not doc["complete"]:
            interrupted = True
        part.unlink()
    rec.write(complete=not interrupted)


def render(results: Path, config: pytest.Config) -> None:
    if not results.exists():
        return
    from .report import write_reports_after_run  # jinja2 only when a run has something to render

    msg = write_reports_after_run(results)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line(msg)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    suite = _suite(config)
    if suite is None:
        return
    parent = ConformanceSuite.from_parent(session, name="conformance", nodeid="conformance")
    new: list[pytest.Item] = [
        VectorItem.from_parent(parent, name=f"test_vector[{spec.name}:{v.key}]", vector=v, runner=spec.name)
        for v in suite.corpus.vectors
        for spec in suite.specs
    ]
    if Path(suite.opts.vectors).resolve() == DEFAULT_VECTORS.resolve():
        new += [
            DivergenceListItem.from_parent(parent, name=f"test_known_divergences[{spec.name}]", runner=spec.name)
            for spec in suite.specs
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
    for item in session.items:
        if isinstance(item, VectorItem):
            seen.setdefault(item.vector.key, item.vector)
    suite.selected = list(seen.values())
    suite.position = {v.key: i for i, v in enumerate(suite.selected)}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    suite = _suite(session.config)
    if suite is not None:
        suite.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


class ConformanceSuite(pytest.Collector):
    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []


class ConformanceFailure(Exception):
    pass


class VectorItem(pytest.Item):
    def __init__(self, *, vector: Vector, runner: str, **kw: Any):
        super().__init__(**kw)
        self.vector = vector
        self.runner = runner
        self.add_marker("conformance")

    def runtest(self) -> None:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        engine = suite.start()
        st = engine.runners[self.runner]
        if st.unavailable:
            msg = f"runner {self.runner} unavailable: {st.unavailable}"
            if suite.opts.require_all:
                raise ConformanceFailure(msg + "\n(--require-all or CI=true: an unavailable runner fails the run)")
            pytest.skip(msg)
        r = engine.result(self.runner, self.vector)
        if r is None:
            try:
                engine.ensure(suite.batch_for(self.vector))
            except BackendGone as e:  # a set-up error, not a verdict: stop the run, keep what was measured
                pytest.exit(f"appauth-conformance: {e}", returncode=2)
            r = engine.result(self.runner, self.vector)
            assert r is not None  # ensure() ran the batch, this vector included, through this (available) runner
        self.user_properties.append(("verdict", r.judgement.verdict.value))
        if r.judgement.stage is not None:
            self.user_properties.append(("stage", r.judgement.stage.value))
        if r.judgement.verdict is Verdict.PASS:
            return
        if r.judgement.verdict is Verdict.KNOWN_DIVERGENCE:
            assert r.judgement.stage is not None  # a known divergence always names the stage that broke
            pytest.xfail(f"known divergence ({r.judgement.stage.value}): {r.judgement.reason}")
        suite.detailed += 1
        if suite.detailed > DETAILED_FAILURES:
            j = r.judgement
            raise ConformanceFailure(
                f"{j.verdict.value}"
                + (f" at {j.stage.value}" if j.stage else "")
                + (f": {j.reason}" if j.reason else "")
                + (f" [{', '.join(r.diagnosis)}]" if r.diagnosis else "")
                + " (details in results.json / report.html)"
            )
        raise ConformanceFailure(explain(r, engine.others(self.vector, self.runner), engine.runners[self.runner].spec))

    def repr_failure(self, excinfo):
        # xfail too: pytest would otherwise format a traceback (parsing source files) per known divergence
        if isinstance(excinfo.value, (ConformanceFailure, pytest.xfail.Exception)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.vector.file, self.vector.line - 1 if self.vector.line else None, f"{self.runner}:{self.vector.key}"


class DivergenceListItem(pytest.Item):
    """Fails when a known-divergence entry matches no vector of the corpus (a stale list)."""

    def __init__(self, *, runner: str, **kw: Any):
        super().__init__(**kw)
        self.runner = runner
        self.add_marker("conformance")

    def runtest(self) -> None:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        spec = next(s for s in suite.specs if s.name == self.runner)
        from .expectations import Expectations

        stale = Expectations.load(spec).stale(suite.corpus.vectors)
        if stale:
            listed = "\n".join(f"  {spec.divergences}:{e.line}: {e.label} ({e.reason[:60]})" for e in stale)
            raise ConformanceFailure(
                f"{len(stale)} known-divergence entr{'y' if len(stale) == 1 else 'ies'} of {spec.name} match no vector:\n"
                f"{listed}\nThe list is stale: run `{update_command(spec)}`"
            )

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        suite = _suite(self.config)
        assert suite is not None  # the items exist only in a conformance run
        spec = next(s for s in suite.specs if s.name == self.runner)
        return spec.divergences or "", None, f"known divergences of {self.runner}"


def pytest_report_header(config: pytest.Config) -> str | None:
    suite = _suite(config)
    if suite is None:
        return None
    return (
        f"appauth-conformance: {len(suite.corpus.vectors)} vectors (sha256 {suite.corpus.digest[:12]}), "
        f"runners: {', '.join(s.name for s in suite.specs)}, backend: {suite.opts.backend}"
    )

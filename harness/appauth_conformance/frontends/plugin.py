"""The pytest plugin: `pytest --lang=all` turns the corpus into one test per (vector, runner).

Items are named `test_vector[<runner>:<mode>/<id>]`, so `-k` selects by runner,
mode or id. Collecting them builds and starts nothing (`pytest --collect-only`, an
IDE's discovery): the runners start when the first item runs. Outcomes are
computed in batches: serially the whole selection streams through every runner
at the first item; under xdist each worker streams blocks of the vectors it is
handed. Verdicts map to pytest outcomes:
pass -> passed, known divergence -> xfailed (with the reason), fail /
unexpected pass / runner fault -> failed with a staged diff, skipped -> skipped
(failed under CI=true or --require-all).
"""

from __future__ import annotations

import atexit
import gc
from typing import Any

import pytest

from appauth_conformance.core.errors import CorpusError, UsageError
from appauth_conformance.core.model import TokenRequest, Vector
from appauth_conformance.execution import interrupt
from appauth_conformance.execution import options as cfg
from appauth_conformance.frontends import pytest_protocol
from appauth_conformance.frontends.pytest_items import (
    ConformanceSuite,
    DivergenceListItem,
    OutcomeItem,
    TokenItem,
    VectorItem,
)
from appauth_conformance.frontends.pytest_suite import RUN_ID, SUITE, Suite, suite_of

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
    "pytest_runtest_protocol",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("appauth-conformance", "App ID signature conformance")
    cfg.add_options(g.addoption, pytest_style=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: an App ID signature conformance item")
    if config.getoption("appauth_lang", None) is None:
        return
    try:
        config.stash[SUITE] = Suite(config, cfg.Options.from_namespace(config.option))
    except (UsageError, CorpusError) as e:  # bad input: one message and exit 2, as the CLI does
        pytest.exit(f"appauth-conformance: {e}", returncode=2)
    interrupt.install()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): tell each worker this run's id, the folder of its part of results.json."""
    suite = suite_of(node.config)
    if suite is not None:
        node.workerinput[RUN_ID] = suite.run_id


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The conformance items, yielded by their collector (which starts no runner), before -k/-m select."""
    if suite_of(config) is None:
        return
    parent = ConformanceSuite.from_parent(session, name="conformance", nodeid="conformance")
    # genitems: collected as pytest collects (collectstart, the collector's report, itemcollected), so
    # pytest's counts ("collected N items") and --collect-only's listing include them
    items.extend(session.genitems(parent))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    suite = suite_of(session.config)
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
    suite.light = pytest_protocol.applies(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """The first conformance item starts the runners. A declared runner's items of an op its hello leaves
    out (collected before its hello was known) are dropped: not run, not reported, not counted. An item
    whose outcome is already measured runs the lighter protocol (frontends/pytest_protocol.py) when nothing
    of pytest's full one can matter: another conformance item follows, and no one marked it."""
    suite = suite_of(item.config)
    if suite is None or not isinstance(item, OutcomeItem):
        return None
    if suite.engine is None:
        engine = suite.start()
        dropped = [i for i in item.session.items if isinstance(i, OutcomeItem) and not i.answered(engine)]
        if dropped:
            suite.tally.total -= len(dropped)
            item.session.testscollected -= len(dropped)  # the progress column still ends at 100%
    engine = suite.start()
    if not item.answered(engine):
        return True  # handled: the runner does not answer this op
    if (
        suite.light
        and isinstance(nextitem, (OutcomeItem, DivergenceListItem))
        and item.parent is not None
        and nextitem.parent is item.parent
        and not item.own_markers  # no skip/xfail/usefixtures a user added; the collector's `conformance` only
        and len(item.parent.own_markers) == 1
        and item.measured(engine)
    ):
        pytest_protocol.run(item)
        return True
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    suite = suite_of(session.config)
    if suite is not None:
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        suite.finish(interrupted)
        if suite.is_controller:
            from appauth_conformance.frontends.xdist_parts import merge_parts

            merge_parts(suite, interrupted)
        if suite.writes_reports:
            from appauth_conformance.frontends.pytest_summary import render

            own = suite.recorder.written if suite.recorder is not None and not suite.is_controller else None
            suite.rendered = written = render(suite.report_dir / "results.json", own)
            suite.reports_failed = written is not None and not written.ok
        if suite.reports_failed and exitstatus == pytest.ExitCode.OK:  # a gate without its reports fails
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if suite.failed_across and exitstatus == pytest.ExitCode.OK:  # a nonce two workers' runners both made
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """What failed, by kind, every distinct diagnosis shown: the same grouping as report.md."""
    suite = suite_of(config)
    results = suite.report_dir / "results.json" if suite is not None and not suite.worker else None
    if suite is None or results is None or not results.exists():
        return
    from appauth_conformance.frontends.pytest_summary import summarise

    summarise(terminalreporter, results, suite.rendered)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After a conformance run, the interpreter's own exit skips the garbage collector's passes: its
    finalisation collects several times over the ~95,000 objects left (the items, their reports, the corpus),
    0.13-0.16 s of a ~1.9 s run (measured). Frozen at exit (an atexit handler, after pytest's own end and its
    search for unraisable exceptions), the objects are still freed by their reference counts; only a
    cycle's finalisers are not run, which Python does not promise at exit either."""
    if suite_of(config) is not None:
        atexit.register(gc.freeze)


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
    suite = suite_of(config)
    if suite is None:
        return None
    return (
        f"appauth-conformance: {len(suite.corpus.vectors)} vectors (sha256 {suite.corpus.digest[:12]}), "
        f"runners: {', '.join(s.name for s in suite.specs) or 'none'}, backend: {suite.opts.backend}"
        + (f", endpoint clients: {', '.join(c.spec.name for c in suite.clients)}" if suite.clients else "")
    )

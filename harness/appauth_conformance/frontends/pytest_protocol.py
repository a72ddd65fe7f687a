"""A lighter run protocol for a conformance item whose outcome is already measured (a lookup, no user code).

pytest's own protocol wraps each of an item's three phases in every plugin's setup/call/teardown hooks
(output and log capture, warnings, faulthandler, pytest-randomly's reseeding, the fixture set-up state):
~0.3 ms an item, most of a serial run's per-item cost. This one keeps what reports and counts: the
logstart/logfinish hooks and, for each phase, the makereport and logreport hooks (terminal, junitxml,
xdist's worker, -x/--maxfail, skipping's xfail handling see the same reports as ever); it leaves out the
phase hooks, which guard code this item does not run. Used only where they cannot matter (`applies`, and
plugin.py's pytest_runtest_protocol): an item that measures (a serial run's first, the first of an xdist
worker's block, of the token requests), one a user marked (skip, xfail, usefixtures), and the last of the run's conformance items (which tears the
fixture state down before a user's test) run pytest's full protocol. Measured on `pytest --lang=all`
(1,396 items): the items' CPU 0.43 s with pytest's protocol, 0.19 s with this one.
"""

from __future__ import annotations

from typing import Literal

import pytest

PHASES: tuple[Literal["setup", "call", "teardown"], ...] = ("setup", "call", "teardown")


def _nothing() -> None:
    pass


def applies(config: pytest.Config) -> bool:
    """Whether the session allows the lighter protocol at all: not under --pdb (which wants the phase hooks'
    post-mortem), nor --setup-show/--setup-only/--setup-plan (which show the set-up phases)."""
    return not any(config.getoption(o, False) for o in ("usepdb", "setupshow", "setuponly", "setupplan"))


def run(item: pytest.Item) -> None:
    """One item's protocol: its three reports made and logged by the same hooks as pytest's protocol."""
    ihook = item.ihook
    nodeid, location = item.nodeid, item.location
    ihook.pytest_runtest_logstart(nodeid=nodeid, location=location)
    reraise: tuple[type[BaseException], ...] = (pytest.exit.Exception, KeyboardInterrupt)  # as pytest's (no --pdb)
    for when in PHASES:
        call = pytest.CallInfo.from_call(item.runtest if when == "call" else _nothing, when=when, reraise=reraise)
        report = ihook.pytest_runtest_makereport(item=item, call=call)
        ihook.pytest_runtest_logreport(report=report)
        if call.excinfo is not None and not hasattr(report, "wasxfail") and not report.skipped:
            ihook.pytest_exception_interact(node=item, call=call, report=report)
    ihook.pytest_runtest_logfinish(nodeid=nodeid, location=location)

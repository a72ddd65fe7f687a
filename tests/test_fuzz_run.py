"""fuzz.Fuzzer end to end on fast Python runners (tests/fixtures/runners/fault_runner.py), no toolchain:
the inputs counted through each runner, disagreements grouped and shrunk, faults, unavailable runners, the
time budget, the report's figures, and the usage errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appauth_conformance import fuzz
from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec, Stage, Tool
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.fuzz.run import FuzzReport, RunnerRun

FAULT = Path(__file__).resolve().parent / "fixtures" / "runners" / "fault_runner.py"


def spec(name: str, *args: str) -> RunnerSpec:
    return RunnerSpec(name=name, language="python", command=("{python}", str(FAULT), *args), group="declared")


MISSING = RunnerSpec(name="needs-tool", language="x", command=("x",), tools=(Tool("no-such-compiler-xyz", "xyz-dev"),))


def fuzzed(specs, **options) -> tuple[FuzzReport, list[str]]:
    warnings: list[str] = []
    f = fuzz.Fuzzer(specs, LocalBackend(), warn=warnings.append, **options)
    try:
        f.prepare()
        report = f.run()
        line = f.progress_line()
    finally:
        f.close()
    assert re.fullmatch(
        rf"fuzz: {min(r.outcomes for r in report.runners if r.session):,} inputs through every runner \([\d,]+/s\), "
        rf"{report.inputs:,} generated, {len(report.groups)} group\(s\), \d+s",
        line,
    ), line
    return report, warnings


def test_a_conforming_runner_takes_every_input_and_shows_no_group():
    report, warnings = fuzzed([spec("ok", "ok")], seed=5, count=700, batch=64, shrink=False)
    assert warnings == []
    assert (report.seed, report.inputs, report.stopped_by) == (5, 700, "count")
    (r,) = report.runners
    assert r.outcomes == 700 and r.error is None and r.seconds > 0
    assert report.groups == [] and report.unknown == [] and r.triage.disagreements == 0
    assert report.wall > 0 and 0 <= report.cpu and report.cpu_share == report.cpu / report.wall


def test_disagreements_are_grouped_counted_and_shrunk():
    """The runner signs "0"*64 whenever user_id holds an "a": one unexplained group, shrunk to the "a"."""
    report, _ = fuzzed([spec("bug", "wrong-signature", "a")], seed=1, count=200, batch=64, shrink_seconds=2.0)
    (r,) = report.runners
    struck = [v for v in fuzz.Inputs(1).take(200) if "a" in v.user_id]  # the same stream
    assert r.outcomes == 200
    assert report.groups and all(g.runner == "bug" for g in report.groups)
    assert sum(g.count for g in report.groups) == r.triage.disagreements == len(struck) > 0
    for g in report.groups:
        assert g.reproducer is not None and "a" in g.reproducer.user_id
        assert len(g.reproducer.user_id) <= len(g.example.user_id)
        assert g.known is None  # a declared runner: no known divergences
    assert report.unknown == report.groups
    assert report.shrink_wall > 0


def test_without_shrinking_groups_keep_their_smallest_example():
    report, _ = fuzzed([spec("bug", "wrong-signature", "a")], seed=1, count=300, batch=300, shrink=False)
    assert report.groups and all(g.reproducer is None and g.example is not None for g in report.groups)


def test_a_crash_is_a_fault_group_and_the_run_goes_on():
    # crashes on the two inputs (of seed 2's first 400) whose user_id holds a "~"
    report, _ = fuzzed([spec("crashy", "crash", "~")], seed=2, count=400, batch=50, shrink=False)
    (r,) = report.runners
    assert [(g.stage, g.kind, g.cause, g.count) for g in report.groups] == [(fuzz.FAULT, "fault", "fault:crash", 2)]
    assert r.outcomes == 400


def test_two_runners_are_each_fed_every_input():
    report, _ = fuzzed([spec("a", "ok"), spec("b", "compact")], seed=3, count=500, batch=128, shrink=False)
    assert [r.outcomes for r in report.runners] == [500, 500]
    assert report.groups == []


def test_a_time_budget_stops_the_stream():
    report, _ = fuzzed([spec("ok", "ok")], seed=1, time_budget=0.3, batch=50_000, shrink=False)
    assert report.stopped_by == "time budget"
    assert 0 < report.inputs and report.runners[0].outcomes == report.inputs


def test_an_unavailable_runner_is_skipped_with_a_warning_or_refused_under_require_all():
    report, warnings = fuzzed([MISSING, spec("ok", "ok")], count=50, shrink=False)
    assert len(warnings) == 1 and warnings[0].startswith("skipped needs-tool: ")
    assert "no-such-compiler-xyz" in warnings[0] and "\n" not in warnings[0]
    assert [r.outcomes for r in report.runners] == [0, 50]
    assert report.runners[0].unavailable and report.runners[1].unavailable is None
    f = fuzz.Fuzzer([MISSING, spec("ok", "ok")], LocalBackend(), count=50, require_all=True)
    try:
        with pytest.raises(RunnerUnavailable, match="no-such-compiler-xyz"):
            f.prepare()
    finally:
        f.close()


def test_no_runner_left_is_an_error():
    f = fuzz.Fuzzer([MISSING], LocalBackend(), count=50)
    try:
        with pytest.raises(RunnerUnavailable) as e:
            f.prepare()
    finally:
        f.close()
    assert str(e.value).startswith("no runner could be started: needs-tool: ")
    assert "no-such-compiler-xyz" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "give --count N or --time-budget SECONDS"),
        ({"count": -1}, "--count must be >= 0, got -1"),
        ({"time_budget": 0}, "--time-budget must be > 0 seconds, got 0"),
        ({"time_budget": -1.5}, "--time-budget must be > 0 seconds, got -1.5"),
        ({"count": 5, "batch": 0}, "--batch must be >= 1, got 0"),
    ],
)
def test_usage_errors(options, message):
    with pytest.raises(UsageError) as e:
        fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), **options)
    assert str(e.value) == message


@pytest.mark.parametrize("options", [{"count": 0}, {"time_budget": 0.01}, {"count": 1, "batch": 1}])
def test_the_edges_of_the_options_are_accepted(options):
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), **options)
    f.close()


def test_a_report_counts_only_unknown_groups_as_new():
    t = fuzz.Triage("r")
    known = fuzz.Group("r", "signature", "classes", frozenset(), known="label")
    new = fuzz.Group("r", "signature", "classes", frozenset({"nul"}))
    t.groups += [known, new]
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), count=1)
    try:
        run = RunnerRun(f.runs[0].state, t)
        report = FuzzReport(1, 1, 0.0, 0.5, 0.0, [run], "count")
        assert report.groups == [known, new] and report.unknown == [new]
        assert report.cpu_share == 0.0  # no wall time: no share
        assert run.spec.name == "ok" and run.session is None and run.unavailable is None
        assert run.expectations is f.runs[0].expectations
    finally:
        f.close()

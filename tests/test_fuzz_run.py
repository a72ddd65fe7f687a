"""fuzz.Fuzzer end to end on fast Python runners (tests/fixtures/runners/fault_runner.py), no toolchain:
the inputs counted through each runner, disagreements grouped and shrunk, faults, unavailable runners, the
time budget, the report's figures, and the usage errors."""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
import types
from pathlib import Path

import pytest

from appauth_conformance import fuzz
from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec, Stage, Tool
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.shards import Shard
from appauth_conformance.fuzz import run
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
    assert report.inputs % 2048 == 0  # under a time budget, chunks of at most 2048: a short overshoot


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


def test_an_error_in_a_runners_thread_stops_the_stream_and_is_raised(monkeypatch):
    """The thread keeps the producer from blocking on its full queue, the stream stops, run() raises it."""

    def broken(o):
        raise RuntimeError("triage broke")

    monkeypatch.setattr(run, "stage_of", broken)
    f = fuzz.Fuzzer([spec("bug", "wrong-signature", "a"), spec("ok", "ok")], LocalBackend(), count=10**7, batch=50)
    try:
        f.prepare()
        with pytest.raises(RuntimeError, match="triage broke"):
            f.run()
        assert f.generated < 10**6  # stopped long before the count
        bug, ok = f.runs
        assert isinstance(bug.error, RuntimeError) and ok.error is None
    finally:
        f.close()


class Shown:
    def __init__(self):
        self.lines: list[str] = []
        self.ended = 0

    def show(self, status: str) -> None:
        self.lines.append(status)

    def end(self) -> None:
        self.ended += 1


def test_the_progress_line_ends_with_the_fuzzing_phase():
    shown = Shown()
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), count=300, batch=100, shrink=False, progress=shown)
    try:
        f.prepare()
        f.run()
    finally:
        f.close()
    assert shown.ended == 1
    assert all(line.startswith("fuzz: ") for line in shown.lines)


def test_the_overflow_group_is_not_shrunk_and_a_failed_shrink_is_a_warning(monkeypatch):
    monkeypatch.setattr(fuzz.Triage, "MAX_GROUPS", 1)
    report, warnings = fuzzed([spec("bug", "wrong-signature", "a")], seed=1, count=200, batch=64, shrink_seconds=1.0)
    first, overflow = report.groups
    assert overflow.count > first.count  # shrunk largest first: the skipped overflow group does not end it
    assert overflow.kind == "overflow" and overflow.reproducer is None and overflow.example is not None
    assert first.reproducer is not None and warnings == []

    def refuse(self, g):
        assert threading.current_thread().daemon  # a shrinking thread never holds the process at exit
        raise ValueError("no way")

    monkeypatch.setattr(run.Shrinker, "shrink", refuse)
    report, warnings = fuzzed([spec("bug", "wrong-signature", "a")], seed=1, count=200, batch=64)
    assert warnings == [f"bug: could not shrink {report.groups[0].cause}: no way"]
    assert report.groups[0].reproducer is None


# --------------------------------------------------------------------------- known divergences, figures, threads

REPRO_FLAG = "fuzz-cause-unexplained-noncharacter"  # what --save flags the reproducer of seed 2's "~" group with


def divergences(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "known-divergences.yaml"
    body = "".join(f"- {e}\n  reason: the runner signs zeros on a tilde.\n" for e in entries)
    path.write_text(f"schema: appauth-conformance/known-divergences/1\nrunner: bug\ndivergences:\n{body}")
    return path


def tilde_bug(path: Path | None) -> RunnerSpec:
    return RunnerSpec(
        name="bug", language="python", command=("{python}", str(FAULT), "wrong-signature", "~"), divergences=path
    )


@pytest.mark.parametrize(
    "entry, known",
    [
        (f"flag: {REPRO_FLAG}\n  stage: signature", f"flag: {REPRO_FLAG}"),
        (f"flag: {REPRO_FLAG}", f"flag: {REPRO_FLAG}"),  # any stage
        (f"flag: {REPRO_FLAG}\n  stage: string-to-sign", None),  # another stage
        (f"flag: {REPRO_FLAG}\n  diagnosis: hex-uppercase", None),  # an unexplained group: no mistake
        ("flag: nul\n  stage: signature", None),  # another input
    ],
)
def test_a_group_is_known_where_the_runners_list_covers_its_reproducer(tmp_path, entry, known):
    report, _ = fuzzed([tilde_bug(divergences(tmp_path, entry))], seed=2, count=400, batch=50, shrink_seconds=1.0)
    (g,) = report.groups
    assert (g.stage, g.cause, g.count) == (Stage.SIGNATURE.value, "unexplained:noncharacter", 2)
    assert g.known == known
    assert report.unknown == ([] if known else [g])


def uppercase_bug(path: Path) -> RunnerSpec:
    """Signs right, but writes the hex digits in upper case on a tilde: the catalogue's hex-uppercase."""
    return RunnerSpec(
        name="bug", language="python", command=("{python}", str(FAULT), "uppercase-signature", "~"), divergences=path
    )


UPPER_FLAG = "fuzz-cause-hex-uppercase"  # what --save flags the reproducer of a hex-uppercase group with


@pytest.mark.parametrize(
    "entries, known",
    [
        ([f"flag: {UPPER_FLAG}\n  diagnosis: hex-uppercase"], f"flag: {UPPER_FLAG}, diagnosis: hex-uppercase"),
        (["diagnosis: hex-uppercase"], "diagnosis: hex-uppercase"),
        ([f"flag: {UPPER_FLAG}\n  diagnosis: hex-dotnet-dashed"], None),  # another mistake
        ([f"flag: {UPPER_FLAG}\n  stage: string-to-sign"], None),  # another stage
        # two entries cover the reproducer: the one at the group's stage is its label
        ([f"flag: {UPPER_FLAG}\n  stage: string-to-sign", "flag: empty-key\n  stage: signature"], "flag: empty-key"),
    ],
)
def test_a_diagnosed_group_is_known_by_its_mistake_and_stage(tmp_path, entries, known):
    report, _ = fuzzed(
        [uppercase_bug(divergences(tmp_path, *entries))], seed=2, count=400, batch=50, shrink_seconds=1.0
    )
    (g,) = report.groups
    assert (g.stage, g.kind, g.cause) == (Stage.SIGNATURE.value, "diagnosis", "hex-uppercase")
    assert g.known == known
    assert report.unknown == ([] if known else [g])


def test_the_overflow_group_is_never_known(tmp_path, monkeypatch):
    """Every reproducer carries fuzz-regression; the overflow group mixes causes and has no stage to match."""
    monkeypatch.setattr(fuzz.Triage, "MAX_GROUPS", 1)
    bug = RunnerSpec(
        name="bug",
        language="python",
        command=("{python}", str(FAULT), "wrong-signature", "a"),
        divergences=divergences(tmp_path, "flag: fuzz-regression"),
    )
    report, _ = fuzzed([bug], seed=1, count=200, batch=64, shrink_seconds=1.0)
    first, overflow = report.groups
    assert overflow.kind == "overflow" and overflow.example is not None
    assert (first.known, overflow.known) == ("flag: fuzz-regression", None)
    assert report.unknown == [overflow]


def test_a_fault_group_is_never_known(tmp_path):
    path = divergences(tmp_path, "flag: fuzz-regression")
    crashy = RunnerSpec(name="bug", language="python", command=("{python}", str(FAULT), "crash", "~"), divergences=path)
    report, _ = fuzzed([crashy], seed=2, count=400, batch=50, shrink_seconds=1.0)
    (g,) = report.groups
    assert g.stage == fuzz.FAULT and g.reproducer is not None and g.known is None


def test_a_run_stopped_by_its_count_says_so_under_a_time_budget_too():
    report, _ = fuzzed([spec("ok", "ok")], count=100, time_budget=60, shrink=False)
    assert report.stopped_by == "count" and report.inputs == 100


def test_the_reports_times_are_measured_within_the_run():
    f = fuzz.Fuzzer([spec("bug", "wrong-signature", "a")], LocalBackend(), count=300, batch=100, shrink_seconds=1.0)
    try:
        f.prepare()
        m0, c0 = time.monotonic(), time.process_time()
        report = f.run()
        m1, c1 = time.monotonic(), time.process_time()
        line, m2 = f.progress_line(), time.monotonic()
    finally:
        f.close()
    assert 0 < report.wall <= m1 - m0 and 0 < report.shrink_wall <= m1 - m0 - report.wall
    assert 0 <= report.cpu <= c1 - c0
    (r,) = report.runners
    assert 0 < r.seconds <= report.wall
    # the rate is over the time since the stream began (under a second here, not floored at one)
    rate = int(re.search(r"\(([\d,]+)/s\)", line).group(1).replace(",", ""))
    assert r.outcomes / (m2 - f.t0) - 1 <= rate <= r.outcomes / (m1 - m0 - report.shrink_wall) + 1


def test_the_rate_is_over_the_seconds_since_the_stream_began(monkeypatch):
    """Not floored at a second: a quarter of a second after the start, 300 inputs are 1,200/s (on a clock of
    the test's own: a loaded machine may take more than a second to get there)."""
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), count=300, batch=100, shrink=False)
    try:
        f.prepare()
        f.run()
        monkeypatch.setattr(run, "time", types.SimpleNamespace(monotonic=lambda: f.t0 + 0.25))
        line = f.progress_line()
    finally:
        f.close()
    assert line == "fuzz: 300 inputs through every runner (1,200/s), 300 generated, 0 group(s), 0s"


def test_the_progress_line_before_any_runner_started():
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), count=1)
    try:
        m0 = time.monotonic()
        line = f.progress_line()
        m1 = time.monotonic()
    finally:
        f.close()
    seconds = int(
        re.fullmatch(r"fuzz: 0 inputs through every runner \(0/s\), 0 generated, 0 group\(s\), (\d+)s", line).group(1)
    )
    assert round(m0) <= seconds <= round(m1)  # t0 is 0 until run(): the clock's own count


def test_the_live_progress_shows_counts_within_the_stream():
    shown = Shown()
    f = fuzz.Fuzzer(
        [spec("a", "ok"), spec("b", "compact")],
        LocalBackend(),
        time_budget=0.7,
        batch=256,
        shrink=False,
        progress=shown,
    )
    try:
        f.prepare()
        report = f.run()
    finally:
        f.close()
    assert shown.lines and shown.ended == 1
    for line in shown.lines:
        done, generated = (
            int(x.replace(",", "")) for x in re.match(r"fuzz: ([\d,]+) inputs .*, ([\d,]+) generated", line).groups()
        )
        assert 0 <= done <= generated <= report.inputs


def test_the_runners_threads_are_named_daemons_and_conforming_replies_skip_the_full_path(monkeypatch):
    seen = []

    def judged(o):
        seen.append((threading.current_thread().name, threading.current_thread().daemon))
        return fuzz.stage_of(o)

    monkeypatch.setattr(run, "stage_of", judged)
    fuzzed([spec("bug", "wrong-signature", "a"), spec("ok", "ok")], seed=1, count=200, batch=64, shrink=False)
    assert seen and set(seen) == {("fuzz-bug", True)}  # the ok runner's replies all conform: never judged


def test_a_sharded_run_fuzzes_its_blocks_of_the_stream():
    shard = Shard(2, 2)  # of 4096 + 300 inputs, the second block: 300
    report, _ = fuzzed([spec("bug", "wrong-signature", "a")], seed=1, count=4096 + 300, shard=shard, shrink=False)
    assert report.inputs == 300
    struck = [v for v in fuzz.Inputs(1, shard=shard).take(report.inputs) if "a" in v.user_id]
    assert report.inputs > 0 and sum(g.count for g in report.groups) == len(struck)
    unsharded = [v for v in fuzz.Inputs(1).take(report.inputs) if "a" in v.user_id]
    assert [v.user_id for v in struck] != [v.user_id for v in unsharded]


def test_a_hang_group_is_not_shrunk():
    report, _ = fuzzed([spec("stuck", "hang", "~")], seed=2, count=400, batch=50, timeout=1.0, shrink_seconds=1.0)
    hangs = [g for g in report.groups if g.causes == {"fault:hang"}]
    assert hangs and all(g.reproducer is None and g.example is not None for g in hangs)


def test_the_defaults():
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), count=1)
    try:
        assert (f.seed, f.timeout, f.shrink_seconds, f.batch, f.shard) == (1, 10.0, 30.0, run.DEFAULT_BATCH, None)
        assert f.engine.timeout == 10.0
    finally:
        f.close()


def test_the_timeout_is_the_sessions():
    f = fuzz.Fuzzer([spec("ok", "ok")], LocalBackend(), count=1, timeout=2.5)
    try:
        assert f.engine.timeout == 2.5
    finally:
        f.close()


def test_every_unavailable_runner_is_named():
    _, warnings = fuzzed([spec("ok", "ok"), MISSING], count=20, shrink=False)
    assert len(warnings) == 1 and warnings[0].startswith("skipped needs-tool: ")
    other = RunnerSpec(name="needs-other", language="x", command=("x",), tools=(Tool("no-such-tool-abc", "abc"),))
    f = fuzz.Fuzzer([MISSING, other], LocalBackend(), count=1)
    try:
        with pytest.raises(RunnerUnavailable) as e:
            f.prepare()
    finally:
        f.close()
    text = str(e.value)
    assert text.startswith("no runner could be started: needs-tool: ") and "\n" not in text
    assert "no-such-compiler-xyz" in text and "; needs-other: " in text and "no-such-tool-abc" in text


def recorded_chunks(monkeypatch) -> list[int]:
    """The size of each chunk the Fuzzer takes from the seed's stream."""
    sizes: list[int] = []

    class Recorded(run.Inputs):
        def chunks(self, batch, count=None, stop=None):
            for chunk in super().chunks(batch, count, stop):
                sizes.append(len(chunk))
                yield chunk

    monkeypatch.setattr(run, "Inputs", Recorded)
    return sizes


@pytest.mark.parametrize(
    "options, sizes",
    [
        ({}, [4096] * 3),  # --batch inputs at a time (a chunk never spans two of the stream's 4096-input blocks)
        ({"time_budget": 60}, [2048] * 6),  # at most 2048 under a time budget: a short overshoot
    ],
)
def test_chunks_are_batch_inputs_and_smaller_under_a_time_budget(monkeypatch, options, sizes):
    chunks = recorded_chunks(monkeypatch)
    report, _ = fuzzed([spec("ok", "ok")], count=3 * 4096, batch=4096, shrink=False, **options)
    assert (report.stopped_by, report.inputs) == ("count", 3 * 4096)
    assert chunks == sizes


def gated_queues(monkeypatch) -> list[queue.Queue]:
    """run()'s chunk queues, instrumented: `waiting` is set while a put waits on a full queue; the runner
    thread's second take (its drain, after its error) waits until the producer has tried to end the queue."""
    made: list[queue.Queue] = []

    class Gated(queue.Queue):
        def __init__(self, maxsize: int = 0):
            super().__init__(maxsize)
            self.waiting, self.ended, self.drained, self.full_at_end = threading.Event(), threading.Event(), 0, False
            made.append(self)

        def put(self, item, block=True, timeout=None):
            if item is None and not block:  # run()'s put_nowait(None) to a failed runner's queue
                try:
                    super().put(item, block, timeout)
                except queue.Full:
                    self.full_at_end = True
                    raise
                finally:
                    self.ended.set()
                return
            if self.full():
                self.waiting.set()
            super().put(item, block, timeout)
            self.waiting.clear()

        def get(self, block=True, timeout=None):
            if threading.current_thread().name.startswith("fuzz-"):  # only the drain takes in that thread
                self.drained += 1
                if self.drained == 2:
                    self.ended.wait(30)
            return super().get(block, timeout)

    monkeypatch.setattr(run, "queue", types.SimpleNamespace(Queue=Gated, Empty=queue.Empty, Full=queue.Full))
    return made


def test_a_runner_failing_while_the_producer_waits_on_its_queue_ends_the_run(monkeypatch):
    """The runner hangs on a tilde: its writer stops, its queue fills and the producer waits on it. Its thread
    then fails: it must take a chunk to free the producer, and end even though the end of the queue (None)
    did not fit in it (held back here until the producer has tried to put it)."""
    queues = gated_queues(monkeypatch)

    def broken(o):
        (q,) = queues
        end = time.monotonic() + 30
        while time.monotonic() < end:  # a put waits on the full queue, which only this thread takes from now
            if q.waiting.wait(end - time.monotonic()) and q.full():
                break
        raise RuntimeError("triage broke")

    monkeypatch.setattr(run, "stage_of", broken)
    f = fuzz.Fuzzer([spec("stuck", "hang", "~")], LocalBackend(), seed=2, count=10**7, batch=500, timeout=1.0)
    raised: list[BaseException] = []

    def go():
        try:
            f.run()
        except BaseException as e:
            raised.append(e)

    try:
        f.prepare()
        t = threading.Thread(target=go, daemon=True)
        t.start()
        t.join(60)
        if t.is_alive():  # free it for the clean-up: take its chunks (the producer), end its queue (the drain)
            (q,) = queues
            for _ in range(25):
                with contextlib.suppress(queue.Empty):
                    q.get_nowait()
                t.join(0.2)  # the producer puts what it waited to put, and ends
                with contextlib.suppress(queue.Full):
                    q.put_nowait(None)
                t.join(0.2)
            pytest.fail("the run did not end after a runner's thread failed")
    finally:
        f.close()
    assert [str(e) for e in raised] == ["triage broke"] and f.generated < 10**6
    (q,) = queues
    assert q.full_at_end  # the end did not fit: the drain ended on its own

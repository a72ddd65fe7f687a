"""Priority: the runner the fuzzer's stream waits on gets the CPU first (fuzz.priority), and the local
backend makes that real: an autogroup nice value per runner, and 1 MiB pipes."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance import fuzz
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.backends.local import LocalBackend, LocalProcess
from appauth_conformance.execution.session import Session
from appauth_conformance.fuzz import run
from appauth_conformance.fuzz.priority import Priority

FAULT = Path(__file__).resolve().parent / "fixtures" / "runners" / "fault_runner.py"
F_GETPIPE_SZ = 1032
AUTOGROUPS = Path("/proc/self/autogroup").exists()  # Linux with CONFIG_SCHED_AUTOGROUP


def spec(name: str, *args: str) -> RunnerSpec:
    return RunnerSpec(name=name, language="python", command=("{python}", str(FAULT), *args), group="declared")


def autogroup_nice(pid: int) -> int:
    """The nice value of the process's autogroup, as /proc shows it ("/autogroup-123 nice 10")."""
    return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])


# -- the policy ---------------------------------------------------------------------------------


def test_a_decision_comes_only_at_the_end_of_a_window():
    p = Priority(["a", "b"], start=0.0, window=3)
    p.waited("b", 0.9)
    assert p.chunk_done(0.3) is None and p.chunk_done(0.6) is None  # 2 of 3 chunks
    assert p.chunk_done(1.0) == "b" and p.favoured == "b" and p.changes == 1


def test_the_runner_waited_on_longest_is_favoured():
    p = Priority(["a", "b", "c"], start=0.0, window=1)
    p.waited("a", 0.2)
    p.waited("c", 0.5)
    p.waited("b", 0.1)
    assert p.chunk_done(1.0) == "c"


def test_a_wait_below_the_minimum_share_of_the_window_changes_nothing():
    p = Priority(["a", "b"], start=10.0, window=1, min_wait=0.1)
    p.waited("a", 0.099)  # of a window of 1.0 s
    assert p.chunk_done(11.0) is None and p.favoured is None
    p.waited("a", 0.1)  # exactly the minimum (the score is 0.75 * 0.099 + 0.1)
    assert p.chunk_done(12.0) == "a"


def test_waits_add_up_within_a_window():
    p = Priority(["a", "b"], start=0.0, window=2, min_wait=0.1)
    p.waited("a", 0.06)
    p.chunk_done(0.5)
    p.waited("a", 0.06)
    assert p.chunk_done(1.0) == "a"  # 0.12 s of a 1 s window; either wait alone is below 0.1


def test_the_minimum_is_a_share_of_each_windows_own_time():
    p = Priority(["a", "b"], start=0.0, window=1, min_wait=0.1)
    p.waited("a", 0.5)
    assert p.chunk_done(10.0) is None  # 0.5 s of a 10 s window
    p = Priority(["a", "b"], start=0.0, window=1, min_wait=0.1)
    p.waited("a", 0.5)
    assert p.chunk_done(4.0) == "a"  # 0.5 s of 4 s


def test_the_same_favourite_again_is_no_change():
    p = Priority(["a", "b"], start=0.0, window=1)
    p.waited("a", 1.0)
    assert p.chunk_done(1.0) == "a"
    p.waited("a", 1.0)
    assert p.chunk_done(2.0) is None and p.favoured == "a" and p.changes == 1


def test_waits_decay_so_a_short_blip_does_not_steal_the_favour():
    """Scores are 0.75 * the last score + this window's waits: worked out by hand below."""
    p = Priority(["js", "py"], start=0.0, window=1, min_wait=0.0)
    p.waited("js", 1.0)
    assert p.chunk_done(1.0) == "js"  # js 1.0
    p.waited("py", 0.3)
    assert p.chunk_done(2.0) is None  # js 0.75, py 0.3
    p.waited("py", 0.5)
    assert p.chunk_done(3.0) == "py"  # js 0.5625, py 0.725
    assert p.changes == 2


def test_waits_start_afresh_each_window():
    p = Priority(["a", "b"], start=0.0, window=2, min_wait=0.0)
    p.waited("a", 1.0)
    p.chunk_done(0.5)
    assert p.chunk_done(1.0) == "a"
    assert p.waits == {"a": 0.0, "b": 0.0} and p.chunks == 0 and p.start == 1.0


def test_a_lone_runner_is_never_favoured():
    p = Priority(["only"], start=0.0, window=1)
    p.waited("only", 5.0)
    assert p.chunk_done(1.0) is None and p.favoured is None and p.changes == 0


def test_no_runner_at_all():
    assert Priority([], start=0.0, window=1).chunk_done(1.0) is None


def test_windows_count_where_the_favour_was():
    p = Priority(["a", "b"], start=0.0, window=1, min_wait=0.0)
    p.chunk_done(1.0)  # no wait yet: a is the first of equals, with a score of 0: favoured
    p.waited("b", 1.0)
    p.chunk_done(2.0)
    p.chunk_done(3.0)
    assert p.windows == {"a": 1, "b": 2}


def test_the_defaults():
    p = Priority(["a"], start=0.0)
    assert (p.window, p.min_wait) == (4, 0.05)


# -- the local backend ---------------------------------------------------------------------------


def test_a_local_runner_has_1_mib_pipes_and_an_autogroup_whose_nice_value_it_sets():
    proc = LocalBackend().start(spec("ok", "ok"))
    try:
        assert fcntl.fcntl(proc.stdin.fileno(), F_GETPIPE_SZ) == 1 << 20
        assert fcntl.fcntl(proc.stdout.fileno(), F_GETPIPE_SZ) == 1 << 20
        if AUTOGROUPS:
            # The harness may sit in the root group (started outside any session, as CI does), which /proc
            # shows as an empty file: compare its text, not a nice value.
            harness_group = Path("/proc/self/autogroup").read_text()
            assert autogroup_nice(proc.pid) == 0
            proc.set_background(True)
            assert autogroup_nice(proc.pid) == 10
            assert Path("/proc/self/autogroup").read_text() == harness_group  # the harness's own is left alone
            proc.set_background(False)
            assert autogroup_nice(proc.pid) == 0
    finally:
        proc.kill()
    proc.set_background(True)  # reaped: a no-op, whoever has its pid now


@pytest.mark.skipif(not AUTOGROUPS, reason="no autogroups in this kernel")
def test_a_runners_children_share_its_autogroup():
    """A runner started through a wrapper: the work is in the child, which the group's nice value covers."""
    wrapper = (
        "import subprocess, sys\n"
        "sys.stdin.readline()\n"  # started: the test sets the group's nice value, then lets it go on
        "subprocess.run(['cat', '/proc/self/autogroup'])\n"
    )
    proc = LocalProcess(
        [sys.executable, "-c", wrapper],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        proc.set_background(True)
        out, _ = proc.communicate(b"go\n", timeout=30)
        assert out.split()[-1] == b"10"
    finally:
        proc.kill()


# -- the session: kept across restarts ----------------------------------------------------------


def test_a_session_in_the_background_keeps_every_process_it_starts_there(monkeypatch):
    seen: list[tuple[int, bool, int | None]] = []
    real = LocalProcess.set_background

    def recorded(self, background):
        real(self, background)
        seen.append((self.pid, background, autogroup_nice(self.pid) if AUTOGROUPS else None))

    monkeypatch.setattr(LocalProcess, "set_background", recorded)
    items = fuzz.Inputs(3).take(40)
    with Session(spec("crash", "crash", "5"), LocalBackend(), timeout=5) as s:
        s.set_background(True)  # before the first process: nothing to set yet
        assert seen == [] and s.background
        got = [pair for pairs in s.replies(items) for pair in pairs]
        assert s.restarts >= 2  # crashes on request 5 of every process
    assert len(got) == 40
    pids = {pid for pid, _, _ in seen}
    assert len(pids) == s.restarts + 1  # every process, the restarted ones too
    assert all(background for _, background, _ in seen)
    if AUTOGROUPS:
        assert all(nice == 10 for _, _, nice in seen)


def test_set_background_reaches_the_running_process_and_back(monkeypatch):
    seen: list[bool] = []
    monkeypatch.setattr(LocalProcess, "set_background", lambda self, b: seen.append(b))
    with Session(spec("ok", "ok"), LocalBackend()) as s:
        s.start()
        s.set_background(True)
        s.set_background(False)
        assert not s.background
    assert seen == [True, False]


# -- the fuzzer: who is favoured, and everyone equal at the end --------------------------------


class Scripted:
    """A Priority that favours what it is told, chunk after chunk, recording the waits it is given."""

    def __init__(self, names, start, script):
        self.names, self.script, self.favoured, self.waits, self.seconds = names, list(script), None, [], []

    def waited(self, name, seconds):
        self.waits.append(name)
        self.seconds.append(seconds)

    def chunk_done(self, now):
        step = self.script.pop(0) if self.script else None
        if step is not None:
            self.favoured = step
        return step


def test_the_fuzzer_puts_all_but_the_favourite_in_the_background_and_restores_them(monkeypatch):
    calls: list[tuple[str, bool]] = []
    real = Session.set_background

    def recorded(self, background):
        real(self, background)
        calls.append((self.spec.name, background))
        if AUTOGROUPS:
            assert autogroup_nice(self._inc.proc.pid) == (10 if background else 0)

    monkeypatch.setattr(Session, "set_background", recorded)
    made: list[Scripted] = []

    def scripted(names, start):
        made.append(Scripted(names, start, [None, "b", None, "a"]))
        return made[-1]

    monkeypatch.setattr(run, "Priority", scripted)
    f = fuzz.Fuzzer([spec("a", "ok"), spec("b", "ok")], LocalBackend(), seed=4, count=500, batch=100, shrink=False)
    try:
        f.prepare()
        assert f.priority is None  # until run() makes one
        report = f.run()
    finally:
        f.close()
    assert all(r.outcomes == 500 for r in report.runners)
    (p,) = made
    assert p.names == ["a", "b"] and f.priority is p
    assert p.waits == ["a", "b"] * 5  # every hand-out of each of the 5 chunks is timed
    assert all(s >= 0 for s in p.seconds) and sum(p.seconds) <= report.wall  # waits within the run
    assert calls == [
        ("a", True), ("b", False),  # after chunk 2: b favoured
        ("a", False), ("b", True),  # after chunk 4: a favoured
        ("a", False), ("b", False),  # the end: equal again
    ]  # fmt: skip


def test_a_run_that_favoured_no_one_changes_no_priority(monkeypatch):
    calls: list[bool] = []
    monkeypatch.setattr(Session, "set_background", lambda self, b: calls.append(b))
    monkeypatch.setattr(run, "Priority", lambda names, start: Scripted(names, start, []))
    f = fuzz.Fuzzer([spec("a", "ok"), spec("b", "ok")], LocalBackend(), seed=4, count=300, batch=100, shrink=False)
    try:
        f.prepare()
        f.run()
    finally:
        f.close()
    assert calls == []

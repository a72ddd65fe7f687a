"""Sessions under fault injection: every request gets exactly one outcome, only the affected vector is
blamed, the stderr tail is attached, restarts are bounded and nothing hangs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from appauth_conformance import fuzz
from appauth_conformance.core.model import Fault, RunnerSpec
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.session import EXPECTED, Session
from appauth_conformance.judging.verdicts import conformance

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAULT = FIXTURES / "runners" / "fault_runner.py"
SMALL = vectors.load(FIXTURES / "vectors" / "small.yaml").vectors
BATCH = SMALL * 25  # 100 requests; 25 of them carry the "boom" marker
MARKED = sum("boom" in v.user_id for v in BATCH)


def run(*args, timeout=1.5, batch=BATCH, **kw):
    spec = RunnerSpec(name="fault", language="python", command=("{python}", str(FAULT), *args))
    t0 = time.monotonic()
    with Session(spec, LocalBackend(), timeout=timeout, **kw) as s:
        outs = list(s.run(batch))
        restarts = s.restarts
    return outs, restarts, time.monotonic() - t0


def check_accounted(outs, batch=BATCH):
    assert sorted(map(id, (o.vector for o in outs))) == sorted(map(id, batch))


# fault -> (how it strikes, the fault text expected on the blamed vectors)
PER_VECTOR = {
    "crash": "exited with status 3",
    "segv": "killed by SIGSEGV",
    "exit0": "exited with status 0",
    "garbage": "not a JSON line",
    "not-utf8": "stdout is not UTF-8",
    "unknown-seq": "unknown seq 999999",
    "long-seq": "not a JSON line (Exceeds the limit (4300 digits)",
    "missing-field": "breaks the protocol schema",
    "wrong-type": "breaks the protocol schema",
}


@pytest.mark.parametrize("fault", sorted(PER_VECTOR))
def test_fault_on_one_input_blames_only_that_vector(fault):
    outs, restarts, _ = run(fault, "boom")
    check_accounted(outs)
    faults = [o for o in outs if o.fault]
    assert len(faults) == MARKED and all("boom" in o.vector.user_id for o in faults)
    assert all(PER_VECTOR[fault] in o.fault for o in faults), faults[0].fault
    assert all(conformance(o) is None for o in outs if not o.fault)
    if fault not in ("missing-field", "wrong-type"):  # those keep the process: the line had a valid seq
        assert restarts == MARKED
        assert all(f"fault {fault} at request" in o.stderr_tail for o in faults)


def test_duplicate_seq_is_a_fault_and_loses_nothing():
    outs, _, _ = run("duplicate-seq", "boom")
    check_accounted(outs)
    assert any("duplicate seq" in (o.fault or "") for o in outs)


@pytest.mark.parametrize("fault", ["hang", "hang-partial"])
def test_hang_ends_within_the_timeout(fault):
    batch = SMALL * 2  # two marked vectors: two hangs of 1 s each
    outs, restarts, elapsed = run(fault, "boom", timeout=1.0, batch=batch)
    check_accounted(outs, batch)
    assert [o.fault for o in outs if o.fault] == ["no response within 1s (hang)"] * 2
    assert restarts == 2 and elapsed < 10


def test_huge_response_line_is_a_fault_not_a_memory_blowup():
    outs, _, _ = run("huge-line", "boom", timeout=30, batch=SMALL)
    check_accounted(outs, SMALL)
    assert [o.fault for o in outs if o.fault] == ["response line longer than 16 MiB, the protocol's limit for a line"]


def test_stderr_flood_does_not_deadlock():
    outs, restarts, _ = run("stderr-flood", timeout=5)
    check_accounted(outs)
    assert restarts == 0 and not any(o.fault for o in outs)


def test_slow_start_is_waited_for():
    outs, restarts, _ = run("slow-start", "1.5", timeout=1)
    assert restarts == 0 and not any(o.fault for o in outs)


@pytest.mark.parametrize(
    "fault, text", [("wrong-protocol", "speaks protocol 2"), ("stdout-before-hello", "not a JSON line")]
)
def test_handshake_faults_fault_every_vector(fault, text):
    outs, _, _ = run(fault)
    check_accounted(outs)
    assert all(o.fault and text in o.fault for o in outs)


def test_restarts_are_bounded_when_nothing_progresses():
    outs, restarts, _ = run("crash", "0", max_restarts=2)  # crashes on the first request of every process
    check_accounted(outs)
    assert restarts == 3
    assert sum("gave up after 2 restarts" in o.fault for o in outs) == len(BATCH) - 3


def test_missing_command_faults_every_vector_with_the_reason():
    spec = RunnerSpec(name="ghost", language="x", command=("/nonexistent/signer",))
    with Session(spec, LocalBackend()) as s:
        outs = list(s.run(SMALL))
    assert len(outs) == len(SMALL)
    assert all("cannot start `/nonexistent/signer`" in o.fault for o in outs)


def test_pipelining_keeps_many_requests_in_flight():
    # a runner that answers everything correctly, 2,000 requests with a small window: all conform
    outs, restarts, _ = run("ok", batch=SMALL * 500, window=64)
    assert len(outs) == 2000 and restarts == 0 and all(conformance(o) is None for o in outs)


class Watched:
    """A runner's stream that records which thread closed it and whether a read or write was under way."""

    def __init__(self, stream):
        self.stream, self.busy, self.closes = stream, 0, []
        self.lock, self.closed = threading.Lock(), threading.Event()

    def _call(self, name, *args):
        with self.lock:
            self.busy += 1
        try:
            return getattr(self.stream, name)(*args)
        finally:
            with self.lock:
                self.busy -= 1

    def read(self, n=-1):
        return self._call("read", n)

    def write(self, data):
        return self._call("write", data)

    def flush(self):
        return self._call("flush")

    def close(self):
        with self.lock:
            self.closes.append((threading.current_thread().name, self.busy))
        self.stream.close()
        self.closed.set()


class WatchingBackend(LocalBackend):
    def __init__(self):
        super().__init__()
        self.streams = []

    def start(self, spec):
        proc = super().start(spec)
        watched = SimpleNamespace(stdin=Watched(proc.stdin), stdout=Watched(proc.stdout), stderr=Watched(proc.stderr))
        self.streams.append(watched)
        for name in ("stdin", "stdout", "stderr"):
            setattr(proc, name, getattr(watched, name))
        return proc


def test_each_stream_is_closed_once_by_the_thread_that_uses_it_and_never_under_a_read():
    # Closing a pipe under a reader about to read lets the next runner's pipe reuse the descriptor
    # number, and the late read steals that runner's hello (a one-in-ten flake of this file under load).
    backend = WatchingBackend()
    spec = RunnerSpec(name="fault", language="python", command=("{python}", str(FAULT), "crash", "boom"))
    with Session(spec, backend, timeout=5) as s:
        outs = list(s.run(SMALL * 5))
    check_accounted(outs, SMALL * 5)
    assert len(backend.streams) == s.restarts + 1 > 2
    for started in backend.streams:
        for name, reader in (("stdout", "_read_stdout"), ("stderr", "_drain_stderr")):
            stream = getattr(started, name)
            assert stream.closed.wait(10), f"{name} never closed"
            [(thread, busy)] = stream.closes
            assert reader in thread and busy == 0, (name, thread, busy)
        [(_, busy)] = started.stdin.closes  # by kill() or close(), once no write is under way
        assert busy == 0


# --------------------------------------------------------------------------- replies accepted undecoded

VALID = [v for v in SMALL if v.result == "valid"]


def expecting(vs, tamper=False):
    """Items that declare their conforming replies, as the fuzzer's inputs do (tamper: a wrong signature)."""
    out = []
    for v in vs:
        sig = ("f" if v.signature[0] != "f" else "e") + v.signature[1:] if tamper else v.signature
        out.append(
            SimpleNamespace(
                vector=v,
                request_body=v.request_body,
                request_template=v.request_template,
                expected_replies=fuzz.expected_replies(v.string_to_sign, sig),
            )
        )
    return out


def replies(fault, items, *when, env=None):
    spec = RunnerSpec(name="fault", language="python", command=("{python}", str(FAULT), fault, *when), env=env or {})
    with Session(spec, LocalBackend(), timeout=5) as s:
        return [pair for pairs in s.replies(items) for pair in pairs], s.restarts


def test_a_reply_byte_identical_to_the_expected_one_is_accepted_undecoded():
    items = expecting(VALID * 20)
    pairs, restarts = replies("compact", items)
    assert sorted(map(id, (i for i, _ in pairs))) == sorted(map(id, items))
    assert restarts == 0 and all(r is EXPECTED for _, r in pairs)


def test_a_reply_that_differs_from_the_expected_one_is_decoded_and_judged():
    items = expecting(VALID * 5, tamper=True)  # the runner is right, the expectation wrong
    pairs, _ = replies("compact", items)
    assert len(pairs) == len(items) and not any(r is EXPECTED for _, r in pairs)
    assert all(r["signature"] == i.vector.signature for i, r in pairs)  # what the runner really said
    pairs, _ = replies("ok", expecting(VALID * 5))  # right, but in another JSON style: decoded too
    assert all(type(r) is dict and r["signature"] == i.vector.signature for i, r in pairs)


def test_replies_out_of_order_are_each_taken_for_their_own_request():
    """The fast path tries the seq after the last one read first; a runner that answers out of order
    (here: each read's replies reversed) must still have each reply taken for its own request, even when
    every request expects the same bytes after its seq (one vector, repeated)."""
    items = expecting(VALID[:1] * 60)
    pairs, restarts = replies("reversed", items)
    assert sorted(map(id, (i for i, _ in pairs))) == sorted(map(id, items))
    assert restarts == 0 and all(r is EXPECTED for _, r in pairs)


def test_a_second_reply_to_one_request_is_a_fault_though_the_next_request_expects_its_bytes():
    """A runner that answers request 3 twice, compactly, where every request expects the same bytes after its
    seq: the copy names an answered seq, so it is a fault (the next request is blamed, resent after a restart),
    never taken for the next request's reply."""
    items = expecting(VALID[:1] * 12)
    pairs, restarts = replies("duplicate-seq", items, "3", env={"FAULT_RUNNER_COMPACT": "1"})
    assert sorted(map(id, (i for i, _ in pairs))) == sorted(map(id, items))
    faults = [r for _, r in pairs if r is not EXPECTED]
    assert faults and restarts == len(faults)
    assert all(isinstance(r, Fault) and "duplicate seq 3" in r.reason for r in faults), faults


def test_a_seq_with_leading_zeros_is_not_taken_for_the_expected_reply():
    items = expecting(VALID * 10)
    marked = sum("boom" in i.vector.user_id for i in items)
    assert marked
    pairs, restarts = replies("zero-padded-seq", items, "boom")
    assert sorted(map(id, (i for i, _ in pairs))) == sorted(map(id, items))
    faults = [(i, r) for i, r in pairs if r is not EXPECTED]
    assert len(faults) == marked and restarts == marked
    assert all("boom" in i.vector.user_id and "not a JSON line" in r.reason for i, r in faults)


def test_a_bad_line_costs_the_same_however_stdout_is_chunked():
    """All replies of a read in one write: the good lines after a bad one are answered again after the
    restart, exactly as when they arrive in a later read, so each marked request costs one restart
    (before the fix, this chunking made the session give up after its restart limit)."""
    items = expecting(VALID * 10)
    marked = sum("boom" in i.vector.user_id for i in items)
    pairs, restarts = replies("zero-padded-seq", items, "boom", env={"FAULT_RUNNER_BATCHED": "1"})
    assert sorted(map(id, (i for i, _ in pairs))) == sorted(map(id, items))
    faults = [(i, r) for i, r in pairs if r is not EXPECTED]
    assert len(faults) == marked and restarts == marked
    assert all("boom" in i.vector.user_id and "not a JSON line" in r.reason for i, r in faults)


def _judged(pairs):
    """(item, what the reply said) for the pairs that are not EXPECTED, in a comparable order."""
    said = [(id(i), r.reason if isinstance(r, Fault) else repr(r)) for i, r in pairs if r is not EXPECTED]
    return sorted(said)


@pytest.mark.parametrize(
    "fault, tamper, when, env",
    [
        ("compact", False, (), {}),
        ("compact", True, (), {}),
        ("reversed", True, (), {}),
        ("ok", False, (), {}),
        ("zero-padded-seq", False, ("boom",), {"FAULT_RUNNER_BATCHED": "1"}),
    ],
)
def test_replies_without_expected_pairs_equal_the_full_replies_less_expected(fault, tamper, when, env):
    """The fuzzer's path (expected=False: byte-identical replies only counted) answers exactly what the
    full path does: the same non-EXPECTED pairs, and as many accepted as the full path pairs with EXPECTED."""
    items = expecting(VALID * 10, tamper=tamper)
    spec = RunnerSpec(name="fault", language="python", command=("{python}", str(FAULT), fault, *when), env=env)
    with Session(spec, LocalBackend(), timeout=5) as s:
        full = [pair for pairs in s.replies(items) for pair in pairs]
    with Session(spec, LocalBackend(), timeout=5) as s:
        lean = [pair for pairs in s.replies(items, expected=False) for pair in pairs]
        accepted = s.accepted
    assert sorted(map(id, (i for i, _ in full))) == sorted(map(id, items))
    assert _judged(lean) == _judged(full) and not any(r is EXPECTED for _, r in lean)
    assert accepted == sum(r is EXPECTED for _, r in full) == len(items) - len(lean)

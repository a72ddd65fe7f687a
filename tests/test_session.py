"""Sessions under fault injection: every request gets exactly one outcome, only the affected vector is
blamed, the stderr tail is attached, restarts are bounded and nothing hangs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import vectors
from harness.backends.local import LocalBackend
from harness.runners import RunnerSpec
from harness.session import Session
from harness.verdicts import conformance

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
    assert [o.fault for o in outs if o.fault] == ["response line longer than 64 MiB"]


def test_stderr_flood_does_not_deadlock():
    outs, restarts, _ = run("stderr-flood", timeout=5)
    check_accounted(outs)
    assert restarts == 0 and not any(o.fault for o in outs)


def test_slow_start_is_waited_for():
    outs, restarts, _ = run("slow-start", "1.5", timeout=1)
    assert restarts == 0 and not any(o.fault for o in outs)


@pytest.mark.parametrize("fault, text", [("wrong-protocol", "speaks protocol 2"), ("stdout-before-hello", "not a JSON line")])
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

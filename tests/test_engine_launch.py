"""Engine.launch(): the runners start without the caller waiting, and each streams as soon as its own hello
has come, not once every runner has started (a JVM's start must not hold the other runners back)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from appauth_conformance.core.model import RunnerSpec, Verdict
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.formats.results import Recorder

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAULT = FIXTURES / "runners" / "fault_runner.py"
CORPUS = vectors.load(FIXTURES / "vectors" / "small.yaml")
SMALL = CORPUS.vectors
# a runner that says nothing, not even its hello, until a line can be read from the named pipe argv[1]
GATED = "import runpy, sys; open(sys.argv[1]).read(); sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def _specs(gate: Path) -> list[RunnerSpec]:
    return [
        RunnerSpec(name="fast", language="python", command=("{python}", str(FAULT), "ok")),
        RunnerSpec(name="slow", language="python", command=("{python}", "-c", GATED, str(gate), str(FAULT), "ok")),
    ]


def test_a_runner_streams_once_its_own_hello_has_come(tmp_path):
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    fast_done = threading.Event()
    lock = threading.Lock()
    judged: dict[str, int] = {"fast": 0, "slow": 0}

    def on_result(r):
        with lock:
            judged[r.outcome.runner] += 1
            if judged["fast"] == len(SMALL):
                fast_done.set()

    recorder = Recorder(tmp_path / "results.json", CORPUS, backend="local")
    engine = Engine(_specs(gate), LocalBackend(), on_result=on_result)
    try:
        engine.launch()
        engine.record_to(recorder)  # after the launch, as `run` does once its corpus is loaded
        streaming = threading.Thread(target=engine.ensure, args=(SMALL,), daemon=True)
        streaming.start()
        assert fast_done.wait(60), "the fast runner waited for the slow one's start"
        slow = engine.runners["slow"]
        assert not slow.started.is_set() and judged["slow"] == 0  # still held at its gate: no hello yet
        with open(gate, "w") as f:  # let the slow runner start
            f.write("go\n")
        streaming.join(60)
        assert not streaming.is_alive()
    finally:
        engine.close()
    for name in ("fast", "slow"):
        st = engine.runners[name]
        assert st.unavailable is None, st.unavailable
        assert {r.judgement.verdict for r in st.results.values()} == {Verdict.PASS}
        assert set(st.results) == {v.key for v in SMALL}
    doc = recorder.document(complete=True)
    assert [r["name"] for r in doc["runners"]] == ["fast", "slow"]  # in the order asked for
    assert all("hello" in r and "start_s" in r["timings"] for r in doc["runners"])
    assert len(doc["outcomes"]) == 2 * len(SMALL)


def test_closing_while_a_runner_starts_leaves_it_unavailable_not_running(tmp_path):
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    engine = Engine(_specs(gate)[1:], LocalBackend())
    engine.launch()
    engine.close()  # its process is blocked before its hello: killed, and its start ends in a handshake error
    slow = engine.runners["slow"]
    assert slow.started.wait(30)
    assert slow.session is None and slow.unavailable  # never left running: killed, or never started


def test_prepare_still_waits_for_every_runner(tmp_path):
    engine = Engine([_specs(tmp_path / "unused")[0]], LocalBackend())
    try:
        engine.prepare()
        st = engine.runners["fast"]
        assert st.started.is_set() and st.session is not None and st.session.hello is not None
    finally:
        engine.close()

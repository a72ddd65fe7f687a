"""No container outlives its run: interrupted consumers, killed runners, SIGTERM, interpreter exit, close() twice."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from appauth_conformance.execution.backends.docker import LABEL, DockerBackend, client, remove_leftovers
from appauth_conformance.execution.session import Session

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def _many(sample, n=20000):
    return itertools.islice(itertools.cycle(sample), n)


def test_keyboard_interrupt_in_the_consumer_leaves_nothing(built, sample_vectors, session_containers):
    spec, _ = built["python-reference"]
    b = DockerBackend()
    seen = 0
    try:
        with pytest.raises(KeyboardInterrupt):
            with Session(spec, b) as s:
                for _o in s.run(_many(sample_vectors)):
                    seen += 1
                    if seen == 500:
                        assert len(session_containers(b.session)) == 1  # streaming, in its container
                        raise KeyboardInterrupt
    finally:
        b.close()
    assert seen == 500
    assert session_containers(b.session) == []
    b.close()  # twice is fine
    assert session_containers(b.session) == []


def test_abandoned_session_is_removed_by_close(built, sample_vectors, session_containers):
    """The consumer stops mid-stream without closing the session; the backend's close() still removes it."""
    spec, _ = built["js-reference"]
    b = DockerBackend()
    s = Session(spec, b)
    stream = s.run(_many(sample_vectors))
    for _ in range(100):
        next(stream)
    assert len(session_containers(b.session)) == 1
    b.close()
    assert session_containers(b.session) == []
    rest = list(itertools.islice(stream, 10))  # the session sees a killed runner, never hangs
    assert rest
    s.close()
    b.close()
    assert session_containers(b.session) == []


def test_runner_killed_mid_stream(built, sample_vectors, session_containers):
    """The engine kills the runner under the session: a fault for one vector, a restart, nothing left over."""
    spec, _ = built["cpp-reference"]
    api = client().api
    b = DockerBackend()
    try:
        with Session(spec, b, timeout=30) as s:
            outcomes = []
            for o in s.run(_many(sample_vectors, 30000)):
                outcomes.append(o)
                if len(outcomes) == 200:
                    api.kill(s._inc.proc.id)
        faults = [o for o in outcomes if o.fault]
        assert len(outcomes) == 30000
        assert 1 <= len(faults) <= 2 and s.restarts >= 1
        assert "status 137" in faults[0].fault or "SIGKILL" in faults[0].fault, faults[0].fault
    finally:
        b.close()
    assert session_containers(b.session) == []


# A harness process: one session of python-reference streaming vectors in a loop. The front doors
# (the CLI, the pytest plugin) call interrupt.install(); so does this stand-in for them.
HARNESS = textwrap.dedent(
    """
    import itertools, sys
    from appauth_conformance.execution import interrupt, variants
    from appauth_conformance.execution.backends.docker import DockerBackend
    from appauth_conformance.execution.session import Session
    from appauth_conformance.corpus.vectors import load
    interrupt.install()
    b = DockerBackend()
    spec = variants.variant("python-reference")
    vs = load(sys.argv[1]).vectors
    s = Session(spec, b)
    s.start()
    print(b.session, flush=True)
    if sys.argv[2] == "exit":  # leave without closing anything: only the exit hook can clean up
        sys.exit(0)
    with s:
        for i, o in enumerate(s.run(itertools.cycle(vs))):
            if i == 100:
                print("streaming", flush=True)  # the event the test waits for
    """
)


def _harness(sample_vectors, how: str) -> subprocess.Popen:
    vector_file = str((ROOT / sample_vectors[0].file).resolve())
    return subprocess.Popen(
        [sys.executable, "-c", HARNESS, vector_file, how],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_sigterm_removes_the_containers(built, sample_vectors, session_containers):
    """A harness process stopped with SIGTERM mid-run removes its containers on the way out."""
    p = _harness(sample_vectors, "stream")
    try:
        session = p.stdout.readline().strip()
        assert session, p.stderr.read()
        assert len(session_containers(session)) == 1
        assert p.stdout.readline().strip() == "streaming"  # mid-stream: 100 outcomes in
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    assert session_containers(session) == []
    remove_leftovers(session)


def test_interpreter_exit_removes_the_containers(built, sample_vectors, session_containers):
    """A harness process that exits with a session still open removes its container at exit."""
    p = _harness(sample_vectors, "exit")
    try:
        session = p.stdout.readline().strip()
        assert session, p.stderr.read()
        assert p.wait(60) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    assert session_containers(session) == []
    remove_leftovers(session)


def test_remove_leftovers(built, session_containers):
    _, tag = built["python-reference"]
    api = client().api
    b = DockerBackend()
    cid = api.create_container(**b.container_options(tag))["Id"]  # created, never started or tracked
    try:
        assert len(session_containers(b.session)) == 1
        assert remove_leftovers(session=b.session) == 1
        assert session_containers(b.session) == []
    finally:
        try:
            api.remove_container(cid, force=True)
        except Exception:
            pass
    assert api.containers(all=True, filters={"label": [LABEL, f"{LABEL}.session={b.session}"]}) == []

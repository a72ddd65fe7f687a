"""The attach-stream demultiplexer, against a socketpair: frames split anywhere, stdin half-close, exit status."""

from __future__ import annotations

import os
import random
import socket
import struct
import threading

import pytest

from appauth_conformance.execution.backends.docker.process import DockerProcess

pytestmark = [pytest.mark.docker, pytest.mark.docker_no_engine]


class _FakeAPI:
    def __init__(self, status):
        self.status = status

    def wait(self, cid, timeout=None):
        return {"StatusCode": self.status}

    def inspect_container(self, cid):
        return {"State": {"OOMKilled": False, "Running": False, "ExitCode": self.status}}


class _FakeBackend:
    """What a DockerProcess needs from its backend (process.Host)."""

    def __init__(self, status=0):
        self.api = _FakeAPI(status)
        self.removed = []

    def remove(self, cid):
        self.removed.append(cid)

    remove_later = remove


def _frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def _read_all(f) -> bytes:
    out = []
    while True:
        chunk = f.read(1 << 16)
        if not chunk:
            return b"".join(out)
        out.append(chunk)


def test_frames_split_anywhere_reach_the_right_pipe():
    rng = random.Random(7)
    ours, engine = socket.socketpair()
    proc = DockerProcess(_FakeBackend(3), "c0ffee", ours, "fake", "512m")
    proc.begin()
    want_out, want_err, wire = [], [], []
    for _i in range(3000):
        payload = rng.randbytes(rng.choice([0, 1, 7, 100, 5000, 70000]))
        stream = 1 if rng.random() < 0.8 else 2
        (want_out if stream == 1 else want_err).append(payload)
        wire.append(_frame(stream, payload))
    data = b"".join(wire)

    def engine_side():
        pos = 0
        while pos < len(data):  # awkward chunk sizes: headers and payloads split at random places
            step = rng.choice([1, 3, 8, 9, 4096, 65537])
            engine.sendall(data[pos : pos + step])
            pos += step
        engine.shutdown(socket.SHUT_WR)

    results = {}
    readers = [
        threading.Thread(target=lambda k=k, f=f: results.__setitem__(k, _read_all(f)))
        for k, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for t in readers:
        t.start()
    engine_side()
    for t in readers:
        t.join(30)
    assert results["out"] == b"".join(want_out)
    assert results["err"] == b"".join(want_err)
    assert proc.wait(10) == 3 and proc.describe_exit() == "exited with status 3"
    engine.close()


def test_stdin_writes_reach_the_socket_and_close_half_closes_it():
    ours, engine = socket.socketpair()
    proc = DockerProcess(_FakeBackend(0), "c0ffee", ours, "fake", "512m")
    proc.begin()
    proc.stdin.write(b'{"op":"hello","protocol":1}\n')
    proc.stdin.flush()
    proc.stdin.close()
    got = b""
    while True:
        chunk = engine.recv(4096)
        if not chunk:
            break  # EOF: the runner would exit now
        got += chunk
    assert got == b'{"op":"hello","protocol":1}\n'
    engine.sendall(_frame(1, b"bye\n"))  # the other direction still works after the half-close
    engine.shutdown(socket.SHUT_WR)
    assert _read_all(proc.stdout) == b"bye\n"
    assert proc.wait(10) == 0
    with pytest.raises(ValueError):
        proc.stdin.write(b"late")
    engine.close()


def test_a_closed_reader_does_not_block_the_other_stream():
    ours, engine = socket.socketpair()
    proc = DockerProcess(_FakeBackend(0), "c0ffee", ours, "fake", "512m")
    proc.begin()
    proc.stdout.close()  # the session went away from stdout
    big = os.urandom(1 << 16)
    for _ in range(64):  # far more than a pipe holds
        engine.sendall(_frame(1, big))
    engine.sendall(_frame(2, b"still here\n"))
    engine.shutdown(socket.SHUT_WR)
    assert _read_all(proc.stderr) == b"still here\n"
    assert proc.wait(10) == 0
    engine.close()

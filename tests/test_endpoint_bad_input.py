"""Bad input to the endpoint, table-driven (docs/endpoint.md, "Bad input"): each request gets its documented
status and a JSON error, the server keeps serving, and its terminal shows no traceback. One `serve` (plain
HTTP, so the bytes on the wire are exactly the table's) is started for the module and stopped with SIGTERM."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

APP_ID, KEY = "demo-app", "bad-input-k3y-0042"
PATH = "/v2/usg/acs/auth/appauth"


def _signed(nonce: str | None = None, **changes) -> tuple[str, bytes]:
    """A conforming Authorization value and body (a fresh nonce), with body `changes` after signing."""
    nonce = nonce or os.urandom(16).hex()
    expire = int(time.time()) + 600
    sig = hmac.new(KEY.encode(), f"{APP_ID}:alice:{expire}:{nonce}".encode(), hashlib.sha256).hexdigest()
    body = {"appId": APP_ID, "userId": "alice", "expireTime": expire, "nonce": nonce, "clientType": 72, **changes}
    access = base64.b64encode(APP_ID.encode()).decode()
    return f"HMAC-SHA256 signature={sig},access={access}", json.dumps(body).encode()


def _request(
    body: bytes, *, method="POST", path=PATH, version="HTTP/1.1", ctype="application/json", extra=b"", auth=None
):
    if auth is None:
        auth, _ = _signed()
    head = f"{method} {path} {version}\r\nHost: x\r\nContent-Type: {ctype}\r\nAuthorization: {auth}\r\n"
    return head.encode() + extra + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body


def _good(**kw) -> bytes:
    auth, body = _signed()
    return _request(body, auth=auth, **kw)


def _dup() -> bytes:
    auth, body = _signed()
    return _request(body, auth=auth, extra=f"Authorization: {auth}\r\n".encode())


def _truncated() -> bytes:
    return (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n".encode()
        + b'{"appId":'
    )


def _start(tmp: Path) -> dict:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "serve",
            "--http",
            "--app",
            f"{APP_ID}={KEY}",
            "--body-timeout",
            "1",
            "--report-dir",
            str(tmp / "out"),
        ],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # waits for the event: "serving http://127.0.0.1:PORT/..."
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    assert m, line
    return {"port": int(m.group(1)), "proc": proc, "dir": tmp}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state = _start(tmp_path_factory.mktemp("served"))
    yield state
    proc = state["proc"]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err  # after every case of the table


def _send(port: int, raw: bytes, *, shut: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(raw)
        if shut:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _answers(raw: bytes) -> list[tuple[int, dict]]:
    out = []
    for m in re.finditer(rb"HTTP/1\.[01] (\d{3}) [^\r]*\r\n(.*?)\r\n\r\n", raw, re.S):
        length = int(re.search(rb"(?i)content-length: (\d+)", m.group(2)).group(1))
        start = m.end()
        out.append((int(m.group(1)), json.loads(raw[start : start + length])))
    return out


CASES = [  # id, request bytes (or a maker), status, the named mistake or error text in the JSON answer
    ("malformed-json", lambda: _request(b'{"appId": '), 400, "body-not-json"),
    ("non-utf8-json", lambda: _request(b'{"appId": "\xff\xfe"}'), 400, "body-not-json"),
    ("array-body", lambda: _request(b"[1, 2]"), 400, "body-not-object"),
    ("scalar-body", lambda: _request(b"42"), 400, "body-not-object"),
    ("wrong-content-type", lambda: _good(ctype="application/x-www-form-urlencoded"), 200, "content-type-not-json"),
    ("body-over-limit", lambda: _request(b"{" + b" " * 70000 + b"}"), 413, "request body over"),
    ("head-over-limit", lambda: _good(extra=b"X-Big: " + b"a" * 20000 + b"\r\n"), 431, "request head over"),
    (  # a head still arriving: refused as it grows, not left to time out (408)
        "unfinished-head-over-limit",
        lambda: f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-Big: ".encode() + b"a" * 40000,
        431,
        "request head over",
    ),
    ("unknown-app", lambda: _request(json.dumps({"appId": "nobody", "nonce": "n" * 32}).encode()), 401, "app-unknown"),
    ("duplicate-header", _dup, 401, "header-duplicated"),
    ("http-1.0", lambda: _good(version="HTTP/1.0"), 200, None),
    ("unknown-path", lambda: _good(path="/v1/nothing/here"), 404, "nothing is served"),
    ("unknown-method", lambda: _good(method="DELETE"), 405, "method-not-post"),
    ("method-not-served-elsewhere", lambda: _good(method="PATCH", path="/v1/usg/acs/token"), 405, "is not served"),
    ("garbage-request-line", lambda: b"HELLO\r\n\r\n", 400, "not a valid HTTP/1.1 request"),
]


@pytest.mark.parametrize("name, make, status, named", CASES, ids=[c[0] for c in CASES])
def test_bad_input_answer(served, name, make, status, named):
    [(got, doc)] = _answers(_send(served["port"], make()))
    assert got == status, doc
    assert "error_code" in doc or "accessToken" in doc
    if named:
        assert named in json.dumps(doc)
    assert KEY not in json.dumps(doc)


def test_truncated_body_and_slow_client_time_out_others_unaffected(served):
    port = served["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        slow.sendall(_truncated())  # promises 500 bytes, sends 9, then waits
        [(ok, doc)] = _answers(_send(port, _good()))  # another client meanwhile: answered at once
        assert ok == 200 and "accessToken" in doc
        chunks = []
        while chunk := slow.recv(65536):  # the slow one: 408 when its body timeout passes, then closed
            chunks.append(chunk)
    [(got, doc)] = _answers(b"".join(chunks))
    assert got == 408 and "not received within" in doc["error_msg"]


def test_stalled_request_head_times_out_others_unaffected(served):
    port = served["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        slow.sendall(f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Ty".encode())  # a head that never ends
        [(ok, _)] = _answers(_send(port, _good()))
        assert ok == 200
        chunks = []
        while chunk := slow.recv(65536):
            chunks.append(chunk)
    [(got, doc)] = _answers(b"".join(chunks))
    assert got == 408 and "request head not received" in doc["error_msg"]


def test_pipelined_requests_each_answered(served):
    first = _good().replace(b"Connection: close\r\n", b"")
    answers = _answers(_send(served["port"], first + _good()))
    assert [s for s, _ in answers] == [200, 200]


def test_keeps_serving_then_clean_stop(tmp_path):
    """After bad input the server still answers; on SIGTERM it writes results.json marked incomplete (bad
    requests recorded as failing), frees its port and prints no traceback."""
    served = _start(tmp_path)
    for _, make, _, _ in CASES:
        _send(served["port"], make())
    [(ok, _)] = _answers(_send(served["port"], _good()))
    assert ok == 200
    proc = served["proc"]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    doc = json.loads((served["dir"] / "out" / "results.json").read_text())
    assert doc["complete"] is False
    verdicts = [o["verdict"] for o in doc["outcomes"]]
    assert verdicts.count("pass") >= 2 and verdicts.count("fail") >= 6, verdicts
    assert KEY not in out + err + json.dumps(doc)
    with socket.socket() as s:  # no listener is left (SO_REUSEADDR: the closed connections' TIME_WAIT is no listener)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", served["port"]))

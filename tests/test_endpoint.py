"""The verifying endpoint (`appauth-conformance serve`, docs/endpoint.md): real clients judged over HTTP(S).

Every test runs the installed command in a subprocess, as a team would, and reads what it wrote."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "tests" / "fixtures" / "endpoint" / "client.py"
APP_ID, KEY = "demo-app", "k3y-Never-Shown-4711"
CLI = [sys.executable, "-m", "appauth_conformance.frontends.cli", "serve"]


def _serve(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "--app", f"{APP_ID}={KEY}", "--report-dir", str(tmp_path / "out"), *args],
        cwd=tmp_path,
        env={**os.environ, "APP_ID": APP_ID, "APP_KEY": KEY, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _outcomes(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "out" / "results.json").read_text())["outcomes"]


def _no_key_anywhere(tmp_path: Path, r: subprocess.CompletedProcess) -> None:
    assert KEY not in r.stdout + r.stderr
    for f in (tmp_path / "out").iterdir():
        assert KEY not in f.read_text(encoding="utf-8"), f"the app key leaked into {f.name}"


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
def test_curl_client_conforms(tmp_path):
    r = _serve(tmp_path, "--", "sh", str(ROOT / "examples" / "clients" / "curl.sh"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "accessToken" in r.stdout  # the client got its token over HTTPS, trusting the run's CA
    [o] = _outcomes(tmp_path)
    assert o["verdict"] == "pass" and o["runner"] == f"endpoint:{APP_ID}"
    _no_key_anywhere(tmp_path, r)


@pytest.mark.parametrize(
    "command, mistake",
    [
        ("{py} {client} reuse 2", "token-reused"),
        ("{py} {client} seeded 2; {py} {client} seeded 2", "nonce-repeats-per-process"),
        ("{py} {client} millis 1", "expire-in-milliseconds"),
        ("{py} {client} text 1", "body-expire-time-text"),
    ],
)
def test_client_mistake_named(tmp_path, command, mistake):
    line = command.format(py=sys.executable, client=CLIENT)
    r = _serve(tmp_path, "--", "sh", "-c", line)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"[{mistake}]" in r.stdout  # the terminal names it
    found = [d for o in _outcomes(tmp_path) for c in o.get("checks", []) for d in c.get("diagnosis", [])]
    assert mistake in found
    assert mistake in (tmp_path / "out" / "report.html").read_text()
    _no_key_anywhere(tmp_path, r)


def test_conforming_python_client_passes_and_state_spans_runs(tmp_path):
    state = tmp_path / "state.db"
    first = _serve(tmp_path, "--http", "--state", str(state), "--", sys.executable, str(CLIENT), "seeded", "2")
    assert first.returncode == 0, first.stdout + first.stderr  # one process alone repeats nothing
    assert state.read_bytes().startswith(b"SQLite format 3\x00")  # the file is the database, nothing beside it
    assert not list(tmp_path.glob("state.db-*"))
    again = _serve(tmp_path, "--http", "--state", str(state), "--", sys.executable, str(CLIENT), "seeded", "2")
    assert again.returncode == 1 and "[nonce-repeats-per-process]" in again.stdout  # remembered across runs
    verdicts = [
        (o["verdict"], [d for c in o.get("checks", []) for d in c.get("diagnosis", [])]) for o in _outcomes(tmp_path)
    ]
    assert verdicts == [("fail", ["nonce-repeats-per-process"])] * 2  # both of the first run's nonces, seen again
    fresh = _serve(tmp_path, "--http", "--state", str(state), "--", sys.executable, str(CLIENT), "none", "2")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr  # new nonces pass, the state file notwithstanding


def test_never_called_and_failed_command(tmp_path):
    r = _serve(tmp_path, "--", sys.executable, "-c", "pass")
    assert r.returncode == 1 and "no request reached the endpoint" in r.stderr
    r = _serve(tmp_path, "--", sys.executable, str(CLIENT), "none", "1", "extra-arg-ignored")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _serve(tmp_path, "--", sh_fail := "false")
    assert r.returncode == 1 and f"{sh_fail}" in r.stderr and "failed (exit 1)" in r.stderr


def test_known_divergence_by_diagnosis_passes_the_gate(tmp_path):
    listing = tmp_path / "divergences.yaml"
    listing.write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "  - diagnosis: body-expire-time-text\n    reason: our client sends expireTime as text (ticket 12)\n"
    )
    r = _serve(tmp_path, "--divergences", str(listing), "--", sys.executable, str(CLIENT), "text", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [o["verdict"] for o in _outcomes(tmp_path)] == ["known-divergence"]


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "no app declared"),
        (["--app", "only-an-id"], "expected APP_ID=KEY"),
        (["--app", "a=b", "--port", "70000"], "--port"),
        (["--app", "a=b", "--host", "not an address"], "--host"),
        (
            [
                "--app",
                "a=b",
                "--",
            ],
            "nothing after `--`",
        ),
        (["--app", "a=b", "--", "/no/such/client"], "cannot start"),
    ],
)
def test_bad_options_exit_2(tmp_path, args, message):
    r = subprocess.run(
        [*CLI, "--report-dir", str(tmp_path / "out"), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_serve_results_merge_beside_a_run_and_compare(tmp_path):
    """`report merge` joins a serve run's results with a reference run's (one document holds both);
    `report compare` sees a client's new failure as a regression."""
    cli = [sys.executable, "-m", "appauth_conformance.frontends.cli"]
    good = _serve(
        tmp_path, "--http", "--report-dir", str(tmp_path / "good"), "--", sys.executable, str(CLIENT), "none", "1"
    )
    bad = _serve(
        tmp_path, "--http", "--report-dir", str(tmp_path / "bad"), "--", sys.executable, str(CLIENT), "text", "1"
    )
    assert (good.returncode, bad.returncode) == (0, 1), good.stderr + bad.stderr
    ran = subprocess.run(
        [
            *cli,
            "run",
            "--lang",
            "python",
            "--vectors",
            str(ROOT / "tests" / "fixtures" / "vectors" / "small.yaml"),
            "--report-dir",
            str(tmp_path / "run"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    merged = subprocess.run(
        [
            *cli,
            "report",
            "merge",
            str(tmp_path / "run" / "results.json"),
            str(tmp_path / "bad" / "results.json"),
            "--out",
            str(tmp_path / "merged"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert merged.returncode == 0, merged.stdout + merged.stderr
    doc = json.loads((tmp_path / "merged" / "results.json").read_text())
    runners = {o["runner"] for o in doc["outcomes"]}
    assert f"endpoint:{APP_ID}" in runners and any(r.startswith("python") for r in runners), runners
    assert "body-expire-time-text" in (tmp_path / "merged" / "report.html").read_text()
    compared = subprocess.run(
        [*cli, "report", "compare", str(tmp_path / "good" / "results.json"), str(tmp_path / "bad" / "results.json")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compared.returncode == 1 and "NEW FAILURE" in compared.stdout, compared.stdout


def test_sigterm_during_the_command_stops_it_and_never_passes(tmp_path):
    """SIGTERM while the client runs: the client's process group is stopped (no orphan), results.json is
    written marked incomplete, the exit is 130 even though every request so far conformed."""
    blocking = (
        f"import os, runpy, sys, time; sys.argv = ['client', 'none', '1']; runpy.run_path({str(CLIENT)!r}); "
        "print('called', os.getpid(), flush=True); time.sleep(600)"
    )
    proc = subprocess.Popen(
        [*CLI, "--app", f"{APP_ID}={KEY}", "--report-dir", str(tmp_path / "out"), "--", sys.executable, "-c", blocking],
        cwd=tmp_path,
        env={**os.environ, "APP_ID": APP_ID, "APP_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while not line.startswith("called"):  # the client's own output first (its answer), then its pid
        assert line, proc.stderr.read() if proc.stderr else ""
        line = proc.stdout.readline()
    client_pid = int(line.split()[1])
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["complete"] is False and [o["verdict"] for o in doc["outcomes"]] == ["pass"]
    with pytest.raises(ProcessLookupError):  # the client is gone (reaped by serve: no zombie either)
        os.kill(client_pid, 0)


def test_non_loopback_host_is_warned_about(tmp_path):
    r = _serve(tmp_path, "--host", "0.0.0.0", "--", sys.executable, "-c", "pass")
    assert "warning: serving on 0.0.0.0, not a loopback address" in r.stderr
    assert r.returncode == 1 and "no request reached the endpoint" in r.stderr  # the client never called

"""Bad input ends in one clear message and exit code 2, never a traceback; interruption stops every
runner and leaves a valid, incomplete results.json; no secret from the environment reaches a report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FAULT = HERE / "fixtures" / "runners" / "fault_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"
BROKEN = HERE / "fixtures" / "broken"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BAD_INPUT = {
    "malformed vector file": (["run", "--vectors", str(BROKEN / "yaml-syntax")], ["a.yaml:20:", "YAML syntax"]),
    "schema violation": (
        ["run", "--vectors", str(BROKEN / "bad-mode")],
        ["vector broken-001: mode:", "enterprise_user"],
    ),
    "unknown --lang": (["run", "--lang", "cobol"], ["unknown runner 'cobol' in --lang", "--runner NAME=COMMAND"]),
    "bad --runner, no name": (["run", "--runner", "=node x.js"], ["expected NAME=COMMAND"]),
    "bad --runner, unbalanced quote": (["run", "--runner", "x=node 'x.js"], ["cannot split the command"]),
    "missing vectors path": (
        ["run", "--vectors", "/nonexistent/vectors"],
        ["/nonexistent/vectors", "no such file or folder"],
    ),
    "runner command does not exist": (
        ["run", "--lang", "ghost", "--runner", "ghost=/nonexistent/signer", "--vectors", str(SMALL)],
        ["ghost: cannot start `/nonexistent/signer`", "No such file or directory"],
    ),
    "missing results file": (
        ["report", "compare", "/nonexistent/old.json", "/nonexistent/new.json"],
        ["/nonexistent/old.json"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_clear_message_and_exit_2(case, tmp_path, run_cli):
    args, parts = BAD_INPUT[case]
    r = run_cli(*args, "--report-dir", str(tmp_path)) if args[0] == "run" else run_cli(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    for part in parts:
        assert part in r.stderr, r.stderr


def test_empty_or_unreadable_vector_paths(tmp_path, run_cli):
    (tmp_path / "empty").mkdir()
    r = run_cli("run", "--vectors", str(tmp_path / "empty"), "--report-dir", str(tmp_path))
    assert r.returncode == 2 and "no .yaml vector files" in r.stderr
    (tmp_path / "dir.yaml").mkdir()  # a path that cannot be read as a file, even by root
    (tmp_path / "dir.yaml" / "x.yaml").write_bytes(b"\xff\xfe not utf-8")
    r = run_cli("run", "--vectors", str(tmp_path / "dir.yaml"), "--report-dir", str(tmp_path))
    assert r.returncode == 2 and "x.yaml: cannot read" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[tool.appauth-conformance.runners.x\n", "TOML syntax"),
        (
            '[tool.appauth-conformance.runners.x]\ncommand = "node signer.js"\n',
            "must be a non-empty list of strings (argv, never a shell string)",
        ),
        ('[tool.appauth-conformance.runners.x]\ncommand = ["node"]\nshell = true\n', "unknown key(s) ['shell']"),
        ('[tool.appauth-conformance.runners.x]\ncommand = ["node"]\nworkdir = "nope"\n', "workdir"),
    ],
)
def test_bad_declarations_in_pyproject(tmp_path, toml, message, run_cli):
    write(tmp_path / "pyproject.toml", toml)
    r = run_cli("run", "--lang", "all", "--vectors", str(SMALL), "--report-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "pyproject.toml" in r.stderr


def test_no_docker_engine_is_a_clear_error(tmp_path, run_cli):
    r = run_cli(
        "run",
        "--backend",
        "docker",
        "--vectors",
        str(SMALL),
        "--report-dir",
        str(tmp_path),
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "--backend=local" in r.stderr


def _runner_pids(tag: str) -> list[int]:
    # anchored on the runner's own argv: the harness's argv mentions the tag too
    pattern = rf"^[^ ]*python[^ ]* [^ ]*fault_runner\.py slow 20 {tag}"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out if int(p) != os.getpid()]


def _start_slow(cmd_prefix, tmp_path, tag, progress=None):
    return subprocess.Popen(
        [
            *cmd_prefix,
            "--vectors",
            str(HERE.parent / "vectors"),
            "--report-dir",
            str(tmp_path),
            "--lang",
            "slowpoke",
            "--runner",
            f"slowpoke={sys.executable} {FAULT} slow 20 {tag}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FAULT_RUNNER_PROGRESS": str(progress)} if progress else None,
    )


def _wait_for(event, what: str, seconds: float = 60) -> None:
    """Poll for an event (a file's content, a process list) until it happens or the deadline passes."""
    deadline = time.monotonic() + seconds
    while not event():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _answered(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize("how", ["cli-SIGINT", "cli-SIGTERM", "pytest-SIGTERM"])
def test_interruption_stops_runners_and_keeps_what_was_measured(tmp_path, how, load_results):
    tag = f"interrupt-{uuid.uuid4().hex}"
    prefix = (
        [sys.executable, "-m", "appauth_conformance.frontends.cli", "run"]
        if how.startswith("cli")
        else [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), str(tmp_path)]
    )
    progress = tmp_path / "answered"
    p = _start_slow(prefix, tmp_path, tag, progress)
    _wait_for(lambda: _answered(progress) >= 50, "the runner to answer 50 requests")  # of 348, 20 ms each
    p.send_signal(signal.SIGINT if how.endswith("SIGINT") else signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0, out + err
    assert "Traceback" not in err, err
    _wait_for(lambda: _runner_pids(tag) == [], "every runner process to be gone", 10)  # reaped by now, or a leak
    assert (tmp_path / "results.json").exists(), out + err
    doc = load_results(tmp_path)
    assert doc["complete"] is False
    assert 0 < len(doc["outcomes"]) < doc["corpus"]["vector_count"]
    assert all(o["verdict"] == "pass" for o in doc["outcomes"])


def test_no_secret_from_the_environment_reaches_a_report(tmp_path, run_cli):
    secret = "s3cr3t-" + uuid.uuid4().hex
    r = run_cli(
        "run",
        "--lang",
        "leaky",
        "--runner",
        f"leaky={sys.executable} {FAULT} env 0",
        "--vectors",
        str(SMALL),
        "--report-dir",
        str(tmp_path),
        env={"MY_API_TOKEN": secret},
    )
    assert r.returncode == 1
    files = [tmp_path / "results.json", *tmp_path.glob("report.*")]
    assert len(files) >= 2
    for f in files:
        assert secret not in f.read_text(), f
    assert "MY_API_TOKEN" in (tmp_path / "results.json").read_text()  # the stderr tail is kept, redacted

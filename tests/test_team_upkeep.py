"""A team's first week (issue 21): known-divergence upkeep that cannot fake a green gate, fix commands
that run as printed, faults grouped by cause, and a CLI that explains as pytest does.

Each test runs the CLI or pytest in a team folder of its own (tmp_path), as a team would."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from appauth_conformance.core.errors import ProtocolError
from appauth_conformance.execution import options as cfg
from appauth_conformance.formats import protocol

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MUTANT = FIXTURES / "mutants" / "mutant_signer.py"
FAULTY = FIXTURES / "runners" / "fault_runner.py"
CLI = [sys.executable, "-m", "appauth_conformance.frontends.cli"]
HEAD = "schema: appauth-conformance/known-divergences/1\ndivergences:\n"


def team(tmp_path: Path, mistake: str, divergences: str = HEAD + "  []\n", language: str = "python") -> Path:
    """A team folder: its signer (the mutant with one mistake) declared as `ours`, with its list."""
    root = tmp_path / "team"
    root.mkdir(exist_ok=True)
    (root / "ours.yaml").write_text(divergences)
    command = json.dumps([sys.executable, str(MUTANT), mistake])
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "team"\n\n[tool.appauth-conformance.runners.ours]\ncommand = {command}\n'
        f'divergences = "ours.yaml"\nlanguage = "{language}"\n'
    )
    return root


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def gate(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "--report-dir=out", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def entries(root: Path) -> list[dict]:
    return yaml.safe_load((root / "ours.yaml").read_text())["divergences"]


def printed_commands(text: str) -> list[list[str]]:
    """Every `appauth-conformance ...` command a message prints between backticks, as argv."""
    return [shlex.split(c) for c in re.findall(r"`(appauth-conformance [^`]+)`", text)]


def run_printed(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    assert argv[0] == "appauth-conformance"
    return cli(cwd, *argv[1:])


# -- divergences update never writes a reason that passes ------------------------------------------------


def test_update_without_a_reason_writes_todo_entries_that_fail_every_run_until_written(tmp_path):
    root = team(tmp_path, "hex-unpadded")
    r = cli(root, "divergences", "update", "--lang", "ours")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "with reason TODO" in r.stdout and "placeholder reason TODO" in r.stderr
    added = entries(root)
    assert added and all(e["reason"].startswith("TODO") for e in added)
    # the gate stays red: the CLI (exit 1, the row says why) and pytest both name the entries
    r = cli(root, "run", "--lang=ours", "--report-dir=out")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "have no reason yet" in r.stderr and "ours.yaml:" in r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("ours "))
    assert "FAIL" in row and "TODO reason" in row, row
    r = gate(root, "--lang=ours")
    assert r.returncode == 1 and "no reason yet" in r.stdout, r.stdout[-3000:]
    # --reason writes the TODOs of the entries still true: then it is green
    r = cli(root, "divergences", "update", "--lang", "ours", "--reason", "our signer drops leading zeros")
    assert r.returncode == 0, r.stdout + r.stderr
    assert {e["reason"] for e in entries(root)} == {"our signer drops leading zeros"}
    assert cli(root, "run", "--lang=ours", "--report-dir=out").returncode == 0


def test_a_reason_per_vector_and_one_for_the_rest_and_a_reason_that_names_nothing(tmp_path):
    root = team(tmp_path, "hex-unpadded")
    before = (root / "ours.yaml").read_text()
    r = cli(root, "divergences", "update", "--lang", "ours", "--reason", "no-such-vector=why")
    assert r.returncode == 2 and "names no entry being added" in r.stderr, r.stderr
    assert (root / "ours.yaml").read_text() == before  # nothing written
    # which vectors fail: the first gets its own reason, the others the general one
    cli(root, "divergences", "update", "--lang", "ours")
    first = sorted(e["match"] for e in entries(root))[0]
    (root / "ours.yaml").write_text(before)
    r = cli(root, "divergences", "update", "--lang", "ours", "--reason", f"{first}=its own", "--reason", "the rest")
    assert r.returncode == 0, r.stderr
    reasons = {e["match"]: e["reason"] for e in entries(root)}
    assert reasons[first] == "its own" and set(reasons.values()) == {"its own", "the rest"}
    r = cli(root, "divergences", "update", "--lang", "ours", "--reason", "TODO later")
    assert r.returncode == 2 and "give the reason itself" in r.stderr


def test_update_help_says_which_file_it_rewrites_and_what_it_adds_and_removes():
    r = subprocess.run([*CLI, "divergences", "update", "--help"], capture_output=True, text=True, timeout=60)
    text = " ".join(r.stdout.split())
    for words in ("--reason", "known-divergence file", "removes the entries that excused nothing", "TODO", "adds"):
        assert words in text, words


# -- an unknown name is a usage error, never "stale" -----------------------------------------------------


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            "  - diagnosis: uncarried-slot-dropped\n    reason: r\n",
            "unknown diagnosis id 'uncarried-slot-dropped'; did you mean 'uncarried-slots-dropped'",
        ),
        ("  - diagnosis: hex-uppercase+hex-unpaded\n    reason: r\n", "did you mean 'hex-unpadded'"),
        ("  - flag: high-surogate\n    reason: r\n", "unknown flag 'high-surogate'; did you mean 'high-surrogate'"),
        ("  - flag: x\n    stage: signatur\n    reason: r\n", "unknown stage 'signatur'; did you mean 'signature'"),
    ],
)
def test_an_unknown_diagnosis_flag_or_stage_is_a_usage_error_and_update_keeps_the_file(tmp_path, entry, message):
    root = team(tmp_path, "correct", HEAD + entry)
    before = (root / "ours.yaml").read_text()
    r = cli(root, "run", "--lang=ours", "--report-dir=out")
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "stale" not in r.stderr and "Traceback" not in r.stderr
    r = cli(root, "divergences", "update", "--lang", "ours")
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert (root / "ours.yaml").read_text() == before
    r = gate(root, "--lang=ours")
    assert r.returncode == 2 and message in r.stdout + r.stderr, r.stdout[-2000:] + r.stderr[-2000:]


# -- every fix command runs as printed -------------------------------------------------------------------


def test_the_stale_list_command_runs_as_printed_with_the_runs_own_arguments(tmp_path):
    """A runner given with --runner and its list with --divergences: the printed update command carries
    both (shell-quoted: the command has spaces), rewrites the list, and the same run is green after."""
    root = tmp_path / "flags dir"
    root.mkdir()
    (root / "mine list.yaml").write_text(HEAD + "  - diagnosis: hex-uppercase\n    reason: we thought so\n")
    given = ["--runner", f"mine={shlex.quote(sys.executable)} {shlex.quote(str(MUTANT))} correct"]
    given += ["--divergences", "mine=mine list.yaml"]
    r = cli(root, "run", "--lang=mine", "--report-dir=out", *given)
    assert r.returncode == 1, r.stdout + r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("mine "))
    assert "FAIL" in row and "stale list" in row, row  # the table agrees with the exit code
    (command,) = printed_commands(r.stderr)
    done = run_printed(command, root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert yaml.safe_load((root / "mine list.yaml").read_text())["divergences"] == []
    assert cli(root, "run", "--lang=mine", "--report-dir=out", *given).returncode == 0
    # pytest prints the same command for the same list: it runs as printed too
    (root / "mine list.yaml").write_text(HEAD + "  - diagnosis: hex-uppercase\n    reason: we thought so\n")
    g = gate(root, "--lang=mine", *given)
    assert g.returncode == 1, g.stdout[-3000:]
    commands = printed_commands(g.stdout)
    assert commands and all(c == commands[0] for c in commands)
    assert run_printed(commands[0], root).returncode == 0
    assert gate(root, "--lang=mine", *given).returncode == 0


def test_the_vectors_fill_command_runs_as_printed(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "schema: appauth-conformance/vectors/1\ndescription: our vectors\nnotes: {}\nvectors:\n"
        "  - id: mine-001\n    description: one vector of our own\n    mode: single\n    inputs:\n"
        "      app_id: app\n      corp_id: ''\n      user_id: u\n      expire_time: 1604020600\n"
        "      nonce: '0123456789abcdef0123456789abcdef'\n      app_key: k\n    result: valid\n    flags: []\n"
    )
    r = cli(tmp_path, "run", "--lang=python", "--vectors", "mine.yaml", "--report-dir=out")
    assert r.returncode == 2, r.stdout + r.stderr
    commands = printed_commands(r.stderr)
    fills = [c for c in commands if c[1:3] == ["vectors", "fill"]]
    assert fills and all(c[3] == "mine.yaml" for c in fills), commands
    assert run_printed(fills[0], tmp_path).returncode == 0
    checks = [c for c in commands if c[1:3] == ["vectors", "check"]]
    assert checks and run_printed(checks[0], tmp_path).returncode == 0


# -- faults grouped by cause -----------------------------------------------------------------------------


def test_a_crashing_runner_is_one_problem_not_one_per_restart(tmp_path, load_results):
    runner = f"crashy={shlex.quote(sys.executable)} {shlex.quote(str(FAULTY))} crash 5"
    r = cli(tmp_path, "run", "--lang=crashy", "--report-dir=out", "--runner", runner)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = load_results(tmp_path / "out")
    faults = [o for o in doc["outcomes"] if o["verdict"] == "runner-fault"]
    assert len(faults) > 10 and len({o["fault"] for o in faults}) > 1  # restarts with different texts
    groups = [line for line in r.stdout.splitlines() if "RUNNER FAULT x" in line]
    assert len(groups) == 1 and f"RUNNER FAULT x{len(faults)} (exit status: status 3)" in groups[0], groups
    assert "first request" in r.stdout and "last lines of its stderr" in r.stdout
    assert "fault crash at request 5" in r.stdout  # the runner's own last words
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.count("**RUNNER FAULT**") == 1 and "last lines of its stderr" in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="faults"' in html and "exit status: status 3" in html
    # pytest: one full explanation for the group, one line for each other fault
    g = gate(tmp_path, "--lang=crashy", "--runner", runner)
    assert g.returncode == 1
    # the failures section (pytest's closing summary repeats each failure's first lines, whole under CI=true)
    failures = g.stdout.split("short test summary info")[0]
    assert failures.count("RUNNER FAULT (exit status: status 3)") == 1, g.stdout[-3000:]


def test_a_reply_that_breaks_the_schema_names_the_field_and_the_rule():
    assert protocol.check_token_response(
        {"seq": 1, "nonce": "n" * 32, "expire_time": 1796187713.5, "signature": "ab" * 32}
    ).startswith("expire_time: 1796187713.5 is not an integer")
    assert protocol.check_response({"seq": 1, "signature": 12345}) == "signature: 12345 is not a string"
    assert protocol.check_response({"seq": 1}) == "signature: missing (required)"
    assert protocol.check_response({"seq": 1, "error": {"type": "E"}}) == "error/message: missing (required)"
    assert protocol.check_response({"seq": 1, "signature": "ab", "sig": 1}) == "sig: not a field of this message"


def test_schema_faults_group_by_field(tmp_path):
    runner = f"typo={shlex.quote(sys.executable)} {shlex.quote(str(FAULTY))} wrong-type @"  # every user id with @
    r = cli(tmp_path, "run", "--lang=typo", "--report-dir=out", "--runner", runner)
    assert r.returncode == 1
    groups = [line for line in r.stdout.splitlines() if "RUNNER FAULT x" in line]
    assert len(groups) == 1 and "(schema violation: signature)" in groups[0], groups
    assert "signature: 12345 is not a string" in groups[0]


def test_a_line_on_stdout_that_is_not_json_says_what_stdout_is_for():
    line = b"Starting signer v1.2 \x1b[31m" + b"x" * 300
    with pytest.raises(ProtocolError) as e:
        protocol.decode_line(line)
    msg = str(e.value)
    assert "stdout carries protocol lines only" in msg and "stderr" in msg and "the hello first" in msg
    assert "'Starting signer v1.2 " in msg and f"… ({len(line)} bytes)" in msg  # its start, cut with its length
    assert "b'" not in msg  # no Python bytes repr


# -- run explains as pytest does ---------------------------------------------------------------------------


def test_run_explains_the_first_failure_of_each_kind_in_full_and_every_one_with_v(tmp_path, load_results):
    root = team(tmp_path, "hex-unpadded")
    r = cli(root, "run", "--lang=ours,python", "--report-dir=out")
    assert r.returncode == 1
    kinds = [line for line in r.stdout.splitlines() if line.startswith("  FAIL x")]  # the summary's groups
    assert len(kinds) == r.stdout.count("FAILED at stage: signature") == 2, r.stdout[:3000]
    assert r.stdout.count("  probable mistake: hex-unpadded") == 2
    assert "first difference at char" in r.stdout and "other runners:" in r.stdout and "python-reference" in r.stdout
    assert "-v explains every one" in r.stdout
    doc = load_results(root / "out")
    failing = [o for o in doc["outcomes"] if o["runner"] == "ours" and o["verdict"] == "fail"]
    v = cli(root, "run", "--lang=ours,python", "--report-dir=out", "-v")
    assert v.stdout.count("FAILED at stage: signature") == len(failing) > 2


# -- --lang LANGUAGE ------------------------------------------------------------------------------------------


def test_lang_js_selects_the_js_reference_and_every_declared_js_runner(tmp_path):
    root = team(tmp_path, "correct", language="js")
    opts = cfg.Options(lang="js", config=root / "pyproject.toml")
    assert [s.name for s in cfg.select_runners(opts)] == ["js-reference", "ours"]
    assert [s.name for s in cfg.select_runners(cfg.Options(lang="js-reference", config=root / "pyproject.toml"))] == [
        "js-reference"
    ]
    assert "every declared runner of that language" in " ".join(cli(root, "run", "--help").stdout.split())

"""Every option of every command, given a bad value: one message naming it, exit 2, no traceback.

The table is checked against the argument parsers themselves (`test_every_option_has_a_bad_input_case`):
a new option without a case here fails the suite. The plugin's options (the shared ones) are run
through pytest too, where a bad value exits 2 the same way; only what pytest's own argument parser
refuses before the plugin sees it (a value given to a flag) is pytest's usage error, exit 4.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance.frontends import cli

HERE = Path(__file__).resolve().parent
SMALL = str(HERE / "fixtures" / "vectors" / "small.yaml")
PUBLISHED = str(HERE.parent / "reports" / "results.json")  # a valid results.json


def _actions(p: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every option and argument of every command (argparse has no public walk; the tests must follow
    the real parsers)."""
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                yield from _actions(sub, (*path, name))
        elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)):
            yield path, a


OPTIONS = sorted(
    {(" ".join(path), a.option_strings[0] if a.option_strings else a.dest) for path, a in _actions(cli.parser())}
)

# The shared options (config.add_options): each bad value, and what the message must say. ARGPARSE: refused
# by the argument parser itself (exit 2 from the CLI, pytest's usage error 4 from pytest).
ARGPARSE = "argparse"
SHARED = {
    "--lang": (["--lang", " "], "--lang: the value is empty"),
    "--runner": (["--runner", "=node signer.js"], "expected NAME=COMMAND"),
    "--divergences": (["--divergences", "mine"], "expected NAME=PATH"),
    "--config": (["--config", "{tmp}/missing.toml"], "--config: {tmp}/missing.toml: no such file"),
    "--backend": (["--backend", "kubernetes"], "--backend: 'kubernetes' is not one of local, docker"),
    "--require-all": (["--require-all=yes"], ARGPARSE),
    "--timeout": (["--timeout", "-1"], "--timeout: '-1' is not a number of seconds from 0.01 to 3,600"),
    "--matrix": (["--matrix"], "--matrix: the version variants run in Docker"),
    "--base-image": (["--backend", "docker", "--base-image", " "], "--base-image: the value is empty"),
    "--ca-bundle": (["--backend", "docker", "--ca-bundle", "{tmp}"], "--ca-bundle: {tmp} is a folder"),
    "--vectors": (["--vectors", "{tmp}/none.yaml"], "none.yaml: no such file or folder"),
    "--report-dir": (["--report-dir", "{tmp}/a-file"], "--report-dir: {tmp}/a-file is a file, not a folder"),
    "--token-window": (["--token-window", "0"], "--token-window: '0' is not a whole number"),
    "--allow-never-expires": (["--allow-never-expires=1"], ARGPARSE),
    "--shard": (["--shard", "4/3"], "--shard: '4/3' is not K/N"),
    "--docker-host": (["--backend", "docker", "--docker-host", "10.0.0.5:2375"], "is not an engine address"),
    "--cpus": (["--backend", "docker", "--cpus", "0"], "--cpus: '0' is not a number of cores from 0.01"),
    "--container-lifetime": (
        ["--backend", "docker", "--container-lifetime", "forever"],
        "--container-lifetime: 'forever' is not a number of seconds from 1",
    ),
    "--offline-build": (["--offline-build"], "--offline-build: a Docker setting; add --backend=docker"),
    # every command's (frontends/logs.py); pytest has its own --log-level, which the plugin honours
    "--log-level": (["--log-level", "LOUD"], "--log-level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR"),
}
PYTEST_OWN = {"--log-level"}
# where a command fixes a setting itself (images build: always Docker), its case says so
FIXED_DOCKER = {
    "--base-image": (["--base-image", " "], "--base-image: the value is empty"),
    "--ca-bundle": (["--ca-bundle", "{tmp}"], "--ca-bundle: {tmp} is a folder"),
    "--matrix": (["--matrix=1"], ARGPARSE),
    "--docker-host": (["--docker-host", "x"], "--docker-host: 'x' is not an engine address"),
    "--cpus": (["--cpus", "-2"], "--cpus: '-2' is not a number of cores"),
    "--container-lifetime": (["--container-lifetime", "0"], "--container-lifetime: '0' is not a number of seconds"),
    "--offline-build": (["--offline-build=1"], ARGPARSE),
}
OWN = {
    ("run", "--jsonl"): (["--jsonl", "{tmp}"], "--jsonl: {tmp} is a folder"),
    ("run", "-v"): (["--verbose=1"], ARGPARSE),
    ("divergences update", "--reason"): (["--reason", "TODO"], "--reason 'TODO': give the reason itself"),
    ("vectors check", "path"): (["{tmp}/none"], "{tmp}/none: no such file or folder"),
    ("vectors fill", "path"): (["{tmp}/none"], "{tmp}/none: no such file or folder"),
    ("vectors fill", "--overwrite"): (["--overwrite=yes"], ARGPARSE),
    ("vectors export", "path"): (["{tmp}/none"], "{tmp}/none: no such file or folder"),
    ("vectors export", "--format"): (["--format", "yaml"], ARGPARSE),
    ("vectors export", "--out"): (["--out", "{tmp}"], "--out: {tmp} is a folder"),
    ("report render", "results"): (["{tmp}/a-file"], "{tmp}/a-file:1:1: not JSON"),
    ("report render", "--out"): ([SMALL, "--out", "{tmp}/a-file"], "--out: {tmp}/a-file is a file, not a folder"),
    ("report compare", "old"): (["{tmp}/none.json", "{tmp}/a-file"], "{tmp}/none.json: cannot read"),
    ("report merge", "results"): (["{tmp}/a-file", "--out", "{tmp}/m"], "{tmp}/a-file:1:1: not JSON"),
    ("report merge", "--out"): ([PUBLISHED, "--out", "{tmp}/a-file"], "--out: {tmp}/a-file is a file, not a folder"),
    ("report compare", "new"): ([PUBLISHED, "{tmp}/a-file"], "{tmp}/a-file:1:1: not JSON"),
    ("site build", "results"): (["{tmp}/a-file", "--out", "{tmp}/s"], "{tmp}/a-file:1:1: not JSON"),
    ("site build", "--out"): ([SMALL, "--out", "{tmp}/a-file"], "--out: {tmp}/a-file is a file, not a folder"),
    ("site build", "--base-url"): ([SMALL, "--out", "{tmp}/s", "--base-url", "ftp://x"], "--base-url 'ftp://x'"),
    ("images bootstrap", "--suite"): (["--suite", "Bookworm!"], "--suite: 'Bookworm!' is not a Debian suite name"),
    ("images bootstrap", "--mirror"): (["--suite", "bookworm", "--mirror", "ftp:x"], "--mirror: 'ftp:x' is not a URL"),
    ("images bootstrap", "--force"): (["--suite", "bookworm", "--force=1"], ARGPARSE),
    ("docs", "topic"): (["dokcer"], "docs: no topic 'dokcer'; the topics are ci, "),
    ("docs", "--path"): (["--path=1"], ARGPARSE),
    ("docs", "--open"): (["--open", "--path"], ARGPARSE),
    ("examples", "lang"): (["cobol", "{tmp}/x"], "examples: no example 'cobol'; the examples are ci, clients, go, "),
    ("examples", "dir"): (["python", "{tmp}/a-file"], "examples: {tmp}/a-file is a file; give a folder"),
    ("examples", "--force"): (["python", "--force=1"], ARGPARSE),
    ("vectors show", "id"): (["single-user-999"], "vectors show: no vector 'single-user-999'"),
    ("vectors show", "path"): (["x", "{tmp}/none"], "{tmp}/none: no such file or folder"),
    ("fuzz", "--count"): (["--count", "-1"], "--count: '-1' is not a whole number from 1"),
    ("fuzz", "--time-budget"): (["--time-budget", "0"], "--time-budget: '0' is not a number of seconds"),
    ("fuzz", "--seed"): (["--seed", "x"], "--seed: 'x' is not a whole number"),
    ("fuzz", "--batch"): (["--batch", "0"], "--batch: '0' is not a whole number from 1"),
    ("fuzz", "--no-shrink"): (["--no-shrink=1"], ARGPARSE),
    ("fuzz", "--shrink-seconds"): (["--shrink-seconds", "nan"], "--shrink-seconds: 'nan' is not a number"),
    ("fuzz", "--save"): (["--save=1"], ARGPARSE),
    ("serve", "--app"): (["--app", "no-key"], "--app 'no-key'...: expected APP_ID=KEY"),
    ("serve", "--sp-app"): (["--sp-app", "=k"], "--sp-app '=k'...: expected APP_ID=KEY"),
    ("serve", "--config"): (
        ["--app", "a=b", "--config", "{tmp}/missing.toml"],
        "--config {tmp}/missing.toml: no such file",
    ),
    ("serve", "--host"): (["--app", "a=b", "--host", "localhost!"], "--host 'localhost!': give an IP address"),
    ("serve", "--port"): (["--app", "a=b", "--port", "70000"], "--port: '70000' is not a whole number"),
    ("serve", "--http"): (["--http=1"], ARGPARSE),
    ("serve", "--strict"): (["--strict=1"], ARGPARSE),
    ("serve", "--state"): (["--app", "a=b", "--state", "{tmp}/a-file"], "--state {tmp}/a-file: not a state file"),
    ("serve", "--name"): (["--app", "a=b", "--name", " "], "--name: the value is empty"),
    ("serve", "--divergences"): (["--app", "a=b", "--divergences", "{tmp}/none.yaml"], "--divergences"),
    ("serve", "--report-dir"): (
        ["--app", "a=b", "--report-dir", "{tmp}/a-file"],
        "--report-dir: {tmp}/a-file is a file",
    ),
    ("serve", "--token-window"): (["--app", "a=b", "--token-window", "0"], "--token-window: '0' is not a whole number"),
    ("serve", "--body-timeout"): (["--app", "a=b", "--body-timeout", "x"], "--body-timeout: 'x' is not a number"),
    ("serve", "--allow-never-expires"): (["--allow-never-expires=1"], ARGPARSE),
    ("serve", "command"): (["--app", "a=b", "--", "{tmp}/no-such-client"], "cannot start"),
    ("fuzz", "--save-dir"): (["--save-dir", "{tmp}/a-file"], "--save-dir: {tmp}/a-file is a file, not a folder"),
}


def case(command: str, option: str):
    if (command, option) in OWN:
        return OWN[(command, option)]
    if command == "images build" and option in FIXED_DOCKER:
        return FIXED_DOCKER[option]
    return SHARED.get(option)


def test_every_option_is_described_in_help():
    undescribed = [
        f"{' '.join(path)} {a.dest}"
        for path, a in _actions(cli.parser())
        if not (a.help and a.help.strip() and a.help != argparse.SUPPRESS)
    ]
    assert not undescribed, f"give these a help text: {undescribed}"


def test_every_option_has_a_bad_input_case():
    missing = [f"{c} {o}" for c, o in OPTIONS if case(c, o) is None]
    assert not missing, f"add a bad-input case to tests/test_bad_input.py for: {missing}"
    stale = [k for k in OWN if k not in OPTIONS]
    assert not stale, f"cases for options that no longer exist: {stale}"


def _fill(words, tmp: Path):
    return [w.replace("{tmp}", str(tmp)) for w in words]


def _place(tmp: Path) -> None:
    (tmp / "a-file").write_text("not json\n")


@pytest.mark.parametrize("command, option", OPTIONS, ids=[f"{c}:{o}" for c, o in OPTIONS])
def test_the_cli_says_one_thing_and_exits_2(command, option, tmp_path):
    _place(tmp_path)
    argv, said = case(command, option)
    r = subprocess.run(
        [sys.executable, "-m", "appauth_conformance.frontends.cli", *command.split(), *_fill(argv, tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "CI": ""},
    )
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-1500:])
    assert "Traceback" not in r.stderr and r.stderr.count("error:") == 1, r.stderr
    if said != ARGPARSE:
        assert said.replace("{tmp}", str(tmp_path)) in r.stderr, r.stderr
    else:  # argparse's own refusal, in the suite's style: one line, naming the option and where help is
        assert option.split("=")[0] in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "--help" in r.stderr, r.stderr
    assert not (tmp_path / ".appauth-conformance").exists(), "a bad option must stop the run before it writes"


PLUGIN = sorted({o for c, o in OPTIONS if c == "run" and o in SHARED and o not in PYTEST_OWN})


@pytest.mark.parametrize("option", PLUGIN)
def test_the_plugin_says_one_thing_and_exits_2(option, pytester, tmp_path):
    _place(tmp_path)
    argv, said = SHARED[option]
    words = _fill(argv, tmp_path) if option == "--lang" else ["--lang=python", *_fill(argv, tmp_path)]
    # pytest reads a separate value after an option for a test path: join each option with its value
    joined = []
    for w in words:
        if joined and joined[-1].startswith("--") and "=" not in joined[-1] and not w.startswith("--"):
            joined[-1] += "=" + w
        else:
            joined.append(w)
    r = pytester.runpytest_subprocess(*joined, "-p", "no:randomly")
    out = r.stdout.str() + r.stderr.str()
    assert "Traceback" not in out, out
    if said == ARGPARSE:
        assert r.ret == 4 and option in out, out  # pytest's own parser: its usage error
    else:
        assert r.ret == 2, out
        assert said.replace("{tmp}", str(tmp_path)) in out, out


def test_a_bad_option_loses_nothing(tmp_path):
    """A run that stops on a bad option leaves the previous results and reports as they were."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("previous")
    (out / "report.md").write_text("previous")
    r = subprocess.run(
        [sys.executable, "-m", "appauth_conformance.frontends.cli", "run", "--report-dir", str(out), "--timeout", "0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert r.returncode == 2
    assert (out / "results.json").read_text() == "previous" and (out / "report.md").read_text() == "previous"
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "results.json"]

"""One place for every option's default (execution/options.py's DEFAULTS): the CLI's parsers and the pytest
plugin's options declare them from it, and what the help texts and docs/ say a default is equals it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from appauth_conformance.endpoint.judging import BODY_TIMEOUT
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.backends.docker.backend import DEFAULT_CPUS
from appauth_conformance.execution.backends.docker.owners import DEFAULT_LIFETIME
from appauth_conformance.frontends import cli
from appauth_conformance.fuzz import cli as fuzz_cli

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Defaults the table leaves to someone else (None there): what the docs and help texts may state for them.
ELSEWHERE = {
    "--cpus": DEFAULT_CPUS,  # the Docker backend's own
    "--container-lifetime": DEFAULT_LIFETIME,
    "--report-dir": ".appauth-conformance",  # the folder's name; where it is depends on the config (default_report_dir)
}
# The docs pages that list options, and the command whose options they list.
PAGES = {"gate.md": "run", "tokens.md": "run", "docker.md": "run", "endpoint.md": "serve", "fuzzing.md": "fuzz"}


def _command(name: str) -> argparse.ArgumentParser:
    """The parser of a command, e.g. "run" or "divergences update" (argparse has no public walk)."""
    p = cli.parser()
    for word in name.split():
        (sub,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        p = sub.choices[word]
    return p


def _defaults(name: str) -> dict[str, object]:
    """option -> the default the command's parser gives it."""
    p = _command(name)
    ns = vars(p.parse_args([]))
    return {a.option_strings[0]: ns[a.dest] for a in p._actions if a.option_strings and a.dest in ns}


def _same(stated: str, value: object) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(stated.replace(",", "")) == float(value)
    return stated.strip("/").removeprefix("./") == str(value).strip("/")


def test_the_cli_parses_no_arguments_into_the_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "")
    for command in ("run", "fuzz", "divergences update", "images build"):
        ns = _command(command).parse_args([])
        seen = [k for k in cfg.DEFAULTS if hasattr(ns, k)]
        assert seen, command
        for k in seen:
            assert getattr(ns, k) == (list(cfg.DEFAULTS[k]) if k in ("runner", "divergences") else cfg.DEFAULTS[k]), (
                command,
                k,
            )
    # no option given: the Options the dataclass makes by itself
    assert cfg.Options.from_namespace(_command("run").parse_args([])) == cfg.Options()


def test_the_plugin_declares_the_table(pytester):
    config = pytester.parseconfig()
    for k, default in cfg.DEFAULTS.items():
        got = getattr(config.option, "appauth_" + k)
        if k == "lang":
            assert got is None  # the plugin runs only when --lang is given
        else:
            assert got == (list(default) if k in ("runner", "divergences") else default), k


def _stated(text: str) -> list[tuple[str, str]]:
    """(option, the default stated) for every `(default ...)` with a literal (a number or `quoted`) in `text`."""
    out = []
    for m in re.finditer(r"default:? (?:`([^`]+)`|(\d[\d,.]*\d|\d))", text):
        out.append(m.group(1) or m.group(2))
    return out


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_default_the_docs_state_is_the_table(page):
    defaults = _defaults(PAGES[page])
    rows = [r for r in (DOCS / page).read_text(encoding="utf-8").splitlines() if r.startswith("| `--")]
    checked = 0
    for row in rows:
        # a row may name several options: the default is the first one's that takes a value
        named = re.findall(r"`(--[a-z-]+)", row.split("|")[1])
        option = next((o for o in named if not isinstance(defaults.get(o), bool)), named[0])
        stated = _stated(row.split("|")[2])
        if not stated:
            continue
        value = defaults.get(option)
        if option == "--count":
            value = fuzz_cli.DEFAULT_COUNT  # given neither --count nor --time-budget
        elif value is None or (PAGES[page] != "serve" and option in ELSEWHERE):
            value = ELSEWHERE.get(option, value)
        if option == "--body-timeout":
            assert value == BODY_TIMEOUT
        assert _same(stated[0], value), f"docs/{page}: {option} says default {stated[0]!r}; the table says {value!r}"
        checked += 1
    assert checked, f"docs/{page} states no default any more: drop it from PAGES"


def test_every_default_the_help_states_is_the_table():
    for command in ("run", "serve", "fuzz"):
        p = _command(command)
        defaults = _defaults(command)
        for a in p._actions:
            if not a.option_strings or not a.help or a.option_strings[0] not in defaults:
                continue
            option = a.option_strings[0]
            value = defaults[option]
            if option == "--count":
                value = fuzz_cli.DEFAULT_COUNT
            elif value is None or (command != "serve" and option in ELSEWHERE):
                value = ELSEWHERE.get(option, value)
            for stated in _stated(a.help)[:1]:
                assert _same(stated, value), f"{command} {option}: help says default {stated!r}, the table {value!r}"

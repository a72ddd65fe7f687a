"""Diagnostics through `logging`: what the harness does, step by step (the config it read, the runners it
selected, each build and process it starts), for when a run does not do what was expected.

The package's loggers are named `appauth_conformance.<module>` and say nothing unless asked: the CLI's
`--log-level=DEBUG` (or INFO) shows them on stderr; under pytest, pytest's own `--log-level` and
`--log-cli-level` do (the plugin adds no option). Results, errors and progress are not diagnostics: they
are printed as before, whatever the level.
"""

from __future__ import annotations

import argparse
import logging
import sys

from appauth_conformance.core.errors import UsageError
from appauth_conformance.formats import arguments

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT = "WARNING"
ROOT = "appauth_conformance"


def _level(flag: str, given: str) -> str:
    if given.strip().upper() not in LEVELS:
        raise UsageError(f"{flag}: {given!r} is not one of {', '.join(LEVELS)}; e.g. {flag}=DEBUG")
    return given.strip().upper()


def add_option(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--log-level on `p`: the top-level parser holds the default; a command's parser only what is given
    there (so `appauth-conformance --log-level=DEBUG run` and `appauth-conformance run --log-level=DEBUG` agree)."""
    p.add_argument(
        "--log-level",
        type=arguments.typed("--log-level", _level),
        default=DEFAULT if top else argparse.SUPPRESS,
        metavar="LEVEL",
        help=f"diagnostics on stderr: {', '.join(LEVELS)} (default: {DEFAULT}: none but warnings)",
    )


def add_everywhere(p: argparse.ArgumentParser) -> None:
    """--log-level on `p` and on every command under it."""
    add_option(p, top=True)
    stack = [p]
    while stack:
        for a in stack.pop()._actions:
            if isinstance(a, argparse._SubParsersAction):  # argparse has no public walk of its commands
                for sub in dict.fromkeys(a.choices.values()):
                    if not any(isinstance(b, argparse._SubParsersAction) for b in sub._actions):
                        add_option(sub)
                    stack.append(sub)


def configure(level: str) -> None:
    """Send the package's diagnostics at `level` and above to stderr (the CLI; pytest configures its own)."""
    logger = logging.getLogger(ROOT)
    if level == DEFAULT and not logger.handlers:
        return  # quiet: Python's last-resort handler still shows a warning
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False

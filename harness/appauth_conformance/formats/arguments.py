"""Checks of command-line values, for the CLI and the pytest plugin alike.

Each check takes the option's name and the value typed, and returns the value converted or raises
UsageError, which names the option, says what was given and what is wanted. Parsers use them as
argparse's `type=` through `typed()`: the value is checked while it is parsed. The CLI lets the
UsageError through argparse (one line, exit 2, not argparse's usage text); pytest's parser cannot
stop with exit 2 itself, so the plugin's options use `typed(..., defer=True)`, which keeps a refused
value as a `Refused` that the plugin raises at configure time (`raise_refused`): the same message,
exit 2, in both front doors.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from appauth_conformance.core.errors import UsageError


class Parser(argparse.ArgumentParser):
    """argparse in the suite's message style: what argparse itself refuses (an unknown option, a value
    given to a flag, a missing argument) is one line naming it and where help is, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see `{self.prog} --help`\n")


class Unsaid(Exception):
    """A Quiet parser met something it would print or exit with."""


class Quiet(Parser):
    """A parser that prints nothing and never exits: help, --version or an error raises Unsaid instead,
    for a caller that then parses again with a parser that says it (frontends/cli.py's quick `run` parse)."""

    def _print_message(self, message: str, file: Any = None) -> None:
        raise Unsaid

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise Unsaid

    def error(self, message: str) -> NoReturn:
        raise Unsaid


class Refused:
    """A value refused while pytest parsed it: its message, raised by raise_refused()."""

    def __init__(self, message: str):
        self.message = message

    def __repr__(self) -> str:
        return f"Refused({self.message!r})"


def typed(flag: str, check: Callable[..., Any], *args: Any, defer: bool = False, **kw: Any) -> Callable[[str], Any]:
    """An argparse `type=` that runs `check(flag, value, *args, **kw)`; with `defer`, a refused value
    becomes a Refused instead of an exception (for pytest's parser)."""

    def convert(given: str) -> Any:
        try:
            return check(flag, given, *args, **kw)
        except UsageError as e:
            if defer:
                return Refused(str(e))
            raise

    convert.__name__ = flag.lstrip("-")  # argparse names the type in its own messages
    return convert


def raise_refused(values: dict[str, Any]) -> None:
    """The first value refused while parsing (a Refused, or one in a list of them) as its UsageError."""
    for v in values.values():
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, Refused):
                raise UsageError(item.message)


def number(flag: str, given: object, low: float, high: float, *, integer: bool = False, unit: str = "") -> float:
    """`given` as a number within [low, high] (an int when `integer`)."""
    what = f"{'a whole number' if integer else 'a number'}{' of ' + unit if unit else ''} from {_n(low)} to {_n(high)}"
    try:
        value = int(str(given), 10) if integer else float(str(given))
    except ValueError:
        raise UsageError(f"{flag}: {given!r} is not {what}; e.g. {flag}={_example(low, high, integer)}") from None
    if not (low <= value <= high) or (isinstance(value, float) and not math.isfinite(value)):
        raise UsageError(f"{flag}: {given!r} is not {what}; e.g. {flag}={_example(low, high, integer)}")
    return value


def _n(x: float) -> str:
    return f"{int(x):,}" if x == int(x) else f"{x:g}"


def _example(low: float, high: float, integer: bool) -> str:
    v = max(low, min(high, 10))
    return str(int(v)) if integer or v == int(v) else str(v)


def choice(flag: str, given: str, allowed: tuple[str, ...]) -> str:
    if given not in allowed:
        raise UsageError(f"{flag}: {given!r} is not one of {', '.join(allowed)}")
    return given


def integer(flag: str, given: object, low: int, high: int, *, unit: str = "") -> int:
    """`given` as a whole number within [low, high]."""
    return int(number(flag, given, low, high, integer=True, unit=unit))


def text(flag: str, given: str) -> str:
    """A value that may not be empty or only spaces."""
    if not given.strip():
        raise UsageError(f"{flag}: the value is empty; give one, or leave the option out")
    return given


def existing_file(flag: str, given: str) -> Path:
    path = Path(text(flag, given)).expanduser()
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a folder; give the path of a file")
    if not path.is_file():
        raise UsageError(f"{flag}: {path}: no such file")
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        raise UsageError(f"{flag}: {path}: cannot read: {e.strerror or e}") from None
    return path


def existing_path(flag: str, given: str) -> Path:
    """A file or a folder that is there (a vector file, or a folder of them)."""
    path = Path(text(flag, given)).expanduser()
    if not path.exists():
        raise UsageError(f"{flag}: {path}: no such file or folder; give a vector file or a folder of them")
    return path


def output_file(flag: str, given: str) -> Path:
    """A file to write: not a folder, and its folder (made if missing) not a file."""
    path = Path(text(flag, given)).expanduser()
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a folder; give the path of a file to write")
    _folder_ok(flag, path.parent)
    return path


def output_dir(flag: str, given: str) -> Path:
    """A folder to write into (made if missing): not an existing file, nor under one."""
    path = Path(text(flag, given)).expanduser()
    _folder_ok(flag, path)
    return path


def _folder_ok(flag: str, folder: Path) -> None:
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise UsageError(f"{flag}: {p} is a file, not a folder; give a folder to write into")
            return

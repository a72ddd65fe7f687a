"""Checks of command-line values, for the CLI and the pytest plugin alike.

Options are declared as plain strings and checked here, so that a bad value is the same one
message, exit 2, wherever it was typed: it names the option, says what was given and what is
wanted (argparse's own `type=` errors would make pytest exit 4 with its usage text instead).
"""

from __future__ import annotations

import math
from pathlib import Path

from appauth_conformance.core.errors import UsageError


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

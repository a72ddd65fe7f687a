"""The suite's own tests run against the installed package (scripts/setup.sh installs a wheel built
from this checkout, not an editable copy). A stale install would test yesterday's code, so the
session stops at once, with the command that fixes it, when any packaged file differs."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import appauth_conformance
from appauth_conformance.formats import resources

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"__pycache__", "node_modules"}


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not SKIP & set(p.relative_to(folder).parts)
    }


def _stale() -> str | None:
    """The first packaged file that differs between the checkout and the installed package, if any."""
    installed = Path(appauth_conformance.__file__).parent
    if installed == ROOT / "harness" / "appauth_conformance":
        return None  # imported from the checkout itself (PYTHONPATH=harness): nothing to compare
    pairs = [
        (ROOT / "harness" / "appauth_conformance", installed, {"data"}),
        (ROOT / "vectors", resources.VECTORS, set()),
        (ROOT / "runners", resources.RUNNERS, set()),
    ]
    for source, copy, ignore in pairs:
        want, have = _files(source), _files(copy)
        for name in sorted(set(want) | {n for n in have if n.split("/", 1)[0] not in ignore}):
            if want.get(name) != have.get(name):
                return f"{source.relative_to(ROOT)}/{name}"
    return None


def pytest_configure(config):
    # Tests interrupt the CLI and `serve` with SIGINT, as Ctrl-C does. A shell's background job (`cmd &`
    # without job control, as a CI script may start the suite) begins with SIGINT ignored, and an ignored
    # signal stays ignored across exec: every child would shrug it off. A handler is reset to the default
    # at exec, so installing Python's own gives every child the SIGINT a terminal user's process has.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_sessionstart(session):
    # APPAUTH_CONFORMANCE_ALLOW_STALE=1: run against whatever is installed (while the checkout is mid-edit)
    if (ROOT / "harness" / "appauth_conformance").is_dir() and not os.environ.get("APPAUTH_CONFORMANCE_ALLOW_STALE"):
        stale = _stale()
        if stale:
            pytest.exit(
                f"the installed appauth_conformance is not this checkout ({stale} differs): "
                "run `bash scripts/setup.sh` (or `bash scripts/test.sh`, which does it)",
                returncode=4,
            )


def pytest_ignore_collect(collection_path, config):
    """`pytest --lang=...` typed with no test path is the everyday conformance gate (seconds), not the
    suite's own tests (minutes: Docker, browsers, installs); `pytest tests --lang=all`, as
    scripts/test.sh runs it, is both."""
    if config.getoption("appauth_lang", None) is not None and config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        return True
    return None


@functools.cache
def _openssl_hmac(key: bytes, data: bytes) -> str:
    r = subprocess.run(
        ["openssl", "mac", "-digest", "SHA256", "-macopt", f"hexkey:{key.hex()}", "HMAC"],
        input=data,
        capture_output=True,
        check=True,
    )
    return r.stdout.decode().strip().lower()


@pytest.fixture(scope="session")
def openssl_hmac():
    """Lowercase hex HMAC-SHA256 (key and data as bytes, or text as UTF-8) computed by the `openssl` command
    line: expected signatures come from an independent implementation, never from the code under test."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed")

    def hmac_hex(key: bytes | str, data: bytes | str) -> str:
        as_bytes = [x.encode("utf-8") if isinstance(x, str) else x for x in (key, data)]
        return _openssl_hmac(*as_bytes)

    return hmac_hex


CLI = [sys.executable, "-m", "appauth_conformance.frontends.cli"]


def _run_cli(
    *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`appauth-conformance ARGS...` as a user runs it (this venv's interpreter, the installed package), in
    a subprocess, stdout and stderr captured as text; env adds to (or overrides) this process's environment."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env={**os.environ, **env} if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _load_results(path: Path | str) -> dict[str, Any]:
    """A results.json, read: the file itself, or the report folder that holds it."""
    p = Path(path)
    doc: dict[str, Any] = json.loads((p / "results.json" if p.is_dir() else p).read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="session")
def run_cli():
    """run_cli(*args, cwd=None, env=None, timeout=600) -> CompletedProcess: the CLI in a subprocess."""
    return _run_cli


@pytest.fixture(scope="session")
def load_results():
    """load_results(path) -> dict: a results.json (or the folder that holds it), read."""
    return _load_results

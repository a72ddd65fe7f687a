"""The suite's own tests run against the installed package (scripts/setup.sh installs a wheel built
from this checkout, not an editable copy). A stale install would test yesterday's code, so the
session stops at once, with the command that fixes it, when any packaged file differs."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

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

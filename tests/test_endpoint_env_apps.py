"""`serve` takes its app from the environment (APPAUTH_APP_ID, APPAUTH_APP_KEY, APPAUTH_APP_TENANCY): the
suite's image as a CI service container is configured so (docs/endpoint.md, "As a CI service container")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "tests" / "fixtures" / "endpoint" / "client.py"
CLI = [sys.executable, "-m", "appauth_conformance.frontends.cli", "serve", "--http"]
APP_ID, KEY = "env-app", "Env-Key-Never-Shown-2718"


def _serve(tmp_path: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APPAUTH_APP_")}
    return subprocess.run(
        [*CLI, "--report-dir", str(tmp_path / "out"), *command],
        cwd=tmp_path,
        env={**clean, "APP_ID": APP_ID, "APP_KEY": KEY, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_app_of_the_environment_is_served(tmp_path):
    r = _serve(
        tmp_path, {"APPAUTH_APP_ID": APP_ID, "APPAUTH_APP_KEY": KEY}, "--", sys.executable, str(CLIENT), "none", "1"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"endpoint:{APP_ID}: 1 request(s)" in r.stdout
    assert KEY not in r.stdout + r.stderr + (tmp_path / "out" / "results.json").read_text()


@pytest.mark.parametrize(
    "env, message",
    [
        ({"APPAUTH_APP_KEY": KEY}, "APPAUTH_APP_KEY is set but APPAUTH_APP_ID is not: set both"),
        ({"APPAUTH_APP_ID": APP_ID}, "APPAUTH_APP_ID='env-app' is set but APPAUTH_APP_KEY is not"),
        (
            {"APPAUTH_APP_ID": APP_ID, "APPAUTH_APP_KEY": KEY, "APPAUTH_APP_TENANCY": "multi"},
            "APPAUTH_APP_TENANCY='multi' is not one of single, sp",
        ),
    ],
)
def test_an_incomplete_environment_app_is_a_set_up_error(tmp_path, env, message):
    r = _serve(tmp_path, env, "--", sys.executable, str(CLIENT), "none", "1")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert KEY not in r.stdout + r.stderr

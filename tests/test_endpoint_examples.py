"""The example clients of examples/clients/ (curl, Node fetch, Go net/http, Java HttpClient), each pointed at
the endpoint by APPAUTH_ENDPOINT alone as a team would, pass `serve -- COMMAND` (exit 0, one passing request).
A missing toolchain skips here and fails under CI=true (never silently)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "clients"


@pytest.mark.parametrize(
    "tool, command",
    [
        ("curl", ["sh", str(EXAMPLES / "curl.sh")]),
        ("node", ["node", str(EXAMPLES / "node-fetch.mjs")]),
        ("go", ["go", "run", str(EXAMPLES / "go-nethttp.go")]),
        ("java", ["java", str(EXAMPLES / "JavaHttpClient.java")]),
    ],
)
def test_example_client_conforms(tmp_path, tool, command):
    if shutil.which(tool) is None:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(f"{tool} is not installed")
    env = {**os.environ, "APP_ID": "demo-app", "APP_KEY": "example-key-31", "GOCACHE": str(tmp_path / "gocache")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "serve",
            "--app",
            "demo-app=example-key-31",
            "--",
            *command,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    outcomes = json.loads((tmp_path / ".appauth-conformance" / "results.json").read_text())["outcomes"]
    assert [o["verdict"] for o in outcomes] == ["pass"]

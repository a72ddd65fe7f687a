"""The vendor's Python SDK (huaweicloudsdkmeeting, the pinned release of runners/huawei-python-sdk/),
unmodified, through `serve`: its public MeetingClient logs in over HTTPS with its own HTTP stack, the login
is judged (upper-case hex named; excused by a divergence entry, the gate passes) and its follow-up call
with the issued token is answered. Needs PyPI for the SDK's install (skipped without, failed under CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.options import in_ci
from appauth_conformance.execution.registry import BUILTINS

CLIENT = Path(__file__).resolve().parent.parent / "examples" / "clients" / "huawei_sdk.py"
SDK = next(s for s in BUILTINS if s.name == "huawei-python-sdk")


@pytest.fixture(scope="module")
def sdk_python() -> str:
    try:
        built = LocalBackend().prepare(SDK)  # the SDK's own venv, as its runner uses it
    except RunnerUnavailable as e:
        if in_ci():
            raise
        pytest.skip(f"the SDK could not be installed from PyPI: {e}")
    return str(Path(built["build_dir"]) / "venv" / "bin" / "python")


@pytest.mark.parametrize("excused", [False, True])
def test_vendor_sdk_through_serve(tmp_path, sdk_python, excused):
    listing = tmp_path / "sdk-divergences.yaml"
    listing.write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "  - diagnosis: hex-uppercase\n    reason: the SDK writes the hex digest in upper case\n"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "serve",
            "--app",
            "demo-app=sdk-key-2718",
            *(["--divergences", str(listing)] if excused else []),
            "--",
            sdk_python,
            str(CLIENT),
        ],
        cwd=tmp_path,
        env={**os.environ, "APP_ID": "demo-app", "APP_KEY": "sdk-key-2718"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    [o] = json.loads((tmp_path / ".appauth-conformance" / "results.json").read_text())["outcomes"]
    failing = [c for c in o["checks"] if c["verdict"] != "pass"]
    assert [(c["stage"], c["diagnosis"]) for c in failing] == [("token-signature", ["hex-uppercase"])]
    if excused:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert o["verdict"] == "known-divergence"
        assert r.stdout.startswith("{}")  # the SDK's follow-up call, answered with the issued token
    else:
        assert r.returncode == 1 and "[hex-uppercase]" in r.stdout

"""`serve` takes its app from the environment (APPAUTH_APP_ID, APPAUTH_APP_KEY, APPAUTH_APP_TENANCY): the
suite's image as a CI service container is configured so (docs/endpoint.md, "As a CI service container")."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from appauth_conformance.endpoint import apps

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


def _yaml_blocks(doc: Path) -> list[dict]:
    text = doc.read_text(encoding="utf-8")
    return [yaml.safe_load(b.split("```", 1)[0]) for b in text.split("```yaml\n")[1:]]


def test_the_documented_service_jobs_match_the_image():
    """docs/ci.md's GitHub Actions and GitLab jobs start the image as its Dockerfile serves: the port of its
    default command, the app variables serve reads, the client pointed at that port."""
    dockerfile = (ROOT / "examples" / "kubernetes" / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert cmd[:1] == ["serve"] and "--http" in cmd and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    port = cmd[cmd.index("--port") + 1]
    assert f"EXPOSE {port}" in dockerfile and f"('127.0.0.1', {port})" in dockerfile  # the health check's port
    blocks = [b for b in _yaml_blocks(ROOT / "docs" / "ci.md") if isinstance(b, dict)]
    [github] = [b["jobs"]["client-conformance"] for b in blocks if "client-conformance" in b.get("jobs", {})]
    [gitlab] = [b["client-conformance"] for b in blocks if "client-conformance" in b]
    service = github["services"]["appauth"]
    assert set(service["env"]) == {apps.ENV_ID, apps.ENV_KEY} and service["ports"] == [f"{port}:{port}"]
    assert github["env"]["APPAUTH_ENDPOINT"] == f"http://localhost:{port}"
    [gl_service] = gitlab["services"]
    assert set(gl_service["variables"]) == {apps.ENV_ID, apps.ENV_KEY}
    assert gitlab["variables"]["APPAUTH_ENDPOINT"] == f"http://{gl_service['alias']}:{port}"

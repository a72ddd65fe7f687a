"""Declared endpoint clients (`endpoint = true` in [tool.appauth-conformance.runners.NAME]): a team's real
client, gated by `appauth-conformance run` and `pytest --lang=...` beside the runners (docs/endpoint.md).

The client is tests/fixtures/endpoint/client.py (urllib, the run's CA through SSL_CERT_FILE), with one
mistake or none; each test writes a project folder with its pyproject, as a team would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "tests" / "fixtures" / "endpoint" / "client.py"
APP_ID, KEY = "team-app", "k3y-Of-The-Team-0815"
APPS = '[tool.appauth-conformance.endpoint]\napps = [{ id = "team-app", key-env = "TEAM_APP_KEY" }]\n'
ENV = {"TEAM_APP_KEY": KEY, "APP_KEY": KEY, "CI": ""}  # APP_KEY: what client.py reads


def _project(tmp_path: Path, args: str, *, apps: str = APPS, extra: str = "") -> Path:
    """A project whose pyproject declares the client `team-client` running `client.py ARGS`; the command
    also writes ran.marker, so a test sees whether it ran at all."""
    shutil.copy(CLIENT, tmp_path / "client.py")
    (tmp_path / "wrapper.py").write_text(
        "import pathlib, runpy, sys\n"
        "pathlib.Path('ran.marker').write_text('ran')\n"
        "sys.argv = ['client.py', *sys.argv[1:]]\n"
        "runpy.run_path('client.py', run_name='__main__')\n",
        encoding="utf-8",
    )
    argv = json.dumps(["{python}", "wrapper.py", *args.split()])
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "team"\nversion = "0"\n\n{apps}\n'
        f"[tool.appauth-conformance.runners.team-client]\nendpoint = true\ncommand = {argv}\n"
        f'env = {{ APP_ID = "{APP_ID}" }}\n{extra}',
        encoding="utf-8",
    )
    return tmp_path


def _run(run_cli, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli("run", "--lang", "team-client", *args, cwd=folder, env=ENV, timeout=300)


def _client_outcomes(load_results, folder: Path) -> list[dict]:
    doc = load_results(folder / ".appauth-conformance")
    assert {"name": "team-client", "language": "http", "group": "declared"}.items() <= next(
        r for r in doc["runners"] if r["name"] == "team-client"
    ).items()
    return [o for o in doc["outcomes"] if o["runner"] == "team-client"]


def test_conforming_client_passes_run_and_its_requests_are_in_results(tmp_path, run_cli, load_results):
    folder = _project(tmp_path, "none 3")
    r = _run(run_cli, folder)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "team-client" in r.stdout and "requests: pass 3" in r.stdout
    outcomes = _client_outcomes(load_results, folder)
    assert [o["verdict"] for o in outcomes] == ["pass"] * 3
    report = (folder / ".appauth-conformance" / "report.md").read_text(encoding="utf-8")
    assert "team-client" in report
    for f in (folder / ".appauth-conformance").iterdir():  # the key is read from the environment, never written
        if f.is_file():
            assert KEY not in f.read_text(encoding="utf-8"), f.name


def test_client_beside_the_reference_runners_with_lang_all(tmp_path, run_cli, load_results):
    folder = _project(tmp_path, "none 1")
    r = run_cli("run", "--lang", "all", cwd=folder, env=ENV, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = load_results(folder / ".appauth-conformance")
    assert "python-reference" in {x["name"] for x in doc["runners"]}
    assert [o["verdict"] for o in doc["outcomes"] if o["runner"] == "team-client"] == ["pass"]


@pytest.mark.parametrize(("mistake", "diagnosis"), [("millis", "expire-in-milliseconds"), ("reuse", "token-reused")])
def test_client_mistake_fails_run_with_its_name(tmp_path, run_cli, load_results, mistake, diagnosis):
    folder = _project(tmp_path, f"{mistake} 2")
    r = _run(run_cli, folder)
    assert r.returncode == 1, r.stdout + r.stderr
    assert diagnosis in r.stdout and "probable mistake" in r.stdout  # the staged explanation
    assert "Traceback" not in r.stderr
    found = {
        d for o in _client_outcomes(load_results, folder) for c in o.get("checks", []) for d in c.get("diagnosis", [])
    }
    assert diagnosis in found


def test_known_divergence_by_diagnosis_passes(tmp_path, run_cli):
    folder = _project(tmp_path, "millis 1", extra='divergences = "client-divergences.yaml"\n')
    (folder / "client-divergences.yaml").write_text(
        "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
        "  - diagnosis: expire-in-milliseconds\n    reason: our legacy client sends milliseconds, fixed in 2.0\n",
        encoding="utf-8",
    )
    r = _run(run_cli, folder)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "known-divergence 1" in r.stdout


def test_client_that_never_calls_fails_with_the_message(tmp_path, run_cli, load_results):
    folder = _project(tmp_path, "none 0")
    r = _run(run_cli, folder)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the client never called POST /v2/usg/acs/auth/appauth (is it pointed at $APPAUTH_ENDPOINT?)" in r.stderr
    assert _client_outcomes(load_results, folder) == []


def test_client_whose_command_fails_fails_the_run(tmp_path, run_cli):
    folder = _project(tmp_path, "none 1")
    (folder / "wrapper.py").write_text(
        (folder / "wrapper.py").read_text(encoding="utf-8") + "sys.exit(3)\n", encoding="utf-8"
    )
    r = _run(run_cli, folder)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "failed (exit 3)" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("apps", "extra", "message"),
    [
        (APPS, 'image = "team-client:1"\n', "`image` cannot go with it"),
        (APPS, 'dockerfile = "Dockerfile"\nbuild = ["make"]\n', "`build`, `dockerfile` cannot go with it"),
        ("", "", "is an endpoint client, but no app is declared for it to sign for"),
        (APPS, "allow_outside_project = true\n", "`allow_outside_project` cannot go with it"),
    ],
)
def test_bad_client_table_is_one_message_exit_2(tmp_path, run_cli, apps, extra, message):
    folder = _project(tmp_path, "none 1", apps=apps, extra=extra)
    r = _run(run_cli, folder)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("error:") == 1
    assert "[tool.appauth-conformance.runners.team-client]" in r.stderr
    assert message in r.stderr
    assert not (folder / "ran.marker").exists()


def test_client_without_command_is_named(tmp_path, run_cli):
    folder = _project(tmp_path, "none 1")
    toml = folder / "pyproject.toml"
    toml.write_text(
        "\n".join(x for x in toml.read_text().splitlines() if not x.startswith("command")), encoding="utf-8"
    )
    r = _run(run_cli, folder)
    assert r.returncode == 2
    assert "an endpoint client (`endpoint = true`) needs a `command`" in r.stderr


def test_unselected_client_needs_no_app_key(tmp_path, run_cli):
    """A client left out of --lang is not read for its apps: the runners' gate does not need its key."""
    folder = _project(tmp_path, "none 1")
    r = run_cli("run", "--lang", "python", cwd=folder, env={**ENV, "TEAM_APP_KEY": ""}, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (folder / "ran.marker").exists()


# -- the same through pytest: one item per client, run when it runs ------------------------------------


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=folder,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_pytest_item_passes_and_records(tmp_path, load_results):
    folder = _project(tmp_path, "none 2")
    r = _pytest(folder, "--lang=all", "-k", "team-client", "-rA")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED conformance::test_endpoint_client[team-client]" in r.stdout
    assert [o["verdict"] for o in _client_outcomes(load_results, folder)] == ["pass", "pass"]


def test_pytest_item_fails_with_the_explanation(tmp_path, load_results):
    folder = _project(tmp_path, "millis 1")
    r = _pytest(folder, "--lang=team-client")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED conformance::test_endpoint_client[team-client]" in r.stdout
    assert "1 of 1 request(s) do not conform" in r.stdout
    assert "probable mistake: expire-in-milliseconds" in r.stdout
    assert [o["verdict"] for o in _client_outcomes(load_results, folder)] == ["fail"]


def test_pytest_item_fails_when_the_client_never_calls(tmp_path):
    folder = _project(tmp_path, "none 0")
    r = _pytest(folder, "--lang=team-client")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "the client never called POST /v2/usg/acs/auth/appauth" in r.stdout


def test_pytest_collect_only_starts_no_client(tmp_path):
    folder = _project(tmp_path, "none 1")
    r = _pytest(folder, "--lang=all", "--collect-only", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "conformance::test_endpoint_client[team-client]" in r.stdout
    assert not (folder / "ran.marker").exists()  # listed, never run


def test_pytest_bad_client_table_exits_2(tmp_path):
    folder = _project(tmp_path, "none 1", apps="")
    r = _pytest(folder, "--lang=all", "--collect-only")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "is an endpoint client, but no app is declared" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_a_client_is_declared_with_its_config_and_never_started_as_a_runner(tmp_path):
    from appauth_conformance.execution.backends import make_backend
    from appauth_conformance.execution.declared import declared_runners
    from appauth_conformance.execution.pipeline import Engine

    folder = _project(tmp_path, "none 1")
    (spec,) = declared_runners(folder / "pyproject.toml")
    assert (spec.name, spec.language, spec.group, spec.client_of) == (
        "team-client",
        "http",
        "declared",
        folder / "pyproject.toml",
    )
    assert spec.workdir == folder.resolve() and spec.env == {"APP_ID": APP_ID}
    with Engine([spec], make_backend("local")) as engine:
        engine.prepare()
        assert engine.runners == {}
    assert not (folder / "ran.marker").exists()

"""The suite as a team gets it: built from a clean checkout, installed (never editable) into a fresh
virtualenv outside the checkout, and used from the team's own repository.

The team's repository is a throwaway folder with its own `harness` package (a common name in
exactly these repositories) and one signer declared in its pyproject.toml. In it the suite must
run `pytest --lang=all` (the four reference runners plus the declared one, zero skips: CI=true)
and `appauth-conformance run --lang all`, from a wheel, from an sdist and from a git+file URL,
with the installed package read-only (a read-only bind mount when root, else file modes) and
unchanged afterwards, and with no path in it that points back into a checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from appauth_conformance import __version__

pytestmark = [pytest.mark.install, pytest.mark.slow]


@pytest.fixture
def h(helpers):
    return helpers


def test_a_team_repository_runs_the_gate_and_the_cli(h, installed, dists, tmp_path):
    venv = installed
    team = h.team_project(tmp_path / "team-service")
    before = h.snapshot(venv.package)
    if os.geteuid() != 0:
        for p in [venv.package, *venv.package.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
    # the gate: every runner measured (CI=true turns a skip into a failure)
    gate = h.run(
        h.read_only([venv.python, "-m", "pytest", "--lang=all", "-p", "no:randomly", "-q"], venv),
        team,
        env={"CI": "true"},
    )
    summary = gate.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed, \d+ xfailed in [\d.]+s( \(.*\))?", summary), summary
    results = json.loads((team / ".appauth-conformance" / "results.json").read_text())
    names = {r["name"] for r in results["runners"]}
    assert names == {"python-reference", "java-reference", "cpp-reference", "js-reference", "team-signer"}
    assert not any(r.get("unavailable") for r in results["runners"])
    assert {o["verdict"] for o in results["outcomes"]} <= {"pass", "known-divergence"}
    # the same without pytest
    cli = h.run(
        h.read_only([venv.script, "run", "--lang", "all", "--report-dir", "cli-report"], venv), team, env={"CI": "true"}
    )
    assert "team-signer" in cli.stdout and "FAIL" not in cli.stdout
    assert (team / "cli-report" / "report.html").is_file()
    # nothing was written into the installed package, and nothing in it points back into a checkout
    assert h.snapshot(venv.package) == before
    roots = {str(h.ROOT), dists["_copy"]}
    dist_info = next(venv.site.glob("appauth_conformance-*.dist-info"))
    # direct_url.json is pip's record of where it installed from (a git+file URL names the copy)
    for p in [*venv.package.rglob("*"), *(q for q in dist_info.rglob("*") if q.name != "direct_url.json")]:
        if p.is_file():
            data = p.read_bytes()
            for r in roots:
                assert r.encode() not in data, f"{p} names {r}"


def test_everything_else_works_from_the_team_repository(h, dists, tmp_path):
    """--runner, appauth-conformance.toml, the team's own vectors, report, fuzz --save, --version."""
    venv = h.make_venv(tmp_path / "venv", dists["wheel"])
    team = h.team_project(tmp_path / "team-service")
    cli = venv.script
    assert h.run([cli, "--version"], team).stdout.strip() == f"appauth-conformance {__version__}"
    # pytest 9 answers a single --version before loading plugins; -VV lists them with their versions
    assert f"appauth-conformance-{__version__}" in h.run([venv.python, "-m", "pytest", "-VV"], team).stdout
    # a runner declared on the command line, a non-conforming one: exit 1 and the failure named
    bad = h.run(
        [cli, "run", "--lang", "upper", "--runner", "upper={python} signer.py --upper", "--report-dir", "upper"],
        team,
        check=False,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "upper" in bad.stdout and "FAIL" in bad.stdout
    # appauth-conformance.toml in another folder of the team's repository
    other = team / "services" / "billing"
    other.mkdir(parents=True)
    shutil.copy(team / "signer.py", other / "signer.py")
    (other / "appauth-conformance.toml").write_text('[runners.billing]\ncommand = ["{python}", "signer.py"]\n')
    assert h.run([cli, "run", "--lang", "billing"], other).returncode == 0
    # the team's own vector file: check, export, run it
    own = team / "vectors" / "ours.yaml"
    own.parent.mkdir()
    packaged = json.loads(
        h.run(
            [
                venv.python,
                "-c",
                "import json; from appauth_conformance.formats import resources; "
                "print(json.dumps(str(resources.VECTORS / 'single.yaml')))",
            ],
            team,
        ).stdout
    )
    shutil.copy(packaged, own)
    assert "ok:" in h.run([cli, "vectors", "check", str(own)], team).stdout
    h.run([cli, "vectors", "export", str(own), "--out", "ours.json"], team)
    assert json.loads((team / "ours.json").read_text())["vector_count"] > 0
    h.run([cli, "run", "--lang", "team-signer", "--vectors", str(own), "--report-dir", "own"], team)
    # report render and compare on the team's results
    h.run([cli, "report", "render", "own/results.json", "--out", "rendered"], team)
    assert (team / "rendered" / "report.md").is_file()
    assert h.run([cli, "report", "compare", "own/results.json", "own/results.json"], team).returncode == 0
    # fuzz --save writes into the team's project by default, never into the package
    fz = h.run(
        [
            cli,
            "fuzz",
            "--lang",
            "upper",
            "--runner",
            "upper={python} signer.py --upper",
            "--count",
            "300",
            "--save",
            "--no-shrink",
        ],
        team,
        check=False,
    )
    assert fz.returncode == 1, fz.stdout + fz.stderr  # a new divergence: the upper-case hex
    saved = list((team / "appauth-conformance-regressions").glob("*.yaml"))
    assert saved, fz.stdout
    assert "ok:" in h.run([cli, "vectors", "check", str(saved[0].parent)], team).stdout
    assert not list((venv.package / "data" / "vectors").rglob("regressions"))


@pytest.mark.docker
def test_docker_images_are_built_from_the_packaged_runner_sources(h, dists, tmp_path):
    probe = subprocess.run(
        [sys.executable, "-c", "from appauth_conformance.execution.backends.docker import client; client()"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        reason = f"no Docker engine: {probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ''}"
        if h.CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    venv = h.make_venv(tmp_path / "venv", dists["wheel"])
    team = h.team_project(tmp_path / "team-service")
    out = h.run(
        h.read_only([venv.script, "run", "--backend", "docker", "--lang", "python,cpp"], venv), team, env={"CI": "true"}
    )
    results = json.loads((team / ".appauth-conformance" / "results.json").read_text())
    assert {r["name"] for r in results["runners"]} == {"python-reference", "cpp-reference"}, out.stdout
    assert all(r["backend"] == "docker" and r.get("image") for r in results["runners"])

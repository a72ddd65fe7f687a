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

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance import __version__

pytestmark = [pytest.mark.install, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() == "true"

SIGNER = """\
import hashlib, hmac, json, sys

LAYOUT = {"single": ("app_id", "user_id"), "sp_user": ("app_id", "corp_id", "user_id"),
          "sp_corp_admin": ("app_id", "corp_id", None), "sp_admin": ("app_id", None, None)}
UPPER = "--upper" in sys.argv  # a non-conforming variant: upper-case hex

print(json.dumps({"op": "hello", "protocol": 1, "name": "team-signer", "language": "python",
                  "runtime": sys.version.split()[0], "library": "hmac", "library_version": "stdlib"}), flush=True)
sys.stdin.readline()
for line in sys.stdin:
    r = json.loads(line)
    parts = [r[f] if f else "" for f in LAYOUT[r["mode"]]] + [str(r["expire_time"]), r["nonce"]]
    try:
        sig = hmac.new(r["app_key"].encode(), ":".join(parts).encode(), hashlib.sha256).hexdigest()
        out = {"seq": r["seq"], "signature": sig.upper() if UPPER else sig}
    except UnicodeEncodeError as e:
        out = {"seq": r["seq"], "error": {"type": "UnicodeEncodeError", "message": str(e)}}
    print(json.dumps(out), flush=True)
"""

PYPROJECT = """\
[project]
name = "team-service"
version = "1.0"

[tool.appauth-conformance.runners.team-signer]
command = ["{python}", "signer.py"]
"""


def run(argv, cwd, *, env=None, check=True, timeout=900) -> subprocess.CompletedProcess:
    p = subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    if check and p.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, argv))} exited {p.returncode}\n--- stdout ---\n{p.stdout[-4000:]}"
            f"\n--- stderr ---\n{p.stderr[-4000:]}",
            pytrace=False,
        )
    return p


def clean_copy(dest: Path) -> Path:
    """The checkout's tracked and new (not ignored) files: what a fresh clone plus these changes holds."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to build a clean copy from")
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).stdout
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():  # a deleted but not yet staged file is listed too
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, str]:
    """pip targets: the wheel and the sdist built from a clean copy, and a git+file URL of that copy."""
    base = tmp_path_factory.mktemp("dist")
    src = clean_copy(base / "appauth-conformance")
    run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(base / "out"), str(src)], base)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    run([*git, "init", "-q"], src)
    run([*git, "add", "-A"], src)
    run([*git, "commit", "-qm", "clean copy"], src)
    (wheel,) = (base / "out").glob("*.whl")
    (sdist,) = (base / "out").glob("*.tar.gz")
    return {"wheel": str(wheel), "sdist": str(sdist), "git": f"git+file://{src}", "_copy": str(src)}


class Venv:
    def __init__(self, path: Path):
        self.path = path
        self.python = str(path / "bin" / "python")
        self.script = str(path / "bin" / "appauth-conformance")
        self.site = Path(
            run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], path).stdout.strip()
        )
        self.package = self.site / "appauth_conformance"


def make_venv(where: Path, target: str) -> Venv:
    run([sys.executable, "-m", "venv", str(where)], where.parent)
    run(
        [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", target],
        where.parent,
    )
    return Venv(where)


def team_project(where: Path) -> Path:
    (where / "harness").mkdir(parents=True)
    # The team's own `harness` package: `python -m pytest` puts it first on sys.path.
    (where / "harness" / "__init__.py").write_text('"""The team\'s own test helpers."""\nNAME = "team harness"\n')
    (where / "signer.py").write_text(SIGNER)
    (where / "pyproject.toml").write_text(PYPROJECT)
    return where


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_only(argv: list[str], venv: Venv) -> list[str]:
    """argv run with the installed package read-only: a read-only bind mount in a private mount
    namespace (root; gone with the process), else the caller has removed write permission."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
        return ["unshare", "--mount", "sh", "-c", script, str(venv.package), *argv]
    return argv


@pytest.fixture(params=["wheel", "sdist", "git"])
def installed(request, dists, tmp_path) -> Venv:
    return make_venv(tmp_path / "venv", dists[request.param])


def test_a_team_repository_runs_the_gate_and_the_cli(installed, dists, tmp_path):
    venv = installed
    team = team_project(tmp_path / "team-service")
    before = snapshot(venv.package)
    if os.geteuid() != 0:
        for p in [venv.package, *venv.package.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
    # the gate: every runner measured (CI=true turns a skip into a failure)
    gate = run(
        read_only([venv.python, "-m", "pytest", "--lang=all", "-p", "no:randomly", "-q"], venv),
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
    cli = run(
        read_only([venv.script, "run", "--lang", "all", "--report-dir", "cli-report"], venv), team, env={"CI": "true"}
    )
    assert "team-signer" in cli.stdout and "FAIL" not in cli.stdout
    assert (team / "cli-report" / "report.html").is_file()
    # nothing was written into the installed package, and nothing in it points back into a checkout
    assert snapshot(venv.package) == before
    roots = {str(ROOT), dists["_copy"]}
    dist_info = next(venv.site.glob("appauth_conformance-*.dist-info"))
    # direct_url.json is pip's record of where it installed from (a git+file URL names the copy)
    for p in [*venv.package.rglob("*"), *(q for q in dist_info.rglob("*") if q.name != "direct_url.json")]:
        if p.is_file():
            data = p.read_bytes()
            for r in roots:
                assert r.encode() not in data, f"{p} names {r}"


def test_everything_else_works_from_the_team_repository(dists, tmp_path):
    """--runner, appauth-conformance.toml, the team's own vectors, report, fuzz --save, --version."""
    venv = make_venv(tmp_path / "venv", dists["wheel"])
    team = team_project(tmp_path / "team-service")
    cli = venv.script
    assert run([cli, "--version"], team).stdout.strip() == f"appauth-conformance {__version__}"
    # pytest 9 answers a single --version before loading plugins; -VV lists them with their versions
    assert f"appauth-conformance-{__version__}" in run([venv.python, "-m", "pytest", "-VV"], team).stdout
    # a runner declared on the command line, a non-conforming one: exit 1 and the failure named
    bad = run(
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
    assert run([cli, "run", "--lang", "billing"], other).returncode == 0
    # the team's own vector file: check, export, run it
    own = team / "vectors" / "ours.yaml"
    own.parent.mkdir()
    packaged = json.loads(
        run(
            [
                venv.python,
                "-c",
                "import json; from appauth_conformance import resources; "
                "print(json.dumps(str(resources.VECTORS / 'single.yaml')))",
            ],
            team,
        ).stdout
    )
    shutil.copy(packaged, own)
    assert "ok:" in run([cli, "vectors", "check", str(own)], team).stdout
    run([cli, "vectors", "export", str(own), "--out", "ours.json"], team)
    assert json.loads((team / "ours.json").read_text())["vector_count"] > 0
    run([cli, "run", "--lang", "team-signer", "--vectors", str(own), "--report-dir", "own"], team)
    # report render and compare on the team's results
    run([cli, "report", "render", "own/results.json", "--out", "rendered"], team)
    assert (team / "rendered" / "report.md").is_file()
    assert run([cli, "report", "compare", "own/results.json", "own/results.json"], team).returncode == 0
    # fuzz --save writes into the team's project by default, never into the package
    fz = run(
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
    assert "ok:" in run([cli, "vectors", "check", str(saved[0].parent)], team).stdout
    assert not list((venv.package / "data" / "vectors").rglob("regressions"))


@pytest.mark.docker
def test_docker_images_are_built_from_the_packaged_runner_sources(dists, tmp_path):
    probe = subprocess.run(
        [sys.executable, "-c", "from appauth_conformance.backends.docker import client; client()"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        reason = f"no Docker engine: {probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ''}"
        if CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    venv = make_venv(tmp_path / "venv", dists["wheel"])
    team = team_project(tmp_path / "team-service")
    out = run(
        read_only([venv.script, "run", "--backend", "docker", "--lang", "python,cpp"], venv), team, env={"CI": "true"}
    )
    results = json.loads((team / ".appauth-conformance" / "results.json").read_text())
    assert {r["name"] for r in results["runners"]} == {"python-reference", "cpp-reference"}, out.stdout
    assert all(r["backend"] == "docker" and r.get("image") for r in results["runners"])

"""Shared pieces of the installed-package tier: the suite built from a clean copy of the checkout
(wheel, sdist, git+file URL), fresh virtualenvs with it installed, and a team's repository with one
declared signer. Fixtures hand the helpers to test files (a conftest is not imported by name).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def helpers():
    """The module's helpers for test files: run, make_venv, team_project, snapshot, read_only, ROOT, SIGNER."""
    return types.SimpleNamespace(
        run=run,
        make_venv=make_venv,
        team_project=team_project,
        snapshot=snapshot,
        read_only=read_only,
        clean_copy=clean_copy,
        ROOT=ROOT,
        CI=CI,
        SIGNER=SIGNER,
        PYPROJECT=PYPROJECT,
        Venv=Venv,
    )


@pytest.fixture(scope="session")
def wheel_venv(dists, tmp_path_factory) -> Venv:
    """One virtualenv with the wheel installed, shared by the tests that only read it."""
    return make_venv(tmp_path_factory.mktemp("wheel-venv") / "venv", dists["wheel"])

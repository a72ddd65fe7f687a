"""A team's build context: no host file outside the project in an image, modes kept, and a build error
that quotes Docker, never the Dockerfile.

Issue 25: symlinks in a context were followed (a link to a file outside it was copied in with its
contents), `context` and `dockerfile` could be any host folder or file (a mode-600 file came out 0644),
and the first line of an arbitrary host file was echoed into the terminal, results.json and report.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile

import pytest

from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.execution import declared
from appauth_conformance.execution.backends.docker.context import tar

SECRET = "host-secret-5d1e9b"
CLI = [sys.executable, "-m", "appauth_conformance.frontends.cli"]


@pytest.mark.parametrize("key", ["dockerfile", "context"])
def test_a_context_or_dockerfile_outside_the_project_is_refused(key, team, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM scratch\n")
    team.file("runner/Dockerfile", "FROM scratch\n")
    keys = {"dockerfile": "../elsewhere/Dockerfile"} if key == "dockerfile" else {"dockerfile": "runner/Dockerfile"}
    if key == "context":
        keys["context"] = ".."  # the folder holding the project: the user's home, say
    team.declare("hostile-outside", **keys)
    with pytest.raises(UsageError) as e:
        declared.declared_runners(team.toml)
    msg = str(e.value)
    assert f"`{key}`" in msg and "outside the project folder" in msg and "allow_outside_project = true" in msg
    # the documented opt-out, for the rare case
    team.declare("hostile-outside", **keys, allow_outside_project=True)
    assert declared.declared_runners(team.toml)[0].docker is not None


def test_the_opt_out_must_be_a_boolean(team):
    team.file("runner/Dockerfile", "FROM scratch\n")
    team.declare("hostile-outside", dockerfile="runner/Dockerfile", allow_outside_project="yes")
    with pytest.raises(UsageError, match="`allow_outside_project` must be true or false"):
        declared.declared_runners(team.toml)


def test_outside_the_project_from_the_cli_is_exit_2(team, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    team.declare("hostile-outside", dockerfile="../Dockerfile")
    proc = subprocess.run(
        [*CLI, "run", "--backend=docker", "--config", str(team.toml)],
        cwd=team.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "outside the project folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("target", ["../../secret.txt", "ABSOLUTE"])
def test_a_symlink_leading_outside_the_context_is_refused(target, team, tmp_path, docker_backend):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    team.file("runner/Dockerfile", "FROM scratch\nCOPY . /ctx/\n")
    (team.root / "runner" / "sub").mkdir()
    (team.root / "runner" / "sub" / "leak.txt").symlink_to(secret if target == "ABSOLUTE" else target)
    team.declare("hostile-symlink", dockerfile="runner/Dockerfile")
    with pytest.raises(RunnerUnavailable) as e:
        docker_backend().context(team.spec("hostile-symlink"))
    msg = str(e.value)
    assert "sub/leak.txt" in msg and "leads outside" in msg and SECRET not in msg


def test_the_context_keeps_modes_and_symlinks(team, docker_backend):
    """What the engine receives: a 0600 file stays 0600, an executable stays executable, a link stays a link."""
    team.file("runner/Dockerfile", "FROM scratch\n")
    team.file("runner/private.key", "k", mode=0o600)
    team.file("runner/tool.sh", "#!/bin/sh\n", mode=0o755)
    team.file("runner/data/a.txt", "a")
    (team.root / "runner" / "alias.txt").symlink_to("data/a.txt")
    (team.root / "runner" / "data-link").symlink_to("data")
    team.declare("hostile-modes", dockerfile="runner/Dockerfile")
    _dockerfile, files, _tag, _base = docker_backend().context(team.spec("hostile-modes"))
    with tarfile.open(fileobj=tar(files)) as archive:
        got = {m.name: m for m in archive.getmembers()}
    assert got["private.key"].mode == 0o600 and got["tool.sh"].mode == 0o755 and got["data/a.txt"].mode == 0o644
    assert got["alias.txt"].issym() and got["alias.txt"].linkname == "data/a.txt"
    assert got["data-link"].issym() and got["data-link"].linkname == "data"
    assert "data-link/a.txt" not in got  # the linked folder is not copied a second time


@pytest.mark.docker
def test_an_image_gets_the_modes_and_links_of_the_context(team, docker_backend, python_image):
    """Built for real: the RUN step checks inside the image what the engine made of the context."""
    team.file("runner/private.key", "k", mode=0o600)
    team.file("runner/tool.sh", "#!/bin/sh\n", mode=0o755)
    team.file("runner/data.txt", "d")
    (team.root / "runner" / "alias.txt").symlink_to("data.txt")
    team.file(
        "runner/Dockerfile",
        f"FROM {python_image}\nCOPY . /ctx/\n"
        'RUN test "$(stat -c %a /ctx/private.key)" = 600 && test "$(stat -c %a /ctx/tool.sh)" = 755 '
        '&& test -L /ctx/alias.txt && test "$(readlink /ctx/alias.txt)" = data.txt\n',
    )
    team.declare("hostile-modes", dockerfile="runner/Dockerfile", command=["true"])
    b = docker_backend()
    assert b.prepare(team.spec("hostile-modes"))["image"].startswith("appauth-conformance/hostile-modes:")


@pytest.mark.docker
def test_a_build_error_never_shows_the_dockerfile(team, docker_backend, tmp_path):
    """Docker quotes an unknown instruction's whole line: the message says which line, not what it holds."""
    team.file("runner/Dockerfile", f"{SECRET} = the first line of some file\nFROM scratch\n")
    team.declare("hostile-parse", dockerfile="runner/Dockerfile", command=["true"])
    with pytest.raises(RunnerUnavailable) as e:
        docker_backend().prepare(team.spec("hostile-parse"))
    msg = str(e.value)
    assert SECRET.lower() not in msg.lower(), msg
    assert "line 1" in msg and "unknown instruction" in msg.lower()


@pytest.mark.docker
@pytest.mark.slow
def test_a_failed_build_through_run_leaks_nothing(team, tmp_path, python_image):
    """`run`: neither the terminal nor results.json nor report.md holds the Dockerfile's text, and the build's
    own output (escape sequences, workflow commands) reaches the terminal only escaped."""
    team.file(
        "runner/Dockerfile",
        f"FROM {python_image}\nRUN echo {SECRET}-in-a-step; printf '\\033]0;pwned\\007\\n::error::forged\\n'; exit 3\n",
    )
    team.declare("hostile-build", dockerfile="runner/Dockerfile", command=["true"])
    report = tmp_path / "report"
    proc = subprocess.run(
        [
            *CLI,
            "run",
            "--backend=docker",
            "--config",
            str(team.toml),
            "--lang",
            "declared",
            "--report-dir",
            str(report),
        ],
        cwd=team.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "hostile-build" in out and re.search(r"Step 2/\d+ \(RUN\)", out), out[-3000:]
    # the step is named by number and instruction only, Docker's error without the command it quotes
    assert "RUN echo" not in out and "-c echo" not in out and "-c <line 2 of the Dockerfile>" in out
    assert "\x1b" not in out and "\x07" not in out
    assert not any(line.startswith("::") for line in out.splitlines())
    results = json.loads((report / "results.json").read_text())
    (record,) = [r for r in results["runners"] if r["name"] == "hostile-build"]
    assert "RUN echo" not in record["unavailable"]
    if (report / "report.md").exists():
        assert not re.search(r"RUN echo", (report / "report.md").read_text())


def test_a_team_context_honours_its_dockerignore(team, tmp_path, docker_backend):
    (tmp_path / "outside.txt").write_text(SECRET)
    team.file("runner/Dockerfile", "FROM scratch\n")
    team.file("runner/.dockerignore", "# build output\nbuild\n!build/keep.txt\n*.log\n**/secret*\n/venv\n")
    for rel in ("app.py", "build/a.o", "build/keep.txt", "x.log", "sub/x.log", "sub/deep/secret.key", "venv/bin/py"):
        team.file(f"runner/{rel}", rel)
    (team.root / "runner" / "venv" / "leak").symlink_to(tmp_path / "outside.txt")  # ignored: never looked at
    team.declare("hostile-ignore", dockerfile="runner/Dockerfile")
    _dockerfile, files, _tag, _base = docker_backend(ca_bundle="").context(team.spec("hostile-ignore"))
    assert sorted(files) == ["Dockerfile", "app.py", "build/keep.txt", "sub/x.log"]

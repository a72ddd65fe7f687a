"""A team's `*.j2` Dockerfile is untrusted code: no host command and no host file from a template.

Issue 25: `{{ cycler.__init__.__globals__.os.system(...) }}` in a team's template ran on the host, as the
harness's user, under `run`, pytest and `images build`, every time (the template is rendered to compute the
image tag). A team's template is now rendered in jinja2's sandbox with the documented variables only
(docs/docker.md, "Threat model").
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appauth_conformance.core.errors import RunnerUnavailable

pytestmark = pytest.mark.docker

# classic ways out of a jinja2 template, each trying to create MARKER on the host
ESCAPES = {
    "cycler-globals": "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "template-reference": "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "mro-subclasses": "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
    "{% if c.__name__ == 'Popen' %}{{ c(['touch', 'MARKER']) }}{% endif %}{% endfor %}",
    "namespace-globals": "{{ namespace.__init__.__globals__.os.system('touch MARKER') }}",
}


def _template(team, escape: str) -> tuple[object, os.PathLike]:
    marker = team.root.parent / "MARKER"
    team.file("runner/Dockerfile.j2", f"FROM {{{{ base_image }}}}\n# {escape.replace('MARKER', str(marker))}\n")
    team.declare("hostile-template", dockerfile="runner/Dockerfile.j2", command=["true"])
    return team.spec("hostile-template"), marker


@pytest.mark.parametrize("escape", list(ESCAPES.values()), ids=list(ESCAPES))
def test_a_template_cannot_run_host_code(escape, team, docker_backend):
    spec, marker = _template(team, escape)
    try:
        docker_backend().context(spec)  # what computing the image tag does
        msg = "(rendered)"
    except RunnerUnavailable as e:
        msg = str(e)
    assert not marker.exists(), "a team's template ran a command on the host"
    assert "hostile-template" in msg and "Dockerfile.j2" in msg, msg
    assert "documented variables" in msg  # the fix: what a template may use


def test_a_template_cannot_read_host_files(team, docker_backend):
    """No loader: neither a file beside the template nor one elsewhere on the host can be included."""
    team.file("runner/secret.txt", "team-secret-8f3a\n")
    for tag in ("{% include 'secret.txt' %}", "{% import '/etc/hostname' as h %}", "{% extends 'secret.txt' %}"):
        team.file("runner/Dockerfile.j2", f"FROM {{{{ base_image }}}}\n{tag}\n")
        team.declare("hostile-include", dockerfile="runner/Dockerfile.j2", command=["true"])
        with pytest.raises(RunnerUnavailable, match="cannot include or import other files"):
            docker_backend().context(team.spec("hostile-include"))


def test_the_documented_variables_still_render(team, docker_backend):
    team.file("runner/app.py", "print('hi')\n")
    team.file(
        "runner/Dockerfile.j2",
        "FROM {{ base_image }}\n# {{ name }} on {{ suite }}, uid {{ uid }}, files {{ sources | join(',') }}\n"
        "ENTRYPOINT {{ command | tojson }}\nRUN echo {{ 'a b' | shquote }}\n",
    )
    team.declare("hostile-plain", dockerfile="runner/Dockerfile.j2", command=["python3", "app.py"])
    b = docker_backend()
    dockerfile, files, tag, base = b.context(team.spec("hostile-plain"))
    assert dockerfile.splitlines() == [
        f"FROM {base}",
        "# hostile-plain on bookworm, uid 1000, files app.py",
        'ENTRYPOINT ["python3", "app.py"]',
        "RUN echo 'a b'",
    ]
    assert "app.py" in files and tag.startswith("appauth-conformance/hostile-plain:")


@pytest.mark.slow
@pytest.mark.parametrize("door", ["run", "images build", "pytest"])
def test_no_front_door_renders_a_template_on_the_host(door, team, tmp_path):
    """`run`, `images build` and the pytest plugin: the escape is refused, no marker, exit 2 (pytest: the
    declared runner is unavailable, which fails the run) with the template sandbox's message."""
    _spec, marker = _template(team, ESCAPES["template-reference"])
    common = ["--config", str(team.toml), "--lang", "declared"]
    if door == "pytest":
        argv = [sys.executable, "-m", "pytest", "-p", "no:randomly", "--backend=docker", *common]
        argv += ["--report-dir", str(tmp_path / "r"), "-q"]
    else:
        argv = [sys.executable, "-m", "appauth_conformance.frontends.cli", *door.split(), *common]
        argv += ["--backend=docker", "--report-dir", str(tmp_path / "r")] if door == "run" else []
    proc = subprocess.run(argv, cwd=team.root, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert not marker.exists(), "a team's template ran a command on the host"
    assert proc.returncode != 0 and "refused by the template sandbox" in out, out[-3000:]
    assert "documented variables" in out
    if door != "pytest":
        assert proc.returncode == 2 and "Traceback" not in out

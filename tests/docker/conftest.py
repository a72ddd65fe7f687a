"""Docker backend tests: they need a reachable Docker engine.

Without one they are skipped with the reason (how to start an engine); under `CI=true`
they fail instead, so a CI job never passes by skipping them. Tests marked
`docker_no_engine` check the unreachable-engine path and always run.

Images are built on first use and kept (the cache makes later runs fast); every
container a test starts is removed by the test or by the fixtures here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import docker_engine  # tests/docker_engine.py: the engine probe both Docker tiers share
from appauth_conformance.corpus import vectors
from appauth_conformance.execution import declared, variants
from appauth_conformance.execution.backends.docker import (
    LABEL,
    DockerBackend,
    base_tag,
    bootstrap,
    client,
    image_exists,
)
from appauth_conformance.execution.backends.docker.ca_bundle import default_ca_bundle
from appauth_conformance.execution.backends.docker.images import host_mirror

CI = os.environ.get("CI", "").lower() == "true"
SUITES = ("bookworm",)  # the defaults' base; the matrix tests bootstrap the others as needed


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "docker_no_engine: a docker test that runs without an engine (the unreachable path)"
    )


require_engine = docker_engine.require_engine


@pytest.fixture(autouse=True)
def _needs_engine(request):
    if not request.node.get_closest_marker("docker_no_engine"):
        require_engine()


@pytest.fixture(scope="session")
def bases():
    """The bootstrapped base images the default variants build FROM (made when missing: root + debootstrap)."""
    require_engine()
    out = {}
    for suite in SUITES:
        tag = base_tag(suite)
        if not image_exists(tag):
            if os.geteuid() != 0 or not (shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()):
                msg = f"{tag} is missing and cannot be bootstrapped here (needs root and debootstrap)"
                pytest.fail(msg) if CI else pytest.skip(msg)
            bootstrap(suite, progress=None)
        out[suite] = tag
    return out


ROOT = Path(__file__).resolve().parents[2]
SUITE_TAG = "appauth-conformance/suite:test"


@pytest.fixture(scope="session")
def suite_image(tmp_path_factory, bases):
    """The suite's own image (examples/kubernetes/Dockerfile) from a wheel of this checkout, built once
    per session: base and mirror as this machine has them, its proxy CA as docs/kubernetes.md says."""
    ctx = tmp_path_factory.mktemp("suite-image")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(ctx / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (ctx / "ca").mkdir()
    bundle = default_ca_bundle()
    if bundle:  # the machine's proxy CA, as docs/kubernetes.md says to provide it
        shutil.copy(bundle, ctx / "ca" / "proxy.crt")
    shutil.copy(ROOT / "examples" / "kubernetes" / "Dockerfile", ctx / "Dockerfile")
    img, _ = client().images.build(
        path=str(ctx),
        tag=SUITE_TAG,
        buildargs={"BASE": bases["bookworm"], "APT_MIRROR": host_mirror()},
        labels={LABEL: "1"},
        rm=True,
        forcerm=True,
        timeout=1800,
    )
    return img


@pytest.fixture(scope="session")
def backend(bases):
    """One backend for the module's sessions; built images stay cached, containers are removed."""
    b = DockerBackend()
    yield b
    b.close()
    assert b.containers() == []


@pytest.fixture(scope="session")
def built(backend):
    """The default variants, prepared (built when not cached): name -> (spec, tag)."""
    return {s.name: (s, backend.prepare(s)["image"]) for s in variants.default_variants()}


@pytest.fixture(scope="session")
def sample_vectors(tmp_path_factory):
    """A handful of ordinary valid vectors (3 per mode) from the corpus, or made here if it does not load."""
    try:
        corpus = vectors.load()
        picked: dict[str, list] = {}
        for v in corpus.vectors:
            if v.result == "valid" and v.flags == ("ordinary",) and len(picked.setdefault(v.mode, [])) < 3:
                picked[v.mode].append(v)
        out = [v for vs in picked.values() for v in vs]
        if len(out) >= 4:
            return out
    except vectors.CorpusError:
        pass
    from appauth_conformance.corpus import authoring

    d = tmp_path_factory.mktemp("vectors")
    f = d / "sample.yaml"
    f.write_text(
        "schema: appauth-conformance/vectors/1\n"
        "description: a few ordinary vectors made by the docker tests\n"
        "notes:\n  ordinary: Documentation-shaped values.\n"
        "vectors:\n"
        + "".join(
            f"- id: docker-sample-{i}\n  description: sample {i}\n  mode: {mode}\n  inputs:\n"
            f"    app_id: 99dc6ebd718b8c764d1c0acb3dea135{i}\n    corp_id: '{corp}'\n    user_id: '{user}'\n"
            f"    expire_time: 160402060{i}\n    nonce: SnH6av1Ib8pp1xxXHU0BScJXj675eVq30XYqaNUDqN9N{i}\n"
            f"    app_key: ydesokF5NSAllsNdV40J599dTCZWZYvRSZeyx4A{i}\n  result: valid\n  flags:\n  - ordinary\n"
            for i, (mode, corp, user) in enumerate(
                [
                    ("single", "", "zhou.qi@corp"),
                    ("sp_user", "corp01", "alice"),
                    ("sp_corp_admin", "corp01", ""),
                    ("sp_admin", "", ""),
                ]
            )
        )
    )
    authoring.fill(f)
    return vectors.load(f).vectors


def _session_containers(session: str) -> list[dict]:
    return client().api.containers(all=True, filters={"label": f"{LABEL}.session={session}"})


@pytest.fixture
def session_containers():
    """session id -> the containers (running or not) labelled with it."""
    return _session_containers


@pytest.fixture
def declare(tmp_path):
    """Declare a runner the way users do, in an appauth-conformance.toml (the one place that makes the
    Docker settings of a declared runner): declare(name, key=value, ...) -> its RunnerSpec."""

    def make(name: str, **keys):
        toml = tmp_path / f"declared-{name}.toml"  # the project folder is tmp_path: the test's contexts are in it
        body = "".join(f"{k} = {json.dumps(str(v) if isinstance(v, Path) else v)}\n" for k, v in keys.items())
        toml.write_text(f"[runners.{name}]\n{body}")
        (spec,) = declared.declared_runners(toml)
        return spec

    return make

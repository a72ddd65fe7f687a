"""The sandbox's options reach the backend from both front doors' shared options (config.add_options):
--cpus, --container-lifetime, --offline-build (their bad values: tests/test_bad_input.py)."""

from __future__ import annotations

import argparse

import pytest

from appauth_conformance.execution import options as config
from appauth_conformance.execution.backends.docker import DockerBackend
from appauth_conformance.execution.backends.docker.owners import DEFAULT_LIFETIME
from appauth_conformance.execution.backends.docker.sandbox import DEFAULT_CPUS


def _backend(*argv: str) -> DockerBackend:
    p = argparse.ArgumentParser()
    config.add_options(p.add_argument)
    backend = config.make_backend(config.Options.from_namespace(p.parse_args(["--backend=docker", *argv])))
    assert isinstance(backend, DockerBackend)
    return backend


@pytest.mark.docker  # container_options asks the engine
def test_the_options_set_the_limits():
    b = _backend("--cpus", "0.5", "--container-lifetime", "120", "--offline-build")
    assert (b.cpus, b.lifetime, b.offline_build) == (0.5, 120, True)
    opts = b.container_options("some-image:tag")
    assert opts["host_config"]["NanoCpus"] == 500_000_000 and opts["labels"]["appauth-conformance.expires"]


def test_the_defaults():
    b = _backend()
    assert (b.cpus, b.lifetime, b.offline_build) == (DEFAULT_CPUS, DEFAULT_LIFETIME, False) == (1.0, 6 * 3600, False)
    assert (b.uid, b.gid) == (1000, 1000)

"""No engine: a clear DockerUnavailable (a UsageError) that says how to start one, or to use --backend=local."""

from __future__ import annotations

import pytest

from appauth_conformance.core.errors import DockerUnavailable, UsageError
from appauth_conformance.execution import variants
from appauth_conformance.execution.backends import make_backend
from appauth_conformance.execution.backends.docker import client, forget_client, images

pytestmark = [pytest.mark.docker, pytest.mark.docker_no_engine]


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    forget_client()  # the shared client of earlier tests talks to the real engine; the next one connects anew


def test_client_says_how_to_start_an_engine(no_engine):
    with pytest.raises(DockerUnavailable) as e:
        client()
    msg = str(e.value)
    assert isinstance(e.value, UsageError)
    assert "no-such-docker.sock" in msg
    assert "systemctl start docker" in msg and "dockerd &" in msg and "--backend=local" in msg
    assert "scripts/" not in msg  # a pip user has no scripts/ folder


def test_backend_prepare_raises_it_too(no_engine):
    b = make_backend("docker", progress=None)
    with pytest.raises(DockerUnavailable, match="--backend=local"):
        b.prepare(variants.variant("python-reference"))
    b.close()  # nothing started: nothing to do, no engine needed


def test_host_mirror_is_read_from_apt_sources(monkeypatch, tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.org/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example.org/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    (d / "other.list").write_text("deb https://packages.example.com/apt stable main\n")
    monkeypatch.setattr(images, "APT_SOURCES", tmp_path / "sources.list")
    monkeypatch.setattr(images, "APT_SOURCES_DIR", d)
    assert images.host_mirror() == "http://mirror.example.org/debian"
    (tmp_path / "sources.list").write_text(
        "# old style\ndeb [arch=amd64] http://ftp.example.net/debian/ bookworm main\n"
    )
    assert images.host_mirror() == "http://ftp.example.net/debian"
    monkeypatch.setattr(images, "APT_SOURCES", tmp_path / "none")
    monkeypatch.setattr(images, "APT_SOURCES_DIR", tmp_path / "none.d")
    assert images.host_mirror() == images.FALLBACK_MIRROR

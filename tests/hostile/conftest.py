"""The hostile-runner tier (issue 25): a team's runner is untrusted code, and the harness must hold
before its container exists (templates, build contexts, builds), around it (user, limits, lifetime)
and after it (what a runner sends, what the reports show).

Generic pieces only, for every file of the tier:

- tests marked `docker` need a reachable Docker engine: skipped with the reason without one, failed
  under `CI=true` (a CI job never passes by skipping them); other tests here run anywhere;
- `python_image`: the python-reference runner's image (built from the bootstrapped bookworm base when
  missing), a small FROM for hostile images that need python3;
- `team`: a team's project folder with an appauth-conformance.toml declaring runners, as the docs say;
  each Dockerfile it writes ends with a label unique to the test, so no two tests (nor two xdist
  workers) share an image;
- `docker_backend`: DockerBackends closed after the test, with the images they built for runners
  named `hostile-*` removed then.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

import docker_engine  # tests/docker_engine.py: the engine probe both Docker tiers share
from appauth_conformance.execution import declared, variants
from appauth_conformance.execution.backends.docker import LABEL, DockerBackend, base_tag, client, image_exists

CI = os.environ.get("CI", "").lower() == "true"
PREFIX = "hostile-"  # the names of the runners this tier builds images for (removed at the end)


def require_engine() -> None:
    docker_engine.require_engine("hostile-runner Docker")


@pytest.fixture(autouse=True)
def _engine_for_docker_tests(request):
    if request.node.get_closest_marker("docker"):
        require_engine()


@pytest.fixture(scope="session")
def python_image():
    """The tag of the python-reference image (python3 in it), built from appauth-conformance/base:bookworm."""
    require_engine()
    if not image_exists(base_tag("bookworm")):
        msg = f"{base_tag('bookworm')} is missing: `appauth-conformance images bootstrap --suite bookworm`"
        pytest.fail(msg) if CI else pytest.skip(msg)
    b = DockerBackend(progress=None)
    try:
        return b.prepare(variants.variant("python-reference"))["image"]
    finally:
        b.close()


@pytest.fixture
def docker_backend():
    """docker_backend(**options) -> a DockerBackend (quiet), closed after the test; the hostile images it built
    are removed then, and the test can check no container of it is left."""
    made: list[DockerBackend] = []

    def make(**options) -> DockerBackend:
        b = DockerBackend(**{"progress": None, **options})
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
        assert b.containers() == []
        for name, tag in b.images.items():
            if name.startswith(PREFIX):
                try:
                    client().api.remove_image(tag, force=True)
                except Exception:
                    pass


class Team:
    """A team's project folder: files written into it, runners declared in its appauth-conformance.toml."""

    def __init__(self, root: Path):
        self.root = root
        self.nonce = uuid.uuid4().hex[:12]
        self.toml = root / "appauth-conformance.toml"
        self.tables: dict[str, dict] = {}

    def file(self, rel: str, content: str | bytes, mode: int | None = None) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name == "Dockerfile" and isinstance(content, str):  # this test's own image
            content += f"\nLABEL {LABEL}.test={self.nonce}\n"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if mode is not None:
            path.chmod(mode)
        return path

    def declare(self, name: str, **keys) -> Path:
        """Add [runners.NAME] with `keys` (TOML values) and rewrite the config file; returns its path."""
        self.tables[name] = keys
        self.toml.write_text(
            "".join(
                f"[runners.{n}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in t.items())
                for n, t in self.tables.items()
            )
        )
        return self.toml

    def spec(self, name: str):
        """The RunnerSpec the config makes of runner `name` (declared.declared_runners, as the CLI does)."""
        (spec,) = [s for s in declared.declared_runners(self.toml) if s.name == name]
        return spec


@pytest.fixture
def team(tmp_path):
    """A team's project folder; afterwards, whatever the engine still holds with its test label (a build's
    intermediate containers and images) is removed."""
    root = tmp_path / "team-project"
    root.mkdir()
    t = Team(root)
    yield t
    if docker_engine.why_not() is None:  # an engine answered: remove what this team built
        api = client().api
        label = f"{LABEL}.test={t.nonce}"
        for c in api.containers(all=True, quiet=True, filters={"label": label}):
            api.remove_container(c["Id"], force=True)
        for image in api.images(quiet=True, filters={"label": label}):
            try:
                api.remove_image(image, force=True)
            except Exception:  # already gone with its child
                pass

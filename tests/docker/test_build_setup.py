"""Docker set-up errors come before any build, and builds leave no untagged images (issue 21).

Every image these tests build is tagged with a fresh marker and removed by the test; dangling
images are found by that marker in their history, so other people's images are never looked at
for the verdict nor touched.
"""

from __future__ import annotations

import uuid

import pytest

from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.execution.backends.docker import DockerBackend, client
from appauth_conformance.execution.pipeline import Engine


def _dangling_with(marker: str) -> list[str]:
    """Untagged images whose history holds marker: the builder stages of the test's own build."""
    api = client().api
    out = []
    for image in api.images(filters={"dangling": True}):
        try:
            history = api.history(image["Id"])
        except Exception:  # removed meanwhile by someone else
            continue
        if any(marker in (step.get("CreatedBy") or "") for step in history):
            out.append(image["Id"])
    return out


def _two_stage(tmp_path, base: str, marker: str):
    ctx = tmp_path / f"ctx-{marker[:8]}"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {base} AS build\nRUN echo {marker} > /built\n"
        f'FROM {base}\nCOPY --from=build /built /built\nCMD ["cat", "/built"]\n'
    )
    return ctx / "Dockerfile"


def test_a_multi_stage_build_leaves_no_untagged_image(bases, declare, tmp_path):
    marker = f"appauth-21b-{uuid.uuid4().hex}"
    spec = declare("two-stage", dockerfile=_two_stage(tmp_path, bases["bookworm"], marker))
    b = DockerBackend(progress=None)
    tag = None
    try:
        tag = b.prepare(spec)["image"]
        assert b.builds == 1
        assert client().api.inspect_image(tag)  # the runner's image is there, tagged
        assert _dangling_with(marker) == [], "the builder stage was left behind as an untagged image"
    finally:
        b.close()
        for image in [*([tag] if tag else []), *_dangling_with(marker)]:
            client().api.remove_image(image, force=True)


def test_a_declared_runner_without_an_image_stops_the_run_before_any_build(bases, declare, tmp_path):
    """A declared runner with no `image` or `dockerfile`, selected with one that needs a build: the run stops
    at once, naming the runner and the fix, and builds nothing."""
    marker = f"appauth-21b-{uuid.uuid4().hex}"
    needs_build = declare("needs-build", dockerfile=_two_stage(tmp_path, bases["bookworm"], marker))
    bare = declare("bare", command=["python3", "signer.py"])
    said: list[str] = []
    b = DockerBackend(progress=said.append)
    try:
        with pytest.raises(UsageError, match=r"bare: no Docker image is declared for this runner; give it one") as e:
            Engine([needs_build, bare], b).prepare()
        assert "before any build" in str(e.value) and "appauth-conformance docs docker" in str(e.value)
        assert b.builds == 0 and not any("building" in s for s in said), said
    finally:
        b.close()


def test_a_missing_image_and_an_unpullable_base_are_named_before_any_build(bases, declare, tmp_path):
    marker = f"appauth-21b-{uuid.uuid4().hex}"
    missing = declare("gone", image=f"appauth-conformance/none-{marker}:0")
    ctx = tmp_path / "unpullable"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM appauth-conformance/no-such-base-{marker}:1\nRUN true\n")
    unpullable = declare("unpullable", dockerfile=ctx / "Dockerfile")
    b = DockerBackend(progress=None)
    try:
        found = b.check([missing, unpullable])
        assert set(found) == {"gone", "unpullable"}
        assert "is not in the local engine; build or load it" in found["gone"]
        assert (
            f"base image appauth-conformance/no-such-base-{marker}:1 is not in the local engine" in found["unpullable"]
        )
        from appauth_conformance.execution.backends.docker import build

        with pytest.raises(RunnerUnavailable, match="before any build"):
            build([missing, unpullable], b)
        assert b.builds == 0
    finally:
        b.close()

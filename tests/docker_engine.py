"""The Docker engine probe shared by the Docker tier (tests/docker) and the hostile-runner tier
(tests/hostile): asked once per session; a test that needs an engine skips without one, and fails
under CI=true, where every tier must run."""

from __future__ import annotations

import os
from functools import cache

import pytest

from appauth_conformance.core.errors import DockerUnavailable
from appauth_conformance.execution.backends.docker import client

CI = os.environ.get("CI", "").lower() == "true"


@cache
def why_not() -> str | None:
    """None when an engine answers, else why not (with its fix)."""
    try:
        client()
    except DockerUnavailable as e:
        return str(e)
    return None


def require_engine(tier: str = "Docker") -> None:
    """Skip (fail under CI=true) with the reason and the fix when no engine answers."""
    why = why_not()
    if why is not None:
        if CI:
            pytest.fail(f"CI=true and the {tier} tests cannot run: {why}", pytrace=False)
        pytest.skip(f"no Docker engine: {why}")

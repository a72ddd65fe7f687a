"""The Docker backend: each runner built into its own image and run in a sandboxed container.

One job per module, imported in this order (none imports a later one):

- `engine`   the engine client: connect and ping, the shared client, image look-ups, the sweep of
             leftover containers, and DockerUnavailable with its fix
- `process`  a container as a Popen-like process: its stdin on the attach socket, the stream
             demultiplexer
- `images`   base images made with debootstrap, the host's Debian mirror, building many images
- `context`  a build context (modes kept, symlinks as symlinks, none leading outside), its tar, the
             Dockerfile templates (the suite's own with jinja2, a team's in jinja2's sandbox)
- `owners`   who owns a container (labels), its lifetime inside it, the watchdog, the sweep of stale ones
- `backend`  DockerBackend: CA bundle, image builds, the container sandbox, start and close

The variants (which runner on which Debian suite, with what pinned) are data beside each runner,
read by appauth_conformance.execution.variants. See docs/docker.md.
"""

from __future__ import annotations

from appauth_conformance.execution.backends.docker.backend import CA_NAME, DockerBackend, default_ca_bundle
from appauth_conformance.execution.backends.docker.engine import (
    LABEL,
    SESSION_LABEL,
    client,
    forget_client,
    image_exists,
    image_id,
    remove_leftovers,
)
from appauth_conformance.execution.backends.docker.images import (
    BASE_REPOSITORY,
    FALLBACK_MIRROR,
    base_tag,
    bootstrap,
    build,
    host_mirror,
)
from appauth_conformance.execution.backends.docker.process import DockerProcess

__all__ = [
    "BASE_REPOSITORY",
    "CA_NAME",
    "FALLBACK_MIRROR",
    "LABEL",
    "SESSION_LABEL",
    "DockerBackend",
    "DockerProcess",
    "base_tag",
    "bootstrap",
    "build",
    "client",
    "default_ca_bundle",
    "forget_client",
    "host_mirror",
    "image_exists",
    "image_id",
    "remove_leftovers",
]

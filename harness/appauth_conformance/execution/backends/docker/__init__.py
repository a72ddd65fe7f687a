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
- `stages`   the builder stages of one build, labelled and removed after it
- `precheck` set-up errors before any build: every runner's image or Dockerfile, the base images
- `ca_bundle` the CA bundle the builds trust (a TLS-intercepting proxy's), its name in a context
- `recipe`   what an image is made from: the runner's settings, its Dockerfile, context and content-hash tag
- `building` one image's build: the build stream, its step lines, its errors (never a team's Dockerfile)
- `sandbox`  a runner container's create options: the sandbox, the lifetime wrapper, the `timeout` probe
- `backend`  DockerBackend: a session's images (found or built) and containers (started, tracked, closed)

The variants (which runner on which Debian suite, with what pinned) are data beside each runner,
read by appauth_conformance.execution.variants. See docs/docker.md.
"""

from __future__ import annotations

from appauth_conformance.execution.backends.docker.backend import DockerBackend
from appauth_conformance.execution.backends.docker.ca_bundle import CA_NAME, default_ca_bundle
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

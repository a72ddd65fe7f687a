"""Multi-stage builds leave no untagged images behind.

The legacy builder (the engine's build API) keeps the last image of every builder stage as an
untagged ("dangling") image: about 3 GB after one matrix build. Before a build, each builder stage
gets a last step `LABEL appauth-conformance.build=<this build's id>` (at the end of the stage, so
the stage's own steps stay cached); after the build, the dangling images with that label, and
only those, are removed. Other people's images, and concurrent builds, are never touched.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from appauth_conformance.execution.backends.docker.engine import LABEL

if TYPE_CHECKING:
    from docker import APIClient

BUILD_LABEL = f"{LABEL}.build"  # on the last image of each builder stage: the id of the build that made it
FROM = re.compile(r"\s*FROM\s", re.I)


def label_stages(dockerfile: str, build_id: str) -> str:
    """The Dockerfile with a LABEL step closing every stage but the last (the tagged image)."""
    out: list[str] = []
    seen = False
    for line in dockerfile.split("\n"):
        if FROM.match(line):
            previous = next((x for x in reversed(out) if x.strip()), "")
            if seen and not previous.rstrip().endswith("\\"):
                out.append(f"LABEL {BUILD_LABEL}={build_id}")
            seen = True
        out.append(line)
    return "\n".join(out)


def remove_stages(api: APIClient, build_id: str) -> int:
    """Remove the untagged builder-stage images of one build; how many were removed."""
    from docker.errors import APIError

    removed = 0
    for image in api.images(filters={"dangling": True, "label": f"{BUILD_LABEL}={build_id}"}):
        if image.get("RepoTags") not in (None, [], ["<none>:<none>"]):
            continue  # tagged after all: never ours to remove
        try:
            api.remove_image(image["Id"])
            removed += 1
        except APIError:  # in use (a container of it), or gone already
            pass
    return removed

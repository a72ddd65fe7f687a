"""The CA bundle the image builds trust (a TLS-intercepting proxy's CA): which file, and its name in a
build context. The Dockerfile templates point apt, pip and npm at it (docs/docker.md, "Behind a
TLS-intercepting proxy")."""

from __future__ import annotations

import os

CA_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS")
CA_NAME = "appauth-ca.crt"  # the CA bundle's name in a build context


def default_ca_bundle() -> str | None:
    """The machine's CA bundle: the first existing file named by SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
    PIP_CERT or NODE_EXTRA_CA_CERTS (the corporate-proxy convention), else None."""
    for var in CA_ENV:
        path = os.environ.get(var)
        if path and os.path.isfile(path):
            return path
    return None

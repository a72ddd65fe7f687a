"""The throw-away certificate authority of one serve run (trustme, on the `cryptography` library):
a CA made for the run, a server certificate for localhost/127.0.0.1/::1 (and the host served), the
CA's certificate written where clients read it (SSL_CERT_FILE and friends)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class RunCA:
    ca_pem: Path  # what clients trust
    cert_pem: Path  # the server's chain
    key_pem: Path  # the server's private key


def make(folder: Path, host: str) -> RunCA:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="appauth-conformance serve (throw-away run CA)")
    names = ["localhost", "127.0.0.1", "::1"]
    if host not in names and host not in ("0.0.0.0", "::"):
        names.append(host)
    cert = ca.issue_cert(*names)
    paths = RunCA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca_pem))
    cert.private_key_pem.write_to_path(str(paths.key_pem))
    with open(paths.cert_pem, "wb") as f:
        for blob in cert.cert_chain_pems:
            f.write(blob.bytes())
    paths.key_pem.chmod(0o600)
    return paths

"""The `appauth_endpoint` pytest fixture's object: the verifying endpoint inside the test process.

    def test_login(appauth_endpoint):
        appauth_endpoint.add_app("my-app", "my-key")            # or add_app(..., tenancy="sp")
        my_client.login(base_url=appauth_endpoint.url, verify=appauth_endpoint.ca_path)
        appauth_endpoint.assert_conforming()                    # the staged explanation on failure

It serves HTTPS with a CA made for the test (`ca_path`; `http=True` for plain HTTP), on 127.0.0.1 and
a free port, judges like `serve` (docs/endpoint.md) and keeps the judged requests in `requests`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from appauth_conformance.core.model import RunnerSpec, TokenResult
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.endpoint import ca as ca_mod
from appauth_conformance.endpoint import gate
from appauth_conformance.endpoint.apps import TENANCIES, App
from appauth_conformance.endpoint.judging import PATH, Endpoint
from appauth_conformance.endpoint.memory import Memory
from appauth_conformance.endpoint.server import Server, application
from appauth_conformance.judging import tokens


class LocalEndpoint:
    def __init__(self, *, http: bool = False, strict: bool = False, name: str = "endpoint"):
        spec = RunnerSpec(name, "http", (), group="declared")
        self.memory = Memory()
        judge = tokens.Judge(Expectations.load(spec), memory=self.memory.recall)
        self.endpoint = Endpoint({}, judge, self.memory, name, strict=strict)
        self.folder = Path(tempfile.mkdtemp(prefix="appauth-endpoint-"))
        run_ca = None if http else ca_mod.make(self.folder, "127.0.0.1")
        self.ca_path: Path | None = run_ca.ca_pem if run_ca else None
        cert = (str(run_ca.cert_pem), str(run_ca.key_pem)) if run_ca else None
        self.server = Server(application(self.endpoint), "127.0.0.1", 0, cert)
        self.url = f"{'http' if http else 'https'}://127.0.0.1:{self.server.port}"
        self.auth_url = self.url + PATH

    def add_app(self, app_id: str, key: str, tenancy: str = "single") -> None:
        if tenancy not in TENANCIES:
            raise ValueError(f"tenancy {tenancy!r} is not one of {', '.join(TENANCIES)}")
        self.endpoint.apps[app_id] = App(app_id, key, tenancy)

    @property
    def requests(self) -> list[TokenResult]:
        """The judged requests so far, in arrival order (each a TokenResult: judgement, checks, outcome)."""
        with self.endpoint.lock:
            return list(self.endpoint.results)

    def failures(self) -> list[TokenResult]:
        return gate.failing(self.requests)

    def assert_conforming(self, at_least: int = 1) -> None:
        """Every judged request conforms and at least `at_least` arrived; else an AssertionError that explains
        each failing request stage by stage, with the mistakes that explain it."""
        got = self.requests
        if len(got) < at_least:
            raise AssertionError(f"{len(got)} request(s) reached {self.auth_url}; expected at least {at_least}")
        text = gate.explained(got)
        if text:
            raise AssertionError(text)

    def start(self) -> LocalEndpoint:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.memory.close()
        shutil.rmtree(self.folder, ignore_errors=True)

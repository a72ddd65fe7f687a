"""Declared endpoint clients (`endpoint = true`) in `run` and the pytest plugin.

Each runs as `serve -- COMMAND` runs one (endpoint/gate.py), on this machine whatever the backend: its
command gets $APPAUTH_ENDPOINT and the run's CA, and every request it makes is judged. Its requests are the
outcomes of one runner (language "http", group "declared") in the run's results.json, beside the runners'.
It fails when a request does not conform (after its known divergences), its command fails, or it never calls.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from appauth_conformance.core.model import RunnerSpec, TokenResult, Verdict
from appauth_conformance.endpoint import apps as apps_mod
from appauth_conformance.endpoint import gate
from appauth_conformance.endpoint.apps import App
from appauth_conformance.execution import options as cfg
from appauth_conformance.formats.results import Recorder


@dataclass
class Client:
    spec: RunnerSpec
    apps: dict[str, App] = field(repr=False)
    got: gate.Gated | None = None  # once it ran

    def register(self, recorder: Recorder) -> None:
        recorder.runner(self.spec.name, "http", group="declared")

    def run(self, opts: cfg.Options, recorder: Recorder) -> gate.Gated:
        """Serve, run the client's command to its end and record what it asked; Ctrl-C: recorded, then raised."""
        self.register(recorder)
        setup = gate.Setup(self.spec, self.apps, window=opts.token_window, allow_never=opts.allow_never_expires)
        got = gate.run(setup, self.spec.argv(), cwd=self.spec.workdir, env=self.spec.env)
        for r in got.results:
            recorder.add_token(r)
        self.got = got
        if got.interrupted:
            raise KeyboardInterrupt
        return got

    @property
    def results(self) -> list[TokenResult]:
        return list(self.got.results) if self.got else []  # a client makes few requests

    def problems(self) -> list[str]:
        """Why it fails besides a non-conforming request (its command failed, it never called), as sentences."""
        return gate.problems(self.spec.argv(), self.got) if self.got else []

    @property
    def failed(self) -> bool:
        return bool(gate.failing(self.results) or self.problems())

    def row(self) -> tuple[str, str, str]:
        """Its line of `run`'s summary table: name, status, outcomes."""
        t = Counter(r.judgement.verdict for r in self.results)
        detail = "endpoint client | requests: " + ("  ".join(f"{v.value} {t[v]}" for v in Verdict if t[v]) or "none")
        if self.got and self.got.code:
            detail += f"  | command exit {self.got.code}"
        return self.spec.name, "FAIL" if self.failed else "ok", detail

    def failure(self) -> str:
        """The whole reason it fails: each non-conforming request explained, then the other problems."""
        parts = [gate.explained(self.results, self.spec), *self.problems()]
        return "\n\n".join(p for p in parts if p)


def split(specs: list[RunnerSpec]) -> tuple[list[RunnerSpec], list[Client]]:
    """The runners, and the endpoint clients with their apps (none declared: a UsageError naming the table)."""
    clients = [Client(s, apps_mod.for_client(s)) for s in specs if s.client_of is not None]
    return [s for s in specs if s.client_of is None], clients

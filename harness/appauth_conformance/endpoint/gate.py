"""One gated client: start the verifying endpoint, run a command against it, stop, return the judged requests.

The command gets the endpoint in its environment: APPAUTH_ENDPOINT (the base URL) and, over HTTPS, the CA
made for the run in SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS. `serve --
COMMAND` uses it, and so do the front ends for a declared endpoint client (`endpoint = true`): `run` and
the pytest plugin. The verdict is theirs; `problems` and `explained` word it the same way for all three.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import FAILING, RunnerSpec, TokenResult
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.endpoint.apps import App
from appauth_conformance.endpoint.judging import BODY_TIMEOUT, PATH, Endpoint
from appauth_conformance.endpoint.memory import Memory
from appauth_conformance.endpoint.spool import Spool
from appauth_conformance.execution import options as cfg
from appauth_conformance.judging import tokens

CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


@dataclass(frozen=True)
class Setup:
    """How to serve: the client's spec (its name and known divergences in the reports), the apps, the rest as
    `serve`'s options of the same names."""

    spec: RunnerSpec
    apps: dict[str, App] = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    http: bool = False
    strict: bool = False
    state: Path | None = None
    window: int = cfg.DEFAULTS["token_window"]
    allow_never: bool = False
    body_timeout: float = BODY_TIMEOUT


@dataclass
class Gated:
    results: list[TokenResult] | Spool  # the judged requests, in arrival order (serve's: its spool)
    code: int | None = None  # the command's exit status; None without a command, or when interrupted
    interrupted: bool = False  # Ctrl-C or SIGTERM: the command was stopped, the results are what arrived


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(
    s: Setup,
    command: list[str] | None,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Gated:
    """Serve, run `command` (in `cwd`, with `env` added) to its end, stop and return what was judged; without a
    command, serve until Ctrl-C or SIGTERM. A port that cannot be listened on is a UsageError."""
    # the HTTP and TLS stacks (uvicorn, starlette, trustme) only when serving: every other command starts faster
    from appauth_conformance.endpoint import ca as ca_mod
    from appauth_conformance.endpoint.server import Server, application

    memory = Memory.load(s.state)
    judge = tokens.Judge(Expectations.load(s.spec), window=s.window, allow_never=s.allow_never, memory=memory.recall)
    endpoint = Endpoint(s.apps, judge, memory, s.spec.name, strict=s.strict)
    folder = Path(tempfile.mkdtemp(prefix="appauth-serve-"))
    out = Gated([])
    server = None
    try:
        run_ca = None if s.http else ca_mod.make(folder, s.host)
        host = f"[{s.host}]" if ":" in s.host else s.host
        try:
            server = Server(
                application(endpoint, s.body_timeout),
                s.host,
                s.port,
                (str(run_ca.cert_pem), str(run_ca.key_pem)) if run_ca else None,
                s.body_timeout,
            )
        except OSError as e:
            raise UsageError(f"--host {s.host} --port {s.port}: cannot listen there ({e.strerror or e})") from None
        base = f"{'http' if s.http else 'https'}://{host}:{server.port}"
        server.start()
        _say(f"serving {base}{PATH}" + (f" (CA: {run_ca.ca_pem})" if run_ca else " (plain HTTP)"))
        if command:
            added = {**(env or {}), "APPAUTH_ENDPOINT": base}
            if run_ca:
                added.update({v: str(run_ca.ca_pem) for v in CA_VARIABLES})
            out.code = _run(command, {**os.environ, **added}, cwd)
        else:
            _say("serving until Ctrl-C or SIGTERM; results are written then")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        out.interrupted = True
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        memory.close()
        out.results = endpoint.results  # the spool: read back one result at a time, as often as needed
    return out


def _run(command: list[str], env: dict[str, str], cwd: Path | None) -> int:
    """The client's command, in its own process group (stopped with it when the run is interrupted)."""
    try:
        proc = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)
    except OSError as e:
        raise UsageError(f"cannot start {command[0]!r}: {e.strerror or e}") from None
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise


def failing(results: Iterable[TokenResult]) -> list[TokenResult]:
    return [r for r in results if r.judgement.verdict in FAILING]


def problems(command: list[str] | None, got: Gated) -> list[str]:
    """Why a gated client fails besides its non-conforming requests: its command failed, or it never called."""
    out = []
    if command and got.code not in (0, None):
        out.append(f"the command {untrusted.line(' '.join(command), 120)} failed (exit {got.code})")
    if not got.results:
        out.append(
            f"no request reached the endpoint: the client never called POST {PATH} (is it pointed at $APPAUTH_ENDPOINT?)"
        )
    return out


def explained(results: list[TokenResult] | Spool, spec: RunnerSpec | None = None) -> str:
    """Each non-conforming request explained stage by stage, with the mistakes that explain it ('' if none)."""
    from appauth_conformance.judging.explain import explain_token

    bad = failing(results)
    if not bad:
        return ""
    return f"{len(bad)} of {len(results)} request(s) do not conform:\n" + "\n\n".join(
        explain_token(r, spec) for r in bad
    )

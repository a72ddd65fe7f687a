"""`appauth-conformance serve [options] [-- COMMAND ARGS...]`: the endpoint as a gate for a real client.

Starts the endpoint (HTTPS with a CA made for the run, or --http), runs COMMAND with the endpoint in
its environment (APPAUTH_ENDPOINT, and the run's CA in SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS), stops when it ends, and judges: exit 0 only when the command
succeeded, at least one request arrived and every request conforms (or is a listed known divergence);
1 otherwise; 2 for a set-up error. Without COMMAND it serves until Ctrl-C or SIGTERM. Either way the
judged requests are the outcomes of one runner in results.json, report.md and report.html.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import Exit, UsageError
from appauth_conformance.core.model import FAILING, Corpus, RunnerSpec
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.endpoint import apps as apps_mod
from appauth_conformance.endpoint.judging import BODY_TIMEOUT, PATH, Endpoint
from appauth_conformance.endpoint.memory import Memory
from appauth_conformance.execution import options as cfg
from appauth_conformance.formats import arguments
from appauth_conformance.formats.results import Recorder
from appauth_conformance.judging import tokens

CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
REPORT_DIR = ".appauth-conformance"  # serve's reports: in the current folder


def _host(flag: str, given: str) -> str:
    try:
        ipaddress.ip_address(given)
    except ValueError:
        raise UsageError(f"{flag} {given[:60]!r}: give an IP address, e.g. 127.0.0.1 or ::1") from None
    return given


def add_parser(sub) -> None:
    s = sub.add_parser(
        "serve",
        help="serve the App ID authentication API locally and judge a real client's requests (`appauth-conformance docs endpoint`)",
        description="Serve POST /v2/usg/acs/auth/appauth on this machine and judge every request with the token "
        "checks. With `-- COMMAND ARGS...` run the command against it and gate on the result; without, serve until "
        "Ctrl-C. Exit codes: 0 every request conforms, 1 a request does not (or the command failed, or never "
        "called), 2 set-up error.",
    )
    s.add_argument("--app", action="append", default=[], metavar="APP_ID=KEY", help="a single-tenant app (repeatable)")
    s.add_argument(
        "--sp-app",
        action="append",
        default=[],
        metavar="APP_ID=KEY",
        help="a service-provider (multi-tenant) app (repeatable)",
    )
    s.add_argument(
        "--config",
        default="pyproject.toml",
        help="where [tool.appauth-conformance.endpoint] is read (default: pyproject.toml, if present)",
    )
    s.add_argument(
        "--host",
        default="127.0.0.1",
        type=arguments.typed("--host", _host),
        help="the address to bind (default 127.0.0.1; others are warned about)",
    )
    s.add_argument(
        "--port",
        default=0,
        type=arguments.typed("--port", arguments.integer, 0, 65535),
        help="the port (default 0: a free one, printed)",
    )
    s.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS with a CA made for the run")
    s.add_argument(
        "--strict",
        action="store_true",
        help="refuse every non-conforming request (default: answer as the service would)",
    )
    s.add_argument(
        "--state",
        type=arguments.typed("--state", arguments.output_file),
        metavar="FILE",
        help="a file (an SQLite database serve makes) keeping the nonces and tokens seen across serve runs, e.g. in "
        "one CI job; without it they are kept in a temporary file, removed when serve ends",
    )
    s.add_argument(
        "--name",
        type=arguments.typed("--name", arguments.text),
        help="the runner name in the reports (default: endpoint:<app id>, or endpoint)",
    )
    s.add_argument(
        "--divergences",
        type=arguments.typed("--divergences", arguments.existing_file),
        help="known divergences of this client, by diagnosis (`appauth-conformance docs gate`)",
    )
    s.add_argument(
        "--report-dir",
        default=REPORT_DIR,
        type=arguments.typed("--report-dir", arguments.output_dir),
        help=f"where results.json and the reports go (default: {REPORT_DIR})",
    )
    s.add_argument(
        "--token-window",
        default=cfg.DEFAULTS["token_window"],
        type=arguments.typed("--token-window", arguments.integer, 1, 10 * 366 * 86400),
        help=f"how far ahead an expiry may be, in seconds (default {cfg.DEFAULTS['token_window']})",
    )
    s.add_argument(
        "--body-timeout",
        default=BODY_TIMEOUT,
        type=arguments.typed("--body-timeout", arguments.number, 0.1, 3600),
        help=f"seconds a request head or body may take to arrive (default {BODY_TIMEOUT:g}): a slower client gets 408",
    )
    s.add_argument("--allow-never-expires", action="store_true", help="accept expireTime 0")
    s.add_argument(
        "command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...: the client to run against the endpoint"
    )
    s.set_defaults(func=cmd_serve)


def _options(a) -> dict:
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if a.command and a.command[0] != "--":
        raise UsageError(
            f"serve: unexpected {a.command[0]!r}: put the client's command after `--` (serve -- COMMAND ARGS...)"
        )
    if a.command[:1] == ["--"] and not command:
        raise UsageError(
            "serve: nothing after `--`: give the client's command (serve -- COMMAND ARGS...), or leave `--` out to serve until Ctrl-C"
        )
    if command and shutil.which(command[0]) is None:
        raise UsageError(f"serve: cannot start {command[0]!r}: no such program (on PATH, or at that path, executable)")
    config = Path(a.config)
    if a.config != "pyproject.toml" and not config.is_file():
        raise UsageError(f"--config {a.config}: no such file")
    apps = apps_mod.collect(a.app, a.sp_app, config)
    name = a.name if a.name is not None else (f"endpoint:{next(iter(apps))}" if len(apps) == 1 else "endpoint")
    return dict(
        apps=apps,
        port=a.port,
        window=a.token_window,
        report_dir=Path(a.report_dir),
        divergences=a.divergences,
        name=name,
        command=command,
        body_timeout=a.body_timeout,
    )


def cmd_serve(a) -> int:
    # the HTTP and TLS stacks (uvicorn, starlette, trustme) only for `serve`: every other command starts faster
    from appauth_conformance.endpoint import ca as ca_mod
    from appauth_conformance.endpoint.server import Server, application

    o = _options(a)
    if not ipaddress.ip_address(a.host).is_loopback:
        print(
            f"warning: serving on {a.host}, not a loopback address: anyone who reaches this machine can call it",
            file=sys.stderr,
        )
    spec = RunnerSpec(o["name"], "http", (), divergences=o["divergences"], group="declared")
    memory = Memory.load(Path(a.state) if a.state else None)
    judge = tokens.Judge(
        Expectations.load(spec), window=o["window"], allow_never=a.allow_never_expires, memory=memory.recall
    )
    endpoint = Endpoint(o["apps"], judge, memory, o["name"], strict=a.strict)
    folder = Path(tempfile.mkdtemp(prefix="appauth-serve-"))
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]]
    for app in o["apps"].values():  # --app ID=KEY: the key never reaches a report
        argv = [arg.replace(app.key, "***") for arg in argv]
    recorder = Recorder(o["report_dir"] / "results.json", Corpus([], {}), backend="endpoint", command=argv)
    recorder.runner(o["name"], "http", group="declared")
    complete, code, server, interrupted = False, 0, None, False
    verdicts: Counter = Counter()
    try:
        run_ca = None if a.http else ca_mod.make(folder, a.host)
        host = f"[{a.host}]" if ":" in a.host else a.host
        try:
            server = Server(
                application(endpoint, o["body_timeout"]),
                a.host,
                o["port"],
                (str(run_ca.cert_pem), str(run_ca.key_pem)) if run_ca else None,
                o["body_timeout"],
            )
        except OSError as e:
            raise UsageError(f"--host {a.host} --port {o['port']}: cannot listen there ({e.strerror or e})") from None
        base = f"{'http' if a.http else 'https'}://{host}:{server.port}"
        server.start()
        print(
            f"serving {base}{PATH}" + (f" (CA: {run_ca.ca_pem})" if run_ca else " (plain HTTP)"),
            file=sys.stderr,
            flush=True,
        )
        if o["command"]:
            env = {**os.environ, "APPAUTH_ENDPOINT": base}
            if run_ca:
                env.update({v: str(run_ca.ca_pem) for v in CA_VARIABLES})
            code = _run(o["command"], env)
            complete = True
        else:
            print("serving until Ctrl-C or SIGTERM; results are written then", file=sys.stderr, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        interrupted = True
        if o["command"]:
            print(
                "interrupted: the command was stopped; results.json keeps what arrived (marked incomplete)",
                file=sys.stderr,
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        memory.close()
        with endpoint.lock:
            for r in endpoint.results:  # streamed from the spool: one result in memory at a time
                recorder.add_token(r)
                verdicts[r.judgement.verdict] += 1
        recorder.write(complete=complete)
        from appauth_conformance.report import write_reports_after_run

        written = write_reports_after_run(recorder.path)
        print(written.line, file=sys.stderr)
    verdict = _verdict(o, verdicts, code, recorder, written.ok)
    return Exit.INTERRUPTED if interrupted and o["command"] else verdict  # a gate cut short never passes


def _run(command: list[str], env: dict[str, str]) -> int:
    """The client's command, in its own process group (stopped with it when serve is interrupted)."""
    try:
        proc = subprocess.Popen(command, env=env, start_new_session=True)
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


def _verdict(o: dict, c: Counter, code: int, recorder: Recorder, reports_ok: bool) -> int:
    """`c`: the judged requests' verdicts, counted."""
    failing = sum(c[v] for v in FAILING)
    print(f"{o['name']}: {c.total()} request(s): " + ("  ".join(f"{v.value} {n}" for v, n in c.items()) or "none"))
    if failing:
        from appauth_conformance.report import terminal

        print()
        for line in terminal.grouped(recorder.document(complete=True)):
            print(line)
        print()
    print(f"results: {recorder.path}")
    bad = failing > 0 or not reports_ok
    if o["command"] and code != 0:
        print(f"error: the command {untrusted.line(' '.join(o['command']), 120)} failed (exit {code})", file=sys.stderr)
        bad = True
    if not c:
        print(
            f"error: no request reached the endpoint: the client never called POST {PATH} "
            "(is it pointed at $APPAUTH_ENDPOINT?)",
            file=sys.stderr,
        )
        bad = True
    return Exit.NONCONFORMING if bad else Exit.OK

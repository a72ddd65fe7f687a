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
import shutil
import sys
from collections import Counter
from pathlib import Path

from appauth_conformance.core.errors import Exit, UsageError
from appauth_conformance.core.model import FAILING, Corpus, RunnerSpec
from appauth_conformance.endpoint import apps as apps_mod
from appauth_conformance.endpoint import gate
from appauth_conformance.endpoint.judging import BODY_TIMEOUT
from appauth_conformance.execution import options as cfg
from appauth_conformance.formats import arguments
from appauth_conformance.formats.results import Recorder

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
    o = _options(a)
    if not ipaddress.ip_address(a.host).is_loopback:
        print(
            f"warning: serving on {a.host}, not a loopback address: anyone who reaches this machine can call it",
            file=sys.stderr,
        )
    spec = RunnerSpec(o["name"], "http", (), divergences=o["divergences"], group="declared")
    setup = gate.Setup(
        spec,
        o["apps"],
        host=a.host,
        port=o["port"],
        http=a.http,
        strict=a.strict,
        state=Path(a.state) if a.state else None,
        window=o["window"],
        allow_never=a.allow_never_expires,
        body_timeout=o["body_timeout"],
    )
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]]
    for app in o["apps"].values():  # --app ID=KEY: the key never reaches a report
        argv = [arg.replace(app.key, "***") for arg in argv]
    recorder = Recorder(o["report_dir"] / "results.json", Corpus([], {}), backend="endpoint", command=argv)
    recorder.runner(o["name"], "http", group="declared")
    got = gate.run(setup, o["command"])
    if got.interrupted and o["command"]:
        print(
            "interrupted: the command was stopped; results.json keeps what arrived (marked incomplete)", file=sys.stderr
        )
    for r in got.results:
        recorder.add_token(r)
    recorder.write(complete=bool(o["command"]) and not got.interrupted)
    from appauth_conformance.report import write_reports_after_run

    written = write_reports_after_run(recorder.path)
    print(written.line, file=sys.stderr)
    verdict = _verdict(o, got, recorder, written.ok)
    return Exit.INTERRUPTED if got.interrupted and o["command"] else verdict  # a gate cut short never passes


def _verdict(o: dict, got: gate.Gated, recorder: Recorder, reports_ok: bool) -> int:
    results = got.results
    c = Counter(r.judgement.verdict for r in results)
    failing = sum(c[v] for v in FAILING)
    print(f"{o['name']}: {len(results)} request(s): " + ("  ".join(f"{v.value} {n}" for v, n in c.items()) or "none"))
    if failing:
        from appauth_conformance.report import terminal

        print()
        for line in terminal.grouped(recorder.document(complete=True)):
            print(line)
        print()
    print(f"results: {recorder.path}")
    problems = gate.problems(o["command"], got)
    for text in problems:
        print(f"error: {text}", file=sys.stderr)
    return Exit.NONCONFORMING if failing or problems or not reports_ok else Exit.OK

"""The command line: `appauth-conformance run | vectors | report | images | divergences | fuzz | serve | docs | examples`.

Exit codes: 0 conforming, 1 non-conforming (or a check failed), 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from appauth_conformance import __version__
from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import BackendGone, CorpusError, Exit, RunnerUnavailable, UsageError
from appauth_conformance.core.model import FAILING, TokenResult, Verdict
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS, flags_checked, load
from appauth_conformance.execution import interrupt, shards
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.progress import Tally
from appauth_conformance.execution.runner_process import steady_memory
from appauth_conformance.formats import arguments, resources
from appauth_conformance.frontends import clients, logs
from appauth_conformance.judging import tokens


def cmd_run(a) -> int:
    from appauth_conformance.execution.pipeline import Engine, check_names

    opts = cfg.Options.from_namespace(a)
    jsonl = a.jsonl
    specs, endpoint_clients = clients.split(cfg.select_runners(opts))
    progress = Tally(0)
    engine = Engine(
        specs,
        cfg.make_backend(opts),
        timeout=opts.timeout,
        on_result=lambda r: progress.count(r.judgement.verdict in FAILING),
        token_window=opts.token_window,
        allow_never_expires=opts.allow_never_expires,
    )
    complete = False
    stale: dict[str, list] = {}
    reports_ok = False
    unready: BaseException | None = None
    try:
        try:  # the runners start (the JVM boots) while the corpus loads and the rest is imported
            engine.launch()
        except BaseException as e:  # the set-up check (no Docker engine, ...): raised once the record exists
            unready = e
        steady_memory()
        from appauth_conformance import report
        from appauth_conformance.corpus.expectations import placeholder_message, stale_message
        from appauth_conformance.formats.results import Recorder

        corpus = load(opts.vectors, keep=True)
        check_names([st.expectations for st in engine.runners.values()], flags_checked(opts.vectors, corpus))
        vectors, requests = shards.part(corpus.vectors, tokens.suite(corpus.vectors), opts.shard)
        shard = opts.shard.record() if opts.shard else None
        recorder = Recorder(opts.report_dir / "results.json", corpus, backend=opts.backend, shard=shard)
        engine.record_to(recorder)
        for c in endpoint_clients:
            c.register(recorder)
        progress.total = len(vectors) * len(specs)
        try:
            if unready is not None:
                raise unready

            def meanwhile() -> None:  # while the runners answer: the record's corpus part, the reports' templates
                recorder.prime()
                report.load_templates()

            engine.ensure(vectors, meanwhile=meanwhile)
            progress.total += len(requests) * sum("token" in st.ops for st in engine.runners.values() if st.session)
            engine.ensure_tokens(requests)  # runners whose hello lists the token op
            for c in endpoint_clients:  # on this machine, whatever the backend
                c.run(opts, recorder)
            complete = True
            # the lists name the bundled corpus; a shard sees only its part of it (the stale check needs it all)
            if opts.shard is None and Path(opts.vectors).resolve() == DEFAULT_VECTORS.resolve():
                stale = {n: s for n in engine.runners if (s := engine.stale(n, corpus.vectors))}
        finally:  # Ctrl-C and SIGTERM included: runners stopped, what was measured is kept
            progress.end()
            engine.end_input()  # the runners exit while the record and the reports are written
            recorder.write(complete=complete)
            written = report.write_reports_after_run(recorder.path, recorder.written)
            reports_ok = written.ok
            print(written.line, file=sys.stderr)
    finally:
        engine.close()
    if jsonl is not None:
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        with open(jsonl, "w", encoding="utf-8") as f:
            for o in recorder.outcomes:
                f.write(json.dumps(o, ensure_ascii=True) + "\n")
    todo = {n: p for n, st in engine.runners.items() if (p := st.expectations.placeholders())}
    _explain(engine, endpoint_clients, verbose=a.verbose, run_args=opts.rerun_args())
    code = _summary(engine, endpoint_clients, recorder, opts.require_all, stale, todo)
    for name, entries in todo.items():
        print(f"error: {placeholder_message(engine.runners[name].spec, entries)}", file=sys.stderr)
    for name, entries in stale.items():
        print(f"error: {stale_message(engine.runners[name].spec, entries, opts.rerun_args())}", file=sys.stderr)
    if not reports_ok and code == Exit.OK:  # a gate whose reports are missing cannot pass
        return Exit.NONCONFORMING
    return Exit.NONCONFORMING if (stale or todo) and code == Exit.OK else code


DETAILED = 25  # kinds of failure explained in full without -v (as in pytest)


def _explain(engine, endpoint_clients: list, *, verbose: bool, run_args: list[str]) -> None:
    """The first failure of each kind in full, as pytest explains it (the same explain functions and the
    same kinds): staged strings, byte diff, probable mistake, the other runners' answers. -v: every one."""
    from appauth_conformance.judging.explain import explain, explain_token, kind

    seen: set[tuple] = set()
    shown = hidden = 0
    sources = [
        (name, st.spec, [*st.results.values(), *st.token_results.values()]) for name, st in engine.runners.items()
    ]
    sources += [(c.spec.name, c.spec, c.results) for c in endpoint_clients]
    for name, spec, results in sources:
        items = [
            (r, tuple(d for c in r.checks if c.verdict is not Verdict.PASS for d in c.diagnosis))
            if isinstance(r, TokenResult)
            else (r, tuple(r.diagnosis))
            for r in results
        ]
        for r, found in items:
            if r.judgement.verdict not in FAILING:
                continue
            k = kind(name, r.judgement, found)
            if not verbose and (k in seen or len(seen) >= DETAILED):
                hidden += 1
                continue
            seen.add(k)
            shown += 1
            if isinstance(r, TokenResult):
                print(explain_token(r, spec, run_args))
            else:
                print(explain(r, engine.others(r.outcome.vector, name), spec, run_args))
            print()
    if hidden:
        print(f"({hidden:,} more failure(s) of the kinds above: -v explains every one; all are in the reports)\n")


def _summary(
    engine, endpoint_clients: list, recorder, require_all: bool, stale: dict | None = None, todo: dict | None = None
) -> int:
    """The table of runners and what failed by kind; its status column agrees with the exit code (a stale
    list or a placeholder reason fails a runner whose outcomes all pass)."""
    rows, bad = [], False
    stale, todo = stale or {}, todo or {}
    for name, st in engine.runners.items():
        c = Counter(r.judgement.verdict for r in st.results.values())
        t = Counter(r.judgement.verdict for r in st.token_results.values())
        if st.unavailable:
            rows.append((name, "unavailable", untrusted.line(st.unavailable.splitlines()[0], 70)))
            continue
        failing = sum(c[v] + t[v] for v in FAILING)
        bad = bad or failing > 0
        detail = "  ".join(f"{v.value} {c[v]}" for v in Verdict if c[v])
        if t:
            detail += "  | tokens: " + "  ".join(f"{v.value} {t[v]}" for v in Verdict if t[v])
        lists = []
        if name in stale:
            lists.append(f"stale list: {len(stale[name])} entr{'y' if len(stale[name]) == 1 else 'ies'} excuse nothing")
        if name in todo:
            lists.append(f"{len(todo[name])} TODO reason{'s' if len(todo[name]) != 1 else ''}")
        if lists:
            detail += "  | known divergences: " + "; ".join(lists)
        rows.append((name, "FAIL" if failing or lists else "ok", detail))
    rows += [c.row() for c in endpoint_clients]
    bad = bad or any(c.failed for c in endpoint_clients)
    width = max([len("runner"), *(len(r[0]) for r in rows)])
    print(f"{'runner':<{width}}  {'status':<11}  outcomes")
    for name, status, detail in rows:
        print(f"{name:<{width}}  {status:<11}  {detail}")
    if bad:  # what failed, by kind: the same grouping as report.md
        from appauth_conformance.report import terminal

        print()
        for line in terminal.grouped(recorder.document(complete=True)):
            print(line)
        print()
    print(f"results: {recorder.path}")
    for c in endpoint_clients:  # the command failed, or it never called
        for text in c.problems():
            print(f"error: {c.spec.name}: {text}", file=sys.stderr)
    # A runner that cannot start is a set-up problem, not a verdict: the user's own runner (a typo must not
    # pass the gate), any under --require-all / CI=true, or all of them, stops the run; a reference runner
    # whose toolchain is missing here is skipped, loudly.
    fatal = False
    nothing_ran = not endpoint_clients and all(st.unavailable for st in engine.runners.values())  # no Docker engine
    for st in engine.runners.values():
        if st.unavailable:
            stop = st.spec.declared or require_all or nothing_ran
            fatal = fatal or stop
            print(f"{'error' if stop else 'SKIPPED'}: {untrusted.message(st.unavailable)}", file=sys.stderr)
    return Exit.USAGE if fatal else Exit.NONCONFORMING if bad else Exit.OK


def cmd_vectors(a) -> int:
    from appauth_conformance.corpus import authoring

    if not Path(arguments.text("path", a.path)).exists():  # bad input (2), unlike a corpus with problems (check: 1)
        raise UsageError(f"{a.path}: no such file or folder; give a vector file or a folder of them")
    if a.action == "check":
        corpus = load(a.path)
        print(
            f"ok: {len(corpus.vectors)} vectors, {len(corpus.hmac_checks)} HMAC known answers, sha256 {corpus.digest}"
        )
        return Exit.OK
    if a.action == "fill":
        changed = authoring.fill(Path(a.path), overwrite=a.overwrite)
        for f, n in changed.items():
            if n:
                print(f"{f}: wrote expected values of {n} vector(s)")
        load(a.path)  # what fill wrote must pass every check
        print(f"ok: {sum(changed.values())} vector(s) filled")
        return Exit.OK
    out = arguments.output_file("--out", a.out)
    corpus = load(a.path)
    authoring.write_export(corpus, out)
    print(f"wrote {out}: {len(corpus.vectors)} vectors (schema: {resources.SCHEMAS / 'vectors-export.json'})")
    return Exit.OK


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; a `run` one is parsed by `run`'s parser alone first (the whole command line is 21
    parsers and imports every command's module, before a run starts its runners), help or errors left to all."""
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["run"]:
        try:
            return parser(run_only=True).parse_args(given)
        except (arguments.Unsaid, UsageError):  # the whole parser parses it again, and says what is wrong
            pass
    return parser().parse_args(given)


def parser(run_only: bool = False) -> argparse.ArgumentParser:
    p = (arguments.Quiet if run_only else arguments.Parser)(
        prog="appauth-conformance",
        description="App ID authentication conformance: run the corpus through signers in several languages, "
        "judge and explain every outcome, write results.json, report.md and report.html.",
        epilog="Exit codes: 0 conforming, 1 non-conforming (or a check failed), 2 usage or set-up error. "
        "`appauth-conformance COMMAND --help` for a command's options; `appauth-conformance docs gate` for the "
        "pytest plugin, `appauth-conformance docs` for every page.",
    )
    p.add_argument("--version", action="version", version=f"appauth-conformance {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the corpus through runners and write results.json and the reports",
        description="Run the vector corpus (and the token suite, for runners whose hello lists `token`) through "
        "the selected runners, judge every outcome, print a summary and write results.json, report.md and "
        "report.html. The same gate as `pytest --lang=...`; `appauth-conformance docs gate` explains both.",
        epilog="Exit codes: 0 every selected runner conforms; 1 a failure, a fault, an unexpected pass or a stale "
        "known-divergence entry; 2 a usage or set-up error (bad option, a declared runner that cannot start, no "
        "Docker engine); 130 interrupted (Ctrl-C or SIGTERM: runners stopped, results.json keeps what was "
        "measured, marked incomplete).",
    )
    cfg.add_options(run.add_argument)
    run.add_argument(
        "--jsonl",
        type=arguments.typed("--jsonl", arguments.output_file),
        help="also write every outcome as JSON Lines to this file",
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="explain every failure in full (default: the first of each kind, as pytest does)",
    )
    run.set_defaults(func=cmd_run)
    if run_only:
        logs.add_everywhere(p)
        return p
    from appauth_conformance.endpoint import serve as endpoint_serve
    from appauth_conformance.frontends import divergences_cli, guide, images_cli
    from appauth_conformance.fuzz import cli as fuzz_cli
    from appauth_conformance.report import cli as report_cli

    vec = sub.add_parser("vectors", help="check, fill or export the vector corpus")
    vsub = vec.add_subparsers(dest="action", required=True)
    for name, text in (
        ("check", "load and check every file; exit 1 on any problem"),
        ("fill", "write expected values computed by the oracle"),
        ("export", "write the corpus as one ASCII-only JSON file"),
    ):
        s = vsub.add_parser(name, help=text)
        s.add_argument(
            "path",
            nargs="?",
            default=str(DEFAULT_VECTORS),
            help="a vector file or folder (default: the bundled corpus)",
        )
        if name == "fill":
            s.add_argument("--overwrite", action="store_true", help="recompute expected values that are present too")
        if name == "export":
            s.add_argument("--format", choices=["json"], default="json", help="the export format (only json)")
            s.add_argument(
                "--out",
                default=".appauth-conformance/vectors.json",
                help="where to write (default: .appauth-conformance/vectors.json, next to the reports)",
            )
    guide.add_vectors_show(vsub)
    vec.set_defaults(func=cmd_vectors)

    report_cli.add_parser(sub)
    report_cli.add_site_parser(sub)

    images_cli.add_parser(sub)
    divergences_cli.add_parser(sub)

    fuzz_cli.add_parser(sub)
    guide.add_parsers(sub)
    endpoint_serve.add_parser(sub)
    logs.add_everywhere(p)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
    except UsageError as e:  # a value its option's check (type=) refused
        print(f"error: {e}", file=sys.stderr)
        return Exit.USAGE
    logs.configure(args.log_level)
    interrupt.install()
    try:
        return args.func(args)
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return Exit.NONCONFORMING if getattr(args, "action", None) == "check" else Exit.USAGE
    except (UsageError, RunnerUnavailable, BackendGone) as e:
        print(f"error: {e}", file=sys.stderr)
        return Exit.USAGE
    except OSError as e:
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        print("interrupted: runners stopped; results.json keeps what was measured (marked incomplete)", file=sys.stderr)
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

"""The command line: `appauth-conformance run | vectors | report | images | divergences | fuzz`.

Exit codes: 0 conforming, 1 non-conforming (or a check failed), 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from . import __version__, inputs, interrupt, shards, tokens, untrusted
from . import config as cfg
from .errors import BackendGone, CorpusError, Exit, RunnerUnavailable, UsageError
from .expectations import stale_message
from .fuzz import cli as fuzz_cli
from .model import FAILING, Verdict
from .progress import Tally
from .report import cli as report_cli
from .session import steady_memory
from .vectors import DEFAULT_VECTORS, load


def cmd_run(a) -> int:
    from .engine import Engine
    from .results import Recorder

    opts = cfg.Options.from_namespace(a)
    jsonl = inputs.output_file("--jsonl", a.jsonl) if a.jsonl is not None else None
    steady_memory()
    corpus = load(opts.vectors)
    specs = cfg.select_runners(opts)
    vectors, requests = shards.part(corpus.vectors, tokens.suite(corpus.vectors), opts.shard)
    recorder = Recorder(
        opts.report_dir / "results.json",
        corpus,
        backend=opts.backend,
        shard=opts.shard.record() if opts.shard else None,
    )
    progress = Tally(len(vectors) * len(specs))
    engine = Engine(
        specs,
        cfg.make_backend(opts),
        recorder,
        timeout=opts.timeout,
        on_result=lambda r: progress.count(r.judgement.verdict in FAILING),
        token_window=opts.token_window,
        allow_never_expires=opts.allow_never_expires,
    )
    complete = False
    stale: dict[str, list] = {}
    reports_ok = False
    try:
        engine.prepare()
        progress.total += len(requests) * sum("token" in st.ops for st in engine.runners.values() if st.session)
        engine.ensure(vectors)
        engine.ensure_tokens(requests)  # runners whose hello lists the token op
        complete = True
        # the lists name the bundled corpus; a shard sees only its part of it (the stale check needs it all)
        if opts.shard is None and Path(opts.vectors).resolve() == DEFAULT_VECTORS.resolve():
            stale = {n: s for n in engine.runners if (s := engine.stale(n, corpus.vectors))}
    finally:  # Ctrl-C and SIGTERM included: runners stopped, what was measured is kept
        progress.end()
        engine.close()
        recorder.write(complete=complete)
        from .report import write_reports_after_run

        written = write_reports_after_run(recorder.path)
        reports_ok = written.ok
        print(written.line, file=sys.stderr)
    if jsonl is not None:
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        with open(jsonl, "w", encoding="utf-8") as f:
            for o in recorder.outcomes:
                f.write(json.dumps(o, ensure_ascii=True) + "\n")
    code = _summary(engine, recorder, opts.require_all)
    for name, entries in stale.items():
        print(f"error: {stale_message(engine.runners[name].spec, entries)}", file=sys.stderr)
    if not reports_ok and code == Exit.OK:  # a gate whose reports are missing cannot pass
        return Exit.NONCONFORMING
    return Exit.NONCONFORMING if stale and code == Exit.OK else code


def _summary(engine, recorder, require_all: bool) -> int:
    rows, bad = [], False
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
        rows.append((name, "FAIL" if failing else "ok", detail))
    width = max([len("runner"), *(len(r[0]) for r in rows)])
    print(f"{'runner':<{width}}  {'status':<11}  outcomes")
    for name, status, detail in rows:
        print(f"{name:<{width}}  {status:<11}  {detail}")
    if bad:  # what failed, by kind: the same grouping as report.md
        from .report import terminal

        print()
        for line in terminal.grouped(recorder.document(complete=True)):
            print(line)
        print()
    print(f"results: {recorder.path}")
    # A runner that cannot start is a set-up problem, not a verdict: the user's own runner (a typo must not
    # pass the gate), any under --require-all / CI=true, or all of them, stops the run; a reference runner
    # whose toolchain is missing here is skipped, loudly.
    fatal = False
    nothing_ran = all(st.unavailable for st in engine.runners.values())  # e.g. no Docker engine at all
    for st in engine.runners.values():
        if st.unavailable:
            stop = st.spec.declared or require_all or nothing_ran
            fatal = fatal or stop
            print(f"{'error' if stop else 'SKIPPED'}: {untrusted.message(st.unavailable)}", file=sys.stderr)
    return Exit.USAGE if fatal else Exit.NONCONFORMING if bad else Exit.OK


def cmd_vectors(a) -> int:
    from . import authoring

    if not Path(inputs.text("path", a.path)).exists():  # bad input (2), unlike a corpus with problems (check: 1)
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
    out = inputs.output_file("--out", a.out)
    corpus = load(a.path)
    authoring.write_export(corpus, out)
    print(
        f"wrote {out}: {len(corpus.vectors)} vectors (schema: harness/appauth_conformance/schemas/vectors-export.json)"
    )
    return Exit.OK


SUITE = re.compile(r"[a-z][a-z0-9-]*")  # a Debian suite or codename


def cmd_images(a) -> int:
    from .backends.docker import images

    if a.action == "bootstrap":
        for suite in a.suite:
            if not SUITE.fullmatch(suite):
                raise UsageError(f"--suite: {suite!r} is not a Debian suite name; e.g. --suite bookworm")
        if a.mirror is not None and not re.match(r"(https?|file)://\S+$", a.mirror):
            raise UsageError(f"--mirror: {a.mirror!r} is not a URL; e.g. --mirror http://deb.debian.org/debian")
        for suite in a.suite:
            print(images.bootstrap(suite, mirror=a.mirror, force=a.force))
        return Exit.OK
    opts = cfg.Options.from_namespace(a, backend="docker")
    for tag in images.build(cfg.select_runners(opts), cfg.make_backend(opts)):
        print(tag)
    return Exit.OK


def cmd_divergences(a) -> int:
    from . import expectations
    from .engine import Engine

    opts = cfg.Options.from_namespace(a)
    corpus = load(opts.vectors)
    specs = cfg.select_runners(opts)
    targets = {s.name: _writable_list(s.divergences) for s in specs if s.divergences is not None}  # before any run
    with Engine(specs, cfg.make_backend(opts), timeout=opts.timeout) as engine:
        engine.prepare()
        engine.ensure(corpus.vectors)
    for _name, st in engine.runners.items():
        if st.unavailable:
            raise RunnerUnavailable(st.unavailable)
        if st.spec.divergences is None:
            continue
        kept: list[dict[str, str | None]] = []
        for e in st.expectations.entries:
            if st.excused.get(e):  # it excused outcomes of this run: still true
                kept.append(
                    {
                        k: v
                        for k, v in (
                            ("match", e.match),
                            ("flag", e.flag),
                            ("diagnosis", e.diagnosis),
                            ("stage", e.stage.value if e.stage else None),
                            ("reason", e.reason),
                        )
                        if v
                    }
                )
        covered = {k for k, r in st.results.items() if r.judgement.verdict is Verdict.KNOWN_DIVERGENCE}
        new = [r for k, r in st.results.items() if k not in covered and r.judgement.verdict is Verdict.FAIL]
        for r in sorted(new, key=lambda r: r.outcome.vector.key):
            kept.append(
                {
                    "match": r.outcome.vector.id,
                    "stage": r.judgement.stage.value if r.judgement.stage else None,
                    "reason": "TODO: explain why this runner diverges",
                }
            )
        target = targets[st.spec.name]
        expectations.write(st.spec, target, kept)
        print(
            f"{target}: {len(kept)} entr{'y' if len(kept) == 1 else 'ies'}"
            f" ({len(st.expectations.entries) - (len(kept) - len(new))} removed, {len(new)} added)"
        )
    return Exit.OK


def _writable_list(path: Path) -> Path:
    """Where `divergences update` writes a list: a declared runner's own file; for a runner shipped with the
    suite, never the installed package but the suite's checkout in the current folder (runners/NAME/...)."""
    from . import resources

    if not path.resolve().is_relative_to(resources.RUNNERS.resolve()):
        return path
    rel = path.resolve().relative_to(resources.RUNNERS.resolve())
    local = Path("runners") / rel
    if not local.parent.is_dir():
        raise UsageError(
            f"the known-divergence list of a runner shipped with the suite lives in the suite's repository "
            f"(runners/{rel.as_posix()}); run this command in a checkout of it, or give your own runner's list "
            "with --divergences NAME=PATH"
        )
    return local


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="appauth-conformance",
        description="App ID authentication conformance: run the corpus through signers in several languages, "
        "judge and explain every outcome, write results.json, report.md and report.html.",
        epilog="Exit codes: 0 conforming, 1 non-conforming (or a check failed), 2 usage or set-up error. "
        "`appauth-conformance COMMAND --help` for a command's options; docs/gate.md for the pytest plugin.",
    )
    p.add_argument("--version", action="version", version=f"appauth-conformance {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the corpus through runners and write results.json and the reports")
    cfg.add_options(run.add_argument)
    run.add_argument("--jsonl", help="also write every outcome as JSON Lines to this file")
    run.set_defaults(func=cmd_run)

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
    vec.set_defaults(func=cmd_vectors)

    report_cli.add_parser(sub)
    report_cli.add_site_parser(sub)

    img = sub.add_parser("images", help="Docker base images and runner images")
    isub = img.add_subparsers(dest="action", required=True)
    b = isub.add_parser("bootstrap", help="build a base image with debootstrap (no registry needed)")
    b.add_argument("--suite", action="append", required=True, help="Debian suite, e.g. bookworm (repeatable)")
    b.add_argument(
        "--mirror", help="the Debian mirror URL (default: the one this machine's apt uses, else deb.debian.org)"
    )
    b.add_argument("--force", action="store_true", help="rebuild the base image even when it exists")
    bl = isub.add_parser("build", help="build the runner images")
    cfg.add_options(bl.add_argument, groups=(cfg.SELECT, cfg.DOCKER))
    img.set_defaults(func=cmd_images)

    div = sub.add_parser("divergences", help="maintain known-divergence files")
    dsub = div.add_subparsers(dest="action", required=True)
    u = dsub.add_parser("update", help="rewrite a runner's known-divergence file from a fresh run")
    cfg.add_options(u.add_argument, groups=(cfg.SELECT, cfg.BACKEND, cfg.DOCKER, cfg.CORPUS))
    div.set_defaults(func=cmd_divergences)

    fuzz_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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

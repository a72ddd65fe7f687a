"""`appauth-conformance fuzz`: differential fuzzing of the runners against the oracle (docs/fuzzing.md).

Exit codes (errors.Exit): OK when every disagreement group is covered by its runner's
known divergences (or there is none), NONCONFORMING when a group is not (a new
divergence: the summary marks it NEW), USAGE for usage and set-up errors (cli.main
maps UsageError and RunnerUnavailable).
"""

from __future__ import annotations

import sys

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import Exit
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.progress import Progress
from appauth_conformance.execution.runner_process import steady_memory
from appauth_conformance.formats import arguments
from appauth_conformance.fuzz.record import document as record_document
from appauth_conformance.fuzz.record import write as write_record
from appauth_conformance.fuzz.run import DEFAULT_BATCH, Fuzzer, FuzzReport
from appauth_conformance.fuzz.save import save_reproducers
from appauth_conformance.fuzz.triage import input_repr

# Relative to the current folder: reproducers belong to the project being tested, never to the
# installed suite (the suite's own developers pass --save-dir vectors/regressions).
DEFAULT_SAVE_DIR = "appauth-conformance-regressions"
DEFAULT_COUNT = 100_000


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "fuzz",
        help="differential fuzzing: random edge inputs through the runners, compared with the oracle",
        description="Generate seeded edge-case inputs, run them through every selected runner at once, group "
        "disagreements with the oracle by cause, shrink each group to a minimal reproducer. "
        "Exit 0: every group is a known divergence of its runner; 1: a group is not; 2: usage error.",
    )
    cfg.add_options(p.add_argument, groups=(cfg.SELECT, cfg.BACKEND, cfg.DOCKER, cfg.CORPUS, cfg.REPORT, cfg.SHARD))
    p.add_argument(
        "--count",
        default=None,
        type=arguments.typed("--count", arguments.integer, 1, 10**10),
        metavar="N",
        help=f"inputs to generate (default {DEFAULT_COUNT:,} unless --time-budget is given); with --shard, the "
        "whole campaign's count: each shard generates its part of it",
    )
    p.add_argument(
        "--time-budget",
        default=None,
        type=arguments.typed("--time-budget", arguments.number, 0.1, 7 * 86400, unit="seconds"),
        metavar="SECONDS",
        help="stop generating after this many seconds (with --count: whichever comes first)",
    )
    p.add_argument(
        "--seed",
        default=1,
        type=arguments.typed("--seed", arguments.integer, 0, 2**63 - 1),
        help="generator seed: the same seed gives the same inputs (default 1)",
    )
    p.add_argument(
        "--batch",
        default=DEFAULT_BATCH,
        type=arguments.typed("--batch", arguments.integer, 1, 1_000_000),
        metavar="N",
        help=f"inputs generated at once and fanned out to every runner (default {DEFAULT_BATCH}; a runner has at "
        "most two chunks queued or in hand, so memory stays flat)",
    )
    p.add_argument("--no-shrink", action="store_true", help="report the smallest example of each group as found")
    p.add_argument(
        "--shrink-seconds",
        default=30.0,
        type=arguments.typed("--shrink-seconds", arguments.number, 0.1, 3600, unit="seconds"),
        metavar="SECONDS",
        help="time limit for shrinking one group (default 30)",
    )
    p.add_argument(
        "--save", action="store_true", help="write each group's reproducer as a vector into --save-dir (schema-checked)"
    )
    p.add_argument(
        "--save-dir",
        default=DEFAULT_SAVE_DIR,
        type=arguments.typed("--save-dir", arguments.output_dir),
        help=f"where --save writes <runner>-<cause>.yaml (default: ./{DEFAULT_SAVE_DIR})",
    )
    p.set_defaults(func=cmd_fuzz)


def cmd_fuzz(a) -> int:
    opts = cfg.Options.from_namespace(a)
    time_budget, seed, batch, shrink_seconds, save_dir = a.time_budget, a.seed, a.batch, a.shrink_seconds, a.save_dir
    count = a.count if a.count is not None else (None if time_budget is not None else DEFAULT_COUNT)
    specs = cfg.select_runners(opts)
    progress = Progress()
    steady_memory()
    fuzzer = Fuzzer(
        specs,
        cfg.make_backend(opts),
        seed=seed,
        count=count,
        time_budget=time_budget,
        batch=batch,
        timeout=opts.timeout,
        shrink=not a.no_shrink,
        require_all=opts.require_all,
        shrink_seconds=shrink_seconds,
        shard=opts.shard,
        progress=progress,
        warn=lambda s: print(f"warning: {s}", file=sys.stderr),
    )
    try:
        fuzzer.prepare()
        report = fuzzer.run()
    finally:
        progress.end()
        fuzzer.close()
    written = []
    if a.save:
        written = save_reproducers(report, save_dir, opts.vectors)
    print_summary(report, written)
    path = write_record(record_document(report, count, opts.shard), opts.report_dir)
    print(
        f"fuzz: wrote {path}"
        + (f" (shard {opts.shard}; `appauth-conformance report merge` joins the shards)" if opts.shard else "")
    )
    return Exit.NONCONFORMING if report.unknown else Exit.OK


def print_summary(report: FuzzReport, written=(), out=None) -> None:
    """One line per group (runner, stage, cause, count, known/NEW, reproducer), then per runner, then CPU."""
    out = out or sys.stdout
    w = lambda s="": print(s, file=out)  # noqa: E731
    live = [r for r in report.runners if r.session is not None or r.outcomes]
    w(
        f"fuzz: seed {report.seed}, {report.inputs:,} inputs through {len(live)} runner(s) in {report.wall:.1f} s "
        f"(stopped by {report.stopped_by})"
        + (f"; shrinking {report.shrink_wall:.1f} s" if report.shrink_wall >= 0.05 else "")
    )
    groups = sorted(report.groups, key=lambda g: (g.runner, -g.count))
    unknown = len(report.unknown)
    w(
        f"disagreement groups: {len(groups)}"
        + (
            f" ({unknown} NEW: not covered by the runner's known divergences)"
            if unknown
            else (" (all known divergences)" if groups else "")
        )
    )
    if groups:
        rw = max(len(g.runner) for g in groups)
        causes = {id(g): untrusted.line(g.cause, 120) for g in groups}  # an error type is the runner's text
        cw = min(max(len(c) for c in causes.values()), 60)
        sw = max(len(g.stage) for g in groups)
        for g in groups:
            v = g.smallest
            status = f"known ({g.known})" if g.known else "NEW"
            shrunk = "shrunk" if g.reproducer is not None else "smallest"
            example = f"{shrunk}: {input_repr(v)}" if v is not None else ""
            w(f"  {g.runner:<{rw}}  {g.stage:<{sw}}  {causes[id(g)]:<{cw}}  {g.count:>9,}x  {status}  {example}")
    w("runners:")
    nw = max((len(r.spec.name) for r in report.runners), default=10)
    for r in report.runners:
        if r.unavailable:
            w(f"  {r.spec.name:<{nw}}  skipped: {untrusted.line(r.unavailable.splitlines()[0], 100)}")
            continue
        rate = r.outcomes / r.seconds if r.seconds > 0 else 0.0
        dis = r.triage.disagreements if r.triage else 0
        w(
            f"  {r.spec.name:<{nw}}  {r.outcomes:>10,} outcomes  {rate:>9,.0f}/s  {dis:>8,} disagreements  "
            f"{len(r.triage.groups) if r.triage else 0} group(s)"
        )
    w(f"harness CPU: {report.cpu:.1f} s in {report.wall:.1f} s wall ({100 * report.cpu_share:.0f}% of one core)")
    for p in written:
        w(f"saved: {p}")

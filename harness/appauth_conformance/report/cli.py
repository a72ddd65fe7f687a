"""`appauth-conformance report ...`: render reports from a results.json, compare two of them.

    appauth-conformance report render RESULTS.json [--out DIR]   report.md + report.html (default: next to RESULTS)
    appauth-conformance report compare OLD.json NEW.json         exit 0: no regression, 1: regression, 2: unusable input

The one command tree: cli.py adds it to `appauth-conformance` (`add_parser`), and
`python -m appauth_conformance.report ...` runs the same tree on its own (`main`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import Exit, UsageError
from appauth_conformance.formats import arguments
from appauth_conformance.formats.records import ResultsDocument
from appauth_conformance.report import load, write_reports, write_reports_of
from appauth_conformance.report.compare import compare


def _fill(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="{render,compare,merge}")
    r = sub.add_parser(
        "render",
        help="write report.md and report.html from a results.json",
        description="Write report.md and report.html (atomically) from a results.json.",
    )
    r.add_argument("results", metavar="RESULTS.json", help="the results.json of a run")
    r.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        type=arguments.typed("--out", arguments.output_dir),
        help="folder for the reports (default: the folder of RESULTS.json)",
    )
    c = sub.add_parser(
        "compare",
        help="compare two results.json; exit 1 on a regression",
        description="Compare two results.json files. Exit 0: no regression; 1: regression "
        "(new failure, lost outcome, runner removed, incomplete new run); 2: unusable input.",
    )
    c.add_argument("old", metavar="OLD.json", help="the baseline's results.json")
    c.add_argument("new", metavar="NEW.json", help="the new run's results.json")
    m = sub.add_parser(
        "merge",
        help="join the results of the N shards of a run (--shard K/N) into one results.json and its reports",
        description="Join shard results into one results.json, then write report.md and report.html next to it. "
        "Refuses results of different corpora, tool versions or runners, a shard given twice, and overlapping "
        "outcomes (exit 2); a merge without every shard is written marked incomplete, naming the missing ones; "
        "a token nonce made in two shards fails once merged (exit 1).",
    )
    m.add_argument("results", metavar="RESULTS.json", nargs="+", help="the shards' results.json files")
    m.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        type=arguments.typed("--out", arguments.output_dir),
        help="folder for the merged results.json and the reports",
    )
    p.set_defaults(func=run)


def add_parser(subparsers) -> None:
    """The `report` subcommand of `appauth-conformance`."""
    _fill(
        subparsers.add_parser(
            "report",
            help="render, compare or merge results.json files",
            description="Render and compare conformance results (results.json).",
        )
    )


def add_site_parser(subparsers) -> None:
    """The `site` subcommand of `appauth-conformance` (report/site/cli.py)."""
    from appauth_conformance.report.site import cli as site_cli

    site_cli.add_parser(subparsers)


def run(args: argparse.Namespace) -> int:
    """Raises ResultsError (a UsageError: exit 2) for a file that cannot be read or breaks the schema."""
    if args.action == "render":
        paths = write_reports(args.results, args.out)
        print("wrote " + ", ".join(map(str, paths)))
        return Exit.OK
    if args.action == "merge":
        from appauth_conformance.formats.files import write_json_atomic
        from appauth_conformance.report.merge import FUZZ_ID, merge_files

        out = args.out
        doc, failed = merge_files([Path(p) for p in args.results])
        s = doc["shards"]
        said = "all shards" if not s["missing"] else f"INCOMPLETE: shard(s) {', '.join(map(str, s['missing']))} missing"
        if doc["schema"] == FUZZ_ID:  # a fuzz campaign: its groups, each once, with the smallest input found
            written = write_json_atomic(out / "fuzz.json", doc)
            new = [g for g in doc["groups"] if g["known"] is None]
            print(
                f"merged {len(s['merged'])} of {s['count']} fuzz shards ({said}): {doc['generated']:,} inputs, "
                f"{len(doc['groups'])} group(s), {len(new)} NEW; wrote {written}"
            )
            for g in doc["groups"]:
                status = f"known ({untrusted.line(g['known'], 60)})" if g["known"] else "NEW"
                print(f"  {g['runner']}  {g['stage']}  {untrusted.line(g['cause'], 80)}  {g['count']:,}x  {status}")
            return Exit.NONCONFORMING if new or s["missing"] else Exit.OK
        results = write_json_atomic(out / "results.json", doc)
        paths = write_reports_of(cast(ResultsDocument, doc), out)  # merge() validated it
        print(
            f"merged {len(s['merged'])} of {s['count']} shards ({said}): wrote {results}, "
            + ", ".join(p.name for p in paths)
        )
        for what in failed:  # each shard passed it alone: no shard job failed for it
            print(f"  FAILS once merged: {untrusted.line(what, 200)} (a token nonce another shard made too)")
        return Exit.OK if not s["missing"] and not failed else Exit.NONCONFORMING
    from appauth_conformance.corpus import vectors

    result = compare(load(args.old), load(args.new), vectors.retired())  # the bundled corpus's tombstones
    sys.stdout.write(result.format())
    return Exit.NONCONFORMING if result.regressed else Exit.OK


def main(argv: list[str] | None = None, prog: str = "python -m appauth_conformance.report") -> int:
    p = arguments.Parser(prog=prog, description="Render and compare conformance results (results.json).")
    _fill(p)
    try:
        return run(p.parse_args(argv))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return Exit.USAGE

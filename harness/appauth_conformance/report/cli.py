"""`appauth-conformance report ...`: render reports from a results.json, compare two of them.

    appauth-conformance report render RESULTS.json [--out DIR]   report.md + report.html (default: next to RESULTS)
    appauth-conformance report compare OLD.json NEW.json         exit 0: no regression, 1: regression, 2: unusable input

`main(argv)` takes the arguments after `report`; harness/appauth_conformance/cli.py delegates to it,
and `python -m appauth_conformance.report ...` runs it directly.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ResultsError
from . import load, write_reports
from .compare import compare


def parser(prog: str = "appauth-conformance report") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Render and compare conformance results (results.json).")
    sub = p.add_subparsers(dest="command", required=True, metavar="{render,compare}")
    r = sub.add_parser(
        "render",
        help="write report.md and report.html from a results.json",
        description="Write report.md and report.html (atomically) from a results.json.",
    )
    r.add_argument("results", metavar="RESULTS.json")
    r.add_argument(
        "--out", metavar="DIR", default=None, help="folder for the reports (default: the folder of RESULTS.json)"
    )
    c = sub.add_parser(
        "compare",
        help="compare two results.json; exit 1 on a regression",
        description="Compare two results.json files. Exit 0: no regression; 1: regression "
        "(new failure, lost outcome, runner removed, incomplete new run); 2: unusable input.",
    )
    c.add_argument("old", metavar="OLD.json")
    c.add_argument("new", metavar="NEW.json")
    return p


def main(argv: list[str] | None = None, prog: str = "appauth-conformance report") -> int:
    args = parser(prog).parse_args(argv)
    try:
        if args.command == "render":
            for path in write_reports(args.results, args.out):
                print(path)
            return 0
        old, new = load(args.old), load(args.new)
    except ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = compare(old, new)
    sys.stdout.write(result.format())
    return 1 if result.regressed else 0

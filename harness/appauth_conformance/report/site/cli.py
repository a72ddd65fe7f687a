"""`appauth-conformance site build RESULTS... --out DIR [--base-url URL]`: the static site (documented in docs/site.md)."""

from __future__ import annotations

import argparse

from appauth_conformance.core.errors import Exit, UsageError
from appauth_conformance.formats import arguments


def _base_url(flag: str, given: str) -> str:
    if given and not given.startswith(("https://", "http://")):
        raise UsageError(f"{flag} {given!r}: give an http(s) URL, e.g. https://example.org/conformance/")
    return given if not given or given.endswith("/") else given + "/"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "site",
        help="build a static compatibility site (matrix, implementation pages, badges, history) from results.json files",
        description="Build a static site from results.json files: a support matrix, a page and a badge per "
        "implementation and version, a page per vector and per mistake, the history of each implementation "
        "over its versions, and JSON for tooling (its layout: formats/schemas/site.json in the package). Results are read, never judged again.",
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="{build}")
    b = sub.add_parser(
        "build",
        help="write the site into a folder",
        description="Write the site into --out (an earlier site there is replaced; a folder holding other "
        "files is refused). Give any number of results.json files: the Docker matrix, merged shards, "
        "endpoint runs, and runs of one implementation at several versions (its history).",
    )
    b.add_argument("results", metavar="RESULTS.json", nargs="+", help="results.json files of runs")
    b.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        type=arguments.typed("--out", arguments.output_dir),
        help="folder to write the site into",
    )
    b.add_argument(
        "--base-url",
        metavar="URL",
        default="",
        type=arguments.typed("--base-url", _base_url),
        help="the site's public URL, for the badge embed lines shown on each page (default: relative URLs)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appauth_conformance.report.site import build

    out = args.out
    stats = build(args.results, out, args.base_url)
    print(
        f"wrote {out}: {stats.implementations} implementation(s), {stats.runs} version(s), {stats.vectors} vector(s); "
        f"{stats.files:,} files, {stats.bytes / 1e6:.1f} MB"
    )
    return Exit.OK

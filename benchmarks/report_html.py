"""Benchmark: report.html for 10,000 vectors x 12 runners stays small and renders fast.

    python benchmarks/report_html.py                 # the documented run (about a minute)
    python benchmarks/report_html.py --keep out/     # also keep results.json, report.md, report.html

What it does:
  1. makes a synthetic results.json with the real Recorder (benchmarks/synthetic_results.py): 10,000
     vectors over 13 families, 12 runners with realistic profiles of real mistakes; the mix is
     about 95 % pass, 3.6 % known divergence, 0.9 % fail, 0.3 % unexpected pass, 0.1 % runner fault
     (printed below as measured);
  2. validates it against harness/appauth_conformance/formats/schemas/results.json and renders report.md and report.html;
  3. loads report.html 3 times in headless Chromium (Debian's /usr/bin/chromium through
     Playwright; never `playwright install`), each in a fresh page, and measures the time from
     navigation start to `window.__reportReady = true`, which the page sets after its first full
     render (data parsed, matrix and lists built, first frame painted).

Exit status: 0 when report.html is at most 5 MB and the median load-to-ready time is at most
2 s; 1 otherwise; 2 when chromium or playwright are missing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import synthetic_results  # benchmarks/synthetic_results.py, next to this script
from appauth_conformance import report
from appauth_conformance.formats.files import write_json_atomic

ROOT = Path(__file__).resolve().parent.parent

SIZE_LIMIT = 5 * 1000 * 1000  # bytes
TIME_LIMIT = 2.0  # seconds, median
ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"]


def measure(html: Path, loads: int) -> list[dict]:
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        print(
            "error: needs Debian's chromium (apt-get install -y chromium) and `pip install playwright`", file=sys.stderr
        )
        sys.exit(2)
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            for _ in range(loads):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                errors, requests = [], []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("request", lambda r, requests=requests: requests.append(r.url))
                t0 = time.perf_counter()
                page.goto(html.resolve().as_uri(), wait_until="commit")
                page.wait_for_function("() => window.__reportReady === true", polling="raf", timeout=60_000)
                wall = time.perf_counter() - t0
                in_page = page.evaluate("window.__reportReadyAt") / 1000  # ms since navigation start
                page.wait_for_function(
                    "() => window.__reportDetailReady === true || !document.getElementById('report-detail')",
                    timeout=60_000,
                )
                detail = page.evaluate("performance.now()") / 1000
                out.append(
                    {
                        "ready_s": in_page,
                        "wall_s": wall,
                        "detail_s": detail,
                        "errors": errors,
                        "requests": len(requests),
                    }
                )
                page.close()
        finally:
            browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=10_000)
    ap.add_argument("--runners", type=int, default=12)
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="write results.json, report.md and report.html here")
    args = ap.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    doc = synthetic_results.document(vectors=args.vectors, runners=args.runners, seed=args.seed)
    made = time.perf_counter() - t
    results = folder / "results.json"
    write_json_atomic(results, doc)
    mix = Counter(o["verdict"] for o in doc["outcomes"])
    total = sum(mix.values())
    print(
        f"synthetic run: {args.vectors:,} vectors x {args.runners} runners = {total:,} outcomes "
        f"(made in {made:.1f} s); results.json {results.stat().st_size / 1e6:.2f} MB"
    )
    print("  mix: " + ", ".join(f"{v} {n / total:.2%}" for v, n in mix.most_common()))

    t = time.perf_counter()
    paths = report.write_reports(results, folder)
    rendered = time.perf_counter() - t
    md, html = paths
    size = html.stat().st_size
    print(f"write_reports (load + validate + render report.md and report.html): {rendered:.1f} s")
    print(f"report.md   {md.stat().st_size / 1e3:.1f} kB")
    print(f"report.html {size / 1e6:.2f} MB (limit {SIZE_LIMIT / 1e6:.0f} MB)")

    runs = measure(html, args.loads)
    for i, r in enumerate(runs, 1):
        print(
            f"  load {i}: ready {r['ready_s'] * 1000:.0f} ms after navigation start "
            f"(wall {r['wall_s'] * 1000:.0f} ms; drill-down data inflated at {r['detail_s'] * 1000:.0f} ms); "
            f"requests {r['requests']}, errors {len(r['errors'])}"
        )
    median = statistics.median(r["ready_s"] for r in runs)
    wall = statistics.median(r["wall_s"] for r in runs)
    print(
        f"median navigation -> __reportReady: {median * 1000:.0f} ms (wall {wall * 1000:.0f} ms; limit {TIME_LIMIT * 1000:.0f} ms)"
    )
    problems = []
    if size > SIZE_LIMIT:
        problems.append(f"report.html is {size / 1e6:.2f} MB > {SIZE_LIMIT / 1e6:.0f} MB")
    if median > TIME_LIMIT:
        problems.append(f"median render {median:.2f} s > {TIME_LIMIT:.0f} s")
    if any(r["errors"] for r in runs):
        problems.append(f"page errors: {runs[0]['errors'][:3]}")
    if any(r["requests"] != 1 for r in runs):
        problems.append("the page made network requests")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

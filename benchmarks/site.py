"""Benchmark: `appauth-conformance site build` for 20 implementations x the corpus, in under 10 s.

    python benchmarks/site.py                  # the documented run
    python benchmarks/site.py --keep out/      # also keep results.json and the site

What it does:
  1. makes a synthetic results.json with the real Recorder (benchmarks/synthetic_results.py): as many
     vectors as the bundled corpus holds (its sign vectors and token requests together), 20 runners
     with realistic profiles of real mistakes;
  2. times `appauth-conformance site build` on it end to end in a fresh process (read, validate,
     count, render every page, badge and JSON, write), 3 times, and prints the median;
  3. prints the site's size and file count.

Exit status: 0 when the median build is under 10 s; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import synthetic_results  # benchmarks/synthetic_results.py, next to this script
from appauth_conformance.corpus import vectors
from appauth_conformance.judging import tokens

TIME_LIMIT = 10.0  # seconds, median
RUNNERS = 20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", metavar="DIR", help="keep results.json and the site in DIR")
    ap.add_argument("--builds", type=int, default=3)
    a = ap.parse_args()
    corpus = vectors.load(vectors.DEFAULT_VECTORS)
    count = len(corpus.vectors) + len(tokens.suite(corpus.vectors))
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="site-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        doc = synthetic_results.document(vectors=count, runners=RUNNERS, seed=1)
        results = folder / "results.json"
        results.write_text(json.dumps(doc), encoding="utf-8")
        cmd = [sys.executable, "-m", "appauth_conformance.frontends.cli", "site", "build", str(results), "--out"]
        times = []
        for _ in range(a.builds):
            t0 = time.perf_counter()
            subprocess.run([*cmd, str(folder / "site")], check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        files = [p for p in (folder / "site").rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        median = statistics.median(times)
        print(
            f"site build: {RUNNERS} implementations x {count} vectors ({len(doc['outcomes']):,} outcomes): "
            f"median {median:.2f} s of {a.builds} (best {min(times):.2f}, worst {max(times):.2f}); "
            f"{len(files):,} files, {size / 1e6:.1f} MB"
        )
        return 0 if median < TIME_LIMIT else 1
    finally:
        if not a.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Soak: 1,000,000 vectors through a runner that crashes every 100,000 requests.

    .venv/bin/python benchmarks/soak.py [--count 1000000] [--crash-every 100000]

Every outcome must be accounted for (count equals input, each crash blames exactly one vector)
and the harness's memory must stay flat: peak RSS is sampled at 10% and at 100% of the run.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from pathlib import Path

from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.runner_process import steady_memory
from appauth_conformance.execution.session import Session

ROOT = Path(__file__).resolve().parent.parent

FAULT = ROOT / "tests" / "fixtures" / "runners" / "fault_runner.py"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--crash-every", type=int, default=100_000)
    ap.add_argument("--verbose", action="store_true", help="print peak RSS at every tenth")
    a = ap.parse_args()
    steady_memory()  # as the CLI does for long runs: read buffers mapped and unmapped, no heap creep
    corpus = [v for v in vectors.load().vectors if len(v.request_body) < 2048]
    source = itertools.islice(itertools.cycle(corpus), a.count)  # lazily: the input is never held in memory
    spec = RunnerSpec(
        name="soak", language="python", command=("{python}", str(FAULT), "every-crash", str(a.crash_every))
    )
    n = faults = 0
    t0 = time.perf_counter()
    rss_at_10 = None
    with Session(spec, LocalBackend(), timeout=30, max_restarts=3) as s:
        for o in s.run(source):
            n += 1
            faults += o.fault is not None
            if n == a.count // 10:
                rss_at_10 = rss_mb()
            if a.verbose and n % (a.count // 10) == 0:
                print(f"  {n:>9,}: peak RSS {rss_mb():.1f} MB, restarts {s.restarts}", flush=True)
        restarts = s.restarts
    wall = time.perf_counter() - t0
    print(f"outcomes {n:,} of {a.count:,} inputs; faults {faults} (one per crash); restarts {restarts}")
    print(f"wall {wall:.1f} s ({n / wall:,.0f}/s); peak RSS at 10%: {rss_at_10:.1f} MB, at 100%: {rss_mb():.1f} MB")
    ok = n == a.count and faults == restarts == (a.count - 1) // a.crash_every
    print("accounted for: " + ("yes" if ok else "NO"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

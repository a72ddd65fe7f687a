"""Sharding on one machine: a 20,000-vector corpus on the four reference runners, unsharded, and as two
shards run as two concurrent processes, then merged (`report merge`).

    .venv/bin/python benchmarks/shards.py [--vectors 20000] [--shards 2]

Each run is `appauth-conformance run --lang=all` in a subprocess, as a user runs it (warm runner builds).
On a machine with few cores the shards compete for them: the figure says what splitting costs or saves
here; across machines (CI jobs, pods) each shard has its own cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate import synthetic  # the gate benchmark's synthetic corpus


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "appauth_conformance.frontends.cli", *args]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors", type=int, default=20_000)
    ap.add_argument("--shards", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus.yaml"
        synthetic(a.vectors, corpus)
        base = ["run", "--lang=all", f"--vectors={corpus}"]
        subprocess.run(cli(*base, f"--report-dir={tmp / 'warm'}", "--shard=1/50"), capture_output=True)  # warm
        t0 = time.perf_counter()
        whole = subprocess.run(cli(*base, f"--report-dir={tmp / 'whole'}"), capture_output=True, text=True)
        unsharded = time.perf_counter() - t0
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                cli(*base, f"--shard={k}/{a.shards}", f"--report-dir={tmp / f'shard{k}'}"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for k in range(1, a.shards + 1)
        ]
        codes = [p.wait() for p in procs]
        sharded = time.perf_counter() - t0
        t1 = time.perf_counter()
        merge = subprocess.run(
            cli(
                "report",
                "merge",
                *(str(tmp / f"shard{k}" / "results.json") for k in range(1, a.shards + 1)),
                "--out",
                str(tmp / "merged"),
            ),
            capture_output=True,
            text=True,
        )
        merging = time.perf_counter() - t1
        one = json.loads((tmp / "whole" / "results.json").read_text())
        merged = json.loads((tmp / "merged" / "results.json").read_text())
        same = sorted((o["vector"], o["runner"], o["verdict"]) for o in one["outcomes"]) == sorted(
            (o["vector"], o["runner"], o["verdict"]) for o in merged["outcomes"]
        )
        n = len(one["outcomes"])
        print(
            f"{a.vectors:,} vectors x 4 runners = {n:,} outcomes (exit codes: whole {whole.returncode}, "
            f"shards {codes}, merge {merge.returncode}; merged == unsharded: {same})"
        )
        print(f"unsharded:                      {unsharded:7.2f} s wall")
        print(
            f"{a.shards} shards as concurrent processes: {sharded:7.2f} s wall, + merge {merging:.2f} s "
            f"= {sharded + merging:.2f} s ({(sharded + merging) / unsharded:.2f}x the unsharded time)"
        )


if __name__ == "__main__":
    main()

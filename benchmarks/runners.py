"""Harness overhead per runner: 100,000 vectors end to end through a Session vs the runner's raw batch time.

    .venv/bin/python benchmarks/runners.py [--count 100000] [--lang python,java,cpp,js]

Raw: the same request lines piped from a file straight into the built runner, output to /dev/null.
Harness: Session.run() over the same vectors (encoding, pipelining, decoding, schema checks).
The ratio harness/raw is the figure of merit (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from appauth_conformance.core import wire
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.registry import Registry
from appauth_conformance.execution.session import Session


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--lang", default="python,java,cpp,js")
    a = ap.parse_args()
    corpus = [v for v in vectors.load().vectors if len(v.request_body) < 2048]  # ordinary-sized requests
    batch = [corpus[i % len(corpus)] for i in range(a.count)]
    backend = LocalBackend()
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requests.jsonl"
        with open(req, "wb") as f:
            f.write(wire.HELLO_REQUEST)
            for seq, v in enumerate(batch):
                f.write(wire.sign_request(seq, v.request_body))
        print(f"{a.count} requests, {req.stat().st_size / 1e6:.1f} MB")
        print(f"{'runner':<18} {'raw s':>7} {'harness s':>10} {'ratio':>6}")
        for spec in Registry().select(a.lang):
            backend.prepare(spec)
            cwd = backend.build_dir(spec)
            t0 = time.perf_counter()
            with open(req, "rb") as stdin:
                subprocess.run(spec.argv(), cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL, check=True)
            raw = time.perf_counter() - t0
            t0 = time.perf_counter()
            with Session(spec, backend, timeout=60) as s:
                n = sum(1 for _ in s.run(batch))
            harness = time.perf_counter() - t0
            assert n == a.count
            print(f"{spec.name:<18} {raw:7.2f} {harness:10.2f} {harness / raw:6.2f}")


if __name__ == "__main__":
    main()

"""Local vs Docker backend: the four default runners over the full corpus, images built, caches warm.

    .venv/bin/python benchmarks/backends.py [--repeat 3]

Times `appauth-conformance run --lang all` in-process for each backend (best of N), so Python start-up
is excluded and both sides pay the same corpus load and report rendering. Target: docker at most
2 s slower than local.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from appauth_conformance.frontends import cli


def once(backend: str, out: Path) -> float:
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["run", "--lang", "all", "--backend", backend, "--report-dir", str(out)])
    assert code == 0, f"{backend}: exit {code}"
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        best = {}
        for backend in ("local", "docker"):
            once(backend, Path(tmp) / backend)  # warm: builds and images
            best[backend] = min(once(backend, Path(tmp) / backend) for _ in range(a.repeat))
            print(f"{backend:>6}: {best[backend]:.2f} s (best of {a.repeat})")
        print(f"docker - local: {best['docker'] - best['local']:+.2f} s")


if __name__ == "__main__":
    main()

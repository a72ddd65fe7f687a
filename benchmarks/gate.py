"""The gate's speed: `pytest --lang=all` on the corpus (warm caches), and time per item as the corpus grows.

    .venv/bin/python benchmarks/gate.py [--sizes 1000,5000,20000] [--root-only]

First, `pytest --lang=all` typed in the repository root, as a developer of the suite types it every day
(target: under 5 s warm; the suite's own tests are not collected there, see tests/conftest.py).

Runs pytest in a subprocess, as a user would (the test items only: the harness's own unit tests are
not collected). Synthetic corpora are made by repeating the real corpus's ordinary-sized vectors under
new ids. Targets: full corpus on all four runners in at most 5 s wall; per-item time within 1.5x
from the smallest to the largest size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from appauth_conformance.corpus import vectors

ROOT = Path(__file__).resolve().parent.parent


def pytest_wall(vector_path: Path, report_dir: Path) -> tuple[float, str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--lang=all",
        "--vectors",
        str(vector_path),
        "--report-dir",
        str(report_dir),
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(report_dir),
        str(report_dir),
    ]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=report_dir)
    return time.perf_counter() - t0, r.stdout.strip().splitlines()[-1]


def synthetic(n: int, path: Path) -> None:
    base = [v for v in yaml.safe_load(open(ROOT / "vectors" / "single.yaml"))["vectors"]]
    base += yaml.safe_load(open(ROOT / "vectors" / "sp_user.yaml"))["vectors"]
    out = []
    for i in range(n):
        v = dict(base[i % len(base)])
        v["id"] = f"synthetic-{i:06d}"
        out.append(v)
    notes = {}
    for f in ("single.yaml", "sp_user.yaml"):
        notes.update(yaml.safe_load(open(ROOT / "vectors" / f))["notes"])
    used = {fl for v in out for fl in v["flags"]}
    path.write_text(
        yaml.safe_dump(
            {
                "schema": vectors.SCHEMA_ID,
                "description": "synthetic",
                "notes": {k: v for k, v in notes.items() if k in used},
                "vectors": out,
            },
            sort_keys=False,
        )
    )


def in_repository_root(runs: int = 5) -> None:
    cmd = [sys.executable, "-m", "pytest", "--lang=all", "-q"]
    subprocess.run(cmd, capture_output=True, cwd=ROOT)  # warm the build caches
    walls, last = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        last = r.stdout.strip().splitlines()[-1]
    walls.sort()
    print(
        f"`pytest --lang=all` in the repository root, warm: median {walls[len(walls) // 2]:.2f} s, "
        f"best {walls[0]:.2f} s, worst {walls[-1]:.2f} s of {runs}  [{last}]"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,20000")
    ap.add_argument("--root-only", action="store_true", help="only the everyday gate in the repository root")
    a = ap.parse_args()
    in_repository_root()
    if a.root_only:
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pytest_wall(vectors.DEFAULT_VECTORS, tmp)  # warm the build caches
        wall, summary = pytest_wall(vectors.DEFAULT_VECTORS, tmp)
        n = len(vectors.load().vectors)
        print(f"full corpus ({n} vectors x 4 runners): {wall:.2f} s wall  [{summary}]")
        per = []
        for size in map(int, a.sizes.split(",")):
            path = tmp / f"synthetic-{size}.yaml"
            synthetic(size, path)
            wall, summary = pytest_wall(path, tmp)
            per.append(wall / (size * 4))
            print(f"{size:>6} vectors x 4 runners: {wall:7.2f} s wall, {per[-1] * 1e6:6.0f} us/item  [{summary}]")
        print(f"per-item time, largest/smallest: {per[-1] / per[0]:.2f}x")


if __name__ == "__main__":
    main()

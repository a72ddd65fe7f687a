"""The everyday gate from a team's folder: `pytest --lang=all` and `appauth-conformance run --lang all`.

    .venv/bin/python benchmarks/startup.py [--runs 7]

Run with the interpreter of a venv that has the wheel installed (scripts/setup.sh makes `.venv` so).
Both commands run in a fresh temporary folder outside the checkout (no pyproject, no conftest: the
plugin is found by its entry point), with the build cache warm (one untimed run of each first), and
the median of `--runs` wall times is printed for each, with the median CPU time (user + system of
the command and the runners it started: a figure a loaded machine inflates less). Targets (issue 22): pytest <= 1.5 s,
`run` <= 1.0 s. The JVM's start is the floor of both: the four runners start concurrently.

Warm includes pytest's cache of the suite's assertion-rewritten modules (pytest rewrites a pytest11 plugin's
whole package): the untimed first run goes without PYTHONDONTWRITEBYTECODE, which would otherwise keep pytest
from writing that cache, so that every timed run would parse and compile the ~50 modules again (~0.15 s CPU
measured; PYTEST_DONT_REWRITE in their docstrings would save ~0.02 s of it: the parse and compile remain).
The timed runs keep the environment as it is. The other pytest plugins installed beside the suite (the test
extras': hypothesis, pytest-randomly, pytest-xdist) run in `pytest --lang=all` as they would in a team's
venv that has them; they are listed, since each adds to its time (hypothesis imports itself at the end,
~0.1 s). A third line times `pytest --lang=all` with them disabled (`-p no:NAME`): what a team's venv with
the suite and its dependencies only runs (anyio's plugin stays: a dependency of `serve`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def requirement_closure(dist: str, seen: set[str] | None = None) -> set[str]:
    """The normalised names of `dist` and of everything it requires, transitively (extras left out)."""
    seen = set() if seen is None else seen
    key = re.sub(r"[-_.]+", "-", dist).lower()
    if key in seen:
        return seen
    seen.add(key)
    try:
        reqs = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return seen
    for req in reqs:
        name = re.match(r"[A-Za-z0-9._-]+", req)
        if name and "extra ==" not in req:
            requirement_closure(name.group(0), seen)
    return seen


def other_plugins() -> list[str]:
    """The pytest11 plugins of distributions the suite does not need (the test extras')."""
    needed = requirement_closure("appauth-conformance")
    return sorted(
        {
            ep.name
            for ep in importlib.metadata.entry_points(group="pytest11")
            if ep.dist is None or re.sub(r"[-_.]+", "-", ep.dist.name).lower() not in needed
        }
    )


def commands(report: Path) -> dict[str, list[str]]:
    pytest = [sys.executable, "-m", "pytest", "--lang=all", "-q", "-p", "no:cacheprovider"]
    return {
        "pytest --lang=all": pytest,
        "pytest --lang=all, the test extras' plugins off": [
            *pytest,
            *(a for n in other_plugins() for a in ("-p", f"no:{n}")),
        ],
        "appauth-conformance run --lang all": [
            str(BIN / "appauth-conformance"),
            "run",
            "--lang",
            "all",
            "--report-dir",
            str(report),
        ],
    }


def cpu() -> float:
    """CPU seconds (user + system) of the finished children: the command and the runners it started."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(argv: list[str], cwd: Path, runs: int) -> tuple[list[float], list[float], str]:
    # warm the build cache, the OS's file cache and pytest's cache of rewritten modules (see the docstring)
    warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(argv, capture_output=True, cwd=cwd, env=warm)
    walls, cpus, last = [], [], ""
    for _ in range(runs):
        t0, c0 = time.perf_counter(), cpu()
        r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu() - c0)
        lines = r.stdout.strip().splitlines()
        last = f"exit {r.returncode}: {lines[-1] if lines else ''}"
    return walls, cpus, last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    others = sorted({ep.name for ep in importlib.metadata.entry_points(group="pytest11")} - {"appauth_conformance"})
    print(
        f"pytest plugins beside the suite's: {', '.join(others) or 'none'} (of the test extras: "
        f"{', '.join(other_plugins()) or 'none'}); load average {os.getloadavg()[0]:.1f}"
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: the untimed first runs go without it (pytest's rewrite cache)")
    with tempfile.TemporaryDirectory(prefix="appauth-team-") as tmp:
        folder = Path(tmp)
        for name, argv in commands(folder / "run-reports").items():
            walls, cpus, last = measure(argv, folder, a.runs)
            print(
                f"{name}: median {statistics.median(walls):.2f} s, best {min(walls):.2f} s, "
                f"worst {max(walls):.2f} s of {a.runs} warm runs; CPU (user + system, runners included) "
                f"median {statistics.median(cpus):.2f} s  [{last}]",
                flush=True,
            )


if __name__ == "__main__":
    main()

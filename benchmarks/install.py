"""What a team waits for the first time: fresh virtualenv + install from the wheel + first gate, then the rerun.

    .venv/bin/python benchmarks/install.py

1. builds the wheel from this checkout (not timed: a team installs a published one);
2. times, in a throwaway project outside the checkout that declares a copy of examples/python/signer.py:
   `python -m venv`, `pip install <wheel>` (pip's own cache as it is on this machine),
   the first `pytest --lang=all` with an empty runner build cache (javac, g++ and `npm ci`
   for the reference runners included), and the warm rerun.

Figures measured are in the README's benchmark section.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SIGNER = ROOT / "examples" / "python" / "signer.py"  # the signer a team copies


def timed(label: str, argv: list[str], cwd: Path, env: dict) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    last = (p.stdout.strip().splitlines() or [""])[-1]
    if p.returncode != 0:
        sys.exit(f"{label} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    print(f"{label:<38} {wall:7.1f} s   {last[:70]}")
    return wall


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="appauth-install-bench-") as tmp:
        tmp = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(ROOT)],
            check=True,
            capture_output=True,
        )
        (wheel,) = (tmp / "dist").glob("*.whl")
        team = tmp / "team"
        team.mkdir()
        (team / "signer.py").write_bytes(SIGNER.read_bytes())
        (team / "pyproject.toml").write_text(
            '[tool.appauth-conformance.runners.team]\ncommand = ["{python}", "signer.py"]\n'
        )
        env = {**os.environ, "APPAUTH_CONFORMANCE_CACHE": str(tmp / "cache"), "CI": "true"}
        venv = tmp / "venv"
        gate = [str(venv / "bin" / "python"), "-m", "pytest", "--lang=all", "-q", "-p", "no:randomly"]
        total = timed("python -m venv", [sys.executable, "-m", "venv", str(venv)], team, env)
        total += timed("pip install <wheel>", [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], team, env)
        total += timed("first pytest --lang=all (cold builds)", gate, team, env)
        print(f"{'fresh venv + install + first gate':<38} {total:7.1f} s")
        timed("warm rerun of pytest --lang=all", gate, team, env)


if __name__ == "__main__":
    main()

"""Build the version series of the published site: one results.json per release, cached.

    .venv/bin/python scripts/build-series.py sdk               # every huaweicloudsdkmeeting release >= 3.0.94
    .venv/bin/python scripts/build-series.py cryptojs          # every crypto-js release, through the JS reference snippet
    .venv/bin/python scripts/build-series.py sdk --only 3.1.166,3.1.167   # some releases
    .venv/bin/python scripts/build-series.py sdk --limit 5     # at most 5 releases not yet measured, newest first

Each release is measured by the suite itself, with the local backend: the release is installed into a
fresh environment under .cache/series/ (pip for the SDK, npm for crypto-js), the project's adapter
(runners/huawei-python-sdk/runner.py, runners/js/runner.js) is declared as a runner (`--runner`) with
its known-divergence file, and `appauth-conformance run` writes results.json, which is copied to
reports/series/<implementation>/<version>.json.gz (gzip: a release's results.json is about 1 MB). That file is the cache: a release that has one is not
measured again, so a rerun after a new release costs one release. The runner's group is set to
vendor-sdk / reference (a declared runner is recorded as `declared`) and its `variant` to the release
(a release whose runner did not start has no hello to say it); nothing else is changed.

`bash scripts/publish-report.sh` then builds reports/site/ from reports/results.json and these files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT / "reports" / "series"
CACHE = ROOT / ".cache" / "series"
FIRST_SDK = (3, 0, 94)  # the first huaweicloudsdkmeeting release with App ID authentication


def _key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def sdk_versions() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "huaweicloudsdkmeeting"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Available versions: (.*)", out)
    listed = found.group(1).split(", ") if found else []
    return sorted((v for v in listed if re.fullmatch(r"\d+\.\d+\.\d+", v) and _key(v) >= FIRST_SDK), key=_key)


def cryptojs_versions() -> list[str]:
    out = subprocess.run(["npm", "view", "crypto-js", "versions", "--json"], capture_output=True, text=True, check=True)
    return sorted(json.loads(out.stdout), key=_key)


def measure(kind: str, version: str) -> Path:
    """One release's results.json in reports/series/. An old SDK release whose runner cannot start with
    today's urllib3 (2.x dropped `contrib.appengine`, which its huaweicloudsdkcore imports) is measured
    again with urllib3<2, as it was used in its day; the record's `variant` says which."""
    doc = _run(kind, version)
    if kind == "sdk" and not doc["runners"][0].get("hello"):
        doc = _run(kind, version, ["urllib3<2"])
    out = SERIES / ("huawei-python-sdk" if kind == "sdk" else "crypto-js") / f"{version}.json.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress((json.dumps(doc, separators=(",", ":")) + "\n").encode(), mtime=0))
    return out


def _run(kind: str, version: str, extra: list[str] | None = None) -> dict:
    """Install one release under .cache/series/, run the corpus (and the token suite) through it."""
    extra = extra or []
    work = CACHE / f"{kind}-{version}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if kind == "sdk":
        name, group = "huawei-python-sdk-pypi", "vendor-sdk"
        venv.create(work / "venv", with_pip=True)
        py = work / "venv" / "bin" / "python"
        pins = [f"huaweicloudsdkmeeting=={version}", f"huaweicloudsdkcore=={version}", *extra]
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins], check=True)
        command = f"{py} {ROOT / 'runners' / 'huawei-python-sdk' / 'runner.py'}"
        divergences = ROOT / "runners" / "huawei-python-sdk" / "known-divergences.yaml"
    else:
        name, group = "js-cryptojs-npm", "reference"
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(work),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"crypto-js@{version}",
            ],
            check=True,
        )
        shutil.copy(ROOT / "runners" / "js" / "runner.js", work / "runner.js")  # resolves crypto-js from work/
        command = f"node {work / 'runner.js'}"
        divergences = ROOT / "runners" / "js" / "known-divergences.yaml"
    own = work / "known-divergences.yaml"  # the adapter's list, under the declared runner's name
    own.write_text(re.sub(r"(?m)^runner: .*$", f"runner: {name}", divergences.read_text(encoding="utf-8")))
    divergences = own
    reports = work / "reports"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "run",
            "--lang",
            name,
            "--runner",
            f"{name}={command}",
            "--divergences",
            f"{name}={divergences}",
            "--report-dir",
            str(reports),
        ],
        check=False,  # a release that fails the corpus is a measurement, not an error
        cwd=work,
    )
    doc = json.loads((reports / "results.json").read_text())
    for r in doc["runners"]:
        r["group"] = group
        r["variant"] = " ".join([version, *extra])  # the release (and any pin added), even when it did not start
    shutil.rmtree(work, ignore_errors=True)
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["sdk", "cryptojs"])
    ap.add_argument("--only", help="a comma list of releases to measure (default: every release)")
    ap.add_argument("--limit", type=int, default=0, help="measure at most this many new releases (newest first)")
    a = ap.parse_args()
    versions = a.only.split(",") if a.only else (sdk_versions() if a.kind == "sdk" else cryptojs_versions())
    folder = SERIES / ("huawei-python-sdk" if a.kind == "sdk" else "crypto-js")
    todo = [v for v in reversed(versions) if not (folder / f"{v}.json.gz").is_file()]
    cached = len(versions) - len(todo)
    if a.limit:
        todo = todo[: a.limit]
    print(f"{len(versions)} release(s), {cached} cached, measuring {len(todo)}", flush=True)
    for v in todo:
        print(f"  {v}: wrote {measure(a.kind, v).relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The hot-path schema checks: `schemas.check` (jsonschema-rs behind a guard) against the compiled validators
from PyPI, on the two documents checked most often: a runner's sign response (one per vector per runner)
and a results.json outcome record (one per outcome, when results.json is read). It chose jsonschema-rs:
docs/testing.md has the figures, and those of the hand-written predicate it replaced.

    .venv/bin/python benchmarks/schema_check.py [--repeat 5]
    # with the others, if installed: pip install fastjsonschema jsonschema-rs

Prints documents per second, the best of --repeat rounds, for each validator that is installed (jsonschema's
own iter_errors path is shown for scale). Every validator is first checked to agree on the documents.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic_results  # a results.json made by the real Recorder
from appauth_conformance.formats import schemas


def documents() -> dict[str, tuple[str, str, list[Any]]]:
    sign = [
        {"seq": i, "string_to_sign": f"app:corp:user:{1700000000 + i}:{'n' * 32}", "signature": f"{i:064x}"}
        for i in range(2000)
    ]
    sign += [{"seq": i, "error": {"type": "URIError", "message": "URI malformed"}} for i in range(100)]
    outcomes = synthetic_results.document(vectors=400, runners=5, seed=1)["outcomes"]
    return {
        "sign response": ("protocol", "sign_response", sign),
        "results outcome record": ("results", "outcome", outcomes),
    }


def validators(name: str, definition: str) -> dict[str, Callable[[Any], bool]]:
    s = schemas._rooted(name, definition)
    s = {k: v for k, v in s.items() if k != "$id"}
    found: dict[str, Callable[[Any], bool]] = {"schemas.check": schemas.check(name, definition)}
    try:
        import fastjsonschema

        fast = fastjsonschema.compile(s)

        def fjs(doc: Any) -> bool:
            try:
                fast(doc)
                return True
            except fastjsonschema.JsonSchemaException:
                return False

        found["fastjsonschema"] = fjs
    except ImportError:
        pass  # optional: shown when installed
    try:
        import jsonschema_rs

        found["jsonschema-rs"] = jsonschema_rs.Draft202012Validator(s).is_valid
    except ImportError:
        pass  # optional: shown when installed
    found["jsonschema (for scale)"] = schemas.validator(name, definition).is_valid
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for what, (name, definition, docs) in documents().items():
        print(f"{what} ({name}#{definition}), {len(docs)} documents:")
        for label, ok in validators(name, definition).items():
            assert all(ok(d) for d in docs), f"{label} refuses a valid document"
            n = len(docs) if "scale" not in label else len(docs) // 10
            best = min(_time(ok, docs[:n]) for _ in range(args.repeat))
            print(f"  {label:26} {n / best:12,.0f} /s")


def _time(ok: Callable[[Any], bool], docs: list[Any]) -> float:
    t0 = time.perf_counter()
    for d in docs:
        ok(d)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()

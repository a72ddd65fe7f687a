"""Fuzzer throughput and memory: N inputs through the four reference runners on the local backend.

    .venv/bin/python benchmarks/fuzz.py                      # 1,000,000 inputs (target: <= 35 s on 2 cores, issue 22)
    .venv/bin/python benchmarks/fuzz.py --count 100000 --seed 3
    .venv/bin/python benchmarks/fuzz.py --compare-memory     # 100k and 1M in fresh processes: peak RSS within 20%
    .venv/bin/python benchmarks/fuzz.py --raw --count 200000 # each built runner alone, then all at once, on the same request lines
    .venv/bin/python benchmarks/fuzz.py --engine-ensure --count 100000  # the gate run's Engine.ensure on fuzz inputs
    .venv/bin/python benchmarks/fuzz.py --threads --count 200000 --no-shrink  # the harness's CPU by thread

Prints the wall time of the fuzzing phase (generation, four concurrent sessions,
differential check, triage), the shrinking time, each runner's rate, the harness
CPU share (time.process_time() of this process / wall: 100% is one core), the
runners' own CPU (RUSAGE_CHILDREN after they exit) and the peak RSS of this
process (getrusage(RUSAGE_SELF).ru_maxrss). --raw pipes the generated request
lines from a file straight into each built runner instead (wall and CPU, no
harness), each alone and then all at once: the runners' own floor. --engine-ensure runs the same inputs, as Vectors,
through `Engine.ensure` (the gate run's path, which keeps a Result per outcome) for
comparison with the fuzzer's streaming (harness/appauth_conformance/fuzz/run.py).
The figures measured are in docs/fuzzing.md and the README's benchmarks section.

Issue 22 (target: 1,000,000 inputs in <= 35 s; 45.2 s and harness CPU 29.6 s before), measured
2026-12-07 before and after its harness changes in one sitting, load average 13-19 (other jobs):

    version                 wall      harness CPU   runners' CPU   groups
    before (c9b955a)        203.1 s   30.4 s        53.6 s         8
    after                   162.7 s   33.8 s        59.6 s         8 (the same)

Harness and runners needed 11% more CPU the second time alike (harness/runners 0.57 both): no
change measurable at that load (200,000 inputs: harness CPU 7.8 s before, 6.8 s after). Profile
(py-spy --gil): generation ~29%, the sessions' read/match loop ~28% (~2.7 us per reply and runner),
triage ~12%, writers ~7%, readers ~5%, lock hand-offs ~5%. js-reference alone (--raw --count 200000)
needs 6.83 CPU-s (34.2 us per request), about 34 s per 1,000,000 on its one core: the target is at
the slowest runner's own floor.

Loaded machine, CPU (load average 8-16, five interleaved runs each, --threads --no-shrink --count 200000):
harness CPU 5.65-6.44 s (mean 6.01) before (48e91e1), 5.34-6.03 s (mean 5.65) after fuzz.conforms, the
one-format wire.request_body and the inline expected replies; the same 8 groups. By thread after (means):
consumers 3.13 s (triage 1.55), main 1.26 s, writers 0.70 s, readers 0.59 s.

Quiet machine, 2026-12-07 15:12-15:15 UTC, 1,000,000 inputs, interleaved with the version before (e27c3af):
before 41.7 s and 37.6 s, after 38.1, 37.5 and 37.7 s (harness 20.8-21.1 CPU-s, runners 44.7-45.4 CPU-s);
readers 2.96 -> 1.51 CPU-s (one read buffer kept per process). The runners alone on the same 1M lines need
47.3 CPU-s (js-reference 30.3 of it on its one thread): the floor is in docs/fuzzing.md, "Issue 22's target".

Later (16:33-18:07 UTC), with the session's in-order fast path: `--raw` runs the four runners all at once from
files, no harness: 31.3 and 31.1 s wall (44.6 CPU-s). 1M fuzzing: best 36.2 s (harness 18.7 CPU-s); 12 runs
36.2-49.6 s as the machine's speed varied by half (runners 43.7-65.5 CPU-s for the same requests); harness over
runners' CPU median 0.455 against 0.477 before, in runs interleaved with e0ce157.

Stop 32 (18:49-19:58 UTC): the run now prints the share of the cores busy (/proc/stat, any process): 86-88% in
every run, whatever was tried (runners reniced, pinned to cores); 36.7-61.4 s as the runners needed 44.2-73.4
CPU-s. Triage's learning without the pairs outside a group (diagnosis.explained_among): triage over the runners'
CPU 0.071-0.073 against 0.082-0.086 before (10ca329), three interleaved pairs.

Stop 33 (21:12-22:08 UTC): the idle was the fairness between autogroups (each local runner is a session of
its own): fuzz.priority now favours the runner the stream waits on and runs the others in the background;
local pipes are 1 MiB. The run prints how often the favourite changed. Interleaved with bc6f01d, quiet
machine, 22:05-22:08 UTC: 35.9, 33.7 and 34.3 s (96-97% of the cores busy) against 39.1, 39.1 and 39.5 s (87%);
all seven runs with the final settings 32.4-35.9 s, median 34.2 s (docs/fuzzing.md, "Priority").
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from appauth_conformance import fuzz
from appauth_conformance.core import wire
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.execution.registry import Registry
from appauth_conformance.execution.runner_process import steady_memory

THREAD_ROLES = {"fuzz": "consumers", "_write": "writers", "_read_stdout": "readers", "_drain_stderr": "stderr drains"}


class ThreadCPU:
    """CPU seconds (time.thread_time at each thread's end) summed by role: the harness's threads are named
    "fuzz-<runner>" (the consumers: matching and triage) or by default "Thread-N (<target>)" (the sessions'
    writers, stdout readers, stderr drains). Installed around Thread.run for the benchmark only."""

    def __init__(self) -> None:
        self.seconds: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        run, seconds, lock = threading.Thread.run, self.seconds, self.lock
        role_of = self.role

        def timed_run(thread: threading.Thread) -> None:
            try:
                run(thread)
            finally:
                with lock:
                    seconds[role_of(thread.name)] += time.thread_time()

        threading.Thread.run = timed_run  # type: ignore[method-assign]
        add = fuzz.Triage.add

        def timed_add(triage: fuzz.Triage, o, stage: str) -> fuzz.Group:
            t0 = time.thread_time()
            try:
                return add(triage, o, stage)
            finally:
                with lock:
                    seconds["of which triage"] += time.thread_time() - t0

        fuzz.Triage.add = timed_add  # type: ignore[method-assign]

    def role(self, name: str) -> str:
        key = "fuzz" if name.startswith("fuzz-") else name.partition("(")[2].rstrip(")")
        return THREAD_ROLES.get(key, "other")


def measure(count: int, seed: int, batch: int, shrink: bool, lang: str, threads: bool = False) -> dict:
    specs = Registry().select(lang)  # what --lang means to the CLI: "all" is the four reference runners
    steady_memory()  # as the CLI does
    by_thread = ThreadCPU() if threads else None
    fz = fuzz.Fuzzer(
        specs,
        LocalBackend(),
        seed=seed,
        count=count,
        batch=batch,
        shrink=shrink,
        require_all=True,
        warn=lambda s: print("warning:", s, file=sys.stderr),
    )
    fz.prepare()
    main0 = time.thread_time()
    busy0 = cores_busy()
    try:
        rep = fz.run()
        main = time.thread_time() - main0
        busy1 = cores_busy()
    finally:
        fz.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    extra = {}
    if by_thread is not None:
        roles = ("consumers", "of which triage", "writers", "readers")
        extra["thread_cpu_s"] = {"main": round(main, 2)} | {k: round(by_thread.seconds[k], 2) for k in roles}
    return extra | {
        "count": rep.inputs,
        "seed": seed,
        "wall_s": round(rep.wall, 2),
        "shrink_s": round(rep.shrink_wall, 2),
        "harness_cpu_s": round(rep.cpu, 2),
        "harness_cpu_share": round(rep.cpu_share, 3),
        "runners_cpu_s": round(children.ru_utime + children.ru_stime, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rates": {r.spec.name: round(r.outcomes / r.seconds) if r.seconds else 0 for r in rep.runners},
        "groups": [
            {"runner": g.runner, "stage": g.stage, "cause": g.cause, "count": g.count, "known": g.known}
            for g in rep.groups
        ],
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "cores_busy": busy_share(busy0, busy1),
        "favoured": {"changes": fz.priority.changes, "windows": fz.priority.windows} if fz.priority else None,
    }


def cores_busy() -> tuple[int, int] | None:
    """(busy, all) clock ticks of every core so far, from /proc/stat's first line; None where there is none."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # idle and iowait are not busy


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of all cores busy between two cores_busy() readings (whoever kept them busy)."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


def raw(count: int, seed: int, lang: str) -> None:
    """The runners without the harness: the same fuzz request lines piped from a file, output to /dev/null;
    each runner alone, then all of them at once (their own floor on this machine's cores)."""
    specs = Registry().select(lang)
    backend = LocalBackend()
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requests.jsonl"
        with open(req, "wb") as f:
            f.write(wire.HELLO_REQUEST)
            seq = 0
            for chunk in fuzz.Inputs(seed).chunks(fuzz.DEFAULT_BATCH, count):
                f.write(b"".join(wire.sign_request(seq + i, x.request_body) for i, x in enumerate(chunk)))
                seq += len(chunk)
        print(f"{count:,} fuzz requests (seed {seed}), {req.stat().st_size / 1e6:.1f} MB")
        for spec in specs:
            backend.prepare(spec)
        for group in [[spec] for spec in specs] + ([specs] if len(specs) > 1 else []):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            with contextlib.ExitStack() as files:
                procs = [
                    subprocess.Popen(
                        spec.argv(),
                        cwd=backend.build_dir(spec),
                        stdin=files.enter_context(open(req, "rb")),  # one reader each
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for spec in group
                ]
                for spec, p in zip(group, procs, strict=True):
                    if p.wait() != 0:
                        raise SystemExit(f"{spec.name} exited with status {p.returncode}")
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            name = group[0].name if len(group) == 1 else "all at once"
            print(
                f"  {name:<18} wall {wall:6.2f} s  CPU {cpu:6.2f} s  ({1e6 * cpu / count:.1f} us CPU per request"
                + (")" if len(group) == 1 else f", {100 * cpu / wall / (os.cpu_count() or 1):.0f}% of the cores busy)")
            )


def engine_ensure(count: int, seed: int, lang: str) -> None:
    """The same inputs through the gate run's path: Vectors, Engine.ensure, a Result kept per outcome."""
    specs = Registry().select(lang)
    steady_memory()
    engine = Engine(specs, LocalBackend())
    engine.prepare()
    try:
        t0, c0 = time.monotonic(), time.process_time()
        engine.ensure(fuzz.Inputs(seed).take(count))  # generation included, as in the fuzzer's wall time
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
    finally:
        engine.close()
    kept = sum(len(st.results) for st in engine.runners.values())
    print(
        f"Engine.ensure: {count:,} inputs (seed {seed}) through {len(specs)} runner(s): wall {wall:.1f} s, "
        f"harness CPU {cpu:.1f} s ({100 * cpu / wall:.0f}% of one core), {kept:,} results kept, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB"
    )


def show(m: dict) -> None:
    print(
        f"inputs: {m['count']:,} (seed {m['seed']}) through the four reference runners, {m['cpus']} CPU(s), "
        f"load average after the run {m['load_avg']}"
    )
    print(
        f"fuzzing phase wall: {m['wall_s']:.1f} s ({m['count'] / m['wall_s']:,.0f} inputs/s); shrinking: {m['shrink_s']:.1f} s"
    )
    for name, rate in m["rates"].items():
        print(f"  {name:<18} {rate:>9,} outcomes/s")
    print(
        f"harness CPU: {m['harness_cpu_s']:.1f} s = {100 * m['harness_cpu_share']:.0f}% of one core; "
        f"runners' CPU: {m['runners_cpu_s']:.1f} s"
    )
    if m.get("cores_busy") is not None:  # other load counts too: a quiet machine shows what the run kept busy
        print(f"cores busy during the run (any process): {100 * m['cores_busy']:.0f}% of {m['cpus']}")
    if m.get("favoured"):  # fuzz.priority: the runner the stream waited on, the others in the background
        windows = m["favoured"]["windows"]
        print(
            f"favoured runner changed {m['favoured']['changes']} time(s); windows favoured: "
            + (", ".join(f"{k} {v}" for k, v in sorted(windows.items(), key=lambda kv: -kv[1])) or "none")
        )
    if "thread_cpu_s" in m:
        print(
            "harness CPU by thread (s): "
            + ", ".join(f"{k} {v:.2f}" for k, v in m["thread_cpu_s"].items())
            + " (main: generating and handing out the inputs)"
        )
    print(f"peak RSS (harness process): {m['peak_rss_mb']:.1f} MB")
    print(f"disagreement groups: {len(m['groups'])}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=fuzz.DEFAULT_BATCH)
    ap.add_argument("--lang", default="all")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON object (used by --compare-memory)")
    ap.add_argument("--threads", action="store_true", help="the harness's CPU by thread role (main, consumers, ...)")
    ap.add_argument(
        "--raw",
        action="store_true",
        help="each built runner alone, then all at once, on the same request lines, no harness",
    )
    ap.add_argument(
        "--engine-ensure", action="store_true", help="the same inputs through Engine.ensure (the gate run's path)"
    )
    ap.add_argument(
        "--compare-memory",
        action="store_true",
        help="run 100,000 and 1,000,000 inputs in fresh processes and compare their peak RSS",
    )
    a = ap.parse_args()
    if a.raw:
        raw(a.count, a.seed, a.lang)
        return 0
    if a.engine_ensure:
        engine_ensure(a.count, a.seed, a.lang)
        return 0
    if a.compare_memory:
        out = {}
        for n in (100_000, 1_000_000):
            cmd = [
                sys.executable,
                __file__,
                "--json",
                "--count",
                str(n),
                "--seed",
                str(a.seed),
                "--batch",
                str(a.batch),
                "--lang",
                a.lang,
            ] + (["--no-shrink"] if a.no_shrink else [])
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stdout + r.stderr, file=sys.stderr)
                return 2
            out[n] = json.loads(r.stdout.strip().splitlines()[-1])
            show(out[n])
            print()
        small, big = out[100_000]["peak_rss_mb"], out[1_000_000]["peak_rss_mb"]
        growth = big / small - 1
        print(
            f"peak RSS: 100k {small:.1f} MB, 1M {big:.1f} MB: {100 * growth:+.1f}% "
            f"({'within' if growth <= 0.20 else 'NOT within'} 20%)"
        )
        return 0 if growth <= 0.20 else 1
    m = measure(a.count, a.seed, a.batch, not a.no_shrink, a.lang, a.threads)
    if a.json:
        print(json.dumps(m))
    else:
        show(m)
    return 0


if __name__ == "__main__":
    sys.exit(main())

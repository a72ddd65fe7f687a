"""The verifying endpoint's memory over a long run: 200,000 signed requests from 64 keep-alive clients.

    .venv/bin/python benchmarks/endpoint_soak.py [--requests 200000] [--clients 64] [--http] [--state]

Starts `appauth-conformance serve` as benchmarks/endpoint_load.py does (with --state: a state file), samples
the serve process's RSS (/proc) once a second while the requests go, and prints it every 10 % of the
requests, with the slope: RSS bytes per request, a least-squares fit over the samples after the first 5 %
(flat: a few bytes a request or fewer; the replay memory held in RAM was ~400). Then stops serve (SIGTERM),
checks every request was recorded exactly once in results.json, and prints how long the end took and serve's
peak RSS by then (results.json and the reports written), and serve's CPU a request while serving.

What grows, by design (docs/endpoint.md, "Load and memory"): nothing in RAM a request. The judged requests go
to a spool file until results.json is written at the end (then read back one at a time), the replay memory
(every nonce and whole token) is an SQLite database on disk with a bounded page cache, the tokens issued for
the follow-up calls are the latest 10,000.

Measured 2026-12-07 on the shared 2-core machine (load average 14 to 19), HTTPS, 64 clients:
  before (judged requests kept in memory, issued tokens unbounded), 05:11 UTC: 200,000 requests in 241 s;
    serve RSS 95 MiB at 5 %, 350 MiB at half, 627 MiB at the end: 2,932 bytes a request
  after (judged requests spooled to a temporary file, issued tokens bounded), 05:20 UTC: 267 s;
    serve RSS 73 MiB at 5 %, 108 MiB at half, 148 MiB at the end: 416 bytes a request (the replay memory)
Measured 2026-12-07 on the same machine (load average 7 to 10), HTTPS, 64 clients, in one sitting:
  the replay memory in SQLite on disk, 11:59 UTC: 254 s; serve RSS 74.4 MiB at 10,777 requests, 77.0 MiB
    at 40,220 and at every 10 % to 180,300, 77.6 MiB at 200,000: 2.5 bytes a request (slope after 5 %)
  the same with --state, 11:39 UTC: 194 s; 76.8-76.9 MiB from 40,165 to 179,472, 77.6 MiB at the end: 2.2
  again, 12:12 UTC: 167 s, serve 0.33 ms CPU a request; 76.9 MiB from 40,997 to 180,243, 77.4 at the end: 3.0
  the code before (replay memory in sets and dicts), 12:05 UTC: 171 s; 76.2 MiB at 10,336, 112.7 at
    100,147, 152.5 at 200,000: 416 bytes a request
Every request recorded exactly once. Writing results.json and the reports at the end (200,000 outcomes)
took 76 s (87 s before) and serve's RSS peaked at 1,568 MiB then (2,141 MiB before, when the spool was read
back whole): the recorder and the report layer hold every outcome, a separate matter from the serving.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
import time
from pathlib import Path

from endpoint_load import cpu_seconds, drive, requests, start_serve, stop_serve


def rss(pid: int, field: str = "VmRSS") -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) * 1024


def watch_peak(pid: int, peak: list[int]) -> None:
    """serve's peak RSS (VmHWM) until it exits, in peak[0]: what writing results.json and the reports takes."""
    try:
        while True:
            peak[0] = rss(pid, "VmHWM")
            time.sleep(0.2)
    except (OSError, AttributeError):  # gone (or a zombie: no VmHWM line)
        pass


async def soak(pid: int, port: int, ca: str | None, reqs: list[bytes], clients: int) -> list[tuple[int, int]]:
    """(requests answered, serve's RSS) once a second while `reqs` are sent."""
    statuses: list[int] = []
    samples = [(0, rss(pid))]
    run = asyncio.ensure_future(drive(port, ca, reqs, clients, statuses))
    while not run.done():
        await asyncio.wait([run], timeout=1.0)
        samples.append((len(statuses), rss(pid)))
    await run
    assert len(statuses) == len(reqs) and set(statuses) == {200}, "every request answered 200"
    return samples


def slope(points: list[tuple[int, int]]) -> float:
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    return sum((x - mx) * (y - my) for x, y in points) / max(1e-9, sum((x - mx) ** 2 for x, _ in points))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--state", action="store_true", help="serve with --state (a state file in its report folder)")
    a = ap.parse_args()
    reqs = requests(a.requests)
    proc, port, ca, tmp = start_serve(a.http, a.state)
    t0, cpu0 = time.perf_counter(), cpu_seconds(proc.pid)
    samples = asyncio.run(soak(proc.pid, port, ca, reqs, a.clients))
    seconds, cpu = time.perf_counter() - t0, cpu_seconds(proc.pid) - cpu0
    peak, at_exit = rss(proc.pid, "VmHWM"), [0]
    watcher = threading.Thread(target=watch_peak, args=(proc.pid, at_exit))
    watcher.start()
    t1 = time.perf_counter()
    keys, verdicts = stop_serve(proc, tmp)
    ending = time.perf_counter() - t1
    watcher.join()
    steady = [s for s in samples if s[0] >= a.requests * 0.05]

    def at(fraction: float) -> tuple[int, int]:
        return min(steady, key=lambda s: abs(s[0] - a.requests * fraction))

    mib = 1024 * 1024
    how = f"{'HTTP' if a.http else 'HTTPS'} clients{', serve --state' if a.state else ''}"
    print(
        f"{a.requests:,} requests, {a.clients} keep-alive {how}: {seconds:.0f} s; serve's CPU {cpu / a.requests * 1000:.2f} ms a request"
    )
    print("serve RSS (the sample nearest each 10 % of the requests):")
    for n, m in [samples[0], at(0.05)] + [at(k / 10) for k in range(1, 11)]:
        print(f"  {n:>9,} requests  {m / mib:6.1f} MiB")
    first, last = at(0.05), at(1)
    print(
        f"slope after the first 5 %: {slope(steady):,.1f} bytes per request ({len(steady)} samples); "
        f"5 % to the end: {(last[1] - first[1]) / max(1, last[0] - first[0]):,.1f} bytes per request"
    )
    print(
        f"peak RSS while serving {peak / mib:.0f} MiB; SIGTERM to exit (results.json and the reports written) "
        f"{ending:.0f} s, peak RSS by then {at_exit[0] / mib:.0f} MiB"
    )
    print(f"recorded {len(keys):,} outcomes, {len(set(keys)):,} distinct, verdicts {sorted(verdicts)}")
    assert len(keys) == len(set(keys)) == a.requests and verdicts == {"pass"}


if __name__ == "__main__":
    main()

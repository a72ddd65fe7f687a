"""A hostile runner for tests/hostile: answers the hello (its `runtime` says the uid and gid it runs as),
then, by its argument:

- `hello`: waits for EOF on stdin and exits 0, like a well-behaved runner;
- `sleep`: ignores EOF and SIGTERM and sleeps for ever (a container that would outlive its harness);
- `spin`: busy-loops for ever (a runner that would take the machine's CPUs).
"""

import json
import os
import signal
import sys
import time

sys.stdin.readline()  # the harness's hello
hello = {
    "op": "hello",
    "protocol": 1,
    "name": "hostile-sandbox-runner",
    "language": "python",
    "runtime": f"uid={os.getuid()} gid={os.getgid()}",
    "library": "none",
    "library_version": "0",
}
print(json.dumps(hello), flush=True)
mode = sys.argv[1] if len(sys.argv) > 1 else "hello"
if mode == "sleep":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(3600)
elif mode == "spin":
    while True:
        pass
else:
    sys.stdin.read()

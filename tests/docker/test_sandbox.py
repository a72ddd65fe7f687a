"""The sandbox, seen from inside a runner container: no network, read-only root, not root, no capabilities."""

from __future__ import annotations

import pytest

from appauth_conformance.execution import variants
from appauth_conformance.execution.backends.docker import SESSION_LABEL, client
from appauth_conformance.execution.session import Session

pytestmark = pytest.mark.docker

PROBE = r"""
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
echo "uid=$(id -u 2>/dev/null || awk '/^Uid:/ {print $2}' /proc/self/status)"
if ( : > /appauth-probe ) 2>/dev/null; then echo "rootfs=writable"; else echo "rootfs=readonly"; fi
if ( : > /opt/runner/appauth-probe ) 2>/dev/null; then echo "workdir=writable"; else echo "workdir=readonly"; fi
if ( : > /tmp/appauth-probe ) 2>/dev/null; then echo "tmp=writable"; else echo "tmp=readonly"; fi
awk '/^CapEff:/ {print "capeff=" $2} /^NoNewPrivs:/ {print "nonewprivs=" $2}' /proc/self/status
echo "pidsmax=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max 2>/dev/null)"
"""


@pytest.mark.parametrize("name", [s.name for s in variants.default_variants()])
def test_sandbox_from_inside(name, backend, built):
    _, tag = built[name]
    seen = _probe(backend, tag)
    assert seen["net"].split() == ["lo"], seen
    assert seen["uid"] != "0"
    assert seen["rootfs"] == "readonly" and seen["workdir"] == "readonly"
    assert seen["tmp"] == "writable"
    assert int(seen["capeff"], 16) == 0
    assert seen["nonewprivs"] == "1"
    assert seen["pidsmax"] == str(backend.pids_limit)


def _probe(backend, tag: str) -> dict[str, str]:
    """Run PROBE in a separate container from the image with the runner's own sandbox options; its
    output comes through an attach opened before start (runner containers have no log driver)."""
    api = client().api
    opts = backend.container_options(tag)
    opts.update(entrypoint=["/bin/sh", "-c", PROBE], command=[], stdin_open=False)
    cid = api.create_container(**opts)["Id"]
    try:
        stream = api.attach(cid, stdout=True, stderr=True, stream=True, demux=False)
        api.start(cid)
        out = b"".join(stream)
        assert api.wait(cid, timeout=60)["StatusCode"] == 0, out
    finally:
        api.remove_container(cid, force=True)
    return dict(line.split("=", 1) for line in out.decode().splitlines() if "=" in line)


def test_runner_container_settings(backend, built):
    spec, _tag = built["java-reference"]
    api = client().api
    with Session(spec, backend, timeout=30) as s:
        s.start()
        info = api.inspect_container(s._inc.proc.id)
    hc, cfg = info["HostConfig"], info["Config"]
    assert hc["NetworkMode"] == "none" and cfg.get("NetworkDisabled") is True
    assert hc["ReadonlyRootfs"] is True
    assert hc["CapDrop"] == ["ALL"] and "no-new-privileges" in hc["SecurityOpt"]
    assert hc["Memory"] == 512 << 20 and hc["PidsLimit"] == 256
    assert "/tmp" in hc["Tmpfs"]
    assert hc["LogConfig"]["Type"] == "none"  # app keys never reach the engine's log files
    assert cfg["User"] not in ("", "0", "root") and cfg["Tty"] is False and cfg["OpenStdin"] is True
    assert cfg["Labels"]["appauth-conformance"] == "1" and cfg["Labels"][SESSION_LABEL] == backend.session


def test_a_runner_container_in_the_background_has_a_tenth_of_the_cpu_weight(backend, built):
    """The fuzzer's priority (fuzz.priority) for containers: CpuShares 102 in the background, 1024 again after."""
    spec, _tag = built["cpp-reference"]
    api = client().api
    with Session(spec, backend, timeout=30) as s:
        s.start()
        cid = s._inc.proc.id
        shares = [api.inspect_container(cid)["HostConfig"]["CpuShares"]]
        for background in (True, False):
            s.set_background(background)
            shares.append(api.inspect_container(cid)["HostConfig"]["CpuShares"])
    assert shares[0] in (0, 1024)  # the engine shows the default as 0
    assert shares[1:] == [102, 1024]


def test_out_of_memory_is_reported(backend, built, declare):
    """A runner that outgrows the memory limit is killed, and describe_exit says so."""
    _spec, tag = built["python-reference"]
    hog = declare("memory-hog", language="python", command=["python3", "-c", "b = b'x' * (1 << 30)"], image=tag)
    backend.prepare(hog)
    proc = backend.start(hog)
    try:
        proc.wait(60)
        assert proc.returncode != 0
        assert "out of memory" in proc.describe_exit() or "SIGKILL" in proc.describe_exit()
    finally:
        proc.kill()

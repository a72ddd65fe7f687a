"""Which containers the sweep may remove (owners.stale): never a live run's, on this machine or another."""

from __future__ import annotations

import os
import subprocess
import sys

from appauth_conformance.execution.backends.docker import owners


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_live_owner_is_kept_and_a_dead_one_is_not():
    mine = owners.labels(3600)
    assert not owners.stale(mine)
    assert owners.stale({**mine, owners.OWNER_PID: str(_dead_pid())})


def test_expired_is_stale_whoever_owns_it():
    assert owners.stale(owners.labels(10), now=float(owners.labels(10)[owners.EXPIRES]) + 1)
    assert owners.stale({**owners.labels(-2 * owners.GRACE), owners.OWNER_HOST: "another-machine"})
    assert not owners.stale(owners.labels(-owners.GRACE / 2))  # its lifetime is over, not yet its grace


def test_an_owner_elsewhere_is_judged_by_its_expiry_only():
    dead = {**owners.labels(3600), owners.OWNER_PID: str(_dead_pid())}
    assert not owners.stale({**dead, owners.OWNER_HOST: "another-machine"})
    assert not owners.stale({**dead, owners.OWNER_PIDNS: "pid:[1]"})  # a harness in another container
    assert owners.stale({**owners.labels(3600), owners.OWNER_BOOT: "an-earlier-boot"})  # this machine, rebooted


def test_containers_without_owner_labels_are_never_stale():
    assert not owners.stale({})
    assert not owners.stale({owners.OWNER_PID: "not-a-number", owners.OWNER_HOST: os.uname().nodename})


def test_the_lifetime_wraps_the_entrypoint():
    assert owners.wrap(["python3", "runner.py"], 21600) == ["timeout", "-s", "KILL", "21600", "python3", "runner.py"]
    assert owners.wrap(["x"], 2.5)[:4] == ["timeout", "-s", "KILL", "2.5"]

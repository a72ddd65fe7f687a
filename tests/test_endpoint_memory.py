"""The endpoint's replay memory on disk (endpoint/memory.py, docs/endpoint.md "Memory"): the same verdicts
as the in-memory sets and dicts it replaced, over many recalls and across a restart with --state; bad state
files refused with one message (exit 2); the temporary database leaves nothing behind. That RSS stays flat
is the soak benchmark's to show (benchmarks/endpoint_soak.py), not a timed test's."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import TokenOutcome, TokenRequest
from appauth_conformance.endpoint.memory import COMMIT_EVERY, SCHEMA, Memory

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "tests" / "fixtures" / "endpoint" / "client.py"
APP_ID, KEY = "demo-app", "k3y-Never-Shown-4711"
CLI = [sys.executable, "-m", "appauth_conformance.frontends.cli", "serve"]


class Before:
    """The memory as it was before the database (sets and dicts; a state file kept the tokens only, so
    each identity's last token is per serve run), and a nonce right after itself from another identity
    named nonce-repeated (docs/endpoint.md): the reference the database must agree with."""

    def __init__(self) -> None:
        self.tokens: set = set()
        self.nonces: dict[str, int] = {}
        self.last: dict = {}
        self.previous = None  # the session's last nonce, whoever sent it

    def restart(self) -> None:
        self.last, self.previous = {}, None

    def recall(self, o: TokenOutcome) -> str | None:
        r = o.request
        who, token = (r.app_id, r.corp_id, r.user_id), (r.app_id, o.nonce, o.expire_time, o.signature.lower())
        whole, times, last = token in self.tokens, self.nonces.get(o.nonce, 0), self.last.get(who)
        self.tokens.add(token)
        self.nonces[o.nonce] = times + 1
        self.last[who] = token
        right_after, self.previous = self.previous == o.nonce, o.nonce
        if not times:
            return None
        if whole and last == token:
            return "token-reused"
        if (last is not None and last[1] == o.nonce) or right_after:  # no other nonce in between
            return "nonce-repeated"
        return "nonce-repeats-per-process"


def _outcome(app: str, corp: str, user: str, nonce: str, expire: int, sig: str) -> TokenOutcome:
    request = TokenRequest("1", "endpoint", 1, "d", "single", app, corp, user, "***", ())
    return TokenOutcome(request, "endpoint", nonce, expire, sig)


def _verdict(memory: Memory, o: TokenOutcome) -> str | None:
    diag, detail = memory.recall(o)
    assert (diag is None) == (detail is None)
    return diag[0] if diag else None


# texts the old dicts told apart and a database might not: a lone surrogate, a NUL, case, a huge integer
ODD = [
    ("app", "", "u\ud800", "n\ud800" * 8, 2**70, "ab"),
    ("app", "", "u", "n\x00" * 8, -(2**63) - 1, "AB"),
    ("app", "", "u", "n" * 16, 10**30, "ab"),
    ("app", "c", "", "n" * 16, 10**30, "aB"),
    ("app2", "c", "", "n" * 16, 10**30 + 1, "ab"),
]


def test_many_recalls_give_the_verdicts_of_the_dicts_across_a_restart(tmp_path):
    """50,000 recalls drawn from small pools (so every kind of repeat happens often), with a restart on the
    state file halfway: each verdict is the one the sets and dicts gave."""
    rng = random.Random(23)
    apps, users, sigs = ["a1", "a2"], [f"u{i}" for i in range(7)], ["ab", "AB", "cd", "ef"]
    nonces = [f"nonce-{i:04d}" for i in range(4000)]
    state = tmp_path / "state.db"
    before, memory, recent, found = Before(), Memory.load(state), [], {}
    for i in range(50_000):
        if i == 25_000:
            memory.close()
            memory, _ = Memory.load(state), before.restart()
        if rng.random() < 0.4 and recent:  # a recent token again, or its nonce newly signed
            app, corp, user, nonce, expire, sig = rng.choice(recent[-3:])
            if rng.random() < 0.5:
                expire += 1
        else:
            app, corp, user = rng.choice(apps), rng.choice(["", "c"]), rng.choice(users)
            nonce, expire, sig = rng.choice(nonces), 1_800_000_000 + rng.randrange(3), rng.choice(sigs)
        recent.append((app, corp, user, nonce, expire, sig))
        o = _outcome(app, corp, user, nonce, expire, sig)
        v = _verdict(memory, o)
        assert v == before.recall(o), f"recall {i}: {o.nonce} {o.expire_time} {o.signature}"
        found[v] = found.get(v, 0) + 1
    for fields in ODD + ODD:
        o = _outcome(*fields)
        assert _verdict(memory, o) == before.recall(o), fields
    memory.close()
    assert set(found) == {None, "token-reused", "nonce-repeated", "nonce-repeats-per-process"}
    assert min(found.values()) > 1000, found  # each kind many times, not once by luck


def test_the_state_file_is_the_database_and_holds_no_key(tmp_path):
    state = tmp_path / "state.db"
    memory = Memory.load(state)
    assert _verdict(memory, _outcome("app", "", "alice", "n" * 32, 5, "AB")) is None
    memory.close()
    memory.close()  # idempotent
    db = sqlite3.connect(state)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchall() == [(SCHEMA,)]
    assert db.execute("SELECT * FROM tokens").fetchall() == [(b"app", b"n" * 32, "5", b"ab")]
    assert db.execute("SELECT * FROM nonces").fetchall() == [(b"n" * 32, 1)]
    db.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]  # no -wal or -shm left beside it
    later = Memory.load(state)
    assert _verdict(later, _outcome("app", "", "alice", "n" * 32, 5, "ab")) == "nonce-repeats-per-process"
    later.close()


def _sqlite_of_something_else(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()


def _state_then(sql: str):
    """A state file serve wrote, then changed by `sql`."""

    def make(path: Path) -> None:
        Memory.load(path).close()
        db = sqlite3.connect(path)
        db.execute(sql)
        db.commit()
        db.close()

    return make


_other_format = _state_then("UPDATE meta SET value = 'appauth-conformance/endpoint-state/9'")
_no_format = _state_then("DELETE FROM meta")


BAD = {
    "json-of-an-earlier-version": (
        lambda p: p.write_text(json.dumps({"schema": "appauth-conformance/endpoint-state/1", "tokens": []})),
        "JSON, a state file of an earlier version",
    ),
    "text": (lambda p: p.write_text("nonces: many\n"), "not an SQLite database"),
    "garbage": (lambda p: p.write_bytes(bytes(range(256)) * 8), "not an SQLite database"),
    "json-indented": (
        lambda p: p.write_text('\n  {"schema": "appauth-conformance/endpoint-state/1"}'),
        "JSON, a state",
    ),
    "damaged-sqlite": (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000), "damaged"),
    "sqlite-of-something-else": (_sqlite_of_something_else, "an SQLite database of something else"),
    "another-format": (_other_format, "state format appauth-conformance/endpoint-state/9"),
    "no-format": (_no_format, f"state format unknown, this version keeps {SCHEMA})"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_state_file_is_one_usage_error(tmp_path, kind):
    state = tmp_path / "state"
    make, why = BAD[kind]
    make(state)
    was = state.read_bytes()
    with pytest.raises(UsageError) as e:
        Memory.load(state)
    msg = str(e.value)  # one line: the file, what it is, the fix
    assert msg.startswith(f"--state {state}: not a state file written by serve ({why}") and "\n" not in msg
    assert msg.endswith("); remove it to start afresh"), msg
    assert state.read_bytes() == was  # left as it was


@pytest.mark.parametrize("kind", ["json-of-an-earlier-version", "garbage"])
def test_serve_with_a_bad_state_file_exits_2_with_the_fix(tmp_path, kind):
    state = tmp_path / "state"
    BAD[kind][0](state)
    r = subprocess.run(
        [*CLI, "--app", f"{APP_ID}={KEY}", "--http", "--state", str(state), "--", sys.executable, "-c", "pass"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"--state {state}: not a state file written by serve" in r.stderr and "remove it to start afresh" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_state_file_serve_cannot_read_or_write_is_one_usage_error_naming_the_fix(tmp_path):
    """Not there to read, or not a place SQLite can write: the message says so (not "damaged", not "remove
    it"), one line, and the file is left as it was. SQLite reports extended codes (SQLITE_IOERR_DELETE here)."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(UsageError) as e:
        Memory.load(folder)
    assert str(e.value) == f"--state {folder}: cannot read it (Is a directory)"
    nowhere = tmp_path / "missing" / "state.db"
    with pytest.raises(UsageError) as e:
        Memory.load(nowhere)
    assert str(e.value) == (
        f"--state {nowhere}: cannot open it (unable to open database file); give a file serve may write"
    )
    state = tmp_path / "state.db"
    state.touch()
    (tmp_path / "state.db-wal").mkdir()  # where SQLite's write-ahead log must go: it cannot write there
    with pytest.raises(UsageError) as e:
        Memory.load(state)
    assert str(e.value) == f"--state {state}: cannot write it (disk I/O error); give a file serve may write"
    assert state.read_bytes() == b""


def test_an_empty_file_is_a_new_state(tmp_path):
    state = tmp_path / "state"
    state.touch()  # e.g. made by a CI step ahead of serve
    memory = Memory.load(state)
    assert _verdict(memory, _outcome("app", "", "u", "n" * 16, 1, "ab")) is None
    memory.close()


def test_a_state_file_in_use_by_another_serve_is_a_usage_error(tmp_path):
    state = tmp_path / "state.db"
    first = Memory.load(state)
    with pytest.raises(UsageError, match=r"in use by another serve"):
        Memory.load(state)
    first.close()
    Memory.load(state).close()  # free again


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SQLITE_TMPDIR"}
    return {**env, "TMPDIR": str(tmp), "APP_ID": APP_ID, "APP_KEY": KEY}


def test_serve_leaves_nothing_in_the_temporary_folder(tmp_path):
    """A client's run with no --state: the temporary database (and the spool, the CA) are gone afterwards."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = subprocess.run(
        [
            *CLI,
            "--app",
            f"{APP_ID}={KEY}",
            "--report-dir",
            str(tmp_path / "out"),
            "--",
            sys.executable,
            str(CLIENT),
            "seeded",
            "3",
        ],
        cwd=tmp_path,
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stopped_by_a_signal_leaves_nothing_in_the_temporary_folder(tmp_path, sig):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [*CLI, "--app", f"{APP_ID}={KEY}", "--http", "--report-dir", str(tmp_path / "out")],
        cwd=tmp_path,
        env=_env(tmp),
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        endpoint = proc.stderr.readline().split()[1]  # "serving http://127.0.0.1:PORT/v2/... (plain HTTP)"
        while "until Ctrl-C" not in proc.stderr.readline():
            pass
        client = subprocess.run(
            [sys.executable, str(CLIENT), "seeded", "2"],
            env={**_env(tmp), "APPAUTH_ENDPOINT": endpoint.split("/v2/")[0]},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert client.returncode == 0, client.stdout + client.stderr
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in err, err
    assert "2 request(s): pass 2" in out, out + err
    assert list(tmp.iterdir()) == []


PAST_THE_CACHE = """
import os, sys
from appauth_conformance.core.model import TokenOutcome, TokenRequest
from appauth_conformance.endpoint.memory import Memory
memory = Memory()
for i in range(60_000):  # some 10 MB of tokens and nonces: past the page cache, so written to the file
    request = TokenRequest("1", "endpoint", i, "d", "single", "app", "", "u", "***", ())
    memory.recall(TokenOutcome(request, "endpoint", os.urandom(16).hex(), 1, os.urandom(32).hex()))
fds = [os.readlink(f"/proc/self/fd/{f}") for f in os.listdir("/proc/self/fd") if os.path.islink(f"/proc/self/fd/{f}")]
print("\\n".join(f for f in fds if f.startswith(sys.argv[1])))
memory.close()
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_the_temporary_database_is_a_file_in_tmpdir_deleted_from_the_start(tmp_path):
    """Without --state the memory is on disk (past its page cache) in TMPDIR, in a file already unlinked
    while it is used: nothing can be left behind, however serve ends."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = subprocess.run(
        [sys.executable, "-c", PAST_THE_CACHE, str(tmp)], env=_env(tmp), capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    [open_file] = r.stdout.split("\n")[:-1]
    assert open_file.startswith(f"{tmp}/") and open_file.endswith(" (deleted)")
    assert list(tmp.iterdir()) == []


KILLED_MID_RUN = """
import os, signal, sys
from pathlib import Path
from appauth_conformance.core.model import TokenOutcome, TokenRequest
from appauth_conformance.endpoint.memory import COMMIT_EVERY, Memory
memory = Memory.load(Path(sys.argv[1]))
for i in range(COMMIT_EVERY * 3 + 10):  # three commits, then ten recalls not committed yet
    request = TokenRequest("1", "endpoint", i, "d", "single", "app", "", "u", "***", ())
    memory.recall(TokenOutcome(request, "endpoint", f"nonce-{i:06d}", 1, "ab"))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_serve_killed_mid_run_leaves_a_usable_state_file(tmp_path):
    """WAL: a killed serve does not damage its state file; what it had committed is remembered."""
    state = tmp_path / "state.db"
    r = subprocess.run([sys.executable, "-c", KILLED_MID_RUN, str(state)], capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    memory = Memory.load(state)
    committed = COMMIT_EVERY * 3
    assert (
        _verdict(memory, _outcome("app", "", "v", f"nonce-{committed - 1:06d}", 2, "cd")) == "nonce-repeats-per-process"
    )
    assert _verdict(memory, _outcome("app", "", "v", f"nonce-{committed:06d}", 2, "cd")) is None  # lost with serve
    memory.close()


def _committed(state: Path, tmp_path: Path) -> int:
    """The nonces a serve killed now would leave in its state file: the file and its write-ahead log as they
    are on disk, copied and opened by another connection (the running one holds the file exclusively)."""
    copy = tmp_path / "as-if-killed"
    copy.mkdir()
    for name in (state.name, f"{state.name}-wal"):
        if (state.parent / name).exists():
            shutil.copyfile(state.parent / name, copy / name)
    db = sqlite3.connect(copy / state.name)
    [(count,)] = db.execute("SELECT count(*) FROM nonces").fetchall()
    db.close()
    shutil.rmtree(copy)
    return count


def test_every_commit_every_recalls_are_committed_to_the_state_file(tmp_path):
    """A serve killed mid-run keeps what was committed: each COMMIT_EVERY recalls, counted afresh after each
    commit, are on disk before close; the ones since are not yet."""
    state = tmp_path / "state.db"
    memory = Memory.load(state)
    for i in range(2 * COMMIT_EVERY):
        if i in (COMMIT_EVERY, 2 * COMMIT_EVERY - 1):
            assert _committed(state, tmp_path) == COMMIT_EVERY * (i // COMMIT_EVERY), i
        memory.recall(_outcome("app", "", "u", f"nonce-{i:06d}", 1, "ab"))
        if i == COMMIT_EVERY - 2:
            assert _committed(state, tmp_path) == 0
    assert _committed(state, tmp_path) == 2 * COMMIT_EVERY
    memory.close()


@pytest.mark.parametrize("on_disk", [False, True], ids=["temporary", "state-file"])
def test_the_memory_is_used_from_the_threads_that_serve_requests(tmp_path, on_disk):
    """serve's handler threads share one memory (under its lock): a recall from a thread other than the one
    that opened it works, and the memory is closed from yet another."""
    memory = Memory.load(tmp_path / "state.db" if on_disk else None)
    verdicts: list[str | None] = []
    for nonce in ("n" * 16, "n" * 16):
        t = threading.Thread(
            target=lambda n=nonce: verdicts.append(_verdict(memory, _outcome("a", "", "u", n, 1, "ab")))
        )
        t.start()
        t.join()
    closer = threading.Thread(target=memory.close)
    closer.start()
    closer.join()
    assert verdicts == [None, "token-reused"]
    assert memory.db is None

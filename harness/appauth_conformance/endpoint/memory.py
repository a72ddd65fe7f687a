"""The endpoint's replay memory: every nonce and whole token a serve session has seen, kept on disk in an
SQLite database so a long session's RAM stays flat (the page cache is bounded; 200,000 requests in the soak
benchmark). Answers are exact, not probabilistic: a false "nonce reused" would fail a conforming client.

Without --state the database is SQLite's private temporary one (opened with an empty name: a file in the
temporary folder that SQLite unlinks as soon as it makes it, so nothing is left behind, even when serve is
killed). With --state FILE, FILE is the database, kept across serve runs (e.g. one CI job running a client
twice), in WAL mode so a serve that dies cannot leave it damaged; one serve at a time holds it.

Every text is stored as its UTF-8 bytes (surrogatepass: a body's nonce may hold a lone surrogate) and the
expiry as its decimal text (a body's integer may be beyond 64 bits): equal exactly when the values are.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import NoReturn

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import TokenOutcome

SCHEMA = "appauth-conformance/endpoint-state/2"  # /1 was a JSON file
CACHE_KIB = 4096  # SQLite's page cache: the RAM the memory takes, however many requests arrive
COMMIT_EVERY = 1000  # recalls a transaction: a commit a request would cost twice the CPU (WAL)
_HEADER = b"SQLite format 3\x00"

_TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    # every whole token seen (app, nonce, expiry, signature in lower case)
    "CREATE TABLE tokens (app BLOB NOT NULL, nonce BLOB NOT NULL, expiry TEXT NOT NULL, signature BLOB NOT NULL,"
    " PRIMARY KEY (app, nonce, expiry, signature)) WITHOUT ROWID",
    "CREATE TABLE nonces (nonce BLOB PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID",
    # each identity's last token, and whether it repeated the one before it (the upsert compares old and new)
    "CREATE TABLE last (app BLOB NOT NULL, corp BLOB NOT NULL, user BLOB NOT NULL, nonce BLOB NOT NULL,"
    " expiry TEXT NOT NULL, signature BLOB NOT NULL, same_token INTEGER NOT NULL DEFAULT 0,"
    " same_nonce INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (app, corp, user)) WITHOUT ROWID",
)
# one statement a table, a request: sqlite3 caches them prepared
_TOKEN = "INSERT INTO tokens VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
_NONCE = "INSERT INTO nonces VALUES (?, 1) ON CONFLICT (nonce) DO UPDATE SET count = count + 1 RETURNING count"
_LAST = (  # SET's right-hand sides read the row as it was
    "INSERT INTO last (app, corp, user, nonce, expiry, signature) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (app, corp, user) DO UPDATE SET"
    " same_token = (nonce = excluded.nonce AND expiry = excluded.expiry AND signature = excluded.signature),"
    " same_nonce = (nonce = excluded.nonce),"
    " nonce = excluded.nonce, expiry = excluded.expiry, signature = excluded.signature"
    " RETURNING same_token, same_nonce"
)


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class Memory:
    """Every nonce and whole token the session has seen (with --state, across serve runs). One connection,
    used under `lock`; close() when serve ends (the temporary database goes with it)."""

    def __init__(self, path: Path | None = None):
        self.lock = threading.Lock()
        self.pending = 0  # recalls not committed yet
        self.previous: bytes | None = None  # the session's last nonce, whoever sent it
        self.db = _open(path)
        self.cur = self.db.cursor()  # one cursor for every recall: a new one a statement costs more

    @classmethod
    def load(cls, path: Path | None) -> Memory:
        """The memory kept in a state file by earlier serve runs (a new one where the file does not exist)."""
        return cls(path)

    def recall(self, o: TokenOutcome) -> tuple[tuple[str, ...] | None, str | None]:
        """Judge.memory. Seen again, compared with the identity's (app, corp, user) last request in this serve
        run: the same whole token as its last one (a cached token resent: token-reused); the same nonce as its
        last one or as the session's last request, newly signed (a fixed nonce: nonce-repeated); a nonce or token it had used before others, or
        in an earlier run (a sequence that starts over, as in every new process: nonce-repeats-per-process)."""
        assert o.nonce is not None and o.expire_time is not None and o.signature is not None
        r = o.request
        app, nonce, expiry, sig = _b(r.app_id), _b(o.nonce), str(o.expire_time), _b(o.signature.lower())
        with self.lock:
            whole = self.cur.execute(_TOKEN, (app, nonce, expiry, sig)).rowcount == 0
            [(count,)] = self.cur.execute(_NONCE, (nonce,)).fetchall()  # all: the statement done before a COMMIT
            [(same_token, same_nonce)] = self.cur.execute(
                _LAST, (app, _b(r.corp_id), _b(r.user_id), nonce, expiry, sig)
            ).fetchall()
            right_after, self.previous = nonce == self.previous, nonce  # no other nonce in between, any identity
            self.pending += 1
            if self.pending >= COMMIT_EVERY:
                self._commit()
        short = o.nonce[:70]
        if count == 1:
            return None, None
        if whole and same_token:
            return (
                "token-reused",
            ), f"the same token (nonce {short!r}, expiry {o.expire_time}) as the last one, sent again"
        if same_nonce or right_after:
            return ("nonce-repeated",), f"nonce {short!r} again, right after its last use: a fixed nonce"
        return (
            "nonce-repeats-per-process",
        ), f"nonce {short!r} was used before, other nonces in between: a sequence that starts over"

    def _commit(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("BEGIN")
        self.pending = 0

    def save(self) -> None:
        """What was recalled so far, committed (to the state file, with --state)."""
        with self.lock:
            self._commit()

    def close(self) -> None:
        """Committed and closed: a state file keeps it; the temporary database is gone. Idempotent."""
        with self.lock:
            if self.db is None:
                return
            self.db.execute("COMMIT")
            self.db.close()
            self.db = None  # type: ignore[assignment]


def _open(path: Path | None) -> sqlite3.Connection:
    """The database, its schema checked (or made, where new), a transaction open."""
    if path is None:
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = OFF")  # throw-away: nothing to recover
    else:
        _check_file(path)
        try:
            # timeout 0: a file in use is held for the whole of another serve run: say so at once, not after 5 s
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        except sqlite3.Error as e:
            raise UsageError(f"--state {path}: cannot open it ({e}); give a file serve may write") from None
    try:
        if path is not None:
            db.execute("PRAGMA locking_mode = EXCLUSIVE")  # before WAL: no shared-memory file beside it
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
            if tables and "meta" not in tables:
                _refuse(path, "an SQLite database of something else")
            if tables:
                found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchall()
                if found != [(SCHEMA,)]:
                    _refuse(path, f"state format {found[0][0] if found else 'unknown'}, this version keeps {SCHEMA}")
            db.execute("PRAGMA journal_mode = WAL")
        else:
            tables = set()
        db.execute("PRAGMA synchronous = OFF")  # a crash of the machine, not of serve, may lose the last writes
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        db.execute("BEGIN")
        if not tables:
            for create in _TABLES:
                db.execute(create)
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
        db.execute("DELETE FROM last")  # "the identity's last one" is per serve run, as before the database
        db.execute("COMMIT")  # takes the lock: a second serve on this file is told so now
        db.execute("BEGIN")
    except sqlite3.Error as e:
        db.close()
        if path is None:
            raise
        code = e.sqlite_errorcode & 0xFF  # the primary code: SQLite reports extended ones (SQLITE_IOERR_WRITE)
        if code == sqlite3.SQLITE_BUSY:
            raise UsageError(
                f"--state {path}: in use by another serve (one at a time a state file); wait for it, or give another file"
            ) from None
        if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL):
            raise UsageError(f"--state {path}: cannot write it ({e}); give a file serve may write") from None
        _refuse(path, f"damaged: {e}")
    except UsageError:
        db.close()
        raise
    return db


def _check_file(path: Path) -> None:
    """A file that is there and not empty must be an SQLite database (an empty one is taken as new)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(_HEADER))
    except FileNotFoundError:
        return
    except OSError as e:
        raise UsageError(f"--state {path}: cannot read it ({e.strerror or e})") from None
    if head and head != _HEADER:
        what = "JSON, a state file of an earlier version" if head.lstrip()[:1] == b"{" else "not an SQLite database"
        _refuse(path, what)


def _refuse(path: Path, why: str) -> NoReturn:
    raise UsageError(f"--state {path}: not a state file written by serve ({why}); remove it to start afresh")

"""The judged requests of a serve session, kept on disk as they arrive instead of in memory: a long run
(200,000 requests in the soak benchmark) keeps serve's memory flat; they are read back once, when the
session's results are written, one at a time. An unnamed temporary file (gone when the process ends)."""

from __future__ import annotations

import pickle
import struct
import tempfile
import threading
from collections.abc import Iterator

from appauth_conformance.core.model import TokenResult

_SIZE = struct.Struct("<I")


class Spool:
    """A list of TokenResults that supports append, len and iteration, in arrival order."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="appauth-serve-results-")
        self.count = 0
        self.lock = threading.Lock()

    def append(self, result: TokenResult) -> None:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)  # our own objects, read back by us only
        with self.lock:
            self.file.write(_SIZE.pack(len(data)) + data)
            self.count += 1

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[TokenResult]:
        """Record by record (a long session's results are never all in memory twice), up to the last one
        appended when iterating began."""
        with self.lock:
            self.file.flush()
            end = self.file.seek(0, 2)
        at = 0
        while at < end:
            with self.lock:
                self.file.seek(at)
                (n,) = _SIZE.unpack(self.file.read(_SIZE.size))
                data = self.file.read(n)
                self.file.seek(0, 2)  # where append writes (seeking there in append would flush every write)
            at += _SIZE.size + n
            yield pickle.loads(data)

    def __getitem__(self, index: int) -> TokenResult:
        return list(self)[index]

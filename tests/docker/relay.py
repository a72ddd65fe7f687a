"""A relay to the local Docker engine that a test controls: it listens on a Unix socket of its own, or on
TCP at 127.0.0.1 (never any other address), and forwards every connection to /var/run/docker.sock.

Cutting it is, for the harness, exactly an engine that went away (tests/docker/test_engine_gone.py);
listening on TCP makes the local engine a remote one (tests/docker/test_remote_engine.py).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

ENGINE = "/var/run/docker.sock"


class Relay:
    """Forwards connections from a socket of ours to the engine's, until cut()."""

    def __init__(self, unix_path: Path | None = None):
        if unix_path is not None:
            self.server = socket.socket(socket.AF_UNIX)
            self.server.bind(str(unix_path))
            self.address = f"unix://{unix_path}"
        else:
            self.server = socket.socket(socket.AF_INET)
            self.server.bind(("127.0.0.1", 0))  # loopback only, a free port
            self.address = "tcp://127.0.0.1:%d" % self.server.getsockname()[1]
        self.server.listen(64)
        self.conns: list[socket.socket] = []
        self.accepted = 0
        self.streaming = threading.Event()  # a container's answers are flowing back through us
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(ENGINE)
            self.conns += [client, upstream]
            attach = threading.Event()
            threading.Thread(target=self._pump, args=(client, upstream, attach, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, attach, False), daemon=True).start()

    def _pump(self, src, dst, attach, from_client):
        seen = 0
        try:
            while data := src.recv(1 << 16):
                if from_client and b"/attach" in data:
                    attach.set()
                if not from_client and attach.is_set():
                    seen += len(data)
                    if seen > 20_000:  # dozens of answers are in
                        self.streaming.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def cut(self):
        self.server.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

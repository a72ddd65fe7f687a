"""One long-lived runner: stream requests, match responses, survive faults.

Requests are pipelined (a writer thread keeps up to `window` in flight) and
responses matched by seq. Anything that breaks the protocol becomes a runner
fault for the affected vector only: the oldest outstanding request is blamed,
the runner is restarted (a bounded number of times) and the requests still
outstanding are sent again. Every request gets exactly one Outcome.

The process and its pipe threads (reader, stderr drain, writer) are in `runner_process`.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal, NoReturn

from appauth_conformance.core import wire
from appauth_conformance.core.errors import HandshakeError, ProtocolError, RunnerUnavailable
from appauth_conformance.core.model import Backend, Fault, Outcome, RunnerError, RunnerSpec, Vector
from appauth_conformance.execution.runner_process import R, RequestFeed, RunnerProcess, StdoutEvent
from appauth_conformance.formats import protocol

EXPECTED: Final = "expected"  # a reply of Session.replies that equals, byte for byte, one the item expected
Reply = dict[str, Any] | Fault | Literal["expected"]  # a decoded response object, a fault, or EXPECTED


class Session:
    """A runner process kept for a whole run. Use as a context manager; `run()` streams outcomes."""

    def __init__(
        self,
        spec: RunnerSpec,
        backend: Backend,
        *,
        timeout: float = 10.0,
        start_timeout: float = 60.0,
        max_restarts: int = 3,
        window: int = 4096,
    ):
        self.spec = spec
        self.backend = backend
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.max_restarts = max_restarts  # consecutive restarts without a single good response
        self.window = window
        self.hello: dict[str, Any] | None = None
        self.restarts = 0
        self.accepted = 0  # replies taken on the fast path (EXPECTED), over the session's life
        self._inc: RunnerProcess | None = None
        self._lines: queue.Queue[StdoutEvent] = queue.Queue()
        self._closed = False
        self.background = False  # set_background(): kept for every process the session (re)starts
        self._background_lock = threading.Lock()  # the fuzzer sets it while the session may be restarting

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def end_input(self) -> None:
        """Stop streaming (quietly) and send EOF, without waiting for the process to exit: close() reaps it."""
        self._closed = True  # a run() still streaming in another thread stops quietly
        inc = self._inc
        if inc is not None:
            inc.close_stdin(wait=False)

    def close(self) -> None:
        self._closed = True  # a run() still streaming in another thread stops quietly
        inc, self._inc = self._inc, None
        if inc is not None:
            try:
                if inc.close_stdin(wait=False):  # EOF: a well-behaved runner exits 0
                    inc.proc.wait(timeout=2)
            except Exception:  # not gone by itself in time (or its pipe broke): killed on the next line
                pass
            inc.kill()

    def set_background(self, background: bool) -> None:
        """Let the runner yield the CPU to the harness and the other runners (Process.set_background),
        now and after any restart; False restores its equal share."""
        with self._background_lock:
            self.background = background
            inc = self._inc
            if inc is not None:
                inc.proc.set_background(background)

    def start(self) -> dict[str, Any]:
        """Start the process and shake hands; HandshakeError or RunnerUnavailable on failure."""
        self._lines = queue.Queue()  # a queue per process: a killed one's leftovers never mix in
        proc = self.backend.start(self.spec)
        with self._background_lock:  # a set_background() meanwhile sees this process, or this sees its value
            inc = self._inc = RunnerProcess(proc, self._lines)
            if self.background:
                proc.set_background(True)
        if self._closed:  # close() came while the process started, before it could see it: stopped here
            self._fail_start("closed while it was starting")
        try:
            proc.stdin.write(wire.HELLO_REQUEST)
            proc.stdin.flush()
        except OSError:
            pass  # a dead runner shows up as EOF below, with its exit status
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                kind, payload = inc.take(max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._fail_start(f"no hello within {self.start_timeout:g}s of starting")
            if kind == "lines":
                line = payload[0]
                rest = payload[1:]
                try:
                    self.hello = protocol.check_hello(protocol.decode_line(line))
                except ProtocolError as e:
                    self._fail_start(str(e))
                if rest:
                    self._fail_start(f"wrote {len(rest)} more line(s) after its hello before any request")
                return self.hello
            if kind == "eof":
                inc.proc.wait(timeout=5)
                self._fail_start(f"{inc.proc.describe_exit()} before its hello")
            self._fail_start("hello line too long")

    def _fail_start(self, why: str) -> NoReturn:
        inc = self._inc
        if inc:
            inc.kill()
        tail = inc.stderr_tail() if inc else ""
        self._inc = None
        raise HandshakeError(
            f"{self.spec.name}: {why}"
            + (f"\n--- stderr tail ---\n{'…' if len(tail) > 2000 else ''}{tail[-2000:]}" if tail.strip() else "")
        )

    # -- streaming ---------------------------------------------------------------------------

    def run(self, vectors: Iterable[Vector]) -> Iterator[Outcome]:
        """Every vector's Outcome, in the order responses arrive. Never raises for runner faults."""
        name = self.spec.name
        for pairs in self.replies(vectors):
            for v, reply in pairs:
                yield outcome(v, name, reply)

    def replies(self, items: Iterable[R], *, expected: bool = True) -> Iterator[list[tuple[R, Reply]]]:
        """The batch form of run(), for callers that judge a million replies (the fuzzer).

        Items are anything with a `request_body` (a Vector, or the fuzzer's lighter inputs).
        Yields, per block of responses read, a list of (item, reply) pairs: reply is the
        decoded response whose seq matched (not yet checked against the schema: `outcome()`
        does that), a Fault, or EXPECTED. Every item gets exactly one pair.

        EXPECTED is the fast path: an item may carry `expected_replies`, the exact bytes of
        replies it expects after `{"seq":N` (one per JSON style, e.g. escaped and raw UTF-8).
        A reply line byte-identical to one of them is not decoded at all. With `expected=False`
        those items are not even paired: they are only counted in `self.accepted` (the
        fuzzer, which drops them anyway, saves a tuple and a loop turn per reply), and the lists
        hold the other replies only (a list may then be empty).
        """
        source = iter(items)
        resend: list[R] = []
        no_progress = 0
        while not self._closed:
            if self._inc is None:
                try:
                    self.start()
                except (HandshakeError, RunnerUnavailable) as e:
                    # cannot (re)start: every remaining item is a fault with the reason
                    yield from _faulted(itertools.chain(resend, source), Fault(f"runner could not start: {e}"))
                    return
            inc = self._inc
            assert inc is not None  # start() sets it or raises
            feed = RequestFeed(inc, source, resend, self.window)
            fault: str | None = None
            for item in self._pump(feed, expected):
                if isinstance(item, str):  # the fault that ends this incarnation
                    fault = item
                else:
                    no_progress = 0
                    yield item
            if fault is None or self._closed:  # everything sent and answered, or interrupted
                return
            # a fault: stop the writer, blame the oldest outstanding request, restart, resend the rest
            unsent = feed.stop()
            outstanding = list(feed.pending.values())
            inc.kill()
            tail = inc.stderr_tail()
            self._inc = None
            if outstanding:
                yield [(outstanding[0], Fault(fault, tail))]
                outstanding = outstanding[1:]
            resend = outstanding + unsent
            self.restarts += 1
            no_progress += 1
            if no_progress > self.max_restarts:
                why = f"runner gave up after {self.max_restarts} restarts without progress; last fault: {fault}"
                yield from _faulted(itertools.chain(resend, source), Fault(why, tail))
                return

    def _pump(self, feed: RequestFeed[R], expected: bool) -> Iterator[list[tuple[R, Reply]] | str]:
        """Lists of (item, reply) pairs from one incarnation; ends when everything is answered, or with
        one fault string (after the pairs of the lines before the bad one). EXPECTED pairs only
        if `expected` (see replies())."""
        inc, pending = feed.inc, feed.pending
        pop, get = pending.pop, pending.get
        after = inc.next_seq  # the seq whose reply is expected next (in-order runners)
        feed.start()
        while not (feed.done and not pending):
            try:
                kind, payload = inc.take(self.timeout)
            except queue.Empty:
                if pending:
                    yield f"no response within {self.timeout:g}s (hang)"
                    return
                continue  # the source is slow, not the runner
            if kind == "eof":
                if not pending and feed.done:
                    return
                try:
                    inc.proc.wait(timeout=5)
                except Exception:  # not exited yet after closing its stdout: the fault says what its status is so far
                    pass
                partial = f"; partial line {protocol.preview(payload, 80)}" if payload else ""
                yield f"runner {inc.proc.describe_exit()} with {len(pending)} request(s) outstanding{partial}"
                return
            if kind == "toolong":
                yield f"response line longer than {wire.MAX_LINE >> 20} MiB, the protocol's limit for a line"
                return
            pairs: list[tuple[R, Reply]] = []
            append = pairs.append
            fast: list[R] = []  # the items whose reply is byte-identical to one they expect, in payload order
            accept = fast.append
            rest: list[bytes] = []  # lines to decode: all but the replies byte-identical to what their item expects
            rest_at: list[int] = []  # their positions in the payload (rare: only for lines not taken on the fast path)
            for at, line in enumerate(payload):
                # Runners answer in order: first try the reply to the seq after the last one read. Its prefix
                # is made, not parsed (b"%d" is canonical digits), and an expected reply starts with the comma
                # after the seq, so a match is exactly the line the general check below would accept.
                item = get(after)
                if item is not None:
                    prefix = b'{"seq":%d' % after
                    if line[: len(prefix)] == prefix and line[len(prefix) :] in getattr(item, "expected_replies", ()):
                        del pending[after]
                        accept(item)
                        after += 1
                        continue
                j = line.find(b",", 7)
                digits = line[7:j]
                # canonical digits only, so that equal bytes mean an equal reply; at most a seq's 19 (int() raises
                # past 4,300 digits: the runner chose them). Inline, not untrusted.decimal: once per reply
                if line[:7] == b'{"seq":' and 0 < j - 7 < 20 and digits.isdigit() and (digits[0] != 48 or j == 8):
                    seq = int(digits)
                    after = seq + 1
                    item = get(seq)
                    if item is not None and line[j:] in getattr(item, "expected_replies", ()):
                        del pending[seq]
                        accept(item)
                        continue
                rest.append(line)
                rest_at.append(at)
            for i, msg in enumerate(protocol.decode_batch(rest) if rest else ()):
                if type(msg) is dict:
                    got = msg.get("seq")
                    # JSON has one number type: 7.0 is seq 7 (bool is not a number here); the int-keyed dict
                    # finds an equal float (7.0 == 7, same hash), which its key type cannot say
                    item = pop(got, None) if type(got) is int or type(got) is float else None  # type: ignore[arg-type]
                    if item is not None:
                        append((item, msg))
                        continue
                # Everything after the bad line is answered again by the restarted runner, whether it came
                # in this read or the next: what a fault costs must not depend on how stdout was chunked.
                _unaccept(fast, payload, rest_at[i], i, set(rest_at), pending)
                if fast or pairs:
                    yield self._with_expected(fast, pairs, expected)
                yield self._bad_line(rest[i], msg, inc)
                return
            if fast or pairs:
                yield self._with_expected(fast, pairs, expected)
            feed.wake()

    def _with_expected(self, fast: list[R], pairs: list[tuple[R, Reply]], expected: bool) -> list[tuple[R, Reply]]:
        """One block's pairs: the fast-path items counted, and paired with EXPECTED first if `expected`."""
        self.accepted += len(fast)
        if not expected or not fast:
            return pairs
        return [(item, EXPECTED) for item in fast] + pairs

    @staticmethod
    def _bad_line(line: bytes, msg: Any, inc: RunnerProcess) -> str:
        if isinstance(msg, ProtocolError):
            return str(msg)
        seq: Any = msg.get("seq") if type(msg) is dict else None  # any JSON value
        numeric = type(seq) is int or type(seq) is float
        what = "duplicate" if numeric and 0 <= seq < inc.next_seq else "unknown"
        return f"response with {what} seq {seq!r}: {protocol.preview(line)}"


def outcome(vector: Vector, runner: str, reply: Reply) -> Outcome:
    """One reply of `Session.replies` as an Outcome; a reply that breaks the schema is a fault of its own."""
    if reply is EXPECTED:
        return Outcome(vector, runner, vector.string_to_sign, vector.signature)
    if type(reply) is Fault:
        return Outcome(vector, runner, fault=reply.reason, stderr_tail=reply.stderr_tail)
    assert type(reply) is dict  # neither EXPECTED nor a Fault: a decoded response object (see Session.replies)
    problem = protocol.check_response(reply)
    if problem:
        return Outcome(vector, runner, fault=f"response breaks the protocol schema: {problem}")
    # cut when received (wire.MESSAGE_LIMIT, value_limit): an outcome never keeps a runner's megabytes
    text, limit = reply.get("string_to_sign"), wire.value_limit(vector.request_body)
    if text is not None and len(text) > limit:
        text = wire.clip(text, limit)
    if "signature" in reply:
        sig = reply["signature"]
        return Outcome(vector, runner, text, sig if len(sig) <= limit else wire.clip(sig, limit))
    return Outcome(vector, runner, text, error=error(reply["error"]))


def error(e: dict[str, Any]) -> RunnerError:
    """A runner's refusal as kept: its type and message cut to wire.TYPE_LIMIT and MESSAGE_LIMIT."""
    return {"type": wire.clip(e["type"], wire.TYPE_LIMIT), "message": wire.clip(e["message"])}


def _unaccept(
    fast: list[R],
    payload: list[bytes],
    bad_at: int,
    bad_index: int,
    rest_at: set[int],
    pending: dict[int, R],
) -> None:
    """Put the fast-path replies that came after the bad line (at payload[bad_at]) back into `pending`,
    in seq order, and drop their items from `fast` (the fast-path items, in payload order;
    `bad_index` rest lines precede the bad one)."""
    first = bad_at - bad_index  # fast-path items before the bad line
    later = [at for at in range(bad_at + 1, len(payload)) if at not in rest_at]
    if not later:
        return
    undone = [
        (int(payload[at][7 : payload[at].find(b",", 7)]), item) for at, item in zip(later, fast[first:], strict=True)
    ]
    del fast[first:]
    merged = sorted([*pending.items(), *undone], key=lambda kv: kv[0])
    pending.clear()
    pending.update(merged)


def _faulted(items: Iterator[R], fault: Fault, size: int = 512) -> Iterator[list[tuple[R, Reply]]]:
    """Every item paired with the same fault, in bounded lists (the source may be endless)."""
    while True:
        block: list[tuple[R, Reply]] = [(v, fault) for v in itertools.islice(items, size)]
        if not block:
            return
        yield block

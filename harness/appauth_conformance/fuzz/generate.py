"""Generate: the seeded stream of fuzz inputs, aimed at the edges, with the oracle's answers.

`Inputs(seed)` is a seeded stream of `FuzzInput`s: the request body
(joined from per-value pieces, `wire.body_piece`), the oracle's string to sign and
signature (HMAC finished from the key's precomputed pads, `scheme.keyed`), and the
conforming replies a session may accept without decoding them (`expected_replies`).
`FuzzInput.vector()` is the full `model.Vector`, built only for the few inputs some
runner disagrees on. The same seed gives the same inputs, whatever the chunk size.

The stream is made of blocks of BLOCK inputs; block b is generated from a seed of its own (derived
from the seed and b) and the seed's initial pools, so it does not depend on any other block. A shard
K/N of a campaign (`fuzz --shard K/N`) takes the blocks b = K-1, K-1+N, ...: the N shards of one seed
never generate the same position, and between them generate exactly the positions one process does.

What values are made of (character classes, weights, edges) is in `edges`; full Vectors, the slow
way, are built by `full_vectors`. The fast path is checked against the slow one: the first `verify` inputs, then one in
1000, are recomputed with `scheme.sign_fields` and `Vector.request_body` (`make_vector`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
import random
from collections.abc import Callable, Iterator

from appauth_conformance.core import scheme, text, wire
from appauth_conformance.core.model import Vector
from appauth_conformance.execution.shards import Shard
from appauth_conformance.fuzz.edges import (
    CHARSETS,
    EMPTY_KEY,
    EXPIRE_EDGES,
    FIELDS,
    MIX_WEIGHTS,
    MODES,
    SEQUENCES,
    SPECIAL,
    SPECIAL_CUM,
)
from appauth_conformance.fuzz.full_vectors import CARRIES, SLOTS, fuzz_vector, make_vector, pair_up

# ---------------------------------------------------------------------------------------------
# The light input of the hot path.

# json's own C string encoders (what JSONEncoder.encode calls for a str), without the method call
_JSON_ASCII, _JSON_RAW = wire.encode_text, json.encoder.encode_basestring


def expected_replies(string_to_sign: str, signature: str) -> tuple[bytes, ...]:
    """The conforming reply after `{"seq":N`: string_to_sign escaped as \\u (Python's json, C++, Java for
    printable text) and, for non-ASCII text, as raw UTF-8 (JSON.stringify). Any other style is decoded."""
    sig = signature.encode("ascii")
    escaped = wire.REPLY_TAIL % (_JSON_ASCII(string_to_sign).encode("ascii"), sig)
    if string_to_sign.isascii():
        return (escaped,)
    return (escaped, wire.REPLY_TAIL % (_JSON_RAW(string_to_sign).encode("utf-8"), sig))


class FuzzInput:
    """One generated input, as light as the hot path allows: the request body, the oracle's
    string-to-sign and signature (None when the input is invalid), the conforming replies in
    the two usual JSON styles (Session.replies accepts those without decoding them), and the
    raw inputs from which `vector()` builds the full Vector, only for the few inputs a runner
    disagrees on."""

    __slots__ = ("expected_replies", "parts", "request_body", "signature", "string_to_sign")
    request_template = wire.SIGN_REQUEST

    def __init__(
        self,
        request_body: bytes,
        string_to_sign: str,
        signature: str | None,
        parts: tuple,
        replies: tuple[bytes, ...] | None = None,
    ):
        """`replies`: the expected replies if the caller made them (the generator does, inline), else
        computed here by `expected_replies`."""
        if replies is None:
            replies = expected_replies(string_to_sign, signature) if signature is not None else ()
        self.request_body, self.string_to_sign, self.signature, self.parts, self.expected_replies = (
            request_body,
            string_to_sign,
            signature,
            parts,
            replies,
        )

    def vector(self) -> Vector:
        """The full Vector (id: the input's index in the stream). Its request_body is computed again by
        the property if asked for; Inputs checks on the first inputs, then one in 1000, that it equals
        this input's."""
        return fuzz_vector(self.parts, self.string_to_sign, self.signature, "fuzz input", ())


# ---------------------------------------------------------------------------------------------
# The generator.

_POOL_BITS = 10
_POOL = 1 << _POOL_BITS
BLOCK = 4096  # inputs per block of the stream (shards are dealt whole blocks: small keeps them even)
_MASK = _POOL - 1
_NAMES = ("mode", *FIELDS, "expire_time")  # the order Inputs.chunk hands body pieces to _BODY_ORDER
_BODY_ORDER = operator.itemgetter(*(_NAMES.index(n) for n in wire.REQUEST_FIELDS))
_MODE_PIECES = {m: wire.body_piece("mode", wire.encode_text(m).encode("ascii")) for m in MODES}
# Per mode, indexed by the two low bits of an input's draw: (mode, carries corp_id, carries user_id, its body
# piece, the getter of its signed slots). One tuple look-up instead of three dict look-ups per input.
_MODE_TABLE = tuple((m, *CARRIES[m], _MODE_PIECES[m], SLOTS[m]) for m in MODES)
# A pool entry: (text, its piece of the request body, has a lone surrogate, KeyedSigner.sign for a key or None).
_EMPTY = {f: ("", wire.body_piece(f, wire.encode_text("").encode("ascii")), False, None) for f in FIELDS}


class Inputs:
    """Seeded, reproducible stream of fuzz inputs (FuzzInput) aimed at the edges.

    Each field is drawn from a pool of 1024 values made by the rich value
    generator (`value`); one pool slot in 32 inputs is replaced by a fresh value,
    so the stream keeps finding new values while most inputs cost a few dict
    look-ups. Expected values come from the oracle: the slot order is read off
    scheme.string_to_sign (diagnosis.LAYOUT), the HMAC is finished from the key's
    pads (scheme.keyed), and the first `verify` inputs (then one in 1000) are re-checked against
    scheme.sign_fields and Vector.request_body, so the fast path cannot drift.
    """

    def __init__(self, seed: int = 1, verify: int = 1000, shard: Shard | None = None):
        self.seed = seed
        self.shard = shard or Shard(1, 1)
        self.rng = random.Random(seed)
        self.verify = verify
        self._mix = list(MIX_WEIGHTS)
        self._mix_cum = list(itertools.accumulate(MIX_WEIGHTS.values()))
        # the pools every block starts from: made once per seed (the costly part), copied per block
        self._pools0 = [[self._entry(self.value(f), f) for _ in range(_POOL)] for f in FIELDS]
        self._expires0 = [self._expire_entry(self.expire()) for _ in range(_POOL)]
        self._enter(self.shard.index - 1)

    def _enter(self, block: int) -> None:
        """Start block `block` of the stream: its own generator, the seed's pools, its own positions."""
        self.block = block
        digest = hashlib.sha256(f"appauth-conformance fuzz {self.seed} {block}".encode()).digest()
        self.rng = random.Random(int.from_bytes(digest[:8], "big"))
        self.pools = [list(p) for p in self._pools0]
        self.expires = list(self._expires0)
        self.index = block * BLOCK
        self.block_end = self.index + BLOCK

    # -- rich values -----------------------------------------------------------------------

    def _chars(self, cls: str, n: int = 1) -> str:
        cs = CHARSETS[cls]
        return "".join(self.rng.choice(cs) for _ in range(n))

    def _plain(self, n: int) -> str:
        return "".join(self.rng.choices(CHARSETS["ascii"], k=n))

    def _mixed(self, n: int) -> str:
        rng = self.rng
        classes = rng.choices(self._mix, cum_weights=self._mix_cum, k=n)
        out = []
        for c in classes:
            if c == "astral" and rng.random() < 0.2:
                out.append(rng.choice(SEQUENCES))
            else:
                out.append(rng.choice(CHARSETS[c]))
        return "".join(out)

    def _small_len(self) -> int:
        r = self.rng.random()
        return 1 + int(r * r * 12)  # mostly 1-4 characters, up to 12

    def _insert(self, base: str, piece: str) -> str:
        where = self.rng.randrange(3)
        if where == 0 or not base:
            return piece + base
        if where == 2:
            return base + piece
        i = self.rng.randrange(1, len(base)) if len(base) > 1 else 1
        return base[:i] + piece + base[i:]

    def block_key(self) -> str:
        """A key of 63/64/65 (or 127-129) bytes, often with a multi-byte character straddling the block edge."""
        rng = self.rng
        edge = 64 if rng.random() < 0.8 else 128
        if rng.random() < 0.5:
            return self._plain(edge + rng.choice((-1, 0, 1)))
        ch = rng.choice(("\xe9", "\u4e2d", "\U0001f600", "\u0301", "\0"))
        width = len(ch.encode("utf-8", "surrogatepass"))
        before = edge - rng.randrange(1, width + 1) if width > 1 else edge + rng.choice((-1, 0, 1)) - 1
        return self._plain(max(before, 0)) + ch + self._plain(rng.randrange(0, 3))

    def long_value(self) -> str:
        """1-10 KB: a run of one character with a few specials, or a mixed run."""
        rng = self.rng
        n = rng.randrange(1024, 10241)
        if rng.random() < 0.7:
            s = rng.choice("a0 :\xe9\u4e2d") * n
            for _ in range(rng.randrange(0, 3)):
                s = self._insert(s, self._chars(rng.choice(SPECIAL)))
            return s
        return self._mixed(n)

    def value(self, field: str) -> str:
        """One rich field value: mostly short, sometimes special, rarely long (rates in docs/fuzzing.md)."""
        rng = self.rng
        if field == "app_key" and rng.random() < 0.1:
            return self.block_key()
        r = rng.random()
        if r < 0.05:
            return "" if field != "app_key" or r < EMPTY_KEY else self._plain(self._small_len())
        if r < 0.0505:
            return self.long_value()
        if r < 0.55:
            return self._plain(self._small_len())
        if r < 0.65:  # documentation-shaped: 32 hex digits, a 32-64 character nonce
            if field == "nonce":
                return self._plain(rng.choice((31, 32, 48, 64, 65)))
            return "".join(rng.choices("0123456789abcdef", k=32))
        if r < 0.73:  # a plain value with one special character at the start, middle or end
            cls = rng.choices(SPECIAL, cum_weights=SPECIAL_CUM)[0]
            piece = self._chars(cls) if cls != "astral" or rng.random() < 0.7 else rng.choice(SEQUENCES)
            return self._insert(self._plain(rng.randrange(0, 6)), piece)
        if r < 0.98:
            return self._mixed(self._small_len())
        return self._mixed(rng.randrange(13, 80))

    def expire(self) -> int:
        rng = self.rng
        r = rng.random()
        if r < 0.85:  # (above 2^53 most values are the JS runner's known precision loss: kept rarer)
            return 1_600_000_000 + rng.randrange(400_000_000)
        if r < 0.95:
            return rng.choice(EXPIRE_EDGES)
        return rng.getrandbits(rng.randrange(1, 64))

    @staticmethod
    def _entry(s: str, field: str) -> tuple:
        if text.has_lone_surrogate(s):
            s = pair_up(s)
        lone = text.has_lone_surrogate(s)
        return (
            s,
            wire.body_piece(field, wire.encode_text(s).encode("ascii")),
            lone,
            scheme.keyed(s.encode("utf-8")).sign if field == "app_key" and not lone else None,
        )

    @staticmethod
    def _expire_entry(t: int) -> tuple:
        return (t, str(t), wire.body_piece("expire_time", str(t).encode("ascii")))

    def _refresh(self, r: int) -> None:
        which = (r >> 53) % 6
        slot = self.rng.getrandbits(_POOL_BITS)
        if which == 5:
            self.expires[slot] = self._expire_entry(self.expire())
        else:
            self.pools[which][slot] = self._entry(self.value(FIELDS[which]), FIELDS[which])

    # -- the stream ------------------------------------------------------------------------

    def chunk(self, n: int) -> list[FuzzInput]:
        """The next n inputs of this shard's stream (across blocks)."""
        out: list[FuzzInput] = []
        while len(out) < n:
            if self.index == self.block_end:
                self._enter(self.block + self.shard.count)
            out += self._segment(min(n - len(out), self.block_end - self.index))
        return out

    def _segment(self, n: int) -> list[FuzzInput]:
        """The next n inputs of the current block (n never crosses its end)."""
        out: list[FuzzInput] = []
        append = out.append
        bits = self.rng.getrandbits
        P_app, P_corp, P_user, P_nonce, P_key = self.pools
        E = self.expires
        table, order, join = _MODE_TABLE, _BODY_ORDER, b"".join
        tail, escaped, raw = wire.REPLY_TAIL, _JSON_ASCII, _JSON_RAW
        no_corp, no_user = _EMPTY["corp_id"], _EMPTY["user_id"]
        start, verify = self.index, self.verify
        for i in range(start, start + n):
            r = bits(64)
            if r >> 59 == 0:  # one input in 32 brings a fresh value into a pool
                self._refresh(r)
            mode, corp_on, user_on, mode_piece, slots = table[r & 3]
            a = P_app[(r >> 2) & _MASK]
            c = P_corp[(r >> 12) & _MASK] if corp_on else no_corp
            u = P_user[(r >> 22) & _MASK] if user_on else no_user
            no = P_nonce[(r >> 32) & _MASK]
            k = P_key[(r >> 42) & _MASK]
            e = E[(r >> 52) & _MASK]
            data = ":".join(slots((a[0], c[0], u[0], e[1], no[0], "")))
            body = join(order((mode_piece, a[1], c[1], u[1], no[1], k[1], e[2])))
            parts = (i, mode, a[0], c[0], u[0], e[0], no[0], k[0])
            if a[2] or c[2] or u[2] or no[2] or k[2]:  # a lone surrogate: invalid, a runner must refuse it
                item = FuzzInput(body, data, None, parts, ())
            else:  # the oracle's HMAC, finished from the key's pads (Inputs._check compares with scheme.sign)
                sig = k[3](data.encode("utf-8"))
                # expected_replies(data, sig), inline (Inputs._check compares)
                sb = sig.encode("ascii")
                reply = tail % (escaped(data).encode("ascii"), sb)
                if data.isascii():
                    item = FuzzInput(body, data, sig, parts, (reply,))
                else:
                    item = FuzzInput(body, data, sig, parts, (reply, tail % (raw(data).encode("utf-8"), sb)))
            if i < verify or i % 1000 == 0:
                self._check(item)
            append(item)
        self.index = start + n
        return out

    @staticmethod
    def _check(item: FuzzInput) -> None:
        """The fast path must equal the oracle and the property's own encoding, exactly."""
        v = item.vector()
        ref = make_vector(v.mode, v.app_id, v.corp_id, v.user_id, v.expire_time, v.nonce, v.app_key)
        if (v.string_to_sign, v.signature, v.result) != (ref.string_to_sign, ref.signature, ref.result):
            raise AssertionError(
                f"fuzz generator disagrees with the oracle on input {v.id}: "
                f"{(v.string_to_sign, v.signature, v.result)!r} != {(ref.string_to_sign, ref.signature, ref.result)!r}"
            )
        if item.request_body != v.request_body:
            raise AssertionError(f"fuzz generator's request body differs from Vector.request_body on input {v.id}")
        sts, sig = ref.string_to_sign, ref.signature
        want = expected_replies(sts, sig) if sts is not None and sig is not None else ()
        if item.expected_replies != want:
            raise AssertionError(f"fuzz generator's expected replies differ from expected_replies() on input {v.id}")

    def chunks(
        self, batch: int, count: int | None = None, stop: Callable[[], bool] | None = None
    ) -> Iterator[list[FuzzInput]]:
        """Chunks of at most `batch` inputs until `stop()`, or until this shard's part of the first `count`
        positions of the stream is done (None: forever). `count` is the whole campaign's: the N shards of
        one seed and count generate, between them, exactly the inputs one process generates unsharded."""
        while True:
            if stop is not None and stop():
                return
            if self.index == self.block_end:
                self._enter(self.block + self.shard.count)
            left = self.block_end - self.index if count is None else min(self.block_end, count) - self.index
            if left <= 0:
                return
            yield self.chunk(min(batch, left))

    def take(self, n: int) -> list[Vector]:
        """The next n inputs as full Vectors (tests, and anything that wants the whole record)."""
        return [x.vector() for x in self.chunk(n)]

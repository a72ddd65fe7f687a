"""Shards: one run spread over N machines, processes or CI jobs (`--shard K/N`), merged afterwards.

The vectors are partitioned by a stable hash of their key (mode/id): ranked by the hash and dealt
round-robin, so the N shards differ in size by at most one vector, and the same corpus always gives
the same partition. Every runner's outcome for a vector lands in the same shard (diffs and the
comparison across runners still work), and a token request follows the vector it is made from.
The fuzzer shards its input stream instead (fuzz/generate.py: blocks of the stream dealt the same way).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import UsageError

TOKEN = "token/"  # a token request's key: this prefix and the key of the vector it is made from
MAX = 10_000


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def record(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def parse(text: str, flag: str = "--shard") -> Shard:
    k, _, n = text.strip().partition("/")
    index, count = untrusted.decimal(k, 9), untrusted.decimal(n, 9)
    if index is None or count is None or not 1 <= index <= count <= MAX:
        raise UsageError(f"{flag}: {text!r} is not K/N with 1 <= K <= N <= {MAX:,}; e.g. {flag}=2/3")
    return Shard(index, count)


def _rank(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def partition(keys: Iterable[str], count: int) -> dict[str, int]:
    """key -> its shard (1-based): ranked by a stable hash, dealt round-robin (sizes differ by at most one)."""
    ranked = sorted(set(keys), key=_rank)
    return {k: i % count + 1 for i, k in enumerate(ranked)}


def members(keys: Iterable[str], shard: Shard) -> frozenset[str]:
    """The keys (of the whole corpus) that fall in one shard."""
    return frozenset(k for k, i in partition(keys, shard.count).items() if i == shard.index)


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


V = TypeVar("V", bound=Keyed)
R = TypeVar("R", bound=Keyed)


def part(vectors: list[V], requests: list[R], shard: Shard | None) -> tuple[list[V], list[R]]:
    """One shard's vectors and token requests (a request goes where the vector it is made from goes);
    everything without a shard. The partition is of the whole corpus, so shards never overlap."""
    if shard is None:
        return vectors, requests
    mine = members((v.key for v in vectors), shard)
    return [v for v in vectors if v.key in mine], [r for r in requests if r.key.removeprefix(TOKEN) in mine]

"""scheme.KeyedSigner: HMAC-SHA256 finished from precomputed pads must equal hmac, for every key."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from appauth_conformance import scheme


def _hmac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 31, 63, 64, 65, 127, 128, 129, 1000])
def test_keyed_signer_equals_hmac_for_keys_around_the_block(size):
    rng = random.Random(size)
    key = bytes(rng.getrandbits(8) for _ in range(size))
    signer = scheme.keyed(key)
    assert isinstance(signer, scheme.KeyedSigner)
    for data in (b"", b"a", b"AppID:CorpID:UserID:1604020600:" + b"n" * 32, bytes(range(256)) * 9):
        assert signer.sign(data) == _hmac(key, data) == scheme.hmac_hex(data, key)


def test_a_key_over_the_block_is_hashed_first():
    long_key = b"k" * 65
    assert scheme.keyed(long_key).sign(b"data") == scheme.keyed(hashlib.sha256(long_key).digest()).sign(b"data")
    # and a key of exactly 64 bytes is used as it is (not the same as its hash)
    key64 = b"k" * 64
    assert scheme.keyed(key64).sign(b"data") != scheme.keyed(hashlib.sha256(key64).digest()).sign(b"data")


def test_keyed_signer_is_reusable_and_matches_the_oracle_on_text():
    key = "clé-中文-\U0001f600".encode()
    signer = scheme.keyed(key)
    data = "app:corp:user:1604020600:nonce-é"
    first = signer.sign(data.encode())
    assert signer.sign(b"other") == _hmac(key, b"other")  # the pads are copied, never consumed
    assert signer.sign(data.encode()) == first == scheme.sign(data, key.decode())


def test_rfc4231_case_2():
    assert (
        scheme.keyed(b"Jefe").sign(b"what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )

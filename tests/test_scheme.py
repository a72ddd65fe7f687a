"""scheme.KeyedSigner: HMAC-SHA256 finished from precomputed pads must equal hmac, for every key."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from appauth_conformance.core import scheme


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


# -- the formula: the string to sign per mode, the inputs it refuses; signatures by the openssl CLI ----------

N = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "mode, want",
    [
        ("single", f"app:user:1604020600:{N}"),  # a corp id the mode does not sign is ignored
        ("sp_user", f"app:corp:user:1604020600:{N}"),
        ("sp_corp_admin", f"app:corp::1604020600:{N}"),
        ("sp_admin", f"app:::1604020600:{N}"),
    ],
)
def test_each_mode_joins_its_fields_and_signs_them(openssl_hmac, mode, want):
    f = scheme.Fields(scheme.Mode(mode), "app", "corp", "user", 1604020600, N)
    assert scheme.string_to_sign(f) == want
    assert scheme.sign_fields(f, "key") == (want, openssl_hmac("key", want))
    assert scheme.oracle(f, "key") == (want, openssl_hmac("key", want), None)
    assert scheme.sign(want, "clé") == openssl_hmac("clé", want)  # key and data as UTF-8


def test_modes_are_the_four_documented_ones_in_order():
    assert scheme.MODES == ("single", "sp_user", "sp_corp_admin", "sp_admin")
    f = scheme.Fields("single", "a", "", "", 0, "n")  # type: ignore[arg-type]  # a mode given as text works
    assert scheme.string_to_sign(f) == "a::0:n"


@pytest.mark.parametrize("expire", [True, False, -1, 1.0, "1604020600", None])
def test_an_expire_time_that_is_not_a_non_negative_integer_is_refused(expire):
    """YAML `true` is a bool, and bool is an int in Python: it must not be signed as "True" or 1."""
    f = scheme.Fields(scheme.Mode.SP_ADMIN, "app", "", "", expire, N)  # type: ignore[arg-type]
    want = f"expire_time must be a non-negative integer of Unix seconds, got {expire!r}"
    with pytest.raises(scheme.SchemeError) as err:
        scheme.string_to_sign(f)
    assert str(err.value) == want
    assert scheme.oracle(f, "key") == (None, None, want)


def test_zero_is_signed_as_never_expires(openssl_hmac):
    f = scheme.Fields(scheme.Mode.SP_ADMIN, "app", "", "", 0, N)
    assert scheme.oracle(f, "k") == (f"app:::0:{N}", openssl_hmac("k", f"app:::0:{N}"), None)


def test_text_without_utf8_form_names_the_field_and_the_position():
    f = scheme.Fields(scheme.Mode.SP_USER, "app", "co\udc80rp", "user", 1, N)
    with pytest.raises(scheme.UnencodableText) as err:
        scheme.sign_fields(f, "key")
    e = err.value
    assert (e.field, e.position, e.code_unit) == ("corp_id", 2, 0xDC80)
    assert (
        str(e) == "corp_id: unpaired surrogate U+DC80 at position 2 has no UTF-8 encoding, so there is nothing to sign"
    )
    assert isinstance(e, scheme.SchemeError)
    data, sig, why = scheme.oracle(f, "key")
    assert (data, sig, why) == (f"app:co\udc80rp:user:1:{N}", None, str(e))
    for field, fields, key in [
        ("app_id", f.__class__(scheme.Mode.SP_USER, "\ud800", "c", "u", 1, N), "k"),
        ("user_id", f.__class__(scheme.Mode.SP_USER, "a", "c", "u\ud800", 1, N), "k"),
        ("nonce", f.__class__(scheme.Mode.SP_USER, "a", "c", "u", 1, "\ud800"), "k"),
        ("app_key", f.__class__(scheme.Mode.SP_USER, "a", "c", "u", 1, N), "k\ud800"),
    ]:
        with pytest.raises(scheme.UnencodableText) as err:
            scheme.sign_fields(fields, key)
        assert err.value.field == field


def test_a_field_the_mode_does_not_sign_may_hold_anything(openssl_hmac):
    f = scheme.Fields(scheme.Mode.SINGLE, "app", "\ud800", "user", 1, N)
    assert scheme.sign_fields(f, "k") == (f"app:user:1:{N}", openssl_hmac("k", f"app:user:1:{N}"))
    f = scheme.Fields(scheme.Mode.SP_CORP_ADMIN, "app", "corp", "\ud800", 1, N)
    assert scheme.sign_fields(f, "k")[0] == f"app:corp::1:{N}"


def test_the_raw_primitive_signs_bytes_with_nul(openssl_hmac):
    key, data = b"k\x00ey\xff", b"da\x00ta"
    assert scheme.hmac_hex(data, key) == openssl_hmac(key, data)
    assert scheme.utf8("é", "f") == b"\xc3\xa9"


def test_sign_names_the_string_to_sign_or_the_key_it_cannot_encode():
    with pytest.raises(scheme.UnencodableText) as err:
        scheme.sign("ab\ud800", "k")
    assert (err.value.field, err.value.position) == ("string_to_sign", 2)
    with pytest.raises(scheme.UnencodableText) as err:
        scheme.sign("ab", "\udfff")
    assert (err.value.field, err.value.position, err.value.code_unit) == ("app_key", 0, 0xDFFF)

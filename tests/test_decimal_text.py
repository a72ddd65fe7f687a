"""Decimal text that someone else chose (a runner's seq, a client's Content-Length, a location typed on the
command line, a version in a results file) never reaches int() unchecked: int() raises past Python's
4,300-digit limit, and str.isdigit() passes digits int() cannot read ('²'). One helper,
core.untrusted.decimal, says what such text stands for, or None."""

from __future__ import annotations

import pytest

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import UsageError
from appauth_conformance.execution import shards
from appauth_conformance.report.site.data import version_key

LONG = "9" * 5000


@pytest.mark.parametrize(
    "text, want",
    [
        ("0", 0),
        ("7", 7),
        ("007", 7),
        (b"42", 42),
        ("9" * 19, 10**19 - 1),
        ("9" * 20, None),  # more digits than asked for (19 by default: any 63-bit count)
        (LONG, None),
        (LONG.encode(), None),
        ("", None),
        ("²", None),  # isdigit() is True, int() raises
        ("٣", None),  # an Arabic-Indic digit: int() reads it, but it is not plain decimal text
        ("+1", None),
        ("-1", None),
        (" 1", None),
        ("1 ", None),
        ("1_000", None),
        ("1.0", None),
        ("\ud800", None),
    ],
)
def test_decimal_reads_plain_ascii_digits_only(text, want):
    assert untrusted.decimal(text) == want


def test_decimal_honours_its_digit_bound():
    assert untrusted.decimal("123456789", 9) == 123456789
    assert untrusted.decimal("1234567890", 9) is None


@pytest.mark.parametrize("given", [f"1/{LONG}", f"{LONG}/1", "1/²", "²/3", "٢/٣", "1/", "/3", "1/3/4"])
def test_a_shard_of_unreadable_digits_is_a_usage_error(given):
    with pytest.raises(UsageError, match="is not K/N"):
        shards.parse(given)


def test_shards_still_read_what_they_did():
    assert (shards.parse(" 2/3 ").index, shards.parse("2/3").count) == (2, 3)


def test_a_version_with_a_very_long_number_sorts_without_int():
    assert version_key("1" + "0" * 5000) > version_key("9.9")
    assert version_key("3.0.94") < version_key("3.1.167") < version_key("3.10.0")
    assert version_key("OpenSSL 1.1.1w") < version_key("OpenSSL 3.0.20")
    assert version_key("1.01") == version_key("1.1")  # numbers as numbers, as int() compared them


@pytest.mark.parametrize("line", ["²", LONG])
def test_vectors_show_at_an_unreadable_line_says_so_and_exits_2(line, tmp_path, run_cli):
    r = run_cli("vectors", "show", f"vectors/single.yaml:{line}", cwd=tmp_path, env={"CI": ""}, timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and r.stderr.count("error:") == 1, r.stderr[-2000:]
    assert "vectors show: no vector" in r.stderr

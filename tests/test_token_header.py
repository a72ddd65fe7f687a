"""The Authorization header of a token is parsed strictly against its documented shape:

    HMAC-SHA256 signature=<64 hex digits>,access=<base64 of the UTF-8 AppID>

Every plausible malformation is `header-malformed` (the old parser took anything before the first
comma as the signature: `signature=<hex>;,access=…` passed). A well-formed header with another
signature or access value keeps its exact diagnosis.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import pytest

from appauth_conformance.core import scheme
from appauth_conformance.core.model import RunnerSpec, Stage, TokenOutcome, Verdict
from appauth_conformance.corpus import vectors
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.judging import tokens

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REQUEST = next(r for r in tokens.suite(vectors.load(FIXTURES / "vectors" / "small.yaml").vectors) if r.app_id.isascii())
SPEC = RunnerSpec(name="tok", language="python", command=("true",))


def _token() -> tuple[str, int, str]:
    nonce, expire = secrets.token_hex(20), int(time.time()) + 600
    _, sig, _ = scheme.oracle(REQUEST.fields(expire, nonce), REQUEST.app_key)
    assert sig is not None
    return nonce, expire, sig


def _header_check(authorization: str | None, *, signature: str | None = None):
    nonce, expire, sig = _token()
    headers = {} if authorization is None else {"Authorization": authorization.format(sig=sig, access=ACCESS)}
    o = TokenOutcome(REQUEST, "tok", nonce, expire, signature or sig, None, headers, None)
    t = tokens.Judge(Expectations(SPEC, [], None)).judge(o)
    (check,) = [c for c in t.checks if c.stage is Stage.TOKEN_HEADER]
    return check


ACCESS = base64.b64encode(REQUEST.app_id.encode()).decode()

MALFORMED = {
    "a semicolon after the signature": "HMAC-SHA256 signature={sig};,access={access}",
    "a semicolon at the end": "HMAC-SHA256 signature={sig},access={access};",
    "no scheme": "signature={sig},access={access}",
    "another scheme": "HMAC-SHA1 signature={sig},access={access}",
    "the scheme in lower case": "hmac-sha256 signature={sig},access={access}",
    "two spaces after the scheme": "HMAC-SHA256  signature={sig},access={access}",
    "a tab after the scheme": "HMAC-SHA256\tsignature={sig},access={access}",
    "a space after the comma": "HMAC-SHA256 signature={sig}, access={access}",
    "a space before the comma": "HMAC-SHA256 signature={sig} ,access={access}",
    "a space around =": "HMAC-SHA256 signature= {sig},access={access}",
    "a leading space": " HMAC-SHA256 signature={sig},access={access}",
    "a trailing space": "HMAC-SHA256 signature={sig},access={access} ",
    "a trailing newline": "HMAC-SHA256 signature={sig},access={access}\n",
    "a trailing comma": "HMAC-SHA256 signature={sig},access={access},",
    "trailing text": "HMAC-SHA256 signature={sig},access={access} extra",
    "another parameter after": "HMAC-SHA256 signature={sig},access={access},realm=x",
    "the parameters in the wrong order": "HMAC-SHA256 access={access},signature={sig}",
    "the signature twice": "HMAC-SHA256 signature={sig},signature={sig},access={access}",
    "access twice": "HMAC-SHA256 signature={sig},access={access},access={access}",
    "a quoted signature": 'HMAC-SHA256 signature="{sig}",access={access}',
    "a quoted access": 'HMAC-SHA256 signature={sig},access="{access}"',
    "the signature's name in upper case": "HMAC-SHA256 Signature={sig},access={access}",
    "no signature": "HMAC-SHA256 access={access}",
    "an empty signature": "HMAC-SHA256 signature=,access={access}",
    "a truncated signature": "HMAC-SHA256 signature={sig:.63},access={access}",
    "a signature too long": "HMAC-SHA256 signature={sig}0,access={access}",
    "a signature that is not hex": "HMAC-SHA256 signature={sig:.62}zz,access={access}",
    "a prefixed signature": "HMAC-SHA256 signature=0x{sig},access={access}",
    "the scheme alone": "HMAC-SHA256",
    "an empty value": "",
    "junk after the padding of access": "HMAC-SHA256 signature={sig},access={access}=x",
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_every_malformation_of_the_header_is_header_malformed(value):
    check = _header_check(value)
    assert check.verdict is Verdict.FAIL and "header-malformed" in check.diagnosis, check
    assert "HMAC-SHA256 signature=<64 hex digits>" in (check.detail or "")


def test_the_documented_shape_passes_and_upper_case_hex_is_not_malformed():
    assert _header_check("HMAC-SHA256 signature={sig},access={access}").verdict is Verdict.PASS
    nonce, expire, sig = _token()
    o = TokenOutcome(
        REQUEST,
        "tok",
        nonce,
        expire,
        sig.upper(),
        None,
        {"authorization": f"HMAC-SHA256 signature={sig.upper()},access={ACCESS}"},
        None,
    )
    t = tokens.Judge(Expectations(SPEC, [], None)).judge(o)
    header = next(c for c in t.checks if c.stage is Stage.TOKEN_HEADER)
    assert header.verdict is Verdict.PASS  # the case of the hex is the signature check's business


@pytest.mark.parametrize(
    "value, mistake",
    [
        ("HMAC-SHA256 signature={sig}", "header-access-missing"),
        ("HMAC-SHA256 signature={sig},access=", "header-access-wrong"),
        ("HMAC-SHA256 signature={sig},access=" + REQUEST.app_id.replace(",", ""), "header-access-wrong"),
        ("HMAC-SHA256 signature=" + "0" * 64 + ",access={access}", "header-signature-differs"),
        (None, "header-missing"),
    ],
)
def test_a_well_formed_header_keeps_its_exact_mistake(value, mistake):
    check = _header_check(value)
    assert check.verdict is Verdict.FAIL and mistake in check.diagnosis and "header-malformed" not in check.diagnosis

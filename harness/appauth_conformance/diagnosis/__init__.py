"""Name the implementation mistake behind a wrong output.

When a signer's output for a vector is wrong, `diagnose()` recomputes the
output under every entry of `CATALOGUE` -- a list of known implementation
mistakes -- and returns each mistake whose recomputation reproduces the actual
output exactly. An empty list means "no known mistake explains it" (or the
output was right after all).

There are two kinds of entries; each is defined once and serves both stages
where it can:

* ``stage="string_to_sign"``: a function of the fields that builds a wrong
  string to sign (wrong separator, wrong order, milliseconds, NFC...). It is
  matched against the reported string to sign, AND its correct signature
  (``scheme.sign(wrong_string, app_key)``) is matched against the reported
  signature, so a signer that reports only a signature but joins its fields
  wrongly is still diagnosed.
* ``stage="signature"``: a function of (string to sign, app_key) that signs
  wrongly (upper-case hex, Latin-1 bytes, SHA-1, NUL truncation of the key...).
  It is evaluated on the correct string to sign and, when the signer reports a
  different one, on the string the signer says it signed too, so a signer
  that both joins wrongly and, say, upper-cases its hex is named with both
  mistakes.

The formula itself is never written here: the correct string to sign and
signature come from `appauth_conformance.scheme`, and the order of the slots that the
join-level mistakes rearrange is read off `scheme.string_to_sign` by probing
it once per mode (`LAYOUT`).

A mistake "does not apply" -- and is skipped -- when its function returns
None, raises (a UnicodeEncodeError from an encoding that cannot hold the
input, a binascii.Error from a key that is not base64...), or produces the
correct output (the mistake would make no difference on this input). Two
mistakes may produce the same output on some inputs (base64 and base64url
when the digest has no '+' or '/'; expire-float and expire-java-double below
10^7 seconds); diagnose() then names all of them.

Two entries describe signing what the scheme refuses (a corp_id/user_id the
mode leaves empty, a negative expire time): their output is the join the
scheme would have made had it not refused, and they apply only to refused
inputs. All other entries use that same unrefused join as their starting
point, so they still explain outputs for refused inputs.

Adding a mistake is adding one `_text(...)` or `_sig(...)` line to CATALOGUE (catalogue.py)
(id, title, typical origin, function), a row in docs/diagnosis.md, and a case
in tests/test_diagnosis.py. For a signature-stage entry whose output is not 64
lowercase hex digits, give `shape=` (a regex of every output it can produce):
it lets diagnose() skip the entry without computing anything when the actual
signature cannot be its output.

Performance: diagnose() computes lazily (no HMAC at all when only a string to
sign is reported), checks cheap applicability first (e.g. "is there a NUL?"),
computes each mistaken string to sign once per call, signs each distinct
string once, shares the correct digest between all formatting mistakes, and
skips entries whose output shape cannot match. It is pure: no I/O, no global
state beyond the import-time layout probe.

Catalogue (see docs/diagnosis.md for origins):

  string_to_sign: separator-pipe, separator-comma, separator-semicolon,
    separator-empty, separator-ampersand, separator-newline, separator-space,
    empty-fields-skipped, uncarried-slots-dropped, corp-slot-in-single,
    corp-slot-omitted, uncarried-field-signed, uncarried-field-ignored,
    expire-unchecked, user-before-corp, nonce-before-expire, app-id-last,
    fields-reversed, expire-milliseconds, expire-float, expire-java-double, expire-js-number,
    nul-truncates-data, fields-stripped, fields-java-trimmed, string-stripped,
    fields-nfc, fields-nfd, fields-nfkc, ids-lowercased, fields-url-encoded,
    fields-uri-component, fields-form-encoded, string-url-encoded,
    app-id-base64, trailing-newline, trailing-crlf, trailing-colon
  signature: hex-uppercase, hex-unpadded, hex-java-sign-extended,
    hex-bigint-unpadded, hex-truncated-128, base64, base64url,
    base64url-unpadded, base64-of-hex, raw-digest-latin1, raw-digest-utf8,
    key-data-swapped, nul-truncates-key, nul-truncates-both, key-stripped,
    key-java-trimmed, key-nfc, key-nfd, nfc-everywhere, nfd-everywhere,
    key-hex-decoded, key-base64-decoded, key-base64url-decoded,
    latin1-replace, cp1252-replace, ascii-replace, utf16le, utf16be,
    utf16-bom, double-utf8, surrogate-question-mark,
    surrogate-replacement-char, surrogate-dropped, surrogate-wtf8, cesu8,
    modified-utf8, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512,
    hmac-sha512-truncated, hmac-md5, hmac-sha3-256, sha256-key-data,
    sha256-data-key, sha256-data
"""

from __future__ import annotations

from functools import lru_cache

from .. import scheme
from .catalogue import BY_ID, CATALOGUE, STAGES, Mistake
from .context import FILLED, HEX64, LAYOUT, FieldsView, Signing, attempt

__all__ = ["BY_ID", "CATALOGUE", "FILLED", "LAYOUT", "STAGES", "FieldsView", "Mistake", "Signing", "diagnose"]


@lru_cache(maxsize=4096)
def _entries(only: frozenset[str] | None) -> tuple[Mistake, ...]:
    return CATALOGUE if only is None else tuple(m for m in CATALOGUE if m.id in only)


def diagnose(
    inputs: scheme.Fields,
    app_key: str,
    string_to_sign: str | None,
    signature: str | None,
    *,
    only: frozenset[str] | None = None,
    oracle: tuple[str | None, str | None] | None = None,
) -> list[Mistake]:
    """Every mistake whose output equals the actual string_to_sign (for stage string_to_sign) or
    signature (stage signature, and string_to_sign mistakes signed correctly). Empty list if
    none or if the actual output is correct.

    only: try just these mistake ids (a caller that already knows the candidates, like the
    fuzzer's triage, pays for a few entries instead of the catalogue). oracle: the correct
    (string_to_sign, signature) when the caller has them already (saves recomputing them)."""
    c = FieldsView(inputs, oracle[0] if oracle is not None else None)
    if string_to_sign is not None and string_to_sign == c.oracle:
        string_to_sign = None  # correct: nothing to explain
    base = Signing(c.baseline, app_key, oracle[1] if oracle is not None else None)
    if signature is not None and not c.refused and signature == base.correct:
        signature = None
    if string_to_sign is None and signature is None:
        return []

    # Signature mistakes are tried on the correct string and on the string the signer says it signed.
    contexts = [base]
    if string_to_sign is not None and string_to_sign != c.baseline:
        contexts.append(Signing(string_to_sign, app_key))
    text_sig_may_match = signature is not None and HEX64.fullmatch(signature) is not None
    signed: dict[str, str | None] = {}  # mistaken string to sign -> its correct signature

    found = []
    for m in _entries(only):
        if m.text is not None:
            if string_to_sign is None and not text_sig_may_match:
                continue
            text = attempt(m.text, c)  # computed once per call, used for both stages
            if text is None or (text == c.baseline and not m.refused_only):
                continue  # does not apply, or makes no difference here
            if string_to_sign is not None and text == string_to_sign:
                found.append(m)
            elif text_sig_may_match:
                if text not in signed:
                    signed[text] = attempt(lambda t: scheme.sign(t, app_key), text)
                if signed[text] == signature:
                    found.append(m)
        else:
            if signature is None or (m.shape is not None and not m.shape.fullmatch(signature)):
                continue
            for s in contexts:
                out = attempt(m.sign, s)
                if out is not None and out == signature and out != s.correct:
                    found.append(m)
                    break
    return found

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
signature come from `appauth_conformance.core.scheme`, and the order of the slots that the
join-level mistakes rearrange is read off `scheme.string_to_sign` by probing
it once per mode (`LAYOUT`).

A mistake "does not apply" -- and is skipped -- when its function returns
None, raises (a UnicodeEncodeError from an encoding that cannot hold the
input, a binascii.Error from a key that is not base64...), or produces the
correct output (the mistake would make no difference on this input). Two
mistakes may produce the same output on some inputs (base64 and base64url
when the digest has no '+' or '/'; expire-float and expire-java-double below
10^7 seconds); diagnose() then names all of them.

One entry describes signing what the scheme refuses (a negative expire time):
its output is the join the scheme would have made had it not refused, and it
applies only to refused inputs. All other entries use that same unrefused join
as their starting point, so they still explain outputs for refused inputs. (A
corp_id/user_id the mode does not sign is ignored, not refused.)

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
    corp-slot-omitted, uncarried-field-signed,
    expire-unchecked, user-before-corp, nonce-before-expire, app-id-last,
    fields-reversed, expire-milliseconds, expire-float, expire-java-double, expire-js-number,
    nul-truncates-data, fields-stripped, fields-java-trimmed, string-stripped,
    fields-nfc, fields-nfd, fields-nfkc, ids-lowercased, fields-url-encoded,
    fields-uri-component, fields-form-encoded, string-url-encoded,
    app-id-base64, trailing-newline, trailing-crlf, trailing-colon,
    null-literal-field, none-literal-field, undefined-literal-field,
    json-body-signed, query-string-pairs, fields-sorted-by-name, values-sorted,
    expire-tz-minus-8h, expire-tz-plus-8h, expire-iso8601-basic, expire-iso8601,
    string-json-quoted, expire-int32-wrap, expire-uint32-truncated
  signature: hex-uppercase, hex-unpadded, hex-java-sign-extended,
    hex-bigint-unpadded, hex-truncated-128, hex-truncated, signature-not-hex, base64, base64url,
    base64url-unpadded, base64-of-hex, raw-digest-latin1, raw-digest-utf8,
    key-data-swapped, nul-truncates-key, nul-truncates-both, key-stripped,
    key-java-trimmed, key-nfc, key-nfd, nfc-everywhere, nfd-everywhere,
    key-hex-decoded, key-base64-decoded, key-base64url-decoded,
    latin1-replace, cp1252-replace, ascii-replace, utf16le, utf16be,
    utf16-bom, double-utf8, surrogate-question-mark,
    surrogate-replacement-char, surrogate-dropped, surrogate-wtf8, cesu8,
    modified-utf8, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512,
    hmac-sha512-truncated, hmac-md5, hmac-sha3-256, sha256-key-data,
    sha256-data-key, sha256-data, hex-dotnet-dashed, hex-colon-separated,
    hex-0x-prefixed, signature-scheme-prefix, signature-bytes-repr,
    openssl-stdin-prefix, base64-trailing-newline, base64-percent-encoded,
    signature-full-header, signature-appid-prefix, empty-signature,
    signature-null-literal, signature-none-literal, signature-undefined-literal,
    key-trailing-newline, key-ampersand-suffix, key-empty, key-undefined-literal,
    key-sha256-prehashed, key-appended-to-data, hmac-of-sha256-hex,
    go-sum-appends, hmac-last-field-only

Pairs ("first+then", searched when no single entry explains a signature): a
join mistake then any signature mistake, or a byte-level mistake then an
output-format one (`Mistake.formats`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from appauth_conformance.core import scheme
from appauth_conformance.judging.diagnosis.catalogue import BY_ID, CATALOGUE, STAGES, Mistake
from appauth_conformance.judging.diagnosis.context import FILLED, HEX64, LAYOUT, FieldsView, Signing, attempt
from appauth_conformance.judging.diagnosis.token_mistakes import TOKEN_MISTAKES, token_title

__all__ = [
    "BY_ID",
    "CATALOGUE",
    "FILLED",
    "LAYOUT",
    "STAGES",
    "TOKEN_MISTAKES",
    "FieldsView",
    "Mistake",
    "Signing",
    "diagnose",
    "explained_among",
    "pair",
    "title",
]


@lru_cache(maxsize=4096)
def _entries(only: frozenset[str] | None) -> tuple[Mistake, ...]:
    return CATALOGUE if only is None else tuple(m for m in CATALOGUE if m.id in only)


@lru_cache(maxsize=4096)
def pair(first: str, then: str) -> Mistake:
    """Two mistakes at once: `first` (a join or a byte-level mistake), `then` applied to its result."""
    a, b = BY_ID[first], BY_ID[then]
    return Mistake(f"{a.id}+{b.id}", f"{a.title}, and {b.title}", "signature", f"{a.origin}; {b.origin}")


def title(mistake_id: str) -> str:
    """The one-line title of a mistake id, a pair of them ("a+b") or a token mistake; an unknown id is itself."""
    if mistake_id in BY_ID:
        return BY_ID[mistake_id].title
    if token_title(mistake_id):
        return token_title(mistake_id) or mistake_id
    first, plus, then = mistake_id.partition("+")
    if plus and first in BY_ID and then in BY_ID:
        return pair(first, then).title
    return mistake_id


def _hits(out: str | tuple[str, ...] | None, actual: str, correct: str | None) -> bool:
    """Does a mistake's output (or one of its outputs) equal the actual value, unlike the correct one?"""
    if out is None or actual == correct:
        return False
    return actual == out if isinstance(out, str) else actual in out


def diagnose(
    inputs: scheme.Fields,
    app_key: str,
    string_to_sign: str | None,
    signature: str | None,
    *,
    only: frozenset[str] | None = None,
    oracle: tuple[str | None, str | None] | None = None,
    pairs_among: frozenset[str] | None = None,
) -> list[Mistake]:
    """Every mistake whose output equals the actual string_to_sign (for stage string_to_sign) or
    signature (stage signature, and string_to_sign mistakes signed correctly). When no single
    mistake explains the signature, pairs of them ("a+b") are tried: a join mistake then any
    signature mistake, or a byte-level mistake then an output-format one. Empty list if nothing
    explains it or the actual output is correct.

    only: try just these ids, pairs included (a caller that already knows the candidates, like
    the fuzzer's triage, pays for a few entries instead of the catalogue). oracle: the correct
    (string_to_sign, signature) when the caller has them already (saves recomputing them).
    pairs_among: with `only` None, every single mistake but only the pairs named here (see
    `explained_among`)."""
    c = FieldsView(inputs, oracle[0] if oracle is not None else None)
    if string_to_sign is not None and string_to_sign == c.oracle:
        string_to_sign = None  # correct: nothing to explain
    base = Signing(c.baseline, app_key, oracle[1] if oracle is not None else None, app_id=inputs.app_id)
    if signature is not None and not c.refused and signature == base.correct:
        signature = None
    if string_to_sign is None and signature is None:
        return []

    # Signature mistakes are tried on the correct string and on the string the signer says it signed.
    contexts = [base]
    if string_to_sign is not None and string_to_sign != c.baseline:
        contexts.append(Signing(string_to_sign, app_key, app_id=inputs.app_id))
    text_sig_may_match = signature is not None and HEX64.fullmatch(signature) is not None
    signed: dict[str, str | None] = {}  # mistaken string to sign -> its correct signature

    found: list[Mistake] = []
    signature_explained = False
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
                    signature_explained = True
        else:
            if signature is None or (m.shape is not None and not m.shape.fullmatch(signature)):
                continue
            for s in contexts:
                if _hits(attempt(m.sign, s), signature, s.correct):
                    found.append(m)
                    signature_explained = True
                    break
    wanted = only if only is not None else pairs_among
    pairs = None if wanted is None else [tuple(i.split("+", 1)) for i in wanted if "+" in i]
    if signature is not None and not signature_explained and (pairs is None or pairs):
        found += _pairs(c, base, contexts, signature, app_key, inputs.app_id, string_to_sign is None, pairs)
    if (
        signature is not None
        and not signature_explained
        and not any(m.stage == "signature" for m in found)
        and not HEX64_ANY_CASE.fullmatch(signature)
        and (only is None or NOT_HEX in only)
    ):  # nothing names it, and it is not even a hex digest: say that much
        found.append(BY_ID[NOT_HEX])
    return found


NOT_HEX = "signature-not-hex"
HEX64_ANY_CASE = re.compile("[0-9a-fA-F]{64}")


def explained_among(
    ids: frozenset[str],
    inputs: scheme.Fields,
    app_key: str,
    string_to_sign: str | None,
    signature: str | None,
) -> frozenset[str]:
    """Exactly the ids of `ids` that a whole diagnose() returns, without searching the pairs outside `ids`.

    Every single mistake is still tried: whether one explains the signature decides whether pairs are
    searched at all. A pair outside `ids` would only be dropped, and searching every pair is most of a whole
    diagnosis's cost (~25 ms against ~1.6 ms here for a member of the fuzzer's pair group, whose triage
    narrows a group's ids this way while it learns). When NOT_HEX is among `ids`, whether it is said
    depends on every pair found, so the whole diagnosis runs."""
    found = diagnose(inputs, app_key, string_to_sign, signature, pairs_among=None if NOT_HEX in ids else ids)
    return ids & frozenset(m.id for m in found)


def _pairs(
    c: FieldsView,
    base: Signing,
    contexts: list[Signing],
    signature: str,
    app_key: str,
    app_id: str,
    joins: bool,
    wanted: list[tuple[str, ...]] | None,
) -> list[Mistake]:
    """The pairs that explain the signature (all of them, or those `wanted`), in catalogue order."""
    want = set(wanted) if wanted is not None else None
    sigs = [m for m in CATALOGUE if m.sign is not None]
    fits = [m for m in sigs if m.shape is None or m.shape.fullmatch(signature)]
    found = []
    # a join mistake, then a signature mistake on that string (only when the signer did not say what it signed)
    if joins:
        for t in (m for m in CATALOGUE if m.text is not None and not m.refused_only):
            if want is not None and not any(w[0] == t.id for w in want):
                continue
            text = attempt(t.text, c)
            if text is None or text == c.baseline:
                continue
            ctx = Signing(text, app_key, app_id=app_id)
            for m in fits:
                if (want is None or (t.id, m.id) in want) and _hits(attempt(m.sign, ctx), signature, ctx.correct):
                    found.append(pair(t.id, m.id))
    # a byte-level mistake, then an output-format one on its digest
    formats = [m for m in fits if m.formats]
    if formats:
        for d in (m for m in sigs if not m.formats):
            if want is not None and not any(w[0] == d.id for w in want):
                continue
            for s in contexts:
                out = attempt(d.sign, s)
                if not isinstance(out, str) or out == s.correct or not _is_hex(out):
                    continue
                ctx = Signing(s.data, s.key, correct=out, app_id=app_id)  # its digest is the mistaken one
                for f in formats:
                    if (want is None or (d.id, f.id) in want) and _hits(attempt(f.sign, ctx), signature, s.correct):
                        found.append(pair(d.id, f.id))
                break
    return found


def _is_hex(s: str) -> bool:
    return len(s) % 2 == 0 and all(ch in "0123456789abcdef" for ch in s)

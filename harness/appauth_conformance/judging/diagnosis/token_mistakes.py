"""What a token can get wrong besides its signature: the nonce, the expiry, the header and the body.

Each id names one broken rule of the documentation (ExpireTime in Unix seconds, 0 means never
expires and is discouraged; a nonce of 32 to 64 characters, new for every signature; the
header `Authorization: HMAC-SHA256 signature=<hex>,access=<base64(appId)>`; a body repeating
the signed fields) and where such code is seen. tokens.py decides which applies; this table
gives them their titles (docs/tokens.md lists them).
"""

from __future__ import annotations

# id -> (title, where such code is seen)
TOKEN_MISTAKES: dict[str, tuple[str, str]] = {
    "nonce-empty": ("no nonce", "a nonce left out of the request"),
    "nonce-too-short": ("a nonce shorter than 32 characters", "uuid4().hex[:16], a short random string"),
    "nonce-too-long": ("a nonce longer than 64 characters", "two UUIDs joined, a token reused as a nonce"),
    "nonce-repeated": (
        "a nonce used before in the run",
        "a fixed nonce, a nonce kept per app or per client instead of made per signature",
    ),
    "token-reused": (
        "the same token (nonce, expiry and signature) handed back for a new request",
        "a client that caches its token until it expires and sends it again",
    ),
    "nonce-repeats-per-process": (
        "a nonce sequence that repeats per process: a new process makes an earlier process's nonces",
        "random.seed(42) / new Random(42) / math/rand unseeded before Go 1.20: the same PRNG seed in every process",
    ),
    "expire-in-milliseconds": ("ExpireTime in milliseconds", "JS Date.now() / Java System.currentTimeMillis()"),
    "expire-in-microseconds": ("ExpireTime in microseconds", "time.time_ns() // 1000, Go UnixMicro()"),
    "expire-not-integer": (
        "ExpireTime sent as a float or a string, not an integer",
        "Python time.time() + ttl, JS Date.now() / 1000, a body field filled with str(expire)",
    ),
    "expire-in-past": ("ExpireTime already past", "now - ttl, a stale clock, a TTL in the wrong unit"),
    "expire-never": (
        "ExpireTime 0: never expires (discouraged)",
        "the documentation's example of a token that never expires",
    ),
    "expire-beyond-window": (
        "ExpireTime further ahead than the allowed window",
        "a TTL in the wrong unit, a year-long token",
    ),
    "header-missing": ("no Authorization header", "the header built elsewhere or under another name"),
    "header-malformed": (
        "the Authorization value is not `HMAC-SHA256 signature=<64 hex digits>,access=<base64(appId)>`",
        "another scheme's layout, a space after the comma, a `;` or quotes around a value, a parameter repeated",
    ),
    "header-access-missing": (
        "no access= in the Authorization header",
        "huaweicloudsdkmeeting before 3.1.167 sent `HMAC-SHA256 signature=<hex>` alone",
    ),
    "header-access-wrong": (
        "access= is not base64 of the AppID",
        "the AppID sent as it is, or base64 of something else",
    ),
    "header-signature-differs": ("the header's signature is not the token's signature", "two signatures computed"),
    "header-token-type": ("X-Token-Type is not LongTicket", "another token type requested"),
    "body-field-missing": ("the body lacks a signed field", "a body built from another request model"),
    "body-field-differs": ("a body field differs from what was signed", "signing one value and sending another"),
    "body-client-type": ("clientType missing or not an integer", "clientType sent as text, or left out"),
    # what only a server sees (the verifying endpoint, docs/endpoint.md)
    "method-not-post": ("the authentication request is not a POST", "GET with a query string, PUT from another API"),
    "content-type-not-json": (
        "Content-Type is not application/json",
        "form encoding by default (curl -d, requests data=)",
    ),
    "header-duplicated": (
        "a header sent more than once",
        "the header set by two layers (a session default and the call)",
    ),
    "body-not-json": ("the body is not UTF-8 JSON", "a form body, a Latin-1 body, a body cut short"),
    "body-not-object": (
        "the body is a JSON array or scalar, not an object",
        "a list of requests, a JSON string of JSON",
    ),
    "body-expire-time-text": (
        "expireTime sent as a JSON string",
        "str(expire) in the body, a string-typed model field",
    ),
    "body-expire-time-float": ("expireTime sent as a JSON float", "time.time() + ttl, a JS number with a fraction"),
    "app-unknown": ("an appId the endpoint does not serve", "the wrong app, or an app not declared to serve"),
}


def token_title(mistake_id: str) -> str | None:
    found = TOKEN_MISTAKES.get(mistake_id)
    return found[0] if found else None

"""The catalogue of known implementation mistakes, one entry per mistake (docs/diagnosis.md).

An entry names the mistake (id, title, where such code is seen) and computes the output the
mistake produces: a `_text` entry a wrong string to sign from the fields (`c`, a FieldsView),
a `_sig` entry a wrong signature from one string to sign and the key (`s`, a Signing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from appauth_conformance.core import scheme
from appauth_conformance.judging.diagnosis.context import FILLED, HEX64, IDS, LAYOUT, FieldsView, Signing, hex_shape
from appauth_conformance.judging.diagnosis.transforms import (
    JAVA_TRIM,
    access_value,
    app_id_last,
    b64_key,
    cesu8,
    charset,
    cut,
    encode_uri_component,
    go_sum_appends,
    hex_key,
    hmac_of_hash,
    if_cesu,
    if_surrogate,
    int32_wrapped,
    iso_expire,
    java_double,
    java_sign_extended,
    java_url_encoder,
    js_number,
    json_body,
    literal_for_empty_ids,
    named_slots,
    nf,
    pair_up,
    query_pairs,
    replace_lone,
    shifted_expire,
    swap,
    uint32_cut,
)

STAGES = ("string_to_sign", "signature")


@dataclass(frozen=True)
class Mistake:
    """One known way to get the signature wrong."""

    id: str  # kebab-case, stable, e.g. "hex-uppercase"
    title: str  # one line for humans: "hex digits in upper case"
    stage: str  # "string_to_sign" or "signature": which output it explains
    origin: str = ""  # where it typically comes from: "C printf %x"
    # internal: the mistaken computation. A string_to_sign entry has `text(FieldsView) -> str | None`;
    # a signature entry has `sign(Signing) -> str | None`. `shape` matches every output of a
    # signature entry (None: anything); `refused_only` marks entries that sign refused input.
    text: Callable[[FieldsView], str | None] | None = field(default=None, repr=False, compare=False)
    sign: Callable[[Signing], str | None] | None = field(default=None, repr=False, compare=False)
    shape: re.Pattern | None = field(default=None, repr=False, compare=False)
    refused_only: bool = field(default=False, repr=False, compare=False)
    # a signature entry that only writes the correct digest another way (hex case, base64, a prefix...):
    # it may follow another mistake in a pair (diagnose() tries "a+b" when no single entry explains)
    formats: bool = field(default=False, repr=False, compare=False)


def _text(id: str, title: str, origin: str, text, refused_only: bool = False) -> Mistake:
    return Mistake(id, title, "string_to_sign", origin, text=text, refused_only=refused_only)


def _sig(id: str, title: str, origin: str, sign, shape: str | re.Pattern | None = HEX64) -> Mistake:
    return Mistake(
        id, title, "signature", origin, sign=sign, shape=re.compile(shape) if isinstance(shape, str) else shape
    )


def _fmt(id: str, title: str, origin: str, sign, shape: str | re.Pattern | None) -> Mistake:
    """A signature entry that writes the digest another way (`s.digest`, and `s.app_id` at most)."""
    m = _sig(id, title, origin, sign, shape)
    return Mistake(m.id, m.title, m.stage, m.origin, sign=m.sign, shape=m.shape, formats=True)


# fmt: off
CATALOGUE: tuple[Mistake, ...] = (
    # --- the string to sign: separator -------------------------------------------------------
    _text("separator-pipe", "fields joined with '|' instead of ':'", "copied from another signing scheme",
          lambda c: c.join("|")),
    _text("separator-comma", "fields joined with ',' instead of ':'", "String.join(\",\", ...) / CSV habit",
          lambda c: c.join(",")),
    _text("separator-semicolon", "fields joined with ';' instead of ':'", "copied from another signing scheme",
          lambda c: c.join(";")),
    _text("separator-empty", "fields concatenated with no separator", "StringBuilder.append without the ':'",
          lambda c: c.join("")),
    _text("separator-ampersand", "fields joined with '&' instead of ':'", "query-string style signing (OAuth habit)",
          lambda c: c.join("&")),
    _text("separator-newline", "fields joined with '\\n' instead of ':'", "canonical-request style (AWS SigV4 habit)",
          lambda c: c.join("\n")),
    _text("separator-space", "fields joined with ' ' instead of ':'", "' '.join / printf(\"%s %s\")",
          lambda c: c.join(" ")),
    # --- the string to sign: which slots ----------------------------------------------------
    _text("empty-fields-skipped", "empty fields left out together with their colon",
          "join over non-empty values (filter(None, ...), StringUtils.join skipping blanks)",
          lambda c: c.join(skip_empty=True)),
    _text("uncarried-slots-dropped",
          "slots the mode leaves empty dropped (AppID:CorpID:ExpireTime:Nonce for sp_corp_admin, "
          "AppID:ExpireTime:Nonce for sp_admin)",
          "building the list from the fields the mode uses",
          lambda c: c.join(slots=[n for n in c.layout if n in FILLED[c.mode]])),
    _text("corp-slot-in-single", "CorpID slot included in single mode (AppID:CorpID:UserID:...)",
          "one five-slot template for every mode",
          lambda c: c.join(slots=LAYOUT[scheme.Mode.SP_USER], raw=True) if c.mode is scheme.Mode.SINGLE else None),
    _text("corp-slot-omitted", "CorpID slot left out in a service-provider mode",
          "single-enterprise template reused for SP apps",
          lambda c: c.join(slots=[n for n in c.layout if n != "corp_id"]) if c.mode is not scheme.Mode.SINGLE else None),
    _text("uncarried-field-signed", "a corp_id/user_id the mode does not sign signed in its slot anyway",
          "one template for every mode, filled with every id given (the vendor SDK in multi-tenant mode)",
          lambda c: c.join(raw=True) if c.mode is not scheme.Mode.SINGLE else None),
    _text("expire-unchecked", "a negative or non-integer expire time signed as given (not refused)",
          "no input validation on ExpireTime",
          lambda c: c.baseline if c.refused and (isinstance(c.f.expire_time, bool)
                                                 or not isinstance(c.f.expire_time, int)
                                                 or c.f.expire_time < 0) else None,
          refused_only=True),
    # --- the string to sign: order ----------------------------------------------------------
    _text("user-before-corp", "UserID before CorpID", "fields in the order of another API's body",
          swap("corp_id", "user_id")),
    _text("nonce-before-expire", "Nonce before ExpireTime", "fields in alphabetical or body order",
          swap("expire_time", "nonce")),
    _text("app-id-last", "AppID last instead of first", "fields in the order of another API's body",
          app_id_last),
    _text("fields-reversed", "fields in reverse order", "list built by prepending",
          lambda c: c.join(slots=c.layout[::-1])),
    # --- the string to sign: expire time ------------------------------------------------------
    _text("expire-milliseconds", "ExpireTime in milliseconds (x1000)", "JS Date.now() / Java currentTimeMillis()",
          lambda c: c.join(exp=lambda t: str(t * 1000))),
    _text("expire-float", "ExpireTime as a float string (\"1604020600.0\")", "Python time.time() + ttl, str(float)",
          lambda c: c.join(exp=lambda t: repr(float(t)))),
    _text("expire-java-double", "ExpireTime as a Java double (\"1.6040206E9\")", "Java String.valueOf(double)",
          lambda c: c.join(exp=java_double)),
    _text("expire-js-number", "ExpireTime rounded through a float64 (2^63-1 becomes 9223372036854776000)",
          "JavaScript Number / JSON.parse of a big integer",
          lambda c: c.join(exp=js_number) if js_number(c.f.expire_time) else None),
    # --- the string to sign: text -------------------------------------------------------------
    _text("nul-truncates-data", "string to sign cut at the first NUL", "C strlen() on the data",
          lambda c: cut(c.baseline)),
    _text("fields-stripped", "Unicode whitespace stripped from each field", "Python str.strip() / Java strip()",
          lambda c: c.join(each=str.strip)),
    _text("fields-java-trimmed", "chars <= U+0020 (NUL too) trimmed from each field", "Java String.trim()",
          lambda c: c.join(each=lambda v: v.strip(JAVA_TRIM))),
    _text("string-stripped", "whitespace stripped from the whole string to sign", "strip() on the joined string / a line reader",
          lambda c: c.baseline.strip()),
    _text("fields-nfc", "fields NFC-normalised", "input layer normalising text (browsers, databases)",
          lambda c: c.join(each=nf("NFC"))),
    _text("fields-nfd", "fields NFD-normalised", "macOS file names / HFS+ input",
          lambda c: c.join(each=nf("NFD"))),
    _text("fields-nfkc", "fields NFKC-normalised", "identifier normalisation (Python identifiers, IDNA-like code)",
          lambda c: c.join(each=nf("NFKC"))),
    _text("ids-lowercased", "AppID/CorpID/UserID lower-cased", "case-insensitive id handling",
          lambda c: c.join(each=str.lower, only=IDS)),
    _text("fields-url-encoded", "each field percent-encoded (RFC 3986)", "Python urllib.parse.quote(safe='')",
          lambda c: c.join(each=lambda v: urllib.parse.quote(v, safe=""))),
    _text("fields-uri-component", "each field encodeURIComponent-encoded", "JavaScript encodeURIComponent",
          lambda c: c.join(each=encode_uri_component)),
    _text("fields-form-encoded", "each field form-encoded (space as '+')", "Java URLEncoder.encode",
          lambda c: c.join(each=java_url_encoder)),
    _text("string-url-encoded", "the whole string to sign percent-encoded", "URL-encoding the joined string",
          lambda c: urllib.parse.quote(c.baseline, safe="")),
    _text("app-id-base64", "AppID base64-encoded (as in the access= header)", "reusing the Authorization header's access value",
          lambda c: c.join(each=lambda v: base64.b64encode(v.encode("utf-8")).decode("ascii"), only=("app_id",))),
    _text("trailing-newline", "'\\n' appended to the string to sign", "echo without -n | openssl dgst; println",
          lambda c: c.baseline + "\n"),
    _text("trailing-crlf", "'\\r\\n' appended to the string to sign", "Windows line ending from a writer",
          lambda c: c.baseline + "\r\n"),
    _text("trailing-colon", "':' appended to the string to sign", "a loop writing field + ':' for every field",
          lambda c: c.baseline + ":"),
    # --- the string to sign: other schemes' habits (docs/diagnosis.md has where each is seen) ---------
    _text("null-literal-field", "an empty CorpID/UserID signed as \"null\"",
          "Java + / StringBuilder.append(null) / JS \"\" + null on a missing id (the Java SDK guards against it)",
          literal_for_empty_ids("null")),
    _text("none-literal-field", "an empty CorpID/UserID signed as \"None\"",
          "a Python f-string or str() of a missing id (the Python SDK guards against it)",
          literal_for_empty_ids("None")),
    _text("undefined-literal-field", "an empty CorpID/UserID signed as \"undefined\"",
          "a JS template literal with an absent property (flickr-sdk#129, pusher-http-node#2)",
          literal_for_empty_ids("undefined")),
    _text("json-body-signed", "the request body's fields signed as compact JSON",
          "signing JSON.stringify(body) instead of the colon string (webhook and event-push habits)",
          json_body),
    _text("query-string-pairs", "name=value pairs sorted by name, joined by '&'",
          "WeChat Pay / Alibaba Cloud RPC / OAuth 1.0 parameter signing",
          query_pairs),
    _text("fields-sorted-by-name", "the values ordered by field name (appId, corpId, expireTime, nonce, userId)",
          "\"sort the parameters by name\" from other signing schemes, kept with ':'",
          lambda c: ":".join(v for _, v in sorted(named_slots(c)))),
    _text("values-sorted", "the values themselves sorted", "WeChat server-URL check (sort token, timestamp, nonce)",
          lambda c: ":".join(sorted(c.value(n) for n in c.layout))),
    _text("expire-tz-minus-8h", "ExpireTime 8 hours early (UTC+8 local time taken for UTC)",
          "Python datetime.utcnow().timestamp() / a naive datetime in China Standard Time",
          lambda c: c.join(exp=shifted_expire(-8 * 3600))),
    _text("expire-tz-plus-8h", "ExpireTime 8 hours late (UTC taken for UTC+8 local time)",
          "a naive datetime converted as if local (mktime on UTC fields) in UTC+8",
          lambda c: c.join(exp=shifted_expire(8 * 3600))),
    _text("expire-iso8601-basic", "ExpireTime as YYYYMMDDTHHMMSSZ", "Huawei APIG X-Sdk-Date / AWS x-amz-date habit",
          lambda c: c.join(exp=iso_expire("%Y%m%dT%H%M%SZ"))),
    _text("expire-iso8601", "ExpireTime as an ISO 8601 date (JS toISOString)", "Date.toISOString() / Alibaba Timestamp",
          lambda c: c.join(exp=iso_expire("%Y-%m-%dT%H:%M:%S.000Z"))),
    _text("expire-int32-wrap", "ExpireTime held in a signed 32-bit integer: from 2^31 it wraps negative",
          "Java (int) of a long, C int32_t / time_t on a 32-bit platform, Go int32(t) (the year-2038 problem)",
          lambda c: c.join(exp=int32_wrapped) if int32_wrapped(c.f.expire_time) else None),
    _text("expire-uint32-truncated", "ExpireTime held in an unsigned 32-bit integer: only its low 32 bits kept",
          "C uint32_t, Go uint32(t), a 4-byte field in a binary format (the year-2106 problem)",
          lambda c: c.join(exp=uint32_cut) if uint32_cut(c.f.expire_time) else None),
    _text("string-json-quoted", "the string to sign JSON-quoted again", "JSON.stringify of an already serialised string (workos-node#1578)",
          lambda c: json.dumps(c.baseline, ensure_ascii=False)),
    # --- the signature: output format -------------------------------------------------------
    _fmt("hex-uppercase", "hex digits in upper case", "Java DatatypeConverter.printHexBinary, C printf %02X",
         lambda s: s.digest.hex().upper(), shape="[0-9A-F]{64}"),
    _fmt("hex-unpadded", "bytes below 0x10 written as one hex digit", "C printf %x instead of %02x, Integer.toHexString(b & 0xff)",
         lambda s: "".join(f"{b:x}" for b in s.digest), shape="[0-9a-f]{32,63}"),
    _fmt("hex-java-sign-extended", "bytes >= 0x80 sign-extended to 'ffffff..', no padding", "Java Integer.toHexString(b) on a signed byte",
         lambda s: java_sign_extended(s.digest), shape="[0-9a-f]{32,256}"),
    _fmt("hex-bigint-unpadded", "leading zero hex digits dropped", "Java new BigInteger(1, digest).toString(16)",
         lambda s: format(int.from_bytes(s.digest, "big"), "x"), shape="[0-9a-f]{1,63}"),
    _fmt("hex-truncated-128", "only the first 32 hex digits", "a char[33] buffer / HMAC truncation to 128 bits",
         lambda s: s.digest.hex()[:32], shape=hex_shape(32)),
    _fmt("hex-truncated", "the hex signature cut short (a prefix of it, other than the first 32 digits)",
         "a fixed-size buffer, substring(0, n) or a column too narrow for 64 characters",
         lambda s: tuple(s.digest.hex()[:n] for n in range(1, 64) if n != 32), shape="[0-9a-f]{1,63}"),
    _sig("signature-not-hex", "a signature that is not 64 hex characters, and no known mistake makes it",
         "a placeholder, an error text or another encoding returned as the signature ('not-hex!')",
         lambda s: None, shape=None),
    _fmt("base64", "standard base64 of the digest instead of hex", "Base64.getEncoder() / CryptoJS.enc.Base64",
         lambda s: base64.b64encode(s.digest).decode("ascii"), shape="[A-Za-z0-9+/]{43}="),
    _fmt("base64url", "base64url of the digest instead of hex", "Base64.getUrlEncoder() / urlsafe_b64encode",
         lambda s: base64.urlsafe_b64encode(s.digest).decode("ascii"), shape="[A-Za-z0-9_-]{43}="),
    _fmt("base64url-unpadded", "unpadded base64url of the digest instead of hex", "JWT-style encoders, Node digest('base64url')",
         lambda s: base64.urlsafe_b64encode(s.digest).decode("ascii").rstrip("="), shape="[A-Za-z0-9_-]{43}"),
    _fmt("base64-of-hex", "base64 of the hex text", "btoa(hex) / Base64 of the hex string's bytes",
         lambda s: base64.b64encode(s.digest.hex().encode("ascii")).decode("ascii"), shape="[A-Za-z0-9+/]{86}=="),
    _fmt("raw-digest-latin1", "raw digest bytes as Latin-1 text", "Python digest().decode('latin-1'), PHP hash_hmac(..., true)",
         lambda s: s.digest.decode("latin-1"), shape=None),
    _fmt("raw-digest-utf8", "raw digest bytes decoded as UTF-8 (U+FFFD for invalid bytes)", "Java new String(mac.doFinal(...))",
         lambda s: s.digest.decode("utf-8", "replace"), shape=None),
    _fmt("hex-dotnet-dashed", "hex bytes separated by '-' (upper case)", ".NET BitConverter.ToString without .Replace(\"-\", \"\")",
         lambda s: "-".join(f"{b:02X}" for b in s.digest), shape="([0-9A-F]{2}-){31}[0-9A-F]{2}"),
    _fmt("hex-colon-separated", "hex bytes separated by ':'", "openssl dgst -c, HexFormat.ofDelimiter(\":\")",
         lambda s: ":".join(f"{b:02x}" for b in s.digest), shape="([0-9a-f]{2}:){31}[0-9a-f]{2}"),
    _fmt("hex-0x-prefixed", "hex with a 0x prefix", "ethers computeHmac, Go %#x",
         lambda s: "0x" + s.digest.hex(), shape="0x[0-9a-f]{64}"),
    _fmt("signature-scheme-prefix", "hex with a sha256= prefix", "GitHub X-Hub-Signature-256 style",
         lambda s: "sha256=" + s.digest.hex(), shape="sha256=[0-9a-f]{64}"),
    _fmt("signature-bytes-repr", "hex as a Python bytes repr (b'...')", "str(hexlify(digest)) in Python 3 (gsutil#619, wheel#31)",
         lambda s: f"b'{s.digest.hex()}'", shape="b'[0-9a-f]{64}'"),
    _fmt("openssl-stdin-prefix", "the whole openssl dgst line (\"SHA2-256(stdin)= ...\")", "echo ... | openssl dgst -sha256 -hmac KEY, output not cut",
         lambda s: (f"SHA2-256(stdin)= {s.digest.hex()}", f"(stdin)= {s.digest.hex()}", f"{s.digest.hex()} *stdin"),
         shape="(\\S*\\(stdin\\)= [0-9a-f]{64}|[0-9a-f]{64} \\*stdin)"),
    _fmt("base64-trailing-newline", "base64 of the digest with a line break", "Android Base64.DEFAULT, base64.encodebytes, Ruby encode64",
         lambda s: (base64.encodebytes(s.digest).decode("ascii"), base64.b64encode(s.digest).decode("ascii") + "\r\n"),
         shape="[A-Za-z0-9+/]{43}=\r?\n"),
    _fmt("base64-percent-encoded", "base64 of the digest, percent-encoded", "Alibaba Cloud Signature=...%3D habit",
         lambda s: urllib.parse.quote(base64.b64encode(s.digest).decode("ascii"), safe=""), shape="[A-Za-z0-9%]{44,}"),
    _fmt("signature-full-header", "the whole Authorization value given as the signature", "HMAC-SHA256 signature=...,access=... built by the SDK",
         lambda s: (f"HMAC-SHA256 signature={s.digest.hex()},access={access_value(s.app_id)}",
                    f"HMAC-SHA256 signature={s.digest.hex()}"),
         shape="HMAC-SHA256 signature=[0-9a-f]{64}(,access=[A-Za-z0-9+/=]*)?"),
    _fmt("signature-appid-prefix", "AppID:hex (Pusher-style auth value)", "Pusher private-channel auth \"key:signature\"",
         lambda s: f"{s.app_id}:{s.digest.hex()}", shape=None),
    _sig("empty-signature", "an empty signature", "a swallowed exception returning \"\" (an Android HWMHelp helper; Stack Overflow 35252367)",
         lambda s: "", shape=""),
    _sig("signature-null-literal", "the text \"null\" for a signature", "the Java SDK's HmacSHA256.encode returns null on an exception",
         lambda s: ("null", "nil", "<nil>"), shape="null|nil|<nil>"),
    _sig("signature-none-literal", "the text \"None\" for a signature", "a Python signer returning None, formatted",
         lambda s: "None", shape="None"),
    _sig("signature-undefined-literal", "the text \"undefined\" for a signature", "a JS signer returning undefined, concatenated",
         lambda s: "undefined", shape="undefined"),
    # --- the signature: key --------------------------------------------------------------------
    _sig("key-data-swapped", "key and data swapped", "hmac(data, key) argument order (CryptoJS.HmacSHA256(message, key))",
         lambda s: s.resign(data=s.key, key=s.data)),
    _sig("nul-truncates-key", "key cut at the first NUL", "C strlen() on the key (OpenSSL HMAC_Init + strlen)",
         lambda s: s.resign(key=cut(s.key))),
    _sig("nul-truncates-both", "key and data each cut at the first NUL", "C strlen() on both (the C++ reference snippet)",
         lambda s: s.resign(data=cut(s.data), key=cut(s.key))),
    _sig("key-stripped", "Unicode whitespace stripped from the key", "Python str.strip() / Java strip() on config input",
         lambda s: s.resign(key=s.key.strip())),
    _sig("key-java-trimmed", "chars <= U+0020 (NUL too) trimmed from the key", "Java String.trim() on the key",
         lambda s: s.resign(key=s.key.strip(JAVA_TRIM))),
    _sig("key-nfc", "key NFC-normalised", "input layer normalising text",
         lambda s: s.resign(key=nf("NFC")(s.key))),
    _sig("key-nfd", "key NFD-normalised", "macOS text input / file names",
         lambda s: s.resign(key=nf("NFD")(s.key))),
    _sig("nfc-everywhere", "key and string to sign NFC-normalised", "normalising every input",
         lambda s: s.resign(data=nf("NFC")(s.data), key=nf("NFC")(s.key))),
    _sig("nfd-everywhere", "key and string to sign NFD-normalised", "macOS text input for every value",
         lambda s: s.resign(data=nf("NFD")(s.data), key=nf("NFD")(s.key))),
    _sig("key-hex-decoded", "key hex-decoded to bytes (it looked like hex)", "treating a hex-looking appKey as binary (AWS/Stripe habit)",
         hex_key),
    _sig("key-base64-decoded", "key base64-decoded to bytes (it was valid base64)", "treating the appKey as a base64 secret",
         b64_key(urlsafe=False)),
    _sig("key-base64url-decoded", "key base64url-decoded to bytes", "treating the appKey as a base64url secret (JWK habit)",
         b64_key(urlsafe=True)),
    _sig("key-trailing-newline", "a line break after the key", "the appKey read from a file or env var with its \"\\n\" (heripo-engine#47)",
         lambda s: (s.resign(key=s.key + "\n"), s.resign(key=s.key + "\r\n"))),
    _sig("key-ampersand-suffix", "'&' appended to the key", "OAuth 1.0 / Alibaba key derivation: secret + \"&\"",
         lambda s: s.resign(key=s.key + "&")),
    _sig("key-empty", "an empty key", "a missing appKey setting: os.getenv(\"APP_KEY\", \"\") (node-bigcommerce#10)",
         lambda s: s.resign(key="")),
    _sig("key-undefined-literal", "the key \"undefined\" (or \"None\", \"null\")", "process.env.KEY read before it was set (a literal \"undefined\")",
         lambda s: (s.resign(key="undefined"), s.resign(key="None"), s.resign(key="null"))),
    _sig("key-sha256-prehashed", "the key's SHA-256 used as the HMAC key", "hashing the secret first (recurly-client-python#10)",
         lambda s: s.with_key(hashlib.sha256(s.key_utf8).digest()) if s.key_utf8 is not None else None),
    _sig("key-appended-to-data", "\"&key=\" + key appended to the data", "WeChat Pay v2: stringA + \"&key=...\" then HMAC",
         lambda s: s.resign(data=s.data + "&key=" + s.key)),
    # --- the signature: text encoding ---------------------------------------------------------
    _sig("latin1-replace", "text encoded as Latin-1, '?' for what it cannot hold", "Java getBytes(ISO_8859_1), Python encode('latin-1', 'replace')",
         charset(lambda t: t.encode("latin-1", "replace"))),
    _sig("cp1252-replace", "text encoded as Windows-1252, '?' for what it cannot hold", "Java getBytes() with the Windows default charset",
         charset(lambda t: t.encode("cp1252", "replace"))),
    _sig("ascii-replace", "text encoded as ASCII, '?' for what it cannot hold", "Java getBytes(US_ASCII), encode('ascii', 'replace')",
         charset(lambda t: t.encode("ascii", "replace"))),
    _sig("utf16le", "text encoded as UTF-16LE", "C# Encoding.Unicode, Windows wchar_t buffers",
         lambda s: s.rebytes(lambda t: t.encode("utf-16-le", "surrogatepass"))),
    _sig("utf16be", "text encoded as UTF-16BE", "Java getBytes(UTF_16BE), JS string code units as bytes",
         lambda s: s.rebytes(lambda t: t.encode("utf-16-be", "surrogatepass"))),
    _sig("utf16-bom", "text encoded as UTF-16 with a byte-order mark", "Java getBytes(\"UTF-16\") (BE with FE FF)",
         lambda s: s.rebytes(lambda t: b"\xfe\xff" + t.encode("utf-16-be", "surrogatepass"))),
    _sig("double-utf8", "text UTF-8 encoded twice (mojibake)", "UTF-8 bytes decoded as Latin-1 then encoded again",
         charset(lambda t: t.encode("utf-8").decode("latin-1").encode("utf-8"))),
    _sig("surrogate-question-mark", "lone surrogate replaced by '?'", "Java String.getBytes(UTF_8) on a lone surrogate",
         if_surrogate(lambda t: replace_lone(t, "?").encode("utf-8"))),
    _sig("surrogate-replacement-char", "lone surrogate replaced by U+FFFD", "JS TextEncoder, Node Buffer.from, Go, Rust from_utf16_lossy",
         if_surrogate(lambda t: replace_lone(t, "\ufffd").encode("utf-8"))),
    _sig("surrogate-dropped", "lone surrogate dropped", "encode(errors='ignore'), iconv //IGNORE",
         if_surrogate(lambda t: replace_lone(t, "").encode("utf-8"))),
    _sig("surrogate-wtf8", "lone surrogate encoded as its 3-byte form (WTF-8)", "Python surrogatepass, Rust OsStr on Windows",
         if_surrogate(lambda t: pair_up(t).encode("utf-8", "surrogatepass"))),
    _sig("cesu8", "text encoded as CESU-8 (surrogates as 3-byte units)", "Oracle/MySQL utf8 (CESU-8), JNI GetStringUTFChars",
         if_cesu(cesu8)),
    _sig("modified-utf8", "text encoded as Java modified UTF-8 (CESU-8, NUL as C0 80)", "Java DataOutputStream.writeUTF, JNI NewStringUTF",
         if_cesu(lambda t: cesu8(t).replace(b"\0", b"\xc0\x80"), nul=True)),
    # --- the signature: algorithm ---------------------------------------------------------------
    _sig("hmac-sha1", "HMAC-SHA1 instead of HMAC-SHA256", "HmacSHA1 / hashlib.sha1 (older signing schemes)",
         lambda s: s.mac("sha1"), shape=hex_shape(40)),
    _sig("hmac-sha224", "HMAC-SHA224 instead of HMAC-SHA256", "picking the wrong SHA-2 variant",
         lambda s: s.mac("sha224"), shape=hex_shape(56)),
    _sig("hmac-sha384", "HMAC-SHA384 instead of HMAC-SHA256", "picking the wrong SHA-2 variant",
         lambda s: s.mac("sha384"), shape=hex_shape(96)),
    _sig("hmac-sha512", "HMAC-SHA512 instead of HMAC-SHA256", "picking the wrong SHA-2 variant",
         lambda s: s.mac("sha512"), shape=hex_shape(128)),
    _sig("hmac-sha512-truncated", "HMAC-SHA512 cut to 64 hex digits", "SHA-512 with a 64-char output buffer",
         lambda s: s.mac("sha512")[:64]),
    _sig("hmac-md5", "HMAC-MD5 instead of HMAC-SHA256", "hmac.new(key, msg) with Python 2's default digestmod",
         lambda s: s.mac("md5"), shape=hex_shape(32)),
    _sig("hmac-sha3-256", "HMAC-SHA3-256 instead of HMAC-SHA256", "confusing SHA3-256 with SHA-256",
         lambda s: s.mac("sha3_256")),
    _sig("hmac-of-sha256-hex", "HMAC over the hex SHA-256 of the string", "Huawei APIG / AWS SigV4 habit: hash the canonical request first",
         hmac_of_hash),
    _sig("go-sum-appends", "the data's bytes followed by the MAC of nothing", "Go mac.Sum(data) instead of Write(data); Sum(nil) (fireauth#6)",
         go_sum_appends, shape="[0-9a-f]{66,}"),
    _sig("hmac-last-field-only", "only the nonce (the last field) authenticated", "an incremental HMAC wrapper whose update() replaces its state",
         lambda s: s.resign(data=s.data.rsplit(":", 1)[-1])),
    _sig("sha256-key-data", "plain SHA-256 of key + data, no HMAC", "home-made MAC: sha256(key + data)",
         lambda s: s.plain("key", "data")),
    _sig("sha256-data-key", "plain SHA-256 of data + key, no HMAC", "home-made MAC: sha256(data + key)",
         lambda s: s.plain("data", "key")),
    _sig("sha256-data", "plain SHA-256 of the data, key unused", "sha256(data) where HMAC was meant",
         lambda s: s.plain("data")),
)

BY_ID: dict[str, Mistake] = {m.id: m for m in CATALOGUE}
assert len(BY_ID) == len(CATALOGUE), "mistake ids must be unique"
# fmt: on

"""One HTTP request to the App ID authentication path, judged: the same checks as the runner
protocol's `token` op (tokens.Judge, the diagnosis catalogue), plus what only a server sees (a
whole token or a nonce seen before in this serve session, across client processes and, with a
state file, across serve runs; JSON types unlike the reference's; Content-Type and method; a
repeated header), and the answer the service would give (docs/endpoint.md).

The key of an app is used to judge and never leaves this module: the recorded request carries
`***` in its place, and no answer or detail is built from it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from appauth_conformance.core import scheme, untrusted
from appauth_conformance.core.model import Check, Judgement, Stage, TokenOutcome, TokenRequest, TokenResult, Verdict
from appauth_conformance.endpoint.apps import App
from appauth_conformance.endpoint.memory import Memory
from appauth_conformance.endpoint.spool import Spool
from appauth_conformance.judging import tokens
from appauth_conformance.judging.diagnosis import title

BODY_TIMEOUT = 10.0  # seconds a request head or body may take to arrive (serve --body-timeout)

PATH = "/v2/usg/acs/auth/appauth"
ISSUED_LIMIT = 10_000  # tokens kept for validate/refresh/logout: an older one is answered as unknown
TOKEN_VALIDITY = 24 * 3600  # the documentation: a token is valid for 12 to 24 hours
# mistakes the service is not known to refuse (it binds JSON with the usual coercions, takes a far or a
# never-expiring expiry, and older SDKs' headers without access=): by default the answer is a token, the
# verdict still fails; --strict refuses these too
SERVICE_ACCEPTS = frozenset(
    {
        "hex-uppercase",  # the vendor's own Python SDK signs so, and logs in against the service
        "body-expire-time-text",
        "body-expire-time-float",
        "body-client-type",
        "expire-beyond-window",
        "expire-never",
        "header-access-missing",
        "header-token-type",
        "content-type-not-json",
    }
)
JSON_TYPES = {list: "array", str: "string", bool: "boolean", type(None): "null"}  # else a number (int, float)
STATUS = {  # the documented status for a refusal, by the stage that refused
    Stage.TOKEN_SIGNATURE: 401,
    Stage.TOKEN_HEADER: 401,
    Stage.TOKEN_NONCE: 400,
    Stage.TOKEN_NONCE_REUSED: 401,
    Stage.TOKEN_EXPIRY: 401,
    Stage.TOKEN_BODY: 400,
}


def token_answer(user: dict[str, Any], client_type: Any = 72) -> dict[str, Any]:
    """A new token's answer, as the reference's token response table has it ("Updating a Token",
    meeting_21_0307, the same fields as the SDK's response model): creation times in milliseconds,
    expiry times in seconds, validity periods in seconds; the account flags a client may read, false."""
    now = time.time()
    return {
        "accessToken": "cnr" + secrets.token_hex(24),
        "tokenType": 0,
        "clientType": client_type if type(client_type) is int else 72,  # not a bool (JSON true)
        "validPeriod": TOKEN_VALIDITY,
        "createTime": int(now * 1000),
        "expireTime": int(now) + TOKEN_VALIDITY,
        "refreshToken": "rfr" + secrets.token_hex(24),
        "refreshValidPeriod": TOKEN_VALIDITY,
        "refreshCreateTime": int(now * 1000),
        "refreshExpireTime": int(now) + TOKEN_VALIDITY,
        "firstLogin": False,
        "pwdExpired": False,
        "delayDelete": False,
        "forceLoginInd": 0,
        "user": user,
    }


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    result: TokenResult | None = None  # None: not a judged request (a follow-up call, an unknown path)


@dataclass
class Endpoint:
    """Judges requests, answers them, keeps the judged results in arrival order."""

    apps: dict[str, App]
    judge: tokens.Judge
    memory: Memory
    runner: str
    strict: bool = False
    results: Spool = field(default_factory=Spool)  # on disk: a long session's memory stays flat
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)  # accessToken -> its token answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0

    def handle(self, method: str, headers: list[tuple[str, str]], body: bytes, peer: str = "") -> Answer:
        """A request to PATH: judged and recorded, answered as the service would (or refused, --strict)."""
        with self.lock:
            self._seq += 1
            seq = self._seq
        where = f"request {seq} ({method} {PATH}{' from ' + peer if peer else ''})"
        h = _Headers(headers)
        if method != "POST":
            return self._unjudged(
                seq, where, 405, Stage.TOKEN_HEADER, "method-not-post", f"method {method}, not POST", {}
            )
        try:
            doc = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return self._unjudged(seq, where, 400, Stage.TOKEN_BODY, "body-not-json", "the body is not UTF-8", {})
        except ValueError as e:
            return self._unjudged(seq, where, 400, Stage.TOKEN_BODY, "body-not-json", f"the body is not JSON ({e})", {})
        if not isinstance(doc, dict):
            what = JSON_TYPES.get(type(doc), "number")
            return self._unjudged(
                seq, where, 400, Stage.TOKEN_BODY, "body-not-object", f"the body is a JSON {what}", {}
            )
        app = self.apps.get(_text(doc, "appId"))
        if app is None:
            detail = (
                f"appId {str(doc.get('appId'))[:80]!r} is not one of the apps served ({', '.join(sorted(self.apps))})"
            )
            return self._unjudged(seq, where, 401, Stage.TOKEN_BODY, "app-unknown", detail, doc)
        extra: list[tuple[Stage, tuple[str, ...], str]] = []
        ctype = h.get("content-type") or ""
        if ctype.split(";")[0].strip().lower() != "application/json":
            extra.append((Stage.TOKEN_HEADER, ("content-type-not-json",), f"Content-Type {ctype[:80]!r}"))
        repeated = [n for n in ("authorization", "content-type", "x-token-type") if n in h.first and h.count(n) > 1]
        if repeated:
            extra.append((Stage.TOKEN_HEADER, ("header-duplicated",), f"sent more than once: {', '.join(repeated)}"))
        body_seen, expire = dict(doc), doc.get("expireTime")
        if isinstance(expire, str) and (whole := _digits(expire)) is not None:
            extra.append((Stage.TOKEN_BODY, ("body-expire-time-text",), f"expireTime {expire[:40]!r} is text"))
            body_seen["expireTime"] = expire = whole
        elif isinstance(expire, float) and math.isfinite(expire):  # its whole seconds, as the tokens op takes them
            extra.append((Stage.TOKEN_BODY, ("body-expire-time-float",), f"expireTime {expire!r} is a float"))
            body_seen["expireTime"] = expire = int(expire)
        corp, user = _text(doc, "corpId"), _text(doc, "userId")
        mode = app.mode(corp, user)
        carried = scheme.CARRIES[scheme.Mode(mode)]
        request = TokenRequest(
            f"{seq:06d}",
            "endpoint",
            seq,
            where,
            mode,
            app.app_id,
            corp if "corp_id" in carried else "",
            user if "user_id" in carried else "",
            app.key,
            (),
        )
        m = tokens.HEADER.fullmatch(h.get("authorization") or "")
        signature = m.group(1) if m else None
        nonce = doc.get("nonce")
        if not isinstance(nonce, str) or type(expire) is not int or signature is None:
            missing = (
                "text nonce"
                if not isinstance(nonce, str)
                else "integer expireTime"
                if type(expire) is not int
                else "Authorization header of the documented shape"
            )
            stage = (
                Stage.TOKEN_HEADER
                if signature is None and isinstance(nonce, str) and type(expire) is int
                else Stage.TOKEN_BODY
            )
            diag = (
                "header-missing"
                if h.get("authorization") is None and stage is Stage.TOKEN_HEADER
                else "header-malformed"
                if stage is Stage.TOKEN_HEADER
                else "body-field-missing"
            )
            return self._unjudged(seq, where, STATUS[stage], stage, diag, f"the request has no {missing}", doc, request)
        outcome = TokenOutcome(request, self.runner, nonce, expire, signature, None, dict(h.first), body_seen)
        result = self.judge.judge(outcome, tuple(extra))
        return self._answer(result, app, body_seen)

    def _answer(self, result: TokenResult, app: App, doc: dict[str, Any]) -> Answer:
        failing = [c for c in result.checks if c.verdict is Verdict.FAIL]
        kept = self._keep(result)
        refuse = [c for c in failing if self.strict or not set(c.diagnosis) <= SERVICE_ACCEPTS or not c.diagnosis]
        want = expected(app, doc) if failing else None
        if refuse:
            return Answer(
                STATUS[refuse[0].stage], _error(kept, refuse[0], want), kept
            )  # every token stage has its status
        o = result.outcome
        user = {"appId": app.app_id, "corpId": o.request.corp_id, "userId": o.request.user_id}
        body = token_answer(user, doc.get("clientType"))
        token = body["accessToken"]
        if failing:  # accepted as the service would, judged all the same
            body["appauth_conformance"] = _verdict(kept, failing[0], want)
        self.issue(token, body)
        return Answer(200, body, kept)

    def issue(self, token: str, body: dict[str, Any]) -> None:
        """Remembers a token answer for the follow-up calls: the latest ISSUED_LIMIT of them (memory stays bounded)."""
        with self.lock:
            self.issued[token] = body
            if len(self.issued) > ISSUED_LIMIT:
                del self.issued[next(iter(self.issued))]  # the oldest (a dict keeps insertion order)

    def _unjudged(
        self,
        seq: int,
        where: str,
        status: int,
        stage: Stage,
        diag: str,
        detail: str,
        doc: dict,
        request: TokenRequest | None = None,
    ) -> Answer:
        """A request the token checks cannot read (wrong method, not JSON, unknown app, no signature): a fail."""
        if request is None:
            request = TokenRequest(
                f"{seq:06d}", "endpoint", seq, where, "single", _text(doc, "appId")[:200], "", "", "", ()
            )
        check = Check(stage, Verdict.FAIL, (diag,), detail)
        result = TokenResult(TokenOutcome(request, self.runner), Judgement(Verdict.FAIL, stage, reason=detail), [check])
        kept = self._keep(result)
        return Answer(status, _error(kept, check), kept)

    def _keep(self, result: TokenResult) -> TokenResult:
        """The result as recorded: the app's key replaced (it is never written anywhere)."""
        o = result.outcome
        kept = dataclasses.replace(
            result, outcome=dataclasses.replace(o, request=dataclasses.replace(o.request, app_key="***"))
        )
        with self.lock:
            self.results.append(kept)
        return kept


def _digits(value: Any) -> int | None:
    """An expireTime sent as text of decimal digits, as the integer it stands for (None for any other value).
    ASCII digits only, and few enough for a Long: int() refuses other Unicode digits ('²') and very long text."""
    return untrusted.decimal(value.strip()) if isinstance(value, str) else None


def _text(doc: dict[str, Any], name: str) -> str:
    """A body field that should be text ("" where it is absent or not text)."""
    value = doc.get(name)
    return value if isinstance(value, str) else ""


class _Headers:
    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = [(k.lower(), v) for k, v in pairs]
        self.first: dict[str, str] = {}
        for k, v in self.pairs:
            self.first.setdefault(k, v)

    def get(self, name: str) -> str | None:
        return self.first.get(name)

    def count(self, name: str) -> int:
        return sum(k == name for k, _ in self.pairs)


def _verdict(result: TokenResult, check: Check, want: dict[str, str] | None = None) -> dict[str, Any]:
    """Our verdict on a request, for its answer: the stage, the named mistakes, the expected values."""
    out: dict[str, Any] = {
        "verdict": result.judgement.verdict.value,
        "stage": check.stage.value,
        "mistakes": [{"id": d, "title": title(d)} for d in check.diagnosis],
        "detail": check.detail,
    }
    if want is not None:
        out["expected"] = want
    return out


def _error(result: TokenResult, check: Check, want: dict[str, str] | None = None) -> dict[str, Any]:
    mistakes = ", ".join(check.diagnosis) or "not conforming"
    return {
        "error_code": "USG.000000001",
        "error_msg": f"authentication refused: {check.stage.value}: {mistakes}",
        "appauth_conformance": _verdict(result, check, want),
    }


def expected(app: App, doc: dict[str, Any]) -> dict[str, str] | None:
    """The string to sign and signature the oracle gives for a body's values (None where it cannot sign)."""
    corp, user = _text(doc, "corpId"), _text(doc, "userId")
    mode = scheme.Mode(app.mode(corp, user))
    expire, nonce = doc.get("expireTime"), doc.get("nonce")
    if (whole := _digits(expire)) is not None:
        expire = whole
    if type(expire) is not int or not isinstance(nonce, str):
        return None
    # an id the mode does not carry is left out of the string by the scheme itself (and not encoded)
    data, sig, _ = scheme.oracle(scheme.Fields(mode, app.app_id, corp, user, expire, nonce), app.key)
    return {"string_to_sign": data, "signature": sig} if sig is not None and data is not None else None

"""serve's verdicts, request by request, without HTTP (endpoint/judging.py): for each kind of request, the
status, the stage, the named mistakes, what is recorded (the key never) and the answer's body (the error's
shape, our verdict block, the expected string to sign). Every mode, --strict or not, each branch of the
missing-field logic, expireTime as text or a float, Content-Type variants, repeated headers, other methods,
bodies that are not JSON objects, unknown apps. Signatures and expected values are computed here with hmac
from the documented layouts (docs/tokens.md), never by the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import secrets
import time
from dataclasses import astuple, dataclass, field, fields
from typing import Any

import pytest

from appauth_conformance.core.model import Check, Judgement, RunnerSpec, Stage, TokenResult, Verdict
from appauth_conformance.corpus.expectations import Expectations
from appauth_conformance.endpoint.apps import App
from appauth_conformance.endpoint.judging import PATH, Endpoint, Memory, expected, token_answer
from appauth_conformance.judging import tokens
from appauth_conformance.judging.diagnosis import title

KEYS = {"app": "single-key-0451", "sp": "sp-key-9932"}
TENANCY = {"app": "single", "sp": "sp"}
LAYOUT = {  # docs/tokens.md: the string to sign, by mode
    "single": "{app}:{user}:{expire}:{nonce}",
    "sp_user": "{app}:{corp}:{user}:{expire}:{nonce}",
    "sp_corp_admin": "{app}:{corp}::{expire}:{nonce}",
    "sp_admin": "{app}:::{expire}:{nonce}",
}
TOKEN_FIELDS = {
    "accessToken",
    "tokenType",
    "clientType",
    "validPeriod",
    "createTime",
    "expireTime",
    "refreshToken",
    "refreshValidPeriod",
    "refreshCreateTime",
    "refreshExpireTime",
    "firstLogin",
    "pwdExpired",
    "delayDelete",
    "forceLoginInd",
    "user",
}
WHERE = f"POST {PATH}"


def _endpoint(strict: bool = False) -> Endpoint:
    memory = Memory.load(None)
    judge = tokens.Judge(Expectations.load(RunnerSpec("e", "http", (), group="declared")), memory=memory.recall)
    apps = {a: App(a, KEYS[a], TENANCY[a]) for a in KEYS}
    return Endpoint(apps, judge, memory, "e", strict=strict)


def _sign(app: str, data: str) -> str:
    return hmac.new(KEYS[app].encode(), data.encode(), hashlib.sha256).hexdigest()


def _access(app: str) -> str:
    return base64.b64encode(app.encode()).decode()


@dataclass
class Req:
    """A conforming request, built from the documented shape; a test changes what it needs."""

    app: str = "app"
    mode: str = "single"
    corp: str = ""
    user: str = "alice"
    nonce: str = field(default_factory=lambda: secrets.token_hex(16))
    expire: int = field(default_factory=lambda: int(time.time()) + 600)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = LAYOUT[self.mode].format(
            app=self.app, corp=self.corp, user=self.user, expire=self.expire, nonce=self.nonce
        )
        self.sig = _sign(self.app, self.data)
        self.headers = self.headers or [
            ("Authorization", f"HMAC-SHA256 signature={self.sig},access={_access(self.app)}"),
            ("Content-Type", "application/json"),
        ]
        if not self.body:
            self.body = {"appId": self.app, "expireTime": self.expire, "nonce": self.nonce, "clientType": 72}
            self.body.update({k: v for k, v in (("corpId", self.corp), ("userId", self.user)) if v})

    def header(self, name: str, value: str | None) -> Req:
        """The header replaced (None: left out)."""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))
        return self

    def send(self, e: Endpoint, method: str = "POST", raw: bytes | None = None, peer: str = ""):
        body = json.dumps(self.body).encode() if raw is None else raw
        peers = [peer] if peer else []  # serve gives the peer; without one, the request is not said to come from any
        answer = e.handle(method, self.headers, body, *peers)
        _never_the_key(e, answer)
        return answer

    @property
    def want(self) -> dict[str, str]:
        return {"string_to_sign": self.data, "signature": self.sig}


def _never_the_key(e: Endpoint, answer) -> None:
    """The key is in no answer and no recorded result (every recorded request carries *** in its place)."""
    shown = json.dumps(answer.body)
    recorded = pickle.dumps(list(e.results))
    for key in KEYS.values():
        assert key not in shown and key.encode() not in recorded
    assert answer.result is not None and answer.result.outcome.request.app_key == "***"
    assert _snapshot(list(e.results)[-1]) == _snapshot(answer.result)  # what is answered is what is recorded


def _snapshot(r: TokenResult) -> tuple:
    o = r.outcome
    return (astuple(o.request), *(getattr(o, f.name) for f in fields(o)[1:]), r.judgement, r.checks)


def _block(stage: str, ids: list[str], detail: Any, want: dict[str, str] | None = None) -> dict[str, Any]:
    out = {"verdict": "fail", "stage": stage, "mistakes": [{"id": i, "title": title(i)} for i in ids], "detail": detail}
    if want is not None:
        out["expected"] = want
    return out


def _refused(answer, status: int, stage: str, ids: list[str], detail: Any, want: dict[str, str] | None = None):
    assert answer.status == status, answer.body
    assert answer.body == {
        "error_code": "USG.000000001",
        "error_msg": f"authentication refused: {stage}: {', '.join(ids) or 'not conforming'}",
        "appauth_conformance": _block(stage, ids, detail, want),
    }
    assert all(title(i) != i for i in ids)  # each mistake is one of the catalogue's, with its title


def _unjudged(answer, seq: int, stage: Stage, diag: str, detail: str, app_id: str = "", where: str = WHERE, **req):
    """A request the token checks cannot read: recorded with its number, one failing check and nothing read."""
    r = answer.result
    request = {"id": f"{seq:06d}", "file": "endpoint", "line": seq, "description": f"request {seq} ({where})"}
    request |= {"mode": "single", "app_id": app_id, "corp_id": "", "user_id": "", "app_key": "***", "flags": ()}
    assert astuple(r.outcome.request) == tuple((request | req).values())
    assert r.outcome.runner == "e"
    assert [getattr(r.outcome, f.name) for f in fields(r.outcome)[2:]] == [None] * (len(fields(r.outcome)) - 2)
    assert r.judgement == Judgement(Verdict.FAIL, stage, reason=detail)
    assert r.checks == [Check(stage, Verdict.FAIL, (diag,), detail)]


def _json_error(raw: bytes) -> str:
    try:
        json.loads(raw.decode("utf-8"))
    except ValueError as e:
        return str(e)
    raise AssertionError(raw)


# -- requests the token checks cannot read -------------------------------------------------------------

UNREAD = [  # method, body, status, stage, mistake, detail, recorded app id
    ("GET", None, 405, Stage.TOKEN_HEADER, "method-not-post", "method GET, not POST", ""),
    ("PUT", None, 405, Stage.TOKEN_HEADER, "method-not-post", "method PUT, not POST", ""),
    ("post", None, 405, Stage.TOKEN_HEADER, "method-not-post", "method post, not POST", ""),
    ("POST", b"\xff\xfe{}", 400, Stage.TOKEN_BODY, "body-not-json", "the body is not UTF-8", ""),
    ("POST", b'{"appId": "app"', 400, Stage.TOKEN_BODY, "body-not-json", None, ""),
    ("POST", b"appId=app&nonce=x", 400, Stage.TOKEN_BODY, "body-not-json", None, ""),
    ("POST", b"", 400, Stage.TOKEN_BODY, "body-not-json", None, ""),
    ("POST", b'[{"appId": "app"}]', 400, Stage.TOKEN_BODY, "body-not-object", "the body is a JSON array", ""),
    ("POST", b'"{\\"appId\\": 1}"', 400, Stage.TOKEN_BODY, "body-not-object", "the body is a JSON string", ""),
    ("POST", b"17", 400, Stage.TOKEN_BODY, "body-not-object", "the body is a JSON number", ""),
    ("POST", b"1.5", 400, Stage.TOKEN_BODY, "body-not-object", "the body is a JSON number", ""),
    ("POST", b"true", 400, Stage.TOKEN_BODY, "body-not-object", "the body is a JSON boolean", ""),
    ("POST", b"null", 400, Stage.TOKEN_BODY, "body-not-object", "the body is a JSON null", ""),
    ("POST", b'{"appId": "nope"}', 401, Stage.TOKEN_BODY, "app-unknown", "appId 'nope' {served}", "nope"),
    ("POST", b'{"appId": "APP"}', 401, Stage.TOKEN_BODY, "app-unknown", "appId 'APP' {served}", "APP"),
    ("POST", b'{"nonce": "x"}', 401, Stage.TOKEN_BODY, "app-unknown", "appId 'None' {served}", ""),
    ("POST", b'{"appId": 5}', 401, Stage.TOKEN_BODY, "app-unknown", "appId '5' {served}", ""),
    ("POST", b'{"appId": "' + b"a" * 300 + b'"}', 401, Stage.TOKEN_BODY, "app-unknown", None, "a" * 200),
]


@pytest.mark.parametrize("method, raw, status, stage, diag, detail, app_id", UNREAD)
@pytest.mark.parametrize("strict", [False, True])
def test_a_request_that_cannot_be_read_is_refused_and_recorded(
    method, raw, status, stage, diag, detail, app_id, strict
):
    e = _endpoint(strict)
    req = Req()
    if detail is None and diag == "body-not-json":
        detail = f"the body is not JSON ({_json_error(raw)})"
    elif detail is None:
        detail = f"appId {'a' * 80!r} is not one of the apps served (app, sp)"  # the shown id cut to 80
    detail = detail.replace("{served}", "is not one of the apps served (app, sp)")
    answer = req.send(e, method, raw)
    _refused(answer, status, stage.value, [diag], detail)
    _unjudged(answer, 1, stage, diag, detail, app_id, where=f"{method} {PATH}")


def test_requests_are_numbered_in_arrival_order_with_their_peer():
    e = _endpoint()
    first = Req().send(e, "GET")
    second = Req().send(e, "GET", peer="10.0.0.7:41000")
    third = Req().send(e)  # judged: numbered the same way
    _unjudged(first, 1, Stage.TOKEN_HEADER, "method-not-post", "method GET, not POST", where=f"GET {PATH}")
    where = f"GET {PATH} from 10.0.0.7:41000"
    _unjudged(second, 2, Stage.TOKEN_HEADER, "method-not-post", "method GET, not POST", where=where)
    request = third.result.outcome.request
    assert (request.id, request.file, request.line) == ("000003", "endpoint", 3)
    assert request.description == f"request 3 ({WHERE})"
    assert len(e.results) == 3


# -- a body without what the checks read: which stage, which mistake -------------------------------------


def _drop(name):
    return lambda r: r.body.pop(name)


def _set(name, value):
    return lambda r: r.body.__setitem__(name, value)


def _no_auth(r):
    r.header("Authorization", None)


def _bad_auth(r):
    r.header("Authorization", f"HMAC-SHA256 signature={r.sig[:40]},access={_access(r.app)}")


def _both(*changes):
    def change(r):
        for c in changes:
            c(r)

    return change


BODY, HEADER = Stage.TOKEN_BODY, Stage.TOKEN_HEADER
NONCE, EXPIRE, AUTH = "text nonce", "integer expireTime", "Authorization header of the documented shape"
MISSING = [  # change, stage, mistake, what the request has no
    (_drop("nonce"), BODY, "body-field-missing", NONCE),
    (_set("nonce", 12345678901234567890123456789012), BODY, "body-field-missing", NONCE),
    (_set("nonce", None), BODY, "body-field-missing", NONCE),
    (_drop("expireTime"), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", "soon"), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", "1796187713.5"), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", "-1796187713"), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", "12a"), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", ""), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", "²"), BODY, "body-field-missing", EXPIRE),  # a digit to str.isdigit, not to int()
    (_set("expireTime", "١٧٩٦١٨٧٧١٣"), BODY, "body-field-missing", EXPIRE),  # Arabic-Indic digits
    (_set("expireTime", "9" * 5000), BODY, "body-field-missing", EXPIRE),  # more digits than int() reads
    (_set("expireTime", "1" * 20), BODY, "body-field-missing", EXPIRE),  # more than a Long holds
    (
        _set("expireTime", float("nan")),
        BODY,
        "body-field-missing",
        EXPIRE,
    ),  # NaN and Infinity: Python's json reads them
    (_set("expireTime", float("-inf")), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", True), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", None), BODY, "body-field-missing", EXPIRE),
    (_set("expireTime", [1796187713]), BODY, "body-field-missing", EXPIRE),
    (_no_auth, HEADER, "header-missing", AUTH),
    (_bad_auth, HEADER, "header-malformed", AUTH),
    (lambda r: r.header("Authorization", f"HMAC-SHA256 signature={r.sig} "), HEADER, "header-malformed", AUTH),
    (lambda r: r.header("Authorization", ""), HEADER, "header-malformed", AUTH),
    (
        lambda r: r.header("X-Authorization", r.headers[0][1]).header("Authorization", None),
        HEADER,
        "header-missing",
        AUTH,
    ),
    # the body is judged first: its missing fields name the stage and the mistake, whatever the header
    (_both(_drop("nonce"), _no_auth), BODY, "body-field-missing", NONCE),
    (_both(_drop("nonce"), _bad_auth), BODY, "body-field-missing", NONCE),
    (_both(_drop("expireTime"), _no_auth), BODY, "body-field-missing", EXPIRE),
    (_both(_set("expireTime", "1.25"), _bad_auth), BODY, "body-field-missing", EXPIRE),
    (_both(_drop("nonce"), _drop("expireTime")), BODY, "body-field-missing", NONCE),
    (_both(_drop("nonce"), _drop("expireTime"), _no_auth), BODY, "body-field-missing", NONCE),
]


@pytest.mark.parametrize("change, stage, diag, missing", MISSING)
@pytest.mark.parametrize("strict", [False, True])
def test_a_request_without_a_field_the_checks_read(change, stage, diag, missing, strict):
    e = _endpoint(strict)
    req = Req()
    change(req)
    answer = req.send(e)
    detail = f"the request has no {missing}"
    _refused(answer, {BODY: 400, HEADER: 401}[stage], stage.value, [diag], detail)
    _unjudged(answer, 1, stage, diag, detail, "app", user_id="alice")  # recorded with the mode and ids it had


@pytest.mark.parametrize(
    "app, corp, user, mode, corp_id, user_id",
    [
        ("sp", "acme", "bob", "sp_user", "acme", "bob"),
        ("sp", "acme", "", "sp_corp_admin", "acme", ""),
        ("sp", "", "bob", "sp_admin", "", ""),  # an id the mode does not sign is not recorded
        ("app", "acme", "bob", "single", "", "bob"),
    ],
)
def test_a_request_without_a_signature_is_recorded_in_its_mode(app, corp, user, mode, corp_id, user_id):
    e = _endpoint()
    req = Req(app, "single", corp, user).header("Authorization", None)
    answer = req.send(e)
    detail = f"the request has no {AUTH}"
    _refused(answer, 401, "token-header", ["header-missing"], detail)
    _unjudged(answer, 1, HEADER, "header-missing", detail, app, mode=mode, corp_id=corp_id, user_id=user_id)


# -- judged requests: every mode, the answer as the service would give it ---------------------------------

MODES = [  # app, the ids in the body, the mode, the ids recorded (and signed)
    ("app", "", "alice", "single", "", "alice"),
    ("app", "", "", "single", "", ""),  # the enterprise owner: no user
    ("app", "acme", "alice", "single", "", "alice"),  # a corpId a single-tenant app does not sign
    ("sp", "acme", "bob", "sp_user", "acme", "bob"),
    ("sp", "acme", "", "sp_corp_admin", "acme", ""),
    ("sp", "", "", "sp_admin", "", ""),
    ("sp", "", "bob", "sp_admin", "", ""),  # a userId without corpId: the SP admin's layout, the user not signed
]


def _signed_as(req: Req, mode: str, corp: str, user: str) -> Req:
    """The request re-signed with `mode`'s layout and these ids (the body keeps its own)."""
    data = LAYOUT[mode].format(app=req.app, corp=corp, user=user, expire=req.expire, nonce=req.nonce)
    req.data, req.sig = data, _sign(req.app, data)
    return req.header("Authorization", f"HMAC-SHA256 signature={req.sig},access={_access(req.app)}")


@pytest.mark.parametrize("app, corp, user, mode, corp_id, user_id", MODES)
def test_each_mode_passes_with_its_layout(app, corp, user, mode, corp_id, user_id):
    e = _endpoint(strict=True)
    req = _signed_as(Req(app, "single", corp, user), mode, corp_id, user_id)
    before = time.time()
    answer = req.send(e, peer="127.0.0.1:9")
    assert answer.status == 200, answer.body
    body = answer.body
    assert set(body) == TOKEN_FIELDS  # no verdict block on a conforming request
    assert body["user"] == {"appId": app, "corpId": corp_id, "userId": user_id}
    assert e.issued[body["accessToken"]] is body
    assert int(before) + 86400 <= body["expireTime"] <= int(time.time()) + 86400
    r = answer.result
    assert r.judgement == Judgement(Verdict.PASS)
    assert [(c.stage, c.verdict) for c in r.checks] == [(s, Verdict.PASS) for s in tokens.STAGES]
    where = f"request 1 ({WHERE} from 127.0.0.1:9)"
    assert astuple(r.outcome.request) == ("000001", "endpoint", 1, where, mode, app, corp_id, user_id, "***", ())
    o = r.outcome
    assert (o.runner, o.nonce, o.expire_time, o.signature, o.string_to_sign) == (
        "e",
        req.nonce,
        req.expire,
        req.sig,
        None,
    )
    assert o.headers == {k.lower(): v for k, v in req.headers}
    assert o.body == req.body and o.error is None and o.fault is None


@pytest.mark.parametrize("app, corp, user, mode, corp_id, user_id", MODES)
@pytest.mark.parametrize("strict", [False, True])
def test_another_layout_is_refused_with_the_expected_string_to_sign(app, corp, user, mode, corp_id, user_id, strict):
    """Signed as another mode would (the single layout with the body's ids, or the SP user's): refused, and
    the answer names the string the service signs and its signature."""
    e = _endpoint(strict)
    wrong = "sp_user" if mode == "single" else "single"
    req = _signed_as(Req(app, "single", corp, user), wrong, corp or "x", user or "y")
    data = LAYOUT[mode].format(app=app, corp=corp_id, user=user_id, expire=req.expire, nonce=req.nonce)
    want = {"string_to_sign": data, "signature": _sign(app, data)}
    answer = req.send(e)
    block = answer.body["appauth_conformance"]
    assert answer.status == 401 and block["stage"] == "token-signature" and block["expected"] == want
    assert block["detail"].endswith(f"the oracle's for the reported nonce and expiry is {want['signature']}")
    assert block["detail"].startswith(f"signature {req.sig!r}")
    _refused(answer, 401, "token-signature", [m["id"] for m in block["mistakes"]], block["detail"], want)
    assert answer.result.judgement.stage is Stage.TOKEN_SIGNATURE and answer.result.outcome.request.mode == mode
    assert not e.issued


# -- accepted as the service would, or refused (--strict) ------------------------------------------------


def _upper(r: Req) -> None:
    r.header("Authorization", f"HMAC-SHA256 signature={r.sig.upper()},access={_access(r.app)}")


def _ctype(value):
    return lambda r: r.header("Content-Type", value)


def _twice(name, value=None):
    return lambda r: r.headers.append((name, value or dict((k.lower(), v) for k, v in r.headers)[name.lower()]))


def _long_ctype(r):
    r.header("Content-Type", "text/plain; " + "x" * 100)


def _text_expire(pad=""):
    return lambda r: r.body.__setitem__("expireTime", f"{pad}{r.expire}{pad}")


def _float_expire(r):
    r.body["expireTime"] = float(r.expire)


def _fraction_expire(r):
    r.body["expireTime"] = r.expire + 0.75  # time.time() + ttl: its whole seconds are the ones judged


ACCEPTED = [  # change, the first failing check's stage, its mistakes, its detail (a callable of the request)
    (_upper, "token-signature", ["hex-uppercase"], None),
    (_ctype(None), "token-header", ["content-type-not-json"], lambda r: "Content-Type ''"),
    (_ctype("text/plain"), "token-header", ["content-type-not-json"], lambda r: "Content-Type 'text/plain'"),
    (
        _ctype("application/jsonp"),
        "token-header",
        ["content-type-not-json"],
        lambda r: "Content-Type 'application/jsonp'",
    ),
    (
        _ctype("application/x-www-form-urlencoded; charset=utf-8"),
        "token-header",
        ["content-type-not-json"],
        lambda r: "Content-Type 'application/x-www-form-urlencoded; charset=utf-8'",
    ),
    (_long_ctype, "token-header", ["content-type-not-json"], lambda r: f"Content-Type {'text/plain; ' + 'x' * 68!r}"),
    (_text_expire(), "token-body", ["body-expire-time-text"], lambda r: f"expireTime {str(r.expire)!r} is text"),
    (_text_expire(" "), "token-body", ["body-expire-time-text"], lambda r: f"expireTime {f' {r.expire} '!r} is text"),
    (
        _text_expire(" " * 20),
        "token-body",
        ["body-expire-time-text"],
        lambda r: f"expireTime {(' ' * 20 + str(r.expire) + ' ' * 20)[:40]!r} is text",
    ),
    (_float_expire, "token-body", ["body-expire-time-float"], lambda r: f"expireTime {float(r.expire)!r} is a float"),
    (
        _fraction_expire,
        "token-body",
        ["body-expire-time-float"],
        lambda r: f"expireTime {r.expire + 0.75!r} is a float",
    ),
    (_set("clientType", "72"), "token-body", ["body-client-type"], lambda r: "clientType '72'"),
    (_drop("clientType"), "token-body", ["body-client-type"], lambda r: "clientType None"),
    (
        lambda r: r.header("Authorization", f"HMAC-SHA256 signature={r.sig}"),
        "token-header",
        ["header-access-missing"],
        None,
    ),
    (lambda r: r.headers.append(("X-Token-Type", "ShortTicket")), "token-header", ["header-token-type"], None),
]


@pytest.mark.parametrize("change, stage, ids, detail", ACCEPTED)
def test_a_mistake_the_service_accepts_gets_a_token_and_our_verdict(change, stage, ids, detail):
    e = _endpoint()
    req = Req()
    change(req)
    answer = req.send(e)
    assert answer.status == 200, answer.body
    body = answer.body
    assert set(body) == TOKEN_FIELDS | {"appauth_conformance"}
    block = body["appauth_conformance"]
    shown = detail(req) if detail else block["detail"]
    assert block == _block(stage, ids, shown, req.want)
    assert e.issued[body["accessToken"]] is body
    assert body["clientType"] == 72 and body["user"] == {"appId": "app", "corpId": "", "userId": "alice"}
    r = answer.result
    assert r.judgement.verdict is Verdict.FAIL and r.judgement.stage.value == stage
    assert r.outcome.expire_time == req.expire


@pytest.mark.parametrize("change, stage, ids, detail", ACCEPTED)
def test_strict_refuses_what_the_service_accepts(change, stage, ids, detail):
    e = _endpoint(strict=True)
    req = Req()
    change(req)
    answer = req.send(e)
    block = answer.body["appauth_conformance"]
    status = 400 if stage == "token-body" else 401
    _refused(answer, status, stage, ids, detail(req) if detail else block["detail"], req.want)
    assert not e.issued


@pytest.mark.parametrize(
    "ctype",
    [
        "application/json",
        "application/json; charset=UTF-8",
        "application/json;charset=utf-8",
        "Application/JSON",
        "APPLICATION/JSON ; charset=utf-8",
    ],
)
def test_content_type_json_with_any_case_or_parameters_conforms(ctype):
    answer = Req().header("Content-Type", ctype).send(_endpoint(strict=True))
    assert answer.status == 200 and "appauth_conformance" not in answer.body
    assert answer.result.judgement.verdict is Verdict.PASS


def test_expire_time_as_text_or_float_is_judged_as_its_integer():
    """The other checks take the integer: the recorded body holds it, the signature over it holds."""
    for change, sent in ((_text_expire(" "), str), (_float_expire, float), (_fraction_expire, float)):
        e = _endpoint()
        req = Req()
        change(req)
        assert type(req.body["expireTime"]) is sent
        r = req.send(e).result
        assert r.outcome.body["expireTime"] == req.expire and type(r.outcome.body["expireTime"]) is int
        assert r.outcome.expire_time == req.expire
        failing = [c for c in r.checks if c.verdict is Verdict.FAIL]
        assert [(c.stage, c.diagnosis) for c in failing] == [
            (Stage.TOKEN_BODY, ("body-expire-time-text" if sent is str else "body-expire-time-float",))
        ]


DUPLICATED = [  # the headers sent twice, as the detail names them
    (["Authorization"], "authorization"),
    (["Content-Type"], "content-type"),
    (["authorization", "AUTHORIZATION"], "authorization"),  # three times, in any case
    (["Content-Type", "Authorization"], "authorization, content-type"),
]


@pytest.mark.parametrize("twice, named", DUPLICATED)
@pytest.mark.parametrize("strict", [False, True])
def test_a_header_sent_twice_is_refused(twice, named, strict):
    e = _endpoint(strict)
    req = Req()
    for name in twice:
        _twice(name)(req)
    answer = req.send(e)
    _refused(answer, 401, "token-header", ["header-duplicated"], f"sent more than once: {named}", req.want)
    checks = [c for c in answer.result.checks if c.verdict is Verdict.FAIL]
    assert checks == [Check(Stage.TOKEN_HEADER, Verdict.FAIL, ("header-duplicated",), f"sent more than once: {named}")]


def test_x_token_type_twice_is_named_and_other_headers_twice_are_not():
    e = _endpoint(strict=True)
    req = Req()
    req.headers += [
        ("X-Token-Type", "LongTicket"),
        ("X-Token-Type", "LongTicket"),
        ("Accept", "*/*"),
        ("Accept", "*/*"),
    ]
    answer = req.send(e)
    _refused(answer, 401, "token-header", ["header-duplicated"], "sent more than once: x-token-type", req.want)
    once = Req()
    once.headers += [("X-Token-Type", "LongTicket"), ("Accept", "*/*"), ("accept", "*/*"), ("X-Request-ID", "1")]
    assert once.send(e).status == 200


def test_the_first_of_a_repeated_header_is_the_one_judged():
    e = _endpoint()
    req = Req()
    req.headers += [("Authorization", "Bearer x"), ("Content-Type", "text/plain")]
    answer = req.send(e)
    named = "authorization, content-type"
    _refused(answer, 401, "token-header", ["header-duplicated"], f"sent more than once: {named}", req.want)
    assert answer.result.outcome.headers == {k.lower(): v for k, v in req.headers[:2]}
    failing = [c for c in answer.result.checks if c.verdict is Verdict.FAIL]
    assert [c.diagnosis for c in failing] == [("header-duplicated",)]  # the first Content-Type is JSON


def test_the_first_refused_check_decides_when_others_are_accepted():
    """Upper-case hex (accepted) and a repeated header (refused): refused, at the refused check's stage."""
    e = _endpoint()
    req = Req()
    _upper(req)
    _twice("Authorization")(req)
    answer = req.send(e)
    _refused(answer, 401, "token-header", ["header-duplicated"], "sent more than once: authorization", req.want)
    assert answer.result.judgement.stage is Stage.TOKEN_SIGNATURE  # the verdict's stage is the first failing one


def test_several_accepted_mistakes_show_the_first_in_the_verdict_block():
    e = _endpoint()
    req = Req()
    _upper(req)
    req.header("Content-Type", "text/plain")
    req.body["clientType"] = "API"
    answer = req.send(e)
    assert answer.status == 200 and answer.body["clientType"] == 72
    assert answer.body["appauth_conformance"]["stage"] == "token-signature"
    assert [m["id"] for m in answer.body["appauth_conformance"]["mistakes"]] == ["hex-uppercase"]
    failing = [(c.stage.value, c.diagnosis) for c in answer.result.checks if c.verdict is Verdict.FAIL]
    assert failing == [
        ("token-signature", ("hex-uppercase",)),
        ("token-body", ("body-client-type",)),
        ("token-header", ("content-type-not-json",)),
    ]


def _later(seconds: int) -> int:
    return int(time.time()) + seconds


def _access_wrong_and_short_ticket() -> Req:
    r = Req().header("X-Token-Type", "Short")
    return r.header("Authorization", f"HMAC-SHA256 signature={r.sig},access=YXBx")


REFUSED = [  # the request (signed over its own values), status, stage, mistakes (the check that refuses)
    (lambda: Req(nonce="short"), 400, "token-nonce", ["nonce-too-short"]),
    (lambda: Req(nonce=""), 400, "token-nonce", ["nonce-empty"]),
    (lambda: Req(expire=0), 401, "token-expiry", ["expire-never"]),  # accepted unless --strict
    (lambda: Req(expire=_later(10 * 86400)), 401, "token-expiry", ["expire-beyond-window"]),  # accepted, likewise
    (lambda: Req(expire=_later(600) * 1000), 401, "token-expiry", ["expire-in-milliseconds"]),
    (lambda: Req(expire=_later(-3600)), 401, "token-expiry", ["expire-in-past"]),
    (_access_wrong_and_short_ticket, 401, "token-header", ["header-access-wrong", "header-token-type"]),
]


@pytest.mark.parametrize("make, status, stage, ids", REFUSED)
@pytest.mark.parametrize("strict", [False, True])
def test_a_refused_request_answers_the_first_check_that_refuses(make, status, stage, ids, strict):
    e = _endpoint(strict)
    req = make()
    answer = req.send(e)
    block = answer.body["appauth_conformance"]
    if set(ids) <= {"expire-never", "expire-beyond-window"} and not strict:
        assert answer.status == 200 and block == _block(stage, ids, block["detail"], req.want)
        return
    _refused(answer, status, stage, ids, block["detail"], req.want)


def test_nonce_rules_refuse_before_the_expiry_is_read():
    e = _endpoint()
    req = Req(nonce="n" * 65, expire=0)
    answer = req.send(e)
    detail = "a nonce of 65 characters; the documentation asks for 32 to 64"
    _refused(answer, 400, "token-nonce", ["nonce-too-long"], detail, req.want)


@pytest.mark.parametrize("strict", [False, True])
def test_a_failure_with_no_named_mistake_is_refused_without_expected_values(strict):
    """Inputs the scheme cannot sign (a nonce with an unpaired surrogate, a negative expiry): the signature
    check fails without a named mistake; refused even where --strict is off, and no expected values."""
    e = _endpoint(strict)
    surrogate = Req()
    surrogate.body["nonce"] = "\ud800" + "n" * 40
    answer = surrogate.send(e)
    block = answer.body["appauth_conformance"]
    assert "cannot be signed" in block["detail"] and "surrogate" in block["detail"]
    _refused(answer, 401, "token-signature", [], block["detail"])
    negative = Req()
    negative.body["expireTime"] = -5
    answer = negative.send(e)
    block = answer.body["appauth_conformance"]
    assert "cannot be signed" in block["detail"] and "non-negative" in block["detail"]
    _refused(answer, 401, "token-signature", [], block["detail"])
    assert not e.issued


# -- what the endpoint remembers: the same token, a fixed nonce, a sequence that starts over ---------------


def _again(first: Req, expire: int | None = None, user: str | None = None) -> Req:
    """A request with `first`'s nonce, for the same identity (or `user`), newly signed if the expiry differs."""
    return Req(
        first.app, first.mode, first.corp, first.user if user is None else user, first.nonce, expire or first.expire
    )


def _reuse(answer) -> Check:
    [check] = [c for c in answer.result.checks if c.stage is Stage.TOKEN_NONCE_REUSED]
    return check


@pytest.mark.parametrize("strict", [False, True])
def test_the_same_token_sent_again_is_token_reused(strict):
    e = _endpoint(strict)
    first = Req()
    assert first.send(e).status == 200
    answer = _again(first).send(e)
    detail = f"the same token (nonce {first.nonce!r}, expiry {first.expire}) as the last one, sent again"
    _refused(answer, 401, "token-nonce-reused", ["token-reused"], detail, first.want)
    upper = _again(first)
    _upper(upper)  # the same token in upper-case hex: still the same token
    assert _reuse(upper.send(e)).diagnosis == ("token-reused",)


def test_the_same_nonce_newly_signed_is_nonce_repeated():
    e = _endpoint()
    first = Req()
    first.send(e)
    fixed = _again(first, first.expire + 1)
    answer = fixed.send(e)
    detail = f"nonce {first.nonce!r} again, right after its last use: a fixed nonce"
    _refused(answer, 401, "token-nonce-reused", ["nonce-repeated"], detail, fixed.want)


def test_an_old_token_or_nonce_after_others_is_nonce_repeats_per_process():
    e = _endpoint()
    first = Req()
    first.send(e)
    Req().send(e)  # another nonce for the same identity in between
    answer = _again(first).send(e)  # the first whole token again, no longer the identity's last
    detail = f"nonce {first.nonce!r} was used before, other nonces in between: a sequence that starts over"
    _refused(answer, 401, "token-nonce-reused", ["nonce-repeats-per-process"], detail, first.want)
    Req().send(e)
    later = _again(first, first.expire + 2)
    answer = later.send(e)
    _refused(answer, 401, "token-nonce-reused", ["nonce-repeats-per-process"], detail, later.want)


def test_a_long_nonce_is_shown_cut_in_the_reuse_finding():
    e = _endpoint()
    first = Req(nonce="n" * 50 + "m" * 50)
    first.send(e)
    check = _reuse(_again(first).send(e))
    assert check.diagnosis == ("token-reused",)
    assert f"nonce {first.nonce[:70]!r}, expiry" in check.detail


def test_a_new_nonce_each_time_is_never_a_reuse():
    e = _endpoint()
    answers = [Req().send(e) for _ in range(3)] + [Req(user="bob").send(e)]
    assert [a.status for a in answers] == [200] * 4
    assert all(_reuse(a).verdict is Verdict.PASS for a in answers)


# -- the answer's parts on their own --------------------------------------------------------------------


def test_token_answer_fields():
    user = {"appId": "a", "corpId": "c", "userId": "u"}
    before = time.time()
    plain, typed, text = token_answer(user), token_answer(user, 5), token_answer(user, "72")
    after = time.time()
    assert set(plain) == TOKEN_FIELDS
    assert plain["clientType"] == 72 and typed["clientType"] == 5 and text["clientType"] == 72
    assert token_answer(user, True)["clientType"] == 72  # JSON true is not an Integer
    assert plain["user"] is user and plain["tokenType"] == 0
    for a in (plain, typed, text):
        assert a["accessToken"][:3] == "cnr" and len(a["accessToken"]) == 51 and int(a["accessToken"][3:], 16) >= 0
        assert a["refreshToken"][:3] == "rfr" and len(a["refreshToken"]) == 51 and int(a["refreshToken"][3:], 16) >= 0
        assert (a["firstLogin"], a["pwdExpired"], a["delayDelete"], a["forceLoginInd"]) == (False, False, False, 0)
        assert a["validPeriod"] == a["refreshValidPeriod"] == 86400
        assert int(before) + 86400 <= a["expireTime"] == a["refreshExpireTime"] <= int(after) + 86400
        assert int(before * 1000) <= a["createTime"] == a["refreshCreateTime"] <= int(after * 1000)
    tokens_made = {a[k] for a in (plain, typed, text) for k in ("accessToken", "refreshToken")}
    assert len(tokens_made) == 6


def test_a_client_type_is_echoed_in_the_token():
    e = _endpoint()
    req = Req()
    req.body["clientType"] = 5
    answer = req.send(e)
    assert answer.status == 200 and answer.body["clientType"] == 5 and "appauth_conformance" not in answer.body


@pytest.mark.parametrize(
    "app, doc, data",
    [
        ("app", {"userId": "u", "expireTime": 17, "nonce": "n"}, "app:u:17:n"),
        ("app", {"userId": "u", "expireTime": "17", "nonce": "n"}, "app:u:17:n"),  # text digits: the integer
        ("app", {"userId": "u", "expireTime": " 17 ", "nonce": "n"}, "app:u:17:n"),
        ("app", {"corpId": "c", "userId": "u", "expireTime": 17, "nonce": "n"}, "app:u:17:n"),
        ("app", {"expireTime": 17, "nonce": "n"}, "app::17:n"),
        ("sp", {"corpId": "c", "userId": "u", "expireTime": 17, "nonce": "n"}, "sp:c:u:17:n"),
        ("sp", {"corpId": "c", "expireTime": 17, "nonce": "n"}, "sp:c::17:n"),
        ("sp", {"userId": "u", "expireTime": 17, "nonce": "n"}, "sp:::17:n"),
        ("app", {"corpId": "\udc00", "userId": "u", "expireTime": 17, "nonce": "n"}, "app:u:17:n"),  # not signed
        ("sp", {"corpId": 5, "userId": "u", "expireTime": 17, "nonce": "n"}, "sp:::17:n"),  # a non-text id: none
        ("app", {"userId": "u", "expireTime": 17}, None),
        ("app", {"userId": "u", "expireTime": 17, "nonce": 5}, None),
        ("app", {"userId": "u", "nonce": "n"}, None),
        ("app", {"userId": "u", "expireTime": 17.0, "nonce": "n"}, None),
        ("app", {"userId": "u", "expireTime": "soon", "nonce": "n"}, None),
        ("app", {"userId": "u", "expireTime": "²", "nonce": "n"}, None),
        ("app", {"userId": "u", "expireTime": -1, "nonce": "n"}, None),  # no string to sign
        ("app", {"userId": "u", "expireTime": 17, "nonce": "\udc00"}, None),  # a string, no signature
    ],
)
def test_expected_gives_the_oracles_string_and_signature(app, doc, data):
    want = None if data is None else {"string_to_sign": data, "signature": _sign(app, data)}
    assert expected(App(app, KEYS[app], TENANCY[app]), doc) == want


def test_another_identity_reusing_the_nonce_just_used_is_nonce_repeated():
    """docs/endpoint.md: a nonce used again right after itself is a fixed nonce (nonce-repeated);
    nonce-repeats-per-process is a nonce used before *with other nonces in between*, and here there are none
    (docs/tokens.md: "a nonce ... made before for another identity": nonce-repeated)."""
    e = _endpoint()
    first = Req()
    first.send(e)
    answer = _again(first, user="bob").send(e)
    assert _reuse(answer).diagnosis == ("nonce-repeated",)

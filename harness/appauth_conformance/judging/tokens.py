"""Black-box tokens: a runner's real code chooses the nonce and the expiry; the harness checks what it made.

A runner whose hello lists the `token` op gets token requests (mode, ids and key, never a
nonce or an expiry) derived from the corpus (`suite`), and answers with what its code
produced: nonce, expire_time, signature and, where the code builds them, the HTTP headers
and the request body. Every reply is checked on six stages, each with its own verdict:

    token-signature     the signature (and string to sign, if given) the oracle gives for the reported inputs
    token-nonce         32 to 64 characters
    token-nonce-reused  never seen before in the run (per runner): not another identity's nonce (nonce-repeated),
                        not the same token handed back again (token-reused), not a nonce an earlier process
                        of the runner made (nonce-repeats-per-process)
    token-expiry        integer Unix seconds, in the future by the harness's clock, within the window, not 0
    token-header        Authorization: HMAC-SHA256 signature=<the signature>,access=<base64(AppID)>
    token-body          appId, corpId, userId, expireTime, nonce as signed, clientType an integer

Each identity is asked more than once: again in the same process (AGAIN: a cached token comes back), and
once more after the harness restarted the runner's process (AFTER_RESTART: a generator seeded the same in
every process makes the first process's nonces again). Those later replies are checked for reuse only;
what they find is folded into the identity's result at token-nonce-reused (`Judge.again`).

The header and body shapes come from the vendor's API documentation (POST
/v2/usg/acs/auth/appauth) and its Python SDK (huaweicloudsdkmeeting, meeting_credentials.py):
docs/tokens.md. A failing stage may be excused by a known-divergence entry like any other
(`diagnosis: hex-uppercase` covers the token signature too); the token's verdict is that of
its first unexcused failing stage.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from appauth_conformance.core import scheme, untrusted, wire
from appauth_conformance.core.model import (
    Check,
    Fault,
    Judgement,
    Stage,
    TokenOutcome,
    TokenRequest,
    TokenResult,
    Vector,
    Verdict,
)
from appauth_conformance.formats import protocol
from appauth_conformance.formats.records import CheckRecord, OutcomeRecord
from appauth_conformance.judging import diagnosis

NONCE_MIN, NONCE_MAX = 32, 64
WINDOW = 24 * 3600  # default: a token may expire at most a day after it was made
# The documented Authorization value, exactly: the scheme, one space, `signature=` and 64 hex digits
# (either case: upper case is its own mistake, hex-uppercase, at token-signature), then optionally
# `,access=` and one token (its value is checked apart: header-access-wrong). Anything else (spaces
# around the separators, quotes, `;`, a repeated or reordered parameter, trailing text) is
# header-malformed: a server that parses the documented shape would refuse it.
HEADER = re.compile(r"HMAC-SHA256 signature=([0-9A-Fa-f]{64})(?:,access=([^\s,;\"=]*={0,2}))?")
HEADER_SHAPE = "HMAC-SHA256 signature=<64 hex digits>,access=<base64(AppID)>"
STAGES = (  # a token's checks, in the order they are judged
    Stage.TOKEN_SIGNATURE,
    Stage.TOKEN_NONCE,
    Stage.TOKEN_NONCE_REUSED,
    Stage.TOKEN_EXPIRY,
    Stage.TOKEN_HEADER,
    Stage.TOKEN_BODY,
)
_PASSED = {stage: Check(stage, Verdict.PASS) for stage in Stage}
BODY_FIELDS = {"appId": "app_id", "corpId": "corp_id", "userId": "user_id"}  # body name -> request field


def suite(vectors: list[Vector]) -> list[TokenRequest]:
    """One token request per distinct (mode, ids, key) of the corpus's vectors that can be signed."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for v in vectors:
        key = (v.mode, v.app_id, v.corp_id, v.user_id, v.app_key)
        if v.result == "invalid" or key in seen:
            continue
        seen.add(key)
        out.append(TokenRequest(v.id, v.file, v.line, v.description, *key, flags=v.flags))
    return out


def outcome(request: TokenRequest, runner: str, reply: Any) -> TokenOutcome:
    """A reply of Session.replies to a token request, as a TokenOutcome (a fault when it breaks the protocol,
    or gives no nonce, expiry or signature, neither directly nor in its body and header)."""
    if isinstance(reply, Fault):
        return TokenOutcome(request, runner, fault=reply.reason, stderr_tail=reply.stderr_tail)
    sent = None
    if type(reply) is dict:
        body = reply.get("body")
        for where, holder in (("expire_time", reply), ("expireTime", body if type(body) is dict else {})):
            if where in holder and (sent := _non_integer(holder[where])) is not None:
                # a named mistake (expire-not-integer), judged at token-expiry with the other checks, not a fault
                fixed = {**holder, where: _whole(sent)}
                reply = fixed if holder is reply else {**reply, "body": fixed}
                break
    problem = protocol.check_token_response(reply)
    if problem:
        return TokenOutcome(request, runner, fault=f"token reply breaks the protocol schema: {problem}")
    if "error" in reply:
        return TokenOutcome(request, runner, error=_bounded_error(reply["error"]))
    reply = _bounded(reply, wire.value_limit(request.request_body))
    headers, body = reply.get("headers"), reply.get("body")
    nonce = reply.get("nonce", body.get("nonce") if body else None)
    expire = reply.get("expire_time", body.get("expireTime") if body else None)
    signature = reply.get("signature")
    if signature is None and headers is not None:
        m = HEADER.fullmatch(_header(headers, "authorization") or "")
        signature = m.group(1) if m else None
    missing = [n for n, x in (("nonce", nonce), ("expire_time", expire), ("signature", signature)) if x is None]
    if missing or not isinstance(nonce, str) or type(expire) is not int:
        why = (
            f"gives no {', '.join(missing)}"
            if missing
            else "gives a nonce that is not text or an expiry that is not an integer"
        )
        return TokenOutcome(request, runner, fault=f"token reply {why} (nor in its body or Authorization header)")
    return TokenOutcome(
        request, runner, nonce, expire, signature, reply.get("string_to_sign"), headers, body, expire_sent=sent
    )


def _non_integer(value: Any) -> float | str | None:
    """An expiry (expire_time, or the body's expireTime) that is a float or a text holding a number: what a
    signer that keeps ExpireTime as a float or a string sends. None otherwise (an integer, or nothing a
    number can be read from: the schema check says what is wrong)."""
    if type(value) is float and value == value and abs(value) < 2**63:  # not NaN or out of range
        return value
    if type(value) is str and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value.strip()) and len(value) < 40:
        return value
    return None


def _whole(sent: float | str) -> int:
    """The integer a non-integer expiry stands for (its whole seconds), for the checks after it."""
    return int(float(sent)) if isinstance(sent, str) else int(sent)


def _bounded_error(e: dict[str, Any]) -> Any:
    """A refusal as kept: its type and message cut when received (wire.TYPE_LIMIT, MESSAGE_LIMIT)."""
    return {"type": wire.clip(e["type"], wire.TYPE_LIMIT), "message": wire.clip(e["message"])}


def _bounded(reply: dict[str, Any], limit: int) -> dict[str, Any]:
    """A token reply cut when received: what judging reads (nonce, signature, string to sign, header and
    body values) to `limit` characters, more than any reading of the request makes; the rest of the body
    and headers to protocol's sizes. A value past its limit is wrong whatever its end holds."""
    out = dict(reply)
    for name in ("nonce", "signature", "string_to_sign"):
        if isinstance(out.get(name), str) and len(out[name]) > limit:
            out[name] = wire.clip(out[name], limit)
    if isinstance(out.get("headers"), dict):
        out["headers"] = {
            wire.clip(k, wire.TYPE_LIMIT): wire.clip(v, limit)
            for k, v in list(out["headers"].items())[: wire.ITEMS_LIMIT]
        }
    if isinstance(out.get("body"), dict):
        out["body"] = wire.clip_json(out["body"], limit)
    return out


def _header(headers: dict[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (HTTP header names are)."""
    return next((v for k, v in headers.items() if k.lower() == name), None)


class Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def flags(self) -> tuple[str, ...]: ...


class Listing(Protocol):
    """What judging needs of a runner's known divergences (expectations.Expectations)."""

    def find(self, v: Any, stage: Stage | None = None, diagnosis: Any = ()) -> Any: ...


AGAIN = "asked again for this identity in the same process"
AFTER_RESTART = "asked again after the runner's process was restarted"


@dataclass
class Use:
    """A nonce as first seen: by which request, in which process of the runner, in which token."""

    key: str  # the request key that used it first
    process: int  # 1 for the runner's first process, 2 after the harness restarted it
    token: tuple[int | None, str | None]  # (expire_time, signature) of that token
    keys: set[str]  # every request key that used it
    repeated: bool = False  # used again within the process that made it first


@dataclass
class Judge:
    """Checks one runner's tokens. Keeps the nonces it has seen: a nonce may appear once per run."""

    expectations: Listing
    window: int = WINDOW
    allow_never: bool = False  # expire_time 0 passes (the documentation allows it, discouraged)
    clock: Callable[[], float] = time.time
    seen: dict[str, Use] = field(default_factory=dict)  # nonce -> its first use
    excused: dict[Any, int] = field(default_factory=dict)  # known-divergence entry -> checks it excused
    process: int = 1  # which process of the runner answers now (restarted() counts)

    def restarted(self) -> None:
        """The runner's process was replaced by a new one: what it answers next comes from that one."""
        self.process += 1

    def again(self, first: TokenResult, o: TokenOutcome, why: str) -> TokenResult:
        """`first` (the identity's judged first token) with a later token for the same identity checked for
        reuse (`why`: AGAIN or AFTER_RESTART); a failure lands at its token-nonce-reused check. A later reply
        that is no token (refused, a fault) adds nothing: the first reply was judged on every stage."""
        if first.outcome.fault is not None or first.outcome.error is not None or o.nonce is None:
            return first
        diag, detail = self._reuse(o)
        if diag is None:
            return first
        checks = []
        for c in first.checks:
            if c.stage is Stage.TOKEN_NONCE_REUSED:
                both = tuple(dict.fromkeys((*c.diagnosis, *diag)))
                said = "; ".join(d for d in (c.detail, f"{why}: {detail}") if d)
                c = self._excuse(first.outcome.request, c.stage, both, said)
            checks.append(c)
        return self._verdict(first.outcome, checks)

    # replaces the run's nonce memory (the endpoint's: whole tokens and nonces seen across client processes)
    memory: Callable[[TokenOutcome], tuple[tuple[str, ...] | None, str | None]] | None = None

    def judge(self, o: TokenOutcome, extra: tuple[tuple[Stage, tuple[str, ...], str], ...] = ()) -> TokenResult:
        """The token's checks, and `extra` failed ones (stage, diagnosis, detail) that only its caller sees."""
        if o.fault is not None:
            return TokenResult(o, Judgement(Verdict.RUNNER_FAULT, reason=o.fault))
        if o.error is not None:  # every token request can be signed: a refusal is a failure
            return TokenResult(o, Judgement(Verdict.FAIL, Stage.UNEXPECTED_ERROR, reason=o.error["type"]))
        assert o.nonce is not None and o.expire_time is not None  # outcome() made a fault otherwise
        raw = [
            (Stage.TOKEN_SIGNATURE, *self._signature(o)),
            (Stage.TOKEN_NONCE, *self._nonce(o.nonce)),
            (Stage.TOKEN_NONCE_REUSED, *self._reuse(o)),
            (Stage.TOKEN_EXPIRY, *self._expiry(o.expire_time, o.expire_sent)),
        ]
        if o.headers is not None:
            raw.append((Stage.TOKEN_HEADER, *self._header(o)))
        if o.body is not None:
            raw.append((Stage.TOKEN_BODY, *self._body(o)))
        raw.extend(extra)
        return self._verdict(o, [self._excuse(o.request, stage, diag, detail) for stage, diag, detail in raw])

    def _verdict(self, o: TokenOutcome, checks: list[Check]) -> TokenResult:
        """The token's verdict: its first unexcused failing check, else its first excused one, else a pass."""
        failing = [c for c in checks if c.verdict is Verdict.FAIL]
        known = [c for c in checks if c.verdict is Verdict.KNOWN_DIVERGENCE]
        if failing:
            return TokenResult(o, Judgement(Verdict.FAIL, failing[0].stage, reason=failing[0].detail), checks)
        if known:
            return TokenResult(o, Judgement(Verdict.KNOWN_DIVERGENCE, known[0].stage, reason=known[0].reason), checks)
        listed = self.expectations.find(o.request, None, ())
        if listed is not None:  # named as divergent, yet every check passes: the list is stale
            return TokenResult(o, Judgement(Verdict.UNEXPECTED_PASS, reason=listed.reason), checks)
        return TokenResult(o, Judgement(Verdict.PASS), checks)

    def _excuse(self, request: TokenRequest, stage: Stage, diag: tuple[str, ...] | None, detail: str | None) -> Check:
        if diag is None:  # the stage holds (one shared, frozen Check a stage: the endpoint keeps every result)
            return _PASSED[stage]
        entry = self.expectations.find(request, stage, diag)
        if entry is None or (entry.stage is not None and entry.stage is not stage):
            return Check(stage, Verdict.FAIL, diag, detail)
        self.excused[entry] = self.excused.get(entry, 0) + 1
        return Check(stage, Verdict.KNOWN_DIVERGENCE, diag, detail, entry.reason)

    # each check: (None, None) when it holds, else (diagnosis ids, what was seen)

    @staticmethod
    def _signature(o: TokenOutcome) -> tuple[tuple[str, ...] | None, str | None]:
        assert o.nonce is not None and o.expire_time is not None
        fields = o.request.fields(o.expire_time, o.nonce)
        data, sig, why = scheme.oracle(fields, o.request.app_key)
        if sig is not None and o.signature == sig and o.string_to_sign in (None, data):
            return None, None
        if sig is None:
            return (), f"the reported inputs cannot be signed ({why})"
        found = diagnosis.diagnose(fields, o.request.app_key, o.string_to_sign, o.signature, oracle=(data, sig))
        seen = f"signature {o.signature!r}" if o.signature != sig else f"string to sign {o.string_to_sign!r}"
        return tuple(m.id for m in found), f"{seen}; the oracle's for the reported nonce and expiry is {sig}"

    @staticmethod
    def _nonce(nonce: str) -> tuple[tuple[str, ...] | None, str | None]:
        n = len(nonce)
        if NONCE_MIN <= n <= NONCE_MAX:
            return None, None
        which = "nonce-empty" if n == 0 else "nonce-too-short" if n < NONCE_MIN else "nonce-too-long"
        return (which,), f"a nonce of {n} characters; the documentation asks for {NONCE_MIN} to {NONCE_MAX}"

    def _reuse(self, o: TokenOutcome) -> tuple[tuple[str, ...] | None, str | None]:
        """A nonce seen before: made first by an earlier process of the runner, and once only there (a
        generator seeded the same in every process); the same whole token for the same identity, its nonce
        used by no other (a cached token); else a nonce used twice in the process (a fixed nonce...)."""
        assert o.nonce is not None
        if self.memory is not None:
            return self.memory(o)
        key, token = o.request.key, (o.expire_time, o.signature)
        use = self.seen.get(o.nonce)
        if use is None:
            self.seen[o.nonce] = Use(key, self.process, token, {key})
            return None, None
        use.keys.add(key)
        shown = untrusted.cut(repr(o.nonce), 72)
        if use.process < self.process and not use.repeated:
            return ("nonce-repeats-per-process",), (
                f"nonce {shown} was made by the runner's process {use.process} already (for {use.key}); "
                f"process {self.process} made it again: its nonce sequence repeats per process"
            )
        if use.process == self.process:
            use.repeated = True
        if use.key == key and use.token == token and use.keys == {key}:
            return ("token-reused",), (
                f"the same token as before for this identity (nonce {shown}, expire_time {o.expire_time}, "
                "the same signature): a token handed back again, not a new one"
            )
        return ("nonce-repeated",), f"nonce {shown} was already used for {use.key}"

    def _expiry(self, t: int, sent: object = None) -> tuple[tuple[str, ...] | None, str | None]:
        if sent is not None:
            kind = "text" if isinstance(sent, str) else "a float"
            return ("expire-not-integer",), (
                f"expire_time {untrusted.cut(repr(sent), 60)} is {kind}, not an integer; ExpireTime is whole Unix "
                "seconds (an integer in the reply and in the body's expireTime)"
            )
        if type(t) is not int:  # a caller judging directly (not through the session) may pass text
            return (
                "expire-not-integer",
            ), f"expire_time {untrusted.cut(repr(t), 60)} is not an integer of Unix seconds"
        now = self.clock()
        if t == 0:
            if self.allow_never:
                return None, None
            return (
                "expire-never",
            ), "expire_time 0: the token never expires (run with --allow-never-expires to accept it)"
        if now < t <= now + self.window:
            return None, None
        if now < t / 1000 <= now + self.window:
            return ("expire-in-milliseconds",), f"expire_time {t}: {t / 1000:.0f} in seconds would be right"
        if now < t / 1_000_000 <= now + self.window:
            return ("expire-in-microseconds",), f"expire_time {t}: {t / 1e6:.0f} in seconds would be right"
        if t <= now:
            return ("expire-in-past",), f"expire_time {t} is {now - t:.0f} s in the past by the harness's clock"
        return ("expire-beyond-window",), f"expire_time {t} is {t - now:.0f} s ahead; the window is {self.window} s"

    @staticmethod
    def _header(o: TokenOutcome) -> tuple[tuple[str, ...] | None, str | None]:
        assert o.headers is not None
        value = _header(o.headers, "authorization")
        problems: list[tuple[str, str]] = []
        if value is None:
            problems.append(("header-missing", f"no Authorization header among {sorted(o.headers)}"))
        else:
            m = HEADER.fullmatch(value)
            if m is None:
                problems.append(("header-malformed", f"Authorization {value[:120]!r} is not {HEADER_SHAPE}"))
            else:
                if m.group(1) != o.signature:
                    problems.append(("header-signature-differs", f"signature={m.group(1)[:80]!r} in the header"))
                want = base64.b64encode(o.request.app_id.encode("utf-8", "surrogatepass")).decode("ascii")
                if m.group(2) is None:
                    problems.append(("header-access-missing", f"Authorization {value[:120]!r} has no access="))
                elif m.group(2) != want:
                    problems.append(("header-access-wrong", f"access={m.group(2)[:80]!r}, not {want!r}"))
        token_type = _header(o.headers, "x-token-type")
        if token_type is not None and token_type != "LongTicket":
            problems.append(("header-token-type", f"X-Token-Type {token_type!r}"))
        if not problems:
            return None, None
        return tuple(p for p, _ in problems), "; ".join(d for _, d in problems)

    @staticmethod
    def _body(o: TokenOutcome) -> tuple[tuple[str, ...] | None, str | None]:
        assert o.body is not None
        problems: list[tuple[str, str]] = []
        want: dict[str, object] = {"nonce": o.nonce, "expireTime": o.expire_time}
        signed = ("app_id", *scheme.CARRIES[scheme.Mode(o.request.mode)])  # an id the mode does not sign is free
        for name, attr in BODY_FIELDS.items():
            if attr in signed:
                want[name] = getattr(o.request, attr)
        for name, value in want.items():
            if name not in o.body:
                if value == "":  # an empty id may be left out
                    continue
                problems.append(("body-field-missing", f"no {name}"))
                continue
            got = o.body[name]
            if got is None and value == "":
                continue  # null for an empty id (the vendor SDK sends corpId null in single-tenant mode)
            if got != value or type(got) is not type(value):
                problems.append(("body-field-differs", f"{name} {got!r} where {value!r} was signed"))
        if type(o.body.get("clientType")) is not int:
            problems.append(("body-client-type", f"clientType {o.body.get('clientType')!r}"))
        if not problems:
            return None, None
        return tuple(dict.fromkeys(p for p, _ in problems)), "; ".join(d for _, d in problems)


Made = dict[str, list[tuple[Any, str]]]  # runner -> (nonce as recorded: results.value, the request key it came with)


def made(judges: dict[str, Judge]) -> dict[str, list[tuple[str, str]]]:
    """Every nonce each runner's processes made in this harness process (its Judge saw them), first use."""
    return {name: [(nonce, use.key) for nonce, use in j.seen.items()] for name, j in judges.items()}


def across(parts: list[tuple[str, list[OutcomeRecord]]], made: list[Made] | None = None) -> list[list[OutcomeRecord]]:
    """The outcome records (results.json) of the parts of one run, each part with its own runner processes
    (`--shard` runs, pytest-xdist workers), given as (label, records): each part's records again, with a
    token whose nonce a runner's token in an earlier part already had failing at token-nonce-reused:
    `nonce-repeats-per-process` (the part's process made another part's nonce), or `nonce-repeated` where
    either part has that nonce more than once (a fixed nonce, which each part already fails on its own).
    `made` (xdist: a worker's runners answer more requests than it records, the workers' batches overlap):
    per part, every nonce its processes made; a recorded nonce another part's processes made fails too."""
    uses: Counter[tuple[str, str, int]] = Counter()  # (runner, nonce, part) -> records with it
    first: dict[tuple[str, str], tuple[int, str]] = {}  # (runner, nonce) -> (part, request key) that had it first
    for i, (_, records) in enumerate(parts):
        for rec in records:
            nonce = _nonce_of(rec)
            if nonce is not None:
                uses[rec["runner"], nonce, i] += 1
                first.setdefault((rec["runner"], nonce), (i, rec["vector"]))
    elsewhere: dict[tuple[str, str], dict[int, str]] = {}  # (runner, nonce) -> part whose processes made it -> key
    for i, m in enumerate(made or []):
        for runner, nonces in m.items():
            for nonce, key in nonces:
                elsewhere.setdefault((runner, json.dumps(nonce, sort_keys=True)), {}).setdefault(i, key)
    out = []
    for i, (_, records) in enumerate(parts):
        mine = []
        for rec in records:
            nonce = _nonce_of(rec)
            had = first.get((rec["runner"], nonce)) if nonce is not None else None
            if nonce is not None and (had is None or had[0] == i):
                other = sorted((j, key) for j, key in elsewhere.get((rec["runner"], nonce), {}).items() if j != i)
                had = other[0] if other else had  # not recorded there, made there all the same
            if nonce is not None and had is not None and had[0] != i:
                j, key = had
                fixed = uses[rec["runner"], nonce, j] > 1 or uses[rec["runner"], nonce, i] > 1
                said = f"nonce {json.loads(nonce)!r:.80} is in {parts[j][0]} too (for {key}), made by another process"
                rec = _failed(rec, "nonce-repeated" if fixed else "nonce-repeats-per-process", said)
            mine.append(rec)
        out.append(mine)
    return out


def _nonce_of(rec: OutcomeRecord) -> str | None:
    """A token record's nonce as a comparable key (its text notation as JSON), or None."""
    token = rec.get("token", {})
    if not rec["vector"].startswith("token/") or "nonce" not in token:
        return None
    return json.dumps(token["nonce"], sort_keys=True)


def _failed(rec: OutcomeRecord, mistake: str, detail: str) -> OutcomeRecord:
    """A copy of a token record with its token-nonce-reused check failing with `mistake`; its verdict, stage
    and reason those of its first failing check."""
    rec = copy.deepcopy(rec)
    checks = rec.setdefault("checks", [])
    check = next((c for c in checks if c["stage"] == Stage.TOKEN_NONCE_REUSED.value), None)
    if check is None:
        check = cast(CheckRecord, {"stage": Stage.TOKEN_NONCE_REUSED.value})
        checks.append(check)
    check.pop("reason", None)
    check["verdict"] = Verdict.FAIL.value
    check["diagnosis"] = list(dict.fromkeys([*check.get("diagnosis", []), mistake]))
    check["detail"] = "; ".join(d for d in (check.get("detail"), detail) if d)[:500]
    order = [s.value for s in STAGES]
    checks.sort(key=lambda c: order.index(c["stage"]))
    failing = next(c for c in checks if c["verdict"] == Verdict.FAIL.value)
    rec["verdict"], rec["stage"], rec["reason"] = Verdict.FAIL.value, failing["stage"], failing.get("detail", "")
    return rec

"""The plain types every part of the suite shares: vectors, runners, outcomes, verdicts, and the
protocols of a backend and the runner processes it starts.

No I/O here and nothing that starts a thread or a process: I/O modules import this one,
never the other way round. The formula's own types (Mode, Fields) live in scheme.py, the
wire encoding of a request in protocol.py.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypedDict

from appauth_conformance.core import scheme, wire
from appauth_conformance.core.scheme import MODES, Mode

__all__ = [
    "FAILING",
    "MODES",
    "RESULTS",
    "TEXT_FIELDS",
    "Backend",
    "Check",
    "Corpus",
    "Fault",
    "HmacCheck",
    "Judgement",
    "Mode",
    "Outcome",
    "Process",
    "Reader",
    "Result",
    "RunnerError",
    "RunnerSpec",
    "Stage",
    "TokenOutcome",
    "TokenRequest",
    "TokenResult",
    "Tool",
    "Vector",
    "Verdict",
    "Writer",
]

TEXT_FIELDS = ("app_id", "corp_id", "user_id", "nonce", "app_key")  # the text inputs, in wire order
RESULTS = ("valid", "invalid", "acceptable")  # what a vector asks of a conforming signer


class Verdict(str, Enum):
    """What one (vector, runner) outcome amounts to (docs/gate.md)."""

    PASS = "pass"
    FAIL = "fail"
    KNOWN_DIVERGENCE = "known-divergence"  # fails, as the runner's known-divergence list says it does
    UNEXPECTED_PASS = "unexpected-pass"  # listed as divergent but passes: the list is stale (fails the run)
    RUNNER_FAULT = "runner-fault"  # crash, hang, protocol violation
    SKIPPED = "skipped"  # runner unavailable here
    UNSUPPORTED = "unsupported"  # the runner declares it does not do this (an op or a mode): not measured, not failed


class Stage(str, Enum):
    """Where a failing outcome first went wrong, in the order stages are judged."""

    STRING_TO_SIGN = "string-to-sign"
    SIGNATURE = "signature"
    UNEXPECTED_ERROR = "error-where-none-was-due"
    UNEXPECTED_SIGNATURE = "signature-where-refusal-was-due"
    # a token (the runner's code chose nonce and expiry): each is checked, each with its own verdict
    TOKEN_SIGNATURE = "token-signature"  # the signature matches the oracle for the reported inputs
    TOKEN_NONCE = "token-nonce"  # 32 to 64 characters
    TOKEN_NONCE_REUSED = "token-nonce-reused"  # never seen before in the run
    TOKEN_EXPIRY = "token-expiry"  # integer seconds, in the future, within the window, not 0
    TOKEN_HEADER = "token-header"  # the Authorization header has the documented shape
    TOKEN_BODY = "token-body"  # the request body repeats the signed fields


FAILING = frozenset({Verdict.FAIL, Verdict.UNEXPECTED_PASS, Verdict.RUNNER_FAULT})


# -- the corpus ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Vector:
    """One test vector, its text decoded to Python strings (which may hold lone surrogates)."""

    id: str
    file: str
    line: int
    description: str
    mode: str
    app_id: str
    corp_id: str
    user_id: str
    expire_time: int
    nonce: str
    app_key: str
    result: str
    flags: tuple[str, ...]
    string_to_sign: str | None
    signature: str | None

    @property
    def key(self) -> str:
        """The display id, `mode/id`, used in test ids and reports."""
        return f"{self.mode}/{self.id}"

    @property
    def fields(self) -> scheme.Fields:
        return scheme.Fields(Mode(self.mode), self.app_id, self.corp_id, self.user_id, self.expire_time, self.nonce)

    @cached_property
    def request_body(self) -> bytes:
        """The wire fields after `"seq":N,`, encoded once and reused by every session."""
        return wire.request_body(
            self.mode, self.app_id, self.corp_id, self.user_id, self.expire_time, self.nonce, self.app_key
        )

    op = "sign"  # the request a runner gets for it
    request_template = wire.SIGN_REQUEST

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (strings may hold lone surrogates; json.dumps escapes them)."""
        return {
            "id": self.id,
            "mode": self.mode,
            "description": self.description,
            "inputs": {name: getattr(self, name) for name in (*TEXT_FIELDS[:3], "expire_time", *TEXT_FIELDS[3:])},
            "result": self.result,
            "flags": list(self.flags),
            "expected": {
                k: v
                for k, v in (("string_to_sign", self.string_to_sign), ("signature", self.signature))
                if v is not None
            },
        }


@dataclass(frozen=True, eq=False)
class TokenRequest:
    """A token request derived from a corpus vector: its mode, ids and key, no nonce or expiry (the
    runner's real code chooses those). Keyed `token/<mode>/<vector id>`."""

    id: str  # the vector's id
    file: str
    line: int
    description: str
    mode: str
    app_id: str
    corp_id: str
    user_id: str
    app_key: str
    flags: tuple[str, ...]

    op = "token"
    request_template = wire.TOKEN_REQUEST

    @property
    def key(self) -> str:
        return f"token/{self.mode}/{self.id}"

    @cached_property
    def request_body(self) -> bytes:
        return wire.token_body(self.mode, self.app_id, self.corp_id, self.user_id, self.app_key)

    def fields(self, expire_time: int, nonce: str) -> scheme.Fields:
        """The signed fields, with the nonce and expiry the runner chose."""
        return scheme.Fields(Mode(self.mode), self.app_id, self.corp_id, self.user_id, expire_time, nonce)


@dataclass(frozen=True)
class HmacCheck:
    """A raw HMAC-SHA256 known answer (RFC 4231), checked by the oracle and openssl."""

    id: str
    file: str
    key: bytes
    data: bytes
    signature: str


@dataclass(frozen=True)
class Tombstone:
    """A vector id that was published and then removed: never reused (vectors/retired.json)."""

    id: str
    reason: str
    retired_in: str  # the appauth-conformance version that removed it


@dataclass
class Corpus:
    vectors: list[Vector]
    notes: dict[str, dict[str, str]]  # file -> flag -> note
    hmac_checks: list[HmacCheck] = field(default_factory=list)
    retired: dict[str, Tombstone] = field(default_factory=dict)  # id -> its tombstone

    @cached_property
    def digest(self) -> str:
        """sha256 over the canonical JSON of every vector: the corpus identity in reports."""
        h = hashlib.sha256()
        for v in sorted(self.vectors, key=lambda v: v.key):
            h.update(json.dumps(v.to_json(), sort_keys=True, ensure_ascii=True).encode())
            h.update(b"\n")
        return h.hexdigest()

    def by_key(self) -> dict[str, Vector]:
        return {v.key: v for v in self.vectors}


# -- runners ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """An executable a runner needs, and the Debian package that provides it."""

    command: str
    debian_package: str
    header: str | None = None  # a C/C++ header the build includes, checked with the compiler


@dataclass(frozen=True)
class RunnerSpec:
    """How to build and start one runner; the registry (runners.py) and the user's declarations make them."""

    name: str  # e.g. java-reference; appears in test ids and reports
    language: str
    command: tuple[str, ...]  # argv, run in the build dir; "{python}" (here and in build) is the harness's interpreter
    source: Path | None = None  # folder copied into the build dir; None: run in workdir as is
    build: tuple[tuple[str, ...], ...] = ()
    tools: tuple[Tool, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    divergences: Path | None = None  # known-divergences.yaml
    aliases: tuple[str, ...] = ()
    docker: dict[str, Any] | None = None  # image/Dockerfile settings, read by the Docker backend
    builtin: bool = False
    family: str | None = None  # for a variant (e.g. cpp-openssl-1.1.1): the runner whose divergence list it shares
    group: str = "reference"  # what it is: reference (a documented snippet), vendor-sdk, or declared by the user
    # what it answers (sign, token) when known before its hello, as for the built-ins: the pytest plugin
    # collects its items without starting it; None (a declared runner): its hello says, once it starts
    ops: tuple[str, ...] | None = None
    # an endpoint client (`endpoint = true`): the config file that declares it and the apps it signs for. Never
    # started as a runner: its command calls the verifying endpoint, and the front ends judge its requests
    client_of: Path | None = None

    @property
    def declared(self) -> bool:
        """Declared by the user (--runner, a config file), not shipped with the suite."""
        return self.group == "declared"

    def argv(self) -> list[str]:
        return [a.replace("{python}", sys.executable) for a in self.command]

    def build_argvs(self) -> list[list[str]]:
        return [[a.replace("{python}", sys.executable) for a in argv] for argv in self.build]


# -- backends: how a runner is built and started (appauth_conformance.execution.backends) ---------------------
# Defined here, below both the backends and the session (sibling layers that must not import each
# other), so that both can name them; appauth_conformance.execution.backends re-exports them.


class Writer(Protocol):
    """A runner's stdin (a pipe, or the Docker backend's attach socket)."""

    def write(self, data: bytes, /) -> int | None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class Reader(Protocol):
    """A runner's stdout or stderr: unbuffered binary reads (the session prefers `read1` where it exists)."""

    def read(self, size: int = -1, /) -> bytes | None: ...
    def close(self) -> None: ...


class Process(Protocol):
    """A started runner, as a backend's start() returns it; subprocess.Popen is the model."""

    @property
    def stdin(self) -> Writer: ...
    @property
    def stdout(self) -> Reader: ...
    @property
    def stderr(self) -> Reader: ...

    def poll(self) -> int | None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def describe_exit(self) -> str: ...

    # yield the CPU to the harness and the other runners (True), or compete with them equally again (False);
    # best effort: where the backend or the kernel cannot, nothing changes (docs/fuzzing.md, "Priority")
    def set_background(self, background: bool) -> None: ...


class Backend(Protocol):
    """Builds and starts runners: on this machine (local) or in a container (docker)."""

    name: str

    # build once; returns the facts for reports (backend, image or build dir)
    def prepare(self, spec: RunnerSpec) -> dict[str, str]: ...
    def start(self, spec: RunnerSpec) -> Process: ...
    def close(self) -> None: ...


# -- outcomes and verdicts -------------------------------------------------------------------------


class RunnerError(TypedDict):
    """A runner's refusal, as a sign response carries it (formats/schemas/protocol.json)."""

    type: str  # the language's exception or error type
    message: str


@dataclass(slots=True)
class Outcome:
    """What one runner did with one vector: a signature, a refusal (error) or a runner fault."""

    vector: Vector
    runner: str
    string_to_sign: str | None = None
    signature: str | None = None
    error: RunnerError | None = None  # the runner refused
    fault: str | None = None  # the runner broke: crash, hang, protocol violation
    stderr_tail: str | None = None


@dataclass(slots=True)
class Fault:
    """A runner fault charged to one request: what broke, and the runner's last words."""

    reason: str
    stderr_tail: str | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    stage: Stage | None = None  # for fail / known-divergence: the first stage that broke
    reason: str | None = None  # the known-divergence reason, the fault, or what broke


@dataclass(slots=True)
class Result:
    """An outcome, its judgement, and the mistakes that explain it (diagnosis ids)."""

    outcome: Outcome
    judgement: Judgement
    diagnosis: list[str] = field(default_factory=list)


# -- tokens: the runner's code chose the nonce and the expiry --------------------------------------


@dataclass(slots=True)
class TokenOutcome:
    """What one runner's code produced for one token request (or its refusal, or a fault)."""

    request: TokenRequest
    runner: str
    nonce: str | None = None
    expire_time: int | None = None
    signature: str | None = None
    string_to_sign: str | None = None
    headers: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    error: RunnerError | None = None
    fault: str | None = None
    stderr_tail: str | None = None
    # the expiry as sent when it was not an integer (1796187713.5, "1796187713"): judged at token-expiry
    expire_sent: Any = None


@dataclass(frozen=True, slots=True)
class Check:
    """One checked property of a token, with its own verdict (pass, fail or known divergence)."""

    stage: Stage
    verdict: Verdict
    diagnosis: tuple[str, ...] = ()
    detail: str | None = None  # what was seen, for people: "expire_time 1796182445123 (milliseconds?)"
    reason: str | None = None  # the known-divergence reason that excused it


@dataclass(slots=True)
class TokenResult:
    """A token outcome, its overall judgement (the first unexcused failing check), and every check."""

    outcome: TokenOutcome
    judgement: Judgement
    checks: list[Check] = field(default_factory=list)

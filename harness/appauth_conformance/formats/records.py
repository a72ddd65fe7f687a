"""The typed model of results.json: one TypedDict per record of `formats/schemas/results.json`.

The Recorder (formats/results.py) builds these records and every reader (report/, report/site/, the
merge, compare) takes them: mypy checks each key a writer sets and a reader reads against this one
model, and tests/test_results_model.py keeps the model and the closed JSON Schema equal (every object,
field, type, required key and enum), so a field added to one only fails there.

Why TypedDict and not dataclasses: the records stay the dicts `json.loads` returns, so reading the
published matrix (megabytes) costs no conversion at all, and what is written is exactly what is read.
"""

# no `from __future__ import annotations`: TypedDict reads Required/NotRequired from evaluated annotations
from typing import Any, Literal, NotRequired, Required, TypeAlias, TypedDict

from appauth_conformance.core.diff import Difference
from appauth_conformance.core.text import Repeat, Utf16

Mode = Literal["single", "sp_user", "sp_corp_admin", "sp_admin"]
Op = Literal["sign", "token"]
Result = Literal["valid", "invalid", "acceptable"]
VerdictName = Literal["pass", "fail", "known-divergence", "unexpected-pass", "runner-fault", "skipped", "unsupported"]
TokenStage = Literal[
    "token-signature", "token-nonce", "token-nonce-reused", "token-expiry", "token-header", "token-body"
]
StageName = Literal[
    "string-to-sign",
    "signature",
    "error-where-none-was-due",
    "signature-where-refusal-was-due",
    "token-signature",
    "token-nonce",
    "token-nonce-reused",
    "token-expiry",
    "token-header",
    "token-body",
]
CheckVerdict = Literal["pass", "fail", "known-divergence"]
Group = Literal["reference", "vendor-sdk", "declared"]


class Truncated(TypedDict):
    """Long text without a run, cut: the first characters and the full length."""

    truncated: str
    length: int


Text: TypeAlias = str | Utf16 | Repeat | Truncated  # the text notation (core/text.py), cut when long


class Tool(TypedDict):
    name: Literal["appauth-conformance"]
    version: str


class CorpusId(TypedDict):
    sha256: str
    vector_count: int


class ShardOf(TypedDict):
    index: int
    count: int


class Shards(TypedDict):
    count: int
    merged: list[int]
    missing: list[int]


class Hello(TypedDict):
    op: Literal["hello"]
    protocol: Literal[1]
    name: str
    language: str
    runtime: str
    library: str
    library_version: str
    details: NotRequired[dict[str, str]]
    ops: NotRequired[list[Op]]
    modes: NotRequired[list[Mode]]


# counts by verdict: the verdicts are not identifiers, so the functional form
Counts = TypedDict(
    "Counts",
    {
        "pass": int,
        "fail": int,
        "known-divergence": int,
        "unexpected-pass": int,
        "runner-fault": int,
        "skipped": int,
        "unsupported": int,
    },
    total=False,
)


class RunnerRecord(TypedDict, total=False):
    name: Required[str]
    language: str
    backend: str
    image: str
    variant: str
    unavailable: str
    hello: Hello
    timings: dict[str, float]
    counts: Required[Counts]
    group: Group


class Inputs(TypedDict, total=False):
    """A vector's inputs; a token request has no expire_time nor nonce (the runner chooses them)."""

    app_id: Required[Text]
    corp_id: Required[Text]
    user_id: Required[Text]
    expire_time: int
    nonce: Text
    app_key: Required[Text]


class Expected(TypedDict, total=False):
    """What the oracle computes (both keys for a sign vector, none for a token request)."""

    string_to_sign: Text | None
    signature: str | None


class VectorRecord(TypedDict):
    id: str
    mode: Mode
    file: str
    line: int
    description: str
    result: Result
    flags: list[str]
    inputs: Inputs
    expected: Expected
    op: NotRequired[Op]


class ErrorRecord(TypedDict):
    type: str
    message: str


class Token(TypedDict, total=False):
    """A token reply: what the runner's code chose and built (a pass keeps only the nonce)."""

    nonce: Text
    expire_time: int
    headers: dict[str, Text]
    body: dict[str, Any]


class CheckRecord(TypedDict):
    """One token check: a stage with its own verdict."""

    stage: TokenStage
    verdict: CheckVerdict
    diagnosis: NotRequired[list[str]]
    detail: NotRequired[str]
    reason: NotRequired[str]


class OutcomeRecord(TypedDict):
    """The judged outcome of one (vector, runner) pair; a pass carries only the first three keys (and a
    token's checks and nonce)."""

    vector: str
    runner: str
    verdict: VerdictName
    stage: NotRequired[StageName]
    reason: NotRequired[str]
    string_to_sign: NotRequired[Text]
    signature: NotRequired[Text]
    error: NotRequired[ErrorRecord]
    fault: NotRequired[str]
    stderr_tail: NotRequired[str]
    difference: NotRequired[Difference]
    diagnosis: NotRequired[list[str]]
    token: NotRequired[Token]
    checks: NotRequired[list[CheckRecord]]


class ResultsDocument(TypedDict):
    """results.json itself."""

    schema: Literal["appauth-conformance/results/3"]  # formats/results.py SCHEMA_ID; readers lift older ids
    tool: Tool
    complete: bool
    started: str
    finished: str
    duration_s: float
    command: list[str]
    corpus: CorpusId
    runners: list[RunnerRecord]
    notes: dict[str, str]
    vectors: dict[str, VectorRecord]
    outcomes: list[OutcomeRecord]
    shard: NotRequired[ShardOf]
    shards: NotRequired[Shards]

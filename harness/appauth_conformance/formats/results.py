"""results.json: the record every run leaves, written atomically (a crash never leaves half a file).

The layout is `formats/schemas/results.json` (documented in docs/reports.md). Passing
outcomes carry no values (they equal the vector's expected ones); every other
outcome carries what the runner produced, the first difference, and the
diagnosis, so the renderings never compute anything again.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final, cast, overload

from appauth_conformance import __version__
from appauth_conformance.core import text
from appauth_conformance.core.diff import first_difference
from appauth_conformance.core.model import Corpus, Judgement, Outcome, Stage, TokenRequest, TokenResult, Vector, Verdict
from appauth_conformance.formats.files import write_json_atomic
from appauth_conformance.formats.records import (
    CheckRecord,
    Mode,
    OutcomeRecord,
    Result,
    ResultsDocument,
    RunnerRecord,
    Text,
    Token,
    VectorRecord,
)

SCHEMA_ID: Final = "appauth-conformance/results/3"
# each version only adds to the one before: an older document reads as it is
READS = ("appauth-conformance/results/1", "appauth-conformance/results/2", SCHEMA_ID)
VALUE_LIMIT = 4096  # longer values without a repeat notation are cut, with their length kept


SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|PRIVATE|CREDENTIAL|API_?KEY|AUTH", re.I)


def _secrets() -> list[str]:
    """Values of environment variables whose names say they are secret (long enough to be worth hiding)."""
    return sorted((v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6), key=len, reverse=True)


def redact(text: str) -> str:
    """Runner stderr can echo the environment; no secret from it reaches a report."""
    for s in _secrets():
        text = text.replace(s, "***")
    return text


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def clock() -> tuple[str, float]:
    """(started, monotonic t0) of a run beginning now: a Recorder made later for the same run (xdist's
    controller merging its workers' parts) takes it as `since`, so the record's times are the run's."""
    return _now(), time.monotonic()


@overload
def value(s: str) -> Text: ...
@overload
def value(s: None) -> None: ...
@overload
def value(s: str | None) -> Text | None: ...
def value(s: str | None) -> Text | None:
    """A string for the record: the text notation for long or surrogate values, cut if still huge."""
    if s is None:
        return None
    enc = text.encode(s)
    if isinstance(enc, str) and len(enc) > VALUE_LIMIT:
        return {"truncated": enc[:VALUE_LIMIT], "length": len(enc)}
    return enc


def vector_record(v: Vector) -> VectorRecord:
    return {
        "id": v.id,
        "mode": cast(Mode, v.mode),
        "file": v.file,
        "line": v.line,
        "description": v.description,
        "result": cast(Result, v.result),
        "flags": list(v.flags),
        "inputs": {
            "app_id": value(v.app_id),
            "corp_id": value(v.corp_id),
            "user_id": value(v.user_id),
            "expire_time": v.expire_time,
            "nonce": value(v.nonce),
            "app_key": value(v.app_key),
        },
        "expected": {"string_to_sign": value(v.string_to_sign), "signature": v.signature},
    }


def token_request_record(r: TokenRequest) -> VectorRecord:
    return {
        "id": r.id,
        "mode": cast(Mode, r.mode),
        "file": r.file,
        "line": r.line,
        "description": r.description,
        "result": "valid",
        "flags": list(r.flags),
        "op": "token",
        "inputs": {
            "app_id": value(r.app_id),
            "corp_id": value(r.corp_id),
            "user_id": value(r.user_id),
            "app_key": value(r.app_key),
        },
        "expected": {},
    }


def token_record(t: TokenResult) -> OutcomeRecord:
    o, j = t.outcome, t.judgement
    rec: OutcomeRecord = {"vector": o.request.key, "runner": o.runner, "verdict": j.verdict.value}
    if j.verdict is Verdict.PASS:  # which stages held (a runner that hands back no header has no header check)
        if t.checks:
            rec["checks"] = [cast(CheckRecord, {"stage": c.stage.value, "verdict": c.verdict.value}) for c in t.checks]
        if o.nonce is not None:  # merging shards compares the nonces of every token (report/merge.py)
            rec["token"] = {"nonce": o_nonce} if (o_nonce := value(o.nonce)) is not None else {}
        return rec
    if j.stage is not None:
        rec["stage"] = j.stage.value
    if j.reason:
        rec["reason"] = redact(j.reason[:2000])
    if o.signature is not None:
        rec["signature"] = value(o.signature)
    if o.string_to_sign is not None:
        rec["string_to_sign"] = value(o.string_to_sign)
    token: Token = {}
    if (nonce := value(o.nonce)) is not None:
        token["nonce"] = nonce
    if o.expire_time is not None:
        token["expire_time"] = o.expire_time
    if o.headers is not None:
        token["headers"] = {k[:200]: value(v) or "" for k, v in o.headers.items()}
    if o.body is not None:
        raw = json.dumps(o.body, ensure_ascii=True)
        token["body"] = o.body if len(raw) <= VALUE_LIMIT else {"truncated": raw[:VALUE_LIMIT], "length": len(raw)}
    if token:
        rec["token"] = token
    if t.checks:
        rec["checks"] = [
            cast(
                CheckRecord,
                {
                    k: v
                    for k, v in (
                        ("stage", c.stage.value),
                        ("verdict", c.verdict.value),
                        ("diagnosis", list(c.diagnosis) if c.diagnosis else None),
                        ("detail", redact(c.detail[:500]) if c.detail else None),
                        ("reason", c.reason),
                    )
                    if v is not None
                },
            )
            for c in t.checks
        ]
    if o.error is not None:
        rec["error"] = {"type": o.error["type"][:200], "message": redact(o.error["message"][:2000])}
    if o.fault is not None:
        rec["fault"] = redact(o.fault)
        rec["stderr_tail"] = redact((o.stderr_tail or "")[-2000:])
    return rec


def outcome_record(o: Outcome, j: Judgement, diagnosis: list[str] | None = None) -> OutcomeRecord:
    rec: OutcomeRecord = {"vector": o.vector.key, "runner": o.runner, "verdict": j.verdict.value}
    if j.verdict is Verdict.PASS:
        return rec
    if j.stage is not None:
        rec["stage"] = j.stage.value
    if j.reason:
        rec["reason"] = j.reason
    if (sts := value(o.string_to_sign)) is not None:
        rec["string_to_sign"] = sts
    if (sig := value(o.signature)) is not None:
        rec["signature"] = sig
    if o.error is not None:
        rec["error"] = {"type": o.error["type"][:200], "message": redact(o.error["message"][:2000])}
    if o.fault is not None:
        rec["fault"] = redact(o.fault)
        rec["stderr_tail"] = redact((o.stderr_tail or "")[-2000:])
    v = o.vector
    if j.stage is Stage.STRING_TO_SIGN and v.string_to_sign is not None and o.string_to_sign is not None:
        rec["difference"] = first_difference(v.string_to_sign, o.string_to_sign)
    elif j.stage is Stage.SIGNATURE and v.signature is not None and o.signature is not None:
        rec["difference"] = first_difference(v.signature, o.signature)
    if diagnosis:
        rec["diagnosis"] = diagnosis
    return rec


class Recorder:
    """Collects a run and writes results.json; `write()` may be called any number of times (checkpoints).

    Runners' threads add outcomes while the main thread may write (an interrupted run writes while a
    session's last batch is still being judged): adding and taking the document's snapshot hold one lock,
    so every outcome written has its vector in `vectors`."""

    def __init__(
        self,
        path: Path,
        corpus: Corpus,
        *,
        backend: str,
        command: list[str] | None = None,
        shard: dict[str, int] | None = None,
        since: tuple[str, float] | None = None,
    ):
        self.path = Path(path)
        self.shard = shard  # {"index": K, "count": N} of a `--shard K/N` run
        self.corpus = corpus
        self.backend = backend
        self.command = command if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
        self.started, self.t0 = since or clock()
        self.runners: dict[str, dict[str, Any]] = {}  # RunnerRecords without counts: document() counts
        self.outcomes: list[OutcomeRecord] = []
        self.token_requests: dict[str, TokenRequest] = {}
        self.vector_records: dict[str, VectorRecord] = {}  # records of vectors that came with merged outcomes
        self._corpus_records: dict[str, VectorRecord] = {}  # the corpus's vectors' records, made once (prime)
        self.written: ResultsDocument | None = None  # the document of the last write(), as written
        self._lock = threading.Lock()

    def prime(self) -> None:
        """Make now what every write needs of the corpus (its digest, its vectors' records: ~0.1 s for the
        bundled corpus, whose megabyte values take the repeat notation): called while the runners answer,
        it is no longer paid at the end of the run."""
        self.corpus.digest  # noqa: B018 - a cached property: computed here, once
        for v in self.corpus.vectors:
            self._vector_record(v)

    def _vector_record(self, v: Vector) -> VectorRecord:
        rec = self._corpus_records.get(v.key)
        if rec is None:
            rec = self._corpus_records[v.key] = vector_record(v)
        return rec

    def runner(
        self,
        name: str,
        language: str,
        *,
        group: str | None = None,
        hello: dict | None = None,
        facts: dict | None = None,
        unavailable: str | None = None,
    ) -> None:
        with self._lock:
            rec = self.runners.setdefault(name, {"name": name})
            rec.update(language=language, backend=self.backend)
            if group is not None:
                rec["group"] = group
            if hello is not None:
                rec["hello"] = hello
            if facts:
                rec.update({k: v for k, v in facts.items() if k in ("image", "variant", "backend")})
            if unavailable is not None:
                rec["unavailable"] = unavailable

    def timing(self, name: str, key: str, seconds: float) -> None:
        with self._lock:
            self.runners.setdefault(name, {"name": name}).setdefault("timings", {})[key] = round(seconds, 4)

    def add(self, outcome: Outcome, judgement: Judgement, diagnosis: list[str] | None = None) -> None:
        rec = outcome_record(outcome, judgement, diagnosis)
        with self._lock:
            self.outcomes.append(rec)

    def add_token(self, t: TokenResult) -> None:
        rec = token_record(t)
        with self._lock:
            self.token_requests.setdefault(t.outcome.request.key, t.outcome.request)
            self.outcomes.append(rec)

    def add_record(self, rec: OutcomeRecord, vector: VectorRecord | None = None) -> None:
        """An outcome record of another results.json (a part under xdist), with that file's record of its
        vector: a token request's is not in the corpus, so it must travel with the outcome."""
        with self._lock:
            if vector is not None and rec["vector"] not in self.vector_records:
                self.vector_records[rec["vector"]] = vector
            self.outcomes.append(rec)

    def document(self, complete: bool) -> ResultsDocument:
        with self._lock:  # one consistent snapshot: outcomes added meanwhile go to the next write
            outcomes = list(self.outcomes)
            token_requests = dict(self.token_requests)
            merged = dict(self.vector_records)
            runners_seen = {
                name: {**r, **({"timings": dict(r["timings"])} if "timings" in r else {})}
                for name, r in self.runners.items()
            }
        counts: dict[str, Counter] = {}
        for o in outcomes:
            counts.setdefault(o["runner"], Counter())[o["verdict"]] += 1
        runners = [cast(RunnerRecord, {**r, "counts": dict(counts.get(name, {}))}) for name, r in runners_seen.items()]
        used = {o["vector"] for o in outcomes}
        notes: dict[str, str] = {}
        for file_notes in self.corpus.notes.values():
            notes.update(file_notes)
        return {
            "schema": SCHEMA_ID,
            "tool": {"name": "appauth-conformance", "version": __version__},
            "complete": complete,
            "started": self.started,
            "finished": _now(),
            "duration_s": round(time.monotonic() - self.t0, 3),
            "command": [redact(a) for a in self.command],
            "corpus": {"sha256": self.corpus.digest, "vector_count": len(self.corpus.vectors)},
            "runners": runners,
            "notes": notes,
            "vectors": {
                **{k: v for k, v in merged.items() if k in used},
                **{v.key: self._vector_record(v) for v in self.corpus.vectors if v.key in used},
                **{k: token_request_record(r) for k, r in token_requests.items() if k in used},
            },
            "outcomes": outcomes,
            **({"shard": self.shard} if self.shard else {}),  # type: ignore[typeddict-item]
        }

    def write(self, complete: bool = True) -> Path:
        doc = self.document(complete)
        write_json_atomic(self.path, doc)
        self.written = doc  # the reports render it without reading the file back
        return self.path

"""Judging one outcome: what the vector asks for, what the runner did, what is known about the runner.

Stages are judged in order, so a failure points at the first thing that went
wrong: the string to sign (field joining) before the signature (encoding,
hashing, hex).
"""

from __future__ import annotations

from typing import Protocol

from appauth_conformance.core.model import Judgement, Outcome, Stage, Verdict


class Listed(Protocol):
    """What judging reads of a known-divergence entry (expectations.Divergence)."""

    @property
    def reason(self) -> str: ...
    @property
    def stage(self) -> Stage | None: ...


def conformance(outcome: Outcome) -> Stage | None:
    """None if the outcome conforms to its vector, else the first stage that broke."""
    v = outcome.vector
    if outcome.error is not None:
        return Stage.UNEXPECTED_ERROR if v.result == "valid" else None
    if v.result == "invalid":
        return Stage.UNEXPECTED_SIGNATURE
    if outcome.string_to_sign is not None and outcome.string_to_sign != v.string_to_sign:
        return Stage.STRING_TO_SIGN
    if outcome.signature != v.signature:
        return Stage.SIGNATURE
    return None


def judge(outcome: Outcome, divergence: Listed | None = None) -> Judgement:
    """The verdict for one outcome; `divergence` is the matching known-divergence entry, if any."""
    if outcome.fault is not None:
        return Judgement(Verdict.RUNNER_FAULT, reason=outcome.fault)
    stage = conformance(outcome)
    if divergence is None:
        return Judgement(Verdict.PASS) if stage is None else Judgement(Verdict.FAIL, stage)
    if stage is None:
        return Judgement(Verdict.UNEXPECTED_PASS, reason=divergence.reason)
    if divergence.stage is not None and divergence.stage != stage:
        # listed, but failing differently than the list says: a new failure, not the known one
        return Judgement(
            Verdict.FAIL, stage, reason=f"listed as failing at {divergence.stage.value}, fails at {stage.value}"
        )
    return Judgement(Verdict.KNOWN_DIVERGENCE, stage, reason=divergence.reason)

"""The staged, compact explanation of one non-passing result, for pytest and the CLI.

Every value a runner chose (its strings, signatures, errors, faults, stderr) is shown through
appauth_conformance.core.untrusted: escaped, one line each, never at the start of a line."""

from __future__ import annotations

from collections.abc import Sequence

from appauth_conformance.core import faults, untrusted
from appauth_conformance.core.diff import first_difference
from appauth_conformance.core.model import Judgement, Result, RunnerSpec, Stage, TokenResult, Verdict
from appauth_conformance.core.untrusted import quoted as short
from appauth_conformance.corpus.expectations import update_command
from appauth_conformance.judging import diagnosis


def kind(runner: str, j: Judgement, found: Sequence[str]) -> tuple:
    """What makes two failures the same kind, for explaining only the first of each in full (pytest and
    `appauth-conformance run` alike): runner, verdict, stage, diagnoses, and a fault's cause (a crashing
    runner is one kind, however many restarts it took)."""
    cause = faults.cause(j.reason or "").label if j.verdict is Verdict.RUNNER_FAULT else None
    return (runner, j.verdict, j.stage, tuple(found), cause)


def _fault_lines(fault: str | None, stderr_tail: str | None) -> list[str]:
    lines = [f"  RUNNER FAULT ({faults.cause(fault or '').label}): {untrusted.line(fault, 500)}"]
    if stderr_tail and stderr_tail.strip():
        lines.append("  last lines of its stderr:")
        lines += untrusted.block(stderr_tail)
    else:
        lines.append("  (nothing on its stderr)")
    return lines


def _difference_lines(expected: str, actual: str) -> list[str]:
    d = first_difference(expected, actual)
    pad = " " * (3 * d["marker"])
    return [
        f"  first difference at char {d['position']} (byte {d['byte_offset']}; lengths {d['expected_len']} vs {d['actual_len']}):",
        f"    expected bytes: {d['expected_hex']}",
        f"    actual bytes:   {d['actual_hex']}",
        f"                    {pad}^^",
    ]


def explain(
    r: Result, others: list[tuple[str, Result]], spec: RunnerSpec | None = None, run_args: Sequence[str] = ()
) -> str:
    """`run_args`: the run's own selection arguments, carried by the fix command it prints."""
    o, j, v = r.outcome, r.judgement, r.outcome.vector
    head = f"{o.runner} on {v.key} ({v.file}:{v.line}; result: {v.result})"
    lines = [head, f"  {v.description}"]
    if j.verdict is Verdict.RUNNER_FAULT:
        lines += _fault_lines(o.fault, o.stderr_tail)
    elif j.verdict is Verdict.UNEXPECTED_PASS:
        lines.append(
            f"  UNEXPECTED PASS: listed as a known divergence ({untrusted.line(j.reason)}) but it conforms now."
        )
        if spec is not None:
            lines.append(f"  The list is stale: run `{update_command(spec, run_args)}`")
    else:
        stage = j.stage
        assert stage is not None  # fail and known-divergence verdicts always name the stage that broke
        lines.append(f"  FAILED at stage: {stage.value}" + (f" ({untrusted.line(j.reason, 300)})" if j.reason else ""))
        if stage is Stage.STRING_TO_SIGN:
            lines.append(f"  expected string_to_sign: {short(v.string_to_sign)}")
            lines.append(f"  actual   string_to_sign: {short(o.string_to_sign)}")
            # at this stage the runner's string is never None; the vector's may be (none expected)
            if v.string_to_sign is not None and o.string_to_sign is not None:
                lines += _difference_lines(v.string_to_sign, o.string_to_sign)
        elif stage is Stage.SIGNATURE:
            lines.append(f"  string_to_sign: {'matches' if o.string_to_sign is not None else 'not reported'}")
            lines.append(f"  expected signature: {v.signature}")
            lines.append(f"  actual   signature: {short(o.signature)}")
            if v.signature is not None:
                lines += _difference_lines(v.signature, o.signature or "")
        elif stage is Stage.UNEXPECTED_ERROR:
            assert o.error is not None  # the stage of a refusal
            lines.append(
                f"  refused a vector that must be signed: {untrusted.line(o.error['type'], 80)}: "
                f"{short(o.error['message'], 200)}"
            )
            lines.append(f"  expected signature: {v.signature}")
        elif stage is Stage.UNEXPECTED_SIGNATURE:
            lines.append(f"  signed a vector that must be refused: signature {short(o.signature)}")
        if r.diagnosis:
            titles = [f"{m} ({diagnosis.title(m)})" for m in r.diagnosis]
            lines.append("  probable mistake: " + "; ".join(titles))
        if j.verdict is Verdict.KNOWN_DIVERGENCE:
            lines.append(f"  known divergence: {untrusted.line(j.reason, 300)}")
    if others:
        lines.append("  other runners:")
        for name, other in others:
            oo = other.outcome
            what = (
                f"fault: {short(oo.fault, 60)}"
                if oo.fault
                else f"error {untrusted.line(oo.error['type'], 60)}"
                if oo.error
                else f"signature {short(oo.signature, 70)}"
            )
            lines.append(f"    {name:<22} {other.judgement.verdict.value:<17} {what}")
    return "\n".join(lines)


def explain_token(t: TokenResult, spec: RunnerSpec | None = None, run_args: Sequence[str] = ()) -> str:
    """A token's checks: each stage with its verdict, what was seen and the mistakes that explain it."""
    o, j, r = t.outcome, t.judgement, t.outcome.request
    lines = [f"{o.runner} on {r.key} ({r.file}:{r.line}; a token request: its code chose nonce and expiry)"]
    lines.append(f"  {r.description}")
    if j.verdict is Verdict.RUNNER_FAULT:
        lines += _fault_lines(o.fault, o.stderr_tail)
        return "\n".join(lines)
    if o.error is not None:
        lines.append(
            f"  refused a token request: {untrusted.line(o.error['type'], 80)}: {short(o.error['message'], 200)}"
        )
        return "\n".join(lines)
    if j.verdict is Verdict.UNEXPECTED_PASS:
        lines.append(
            f"  UNEXPECTED PASS: listed as a known divergence ({untrusted.line(j.reason)}) but every check holds."
        )
        if spec is not None:
            lines.append(f"  The list is stale: run `{update_command(spec, run_args)}`")
    lines.append(f"  nonce {short(o.nonce, 80)}, expire_time {o.expire_time}, signature {short(o.signature, 80)}")
    if o.headers is not None:
        lines.append(
            "  headers: " + ", ".join(f"{untrusted.line(k, 40)}: {short(v, 120)}" for k, v in o.headers.items())
        )
    for c in t.checks:
        mark = {"pass": "ok  ", "fail": "FAIL", "known-divergence": "known"}[c.verdict.value]
        lines.append(f"  {mark} {c.stage.value}" + (f": {untrusted.line(c.detail, 300)}" if c.detail else ""))
        if c.diagnosis:
            lines.append("         probable mistake: " + "; ".join(f"{d} ({diagnosis.title(d)})" for d in c.diagnosis))
        if c.reason:
            lines.append(f"         known divergence: {untrusted.line(c.reason, 300)}")
    return "\n".join(lines)

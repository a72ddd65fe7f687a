"""`appauth-conformance divergences update`: rewrite a runner's known-divergence list from a fresh run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from appauth_conformance.core.errors import Exit, RunnerUnavailable, UsageError
from appauth_conformance.core.model import Verdict
from appauth_conformance.corpus import expectations
from appauth_conformance.corpus.vectors import flags_checked, load
from appauth_conformance.execution import options as cfg
from appauth_conformance.formats import resources
from appauth_conformance.judging import tokens


def add_parser(sub) -> None:
    div = sub.add_parser("divergences", help="maintain known-divergence files")
    dsub = div.add_subparsers(dest="action", required=True)
    u = dsub.add_parser(
        "update",
        help="rewrite a runner's known-divergence file from a fresh run",
        description="Run the corpus through the selected runners and rewrite each one's known-divergence file: "
        "a declared runner's own file (its `divergences` key, --divergences NAME=PATH, or known-divergences.yaml "
        "in its workdir); for a runner shipped with the suite, runners/NAME/known-divergences.yaml of the suite's "
        "checkout in the current folder (never the installed package). It keeps every entry that excused an "
        "outcome of this run (its reason kept, a TODO one written by --reason), removes the entries that excused nothing (stale), and adds one "
        "entry (match: VECTOR-ID, stage) per new failure. A new entry needs a reason: --reason gives it; without "
        "one it gets `reason: TODO...`, which fails every run (exit 1) until a real reason is written.",
        epilog="Exit codes: 0 rewritten, every entry with a reason; 1 rewritten, with TODO reasons to write; "
        "2 usage or set-up error (an unknown diagnosis id or flag in a file, a runner that cannot start). "
        "Example: appauth-conformance divergences update --lang mine --reason 'the SDK writes upper-case hex'",
    )
    cfg.add_options(u.add_argument, groups=(cfg.SELECT, cfg.BACKEND, cfg.DOCKER, cfg.CORPUS))
    u.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="[KEY=]TEXT",
        help="the reason of the entries added: TEXT for all of them, or KEY=TEXT for those of one vector id "
        "(or mode/id) or diagnosis id; repeatable",
    )
    div.set_defaults(func=cmd_divergences)


def cmd_divergences(a) -> int:
    from appauth_conformance.execution.pipeline import Engine

    reasons = _reasons(a.reason or [])
    opts = cfg.Options.from_namespace(a)
    corpus = load(opts.vectors)
    specs = [s for s in cfg.select_runners(opts) if s.client_of is None]  # an endpoint client's list is by hand
    targets = {s.name: _writable_list(s.divergences) for s in specs if s.divergences is not None}  # before any run
    run_args = opts.rerun_args()
    with Engine(
        specs, cfg.make_backend(opts), timeout=opts.timeout, flags=flags_checked(opts.vectors, corpus)
    ) as engine:
        engine.prepare()
        engine.ensure(corpus.vectors)
        engine.ensure_tokens(tokens.suite(corpus.vectors))  # entries excusing token checks are kept too
    unused = set(reasons) - {None}
    todo_total = 0
    writes: list[tuple] = []
    for _name, st in engine.runners.items():
        if st.unavailable:
            raise RunnerUnavailable(st.unavailable)
        if st.spec.divergences is None:
            continue
        excused = {**st.excused, **(st.judge.excused if st.judge is not None else {})}
        kept: list[dict[str, str | None]] = []
        todo = 0
        for e in st.expectations.entries:
            if excused.get(e):  # it excused outcomes of this run: still true
                reason = e.reason
                if e.placeholder:  # a TODO left by an earlier update: --reason may write it now
                    keys = [k for k in (e.match, e.diagnosis) if k]
                    reason = next((reasons[k] for k in keys if k in reasons), reasons.get(None, e.reason))
                    unused.difference_update(keys)
                    todo += reason == e.reason
                kept.append(
                    {
                        k: v
                        for k, v in (
                            ("match", e.match),
                            ("flag", e.flag),
                            ("diagnosis", e.diagnosis),
                            ("stage", e.stage.value if e.stage else None),
                            ("reason", reason),
                        )
                        if v
                    }
                )
        covered = {k for k, r in st.results.items() if r.judgement.verdict is Verdict.KNOWN_DIVERGENCE}
        new = [r for k, r in st.results.items() if k not in covered and r.judgement.verdict is Verdict.FAIL]
        for r in sorted(new, key=lambda r: r.outcome.vector.key):
            v = r.outcome.vector
            keys = [v.id, v.key, *r.diagnosis]
            given = next((reasons[k] for k in keys if k in reasons), reasons.get(None))
            unused.difference_update(keys)
            if given is None:
                todo += 1
            reason = given or f"{expectations.TODO}: explain why this runner diverges (the run fails until you do)"
            kept.append(
                {
                    "match": v.id,
                    "stage": r.judgement.stage.value if r.judgement.stage else None,
                    "reason": reason,
                }
            )
        removed = len(st.expectations.entries) - (len(kept) - len(new))
        counts = f"{removed} removed, {len(new)} added" + (f", {todo} with reason {expectations.TODO}" if todo else "")
        writes.append((st.spec, targets[st.spec.name], kept, counts))
        todo_total += todo
    if unused:  # before anything is written
        raise UsageError(
            f"--reason: {', '.join(sorted(k for k in unused if k))} names no entry being added or still TODO; "
            "give a vector id or a diagnosis id of one (KEY=TEXT), or TEXT for all of them; nothing was written"
        )
    for spec, target, kept, counts in writes:
        expectations.write(spec, target, kept, run_args)
        print(f"{target}: {len(kept)} entr{'y' if len(kept) == 1 else 'ies'} ({counts})")
    if todo_total:
        print(
            f"error: {todo_total} entr{'y has' if todo_total == 1 else 'ies have'} the placeholder reason "
            f"{expectations.TODO}, which fails every run until it is written: write each `reason:` in "
            f"{', '.join(str(t) for _, t, _, _ in writes)} (why the runner diverges, for a reviewer), or rerun this "
            "command with --reason TEXT (KEY=TEXT gives one vector id or diagnosis id its own)",
            file=sys.stderr,
        )
        return Exit.NONCONFORMING
    return Exit.OK


def _reasons(given: list[str]) -> dict[str | None, str]:
    """--reason values: KEY=TEXT (KEY a vector id, mode/id or diagnosis id) or TEXT (for every new entry)."""
    out: dict[str | None, str] = {}
    for text in given:
        key, sep, rest = text.partition("=")
        key_: str | None = key.strip()
        if sep and re.fullmatch(r"[a-z0-9][a-z0-9_./+-]*", key.strip()):
            value = rest.strip()
        else:
            key_, value = None, text.strip()
        if not value or value.upper().startswith("TODO"):
            raise UsageError(
                f"--reason {text!r}: give the reason itself, e.g. --reason 'the SDK writes upper-case hex'"
            )
        if key_ in out:
            raise UsageError(f"--reason {text!r}: {'a reason for all' if key_ is None else key_} is given twice")
        out[key_] = value
    return out


def _writable_list(path: Path) -> Path:
    """Where `divergences update` writes a list: a declared runner's own file; for a runner shipped with the
    suite, never the installed package but the suite's checkout in the current folder (runners/NAME/...)."""
    if not path.resolve().is_relative_to(resources.RUNNERS.resolve()):
        return path
    rel = path.resolve().relative_to(resources.RUNNERS.resolve())
    local = Path("runners") / rel
    if not local.parent.is_dir():
        raise UsageError(
            f"the known-divergence list of a runner shipped with the suite lives in the suite's repository "
            f"(runners/{rel.as_posix()}); run this command in a checkout of it, or give your own runner's list "
            "with --divergences NAME=PATH"
        )
    return local

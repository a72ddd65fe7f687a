"""The conformance items and the collector that yields them, without building or starting a runner.

One item per (vector, runner that signs), per (token request, runner that answers tokens), per
runner's known-divergence list, and per endpoint client (it runs when its item runs). What a built-in
runner answers is in its spec; a declared runner's is in its hello only, so it gets both kinds of
item, and those of an op its hello leaves out are dropped (not run, not reported) when the runners start (plugin.py's pytest_runtest_protocol).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import BackendGone, UsageError
from appauth_conformance.core.model import Judgement, Outcome, TokenRequest, Vector, Verdict
from appauth_conformance.execution import shards
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.frontends.clients import Client
from appauth_conformance.frontends.pytest_suite import Suite, suite_of
from appauth_conformance.judging import tokens


class ConformanceSuite(pytest.Collector):
    """The corpus times the selected runners: reads the vectors and the runners' specs, starts nothing. It carries
    the `conformance` mark its items inherit (`-m conformance`), set once, not on each of the ~1,400 items."""

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.add_marker("conformance")

    def collect(self) -> Iterator[pytest.Item]:
        suite = suite_of(self.config)
        assert suite is not None  # made only in a conformance run
        vectors, requests = shards.part(suite.corpus.vectors, tokens.suite(suite.corpus.vectors), suite.opts.shard)
        signers = [s for s in suite.specs if s.ops is None or "sign" in s.ops]
        tokeners = [s for s in suite.specs if s.ops is None or "token" in s.ops]
        for v in vectors:
            for spec in signers:
                yield VectorItem.from_parent(self, name=f"test_vector[{spec.name}:{v.key}]", vector=v, runner=spec.name)
        for r in requests:
            for spec in tokeners:
                yield TokenItem.from_parent(self, name=f"test_token[{spec.name}:{r.key}]", request=r, runner=spec.name)
        # a list is judged stale only over the whole corpus (not a shard, not --vectors); one with placeholder
        # reasons (`reason: TODO`) fails in every run
        for spec in suite.specs:
            if suite.full_corpus or suite.expectations[spec.name].placeholders():
                yield DivergenceListItem.from_parent(
                    self, name=f"test_known_divergences[{spec.name}]", runner=spec.name
                )
        for client in suite.clients:  # run when its item runs, like the runners
            yield ClientItem.from_parent(self, name=f"test_endpoint_client[{client.spec.name}]", client=client)


class ConformanceFailure(Exception):
    pass


class OutcomeItem(pytest.Item):
    """One request through one runner; the subclasses say how its result is found and explained."""

    op = "sign"  # what the runner must answer for this item

    def __init__(self, *, runner: str, **kw: Any):
        super().__init__(**kw)
        self.runner = runner

    def answered(self, engine: Engine) -> bool:
        """Whether the started runner answers this item's op, as its hello said (one that did not start
        keeps its sign items only: they fail or skip saying why)."""
        return self.op in engine.runners[self.runner].ops

    def measured(self, engine: Engine) -> bool:
        """Whether this item's outcome is already known (its runtest only looks it up)."""
        raise NotImplementedError

    def _engine(self, suite: Suite) -> Engine:
        engine = suite.start()
        st = engine.runners[self.runner]
        if st.unavailable:
            self._record_skipped(suite, st.unavailable)
            msg = f"runner {self.runner} unavailable: {untrusted.message(st.unavailable)}"
            if st.spec.declared:  # the user's own runner: a typo must not pass the gate
                raise ConformanceFailure(msg + "\n(a declared runner that cannot start fails the run)")
            if suite.opts.require_all:
                raise ConformanceFailure(msg + "\n(--require-all or CI=true: an unavailable runner fails the run)")
            if all(other.unavailable for other in engine.runners.values()):
                raise ConformanceFailure(msg + "\n(no runner could start: nothing was measured)")
            pytest.skip(msg)
        return engine

    def _record_skipped(self, suite: Suite, why: str) -> None:
        """What results.json keeps of an item whose runner could not start (a token item has none)."""

    def _judged(self, suite: Suite, j: Judgement, diagnosis: tuple[str, ...]) -> None:
        """Record the verdict; return on a pass, skip, xfail, or raise the short line when this kind of
        failure was already explained in full (the caller raises the full explanation)."""
        self.user_properties.append(("verdict", j.verdict.value))
        if j.stage is not None:
            self.user_properties.append(("stage", j.stage.value))
        if j.verdict is Verdict.PASS:
            return
        if j.verdict is Verdict.UNSUPPORTED:  # the runner said so in its hello: not a failure
            pytest.skip(f"unsupported: {j.reason}")
        if j.verdict is Verdict.KNOWN_DIVERGENCE:
            assert j.stage is not None  # a known divergence always names the stage that broke
            pytest.xfail(f"known divergence ({j.stage.value}): {j.reason}")
        if not suite.detail(self.runner, j, diagnosis):
            raise ConformanceFailure(
                f"{j.verdict.value}"
                + (f" at {j.stage.value}" if j.stage else "")
                + (f": {untrusted.line(j.reason, 300)}" if j.reason else "")
                + (f" [{', '.join(diagnosis)}]" if diagnosis else "")
                + " (details in results.json / report.html)"
            )

    def _ensure(self, run: Any) -> None:
        try:
            run()
        except BackendGone as e:  # a set-up error, not a verdict: stop the run, keep what was measured
            pytest.exit(f"appauth-conformance: {e}", returncode=2)

    def repr_failure(self, excinfo):
        # xfail too: pytest would otherwise format a traceback (parsing source files) per known divergence
        if isinstance(excinfo.value, (ConformanceFailure, pytest.xfail.Exception)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class VectorItem(OutcomeItem):
    def __init__(self, *, vector: Vector, **kw: Any):
        super().__init__(**kw)
        self.vector = vector

    def runtest(self) -> None:
        suite = suite_of(self.config)
        assert suite is not None  # the items exist only in a conformance run
        engine = self._engine(suite)
        r = engine.result(self.runner, self.vector)
        if r is None:
            self._ensure(lambda: engine.ensure(suite.batch_for(self.vector)))
            r = engine.result(self.runner, self.vector)
            assert r is not None  # ensure() ran the batch, this vector included, through this (available) runner
        if suite.worker and suite.recorder is not None:
            suite.recorder.add(r.outcome, r.judgement, r.diagnosis)
        self._judged(suite, r.judgement, tuple(r.diagnosis))
        if r.judgement.verdict is not Verdict.PASS:
            from appauth_conformance.judging.explain import explain

            raise ConformanceFailure(
                explain(
                    r,
                    engine.others(self.vector, self.runner),
                    engine.runners[self.runner].spec,
                    suite.opts.rerun_args(),
                )
            )

    def measured(self, engine: Engine) -> bool:
        return engine.result(self.runner, self.vector) is not None

    def _record_skipped(self, suite: Suite, why: str) -> None:
        if suite.worker and suite.recorder is not None:  # serial: the engine records it with its batch
            suite.recorder.add(Outcome(self.vector, self.runner), Judgement(Verdict.SKIPPED, reason=why))

    def reportinfo(self):
        return self.vector.file, self.vector.line - 1 if self.vector.line else None, f"{self.runner}:{self.vector.key}"


class TokenItem(OutcomeItem):
    """One token request through one runner that answers tokens: every check of what its code made."""

    op = "token"

    def __init__(self, *, request: TokenRequest, **kw: Any):
        super().__init__(**kw)
        self.request = request

    def runtest(self) -> None:
        suite = suite_of(self.config)
        assert suite is not None  # the items exist only in a conformance run
        engine = self._engine(suite)
        t = engine.token_result(self.runner, self.request)
        if t is None:
            self._ensure(lambda: engine.ensure_tokens(suite.token_batch_for(self.request)))
            t = engine.token_result(self.runner, self.request)
            if t is None:  # the runner went away after its hello
                raise ConformanceFailure(
                    f"runner {self.runner} gave no result: {untrusted.message(engine.runners[self.runner].unavailable or '')}"
                )
        if suite.worker and suite.recorder is not None:
            suite.recorder.add_token(t)
        # the mistakes of the check the verdict names; the other checks' are in the full explanation
        own = next((c.diagnosis for c in t.checks if c.stage is t.judgement.stage), ())
        self._judged(suite, t.judgement, own)
        if t.judgement.verdict is not Verdict.PASS:
            from appauth_conformance.judging.explain import explain_token

            raise ConformanceFailure(explain_token(t, engine.runners[self.runner].spec, suite.opts.rerun_args()))

    def measured(self, engine: Engine) -> bool:
        return engine.token_result(self.runner, self.request) is not None

    def reportinfo(self):
        r = self.request
        return r.file, r.line - 1 if r.line else None, f"{self.runner}:{r.key}"


class _RunnerItem(pytest.Item):
    """An item about one runner as a whole; its failure is the explanation itself, never a traceback."""

    def __init__(self, *, runner: str, **kw: Any):
        super().__init__(**kw)
        self.runner = runner

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class DivergenceListItem(_RunnerItem):
    """Fails when a known-divergence entry's reason is still a placeholder (`reason: TODO...`), or, in a run
    over the whole corpus, names no vector of it or excuses none of the runner's outcomes (a stale list)."""

    def runtest(self) -> None:
        from appauth_conformance.corpus.expectations import placeholder_message, stale_message

        suite = suite_of(self.config)
        assert suite is not None  # the items exist only in a conformance run
        spec = next(s for s in suite.specs if s.name == self.runner)
        engine = suite.start()
        try:
            stale = engine.stale(self.runner, suite.corpus.vectors) if suite.full_corpus else []
        except BackendGone as e:
            pytest.exit(f"appauth-conformance: {e}", returncode=2)
        problems = []
        todo = engine.runners[self.runner].expectations.placeholders()
        if todo:
            problems.append(placeholder_message(spec, todo))
        if stale:
            problems.append(stale_message(spec, stale, suite.opts.rerun_args()))
        if problems:
            raise ConformanceFailure("\n".join(problems))

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        suite = suite_of(self.config)
        assert suite is not None  # the items exist only in a conformance run
        spec = next(s for s in suite.specs if s.name == self.runner)
        return spec.divergences or "", None, f"known divergences of {self.runner}"


class ClientItem(_RunnerItem):
    """A declared endpoint client: runs its command against the verifying endpoint when the item runs (never
    while collecting); fails with each non-conforming request explained, a failed command, or no request."""

    def __init__(self, *, client: Client, **kw: Any):
        super().__init__(runner=client.spec.name, **kw)
        self.client = client

    def runtest(self) -> None:
        suite = suite_of(self.config)
        assert suite is not None  # the items exist only in a conformance run
        suite.start()  # the run's recorder (and its runners, which the first item starts anyway)
        assert suite.recorder is not None  # start() made it, or ended the run
        try:
            got = self.client.run(suite.opts, suite.recorder)
        except UsageError as e:  # e.g. its command cannot start: a set-up error, as for a runner
            pytest.exit(f"appauth-conformance: {self.runner}: {e}", returncode=2)
        self.user_properties.append(("requests", len(got.results)))
        if self.client.failed:
            raise ConformanceFailure(f"endpoint client {self.runner}: " + self.client.failure())

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.client.spec.client_of or "", None, f"endpoint client {self.runner}"

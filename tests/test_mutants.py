"""Mutation testing of the corpus and the diagnosis: deliberately buggy signers must be caught and named.

tests/fixtures/mutants/mutant_signer.py is a correct signer with one switch per classic
implementation mistake, each switch named after the catalogue id (harness/appauth_conformance/judging/diagnosis/catalogue.py)
that should name it. Every mutant is plugged in as a user's runner would be and runs the
whole corpus; all their sessions stream concurrently through one Engine. For each mutant:

* the corpus catches it: at least one vector fails;
* the diagnosis names it: the expected id appears in the diagnosis of a failing outcome,
  and in the majority of its string-to-sign / signature failures.

Some mutants also run with --hide-string (a signer that reports only its signature), so
string-level mistakes are diagnosed from the signature alone.

A mutant the corpus does not catch, or the diagnosis does not name, is a gap in the corpus
or in the catalogue: it is reported, never papered over here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from appauth_conformance.core.model import Stage, Verdict
from appauth_conformance.corpus.vectors import load
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.options import parse_runner_flag
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.judging.diagnosis import BY_ID

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "fixtures" / "mutants" / "mutant_signer.py"
_spec = importlib.util.spec_from_file_location("mutant_signer", PROGRAM)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
MUTANTS = _module.MUTANTS

CORPUS = load()
HIDDEN = (
    "separator-pipe",
    "expire-milliseconds",
    "fields-nfc",
    "nul-truncates-data",
    "trailing-newline",
    "hex-uppercase",
)
RUNS = {name: (name,) for name in MUTANTS} | {f"{name}.sig-only": (name, "--hide-string") for name in HIDDEN}

# A mutant that signs a lone surrogate fails only at signature-where-refusal-was-due. The
# catalogue explains those outputs (surrogate-*, latin1-replace, cesu8 ...), but the engine
# diagnoses only string-to-sign and signature failures (engine.DIAGNOSED).


@pytest.fixture(scope="module")
def results():
    """{run name: {vector key: Result}} for every mutant, one concurrent Engine run (30-45 s on 2 cores)."""
    specs = [parse_runner_flag(f"{run}={sys.executable} {PROGRAM} {' '.join(args)}") for run, args in RUNS.items()]
    with Engine(specs, LocalBackend()) as e:
        e.prepare()
        e.ensure(CORPUS.vectors)
    for name, st in e.runners.items():
        assert st.unavailable is None, f"{name}: {st.unavailable}"
        assert len(st.results) == len(CORPUS.vectors), name
        faults = [r.outcome.fault for r in st.results.values() if r.judgement.verdict is Verdict.RUNNER_FAULT]
        assert not faults, f"{name}: runner faults, the fixture is broken: {faults[:3]}"
    return {name: st.results for name, st in e.runners.items()}


def test_every_mutation_is_a_catalogue_id():
    assert set(MUTANTS) - {"correct"} <= set(BY_ID), set(MUTANTS) - {"correct"} - set(BY_ID)
    assert len(MUTANTS) - 1 >= 15


def test_the_unmutated_signer_conforms(results):
    """The control: without a mutation the fixture passes everything, so each failure below is its mutation's."""
    bad = {
        k: r.judgement.verdict.value for k, r in results["correct"].items() if r.judgement.verdict is not Verdict.PASS
    }
    assert bad == {}


def _mutant_params():
    for run, args in RUNS.items():
        mistake = args[0]
        if mistake == "correct":
            continue
        yield pytest.param(run, mistake, id=run)


@pytest.mark.parametrize("run,mistake", list(_mutant_params()))
def test_mutant_is_caught_and_diagnosed(results, run, mistake):
    res = results[run].values()
    failing = [r for r in res if r.judgement.verdict is Verdict.FAIL]
    assert failing, f"{run}: the corpus does not catch mistake {mistake!r}: every vector passes"
    named = [r for r in failing if mistake in r.diagnosis]
    assert named, (
        f"{run}: {len(failing)} failures, none diagnosed as {mistake!r}; diagnoses seen: "
        f"{sorted({i for r in failing for i in r.diagnosis})[:10]}"
    )
    staged = [r for r in failing if r.judgement.stage in (Stage.STRING_TO_SIGN, Stage.SIGNATURE)]
    hits = [r for r in staged if mistake in r.diagnosis]
    missed = [(r.outcome.vector.key, r.diagnosis) for r in staged if mistake not in r.diagnosis]
    assert not staged or 2 * len(hits) > len(staged), (
        f"{run}: only {len(hits)}/{len(staged)} diagnosed as {mistake!r}; missed: {missed[:5]}"
    )


def test_signature_only_mutants_fail_at_the_signature_stage(results):
    """Without a reported string to sign, a joining mistake can only show in the signature."""
    for name in HIDDEN:
        stages = {
            r.judgement.stage for r in results[f"{name}.sig-only"].values() if r.judgement.verdict is Verdict.FAIL
        }
        assert stages and stages <= {Stage.SIGNATURE, Stage.UNEXPECTED_SIGNATURE, Stage.UNEXPECTED_ERROR}, (
            name,
            stages,
        )


def test_cli_gate_exits_1_on_a_mutant_and_records_the_diagnosis(tmp_path, run_cli, load_results):
    flag = f"m={sys.executable} {PROGRAM} hex-uppercase"
    r = run_cli("run", "--lang", "m", "--runner", flag, "--report-dir", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL" in r.stdout
    doc = load_results(tmp_path)
    failed = [o for o in doc["outcomes"] if o["runner"] == "m" and o["verdict"] == "fail"]
    assert failed and all("hex-uppercase" in o.get("diagnosis", []) for o in failed), failed[:2]

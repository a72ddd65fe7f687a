"""The conformance gate end to end, through pytest itself (pytester, in subprocesses so the entry point loads)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent
FAULT = HERE / "fixtures" / "runners" / "fault_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"


def runner_flag(name: str, *args: str) -> str:
    return f"--runner={name}={sys.executable} {FAULT} {' '.join(args)}"


def verdicts(report_dir: Path) -> dict[tuple[str, str], str]:
    doc = json.loads((report_dir / "results.json").read_text())
    return {(o["runner"], o["vector"]): o["verdict"] for o in doc["outcomes"]}


def test_wrong_signature_gives_the_staged_diff(pytester, tmp_path):
    r = pytester.runpytest_subprocess(
        "--lang=bad",
        runner_flag("bad", "wrong-signature", "boom"),
        "--vectors",
        str(SMALL),
        "--report-dir",
        str(tmp_path),
    )
    r.assert_outcomes(passed=3, failed=1)
    out = r.stdout.str()
    assert "test_vector[bad:single/small-marker-003]" in out
    assert "FAILED at stage: signature" in out
    assert "string_to_sign: matches" in out
    assert "first difference at char 0" in out
    assert "expected bytes:" in out and "actual bytes:   30 30 30" in out  # the fault runner signs with zeros
    assert verdicts(tmp_path)[("bad", "single/small-marker-003")] == "fail"


def test_wrong_string_to_sign_breaks_first_stage_and_shows_other_runners(pytester, tmp_path):
    # the python reference runner is the "other runner" whose output the diff shows
    r = pytester.runpytest_subprocess(
        "--lang=python,bad",
        runner_flag("bad", "wrong-signature", "boom"),
        "--vectors",
        str(SMALL),
        "--report-dir",
        str(tmp_path),
    )
    r.assert_outcomes(passed=7, failed=1)
    assert "other runners:" in r.stdout.str()
    assert "python-reference" in r.stdout.str().split("other runners:")[1]


def test_crashing_runner_faults_only_its_vector(pytester, tmp_path):
    r = pytester.runpytest_subprocess(
        "--lang=python,crashy",
        runner_flag("crashy", "crash", "boom"),
        "--vectors",
        str(SMALL),
        "--report-dir",
        str(tmp_path),
    )
    r.assert_outcomes(passed=7, failed=1)
    out = r.stdout.str()
    assert "RUNNER FAULT (exit status: status 3): runner exited with status 3" in out  # its cause, then its text
    assert "fault crash at request" in out  # the stderr tail is attached
    v = verdicts(tmp_path)
    assert v[("crashy", "single/small-marker-003")] == "runner-fault"
    assert [k for k, verdict in v.items() if verdict != "pass"] == [("crashy", "single/small-marker-003")]


def _project(pytester, divergences: str) -> None:
    pytester.makepyprojecttoml(f"""
[tool.appauth-conformance.runners.mine]
command = [{json.dumps(sys.executable)}, {json.dumps(str(FAULT))}, "ok"]
language = "python"
divergences = "div.yaml"
""")
    pytester.makefile(".yaml", div=divergences)


def test_stale_divergence_entry_fails_with_the_update_command(pytester, tmp_path):
    _project(
        pytester,
        "schema: appauth-conformance/known-divergences/1\nrunner: mine\ndivergences:\n- match: no-such-vector-*\n  reason: listed long ago\n",
    )
    r = pytester.runpytest_subprocess("--lang=mine", "--report-dir", str(tmp_path), "-k", "known_divergences")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "excuses nothing" in out and "match: no-such-vector-*" in out
    assert "appauth-conformance divergences update --lang mine" in out


def test_unexpected_pass_fails_with_the_update_command(pytester, tmp_path):
    # the fault runner with "ok" conforms, so listing a vector as divergent is stale
    _project(
        pytester,
        "schema: appauth-conformance/known-divergences/1\nrunner: mine\ndivergences:\n- match: single-user-001\n  reason: thought to fail\n",
    )
    r = pytester.runpytest_subprocess("--lang=mine", "--report-dir", str(tmp_path), "-k", "single-user-001")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "UNEXPECTED PASS" in out and "appauth-conformance divergences update --lang mine" in out
    assert verdicts(tmp_path)[("mine", "single/single-user-001")] == "unexpected-pass"


def test_known_divergence_is_xfail_with_its_reason(pytester, tmp_path):
    _project(
        pytester,
        "schema: appauth-conformance/known-divergences/1\nrunner: mine\ndivergences:\n- match: small-marker-003\n  stage: signature\n  reason: zeros\n",
    )
    pytester.makepyprojecttoml(f"""
[tool.appauth-conformance.runners.mine]
command = [{json.dumps(sys.executable)}, {json.dumps(str(FAULT))}, "wrong-signature", "boom"]
divergences = "div.yaml"
""")
    r = pytester.runpytest_subprocess("--lang=mine", "--vectors", str(SMALL), "--report-dir", str(tmp_path), "-rx")
    r.assert_outcomes(passed=3, xfailed=1)
    assert "known divergence (signature): zeros" in r.stdout.str()


def test_a_declared_runner_that_cannot_start_fails_everywhere(pytester, tmp_path, monkeypatch):
    """A typo in the user's own runner must never pass the gate (`1 passed, 334 skipped`)."""
    flag = "--runner=ghost=/nonexistent/signer --flag"
    monkeypatch.delenv("CI", raising=False)
    r = pytester.runpytest_subprocess("--lang=ghost", flag, "--vectors", str(SMALL), "--report-dir", str(tmp_path))
    r.assert_outcomes(failed=4)
    out = r.stdout.str()
    assert "cannot start `/nonexistent/signer --flag`" in out and "a declared runner that cannot start" in out
    assert "runners NOT run" in out


def test_a_reference_runner_without_its_toolchain_skips_locally_and_fails_under_ci(pytester, tmp_path, monkeypatch):
    import sys

    only_python = tmp_path / "bin"
    only_python.mkdir()
    (only_python / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(only_python))  # no node here: js-reference cannot be built or started
    monkeypatch.delenv("CI", raising=False)
    args = ("--lang=python,js", "--vectors", str(SMALL), "--report-dir", str(tmp_path / "out"), "-rs")
    r = pytester.runpytest_subprocess(*args)
    r.assert_outcomes(skipped=4, passed=4)
    out = r.stdout.str()
    assert "`node` is not on PATH" in out and "runners NOT run" in out
    monkeypatch.setenv("CI", "true")
    r = pytester.runpytest_subprocess(*args)
    r.assert_outcomes(failed=4, passed=4)
    assert "an unavailable runner fails the run" in r.stdout.str()


@pytest.mark.slow
def test_xdist_gives_the_same_verdicts_as_a_serial_run(pytester, tmp_path):
    pytest.importorskip("xdist")
    args = ["--lang=python,cpp,crashy", runner_flag("crashy", "crash", "judy"), "-p", "no:cacheprovider"]
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    r1 = pytester.runpytest_subprocess(*args, "--report-dir", str(serial))
    r2 = pytester.runpytest_subprocess(*args, "--report-dir", str(parallel), "-n", "2")
    a, b = verdicts(serial), verdicts(parallel)
    assert len(a) > 900 and a == b
    assert "runner-fault" in a.values() and "known-divergence" in a.values()
    assert r1.ret == r2.ret == 1


def test_junit_xml_carries_the_verdicts(pytester, tmp_path):
    import xml.etree.ElementTree as ET

    junit = tmp_path / "junit.xml"
    r = pytester.runpytest_subprocess(
        "--lang=bad",
        runner_flag("bad", "crash", "boom"),
        "--vectors",
        str(SMALL),
        f"--report-dir={tmp_path}",
        f"--junitxml={junit}",
    )
    r.assert_outcomes(passed=3, failed=1)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    props = {name: {p.get("name"): p.get("value") for p in c.iter("property")} for name, c in cases.items()}
    assert props["test_vector[bad:single/small-marker-003]"]["verdict"] == "runner-fault"
    assert props["test_vector[bad:single/small-single-001]"]["verdict"] == "pass"
    assert cases["test_vector[bad:single/small-marker-003]"].find("failure") is not None


MUTANT = HERE / "fixtures" / "mutants" / "mutant_signer.py"
ACCEPT_UPPERCASE = """\
schema: appauth-conformance/known-divergences/1
divergences:
- diagnosis: hex-uppercase
  reason: the vendor SDK writes upper-case hex, which the service accepts
"""


def test_a_divergence_file_accepts_one_named_mistake_and_nothing_else(pytester, tmp_path):
    """Declared in the project's pyproject.toml, one file for two runners: it excuses the upper-case hex
    of one, and not the unpadded hex of the other (whose list is then stale: it excused nothing)."""
    py, mutant = json.dumps(sys.executable), json.dumps(str(MUTANT))
    pytester.makepyprojecttoml(f"""
[tool.appauth-conformance.runners.upper]
command = [{py}, {mutant}, "hex-uppercase"]
divergences = "accept-uppercase.yaml"

[tool.appauth-conformance.runners.unpadded]
command = [{py}, {mutant}, "hex-unpadded"]
divergences = "accept-uppercase.yaml"
""")
    pytester.makefile(".yaml", **{"accept-uppercase": ACCEPT_UPPERCASE})
    r = pytester.runpytest_subprocess("--lang=upper", f"--report-dir={tmp_path / 'upper'}", "-q")
    assert r.ret == 0, r.stdout.str()[-3000:]
    v = verdicts(tmp_path / "upper")
    assert {x for (runner, _), x in v.items()} == {"pass", "known-divergence"}
    assert list(v.values()).count("known-divergence") > 200  # every signature with a letter in it
    r = pytester.runpytest_subprocess("--lang=unpadded", f"--report-dir={tmp_path / 'unpadded'}", "-q")
    assert r.ret == 1
    v = verdicts(tmp_path / "unpadded")
    assert "known-divergence" not in v.values() and list(v.values()).count("fail") > 200
    out = r.stdout.str()
    assert "test_known_divergences[unpadded]" in out and "diagnosis: hex-uppercase" in out
    assert "excuses nothing" in out and "appauth-conformance divergences update --lang unpadded" in out


def test_a_runner_given_on_the_command_line_gets_its_divergence_file(pytester, tmp_path):
    pytester.makefile(".yaml", **{"accept-uppercase": ACCEPT_UPPERCASE})
    r = pytester.runpytest_subprocess(
        "--lang=upper",
        f"--runner=upper={sys.executable} {MUTANT} hex-uppercase",
        "--divergences=upper=accept-uppercase.yaml",
        f"--report-dir={tmp_path}",
        "-q",
    )
    assert r.ret == 0, r.stdout.str()[-3000:]
    assert "known-divergence" in verdicts(tmp_path).values()

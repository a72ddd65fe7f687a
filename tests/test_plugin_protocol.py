"""An item whose outcome is already measured runs the plugin's lighter protocol (frontends/pytest_protocol.py):
what pytest shows and writes is the same as with pytest's own protocol; an item a user marked, and a user's
own tests and fixtures beside the conformance items, behave as ever."""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = str(HERE / "fixtures" / "vectors" / "small.yaml")
MUTANT = HERE / "fixtures" / "mutants" / "mutant_signer.py"

# `-p full`: every item through pytest's own protocol, the reference the lighter one must match
FULL = "import appauth_conformance.frontends.pytest_protocol as p\np.applies = lambda config: False\n"
# `-p phases`: how many items went through the setup phase hook (pytest's protocol calls it, the lighter one not)
PHASES = """
calls = []
def pytest_runtest_setup(item):
    calls.append(item.nodeid)
def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"SETUP HOOKS {len(calls)}")
"""


def _normal(text: str) -> str:
    """Without what differs between two runs: durations, timestamps, the host, the junitxml file's name."""
    text = re.sub(r'(time|timestamp|hostname)="[^"]*"', "", text)
    text = re.sub(r"\d+\.\d+s", "", text)
    return re.sub(r"generated xml file: \S+", "", text)


def test_the_lighter_protocol_shows_and_writes_what_pytests_own_does(pytester, tmp_path):
    pytester.makepyfile(full=FULL, phases=PHASES)
    common = [
        "--lang=python,declared",
        f"--runner=mutant={sys.executable} {MUTANT} hex-uppercase",  # failures, explained in full and in one line
        f"--vectors={SMALL}",
        "-p",
        "no:randomly",
        "-rA",
        "-v",
        "-p",
        "phases",
    ]
    seen = {}
    for name, extra in (("light", []), ("full", ["-p", "full"])):
        r = pytester.runpytest_subprocess(
            *common, f"--report-dir={tmp_path / name}", f"--junitxml={tmp_path / name}.xml", *extra
        )
        assert r.ret == 1, r.stdout.str()[-3000:]  # the mutant fails
        hooks = int(re.search(r"SETUP HOOKS (\d+)", r.stdout.str()).group(1))
        out = re.sub(r"SETUP HOOKS \d+", "", r.stdout.str())
        seen[name] = (_normal(out), _normal((tmp_path / f"{name}.xml").read_text()), hooks)
    assert seen["full"][2] == 8 and seen["light"][2] <= 1  # 4 vectors x 2 runners; the last one runs pytest's own
    assert "FAILED conformance::test_vector[mutant:" in seen["light"][0]
    assert "PASSED conformance::test_vector[python-reference:" in seen["light"][0]
    assert seen["light"][0].replace(str(tmp_path / "light"), "DIR") == seen["full"][0].replace(
        str(tmp_path / "full"), "DIR"
    )
    assert seen["light"][1] == seen["full"][1]


def test_marked_items_and_a_users_own_tests_beside_them(pytester, tmp_path):
    """Conformance items a conftest marks skip or xfail are skipped and xpassed; a user's tests with session and
    module fixtures run before the conformance items, and the session fixture is torn down once, at the end."""
    pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "test_vector[python-reference:single/small-single-001]":
                    item.add_marker(pytest.mark.skip(reason="the team skips it"))
                if item.name == "test_vector[python-reference:single/small-marker-003]":
                    item.add_marker(pytest.mark.xfail(reason="the team expects it to fail"))

        @pytest.fixture(scope="session")
        def sess():
            yield 1
            print("SESSION TORN DOWN")
        """
    )
    pytester.makepyfile(
        test_mine="""
        import pytest

        @pytest.fixture(scope="module")
        def mod(sess):
            yield 2

        def test_a(mod):
            assert mod == 2

        def test_b(mod, sess):
            assert sess == 1
        """
    )
    r = pytester.runpytest_subprocess(
        "--lang=python", f"--vectors={SMALL}", f"--report-dir={tmp_path / 'out'}", "-p", "no:randomly", "-rs", "-s"
    )
    r.assert_outcomes(passed=2 + 2, skipped=1, xpassed=1)  # the small corpus's 4 vectors through python-reference
    assert r.stdout.str().count("SESSION TORN DOWN") == 1
    assert "the team skips it" in r.stdout.str()


# `-p frozen`: at the interpreter's very end (the first atexit handler registered runs last), whether the
# collector's objects were frozen, written to a file
FROZEN = """
import atexit, gc, os
atexit.register(lambda: open(os.environ["FROZEN_LOG"], "w").write(str(gc.get_freeze_count())))
"""


def test_the_interpreters_exit_skips_the_collectors_passes_after_a_conformance_run_only(
    pytester, tmp_path, monkeypatch
):
    pytester.makepyfile(frozen=FROZEN, test_mine="def test_a():\n    pass\n")
    log = tmp_path / "frozen"
    monkeypatch.setenv("FROZEN_LOG", str(log))
    conformance = pytester.runpytest_subprocess(
        "--lang=python", f"--vectors={SMALL}", f"--report-dir={tmp_path / 'out'}", "-p", "frozen"
    )
    conformance.assert_outcomes(passed=5)  # the 4 vectors and the user's own test
    assert int(log.read_text()) > 10_000  # the run's objects, frozen before the interpreter's finalisation
    plain = pytester.runpytest_subprocess("-p", "frozen")  # no --lang: the interpreter ends as it always does
    plain.assert_outcomes(passed=1)
    assert int(log.read_text()) == 0

"""From an installed wheel, in a team's repository: `pytest -n 2 --lang=all` with a declared runner that
answers token requests writes a valid results.json and both reports (exit 0), and the same with a
non-conforming token generator fails (exit 1): the workers' parts merge with their token requests.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]

PYPROJECT = """\
[project]
name = "team-service"
version = "1.0"

[tool.appauth-conformance.runners.team-tokens]
command = ["{{python}}", "token_runner.py"{faults}]
"""


@pytest.fixture(scope="module")
def xdist_venv(helpers, dists, tmp_path_factory):
    """The wheel with its xdist extra, as a team installs it to run the gate on two workers."""
    return helpers.make_venv(tmp_path_factory.mktemp("xdist-venv") / "venv", dists["wheel"] + "[xdist]")


@pytest.mark.parametrize("faults, code", [("", 0), (', "ms"', 1)])
def test_xdist_gate_with_a_token_runner_from_a_wheel(helpers, xdist_venv, tmp_path, faults, code):
    team = tmp_path / "team-service"
    team.mkdir()
    runner = helpers.ROOT / "tests" / "fixtures" / "runners" / "token_runner.py"
    (team / "token_runner.py").write_text(runner.read_text())
    (team / "pyproject.toml").write_text(PYPROJECT.format(faults=faults))
    gate = helpers.run(
        [xdist_venv.python, "-m", "pytest", "-n", "2", "--lang=all", "-p", "no:randomly", "-q"], team, check=False
    )
    said = gate.stdout[-3000:] + gate.stderr[-3000:]
    assert gate.returncode == code, said
    assert "not a key of" not in said and "could NOT be written" not in said, said
    out = team / ".appauth-conformance"
    check = helpers.run(
        [
            xdist_venv.python,
            "-c",
            "import sys; from appauth_conformance import report; report.load(sys.argv[1])",
            str(out / "results.json"),
        ],
        team,
    )
    assert check.returncode == 0
    doc = json.loads((out / "results.json").read_text())
    tokens = [o for o in doc["outcomes"] if o["runner"] == "team-tokens" and o["vector"].startswith("token/")]
    assert tokens and all(o["vector"] in doc["vectors"] for o in tokens)
    assert {o["verdict"] for o in tokens} == ({"pass"} if code == 0 else {"fail"})
    assert (out / "report.md").is_file() and (out / "report.html").is_file()

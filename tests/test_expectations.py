"""Known-divergence files: read through their schema, with one message naming the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec, Stage
from appauth_conformance.corpus import expectations

HEAD = "schema: appauth-conformance/known-divergences/1\nrunner: mine\n"


def spec(path: Path) -> RunnerSpec:
    return RunnerSpec(name="mine", language="python", command=("x",), divergences=path)


def load(tmp_path: Path, text: str) -> expectations.Expectations:
    path = tmp_path / "known-divergences.yaml"
    path.write_text(text, encoding="utf-8")
    return expectations.Expectations.load(spec(path))


def test_a_good_file_loads_with_its_lines(tmp_path):
    e = load(
        tmp_path,
        HEAD + "divergences:\n- flag: empty-key\n  stage: signature\n  reason: r1\n- match: x-*\n  reason: r2\n",
    )
    assert [(d.flag, d.match, d.stage, d.reason, d.line) for d in e.entries] == [
        ("empty-key", None, Stage.SIGNATURE, "r1", 4),
        (None, "x-*", None, "r2", 7),
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        (
            "runner: mine\ndivergences: []\n",
            ["'schema' is a required property", "starts with `schema: appauth-conformance/known-divergences/1`"],
        ),
        (HEAD + "divergences:\n- flag: empty-key\n", [":4: divergences/0: 'reason' is a required property"]),
        (HEAD + "divergences:\n- reason: why\n", [":4: divergences/0:", "`match`, `flag` or `diagnosis`"]),
        (HEAD + "divergences:\n- flag: x\n  reason: r\n  because: y\n", [":4:", "'because' was unexpected"]),
        (
            HEAD + "divergences:\n- flag: x\n  stage: signatur\n  reason: r\n",
            [":4:", "unknown stage 'signatur'; did you mean 'signature'"],
        ),
        (HEAD + "divergences: {}\n", ["divergences: {} is not of type 'array'"]),
        ("- just\n- a list\n", ["(top level)", "is not of type 'object'"]),
        (HEAD + "divergences: [\n", ["cannot read known divergences"]),
    ],
)
def test_a_broken_file_is_one_message_with_the_place_and_the_fix(tmp_path, text, words):
    with pytest.raises(UsageError) as err:
        load(tmp_path, text)
    msg = str(err.value)
    assert str(tmp_path / "known-divergences.yaml") in msg
    for w in words:
        assert w in msg, msg


def test_a_file_for_another_runner_is_refused(tmp_path):
    with pytest.raises(UsageError, match="file is for runner 'theirs', not 'mine'"):
        load(tmp_path, "schema: appauth-conformance/known-divergences/1\nrunner: theirs\ndivergences: []\n")


def test_what_update_writes_loads_again(tmp_path):
    path = tmp_path / "out.yaml"
    expectations.write(spec(path), path, [{"flag": "nul", "stage": "signature", "reason": "strlen"}])
    text = path.read_text(encoding="utf-8")
    assert text.count("schema: appauth-conformance/known-divergences/1") == 1
    e = expectations.Expectations.load(spec(path))
    assert [(d.flag, d.stage, d.reason) for d in e.entries] == [("nul", Stage.SIGNATURE, "strlen")]


# -- a declared runner's own file: accept one named mistake and nothing else -------------------------

MUTANT = Path(__file__).resolve().parent / "fixtures" / "mutants" / "mutant_signer.py"
ACCEPT_UPPER = """\
schema: appauth-conformance/known-divergences/1
divergences:
  - diagnosis: hex-uppercase
    reason: our SDK signs upper-case hex, which the service accepts
"""


def _project(tmp_path: Path, mistake: str) -> Path:
    """A team's repository: its signer (the mutant with one mistake) declared in pyproject.toml, with a
    known-divergence file beside it that accepts upper-case hex."""
    import json
    import sys

    root = tmp_path / mistake
    root.mkdir()
    (root / "accept-upper.yaml").write_text(ACCEPT_UPPER)
    command = json.dumps([sys.executable, str(MUTANT), mistake])
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "team"\n\n[tool.appauth-conformance.runners.ours]\ncommand = {command}\n'
        'divergences = "accept-upper.yaml"\n'
    )
    return root


def _gate(root: Path, *args: str):
    import subprocess
    import sys

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "run",
            "--lang=declared",
            "--report-dir",
            "out",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_diagnosis_entry_accepts_upper_case_hex_and_not_a_dropped_zero(tmp_path, load_results):
    upper = _project(tmp_path, "hex-uppercase")
    r = _gate(upper)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = load_results(upper / "out")
    verdicts = {o["verdict"] for o in doc["outcomes"]}
    assert verdicts == {"pass", "known-divergence"}, verdicts
    excused = [o for o in doc["outcomes"] if o["verdict"] == "known-divergence"]
    assert excused and all(o["diagnosis"][0] == "hex-uppercase" for o in excused)

    unpadded = _project(tmp_path, "hex-unpadded")
    r = _gate(unpadded)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = load_results(unpadded / "out")
    failed = [o for o in doc["outcomes"] if o["verdict"] == "fail"]
    assert failed and {o["diagnosis"][0] for o in failed} == {"hex-unpadded"}
    assert not [o for o in doc["outcomes"] if o["verdict"] == "known-divergence"]
    # the entry excused nothing of this runner: the run says so, with the fix
    assert "excuses nothing" in r.stderr or "stale" in r.stderr, r.stderr


def test_divergences_flag_gives_a_runner_given_with_runner_its_file(tmp_path):
    import sys

    root = tmp_path / "flags"
    root.mkdir()
    (root / "accept-upper.yaml").write_text(ACCEPT_UPPER)
    runner = f"mine={sys.executable} {MUTANT} hex-uppercase"
    assert _gate(root, "--runner", runner).returncode == 1
    r = _gate(root, "--runner", runner, "--divergences", "mine=accept-upper.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _gate(root, "--runner", runner, "--divergences", "nobody=accept-upper.yaml")
    assert r.returncode == 2 and "no runner is named 'nobody'" in r.stderr


def test_pytest_ends_with_what_failed_by_kind(tmp_path):
    import subprocess
    import sys

    root = _project(tmp_path, "hex-unpadded")
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--lang=declared", "--report-dir=out", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1, r.stdout[-3000:]
    summary = r.stdout.split("appauth-conformance: what failed, by kind")[1]
    assert "ours: " in summary
    assert "FAIL x" in summary and "at signature: " in summary and "[hex-unpadded]" in summary


def test_divergences_update_rewrites_a_declared_runners_file_and_never_the_installed_package(tmp_path):
    import subprocess
    import sys

    import yaml

    def update(cwd: Path, lang: str):
        return subprocess.run(
            [sys.executable, "-m", "appauth_conformance.frontends.cli", "divergences", "update", "--lang", lang],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )

    upper = _project(tmp_path, "hex-uppercase")
    r = update(upper, "ours")
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load((upper / "accept-upper.yaml").read_text())
    assert doc["divergences"] == [
        {"diagnosis": "hex-uppercase", "reason": "our SDK signs upper-case hex, which the service accepts"}
    ]
    unpadded = _project(tmp_path, "hex-unpadded")
    assert update(unpadded, "ours").returncode == 1  # entries added with reason TODO: the run fails until written
    entries = yaml.safe_load((unpadded / "accept-upper.yaml").read_text())["divergences"]
    assert entries and all(e["reason"].startswith("TODO") and e["stage"] == "signature" for e in entries)
    # a runner shipped with the suite: its list is in the suite's repository, not in site-packages
    r = update(tmp_path, "js")
    assert r.returncode == 2 and "run this command in a checkout of it" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


# -- loading and writing, exactly --------------------------------------------------------------------


def test_a_runner_without_a_file_has_no_entries_and_keeps_where_its_file_would_be(tmp_path):
    missing = tmp_path / "none-yet.yaml"
    e = expectations.Expectations.load(spec(missing))
    assert (e.entries, e.path, e.spec.name) == ([], missing, "mine")
    loaded = load(tmp_path, HEAD + "divergences:\n- flag: x\n  reason: r\n")
    assert (loaded.path, loaded.spec.divergences) == (tmp_path / "known-divergences.yaml",) * 2


def test_reasons_are_read_as_utf8(tmp_path):
    e = load(tmp_path, HEAD + "divergences:\n- flag: x\n  reason: « 中文 » é\n")
    assert e.entries[0].reason == "« 中文 » é"


def test_a_broken_file_names_at_most_five_problems_one_a_line(tmp_path):
    entries = "".join(f"- flag: f{i}\n" for i in range(7))  # seven entries without a reason
    with pytest.raises(UsageError) as err:
        load(tmp_path, HEAD + "divergences:\n" + entries)
    lines = str(err.value).splitlines()
    path = tmp_path / "known-divergences.yaml"
    problems = [x for x in lines if x.startswith(f"  {path}:")]
    assert len(problems) == 5 and lines[1:6] == problems
    assert problems[0] == f"  {path}:4: divergences/0: 'reason' is a required property"


def test_a_problem_at_the_top_level_says_so_and_a_long_message_is_cut(tmp_path):
    with pytest.raises(UsageError) as err:
        load(tmp_path, "- just\n- a list\n")
    path = tmp_path / "known-divergences.yaml"
    assert str(err.value).splitlines()[1].startswith(f"  {path}:1: (top level): ")
    with pytest.raises(UsageError) as err:
        load(tmp_path, HEAD + "divergences:\n- flag: x\n  reason: r\n  " + "k" * 400 + ": 1\n")
    line = str(err.value).splitlines()[1]
    prefix = f"  {path}:4: divergences/0: "
    assert line.startswith(prefix) and len(line) - len(prefix) == 200


def test_update_writes_the_entries_in_order_as_unicode_wrapped_at_100_columns(tmp_path):
    path = tmp_path / "out.yaml"
    # "  reason: " and 91 characters fill 101 columns: PyYAML breaks a plain scalar at the first space
    # past its width (100), so the line breaks there: not at the space of column 86 (past PyYAML's
    # default width, 80), and not a column later
    reason = "a" * 45 + " " + "b" * 30 + " " + "d" * 14 + " «" + "c" * 19
    expectations.write(spec(path), path, [{"match": "v-*", "stage": "signature", "reason": reason}])
    text = path.read_text(encoding="utf-8")
    body = text[text.index("schema: ") :]  # after the header comments
    assert body == (
        "schema: appauth-conformance/known-divergences/1\n"
        "runner: mine\n"
        "divergences:\n"
        "- match: v-*\n"
        "  stage: signature\n"
        f"  reason: {'a' * 45} {'b' * 30} {'d' * 14}\n"
        f"    «{'c' * 19}\n"
    )

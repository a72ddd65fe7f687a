"""A token's mistakes belong to the check that found them, and excused ones are shown as excused.

The probe: a token generator that writes upper-case hex (excused by a `diagnosis: hex-uppercase`
entry, as the vendor SDK's list does) and leaves `access=` out of its header. Its tokens fail at
token-header; before, every view listed hex-uppercase as a mistake of that failure ("FAIL x323 at
token-header: … [hex-uppercase]") and report.html's "Mistakes found" counted it as failing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance import report
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.formats.results import Recorder
from appauth_conformance.report import terminal

HERE = Path(__file__).resolve().parent
TOKEN_RUNNER = HERE / "fixtures" / "runners" / "token_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"
DIVERGENCES = (
    "schema: appauth-conformance/known-divergences/1\ndivergences:\n"
    "- diagnosis: hex-uppercase\n  reason: the generator writes upper-case hex\n"
)


@pytest.fixture(scope="module")
def doc(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("precision")
    div = tmp / "div.yaml"
    div.write_text(DIVERGENCES)
    spec = RunnerSpec(
        name="tok",
        language="python",
        command=(sys.executable, str(TOKEN_RUNNER), "token-only", "upper", "no-access"),
        divergences=div,
    )
    corpus = vectors.load(SMALL)
    rec = Recorder(tmp / "results.json", corpus, backend="local")
    with Engine([spec], LocalBackend(), rec) as engine:
        engine.prepare()
        from appauth_conformance.judging import tokens

        engine.ensure_tokens(tokens.suite(corpus.vectors))
    rec.write()
    return report.load(tmp / "results.json")


def test_the_failing_check_lists_only_its_own_mistakes_in_the_terminal(doc):
    lines = [x for x in terminal.grouped(doc) if "at token-header" in x]
    assert lines, terminal.grouped(doc)
    for line in lines:
        own, _, rest = line.partition("; excused (known divergence) at token-signature: ")
        assert "[header-access-missing]" in own and "hex-uppercase" not in own, line
        assert "[hex-uppercase]" in rest, line


def test_report_md_shows_the_excused_mistake_as_excused(doc):
    md = report.render_markdown(doc)
    groups = [x for x in md.splitlines() if "stage `token-header`" in x]
    assert groups
    for g in groups:
        own, _, rest = g.partition(" · excused (known divergence) at `token-signature`: ")
        assert "`header-access-missing`" in own and "hex-uppercase" not in own, g
        assert "`hex-uppercase`" in rest, g
    row = next(x for x in md.splitlines() if x.startswith("| `token-signature` |"))
    assert re.search(r"\d+ × `hex-uppercase` \(excused\)", row), row


def test_report_html_counts_excused_mistakes_apart(doc):
    page = report.render_html(doc)
    section = page[page.index('<section id="diagnoses"') : page.index("</section>", page.index('id="diagnoses"'))]
    tokens = len([o for o in doc["outcomes"] if o["vector"].startswith("token/")])
    cells = lambda d: [  # noqa: E731 - the failing and excused counts of a mistake's row
        int(n.replace(",", ""))
        for n in re.search(
            rf'<td class="num">([\d,]+)</td><td class="num">([\d,]+)</td><td>[^<]*</td><td><code>{d}</code>', section
        ).groups()
    ]
    assert cells("hex-uppercase") == [0, tokens]
    assert cells("header-access-missing") == [tokens, 0]
    checks = page[page.index('<section id="tokens"') :]
    row = checks[checks.index("<code>token-signature</code>") : checks.index("</tr>", checks.index("token-signature"))]
    assert re.search(rf"{tokens} × [^<]*<code>hex-uppercase</code> \(excused\)", row), row


def test_pytest_short_lines_name_only_the_failing_checks_mistakes(tmp_path):
    div = tmp_path / "div.yaml"
    div.write_text(DIVERGENCES)
    (tmp_path / "empty").mkdir()
    runner = f"tok={sys.executable} {TOKEN_RUNNER} token-only upper no-access"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-rf", "-q"]
    argv += ["--rootdir", str(tmp_path / "empty"), str(tmp_path / "empty"), "--lang=tok", "--runner", runner]
    argv += ["--divergences", f"tok={div}", "--vectors", str(SMALL), f"--report-dir={tmp_path / 'out'}"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 1, r.stdout[-2000:]
    short = [x for x in r.stdout.splitlines() if x.startswith("fail at token-header")]  # the repeats' one line
    assert short, r.stdout[-3000:]
    assert not [x for x in short if "hex-uppercase" in x], short[:3]
    summary = [x for x in r.stdout.splitlines() if x.strip().startswith("FAIL x")]
    assert summary and all("excused (known divergence) at token-signature" in x for x in summary), summary

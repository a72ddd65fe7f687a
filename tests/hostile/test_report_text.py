"""report.html, the file, stays inert when a CI step prints it (issue 25, item 7).

A hostile runner (tests/fixtures/runners/hostile_runner.py) puts ESC, BEL, CR, C1 and bidi
controls, `::error::` lines and `##[`/`##vso[` commands into its hello fields, errors, token
replies and stderr. A browser shows report.html inertly either way; `cat report.html` in a CI
step did not: the file held the raw bytes and lines starting with `::`. Now the file's bytes
hold none of it, with the data embedded plainly or compressed, and the text is still there,
shown as escapes (tests/browser/ checks the page still renders).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance import report

HERE = Path(__file__).resolve().parent.parent
HOSTILE = HERE / "fixtures" / "runners" / "hostile_runner.py"
SMALL = HERE / "fixtures" / "vectors" / "small.yaml"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile-report")
    argv = [sys.executable, "-m", "appauth_conformance.frontends.cli", "run", "--lang=h", "--vectors", str(SMALL)]
    argv += ["--runner", f"h={sys.executable} {HOSTILE} {tmp / 'crashed'}", "--report-dir", str(tmp / "out")]
    r = subprocess.run(argv, capture_output=True, text=True, cwd=tmp, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    return tmp / "out" / "results.json"


def assert_inert_bytes(data: bytes, where: str) -> None:
    for raw in (b"\x1b", b"\x07", b"\r"):
        assert raw not in data, f"{where}: raw {raw!r} at {data.index(raw)}"
    text = data.decode("utf-8")
    found = RAW.search(text)
    assert found is None, f"{where}: raw {found.group()!r}: {text[max(0, found.start() - 60) : found.start() + 30]!r}"
    for n, line in enumerate(text.split("\n"), 1):
        assert not line.lstrip().startswith("::"), f"{where}:{n}: a workflow command: {line[:120]!r}"
        assert "##[" not in line and "##vso[" not in line, f"{where}:{n}: a log command: {line[:160]!r}"


def test_the_written_report_html_holds_no_raw_control_or_log_command(results):
    data = (results.parent / "report.html").read_bytes()
    assert_inert_bytes(data, "report.html")
    text = data.decode("utf-8")
    assert "\\u001b[2J" in text  # the hello's text is there, as a visible escape
    assert "&#58;:error" in text or "\\n::error" in text or "\\\\n::error" in text


@pytest.mark.parametrize("compress", [False, True])
def test_both_forms_of_the_embedded_data_are_inert(results, compress):
    page = report.render_html(report.load(results), compress=compress)
    assert_inert_bytes(page.encode("utf-8"), f"report.html (compress={compress})")


def test_a_value_that_starts_a_line_of_the_page_is_neutralised():
    """Whatever the template does with a value, no line of the file starts a workflow command."""
    from appauth_conformance.report.html import dumps_for_html, inert

    page = inert("<p>\n::error::x\n  ::add-mask::y ##[error] ##vso[task] \x1b\x07\r\u202e\x85</p>")
    assert_inert_bytes(page.encode("utf-8"), "page")
    assert "&#58;:error::x" in page and "#&#35;[error]" in page
    data = dumps_for_html({"v": "\n::error::x ##[e] \x1b\u202e\x85\u2028"})
    assert_inert_bytes(data.encode("utf-8"), "json")
    import json

    assert json.loads(data) == {"v": "\n::error::x ##[e] \x1b\u202e\x85\u2028"}  # the data reads back as it was

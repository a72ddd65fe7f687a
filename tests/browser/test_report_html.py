"""report.html in a real browser: Debian's Chromium driven by Playwright's Python package.

Needs /usr/bin/chromium (`apt-get install -y chromium`) and `pip install playwright`; never
`playwright install` (the tests use the system browser). Skipped with the reason when either is
missing, except under CI=true, where a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from appauth_conformance import report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import synthetic_results  # noqa: E402  (the report benchmark's synthetic run)
from test_report import TRICKY, crafted_run  # noqa: E402  (the crafted run of the unit tests)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"]


def _need(what: str, why: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI=true: {why}")
    pytest.skip(f"{what} is missing: {why}")


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        _need("chromium", "install Debian's browser with `apt-get install -y chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright", "`pip install playwright` (do not run `playwright install`: the system chromium is used)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page with every console message, page error, request and dialog recorded."""

    def __init__(self, browser, path: Path, width: int = 1400, height: int = 1000):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.url = path.resolve().as_uri()
        self.console, self.errors, self.requests, self.dialogs = [], [], [], []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url)
        self.page.wait_for_function("window.__reportReady === true", timeout=15000)

    def rows(self) -> list[tuple[str, str, str]]:
        """(runner, verdict chip text, vector key) of every visible outcome row."""
        return [
            tuple(r)
            for r in self.page.eval_on_selector_all(
                "#list tr.row",
                "rows => rows.map(r => [r.closest('section').dataset.runner, r.querySelector('.chip').textContent,"
                " r.querySelector('.vid').textContent])",
            )
        ]

    def check_clean(self):
        assert [m for m in self.console if m[0] in ("error", "warning")] == []
        assert self.errors == []
        assert self.dialogs == []
        assert self.requests == [self.url]  # the file itself and nothing else: no network at all

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    path, doc = crafted_run(folder)
    report.write_reports(path, folder)
    return folder / "report.html", doc


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A synthetic run (600 vectors x 12 runners) whose drill-down data is embedded gzip + base64."""
    folder = tmp_path_factory.mktemp("big")
    doc = synthetic_results.document(vectors=600, runners=12, seed=7)
    (folder / "report.html").write_text(report.render_html(doc, compress=True), encoding="utf-8")
    return folder / "report.html", doc


def test_loads_clean_without_network(browser, crafted):
    path, doc = crafted
    p = Page(browser, path)
    try:
        assert p.page.text_content("#status").strip().endswith("FAILING")
        assert doc["corpus"]["sha256"][:12] in p.page.text_content("header")
        # the matrix has a row per family and a column per runner
        assert p.page.eval_on_selector_all("#matrix thead th.rh", "t => t.map(x => x.textContent)") == [
            "py",
            "java",
            "cpp",
            "js",
        ]
        assert sorted(p.page.eval_on_selector_all("#matrix tbody th.gh", "t => t.map(x => x.textContent)")) == [
            "edge",
            "modes",
        ]
        p.check_clean()
    finally:
        p.close()


def test_filters_change_matrix_and_list(browser, crafted):
    path, _ = crafted
    p = Page(browser, path)
    try:
        pg = p.page
        # default: anomalies (not pass), all runners
        assert sorted(p.rows()) == sorted(
            [
                ("java", "fail", "sp_corp_admin/e-key"),
                ("java", "known divergence", "single/c-sur"),
                ("cpp", "fail", "single/b-nul"),
                ("js", "unexpected pass", "sp_user/a-ok"),
                ("js", "runner fault", "sp_admin/d-long"),
            ]
        )
        pg.select_option("#f-verdict", "fail")
        assert sorted(p.rows()) == [("cpp", "fail", "single/b-nul"), ("java", "fail", "sp_corp_admin/e-key")]
        pg.select_option("#f-verdict", "")  # all verdicts: passes are listed too
        assert len(p.rows()) == 20
        pg.select_option("#f-runner", "js")
        rows = p.rows()
        assert len(rows) == 5 and {r[0] for r in rows} == {"js"}
        assert pg.eval_on_selector_all("#matrix thead th.rh", "t => t.map(x => x.textContent)") == ["js"]
        pg.select_option("#f-mode", "single")
        assert sorted(r[2] for r in p.rows()) == ["single/b-nul", "single/c-sur"]
        pg.select_option("#f-mode", "")
        pg.select_option("#f-runner", "")
        pg.select_option("#f-verdict", "anomalies")
        pg.select_option("#f-flag", "nul")
        assert p.rows() == [("cpp", "fail", "single/b-nul")]
        # group the matrix by flag; the flag filter leaves one row
        pg.select_option("#f-group", "flag")
        assert pg.eval_on_selector_all("#matrix tbody th.gh", "t => t.map(x => x.textContent)") == ["nul"]
        pg.click("#f-reset")
        assert len(p.rows()) == 5
        # a matrix cell narrows the list to its family x runner
        pg.click("#matrix td.cell[data-r='1'][data-g='1']")  # java x modes
        assert p.rows() == [("java", "fail", "sp_corp_admin/e-key")]
        # a runner card filters by runner
        pg.click("#f-reset")
        pg.click(".card[data-runner='cpp']")
        assert p.rows() == [("cpp", "fail", "single/b-nul")]
        p.check_clean()
    finally:
        p.close()


def _marked(pg):
    return pg.eval_on_selector_all("#drawer mark.hl", "m => m.map(x => x.textContent)")


def test_drilldown_shows_the_differing_bytes(browser, crafted):
    path, doc = crafted
    rec = next(o for o in doc["outcomes"] if o["runner"] == "cpp" and o["verdict"] == "fail")
    d = rec["difference"]
    exp_byte = d["expected_hex"].split(" ")[d["marker"]]
    act_byte = d["actual_hex"].split(" ")[d["marker"]]
    assert exp_byte != act_byte
    p = Page(browser, path)
    try:
        pg = p.page
        pg.click("#list tr.row:has-text('single/b-nul')")
        pg.wait_for_selector("#drawer mark.hl")
        assert pg.text_content("#drawer-title") == "single/b-nul"
        assert _marked(pg) == [exp_byte, act_byte]
        body = pg.text_content("#drawer-body")
        assert f"byte {d['byte_offset']}" in body
        assert "key and data each cut at the first NUL" in body  # the diagnosis title
        assert "nul-truncates-both" in body and "signature" in body
        # NUL in the inputs is shown as an escape, never raw
        escs = pg.eval_on_selector_all("#drawer .esc", "e => e.map(x => x.textContent)")
        assert "\\u0000" in escs
        assert "\x00" not in body
        # Escape closes the panel
        pg.keyboard.press("Escape")
        assert pg.is_hidden("#drawer")
        p.check_clean()
    finally:
        p.close()


def test_hostile_text_and_surrogates_display_safely(browser, crafted):
    path, _ = crafted
    p = Page(browser, path)
    try:
        pg = p.page
        # the stale entry's reason carries </script>, a pipe, U+2028 and NUL: shown as text
        pg.click("#list tr.row:has-text('sp_user/a-ok')")
        pg.wait_for_selector("#drawer .rblock.focused")
        text = pg.text_content("#drawer .rblock.focused .reason-text")
        assert text == TRICKY.replace("\u2028", "\\u2028").replace("\x00", "\\u0000")
        assert "</script><script>alert(1)</script>" in text
        # the surrogate vector: lone surrogate shown as \ud800
        pg.keyboard.press("Escape")
        pg.click("#list tr.row:has-text('single/c-sur')")
        pg.wait_for_function("document.querySelector('#drawer-title').textContent === 'single/c-sur'")
        pg.wait_for_selector("#drawer .esc")
        escs = pg.eval_on_selector_all("#drawer .esc", "e => e.map(x => x.textContent)")
        assert "\\ud800" in escs
        assert p.dialogs == []
        # a deep link opens the drill-down
        pg.goto(p.url + "#verdict=all&v=" + "sp_admin/d-long")
        pg.wait_for_function("window.__reportReady === true")
        pg.wait_for_selector("#drawer .rep")  # the 5,000-character nonce in its repeat notation
        assert "n × 5,000" in pg.text_content("#drawer .rep")
        assert p.errors == [] and [m for m in p.console if m[0] == "error"] == []
    finally:
        p.close()


def test_large_compressed_report_pages_and_drills_down(browser, big):
    path, doc = big
    p = Page(browser, path)
    try:
        pg = p.page
        assert "report-detail" in path.read_text()[:10_000_000]
        pg.select_option("#f-verdict", "")  # 7,200 outcomes: lists are paginated
        per_runner = pg.eval_on_selector_all(
            "#list section.runner-list", "s => s.map(x => x.querySelectorAll('tr.row').length)"
        )
        assert len(per_runner) == 12 and max(per_runner) <= 20
        assert pg.locator("#list tr.row").count() <= 300
        pg.select_option("#f-runner", "node-crypto")
        before = len(p.rows())
        pg.click("#list button.more")
        assert len(p.rows()) == before + 100
        # drill-down of a failure from the gzip-embedded detail
        pg.select_option("#f-verdict", "fail")
        pg.click("#list tr.row.v-fail")
        pg.wait_for_selector("#drawer mark.hl")
        key = pg.text_content("#drawer-title")
        rec = next(o for o in doc["outcomes"] if o["runner"] == "node-crypto" and o["vector"] == key)
        d = rec["difference"]
        assert _marked(pg) == [d["expected_hex"].split(" ")[d["marker"]], d["actual_hex"].split(" ")[d["marker"]]]
        assert pg.evaluate("window.__reportDetailReady") is True
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "report-drilldown.png"))
        p.check_clean()
    finally:
        p.close()


def test_screenshot(browser, big):
    path, _ = big
    p = Page(browser, path)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report.png"
        p.page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        p.check_clean()
    finally:
        p.close()


def test_a_hostile_runners_report_runs_no_script_and_loads_nothing(browser, tmp_path):
    """The real report of tests/fixtures/runners/hostile_runner.py (every field it controls full of HTML,
    script, escape sequences and CI commands): nothing runs, nothing is fetched, every drill-down opens."""
    import subprocess

    hostile = ROOT / "tests" / "fixtures" / "runners" / "hostile_runner.py"
    small = ROOT / "tests" / "fixtures" / "vectors" / "small.yaml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "appauth_conformance.frontends.cli",
            "run",
            "--lang=h",
            f"--runner=h={sys.executable} {hostile} {tmp_path / 'crashed'}",
            f"--vectors={small}",
            f"--report-dir={tmp_path}",
        ],
        capture_output=True,
        timeout=120,
    )
    p = Page(browser, tmp_path / "report.html")
    try:
        pg = p.page
        ours = pg.eval_on_selector_all("script", "s => s.length")
        assert ours == 2 + (1 if pg.query_selector("#report-detail") else 0)  # data + code (+ detail): ours only
        assert pg.query_selector("img") is None
        assert pg.title().startswith("❌ failing")
        for key in pg.eval_on_selector_all("#list tr.row .vid", "v => v.map(x => x.textContent)"):
            pg.goto(p.url + "#verdict=all&v=" + key)
            pg.wait_for_function("window.__reportReady === true")
            pg.wait_for_selector("#drawer .rblock")
        assert "alert(1)" in pg.content()  # the payload is there, as text
        assert pg.query_selector("img") is None and pg.eval_on_selector_all("script", "s => s.length") == ours
        p.check_clean()
    finally:
        p.close()

"""The static site (`appauth-conformance site build`) in a real browser: Debian's Chromium driven by Playwright.

The site is built from the published matrix (reports/results.json), a second version of one of its
runners (a history), and the crafted run of tests/test_report.py with a hostile runner's text in its
hello and faults. A crawler visits every page from file://; axe-core (npm, tests/browser/package.json,
installed by scripts/system-deps.sh) checks accessibility; screenshots at desktop and 390 px widths go to
artifacts/site/ and are checked for layout facts.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from appauth_conformance.frontends import cli

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "site"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"]
sys.path.insert(0, str(ROOT / "tests"))
HOSTILE = "evil</script><script>alert(1)</script>\x1b[2J\n::error::owned\n##[warning]x\u202egnp"


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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from test_report import crafted_run

    folder = tmp_path_factory.mktemp("site")
    published = json.loads((ROOT / "reports" / "results.json").read_text())
    older = copy.deepcopy(published)
    for r in older["runners"]:
        if r["name"] == "js-reference":
            r["hello"]["library_version"] = "3.1.2"
    (folder / "older.json").write_text(json.dumps(older))
    _, crafted = crafted_run(folder / "crafted")
    for r in crafted["runners"]:
        if r["name"] == "js":
            r["name"] = "hostile"
            r["hello"].update(library=HOSTILE, runtime=HOSTILE, details={"note": HOSTILE})
    for o in crafted["outcomes"]:
        if o["runner"] == "js":
            o["runner"] = "hostile"
            if o["verdict"] == "runner-fault":
                o["fault"] = HOSTILE
    (folder / "hostile.json").write_text(json.dumps(crafted))
    out = folder / "out"
    argv = ["site", "build", str(ROOT / "reports" / "results.json"), str(folder / "older.json")]
    assert cli.main([*argv, str(folder / "hostile.json"), "--out", str(out)]) == 0
    return out


class Visitor:
    """One browser page that records console messages, errors, requests and dialogs across visits."""

    def __init__(self, browser, width=1280, height=900, **context):
        self.context = browser.new_context(viewport={"width": width, "height": height}, **context)
        self.page = self.context.new_page()
        self.console, self.errors, self.requests, self.dialogs = [], [], [], []
        self.page.on(
            "console", lambda m: self.console.append((m.type, m.text)) if m.type in ("error", "warning") else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, url: str):
        self.page.goto(url)
        self.page.wait_for_function("window.__siteReady === true", timeout=15000)

    def close(self):
        self.context.close()


def test_crawler_visits_every_page_from_file_url(browser, site):
    base = site.resolve().as_uri() + "/"
    v = Visitor(browser)
    todo, seen, ids, fragments = [base + "index.html"], set(), {}, []
    try:
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            v.open(url)
            ids[url] = set(v.page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
            for href in v.page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
                assert href.startswith(base), f"{url}: {href} leaves the site"
                page, frag = urldefrag(href)
                if frag:
                    fragments.append((url, page, frag))
                if page.endswith(".html") and page not in seen:
                    todo.append(page)
                elif not page.endswith(".html"):
                    assert Path(page[len("file://") :]).is_file(), f"{url}: broken link {href}"
        assert v.console == [] and v.errors == [] and v.dialogs == []
        assert all(r.startswith(base) for r in v.requests), [r for r in v.requests if not r.startswith(base)][:3]
        for url, page, frag in fragments:
            assert page in ids, f"{url}: link to a page never reached: {page}"
            assert frag in ids[page], f"{url}: no anchor #{frag} in {page}"
    finally:
        v.close()
    on_disk = {p.resolve().as_uri() for p in site.rglob("*.html")}
    assert on_disk == seen  # every page is reachable from the index, and every page reached exists


def test_accessibility_with_axe(browser, site):
    if not AXE.is_file():
        _need("axe-core", "run `bash scripts/system-deps.sh` (npm ci in tests/browser)")
    pages = [
        "index.html",
        "vectors.html",
        "mistakes.html",
        "history.html",
        "impl/huawei-python-sdk.html",
        "impl/hostile.html",
        "vector/sp_user-colon-pair-001-a.html",
        "history/js-reference-crypto-js.html",
        next(p.relative_to(site).as_posix() for p in sorted((site / "mistake").glob("*.html"))),
    ]
    v = Visitor(browser, bypass_csp=True)  # the pages' policy allows no script file: axe is added by the test
    try:
        for rel in pages:
            v.open((site / rel).resolve().as_uri())
            v.page.add_script_tag(path=str(AXE))
            result = v.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
            found = [(x["id"], x["impact"], [n["target"] for n in x["nodes"]][:3]) for x in result["violations"]]
            assert found == [], f"{rel}: {found}"
        # the checker is live: an unlabelled field added to the last page is found
        v.page.evaluate("document.querySelector('main').appendChild(document.createElement('input'))")
        result = v.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        assert "label" in {x["id"] for x in result["violations"]}
    finally:
        v.close()


def test_keyboard_skip_link_filters_and_navigation(browser, site):
    v = Visitor(browser)
    try:
        v.open((site / "index.html").resolve().as_uri())
        p = v.page
        p.keyboard.press("Tab")
        assert p.evaluate("document.activeElement.textContent") == "Skip to content"
        p.keyboard.press("Enter")
        assert p.evaluate("location.hash") == "#main"
        p.focus("#f-group")
        p.keyboard.press("ArrowDown")  # 'all' -> the first group
        shown = p.eval_on_selector_all("#matrix tbody tr.impl:not(.hidden)", "rs => rs.map(r => r.dataset.group)")
        assert shown and set(shown) == {"reference"}
        assert "implementations shown" in p.text_content("#shown")
        link = p.locator("#matrix tbody tr.impl:not(.hidden) th a").first
        name = link.text_content()
        link.focus()
        p.keyboard.press("Enter")
        p.wait_for_function("window.__siteReady === true && location.pathname.includes('/impl/')")
        assert p.text_content("h1").startswith(name)
        assert v.errors == [] and v.console == []
    finally:
        v.close()


def test_hostile_runner_text_is_inert(browser, site):
    v = Visitor(browser)
    try:
        for rel in ("index.html", "impl/hostile.html", "history.html", "vectors.html"):
            v.open((site / rel).resolve().as_uri())
            assert v.page.evaluate("document.scripts.length") == 1  # the page's own script only
        v.open((site / "impl" / "hostile.html").resolve().as_uri())
        text = v.page.text_content("main")
        assert "evil</script><script>alert(1)</script>\\u001b[2J\\n" in text  # shown as text, escaped
        assert v.dialogs == [] and v.errors == []
    finally:
        v.close()


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("rel", ["index.html", "impl/huawei-python-sdk.html"])
def test_screenshots_and_layout(browser, site, rel, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    v = Visitor(browser, width=width, height=900)
    try:
        v.open((site / rel).resolve().as_uri())
        p = v.page
        shot = ARTIFACTS / f"{rel.replace('/', '_')[:-5]}-{width}.png"
        p.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 0
        # no horizontal scroll of the page: wide tables scroll inside their own box
        assert p.evaluate("document.documentElement.scrollWidth") <= width
        box = p.locator("h1").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        nav = p.locator("header.top nav").bounding_box()
        assert nav is not None and nav["y"] < 60  # the site's navigation is at the top
        if rel == "index.html":
            table = p.locator("#matrix").bounding_box()
            assert table is not None and table["y"] < 900 * 1.5  # the matrix starts near the top
        else:
            badge = p.locator(".badge svg").bounding_box()
            assert badge is not None and badge["y"] < 200 and badge["width"] <= width
    finally:
        v.close()

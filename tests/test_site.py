"""`appauth-conformance site build`: the static site's pages, badges, JSON (formats/schemas/site.json), history, links.

Documents are the crafted run of tests/test_report.py (the real Recorder over a tiny corpus, every verdict
but skipped); versions of one runner are made by copying it with another library_version.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import jsonschema
import pytest

from appauth_conformance.core import untrusted
from appauth_conformance.formats import schemas
from appauth_conformance.frontends import cli
from appauth_conformance.report import site as site_mod
from appauth_conformance.report.site import badges
from test_report import TRICKY, crafted_run  # the crafted run of the report tests

HOSTILE = "evil</script><script>alert(1)</script>\x1b[2J\n::error::owned\n##[warning]x ##vso[task.setvariable]\u202egnp"


def _version(doc: dict, runner: str, version: str) -> dict:
    d = copy.deepcopy(doc)
    for r in d["runners"]:
        if r["name"] == runner:
            r["hello"]["library_version"] = version
    return d


def _fix(doc: dict, runner: str, vector_suffix: str) -> dict:
    """The same document where `runner` passes the vector it failed."""
    d = copy.deepcopy(doc)
    for o in d["outcomes"]:
        if o["runner"] == runner and o["vector"].endswith(vector_suffix):
            for k in list(o):
                if k not in ("vector", "runner"):
                    del o[k]
            o["verdict"] = "pass"
    return d


def _write(folder: Path, name: str, doc: dict) -> Path:
    p = folder / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


@pytest.fixture
def crafted(tmp_path):
    path, doc = crafted_run(tmp_path / "run")
    return path, doc


def _build(tmp_path, *docs: dict) -> Path:
    paths = [_write(tmp_path, f"r{i}.json", d) for i, d in enumerate(docs)]
    out = tmp_path / "site"
    assert cli.main(["site", "build", *map(str, paths), "--out", str(out)]) == 0
    return out


def test_matrix_counts_each_runner_by_mode(crafted, tmp_path):
    _, doc = crafted
    out = _build(tmp_path, doc)
    index = json.loads((out / "index.json").read_text())
    # counted here, from the outcomes, independently of the site's code
    expected: dict[str, dict[str, Counter]] = {}
    for o in doc["outcomes"]:
        mode = doc["vectors"][o["vector"]]["mode"]
        expected.setdefault(o["runner"], {}).setdefault(mode, Counter())[o["verdict"]] += 1
    assert {i["name"] for i in index["implementations"]} == {"py", "java", "cpp", "js"}
    for impl in index["implementations"]:
        for mode, c in expected[impl["name"]].items():
            cell = impl["modes"][mode]
            assert cell["pass"] == c["pass"]
            assert cell["known"] == c["known-divergence"]
            assert cell["failing"] == c["fail"] + c["unexpected-pass"] + c["runner-fault"]
    page = (out / "index.html").read_text()
    for name in ("py", "java", "cpp", "js"):
        assert f'href="impl/{name}.html"' in page
    assert page.count('<tr class="impl"') == 4
    assert "Documented reference snippets" in page  # the group heading


def test_pages_for_implementations_vectors_and_mistakes(crafted, tmp_path):
    _, doc = crafted
    out = _build(tmp_path, doc)
    cpp = (out / "impl" / "cpp.html").read_text()
    # the failing vector, its stage and the diagnosis that explains it, linked to the mistake's page
    fail = next(o for o in doc["outcomes"] if o["runner"] == "cpp" and o["verdict"] == "fail")
    assert fail["vector"] in cpp and "signature" in cpp
    d = fail["difference"]  # the staged explanation: where the bytes first differ
    assert f"first difference at character {d['position']} (byte {d['byte_offset']})" in cpp
    assert f"expected bytes <code>{d['expected_hex']}</code>, got <code>{d['actual_hex']}</code>" in cpp
    for d in fail["diagnosis"]:
        assert (out / "mistake" / f"{d}.html").is_file()
        assert f"../mistake/{d}.html" in cpp
        assert 'href="../impl/cpp.html"' in (out / "mistake" / f"{d}.html").read_text()
    java = (out / "impl" / "java.html").read_text()
    assert "Java getBytes replaces a lone surrogate with" in java  # a known divergence with its reason
    # a vector page shows every runner's answer
    vpage = (out / "vector" / f"{fail['vector'].replace('/', '-')}.html").read_text()
    for name in ("py", "java", "cpp", "js"):
        assert f'href="../impl/{name}.html"' in vpage
    assert "signature " + fail["signature"] in vpage


def test_json_validates_against_the_closed_schema(crafted, tmp_path):
    _, doc = crafted
    out = _build(tmp_path, doc, _version(doc, "js", "9.9"))
    schema = schemas.load("site")
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    files = [out / "index.json", *sorted((out / "impl").glob("*.json"))]
    assert len(files) == 1 + 5  # four runners, js at two versions
    for f in files:
        errors = list(v.iter_errors(json.loads(f.read_text())))
        assert errors == [], f"{f.name}: {errors[0].message if errors else ''}"
    index = json.loads(files[0].read_text())
    index["implementations"][0]["extra"] = 1  # closed: an unknown key is refused
    assert list(v.iter_errors(index))
    for path, node in _objects(schema):
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} is not closed"


def _objects(node, path="#"):
    if isinstance(node, dict):
        yield path, node
        for k, sub in node.items():
            if k in ("properties", "$defs") and isinstance(sub, dict):
                for name, s in sub.items():
                    yield from _objects(s, f"{path}/{k}/{name}")
            elif isinstance(sub, dict):
                yield from _objects(sub, f"{path}/{k}")
            elif isinstance(sub, list):
                for i, s in enumerate(sub):
                    yield from _objects(s, f"{path}/{k}/{i}")


def test_history_of_one_runner_over_versions(crafted, tmp_path):
    _, doc = crafted
    old = _version(doc, "cpp", "1.9.0")
    new = _fix(_version(doc, "cpp", "1.10.0"), "cpp", "/b-nul")  # 1.10 after 1.9: numbers sort as numbers
    out = _build(tmp_path, new, old)  # given newest first: the order of the files does not matter
    index = json.loads((out / "index.json").read_text())
    cpps = [i for i in index["implementations"] if i["name"] == "cpp"]
    assert [(i["id"], i["version"], i["latest"]) for i in cpps] == [
        ("cpp--1.9.0", "1.9.0", False),
        ("cpp", "1.10.0", True),
    ]
    impl = json.loads((out / "impl" / "cpp.json").read_text())
    mistakes = set(next(o for o in doc["outcomes"] if o["runner"] == "cpp" and o["verdict"] == "fail")["diagnosis"])
    assert [h["version"] for h in impl["history"]] == ["1.9.0", "1.10.0"]
    assert set(impl["history"][1]["gone"]) == mistakes and impl["history"][1]["appeared"] == []
    hist = (out / "history" / "cpp-cpp-lib.html").read_text()
    assert "single/b-nul</a>: fail → pass" in hist
    assert (out / "badges" / "cpp--1.9.0.svg").is_file() and (out / "badges" / "cpp--1.10.0.svg").is_file()
    # the matrix shows the newest version only
    assert (out / "index.html").read_text().count('<tr class="impl"') == 4


def test_badges_are_accessible_svg(crafted, tmp_path):
    _, doc = crafted
    out = _build(tmp_path, doc)
    for name, words in (("py", "pass"), ("cpp", "failing"), ("java", "failing")):
        svg = ElementTree.fromstring((out / "badges" / f"{name}.svg").read_text())
        ns = "{http://www.w3.org/2000/svg}"
        title = svg.find(f"{ns}title")
        assert svg.get("role") == "img" and title is not None
        assert svg.get("aria-label") == title.text and words in title.text
    assert badges.status({"pass": 5}) == ("5/5 pass", "green")
    assert badges.status({"pass": 5, "known-divergence": 2}) == ("5 pass, 2 known", "yellow")
    assert badges.status({"pass": 5, "runner-fault": 1})[1] == "red"
    page = (out / "impl" / "py.html").read_text()
    assert "[![App ID auth: " in page and "(badges/py.svg)" in page  # the Markdown embed line


def test_runner_text_is_inert_on_every_page(crafted, tmp_path):
    _, doc = crafted
    d = copy.deepcopy(doc)
    for r in d["runners"]:
        if r["name"] == "js":
            r["hello"].update(library=HOSTILE, library_version=HOSTILE, runtime=HOSTILE, details={HOSTILE: HOSTILE})
    for o in d["outcomes"]:
        if o["runner"] == "js" and o["verdict"] == "runner-fault":
            o["fault"] = HOSTILE
    out = _build(tmp_path, d)
    seen = False
    for f in out.rglob("*"):
        if not f.is_file():
            continue
        text = f.read_text(encoding="utf-8")
        seen = seen or "alert(1)" in text
        assert "<script>alert" not in text, f
        assert not untrusted.CONTROLS.search(text), f
        assert "##" not in text, f
        assert not re.search(r"^[ \t]*::", text, re.M), f
        assert TRICKY not in text
    assert seen  # the hostile text is shown (escaped), not dropped


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for k in ("src",):
            if a.get(k):
                self.links.append(a[k])


def test_every_link_and_anchor_resolves_inside_the_site(crafted, tmp_path):
    _, doc = crafted
    out = _build(tmp_path, doc, _version(doc, "cpp", "0.1"))
    parsed = {}
    for f in out.rglob("*.html"):
        p = _Links()
        p.feed(f.read_text())
        parsed[f.resolve()] = p
    checked = 0
    for f, p in parsed.items():
        for href in p.links:
            u = urlsplit(href)
            assert not u.scheme and not u.netloc, f"{f.name}: {href} leaves the site"
            target = (f.parent / unquote(u.path)).resolve() if u.path else f
            assert target.is_file(), f"{f.relative_to(out.resolve())}: broken link {href}"
            assert out.resolve() in target.parents
            if u.fragment and target.suffix == ".html":
                assert u.fragment in parsed[target].ids, f"{f.name}: no anchor {href}"
            checked += 1
    assert checked > 100


def test_bad_input_is_one_message_and_exit_2(crafted, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli.main(["site", "build", str(bad), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.json" in err and "Traceback" not in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    path, _ = crafted
    assert cli.main(["site", "build", str(path), "--out", str(other)]) == 2
    assert "give an empty or new folder" in capsys.readouterr().err
    assert (other / "keep.txt").read_text() == "mine"
    # a site folder is rebuilt in place
    out = tmp_path / "site"
    assert cli.main(["site", "build", str(path), "--out", str(out)]) == 0
    assert cli.main(["site", "build", str(path), "--out", str(out)]) == 0
    assert cli.main(["site", "build", str(path), "--out", str(out), "--base-url", "ftp://x"]) == 2


def test_site_stats(crafted, tmp_path):
    path, doc = crafted
    stats = site_mod.build([path], tmp_path / "s")
    assert stats.implementations == 4 and stats.runs == 4 and stats.vectors == len(doc["vectors"])
    assert stats.files == sum(1 for f in (tmp_path / "s").rglob("*") if f.is_file())


def test_a_release_page_says_what_its_token_checks_gained(tmp_path):
    """Like the SDK before and after 3.1.167: the older release's Authorization header lacks access=."""
    published = json.loads((Path(__file__).resolve().parent.parent / "reports" / "results.json").read_text())
    older = copy.deepcopy(published)
    older["runners"] = [r for r in older["runners"] if r["name"] == "huawei-python-sdk"]
    older["runners"][0]["hello"]["library_version"] = "3.1.166"
    older["outcomes"] = [o for o in older["outcomes"] if o["runner"] == "huawei-python-sdk"]
    broken = 0
    for o in older["outcomes"]:
        for c in o.get("checks", ()):
            if c["stage"] == "token-header":
                c.update(verdict="fail", diagnosis=["header-access-missing"])
                o.update(verdict="fail", stage="token-header")
                broken += 1
    assert broken
    out = _build(tmp_path, published, older)
    # the family runs 3.1.166 (above), 3.1.167 (its own runner in the matrix), 3.1.219: 3.1.167's page says it
    page = (out / "impl" / "huawei-python-sdk-3.1.167.html").read_text()
    assert 'href="huawei-python-sdk--3.1.166.html">huawei-python-sdk 3.1.166</a>' in page
    assert "(<code>header-access-missing</code>)" in page.split("Mistakes that disappear:")[1].split("</p>")[0]
    assert f"<code>token-header</code>: failing {broken} → 0" in page
    # 646 known divergences under one reason: the page lists the first 100, the JSON all of them
    assert '… and 546 more: <a href="huawei-python-sdk-3.1.167.json">' in page
    listed = json.loads((out / "impl" / "huawei-python-sdk-3.1.167.json").read_text())["known"]
    assert sum(len(k["vectors"]) for k in listed) == 646
    old_page = (out / "impl" / "huawei-python-sdk--3.1.166.html").read_text()
    assert "header-access-missing" in old_page.split('id="failing"')[1]


def test_a_version_whose_runner_did_not_start_stays_in_its_history(crafted, tmp_path):
    _, doc = crafted
    dead = copy.deepcopy(doc)
    for r in dead["runners"]:
        if r["name"] == "py":
            del r["hello"]
            r.update(variant="0.5", unavailable="exited with status 1 before its hello")
    dead["outcomes"] = [o for o in dead["outcomes"] if o["runner"] != "py"]
    out = _build(tmp_path, doc, dead)
    impl = json.loads((out / "impl" / "py.json").read_text())
    assert [h["version"] for h in impl["history"]] == ["0.5", "2.0"]
    assert not (out / "history" / "py-.html").exists() and len(list((out / "history").glob("py*"))) == 1
    assert "exited with status 1 before its hello" in (out / "impl" / "py--0.5.html").read_text()


def test_implementation_json_groups_the_failing_vectors(crafted, tmp_path):
    _, doc = crafted
    out = _build(tmp_path, doc)
    impl = json.loads((out / "impl" / "js.json").read_text())
    mine = {o["vector"]: o["verdict"] for o in doc["outcomes"] if o["runner"] == "js" and o["verdict"] != "pass"}
    listed = {v: g["verdict"] for g in impl["failing"] for v in g["vectors"]}
    assert listed == mine and len(impl["failing"]) == 2  # an unexpected pass and a runner fault


def test_gzip_results_are_read_and_a_bad_one_is_one_message(crafted, tmp_path, capsys):
    import gzip

    path, _ = crafted
    gz = tmp_path / "r.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    stats = site_mod.build([gz], tmp_path / "s")
    assert stats.runs == 4
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    assert cli.main(["site", "build", str(bad), "--out", str(tmp_path / "t")]) == 2
    assert "bad.json.gz: not a gzip-compressed results.json" in capsys.readouterr().err

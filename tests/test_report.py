"""results.json schema, report.md, report.html (static checks), atomic writes, compare and the report CLI.

The documents are made by the real Recorder from a tiny corpus loaded with appauth_conformance.corpus.vectors.load,
with fabricated Outcomes judged by appauth_conformance.judging.verdicts.judge, as a run would make them.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from appauth_conformance import report
from appauth_conformance.core import scheme, text
from appauth_conformance.core.errors import ResultsError

# ---------------------------------------------------------------------------------------------
from appauth_conformance.core.model import Corpus, Outcome, Stage, Verdict
from appauth_conformance.corpus import vectors
from appauth_conformance.corpus.expectations import Divergence
from appauth_conformance.formats import schemas
from appauth_conformance.formats.results import Recorder
from appauth_conformance.judging import diagnosis
from appauth_conformance.judging.verdicts import judge
from appauth_conformance.report import compare as compare_mod
from appauth_conformance.report import html as html_mod
from appauth_conformance.report import views
from appauth_conformance.report.cli import main as report_main

# A tiny corpus and a crafted run over it


def _vector(
    vid,
    mode,
    flags,
    result,
    app_id="60f0e5b8a8f54b2fa81fb1a0b83c10a1",
    corp_id="",
    user_id="",
    expire_time=1604020600,
    nonce="EycLQsHwxhzK9OW8UEKWNfH2I3CGR2nm",
    app_key="key",
):
    fields = scheme.Fields(scheme.Mode(mode), app_id, corp_id, user_id, expire_time, nonce)
    sts = scheme.string_to_sign(fields)
    expected = {"string_to_sign": text.encode(sts)}
    try:
        expected["signature"] = scheme.sign(sts, app_key)
    except scheme.SchemeError:
        pass
    return {
        "id": vid,
        "description": f"{vid} ({', '.join(flags)})",
        "mode": mode,
        "inputs": {
            "app_id": text.encode(app_id),
            "corp_id": text.encode(corp_id),
            "user_id": text.encode(user_id),
            "expire_time": expire_time,
            "nonce": text.encode(nonce),
            "app_key": text.encode(app_key),
        },
        "result": result,
        "flags": flags,
        "expected": expected,
    }


def write_corpus(folder: Path) -> vectors.Corpus:
    folder.mkdir(parents=True, exist_ok=True)
    modes = {
        "schema": vectors.SCHEMA_ID,
        "description": "one vector per mode",
        "notes": {
            "ordinary": "Documentation-shaped values.",
            "long-field": "A 5,000-character nonce.",
            "empty-key": "Empty AppKey: Java refuses it.",
        },
        "vectors": [
            _vector("a-ok", "sp_user", ["ordinary"], "valid", corp_id="corp1", user_id="user@corp"),
            _vector("d-long", "sp_admin", ["long-field"], "valid", nonce="n" * 5000),
            _vector("e-key", "sp_corp_admin", ["empty-key"], "valid", corp_id="corp1", app_key=""),
        ],
    }
    edge = {
        "schema": vectors.SCHEMA_ID,
        "description": "edge cases",
        "notes": {"nul": "NUL inside a field and the key.", "surrogate": "Unpaired surrogate: no UTF-8 form."},
        "vectors": [
            _vector("b-nul", "single", ["nul"], "valid", user_id="a\0b", app_key="k\0ey"),
            _vector("c-sur", "single", ["surrogate"], "invalid", user_id="u\ud800"),
        ],
    }
    for name, doc in (("modes.yaml", modes), ("edge.yaml", edge)):
        (folder / name).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=False), encoding="utf-8")
    return vectors.load(folder)


HELLO = {"op": "hello", "protocol": 1, "language": "x", "runtime": "1.0", "library": "lib", "library_version": "2.0"}
TRICKY = "stale </script><script>alert(1)</script> | `x` *y* \u2028 \x00 entry"


def _sig(data: str, key: str) -> str:
    return scheme.hmac_hex(data.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass"))


def crafted_run(folder: Path, *, complete: bool = True) -> tuple[Path, dict]:
    """A run of four runners over the tiny corpus, with every verdict but skipped.

    py    all pass
    java  c-sur: signs with '?' -> known divergence (listed by flag); e-key: refuses -> FAIL (error where none was due)
    cpp   b-nul: NUL truncation -> FAIL at signature, diagnosed; c-sur refused -> pass
    js    a-ok: listed but passes -> UNEXPECTED PASS; d-long: crash -> RUNNER FAULT
    """
    corpus = write_corpus(folder / "vectors")
    rec = Recorder(folder / "results.json", corpus, backend="local", command=["appauth-conformance", "run"])

    def ok(x, r):
        return (
            Outcome(x, r, x.string_to_sign, x.signature)
            if x.signature
            else Outcome(
                x, r, x.string_to_sign, error={"type": "UnicodeEncodeError", "message": "surrogates not allowed"}
            )
        )

    def add(o, div=None):
        j = judge(o, div)
        diag = []
        if j.verdict in (Verdict.FAIL, Verdict.KNOWN_DIVERGENCE) and j.stage in (Stage.STRING_TO_SIGN, Stage.SIGNATURE):
            diag = [m.id for m in diagnosis.diagnose(o.vector.fields, o.vector.app_key, o.string_to_sign, o.signature)]
        rec.add(o, j, diag)
        return j

    for name in ("py", "java", "cpp", "js"):
        rec.runner(
            name,
            {"py": "python", "java": "java", "cpp": "cpp", "js": "js"}[name],
            hello={**HELLO, "name": name, "runtime": f"{name}-runtime 1.2.3", "library": f"{name}-lib"},
            facts={"image": f"appauth/{name}:1"} if name != "py" else None,
        )
    for x in corpus.vectors:
        add(ok(x, "py"))
    # java
    for x in corpus.vectors:
        if x.id == "c-sur":
            q = x.string_to_sign.replace("\ud800", "?")
            j = add(
                Outcome(x, "java", x.string_to_sign, _sig(q, x.app_key)),
                Divergence("Java getBytes replaces a lone surrogate with '?'", flag="surrogate"),
            )
            assert j.verdict is Verdict.KNOWN_DIVERGENCE
        elif x.id == "e-key":
            j = add(Outcome(x, "java", error={"type": "IllegalArgumentException", "message": "Empty key"}))
            assert j.verdict is Verdict.FAIL and j.stage is Stage.UNEXPECTED_ERROR
        else:
            add(ok(x, "java"))
    # cpp
    for x in corpus.vectors:
        if x.id == "b-nul":
            sig = scheme.hmac_hex(x.string_to_sign.split("\0")[0].encode(), x.app_key.split("\0")[0].encode())
            j = add(Outcome(x, "cpp", x.string_to_sign, sig))
            assert j.verdict is Verdict.FAIL and j.stage is Stage.SIGNATURE
        else:
            add(ok(x, "cpp"))
    # js
    for x in corpus.vectors:
        if x.id == "a-ok":
            j = add(ok(x, "js"), Divergence(TRICKY, match="a-ok"))
            assert j.verdict is Verdict.UNEXPECTED_PASS
        elif x.id == "d-long":
            j = add(
                Outcome(
                    x, "js", fault="runner exited with status 139 (SIGSEGV)\x00", stderr_tail="Segmentation fault\n"
                )
            )
            assert j.verdict is Verdict.RUNNER_FAULT
        else:
            add(ok(x, "js"))
    rec.timing("py", "start_s", 0.5)
    rec.timing("py", "run_s", 1.25)
    path = rec.write(complete)
    return path, json.loads(path.read_text())


@pytest.fixture
def run(tmp_path):
    return crafted_run(tmp_path)


def by(doc, runner, vector_id):
    return next(o for o in doc["outcomes"] if o["runner"] == runner and o["vector"].endswith("/" + vector_id))


# ---------------------------------------------------------------------------------------------
# schema


def test_schema_is_valid_draft_2020_12_and_versioned():
    schema = schemas.load("results")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "appauth-conformance/results/3"
    assert schema["properties"]["schema"]["const"] == schema["$id"]
    from appauth_conformance.formats.results import SCHEMA_ID

    assert SCHEMA_ID == schema["$id"]


def _walk(node, path="#"):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            if k in ("properties", "$defs"):
                for name, sub in v.items():
                    yield from _walk(sub, f"{path}/{k}/{name}")
            elif k in ("items", "additionalProperties") and isinstance(v, dict):
                yield from _walk(v, f"{path}/{k}")
            elif k in ("oneOf", "anyOf") and isinstance(v, list):
                for i, sub in enumerate(v):
                    yield from _walk(sub, f"{path}/{k}/{i}")


def test_schema_describes_every_field_and_is_closed():
    schema = schemas.load("results")
    for path, node in _walk(schema):
        is_field = re.search(r"/(properties/[^/]+|items|additionalProperties)$", path) and "/$defs/" not in path[-8:]
        if is_field and "$ref" not in node:  # a $ref's target ($defs) is checked itself
            assert "description" in node, f"{path} has no description"
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} is not closed"


def test_recorder_documents_validate(run, tmp_path):
    path, doc = run
    report.validate(doc)
    assert report.load(path) == doc
    # every outcome kind is represented
    assert {o["verdict"] for o in doc["outcomes"]} == {
        "pass",
        "fail",
        "known-divergence",
        "unexpected-pass",
        "runner-fault",
    }
    # passes carry no values
    for o in doc["outcomes"]:
        if o["verdict"] == "pass":
            assert set(o) == {"vector", "runner", "verdict"}
    # text notation: lone surrogate, long run, NUL
    vs = doc["vectors"]
    assert vs["single/c-sur"]["inputs"]["user_id"] == {"utf16": "0075 D800"}
    assert vs["sp_admin/d-long"]["inputs"]["nonce"] == {"repeat": "n", "count": 5000}
    assert vs["single/b-nul"]["inputs"]["app_key"] == "k\0ey"
    assert by(doc, "cpp", "b-nul")["difference"]["marker"] >= 0


def test_recorder_edge_shapes_validate(tmp_path):
    """Checkpoints, unavailable runners, timing before runner, skipped records, truncated values."""
    corpus = write_corpus(tmp_path / "v")
    rec = Recorder(tmp_path / "r.json", corpus, backend="docker")
    rec.timing("early", "start_s", 0.1)  # a runner whose timing came first
    rec.runner(
        "gone",
        "go",
        unavailable="docker image appauth/go:1 could not be built",
        facts={"backend": "docker", "variant": "1.22"},
    )
    x = corpus.vectors[0]
    rec.add_record({"vector": x.key, "runner": "gone", "verdict": "skipped"})
    rec.runner("long", "c")
    o = Outcome(x, "long", "z" * 5000 + "\U0001f600" + "y" * 10, "ABC")
    rec.add(o, judge(o))
    doc = rec.document(complete=False)
    report.validate(doc)
    rec_long = doc["outcomes"][-1]
    assert set(rec_long["string_to_sign"]) == {"truncated", "length"} or "repeat" in rec_long["string_to_sign"]
    assert doc["complete"] is False


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d["outcomes"][0].update(signature="x"), "outcomes/0"),  # a pass carrying a value
        (lambda d: d["outcomes"][0].update(verdict="maybe"), "outcomes/0/verdict"),
        (lambda d: d.update(extra=1), "(top level)"),
        (lambda d: d["corpus"].update(sha256="nothex"), "corpus/sha256"),
        (lambda d: d["outcomes"][0].update(vector="single/nope"), "outcomes/0/vector"),
        (lambda d: d["outcomes"][0].update(runner="nobody"), "outcomes/0/runner"),
    ],
)
def test_load_refuses_documents_off_schema_naming_file_and_place(run, tmp_path, mutate, where):
    _, doc = run
    bad = copy.deepcopy(doc)
    bad["outcomes"].sort(key=lambda o: o["verdict"] != "pass")
    mutate(bad)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(ResultsError) as e:
        report.load(p)
    assert str(p) in str(e.value) and where in str(e.value)


def test_load_errors_name_the_file(tmp_path, run):
    p = tmp_path / "half.json"
    p.write_text('{"schema": "appauth-conformance/results/1", "tool"')
    with pytest.raises(ResultsError, match=re.escape(str(p)) + r":1:\d+: not JSON"):
        report.load(p)
    with pytest.raises(ResultsError, match="cannot read"):
        report.load(tmp_path / "missing.json")
    _, doc = run
    p2 = tmp_path / "v4.json"
    p2.write_text(json.dumps({**doc, "schema": "appauth-conformance/results/4"}))
    with pytest.raises(ResultsError, match=re.escape(str(p2)) + r": schema 'appauth-conformance/results/4' is not"):
        report.load(p2)


# ---------------------------------------------------------------------------------------------
# report.md


def test_markdown_content(run):
    _, doc = run
    md = report.render_markdown(doc)
    lines = md.splitlines()
    assert lines[0] == "# ❌ App ID authentication conformance: failing"
    assert f"corpus `{doc['corpus']['sha256'][:12]}`" in lines[2]
    assert "5 vectors" in lines[2] and "20 outcomes" in lines[2]
    assert "**2 failures, 1 unexpected pass, 1 runner fault, 1 known divergence**" in lines[2]
    # runners x modes (modes present, in scheme order), pass counts / total with markers
    assert "| runner | single | sp_user | sp_corp_admin | sp_admin | all |" in lines
    assert "| `py` | ✅ 2/2 | ✅ 1/1 | ✅ 1/1 | ✅ 1/1 | **✅ 5/5** |" in lines
    assert "| `java` | ✅ 1/2 (1 known) | ✅ 1/1 | ❌ 0/1 | ✅ 1/1 | **❌ 3/5 (1 known)** |" in lines
    assert "| `cpp` | ❌ 1/2 | ✅ 1/1 | ✅ 1/1 | ✅ 1/1 | **❌ 4/5** |" in lines
    assert "| `js` | ✅ 2/2 | ❌ 0/1 | ✅ 1/1 | ❌ 0/1 | **❌ 3/5** |" in lines
    # runners x flags: only flags with anomalies, compact ✅ for all-pass cells
    assert "| flag | vectors | `py` | `java` | `cpp` | `js` | " in lines
    assert "| `nul` | 1 | ✅ | ✅ | ❌ 0/1 | ✅ | " in lines
    assert "| `surrogate` | 1 | ✅ | ✅ 0/1 (1 known) | ✅ | ✅ | " in lines
    assert "other flag" not in md  # every flag has an anomaly here: no "0 other flags" sentence
    # anomalies per runner: failure with stage and diagnosis, error type, unexpected pass, fault, known divergence
    cpp = md[md.index("### ❌ cpp") : md.index("### ❌ js")]
    assert "1 failure · 4/5 pass" in cpp
    assert "**FAIL** ×1 · stage `signature` · diagnosis:" in cpp
    assert "(`nul-truncates-both`)" in cpp and diagnosis.BY_ID["nul-truncates-both"].title in cpp
    assert re.search(r"— `single/b-nul` <sub>\S*edge\.yaml:\d+</sub>", cpp)
    java = md[md.index("### ❌ java") : md.index("### ❌ cpp")]
    assert "**FAIL** ×1 · stage `error-where-none-was-due` · error `IllegalArgumentException`: Empty key" in java
    assert (
        "- **1** × Java getBytes replaces a lone surrogate with '?' <sub>(signature-where-refusal-was-due)</sub>"
        in java
    )
    js = md[md.index("### ❌ js") : md.index("## Runners")]
    assert "**UNEXPECTED PASS** ×1 · listed as a known divergence (" in js
    # a fault shows its cause, the first and last request it took down, and the runner's last words
    assert "**RUNNER FAULT** ×1 · exit status: status 139 · first `" in js
    assert "· runner exited with status 139 (SIGSEGV)\\\\u0000" in js
    assert "  - last lines of its stderr: Segmentation fault" in js
    assert "### ✅ py: 5/5 pass" in md
    # the hostile reason is neutralised: no raw HTML, no raw control characters, table pipes escaped
    assert "</script>" not in md and "&lt;/script&gt;" in md
    assert "\x00" not in md and "\u2028" not in md
    # runner versions
    assert "| `java` | java | java-runtime 1.2.3 | java-lib | 2.0 | local | `appauth/java:1` | — |" in lines
    assert "| `py` | python | py-runtime 1.2.3 | py-lib | 2.0 | local | — | 1.8 s |" in lines


def test_markdown_passing_and_incomplete(tmp_path):
    corpus = write_corpus(tmp_path / "v")
    rec = Recorder(tmp_path / "r.json", corpus, backend="local")
    rec.runner("py", "python", hello={**HELLO, "name": "py"})
    rec.runner("gone", "go", unavailable="no go toolchain: install go 1.22 or use --backend docker")
    for x in corpus.vectors[:3]:
        o = (
            Outcome(x, "py", x.string_to_sign, x.signature)
            if x.signature
            else Outcome(x, "py", error={"type": "E", "message": "m"})
        )
        rec.add(o, judge(o))
    md = report.render_markdown(rec.document(complete=False))
    assert md.startswith("# ⚠️ App ID authentication conformance: incomplete")
    assert "**Incomplete run**" in md
    assert "> Runner `gone` was unavailable: no go toolchain" in md
    md2 = report.render_markdown(
        {**rec.document(complete=True), "runners": [r for r in rec.document(True)["runners"] if r["name"] == "py"]}
    )
    assert md2.startswith("# ✅ App ID authentication conformance: passing")
    assert "All 0 flags" not in md2 and "pass on every runner" in md2


def test_markdown_caps_lists_and_stays_short(run):
    _, doc = run
    big = copy.deepcopy(doc)
    key = "single/b-nul"
    for i in range(45):  # 45 different kinds of failure for one runner, and 12 runners with 45 each
        for r in range(12):
            big["outcomes"].append(
                {
                    "vector": key,
                    "runner": f"r{r}",
                    "verdict": "fail",
                    "stage": "signature",
                    "reason": f"reason number {i} " + "x" * 150,
                    "signature": "ab",
                }
            )
    for r in range(12):
        big["runners"].append({"name": f"r{r}", "counts": {}})
    # (the same pair recorded many times: the renderer counts the last record only, so give each its own vector)
    vs = big["vectors"]
    base = vs[key]
    big["outcomes"] = [o for o in big["outcomes"] if not o["runner"].startswith("r")]
    for i in range(45):
        k = f"single/x-{i:03d}"
        vs[k] = {**base, "id": f"x-{i:03d}"}
        for r in range(12):
            big["outcomes"].append(
                {
                    "vector": k,
                    "runner": f"r{r}",
                    "verdict": "fail",
                    "stage": "signature",
                    "reason": f"reason number {i} " + "x" * 150,
                    "signature": "ab",
                }
            )
    md = report.render_markdown(big)
    assert len(md) <= report.MD_LIMIT
    section = md[md.index("### ❌ r0") : md.index("### ❌ r1")]
    assert section.count("- **FAIL**") <= 20
    assert re.search(r"… and \d+ more kinds of failure \(\d+ outcomes; see report.html\)", section)


# ---------------------------------------------------------------------------------------------
# report.html (static: the browser tests drive it)


def test_html_is_self_contained_and_escaped(run):
    _, doc = run
    page = report.render_html(doc)
    assert page.startswith("<!DOCTYPE html>")
    # nothing to fetch: no src/href to anything, CSP forbids it anyway
    assert not re.search(r"""\s(src|href)\s*=""", page)
    assert "default-src 'none'" in page
    assert not re.search(r"https?://", page.replace("https://json-schema.org", ""))
    # one script element per data block and one for the code: the hostile reason never closes a tag
    assert page.lower().count("</script") == 2
    assert "<script>alert(1)" not in page
    assert "\u2028" not in page and "\u2029" not in page
    data = json.loads(
        re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    )
    assert TRICKY in data["reasons"]
    assert data["codes"][0] == "PPPPP"  # py passes everything
    assert set("".join(data["codes"])) == {"P", "F", "K", "U", "X"}
    # drill-down data: plain for a small report
    assert "detail" in data and len(data["detail"]["inputs"]) == 5


def test_html_escapes_record_text_in_markup(run):
    _, doc = run
    doc = copy.deepcopy(doc)
    doc["runners"][1]["image"] = '<img src=x onerror="alert(1)">'
    doc["runners"][1]["unavailable"] = "<b>docker</b> & co"
    page = report.render_html(doc)
    assert "<img src=x" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "<b>docker</b>" not in page and "&lt;b&gt;docker&lt;/b&gt; &amp; co" in page


def test_reports_of_a_run_with_no_outcome(tmp_path):
    corpus = write_corpus(tmp_path / "v")
    rec = Recorder(tmp_path / "r.json", corpus, backend="docker")
    rec.runner(
        "java", "java", unavailable="docker: image appauth/java:1 not found; run `appauth-conformance images build`"
    )
    path = rec.write(complete=False)
    md_path, html_path = report.write_reports(path)
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# ⚠️ App ID authentication conformance: nothing ran") and "was unavailable" in md
    assert "**no outcome was recorded**" in md
    assert 'id="report-data"' in html_path.read_text(encoding="utf-8")


def _tables(md: str) -> list[list[str]]:
    """The GitHub tables of a markdown text, each as its lines."""
    tables, current = [], []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def _cells(row: str) -> int:
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def test_a_run_where_nothing_ran_says_so_and_its_tables_render(tmp_path):
    """A complete run with a runner that started but got no vector (an empty selection): never "0/0 pass ✅",
    and every table has as many cells in each row as in its header (GitHub drops a table that does not)."""
    corpus = Corpus(vectors=[], notes={})
    rec = Recorder(tmp_path / "r.json", corpus, backend="local")
    rec.runner("python", "python")
    md_path, html_path = report.write_reports(rec.write(complete=True))
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# ⚠️ App ID authentication conformance: nothing ran")
    assert "Nothing ran" in md and "0/0" not in md and "✅" not in md
    assert _tables(md), "the runners table is still there"
    for table in _tables(md):
        assert table[1].startswith("|---") and {_cells(r) for r in table} == {_cells(table[0])}, table
    assert "NOTHING RAN" in html_path.read_text(encoding="utf-8")


def test_html_detail_compressed_round_trip(run):
    import base64
    import gzip

    _, doc = run
    page = report.render_html(doc, compress=True)
    blob = re.search(r'<script type="application/octet-stream" id="report-detail">(.*?)</script>', page, re.S).group(1)
    detail = json.loads(gzip.decompress(base64.b64decode(blob)))
    core, _ = html_mod.payload(doc, views.Summary(doc), compress=False)
    assert detail == json.loads(json.dumps(core["detail"]))


def test_dumps_for_html_escapes():
    s = html_mod.dumps_for_html({"a": "</script><!-- \u2028\u2029 & >"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s and "\u2029" not in s
    assert json.loads(s) == {"a": "</script><!-- \u2028\u2029 & >"}


def test_show_escapes_unsafe_text():
    assert views.show("a\x00b\u202e\ud800\\") == "a\\u0000b\\u202e\\ud800\\\\"
    assert views.show({"utf16": "0061 DC00"}) == "a\\udc00"
    assert views.show({"prefix": "p:", "repeat": "n", "count": 5000}) == "p:«n×5000»"
    assert views.show({"truncated": "abc", "length": 9000}) == "abc… (9000 chars)"


# ---------------------------------------------------------------------------------------------
# writing reports


def test_write_reports_atomic(run, tmp_path, monkeypatch):
    path, doc = run
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("OLD MD")
    (out / "report.html").write_text("OLD HTML")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        src, dst = Path(src), Path(dst)
        # the new text is complete in a temporary file of the same folder; the target still holds the old one
        assert src.parent == dst.parent and src.name.startswith(".") and src.name.endswith(".tmp")
        assert dst.read_text().startswith("OLD")
        seen.append((src.read_text(encoding="utf-8"), dst.name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    written = report.write_reports(path, out)
    assert written == [out / "report.md", out / "report.html"]
    assert [n for _, n in seen] == ["report.md", "report.html"]
    assert seen[0][0] == report.render_markdown(doc) == (out / "report.md").read_text(encoding="utf-8")
    assert (out / "report.html").read_text(encoding="utf-8") == report.render_html(doc)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md"]  # no temporary left


def test_write_reports_failure_leaves_old_files(run, tmp_path, monkeypatch):
    path, _ = run
    (tmp_path / "report.md").write_text("OLD MD")

    def boom(doc, **kw):
        raise RuntimeError("render failed")

    monkeypatch.setattr(report, "render_html", boom)
    with pytest.raises(RuntimeError):
        report.write_reports(path)  # default: next to results.json
    assert (tmp_path / "report.md").read_text() == "OLD MD"
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_reports_default_folder_and_bad_input(run, tmp_path):
    path, _ = run
    assert report.write_reports(path) == [tmp_path / "report.md", tmp_path / "report.html"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ResultsError, match=re.escape(str(bad))):
        report.write_reports(bad, tmp_path / "x")
    assert not (tmp_path / "x" / "report.md").exists()


# ---------------------------------------------------------------------------------------------
# compare


def _set(doc, runner, vid, **rec):
    doc = copy.deepcopy(doc)
    for i, o in enumerate(doc["outcomes"]):
        if o["runner"] == runner and o["vector"].endswith("/" + vid):
            doc["outcomes"][i] = {"vector": o["vector"], "runner": runner, **rec}
    return doc


def test_compare_identical(run):
    _, doc = run
    c = compare_mod.compare(doc, copy.deepcopy(doc))
    assert not c.regressed
    assert all(r.empty for r in c.runners.values())
    assert c.runners_added == c.runners_removed == c.vectors_added == c.vectors_removed == []
    assert "no regression" in c.format() and "no outcome changed" in c.format()


def test_compare_new_failure(run):
    _, old = run
    new = _set(old, "py", "a-ok", verdict="fail", stage="signature", signature="00" * 32, diagnosis=["hex-uppercase"])
    c = compare_mod.compare(old, new)
    assert c.regressed
    assert [(x.vector, x.runner, x.old, x.new) for x in c.new_failures] == [("sp_user/a-ok", "py", "pass", "fail")]
    assert c.fixes == [] and c.changed_outputs == [] and c.lost == []
    assert c.runners["py"].regressed and not c.runners["cpp"].regressed
    text_ = c.format()
    assert "REGRESSED: 1 new failure" in text_
    assert "NEW FAILURE  sp_user/a-ok  pass -> fail  (signature; hex-uppercase)" in text_


def test_compare_known_divergence_to_fault_is_a_new_failure(run):
    _, old = run
    new = _set(old, "java", "c-sur", verdict="runner-fault", reason="timeout", fault="timeout", stderr_tail="")
    c = compare_mod.compare(old, new)
    assert [(x.old, x.new) for x in c.new_failures] == [("known-divergence", "runner-fault")]
    assert c.regressed


def test_compare_fix(run):
    _, old = run
    new = _set(old, "cpp", "b-nul", verdict="pass")
    c = compare_mod.compare(old, new)
    assert not c.regressed
    assert [(x.vector, x.runner, x.old, x.new) for x in c.fixes] == [("single/b-nul", "cpp", "fail", "pass")]
    assert c.new_failures == [] and c.changed_outputs == []
    assert "no regression (1 fix)" in c.format() and "FIX          single/b-nul  fail -> pass" in c.format()


def test_compare_changed_signature(run):
    _, old = run
    rec = by(old, "cpp", "b-nul")
    new = _set(
        old,
        "cpp",
        "b-nul",
        **{**{k: v for k, v in rec.items() if k not in ("vector", "runner")}, "signature": "f" * 64},
    )
    c = compare_mod.compare(old, new)
    assert not c.regressed
    assert c.new_failures == [] and c.fixes == []
    [ch] = c.changed_outputs
    assert (ch.vector, ch.runner, ch.old, ch.new) == ("single/b-nul", "cpp", "fail", "fail")
    assert ch.detail.startswith(f"signature {rec['signature']} -> {'f' * 64}")


def test_compare_changed_error_type(run):
    _, old = run
    new = _set(
        old,
        "java",
        "e-key",
        verdict="fail",
        stage="error-where-none-was-due",
        error={"type": "InvalidKeyException", "message": "Empty key"},
    )
    [ch] = compare_mod.compare(old, new).changed_outputs
    assert ch.detail == "error type IllegalArgumentException -> InvalidKeyException"


def test_compare_runner_added(run):
    _, old = run
    new = copy.deepcopy(old)
    new["runners"].append({"name": "go", "language": "go", "counts": {"pass": 5}})
    new["outcomes"] += [{"vector": k, "runner": "go", "verdict": "pass"} for k in new["vectors"]]
    c = compare_mod.compare(old, new)
    assert c.runners_added == ["go"] and c.runners_removed == []
    assert not c.regressed
    assert "go" not in c.runners and all(r.empty for r in c.runners.values())
    assert "runners added: go" in c.format()


def test_compare_runner_removed(run):
    _, old = run
    new = copy.deepcopy(old)
    new["runners"] = [r for r in new["runners"] if r["name"] != "js"]
    new["outcomes"] = [o for o in new["outcomes"] if o["runner"] != "js"]
    c = compare_mod.compare(old, new)
    assert c.runners_removed == ["js"] and c.runners_added == []
    assert c.regressed
    assert c.new_failures == [] and c.lost == []
    assert "REGRESSED: 1 runner removed" in c.format()


def test_compare_lost_outcome_and_vectors(run):
    _, old = run
    new = copy.deepcopy(old)
    new["outcomes"] = [o for o in new["outcomes"] if not (o["runner"] == "py" and o["vector"] == "sp_user/a-ok")]
    new["outcomes"].append({"vector": "sp_user/a-ok", "runner": "py", "verdict": "skipped"})
    del new["vectors"]["sp_admin/d-long"]
    new["outcomes"] = [o for o in new["outcomes"] if o["vector"] != "sp_admin/d-long"]
    new["vectors"]["single/z-new"] = {**new["vectors"]["single/b-nul"], "id": "z-new"}
    c = compare_mod.compare(old, new)
    assert [(x.vector, x.old, x.new, x.detail) for x in c.lost] == [("sp_user/a-ok", "pass", "absent", "skipped")]
    assert c.vectors_removed == ["sp_admin/d-long"] and c.vectors_added == ["single/z-new"]
    assert c.regressed


def test_compare_incomplete_new_run_regresses(run):
    _, old = run
    c = compare_mod.compare(old, {**copy.deepcopy(old), "complete": False})
    assert c.regressed and "the new run is incomplete" in c.format()


def test_compare_other_changes_do_not_regress(run):
    _, old = run
    new = _set(old, "cpp", "b-nul", verdict="known-divergence", stage="signature", reason="strlen", signature="ab")
    c = compare_mod.compare(old, new)
    assert not c.regressed and c.fixes == []
    assert [(x.old, x.new) for x in c.runners["cpp"].other_changes] == [("fail", "known-divergence")]


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_compare_and_render(run, tmp_path, capsys):
    path, old = run
    new = _set(old, "py", "a-ok", verdict="fail", stage="signature", signature="ab")
    new_path = tmp_path / "new.json"
    new_path.write_text(json.dumps(new))
    assert report_main(["compare", str(path), str(path)]) == 0
    assert report_main(["compare", str(path), str(new_path)]) == 1
    assert "NEW FAILURE" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert report_main(["compare", str(path), str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    out = tmp_path / "rendered"
    assert report_main(["render", str(path), "--out", str(out)]) == 0
    assert (out / "report.md").exists() and (out / "report.html").exists()


# ---------------------------------------------------------------------------------------------
# the end-of-run summary for terminals and CI logs (report/text.py)


def test_terminal_summary_groups_like_report_md_and_neutralises_runner_text(run):
    from appauth_conformance.report import terminal

    _, doc = run
    for o in doc["outcomes"]:
        if o["verdict"] == "runner-fault":  # a hostile runner's fault text: a CI command, an escape sequence
            o["fault"] = "boom\n::error file=x::pwned\x1b[2J\x1b]0;title\x07 <b>"
    lines = terminal.grouped(doc)
    joined = "\n".join(lines)
    assert "cpp: 4/5 pass" in lines
    assert any(
        line.startswith("  FAIL x1 at signature: key and data each cut at the first NUL [nul-truncates-both]")
        for line in lines
    )
    assert "known divergence x1: Java getBytes replaces a lone surrogate with '?'" in joined
    assert "py:" not in joined  # every outcome passes: nothing to say
    assert "\x1b" not in joined and "\x07" not in joined
    assert not [line for line in lines if line.lstrip().startswith("::")]
    assert "boom\\n::error file=x::pwned\\u001b[2J" in joined


_MD_FRAME = {
    "schema": "appauth-conformance/results/2",
    "tool": {"name": "appauth-conformance", "version": "0"},
    "started": "2026-01-01T00:00:00Z",
    "finished": "2026-01-01T00:00:01Z",
    "duration_s": 1.0,
    "command": ["appauth-conformance", "run"],
    "corpus": {"sha256": "0" * 64, "vector_count": 4},
    "notes": {},
}


def _doc(outcomes):
    vectors = {
        f"single/v{i}": {"id": f"v{i}", "mode": "single", "file": "vectors/x.yaml", "flags": [], "line": i}
        for i in range(len(outcomes))
    }
    return {
        "vectors": vectors,
        "runners": [{"name": "r"}],
        "outcomes": [{"vector": f"single/v{i}", "runner": "r", **o} for i, o in enumerate(outcomes)],
        "complete": True,
    }


def test_a_runners_diagnoses_are_all_shown_the_one_that_explains_most_first():
    from appauth_conformance.report import terminal

    fail = {"verdict": "fail", "stage": "signature"}
    doc = _doc(
        [
            {**fail, "diagnosis": ["expire-float", "hex-uppercase"]},  # catalogue order puts the rare one first
            {**fail, "diagnosis": ["hex-uppercase"]},
            {**fail, "diagnosis": ["hex-uppercase"]},
            {**fail, "diagnosis": ["base64", "base64url"]},
        ]
    )
    s = report.Summary(doc)
    rv = s.runners["r"]
    assert rv.explains == {"hex-uppercase": 3, "expire-float": 1, "base64": 1, "base64url": 1}
    assert rv.anomalies[0].diagnosis == ["hex-uppercase", "expire-float"]
    lines = terminal.grouped(doc)
    shown = "\n".join(lines)
    for d in ("hex-uppercase", "expire-float", "base64", "base64url"):
        assert f"[{d}]" in shown
    md = report.render_markdown({**doc, **_MD_FRAME})
    assert "`hex-uppercase`" in md and "`base64url`" in md and "and 1 more" not in md

"""report.html's embedded data has named fields and takes the verdicts' words from report/views.py."""

import re

from appauth_conformance.formats import resources
from appauth_conformance.report import html, views
from test_report import crafted_run


def _named(keys, row):
    assert len(row) == len(keys)
    return dict(zip(keys, row, strict=True))


def test_every_row_of_the_payload_is_read_by_the_names_it_carries(tmp_path):
    _, doc = crafted_run(tmp_path)
    core, _ = html.payload(doc, views.Summary(doc), compress=False)
    keys = core["keys"]
    vec_keys = [f"{doc['vectors'][k]['mode']}/{i}" for k, i in zip(doc["vectors"], core["vec"]["id"], strict=True)]
    for key, row in zip(vec_keys, core["detail"]["inputs"], strict=True):
        v, inp = doc["vectors"][key], _named(keys["inputs"], row)
        assert (inp["result"], inp["file"], inp["line"]) == (v["result"], v["file"], v["line"])
        assert inp["app_key"] == v["inputs"]["app_key"] and inp["signature"] == v["expected"]["signature"]
    cpp = [r["name"] for r in core["runners"]].index("cpp")
    (anom,) = [_named(keys["anom"], row) for row in core["anom"][cpp]]
    (out,) = [_named(keys["out"], row) for row in core["detail"]["out"][cpp]]
    wrong = next(o for o in doc["outcomes"] if o["runner"] == "cpp" and o["verdict"] == "fail")
    assert vec_keys[anom["vector"]] == wrong["vector"]
    assert core["stages"][anom["stage"]] == wrong["stage"] == "signature"
    assert out["signature"] == wrong["signature"]
    diff = _named(keys["difference"], out["difference"])
    assert diff["position"] == wrong["difference"]["position"]
    assert diff["actual_hex"] == wrong["difference"]["actual_hex"].replace(" ", "")


def test_the_page_script_reads_fields_by_name_and_labels_from_the_views():
    js = (resources.TEMPLATES / "report.js").read_text()
    # no positional read of a row (inp[10], row[3], out[5], d[7]) and no label of its own
    assert not re.findall(r"\b(?:inp|row|out|d)\[\d+\]", js)
    for v in views.VERDICTS:
        for words in (views.VERDICT_LABEL, views.VERDICT_PLURAL, views.VERDICT_SHORT):
            if words[v] != "fault":  # also the name of a record's field, which the drill-down shows
                assert f'"{words[v]}"' not in js, words[v]
    labels = html.labels()
    assert {labels[c]["label"] for c in "PFKUXS"} == {views.VERDICT_LABEL[v] for v in html.CODES if v != "unsupported"}
    assert labels["."]["label"] == views.NOT_RUN_LABEL

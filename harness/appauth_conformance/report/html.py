"""report.html: one self-contained page, data embedded compactly as JSON.

Layout of the embedded data (built here, read by templates/report.js):

    core (a <script type="application/json" id="report-data">), parsed at load:
      keys: the fields of each kind of row below, by name, in order (KEYS: inputs, anom, out,
            difference); report.js reads a row's field by its name's index, never by a number
      labels: per verdict code, its verdict name, label and plural (report/views.py, the one place)
      modes, files (vector families: file stems), flags, notes   lookup tables
      vec: {id: [...], mode: [i], file: [i], flags: [[i, ...]]}   one column per vector field
      runners: [{name, language, unavailable}]
      codes: one string per runner, one character per vector: the verdict code
             (P pass, F fail, K known divergence, U unexpected pass, X runner fault, S skipped, . not run)
      anom: per runner, its non-pass outcomes in vector order, rows of ANOMALY_FIELDS: vector index,
            stage index, reason index, [diagnosis indexes], error type index  (-1: none)
      stages, reasons, diag ([id, title]), errtypes                 string tables
    detail (only needed by the drill-down), either plain JSON in "detail" or, when large,
    gzip + base64 in a <script type="application/octet-stream" id="report-detail"> that the page
    inflates with DecompressionStream after the first paint:
      inputs: per vector, a row of INPUT_FIELDS (text values in the notation)
      out: per runner, aligned with anom, rows of OUTPUT_FIELDS; a difference is a row of
           DIFFERENCE_FIELDS, hex without spaces

Passing outcomes cost one character each; values are only carried for the
outcomes results.json carries them for.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import jinja2
from markupsafe import Markup

from appauth_conformance.core import untrusted
from appauth_conformance.formats import resources
from appauth_conformance.formats.records import OutcomeRecord, ResultsDocument
from appauth_conformance.report import views
from appauth_conformance.report.views import Summary

# what a runner does not support shows as not run ("."), as in report.md's "— unsupported"
CODES = {
    "pass": "P",
    "fail": "F",
    "known-divergence": "K",
    "unexpected-pass": "U",
    "runner-fault": "X",
    "skipped": "S",
    "unsupported": ".",
}
STAGES = ("string-to-sign", "signature", "error-where-none-was-due", "signature-where-refusal-was-due")
COMPRESS_OVER = 256 << 10  # detail JSON larger than this is embedded gzip + base64
ASSETS = resources.TEMPLATES


def dumps_for_html(obj) -> str:
    """JSON safe inside <script>: no '<', '>', '&' (so no '</script>' or '<!--'), and inert in a CI log:
    no control, invisible or bidi character raw (U+2028/2029 included) and no `##` (`##[`, `##vso[` are
    log commands), each written as a \\u escape (these can only occur inside JSON strings)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("##", "#\\u0023")
    return untrusted.CONTROLS.sub(_json_escape, s)


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


_LINE_COMMAND = re.compile(r"^([ \t]*)::", re.M)  # a line that starts (after blanks) with `::`


def inert(page: str) -> str:
    """The rendered page as bytes a CI step may print: what dumps_for_html does for the data, done for the
    page's text too (hello fields, reasons, faults shown by the template). A control, invisible or bidi
    character becomes the visible text \\uXXXX (as report.md shows it), `##` becomes `#&#35;` and a line's
    leading `:` `&#58;` (a workflow command needs `::` at the start of a line): both display as before."""
    page = untrusted.CONTROLS.sub(_json_escape, page)
    return _LINE_COMMAND.sub(r"\1&#58;:", page.replace("##", "#&#35;"))


class _Table:
    """A string table: value -> index, in first-seen order."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, s: str | None) -> int:
        if s is None:
            return -1
        if s not in self.index:
            self.index[s] = len(self.index)
        return self.index[s]

    @property
    def values(self) -> list[str]:
        return list(self.index)


def _hex(h: str) -> str:
    return h.replace(" ", "")


# The rows of the payload's tables, by field: emitted once as `keys` (report.js looks each field up by name)
INPUT_FIELDS = (
    "description",
    "result",
    "file",
    "line",
    "app_id",
    "corp_id",
    "user_id",
    "expire_time",
    "nonce",
    "app_key",
    "string_to_sign",
    "signature",
)
ANOMALY_FIELDS = ("vector", "stage", "reason", "diagnosis", "error_type")
OUTPUT_FIELDS = ("string_to_sign", "signature", "error", "fault", "stderr_tail", "difference")
DIFFERENCE_FIELDS = (
    "position",
    "byte_offset",
    "context_start",
    "expected_hex",
    "actual_hex",
    "marker",
    "expected_len",
    "actual_len",
)
KEYS = {"inputs": INPUT_FIELDS, "anom": ANOMALY_FIELDS, "out": OUTPUT_FIELDS, "difference": DIFFERENCE_FIELDS}


def labels() -> dict[str, dict[str, str]]:
    """Each verdict code's verdict, label, plural and short label (report/views.py, the one place), for the page's script."""
    out = {
        c: {
            "name": v,
            "label": views.VERDICT_LABEL[v],
            "plural": views.VERDICT_PLURAL[v],
            "short": views.VERDICT_SHORT[v],
        }
        for v, c in CODES.items()
    }
    out["."] = {
        "name": "not-run",
        "label": views.NOT_RUN_LABEL,
        "plural": views.NOT_RUN_PLURAL,
        "short": views.NOT_RUN_PLURAL,
    }
    return out


def _row(fields: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
    return [values[f] for f in fields]


def payload(doc: ResultsDocument, summary: Summary, compress: bool | None = None) -> tuple[dict, str | None]:
    """(core, gzip+base64 detail or None). `compress`: None = when the detail is large.
    The matrix holds the corpus's sign vectors; token requests are a static section of the page."""
    vectors = {k: v for k, v in doc["vectors"].items() if not k.startswith(views.TOKEN)}
    keys = list(vectors)
    vindex = {k: i for i, k in enumerate(keys)}
    modes = [m for m in views.MODES if any(v["mode"] == m for v in vectors.values())]
    mode_i = {m: i for i, m in enumerate(modes)}
    files = sorted({views.family(v["file"]) for v in vectors.values()})
    file_i = {f: i for i, f in enumerate(files)}
    flags = sorted({f for v in vectors.values() for f in v["flags"]})
    flag_i = {f: i for i, f in enumerate(flags)}

    vec: dict[str, list[Any]] = {"id": [], "mode": [], "file": [], "flags": []}
    inputs = []
    for k in keys:
        v = vectors[k]
        vec["id"].append(v["id"])
        vec["mode"].append(mode_i[v["mode"]])
        vec["file"].append(file_i[views.family(v["file"])])
        vec["flags"].append([flag_i[f] for f in v["flags"]])
        i = v["inputs"]
        e = v["expected"]
        inputs.append(
            _row(
                INPUT_FIELDS,
                {
                    "description": v["description"],
                    "result": v["result"],
                    "file": v["file"],
                    "line": v["line"],
                    "app_id": i["app_id"],
                    "corp_id": i["corp_id"],
                    "user_id": i["user_id"],
                    "expire_time": i.get("expire_time"),
                    "nonce": i.get("nonce"),
                    "app_key": i["app_key"],
                    "string_to_sign": e.get("string_to_sign"),
                    "signature": e.get("signature"),
                },
            )
        )

    runner_names = list(summary.runners)
    rindex = {n: i for i, n in enumerate(runner_names)}
    latest: dict[tuple[int, int], OutcomeRecord] = {}
    for o in doc["outcomes"]:
        if o["vector"] in vindex:
            latest[(rindex[o["runner"]], vindex[o["vector"]])] = o
    codes = [bytearray(b"." * len(keys)) for _ in runner_names]
    per_runner: list[list[tuple[int, OutcomeRecord]]] = [[] for _ in runner_names]
    for (ri, vi), o in latest.items():
        codes[ri][vi] = ord(CODES[o["verdict"]])
        if o["verdict"] not in ("pass", "unsupported"):
            per_runner[ri].append((vi, o))

    stage_i: dict[str | None, int] = {s: i for i, s in enumerate(STAGES)}  # looked up by a record's stage, if any
    reasons, errtypes = _Table(), _Table()
    diag_ids = sorted({d for rows in per_runner for _, o in rows for d in o.get("diagnosis", ())})
    titles = views.diagnosis_titles(diag_ids)
    diag_i = {d: i for i, d in enumerate(diag_ids)}
    anom, out = [], []
    for rows in per_runner:
        rows.sort(key=lambda r: r[0])
        a_rows, o_rows = [], []
        for vi, o in rows:
            err = o.get("error")
            a_rows.append(
                _row(
                    ANOMALY_FIELDS,
                    {
                        "vector": vi,
                        "stage": stage_i.get(o.get("stage"), -1),
                        "reason": reasons(o.get("reason")),
                        "diagnosis": [diag_i[d] for d in o.get("diagnosis", ())],
                        "error_type": errtypes(err["type"] if err else None),
                    },
                )
            )
            d = o.get("difference")
            o_rows.append(
                _row(
                    OUTPUT_FIELDS,
                    {
                        "string_to_sign": o.get("string_to_sign"),
                        "signature": o.get("signature"),
                        "error": err["message"] if err else None,
                        "fault": o.get("fault"),
                        "stderr_tail": o.get("stderr_tail"),
                        "difference": _row(
                            DIFFERENCE_FIELDS,
                            {**d, "expected_hex": _hex(d["expected_hex"]), "actual_hex": _hex(d["actual_hex"])},
                        )
                        if d
                        else None,
                    },
                )
            )
        anom.append(a_rows)
        out.append(o_rows)

    runners = []
    for n in runner_names:
        r = summary.runners[n].record
        hello: dict[str, Any] = dict(r.get("hello") or {})
        runners.append(
            {
                k: v
                for k, v in {
                    "name": n,
                    "language": r.get("language") or hello.get("language"),
                    "library": hello.get("library"),
                    "library_version": hello.get("library_version"),
                    "unavailable": r.get("unavailable"),
                }.items()
                if v is not None
            }
        )

    notes = doc.get("notes", {})
    core = {
        "v": 1,
        "keys": KEYS,
        "labels": labels(),
        "modes": modes,
        "files": files,
        "flags": flags,
        "notes": [notes.get(f, "") for f in flags],
        "vec": vec,
        "runners": runners,
        "codes": [c.decode("ascii") for c in codes],
        "anom": anom,
        "stages": list(STAGES),
        "reasons": reasons.values,
        "diag": [[d, titles[d]] for d in diag_ids],
        "errtypes": errtypes.values,
    }
    detail = {"inputs": inputs, "out": out}
    text = json.dumps(detail, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if compress is None:
        compress = len(text) > COMPRESS_OVER
    if not compress:
        core["detail"] = detail
        return core, None
    blob = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    return core, base64.b64encode(blob).decode("ascii")


def _asset(name: str) -> str:
    return asset_text(ASSETS / name)


def asset_text(path) -> str:
    """A CSS or script file to inline in a page, checked to pass through `inert` unchanged."""
    text = path.read_text(encoding="utf-8")
    name = path.name
    if "</script" in text.lower() or "</style" in text.lower():
        raise AssertionError(f"{name} must not contain a closing script/style tag")
    if "##" in text or _LINE_COMMAND.search(text) or untrusted.CONTROLS.search(text):
        # inert() rewrites those in the page as HTML text, which a script or a style would not read back
        raise AssertionError(f"{name} must not contain `##`, a line starting with `::` or a control character")
    return text


def render(
    doc: ResultsDocument, env: jinja2.Environment, compress: bool | None = None, s: Summary | None = None
) -> str:
    s = s or Summary(doc)
    core, blob = payload(doc, s, compress)
    page = env.get_template("report.html.j2").render(
        doc=doc,
        s=s,
        corpus_short=views.short_hash(doc["corpus"]["sha256"]),
        command=" ".join(doc.get("command") or []),
        data_json=Markup(dumps_for_html(core)),
        detail_b64=blob,
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        show=views.show,
        VERDICTS=views.VERDICTS,
        LABEL=views.VERDICT_LABEL,
        PLURAL=views.VERDICT_PLURAL,
        GROUPS=views.GROUPS,
        TITLE=lambda d: views.diagnosis_titles([d])[d],
    )
    return inert(page)

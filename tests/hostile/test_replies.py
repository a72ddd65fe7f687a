"""A hostile runner cannot make the harness grow: replies are bounded when read (issue 25, item 5).

The runner answers every request with a 4 MB value (an error message, a string to sign, an
unknown field). Before, every reply was kept whole: 4 MB error messages took the harness from
141 MB to 1.46 GB over a run. Now a line is at most wire.MAX_LINE (16 MiB), at most
runner_process.QUEUE_BYTES (32 MiB) of lines wait to be judged, and what a runner wrote is cut when
received (wire.MESSAGE_LIMIT, value_limit), its full length said.

The bound on the harness's peak RSS: the same run answered with short errors gives the baseline;
the 4 MB run may add the queue (32 MiB), a line being assembled and joined (2 x 4 MiB), its
decoded batch (the joined bytes, the text, the parsed value: 3 x 4 MiB) and allocator slack:
96 MiB over the baseline. Keeping 200 whole replies would add 800 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appauth_conformance.core import text, wire
from appauth_conformance.formats import protocol

pytestmark = pytest.mark.slow

BIG = 4 << 20
REQUESTS = 200
GROWTH = 96 << 20  # bytes over the baseline run's peak RSS (see the module's docstring)

RUNNER = """\
import json, sys
HOW, SIZE = sys.argv[1], int(sys.argv[2])
print(json.dumps({"op": "hello", "protocol": 1, "name": "big", "language": "python", "runtime": "3",
                  "library": "none", "library_version": "0"}), flush=True)
sys.stdin.readline()
big = "x" * SIZE
for line in sys.stdin:
    seq = json.loads(line)["seq"]
    if HOW == "error":
        out = {"seq": seq, "error": {"type": "Big", "message": big}}
    elif HOW == "string_to_sign":
        out = {"seq": seq, "string_to_sign": big, "signature": "0" * 64}
    elif HOW == "unknown-field":
        out = {"seq": seq, "signature": "0" * 64, "extra": big}
    else:  # "line": a line of SIZE bytes
        out = {"seq": seq, "signature": "0" * (SIZE - len('{"seq": , "signature": ""}') - len(str(seq)))}
    sys.stdout.write(json.dumps(out) + "\\n")
    sys.stdout.flush()
"""

# runs the CLI in this process and writes its own peak RSS (KiB, ru_maxrss) to argv[1]
MEASURE = """\
import resource, sys
from appauth_conformance import cli
try:
    code = cli.main(sys.argv[2:])
finally:
    open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def _corpus(tmp_path: Path) -> Path:
    """REQUESTS valid vectors (an error is a failure, never a pass), expected values filled by the oracle."""
    from appauth_conformance.corpus import authoring

    lines = ["schema: appauth-conformance/vectors/1", "description: answered with 4 MB values", "notes: {}", "vectors:"]
    for i in range(REQUESTS):
        lines += [
            f"- id: big-{i:03d}",
            "  mode: single",
            "  description: a request answered with a 4 MB value",
            "  result: valid",
            "  flags: []",
            "  inputs:",
            f"    app_id: app-{i:03d}",
            '    corp_id: ""',
            "    user_id: alice",
            "    expire_time: 1720584391",
            f'    nonce: "n{i:031d}"',
            "    app_key: key",
        ]
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    authoring.fill(path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _corpus(tmp_path_factory.mktemp("big-corpus"))


def _run(tmp_path: Path, corpus: Path, how: str, size: int) -> tuple[int, dict, subprocess.CompletedProcess]:
    runner, measure, peak = tmp_path / "big_runner.py", tmp_path / "measure.py", tmp_path / f"peak-{how}"
    runner.write_text(RUNNER)
    measure.write_text(MEASURE)
    out = tmp_path / f"out-{how}-{size}"
    argv = [sys.executable, str(measure), str(peak), "run", "--lang", "big", "--vectors", str(corpus)]
    argv += ["--runner", f"big={sys.executable} {runner} {how} {size}", "--report-dir", str(out)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    return int(peak.read_text()) << 10, json.loads((out / "results.json").read_text()), r


@pytest.mark.parametrize("how", ["error", "string_to_sign", "unknown-field"])
def test_four_megabyte_replies_do_not_make_the_harness_grow(tmp_path, corpus, how):
    base, _, _ = _run(tmp_path, corpus, how, 100)
    peak, doc, r = _run(tmp_path, corpus, how, BIG)
    assert r.returncode == 1, r.stderr[-2000:]
    assert len(doc["outcomes"]) == REQUESTS  # every vector answered
    grew = peak - base
    assert grew < GROWTH, f"peak RSS {peak >> 20} MiB, {grew >> 20} MiB over the baseline {base >> 20} MiB"
    said = f"… ({BIG:,} chars)"  # cut when received, the full length said
    if how == "error":
        assert all(said in o["error"]["message"] and len(o["error"]["message"]) < 1100 for o in doc["outcomes"])
    elif how == "string_to_sign":
        kept = [text.decode(o["string_to_sign"]) for o in doc["outcomes"]]  # the record's text notation
        assert all(k.endswith(said) and len(k) < 10_000 for k in kept), kept[0][-100:]
    else:
        assert all(o["verdict"] == "runner-fault" and len(o["fault"]) < 2000 for o in doc["outcomes"])


def test_a_line_over_the_limit_is_a_fault_that_says_the_limit(tmp_path, corpus):
    """One byte over: a fault that names the limit (the line's last piece, with its newline, counts too)."""
    _, doc, _ = _run(tmp_path, corpus, "line", wire.MAX_LINE + 1)
    faults = [o["fault"] for o in doc["outcomes"] if o["verdict"] == "runner-fault"]
    assert faults and f"longer than {wire.MAX_LINE >> 20} MiB, the protocol's limit for a line" in faults[0]


def test_what_a_token_reply_and_a_hello_hold_is_cut_when_received():
    """The cuts themselves, without a process: a 4 MB value anywhere in a token reply or a hello."""
    from appauth_conformance.corpus import vectors
    from appauth_conformance.judging import tokens

    request = tokens.suite(
        vectors.load(Path(__file__).resolve().parents[1] / "fixtures" / "vectors" / "small.yaml").vectors
    )[0]
    big, limit = "x" * BIG, wire.value_limit(request.request_body)
    reply = {
        "seq": 0,
        "nonce": big,
        "expire_time": 1,
        "signature": big,
        "string_to_sign": big,
        "headers": {"Authorization": big, big: "v", **{f"h{i}": "v" for i in range(100)}},
        "body": {"appId": big, "extra": [big, {"deep": [[big]]}], **{f"k{i}": i for i in range(100)}},
    }
    o = tokens.outcome(request, "big", reply)
    assert o.fault is None, o.fault
    said = f"… ({BIG:,} chars)"
    for value in (o.nonce, o.signature, o.string_to_sign, o.headers["Authorization"], o.body["appId"]):
        assert value.endswith(said) and len(value) <= limit + len(said)
    assert len(o.headers) <= wire.ITEMS_LIMIT and len(o.body) <= wire.ITEMS_LIMIT
    assert all(len(k) <= wire.TYPE_LIMIT + len(said) for k in o.headers)
    assert len(json.dumps(o.body)) < 4 * limit
    refused = tokens.outcome(request, "big", {"seq": 0, "error": {"type": big, "message": big}})
    assert refused.error == {"type": "x" * wire.TYPE_LIMIT + said, "message": "x" * wire.MESSAGE_LIMIT + said}
    hello = protocol.check_hello(
        {
            "op": "hello",
            "protocol": 1,
            "name": "n",
            "language": "l",
            "runtime": big,
            "library": "x",
            "library_version": "1",
        }
    )
    assert hello["runtime"].endswith(said) and len(hello["runtime"]) < 600

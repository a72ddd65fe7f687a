"""What a runner is told when its reply, hello or line breaks the protocol: each reply below breaks exactly
one rule, and the message names that field and rule (a bad reply becomes a runner fault showing it)."""

import json

import pytest

from appauth_conformance.formats import protocol

RULE = protocol.STDOUT_RULE


def nested(levels: int) -> object:
    v: object = 1
    for _ in range(levels):
        v = [v]
    return v


SIGN = [  # (reply, the message check_response gives)
    ({"signature": "ab"}, "seq: missing (required)"),
    ({"seq": 1}, "signature: missing (required)"),
    ({"seq": -1, "signature": "ab"}, "seq: -1 is less than the minimum of 0"),
    ({"seq": True, "signature": "ab"}, "seq: true is not an integer"),
    ({"seq": "1", "signature": "ab"}, 'seq: "1" is not an integer'),
    ({"seq": 1, "signature": 1.5}, "signature: 1.5 is not a string"),
    ({"seq": 1, "signature": None}, "signature: null is not a string"),
    ({"seq": 1, "signature": "ab", "string_to_sign": 5}, "string_to_sign: 5 is not a string"),
    ({"seq": 1, "signature": "ab", "extra": 1}, "extra: not a field of this message"),
    ({"seq": 1, "signature": "ab", "error": {"type": "X", "message": "m"}}, "error: not a field of this message"),
    ({"seq": 1, "error": {"type": "", "message": "m"}}, "error/type: '' should be non-empty"),
    ({"seq": 1, "error": {"type": "X"}}, "error/message: missing (required)"),
    ({"seq": 1, "error": {"message": "m"}}, "error/type: missing (required)"),
    ({"seq": 1, "error": {"type": "X", "message": "m", "stack": ""}}, "error/stack: not a field of this message"),
    ({"seq": 1, "error": {"type": "X", "message": 3}}, "error/message: 3 is not a string"),
    ({"seq": 1, "error": "boom"}, 'error: "boom" is not an object'),
    ({"seq": 1, "error": True}, "error: true is not an object"),
    ({"seq": 1, "error": ["a"]}, 'error: ["a"] is not an object'),
    ([1, 2], "(the reply): [1, 2] is not an object"),
    ("text", '(the reply): "text" is not an object'),
    (None, "(the reply): null is not an object"),
    (3.5, "(the reply): 3.5 is not an object"),
    # values are shown as JSON, ASCII only, cut at 60 characters
    ({"seq": 1, "error": "\xe9"}, 'error: "\\u00e9" is not an object'),
    ({"seq": 1, "error": "x" * 58}, f'error: "{"x" * 58}" is not an object'),  # 60 characters: whole
    ({"seq": 1, "error": "x" * 59}, f'error: "{"x" * 58}… is not an object'),  # 61: cut to 59 and …
    ({"seq": 1, "error": "x" * 70}, f'error: "{"x" * 58}… is not an object'),
    # shown from the reply as bounded (clip_json, 8 levels): a deeper list is shown as its JSON text
    ({"seq": 1, "error": nested(7)}, "error: [[[[[[[1]]]]]]] is not an object"),
    ({"seq": 1, "error": nested(8)}, 'error: [[[[[[["[1]"]]]]]]] is not an object'),
    ({"seq": 1, "error": "a long error text"}, 'error: "a long error text" is not an object'),
    # several problems of the meant branch, each said once, in document order
    ({"seq": -1, "signature": 5}, "seq: -1 is less than the minimum of 0; signature: 5 is not a string"),
    ({"seq": 1, "error": {"type": 1, "message": 2}}, "error/type: 1 is not a string; error/message: 2 is not a string"),
    ({}, "seq: missing (required); signature: missing (required)"),
    ({"seq": 1, "signature": "a", "b": 1, "c": 2}, "b: not a field of this message; c: not a field of this message"),
]


@pytest.mark.parametrize("reply, message", SIGN, ids=lambda x: json.dumps(x)[:50] if not isinstance(x, str) else x)
def test_a_bad_reply_is_named_by_its_field_and_rule(reply, message):
    assert protocol.check_response(reply) == message


TOKEN = [  # (token reply, the message check_token_response gives)
    ({"seq": 1}, "signature: missing (required)"),
    ({"error": {"type": "X", "message": "m"}}, "seq: missing (required)"),
    ({"seq": 1, "headers": {"a": 1}}, "headers/a: 1 is not a string"),
    ({"seq": 1, "signature": "s", "nonce": 5}, "nonce: 5 is not a string"),
    ({"seq": 1, "signature": "s", "expire_time": 1.5}, "expire_time: 1.5 is not an integer"),
    ({"seq": 1, "signature": "s", "body": []}, "body: [] is not an object"),
    ({"seq": 1, "signature": "s", "x": 1}, "x: not a field of this message"),
    ({"seq": 1, "error": {"type": "X", "message": "m"}, "signature": "s"}, "error: not a field of this message"),
    ({"seq": 1, "error": {"type": "X", "message": "m"}, "nonce": "n"}, "nonce: not a field of this message"),
    ({"seq": -2, "error": {"type": "X", "message": "m"}}, "seq: -2 is less than the minimum of 0"),
    ({"seq": 1, "string_to_sign": "x"}, "signature: missing (required)"),
    ("x", '(the reply): "x" is not an object'),
    ({"seq": -1, "signature": 5}, "seq: -1 is less than the minimum of 0; signature: 5 is not a string"),
]


@pytest.mark.parametrize("reply, message", TOKEN, ids=lambda x: json.dumps(x)[:50] if not isinstance(x, str) else x)
def test_a_bad_token_reply_is_named_by_its_field_and_rule(reply, message):
    assert protocol.check_token_response(reply) == message


@pytest.mark.parametrize(
    "reply",
    [
        {"seq": 1, "signature": "s"},
        {"seq": 1, "headers": {"Authorization": "x"}},
        {"seq": 1, "signature": "s", "nonce": "n", "expire_time": 5, "string_to_sign": "t", "body": {"a": 1}},
        {"seq": 0, "error": {"type": "X", "message": ""}},
    ],
)
def test_a_good_token_reply_passes(reply):
    assert protocol.check_token_response(reply) is None


HELLO = {
    "op": "hello",
    "protocol": 1,
    "name": "n",
    "language": "l",
    "runtime": "r",
    "library": "x",
    "library_version": "1",
}


def test_a_good_hello_is_returned_bounded():
    assert protocol.check_hello(dict(HELLO)) == HELLO
    long = {**HELLO, "runtime": "r" * 501, "details": {"k": "v" * 499}}
    got = protocol.check_hello(long)
    assert got["runtime"] == "r" * 500 + "… (501 chars)"  # its fields are shown and recorded: cut at 500
    assert got["details"] == {"k": "v" * 499}
    assert got["name"] == "n"


OPS_RULE = " is not one of ['sign', 'token']"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": "", "language": ""}, "language: '' should be non-empty; name: '' should be non-empty"),
        ({"ops": []}, "ops: [] should be non-empty"),
        ({"ops": ["sign", "sign"]}, "ops: ['sign', 'sign'] has non-unique elements"),
        ({"details": {"k": 1}}, "details/k: 1 is not a string"),
        ({"modes": ["zz"]}, "modes/0: 'zz' is not one of ['single', 'sp_user', 'sp_corp_admin', 'sp_admin']"),
        ({"zz": 1}, "zz: not a field of this message"),
        ({"runtime": 5}, "runtime: 5 is not a string"),
        # a rule jsonschema words is cut at 200 characters: 166 x's make it exactly 200
        ({"ops": ["x" * 166]}, "ops/0: '" + "x" * 166 + "'" + OPS_RULE),
        ({"ops": ["x" * 167]}, "ops/0: '" + "x" * 167 + "'" + OPS_RULE[:-2] + "…"),
        ({"ops": ["x" * 300]}, "ops/0: '" + "x" * 198 + "…"),
    ],
)
def test_a_bad_hello_is_named_by_its_field_and_rule(change, message):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_hello({**HELLO, **change})
    assert str(e.value) == "bad hello: " + message


def test_a_missing_hello_field_is_named():
    hello = {k: v for k, v in HELLO.items() if k not in ("library", "runtime")}
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_hello(hello)
    assert str(e.value) == "bad hello: runtime: missing (required); library: missing (required)"


@pytest.mark.parametrize(
    "first, shown",
    [
        (["a" * 30], '["' + "a" * 30 + '"]'),
        ({"op": "sign", "note": "abcdefghijklmnopqrst"}, '{"op": "sign", "note": "abcdefghijklmnopqrst"}'),
        (nested(9), '[[[[[[[["[1]"]]]]]]]]'),  # bounded to 8 levels
        (nested(8), "[[[[[[[[1]]]]]]]]"),
        (["y" * 196], '["' + "y" * 196 + '"]'),  # 200 characters: whole
        (["y" * 197], '["' + "y" * 197 + "…"),  # 201: cut to 199 and …
        ("y" * 2000, '"' + "y" * 198 + "…"),
        ({"op": "helo"}, '{"op": "helo"}'),
        (None, "null"),
    ],
)
def test_a_first_line_that_is_not_a_hello_is_shown(first, shown):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_hello(first)
    assert str(e.value) == f"expected the hello handshake as the first line, got {shown}{RULE}"


def test_another_protocol_version_is_named():
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_hello({**HELLO, "protocol": 2})
    assert str(e.value) == "runner speaks protocol 2, the harness speaks 1: update the runner"
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_hello({"op": "hello"})
    assert str(e.value) == "runner speaks protocol None, the harness speaks 1: update the runner"


@pytest.mark.parametrize(
    "line, message",
    [
        (b"not json", "not a JSON line (Expecting value): 'not json'"),
        (b'{"seq": 1', "not a JSON line (Expecting ',' delimiter): '{\"seq\": 1'"),
        (b"1,2", "not a JSON line (Extra data): '1,2'"),
        (b'"\xff"', "stdout is not UTF-8 (invalid start byte at byte 1): '\"\\xff\"'"),
        (b"ab\xc3", "stdout is not UTF-8 (unexpected end of data at byte 2): 'ab\\xc3'"),
        (
            b"9" * 5000,
            "not a JSON line (Exceeds the limit (4300 digits) for integer string conversion: "
            "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit): '"
            + "9" * 120
            + "'… (5,000 bytes)",
        ),
    ],
)
def test_a_line_that_is_not_json_is_named(line, message):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.decode_line(line)
    assert str(e.value) == message + RULE


@pytest.mark.parametrize(
    "line, shown",
    [
        (b"", "''"),
        (b"x" * 120, "'" + "x" * 120 + "'"),  # exactly 120 bytes: whole, no length
        (b"x" * 121, "'" + "x" * 120 + "'… (121 bytes)"),
        (b"\xff" * 2000, "'" + "\\xff" * 120 + "'… (2,000 bytes)"),
        ("é".encode() * 3, "'ééé'"),
    ],
)
def test_preview_shows_the_start_of_a_line(line, shown):
    assert protocol.preview(line) == shown


def test_a_batch_of_good_lines_is_decoded_in_one_call(monkeypatch):
    """The hot path: lines that all decode never go line by line (decode_line is the slow fallback)."""

    def refuse(line):
        raise AssertionError(f"decoded line by line: {line!r}")

    monkeypatch.setattr(protocol, "decode_line", refuse)
    lines = [b'{"seq":1,"signature":"a"}', b"[1, 2]", b'"\xc3\xa9"', b"2"]
    assert protocol.decode_batch(lines) == [{"seq": 1, "signature": "a"}, [1, 2], "é", 2]
    assert protocol.decode_batch([]) == []


def test_a_line_holding_two_values_is_a_protocol_error_in_its_place():
    out = protocol.decode_batch([b"1,2", b"3"])
    assert isinstance(out[0], protocol.ProtocolError) and str(out[0]).startswith("not a JSON line (Extra data)")
    assert out[1] == 3
    out = protocol.decode_batch([b"1", b"2,3"])
    assert out[0] == 1 and isinstance(out[1], protocol.ProtocolError)

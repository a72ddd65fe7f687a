"""The hand-written fast check of responses accepts exactly what the protocol's JSON Schema accepts."""

import json

import jsonschema
import pytest

from appauth_conformance.formats import protocol, schemas

GOOD = [
    {"seq": 0, "signature": "ab"},
    {"seq": 7, "string_to_sign": "a:b:1:n", "signature": "00" * 32},
    {"seq": 3, "error": {"type": "URIError", "message": "URI malformed"}},
    {"seq": 3, "string_to_sign": "a:\ud800:1:n", "error": {"type": "UnicodeEncodeError", "message": ""}},
    {"seq": 2**40, "signature": ""},
    {"seq": 1.0, "signature": "ab"},  # JSON has one number type: an integral 1.0 is an integer to the schema
]
BAD = [
    {"seq": -1, "signature": "ab"},
    {"seq": True, "signature": "ab"},
    {"seq": "1", "signature": "ab"},
    {"signature": "ab"},
    {"seq": 1},
    {"seq": 1, "string_to_sign": "x"},
    {"seq": 1, "signature": 5},
    {"seq": 1, "signature": None},
    {"seq": 1, "signature": "ab", "extra": 1},
    {"seq": 1, "signature": "ab", "error": {"type": "X", "message": "m"}},
    {"seq": 1, "string_to_sign": 3, "signature": "ab"},
    {"seq": 1, "error": {"type": "", "message": "m"}},
    {"seq": 1, "error": {"type": "X"}},
    {"seq": 1, "error": {"type": "X", "message": 1}},
    {"seq": 1, "error": {"type": "X", "message": "m", "stack": ""}},
    {"seq": 1, "error": "boom"},
    [1, 2],
    "text",
    None,
]


def schema_ok(msg) -> bool:
    s = schemas.load("protocol")
    return jsonschema.Draft202012Validator({"$defs": s["$defs"], "$ref": "#/$defs/sign_response"}).is_valid(msg)


@pytest.mark.parametrize(
    "msg, valid", [(m, True) for m in GOOD] + [(m, False) for m in BAD], ids=lambda m: json.dumps(m)[:60]
)
def test_fast_check_agrees_with_the_schema(msg, valid):
    assert schema_ok(msg) is valid
    assert schemas.check("protocol", "sign_response")(msg) is valid
    assert (protocol.check_response(msg) is None) is valid


def test_batch_decoding_isolates_bad_lines():
    lines = [b'{"seq":1,"signature":"a"}', b"not json", b'{"seq":2,"signature":"\xff"}', b'{"seq":3,"signature":"c"}']
    out = protocol.decode_batch(lines)
    assert out[0] == {"seq": 1, "signature": "a"} and out[3] == {"seq": 3, "signature": "c"}
    assert isinstance(out[1], protocol.ProtocolError) and "not a JSON line" in str(out[1])
    assert isinstance(out[2], protocol.ProtocolError) and "not UTF-8" in str(out[2])


def test_lone_surrogates_and_nul_survive_the_wire():
    line = json.dumps({"seq": 1, "string_to_sign": "a\x00\ud800b", "signature": "x"}).encode()
    assert protocol.decode_batch([line])[0]["string_to_sign"] == "a\x00\ud800b"


@pytest.mark.parametrize(
    "hello, text",
    [
        (
            {
                "op": "hello",
                "protocol": 2,
                "name": "n",
                "language": "l",
                "runtime": "r",
                "library": "x",
                "library_version": "1",
            },
            "protocol 2",
        ),
        ({"op": "sign"}, "expected the hello handshake"),
        ({"op": "hello", "protocol": 1, "name": "n"}, "bad hello"),
    ],
)
def test_bad_hellos_are_named(hello, text):
    with pytest.raises(protocol.ProtocolError, match=text):
        protocol.check_hello(hello)


def test_a_number_too_long_for_python_is_a_protocol_error_not_a_crash():
    """Python refuses to parse integers of more than 4300 digits with a plain ValueError (no .msg)."""
    line = b'{"seq": 1, "signature": "a", "x": ' + b"9" * 5000 + b"}"
    with pytest.raises(protocol.ProtocolError, match="not a JSON line"):
        protocol.decode_line(line)
    assert isinstance(protocol.decode_batch([line])[0], protocol.ProtocolError)

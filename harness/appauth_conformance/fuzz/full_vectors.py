"""Full fuzz Vectors the slow way: the oracle's expected values computed by `scheme`, for
shrinking, saving, and checking the generator's fast path against (`generate.Inputs`).

`SLOTS` and `CARRIES` are the oracle's layout read off `scheme` and `diagnosis`, shared with the
fast path so that the formula itself lives only in scheme.py.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from appauth_conformance.core import scheme, text
from appauth_conformance.core.model import Vector
from appauth_conformance.fuzz.edges import FIELDS
from appauth_conformance.judging import diagnosis


def _layout_getters() -> dict[str, Callable[[tuple[str, ...]], tuple[str, ...]]]:
    """Per mode: a getter of the signed slots from (app_id, corp_id, user_id, expire, nonce, ""),
    read off the oracle by diagnosis.LAYOUT (the formula itself lives only in scheme.py)."""
    index = {"app_id": 0, "corp_id": 1, "user_id": 2, "expire_time": 3, "nonce": 4}
    out: dict[str, Callable[[tuple[str, ...]], tuple[str, ...]]] = {}
    for mode in scheme.Mode:
        slots = [index[n] if n in diagnosis.FILLED[mode] else 5 for n in diagnosis.LAYOUT[mode]]
        out[mode.value] = operator.itemgetter(*slots)
    return out


SLOTS = _layout_getters()
CARRIES = {m.value: ("corp_id" in scheme.CARRIES[m], "user_id" in scheme.CARRIES[m]) for m in scheme.Mode}


def pair_up(s: str) -> str:
    """A high+low surrogate held as two code points travels as a valid \\u pair: make it one character."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def make_vector(
    mode: str,
    app_id: str,
    corp_id: str,
    user_id: str,
    expire_time: int,
    nonce: str,
    app_key: str,
    id: str = "fuzz",
    description: str = "fuzz input",
    flags: tuple[str, ...] = (),
) -> Vector:
    """A fuzz Vector with the oracle's expected values (slow path, for shrinking and saving)."""
    lone = text.has_lone_surrogate
    vals = [pair_up(x) if lone(x) else x for x in (app_id, corp_id, user_id, nonce, app_key)]
    app_id, corp_id, user_id, nonce, app_key = vals
    invalid = any(lone(x) for x in vals)
    f = scheme.Fields(scheme.Mode(mode), app_id, corp_id, user_id, expire_time, nonce)
    signature = None if invalid else scheme.sign_fields(f, app_key)[1]
    parts = (id, mode, app_id, corp_id, user_id, expire_time, nonce, app_key)
    return fuzz_vector(parts, scheme.string_to_sign(f), signature, description, tuple(flags))


def fuzz_vector(
    parts: tuple, string_to_sign: str, signature: str | None, description: str, flags: tuple[str, ...]
) -> Vector:
    """A Vector of the fuzzer's from (id, mode, app_id, corp_id, user_id, expire_time, nonce, app_key) and
    its expected values: invalid (to be refused) when there is no signature."""
    id, mode, app_id, corp_id, user_id, expire_time, nonce, app_key = parts
    return Vector(
        id=str(id),
        file="fuzz",
        line=0,
        description=description,
        mode=mode,
        app_id=app_id,
        corp_id=corp_id,
        user_id=user_id,
        expire_time=expire_time,
        nonce=nonce,
        app_key=app_key,
        result="invalid" if signature is None else "valid",
        flags=flags,
        string_to_sign=string_to_sign,
        signature=signature,
    )


def replace_inputs(v: Vector, **changes) -> Vector:
    """v with some inputs changed (fields the mode does not sign emptied), expected values recomputed."""
    d = {n: getattr(v, n) for n in ("mode", *FIELDS, "expire_time")}
    d.update(changes)
    corp, user = CARRIES[d["mode"]]
    if not corp:
        d["corp_id"] = ""
    if not user:
        d["user_id"] = ""
    return make_vector(
        d["mode"],
        d["app_id"],
        d["corp_id"],
        d["user_id"],
        d["expire_time"],
        d["nonce"],
        d["app_key"],
        id=v.id,
        description=v.description,
    )

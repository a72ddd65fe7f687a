"""A mistake is explained with an example of the mode it was made in (issue 21)."""

from __future__ import annotations

from appauth_conformance.core import scheme
from appauth_conformance.core.model import Outcome, Result, Vector
from appauth_conformance.judging import diagnosis
from appauth_conformance.judging.explain import explain
from appauth_conformance.judging.verdicts import conformance, judge


def test_an_sp_corp_admin_mistake_is_explained_with_an_sp_corp_admin_example():
    fields = scheme.Fields(scheme.Mode.SP_CORP_ADMIN, "app123", "corp9", "", 1604020600, "n" * 32)
    right = scheme.string_to_sign(fields)
    assert right == "app123:corp9::1604020600:" + "n" * 32
    wrong = "app123:corp9:1604020600:" + "n" * 32  # the empty UserID slot dropped
    v = Vector(
        id="corp-admin-1", file="vectors/sp_corp_admin.yaml", line=1, description="an administrator signs",
        mode="sp_corp_admin", app_id="app123", corp_id="corp9", user_id="", expire_time=1604020600,
        nonce="n" * 32, app_key="key", result="valid", flags=("ordinary",), string_to_sign=right,
        signature=scheme.sign(right, "key"),
    )  # fmt: skip
    o = Outcome(v, "team", wrong, scheme.sign(wrong, "key"))
    found = [m.id for m in diagnosis.diagnose(fields, "key", wrong, o.signature)]
    assert "uncarried-slots-dropped" in found
    assert conformance(o) is not None
    text = explain(Result(o, judge(o, None), found), [])
    assert "uncarried-slots-dropped (slots the mode leaves empty dropped" in text
    assert "AppID:CorpID:ExpireTime:Nonce for sp_corp_admin" in text, text

"""From an installed wheel, in a foreign folder: `appauth-conformance site build` over the published matrix
writes the site (its templates, schema and the corpus's tombstones come from the package), with the
installed package read-only, and `report compare` reads the tombstones too."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]


def test_site_build_from_an_installed_wheel(helpers, wheel_venv, tmp_path):
    results = tmp_path / "results.json"
    results.write_text((helpers.ROOT / "reports" / "results.json").read_text())
    argv = [wheel_venv.script, "site", "build", str(results), "--out", str(tmp_path / "site")]
    done = helpers.run(helpers.read_only(argv, wheel_venv), tmp_path)
    assert "12 implementation(s)" in done.stdout
    index = json.loads((tmp_path / "site" / "index.json").read_text())
    assert index["schema"] == "appauth-conformance/site-index/1" and len(index["implementations"]) == 12
    assert (tmp_path / "site" / "impl" / "python-reference.html").is_file()
    assert (tmp_path / "site" / "badges" / "python-reference.svg").read_text().startswith("<svg")
    check = [
        wheel_venv.python,
        "-c",
        "from appauth_conformance.formats import schemas; from appauth_conformance.corpus import vectors; import sys, json; "
        "d = json.load(open(sys.argv[1])); assert schemas.errors('site', d) == []; print(len(vectors.retired()))",
        str(tmp_path / "site" / "index.json"),
    ]
    assert helpers.run(check, tmp_path).stdout.strip() == "0"

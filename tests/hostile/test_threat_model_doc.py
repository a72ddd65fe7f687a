"""docs/docker.md's threat model names a test for each claim: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_the_threat_model_names_exists():
    doc = (ROOT / "docs" / "docker.md").read_text()
    section = doc.split("## Threat model", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`((?:tests/[\w/]+/)?test_\w+\.py)?::(test_\w+)(?:\[[^\]]*\])?`", section)
    assert len(named) >= 15, named
    current = None
    missing = []
    for file, test in named:
        if file:
            current = ROOT / file if file.startswith("tests/") else ROOT / "tests" / "hostile" / file
        assert current is not None, f"::{test} names no file"
        if not re.search(rf"^def {test}\(", current.read_text(), re.MULTILINE):
            missing.append(f"{current.relative_to(ROOT)}::{test}")
    assert not missing, f"docs/docker.md's threat model names tests that do not exist: {missing}"

"""The runner declarations of a project (pyproject's [tool.appauth-conformance.runners], appauth-conformance.toml's
[runners]) are described by a closed JSON Schema (formats/schemas/declared-runners.json): execution/declared.py
checks every declaration against it and says what is wrong as the file, the runner's table, the key and the fix;
every declaration the docs and examples show is valid."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from appauth_conformance.core.errors import UsageError
from appauth_conformance.execution import declared
from appauth_conformance.formats import schemas

ROOT = Path(__file__).resolve().parent.parent


def _tables(doc: dict) -> dict | None:
    """The runners table of a parsed pyproject.toml or appauth-conformance.toml, if it has one."""
    if "tool" in doc:
        return doc["tool"].get("appauth-conformance", {}).get("runners")
    return doc.get("runners")


def _commented(text: str) -> list[str]:
    """The declarations an example's comment shows: the `[tool.appauth-conformance.runners.NAME]` line and the
    `key = value` lines under it, their comment markers (`//`, `#`, indentation) taken off."""
    out = []
    lines = [re.sub(r"^\s*(//|#)?\s*", "", line) for line in text.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("[tool.appauth-conformance.runners."):
            block = [line]
            for more in lines[i + 1 :]:
                if not re.match(r"[a-z_]+ = ", more):
                    break
                block.append(more)
            out.append("\n".join(block) + "\n")
    return out


def _examples() -> list[tuple[str, dict]]:
    """(where, runners table) of every declaration shown in docs/*.md and README.md (```toml blocks), and in
    examples/ (*.toml files, and the declaration each example signer's comment shows)."""
    out = []
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)):
            runners = _tables(tomllib.loads(block))
            if runners is not None:
                out.append((f"{page.relative_to(ROOT)} toml block {i + 1}", runners))
    for f in sorted((ROOT / "examples").rglob("*")):
        if f.suffix == ".toml":
            blocks = [f.read_text(encoding="utf-8")]
        elif f.is_file() and f.suffix in (".py", ".js", ".go", ".java", ".md"):
            blocks = _commented(f.read_text(encoding="utf-8"))
        else:
            continue
        for block in blocks:
            runners = _tables(tomllib.loads(block))
            if runners is not None:
                out.append((str(f.relative_to(ROOT)), runners))
    return out


EXAMPLES = _examples()


def test_the_docs_and_examples_declare_runners():
    where = {w.split(" ")[0] for w, _ in EXAMPLES}
    assert {"docs/writing-a-runner.md", "docs/docker.md", "README.md", "examples/python/signer.py"} <= where, where
    assert {"examples/go/signer.go", "examples/java/Signer.java", "examples/node/signer.js"} <= where, where


@pytest.mark.parametrize(("where", "runners"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_every_declaration_the_docs_show_is_valid(where, runners):
    assert schemas.errors("declared-runners", runners) == [], where


def test_the_schema_is_closed_and_lists_every_key_the_docs_give():
    runner = schemas.load("declared-runners")["$defs"]["runner"]
    assert runner["additionalProperties"] is False
    page = (ROOT / "docs" / "writing-a-runner.md").read_text(encoding="utf-8")
    every_key = re.search(r"Every key:\n\n```toml\n(.*?)```", page, re.S).group(1)  # type: ignore[union-attr]
    documented = set(re.findall(r"^#? ?([a-z_]+) = ", every_key, re.M))
    docker = (ROOT / "docs" / "docker.md").read_text(encoding="utf-8")
    documented |= {k for k in runner["properties"] if f"`{k}" in docker}
    assert documented == set(runner["properties"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("command = 'node signer.js'", r"`command` must be a non-empty list of strings"),
        ('command = ["x"]\nbuild = "make"', r"`build` must be an argv list or a list of argv lists"),
        ('command = ["x"]\nbuild = [["make"], []]', r"`build` must be an argv list"),
        ('command = ["x"]\nenv = { A = 1 }', r"`env` must be a table of strings"),
        ('command = ["x"]\nworkdir = 3', r"`workdir` must be a string, e.g. workdir = \"signer\""),
        ('command = ["x"]\nlanguage = ["go"]', r"`language` must be a string"),
        ('command = ["x"]\ndivergences = false', r"`divergences` must be a string"),
        ('command = ["x"]\nallow_outside_project = "yes"', r"`allow_outside_project` must be true or false"),
        ('command = ["x"]\ncomand = ["y"]', r"unknown key\(s\) \['comand'\]; allowed: \['allow_outside_project', "),
        ('command = ["x"]\ndockerfile = " "', r"`dockerfile` must be a non-empty string, e.g. dockerfile = "),
    ],
)
def test_a_bad_declaration_names_the_file_the_runner_the_key_and_the_fix(tmp_path, body, message):
    p = tmp_path / "appauth-conformance.toml"
    p.write_text(f"[runners.mine]\n{body}\n")
    with pytest.raises(UsageError, match=re.escape(str(p)) + r": \[runners.mine\]: " + message):
        declared.declared_runners(p)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.appauth-conformance]\nrunners = ["x"]\n', r"\[tool.appauth-conformance.runners\] must be a table of"),
        (
            '[tool.appauth-conformance]\nrunners = { mine = "x" }\n',
            r"\[tool.appauth-conformance.runners.mine\]: must be",
        ),
        (
            '[tool.appauth-conformance.runners."my signer"]\ncommand = ["x"]\n',
            r"\[tool.appauth-conformance.runners.my signer\]: a runner name is",
        ),
    ],
)
def test_a_bad_runners_table_in_pyproject_names_its_place(tmp_path, text, message):
    p = tmp_path / "pyproject.toml"
    p.write_text(text)
    with pytest.raises(UsageError, match=re.escape(str(p)) + ": " + message):
        declared.declared_runners(p)


def test_a_valid_declaration_becomes_its_runner(tmp_path):
    (tmp_path / "signer").mkdir()
    p = tmp_path / "appauth-conformance.toml"
    p.write_text('[runners.mine]\ncommand = ["node", "s.js"]\nworkdir = "signer"\nbuild = ["make"]\nlanguage = "js"\n')
    (spec,) = declared.declared_runners(p)
    assert (spec.name, spec.command, spec.build, spec.language) == ("mine", ("node", "s.js"), (("make",),), "js")
    assert spec.workdir == (tmp_path / "signer").resolve()

"""The house rules, checked on the source: no import cycle, no reach into another module's private
names, no module over 600 lines, and the layering of pyproject.toml's import-linter contract.

Imports are read from the AST of every module of the package, imports inside functions
included (an import moved into a function to hide a cycle is still a cycle).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "harness" / "appauth_conformance"
NAME = "appauth_conformance"
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(mod: str) -> bool:
    return MODULES[mod].name == "__init__.py"


def resolve(mod: str, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (before its imported names)."""
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_package(mod) else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(mod: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every import in mod, at any depth."""
    out = []
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.startswith(NAME)]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(mod, node)
            if not target.startswith(NAME):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (target, a.name, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m) if t in MODULES and t != m} for m in MODULES}


def test_the_package_is_read():
    assert {"appauth_conformance.model", "appauth_conformance.cli", "appauth_conformance.fuzz"} <= set(MODULES)


def test_no_import_cycle():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in g:
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def private_reach_ins(mod: str) -> list[str]:
    """`from x import _name` and `alias._name` where x / alias is another module of the package."""
    found = []
    tree = ast.parse(MODULES[mod].read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}  # local name -> module of the package
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES and a.name != mod:
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom):
            target = resolve(mod, node)
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES and sub != mod:
                    aliases[a.asname or a.name] = sub
                elif target in MODULES and target != mod and a.name.startswith("_") and not a.name.startswith("__"):
                    found.append(f"{mod}:{node.lineno}: from {target} import {a.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{mod}:{node.lineno}: {node.value.id}.{node.attr} ({aliases[node.value.id]})")
    return found


def test_no_module_reaches_into_another_modules_private_names():
    found = [f for m in MODULES for f in private_reach_ins(m)]
    assert found == []


def test_the_check_sees_a_planted_reach_in(tmp_path, monkeypatch):
    """The check can fail: a module that imports another's private name is reported."""
    planted = PACKAGE / "model.py"
    monkeypatch.setitem(MODULES, "appauth_conformance.planted", tmp_path / "planted.py")
    (tmp_path / "planted.py").write_text("from . import scheme\nfrom .session import _Feed\nscheme._x\n")
    monkeypatch.setattr(sys.modules[__name__], "is_package", lambda m: False)
    assert planted.exists()
    assert private_reach_ins("appauth_conformance.planted") == [
        "appauth_conformance.planted:2: from appauth_conformance.session import _Feed",
        "appauth_conformance.planted:3: scheme._x (appauth_conformance.scheme)",
    ]


def test_no_module_is_over_600_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_layers_hold():
    """pyproject.toml's import-linter contract: a back-edge between layers fails."""
    exe = shutil.which(
        "lint-imports", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if exe is None:
        pytest.skip("import-linter is not installed (a test extra: pip install -e '.[test]')")
    p = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_test_command_runs_the_suites_own_tests():
    # `pytest --lang=all` with no path is the everyday gate (tests/conftest.py): the test command that
    # CI runs must name `tests`, or CI passes on the gate alone (as it once did, in 42 s)
    assert (ROOT / ".ci" / "run").read_text().count("bash scripts/test.sh") == 1
    runs = [line.split() for line in (ROOT / "scripts" / "test.sh").read_text().splitlines() if " pytest " in line]
    assert any(words[words.index("pytest") + 1] == "tests" for words in runs if not words[0].startswith("#")), runs


def test_test_files_have_unique_names():
    """pytest's default import mode imports a test file by its base name: two files of one name in
    different folders stop the whole collection ("import file mismatch")."""
    seen: dict[str, Path] = {}
    twice = []
    for p in sorted((ROOT / "tests").rglob("test_*.py")):
        if p.name in seen:
            twice.append(f"{seen[p.name].relative_to(ROOT)} and {p.relative_to(ROOT)}")
        seen.setdefault(p.name, p)
    assert not twice, "rename one of: " + "; ".join(twice)

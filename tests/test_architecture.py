"""The house rules, checked on the source: the package is laid out by layer (each top-level folder is one
layer of pyproject.toml's import-linter contract, only the face at the root), no import cycle, no reach
into another module's private names, no module over 500 lines, and the contract itself holds.

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
MAX_LINES = 500
FACE = {"__init__.py", "cli.py", "plugin.py"}  # the package's face: what users import and run by name


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
    assert {"appauth_conformance.core.model", "appauth_conformance.frontends.cli", "appauth_conformance.fuzz"} <= set(
        MODULES
    )


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
    monkeypatch.setitem(MODULES, "appauth_conformance.core.planted", tmp_path / "planted.py")
    (tmp_path / "planted.py").write_text(
        "from . import scheme\nfrom ..execution.session import _Feed\nfrom appauth_conformance.core import text\ntext._x\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "is_package", lambda m: False)
    assert "appauth_conformance.core.scheme" in MODULES
    assert private_reach_ins("appauth_conformance.core.planted") == [
        "appauth_conformance.core.planted:2: from appauth_conformance.execution.session import _Feed",
        "appauth_conformance.core.planted:4: text._x (appauth_conformance.core.text)",
    ]


def contract_layers() -> list[set[str]]:
    """The import-linter contract's layers, top first, each a set of module names under the package."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers" and c.get("containers") == [NAME]]
    return [{part.strip() for part in layer.split("|")} for layer in layers]


def test_each_top_level_folder_is_one_layer_and_the_root_holds_only_the_face():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    root_modules = {p.name for p in PACKAGE.glob("*.py")}
    named = [name for layer in contract_layers() for name in layer]
    faces = {m.removesuffix(".py") for m in FACE - {"__init__.py"}}
    assert root_modules <= FACE, f"modules at the package root beyond its face: {sorted(root_modules - FACE)}"
    assert sorted(named) == sorted(folders | faces), "the contract's layers are the folders, one to one (and the face)"
    assert all(layer <= faces or layer <= folders for layer in contract_layers()), "a layer mixes face and folders"


def test_the_plugin_face_exports_every_hook_and_fixture():
    """pytest reads hooks and fixtures off the entry point's module, the face: a hook added to
    frontends/plugin.py but not to its __all__ would silently never run."""
    tree = ast.parse((PACKAGE / "frontends" / "plugin.py").read_text(encoding="utf-8"))
    public = {
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and (n.name.startswith("pytest_") or any("fixture" in ast.unparse(d) for d in n.decorator_list))
    }
    exported = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)
    )
    assert public and public == set(exported)


def test_no_module_is_over_500_lines():
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

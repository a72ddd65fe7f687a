"""Build hook: copy the repository's vectors/, runners/, docs/ and examples/ into the wheel as package data.

They stay the one source in git; the wheel gets them as appauth_conformance/data/ (found at
run time through importlib.resources). A hook rather than plain `force-include` because
force-include ignores excludes, and a developer's node_modules or __pycache__ must not ship.
"""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

DATA = {  # docs/ and examples/ too: every message that points at a page or an example must work from a wheel
    "vectors": "appauth_conformance/data/vectors",
    "runners": "appauth_conformance/data/runners",
    "docs": "appauth_conformance/data/docs",
    "examples": "appauth_conformance/data/examples",
}
FILES = {"README.md": "appauth_conformance/data/README.md"}  # `appauth-conformance docs readme`
SKIP = {"node_modules", "__pycache__"}


class DataHook(BuildHookInterface):
    PLUGIN_NAME = "appauth-conformance-data"

    def initialize(self, version: str, build_data: dict) -> None:
        root = Path(self.root)
        for source, target in DATA.items():
            folder = root / source
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder}: the package data folder is missing from the source tree")
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder)
                if path.is_file() and not any(p in SKIP or p.startswith(".") for p in rel.parts):
                    build_data["force_include"][str(path)] = f"{target}/{rel.as_posix()}"
        for source, target in FILES.items():
            build_data["force_include"][str(root / source)] = target

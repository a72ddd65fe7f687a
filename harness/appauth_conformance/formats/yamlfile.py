"""Reading the suite's YAML files (vectors, known divergences, Docker variants) with the places in them.

Messages name the line of the value they are about: `Lines(text).of(["vectors", 3, "mode"])`
composes the YAML node tree once, on the first question (rare: only when something is wrong).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

SafeLoader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]
try:  # libyaml is an order of magnitude faster; the pure loader is the fallback
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader

YAMLError = yaml.YAMLError


def load(text: str) -> Any:
    """The document in text (yaml.YAMLError, with its problem_mark, when it is not YAML)."""
    return yaml.load(text, Loader=SafeLoader)


class Lines:
    """1-based lines of the values of one YAML text, by their path of keys and list indexes."""

    def __init__(self, text: str):
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False

    def of(self, path: Iterable[str | int]) -> int | None:
        """The line of the deepest node on path that exists (None: the text is not YAML)."""
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self.text, Loader=SafeLoader)
            except yaml.YAMLError:
                self._root = None
        node = self._root
        line = node.start_mark.line + 1 if node is not None else None
        for step in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == step), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                child = node.value[step]
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

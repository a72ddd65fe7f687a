"""What a runner is, and the registry: the four reference runners, the vendor SDKs and user-declared ones.

A runner's sources (a folder) are copied into a build directory, its build
commands run there, and its command is started there. Commands are argv
lists, never shell strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec, Tool
from appauth_conformance.formats import resources

RUNNERS_DIR = resources.RUNNERS


def _builtin(
    lang: str,
    name: str,
    command,
    build=(),
    tools=(),
    folder: str | None = None,
    group: str = "reference",
    ops: tuple[str, ...] = ("sign",),
) -> RunnerSpec:
    src = RUNNERS_DIR / (folder or lang)
    return RunnerSpec(
        name=name,
        language=lang,
        command=tuple(command),
        source=src,
        build=tuple(tuple(b) for b in build),
        tools=tuple(tools),
        divergences=src / "known-divergences.yaml",
        aliases=(folder,) if folder else (lang,),
        builtin=True,
        group=group,
        ops=ops,  # what its hello says: the pytest plugin collects by it
    )


BUILTINS: tuple[RunnerSpec, ...] = (
    _builtin("python", "python-reference", ["{python}", "runner.py"], tools=[Tool("python3", "python3")]),
    _builtin(
        "java",
        "java-reference",
        ["java", "-XX:+UseSerialGC", "-cp", ".", "Runner"],
        build=[["javac", "-encoding", "UTF-8", "-d", ".", "Runner.java"]],
        tools=[Tool("javac", "openjdk-17-jdk-headless"), Tool("java", "openjdk-17-jre-headless")],
    ),
    _builtin(
        "cpp",
        "cpp-reference",
        ["./runner"],
        build=[["g++", "-O2", "-std=c++17", "-Wall", "-o", "runner", "runner.cpp", "-lcrypto"]],
        tools=[Tool("g++", "g++"), Tool("g++", "libssl-dev", header="openssl/hmac.h")],
    ),
    _builtin(
        "js",
        "js-reference",
        ["node", "runner.js"],
        build=[["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]],
        tools=[Tool("node", "nodejs"), Tool("npm", "npm")],
    ),
    # The vendor's official Python SDK (huaweicloudsdkmeeting from PyPI, pinned in requirements.txt) behind
    # an adapter that calls its real signing code; `--lang=sdks` selects it, `all` does not (it needs PyPI).
    _builtin(
        "python",
        "huawei-python-sdk",
        ["venv/bin/python", "runner.py"],
        build=[
            ["{python}", "-m", "venv", "venv"],
            [
                "venv/bin/python",
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
                "requirements.txt",
            ],
        ],
        tools=[Tool("python3", "python3-venv")],
        folder="huawei-python-sdk",
        group="vendor-sdk",
        ops=("sign", "token"),
    ),
)


class Registry:
    """Runner specs by name and alias; `select("all")` or a comma list."""

    def __init__(self, specs: Iterable[RunnerSpec] = BUILTINS) -> None:
        self.specs: dict[str, RunnerSpec] = {}
        for s in specs:
            self.add(s)

    def add(self, spec: RunnerSpec) -> None:
        if spec.name in self.specs and not self.specs[spec.name].builtin:
            raise UsageError(f"runner {spec.name!r} is declared twice; give each runner a unique name")
        self.specs[spec.name] = spec

    def replace(self, spec: RunnerSpec) -> None:
        """Put a changed spec in the place of the one with its name."""
        self.specs[spec.name] = spec

    def lookup(self, word: str) -> RunnerSpec:
        if word in self.specs:
            return self.specs[word]
        for s in self.specs.values():
            if word in s.aliases:
                return s
        known = ", ".join(sorted({*self.specs, *(a for s in self.specs.values() for a in s.aliases)}))
        raise UsageError(
            f"unknown runner {word!r} in --lang; known: {known} (declare your own with --runner NAME=COMMAND)"
        )

    def select(self, lang: str) -> list[RunnerSpec]:
        words = [w.strip() for w in lang.split(",") if w.strip()]
        if not words:
            raise UsageError("--lang is empty; use --lang=all or a comma list such as python,java")
        chosen: list[RunnerSpec] = []
        for w in words:
            if w == "all":  # the reference runners and the declared ones
                chosen += [s for s in self.specs.values() if s.group != "vendor-sdk"]
            elif w == "sdks":  # the vendor's SDKs behind their adapters
                chosen += [s for s in self.specs.values() if s.group == "vendor-sdk"]
            elif w == "declared":  # only the user's own runners
                declared = [s for s in self.specs.values() if s.declared]
                if not declared:
                    raise UsageError(
                        "--lang=declared, but no runner is declared: add one with --runner NAME=COMMAND "
                        "or a [tool.appauth-conformance.runners.NAME] table in pyproject.toml"
                    )
                chosen += declared
            else:  # a runner's name or alias; a language also selects every declared runner of that language
                of_language = [s for s in self.specs.values() if s.declared and s.language == w]
                try:
                    chosen.append(self.lookup(w))
                except UsageError:
                    if not of_language:
                        raise
                chosen += of_language
        seen, out = set(), []
        for s in chosen:
            if s.name not in seen:
                seen.add(s.name)
                out.append(s)
        return out

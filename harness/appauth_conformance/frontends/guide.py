"""What a pip user has instead of the suite's repository: `docs`, `examples` and `vectors show`.

Every message, `--help` and report that points at a page or an example points at one of these
commands (`appauth-conformance docs gate`, `appauth-conformance examples python DIR`), so the
pointer works from an installed wheel; the pages and examples ship as package data.
"""

from __future__ import annotations

import shutil
import webbrowser
from pathlib import Path

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import Exit, UsageError
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS, load
from appauth_conformance.formats import resources

README = "readme"  # the README ships too, as the topic `readme`


def topics() -> dict[str, Path]:
    """Topic name -> page: every docs/*.md by its stem, and the README."""
    found = {p.stem: p for p in sorted(resources.DOCS.glob("*.md"))}
    readme = resources.path("data", "README.md")
    if readme.is_file():
        found[README] = readme
    return found


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def cmd_docs(a) -> int:
    pages = topics()
    if a.topic is None:
        width = max(map(len, pages))
        print("Documentation shipped with the suite; `appauth-conformance docs TOPIC` prints one:\n")
        for name, page in pages.items():
            print(f"  {name:<{width}}  {_title(page)}")
        return Exit.OK
    topic = a.topic.removesuffix(".md").removeprefix("docs/").lower()
    if topic not in pages:
        raise UsageError(f"docs: no topic {a.topic!r}; the topics are {', '.join(pages)}")
    page = pages[topic]
    if a.path:
        print(page)
    elif a.open:
        if not webbrowser.open(page.as_uri()):
            raise UsageError(f"docs --open: no browser found here; read {page}, or drop --open to print it")
        print(page)
    else:
        print(page.read_text(encoding="utf-8"), end="")
    return Exit.OK


def examples() -> dict[str, Path]:
    """Example name (python, node, java, go, ci, kubernetes) -> its folder in the package."""
    return {p.name: p for p in sorted(resources.EXAMPLES.iterdir()) if p.is_dir()}


def _files(folder: Path) -> list[Path]:
    """An example's files (not the bytecode pip compiles next to an installed .py)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def cmd_examples(a) -> int:
    found = examples()
    if a.lang is None:
        print("Examples shipped with the suite; `appauth-conformance examples NAME DIR` copies one into DIR:\n")
        for name, folder in found.items():
            print(f"  {name:<10}  {', '.join(p.relative_to(folder).as_posix() for p in _files(folder))}")
        return Exit.OK
    if a.lang not in found:
        raise UsageError(f"examples: no example {a.lang!r}; the examples are {', '.join(found)}")
    if a.dir is None:
        raise UsageError(
            f"examples {a.lang}: give the folder to copy it into, e.g. `appauth-conformance examples {a.lang} signer/`"
        )
    dest = Path(a.dir)
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"examples: {dest} is a file; give a folder to copy the example into")
    files = _files(found[a.lang])
    clashes = [dest / p.relative_to(found[a.lang]) for p in files if (dest / p.relative_to(found[a.lang])).exists()]
    if clashes and not a.force:
        raise UsageError(
            f"examples: {', '.join(map(str, clashes))} already exist{'s' if len(clashes) == 1 else ''}; "
            "nothing was copied. Give another folder, or --force to overwrite"
        )
    for p in files:
        target = dest / p.relative_to(found[a.lang])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        print(f"wrote {target}")
    print(f"next: {NEXT.get(a.lang, NEXT_RUNNER)}")
    return Exit.OK


NEXT_RUNNER = (
    "read the comment at the top of the copied file (how to plug in your signer and declare it), "
    "and `appauth-conformance docs writing-a-runner`"
)
NEXT = {  # the examples that are not runners: where they are explained
    "ci": "pick the file for your CI system; `appauth-conformance docs ci` explains each",
    "kubernetes": "`appauth-conformance docs kubernetes` walks through the jobs",
    "clients": "each file's first lines say how `appauth-conformance serve -- ...` runs it; "
    "`appauth-conformance docs endpoint` explains the endpoint",
}


def _entry(file: Path, line: int) -> tuple[int, list[str]]:
    """(first line, lines) of the vector entry of file that holds line (1-based): up to the next entry."""
    lines = file.read_text(encoding="utf-8").splitlines()
    start = min(line, len(lines)) - 1
    while start > 0 and not lines[start].startswith("- "):
        start -= 1
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    return start + 1, lines[start:end]


def _file_of(shown: str, corpus: str) -> Path:
    """The real path of a vector file as messages name it (vectors/NAME is the bundled corpus's)."""
    if shown.startswith("vectors/") and Path(corpus).resolve() == DEFAULT_VECTORS.resolve():
        return resources.VECTORS / shown.removeprefix("vectors/")
    return Path(shown)


def cmd_vectors_show(a) -> int:
    corpus = load(a.path)
    wanted = a.id.removeprefix("token/")
    shown, _, line = wanted.rpartition(":")
    hits = []
    for v in corpus.vectors:
        if wanted in (v.id, v.key):
            hits.append(v)
        elif (at := untrusted.decimal(line, 9)) is not None and v.file == shown:
            first, block = _entry(_file_of(v.file, a.path), v.line)
            if first <= at < first + len(block):
                hits.append(v)
    if not hits:
        raise UsageError(
            f"vectors show: no vector {a.id!r}; give its id (single-user-001), its key (single/single-user-001) "
            "or a location a message printed (vectors/single.yaml:30)"
        )
    for v in hits:
        path = _file_of(v.file, a.path)
        print(f"{v.key}  ({v.file}:{v.line})")
        print(f"file: {path}:{v.line}")
        print("\n".join(_entry(path, v.line)[1]))
    return Exit.OK


def add_parsers(sub) -> None:
    d = sub.add_parser(
        "docs",
        help="print a documentation page (without TOPIC: list them)",
        description="Print one of the documentation pages shipped with the suite; without TOPIC, list them.",
    )
    d.add_argument("topic", nargs="?", help="a page, e.g. gate, docker, ci, reports, writing-a-runner, readme")
    how = d.add_mutually_exclusive_group()
    how.add_argument("--path", action="store_true", help="print the page's path in the installed package instead")
    how.add_argument("--open", action="store_true", help="open the page in a browser instead")
    d.set_defaults(func=cmd_docs)

    e = sub.add_parser(
        "examples",
        help="copy an example runner (python, node, java, go) or CI file into your repository",
        description="Copy an example shipped with the suite into DIR: a runner that passes the whole corpus "
        "(python, node, java, go: replace its signer functions with calls to yours), or CI and Kubernetes files. "
        "Without arguments, list them. Existing files are never overwritten without --force (exit 2).",
    )
    e.add_argument("lang", nargs="?", metavar="LANG", help="the example: python, node, java, go, ci, kubernetes")
    e.add_argument("dir", nargs="?", metavar="DIR", help="the folder to copy it into (made if missing)")
    e.add_argument("--force", action="store_true", help="overwrite files that already exist in DIR")
    e.set_defaults(func=cmd_examples)


def add_vectors_show(vsub) -> None:
    s = vsub.add_parser(
        "show",
        help="print a vector, its file and line in the installed package",
        description="Print a vector as its file holds it, with the file and line it comes from: give its id, "
        "its key (mode/id, as reports name it) or a location a message printed (vectors/single.yaml:147).",
    )
    s.add_argument("id", metavar="ID", help="single-user-001, single/single-user-001 or vectors/single.yaml:30")
    s.add_argument(
        "path", nargs="?", default=str(DEFAULT_VECTORS), help="a vector file or folder (default: the bundled corpus)"
    )
    s.set_defaults(func=cmd_vectors_show)

"""Rewrite the computed columns of docs/vectors.md's mistake table from the corpus (after adding vectors).

    .venv/bin/python scripts/vectors-doc-tables.py

For each row of "Mistakes and the vectors that catch them" it recomputes, with the mutants
of tests/test_corpus.py, the "caught by" and "modes" cells, keeping the row's description;
and it updates the count of signable vectors in the paragraph above the table.
tests/test_corpus.py checks the result, so run the tests afterwards.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_corpus as tc  # noqa: E402  (the mutants and the corpus the tests use)

FULL_LIST = 30  # up to this many vectors, a row lists them all
EXCEPT = 10  # "every signable vector except ..." when this many or fewer are missing


def caught_cell(name: str) -> tuple[str, str]:
    caught = tc.caught_by(tc.MUTANTS[name])
    ids = [v.id for v in caught]
    everyone = [v.id for v in tc.signable()]
    missing = [i for i in everyone if i not in set(ids)]
    n = f"**{len(ids)}**"
    if set(ids) == set(everyone):
        cell = f"{n}: every signable vector"
    elif set(ids) <= set(everyone) and len(missing) <= EXCEPT:
        cell = f"{n}: every signable vector except " + ", ".join(f"`{i}`" for i in missing)
    elif len(ids) <= FULL_LIST:
        cell = f"{n}: " + ", ".join(f"`{i}`" for i in ids)
    else:
        first: dict[str, str] = {}
        for v in caught:  # one example per file
            first.setdefault(v.file, v.id)
        cell = f"{n}, e.g. " + ", ".join(f"`{i}`" for i in sorted(first.values()))
    modes = ", ".join(f"`{m}`" for m in tc.MODES if any(v.mode == m for v in caught))
    return cell, modes


def main() -> None:
    doc = tc.DOC.read_text(encoding="utf-8")
    head = f"## {tc.MISTAKE_TABLE}\n"
    start = doc.index(head)
    end = doc.find("\n## ", start + len(head))
    section = doc[start : end if end != -1 else len(doc)]
    lines = []
    for line in section.splitlines():
        m = re.match(r"\| `([^`]+)` \| (.*?) \| .*? \| .*? \|$", line)
        if m and m.group(1) in tc.MUTANTS:
            cell, modes = caught_cell(m.group(1))
            line = f"| `{m.group(1)}` | {m.group(2)} | {cell} | {modes} |"
        lines.append(line)
    new = "\n".join(lines) + ("\n" if section.endswith("\n") else "")
    new = re.sub(
        r"\*Signable\* vectors are the\s+\d+", lambda m: re.sub(r"\d+", str(len(tc.signable())), m.group(0)), new
    )
    tc.DOC.write_text(doc[:start] + new + doc[start + len(section) :], encoding="utf-8")
    print(f"rewrote {len(tc.MUTANTS)} rows of {tc.DOC}")


if __name__ == "__main__":
    main()

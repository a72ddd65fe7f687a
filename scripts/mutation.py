"""Mutation testing of the judging core with mutmut 3 (run through scripts/mutation.sh, see docs/testing.md).

1. Stage: copy the checkout's files (tracked and untracked-not-ignored, as git lists them) into
   .cache/mutation/work, with the package at src/appauth_conformance and its data folder laid out as the
   wheel lays it (vectors/ and runners/ as appauth_conformance/data/, see hatch_build.py), so
   `resources` finds the corpus in the mutated copy exactly as in an installed wheel. mutmut imports
   `src/` packages by their import name; PYTHONPATH points subprocesses (the CLI tests) at the same copy.
2. Run mutmut on the named modules against their fast tests (FAST below: unit tests only, no Docker,
   browser or install tier).
3. Report per module: mutants, killed, survivors, the score over the non-equivalent ones, and each
   survivor's diff, compared with the equivalent mutants listed in docs/testing.md (matched by
   function and changed lines, not by mutmut's numbering, which shifts with every edit).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "mutation" / "work"
PACKAGE = "appauth_conformance"
DOC = ROOT / "docs" / "testing.md"

# module (its path in the package) -> the fast test files that judge it
FAST = {
    "judging/verdicts.py": ["tests/test_verdicts.py"],
    "judging/tokens.py": ["tests/test_token_judge.py", "tests/test_token_units.py"],
    "corpus/expectations.py": ["tests/test_verdicts.py", "tests/test_expectations.py"],
    "core/scheme.py": ["tests/test_scheme.py"],
    "judging/diagnosis/__init__.py": ["tests/test_diagnosis.py"],
    "endpoint/memory.py": ["tests/test_endpoint_memory.py", "tests/test_endpoint_verdicts.py"],
    "endpoint/judging.py": ["tests/test_endpoint_judging.py", "tests/test_endpoint_verdicts.py"],
    "formats/protocol.py": ["tests/test_protocol.py", "tests/test_protocol_messages.py"],
    "fuzz/triage.py": ["tests/test_fuzz.py", "tests/test_fuzz_triage.py"],
    "fuzz/run.py": [
        "tests/test_fuzz.py",
        "tests/test_fuzz_conforms.py",
        "tests/test_fuzz_run.py",
        "tests/test_fuzz_priority.py",
    ],
    "fuzz/priority.py": ["tests/test_fuzz_priority.py"],
}
# tests of a FAST file left out (pytest --deselect, by node id prefix): those that read a module's source
# text, not its behaviour (mutmut's copy of a module is many times longer and calls its own helpers, so they
# fail on every mutant alike), and those that need toolchains (the four reference runners, built locally)
DESELECT = {
    "tests/test_fuzz.py": [
        "test_no_fuzz_module_is_over_600_lines",  # source text
        "test_the_fuzz_package_reaches_no_private_name_of_another_module",  # source text
        "test_finds_and_shrinks_the_reference_quirks",  # the reference runners, from here on
        "test_the_reference_runners_agree_otherwise",
        "test_save_writes_loadable_vectors_unique_across_the_corpus",
        "test_cli_fuzz_exit_code_and_summary",
        "test_cli_fuzz_clean_runner_exits_0",
    ],
}
DATA = {"vectors": "data/vectors", "runners": "data/runners"}  # as hatch_build.py packs them
KILLED = {"killed", "timeout", "caught by type check"}


def usage_error(message: str) -> SystemExit:
    print(f"scripts/mutation.sh: {message}", file=sys.stderr)
    return SystemExit(2)


def module_path(name: str) -> str:
    """`tokens`, `tokens.py`, `diagnosis`, `appauth_conformance.judging.tokens` or harness/appauth_conformance/judging/tokens.py
    -> the module's path in the package."""
    name = name.removeprefix(f"harness/{PACKAGE}/").removeprefix(f"{PACKAGE}.").removesuffix(".py")
    name = name.replace(".", "/").removesuffix("/__init__")
    for candidate in (f"{name}.py", f"{name}/__init__.py"):
        if candidate in FAST:
            return candidate
    short = {m.removesuffix(".py").removesuffix("/__init__").rsplit("/", 1)[-1]: m for m in FAST}  # `tokens`
    if name in short:
        return short[name]
    known = ", ".join(short)
    raise usage_error(
        f"no fast tests are set for module {name!r}: name one of {known} (or all); FAST in scripts/mutation.py"
    )


def checkout_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (ROOT / f).is_file()})


def stage(module: str) -> Path:
    """A fresh copy of the checkout, laid out for mutmut to mutate `module` against its fast tests."""
    work = WORK / module.removesuffix(".py").replace("/", ".")
    for rel in checkout_files():
        targets = [rel]
        top, _, rest = rel.partition("/")
        if rel.startswith(f"harness/{PACKAGE}/"):
            targets = [f"src/{rel.removeprefix('harness/')}"]
        elif top in DATA and not any(p.startswith(".") for p in rest.split("/")):
            targets.append(f"src/{PACKAGE}/{DATA[top]}/{rest}")  # tests also read vectors/ at the root
        for target in targets:
            (work / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, work / target)
    missing = [t for t in FAST[module] if not (work / t).is_file()]
    if missing:
        raise usage_error(
            f"the fast tests {', '.join(missing)} are not in the checkout: fix FAST in scripts/mutation.py"
        )
    copy = sorted(p.name for p in work.iterdir() if p.name not in {"src", "tests", "pyproject.toml"})
    config = {
        "source_paths": ["src"],
        "only_mutate": [f"src/{PACKAGE}/{module}"],
        "also_copy": copy,
        "pytest_add_cli_args_test_selection": FAST[module],
        "pytest_add_cli_args": [
            arg for t in FAST[module] for name in DESELECT.get(t, []) for arg in ("--deselect", f"{t}::{name}")
        ],
        "use_git_change_detection": False,  # a fresh staging every run: nothing to compare with
    }
    lines = ["", "[tool.mutmut]"] + [f"{k} = {toml(v)}" for k, v in config.items()]
    with open(work / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return work


def toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def mutmut(work: Path, *args: str, capture: bool = True) -> str:
    # Subprocesses a test starts (the CLI, `pytest --lang=...`) import the staged, unmutated package and load
    # the pytest plugin an installed wheel would register. mutmut picks the tests of a mutant by what runs
    # in-process, so a mutant is killed by the tests' own process: a subprocess never saw one anyway.
    env = {**os.environ, "PYTHONPATH": str(work / "src"), "PYTEST_PLUGINS": f"{PACKAGE}.plugin"}
    env.pop("APPAUTH_CONFORMANCE_ALLOW_STALE", None)
    cmd = [str(Path(sys.executable).parent / "mutmut"), *args]
    done = subprocess.run(cmd, cwd=work, env=env, text=True, capture_output=capture)
    if done.returncode != 0:
        tail = (done.stdout or "")[-3000:] + (done.stderr or "")[-3000:] if capture else ""
        sys.exit(f"scripts/mutation.sh: `mutmut {' '.join(args)}` failed (exit {done.returncode}) in {work}\n{tail}")
    return done.stdout or ""


@dataclass
class Mutant:
    name: str
    status: str
    work: Path
    diff: str = ""

    @property
    def module(self) -> str:
        return self.name.partition(".x")[0]

    @property
    def function(self) -> str:
        """The mutated function as module.Class.method (mutmut's mangled name, unmangled)."""
        mangled = self.name.partition("__mutmut_")[0]
        module, _, func = mangled.rpartition(".")
        func = func[2:].replace("ǁ", ".") if func.startswith("xǁ") else func.removeprefix("x_")
        return f"{module}.{func}"

    @property
    def change(self) -> tuple[str, str]:
        """The changed lines (stripped, joined with ' / '): what identifies a mutant across renumbering."""
        lines = self.diff.splitlines()
        old = [x[1:].strip() for x in lines if x.startswith("-") and not x.startswith("---")]
        new = [x[1:].strip() for x in lines if x.startswith("+") and not x.startswith("+++")]
        return " / ".join(old), " / ".join(new)

    @property
    def after(self) -> str:
        """The line before the change (stripped): tells apart the same change at two places of a function."""
        body = [x for x in self.diff.splitlines() if not x.startswith(("---", "+++", "@@"))]
        first = next((i for i, x in enumerate(body) if x.startswith("-")), 0)
        return body[first - 1][1:].strip() if first else ""

    def known(self, entries: list[dict[str, str]]) -> bool:
        """Is it one of the equivalent mutants of docs/testing.md? (`after` is given where the change alone is ambiguous)"""
        old, new = self.change
        return any(
            (e["function"], e["from"], e["to"]) == (self.function, old, new)
            and e.get("after", self.after) == self.after
            for e in entries
        )


def equivalents() -> list[dict[str, str]]:
    """The equivalent mutants of docs/testing.md: function, from, to, why (and `after`, where needed)."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"```yaml equivalent-mutants\n(.*?)```", text, re.S)
    if m is None:
        raise usage_error(f"{DOC}: no ```yaml equivalent-mutants block")
    return yaml.safe_load(m.group(1)) or []


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/mutation.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="+", metavar="MODULE", help="tokens, verdicts, ... or all")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel mutants")
    args = parser.parse_args()
    modules = list(FAST) if args.modules == ["all"] else list(dict.fromkeys(map(module_path, args.modules)))
    known = equivalents()
    start = time.monotonic()
    if WORK.exists():
        shutil.rmtree(WORK)  # the last run's copies and mutants: each run starts from the checkout as it is
    mutants = []
    seconds: dict[str, float] = {}
    for module in modules:
        began = time.monotonic()
        work = stage(module)
        print(f"mutating {module} against {' '.join(FAST[module])} ({work.relative_to(ROOT)})", flush=True)
        mutmut(work, "run", "--max-children", str(args.max_children), capture=False)
        found = []
        for line in mutmut(work, "results", "--all", "true").splitlines():
            name, sep, status = line.strip().rpartition(": ")
            if sep and "__mutmut_" in name:
                found.append(Mutant(name, status, work))
        for m in found:
            if m.status not in KILLED:
                m.diff = mutmut(work, "show", m.name).partition("\n")[2]
        mutants += found
        seconds[module] = time.monotonic() - began
    return report(modules, mutants, known, seconds, time.monotonic() - start)


def report(
    modules: list[str],
    mutants: list[Mutant],
    known: list[dict[str, str]],
    seconds: dict[str, float],
    total: float,
) -> int:
    new: list[Mutant] = []
    seen: set[int] = set()  # the entries that matched a survivor
    print()
    for path in modules:
        name = f"{PACKAGE}.{path.removesuffix('.py').removesuffix('/__init__').replace('/', '.')}"
        mine = [m for m in mutants if m.module == name]
        survivors = [m for m in mine if m.status not in KILLED]
        equivalent = [m for m in survivors if m.known(known)]
        seen.update(i for i, e in enumerate(known) for m in equivalent if m.known([e]))
        fresh = [m for m in survivors if m not in equivalent]
        new += fresh
        judged = len(mine) - len(equivalent)
        score = 100.0 * (judged - len(fresh)) / judged if judged else 100.0
        print(
            f"{name}: {score:.1f} % of {judged} non-equivalent mutants killed "
            f"({len(mine)} mutants, {len(equivalent)} known equivalent, {len(fresh)} new survivors; "
            f"{seconds[path]:.0f} s)"
        )
    for m in new:
        print(f"\nNEW SURVIVOR {m.name} ({m.status}): `mutmut show {m.name}` in {m.work.relative_to(ROOT)}\n{m.diff}")
        old, new_ = m.change
        entry = [{"function": m.function, "from": old, "to": new_, "why": "TODO: equivalent because ..."}]
        print(
            "if it is equivalent, its entry for docs/testing.md:\n"
            + yaml.safe_dump(entry, allow_unicode=True, width=1000)
        )
    names = {f"{PACKAGE}.{p.removesuffix('.py').removesuffix('/__init__').replace('/', '.')}." for p in modules}
    for i, e in enumerate(known):  # an entry of a module that ran (judging/tokens.py, not all of judging/)
        if e["function"].startswith(tuple(names)) and i not in seen:
            print(
                f"\nlisted as equivalent in docs/testing.md but not surviving now: {e['function']}: {e['from']} -> {e['to']}"
            )
    print(f"\n{len(mutants)} mutants in {total:.0f} s; new survivors: {len(new)}")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())

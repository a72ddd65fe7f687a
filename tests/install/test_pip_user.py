"""Everything a message points at exists for a pip user (issue 21).

From the wheel installed into a fresh virtualenv and used in a foreign folder, with no checkout of
the suite anywhere near: every pointer that the package's strings, its report templates, its
schemas and the rendered `--help` of every command make to a page, an example or a vector
resolves there. `docs/NAME.md`, `examples/...` and `scripts/...` are files of the suite's
repository, which a pip user does not have: a pointer is `appauth-conformance docs TOPIC`,
`appauth-conformance examples NAME DIR` or a vector location `vectors show` resolves.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]

# Run inside the virtualenv: every user-facing text of the installed package, as (where, text).
# Docstrings and comments are for the package's readers, not its users: left out.
COLLECT = r"""
import argparse, ast, json, pathlib, sys
import appauth_conformance
from appauth_conformance.frontends import cli

root = pathlib.Path(appauth_conformance.__file__).parent
out = []

def docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            yield node.value

for py in sorted(root.rglob("*.py")):
    if "data" in py.relative_to(root).parts:
        continue  # the runners' and examples' own sources
    tree = ast.parse(py.read_text(encoding="utf-8"))
    skip = {id(n) for n in docstrings(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            out.append((f"{py.relative_to(root)}:{node.lineno}", node.value))
templates = [f for d in (root / "report" / "templates", root / "report" / "site" / "templates") for f in sorted(d.iterdir())]
assert templates, "no report templates found: the package's layout changed under this scan"
for f in templates:
    out.append((str(f.relative_to(root)), f.read_text(encoding="utf-8")))
for f in sorted((root / "data" / "examples").rglob("*")):  # copied into a team's repository as they are
    if f.is_file() and "__pycache__" not in f.parts:
        out.append((str(f.relative_to(root)), f.read_text(encoding="utf-8")))

def descriptions(node, where):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "description" and isinstance(v, str):
                out.append((where, v))
            descriptions(v, where)
    elif isinstance(node, list):
        for v in node:
            descriptions(v, where)

schema_files = sorted((root / "formats" / "schemas").glob("*.json"))
assert schema_files, "no schemas found: the package's layout changed under this scan"
for f in schema_files:
    descriptions(json.loads(f.read_text(encoding="utf-8")), str(f.relative_to(root)))

def helps(parser, name):
    yield name, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, p in action.choices.items():
                yield from helps(p, f"{name} {sub}")

out += [(f"`{n} --help`", t) for n, t in helps(cli.parser(), "appauth-conformance")]
json.dump(out, sys.stdout)
"""

# A pointer into the suite's repository, which a pip user does not have.
REPOSITORY_PATH = re.compile(r"(?<![\w./-])(docs/[\w-]+\.md|examples/[\w./-]*|scripts/[\w.-]+|harness/[\w./-]+)")
DOCS = re.compile(r"appauth-conformance docs ([a-z][\w-]*)")
EXAMPLES = re.compile(r"appauth-conformance examples ([a-z][\w-]*)")
VECTOR_AT = re.compile(r"(?<![\w/.-])(vectors/[\w-]+\.yaml:\d+)")


@pytest.fixture
def h(helpers):
    return helpers


def test_every_pointer_in_messages_help_and_reports_resolves_from_the_wheel(h, wheel_venv, tmp_path):
    venv = wheel_venv
    team = h.team_project(tmp_path / "team-service")
    found = json.loads(h.run([venv.python, "-c", COLLECT], team).stdout)
    assert len(found) > 500 and any("--help" in w for w, _ in found), "the scan read the package and its help"
    stale, docs, examples, vectors = [], set(), set(), set()
    for where, raw in found:
        text = " ".join(raw.split())  # --help wraps lines
        stale += [f"{where}: {m}" for m in REPOSITORY_PATH.findall(text)]
        docs.update(DOCS.findall(text))
        examples.update(EXAMPLES.findall(text))
        vectors.update(VECTOR_AT.findall(text))
    assert not stale, "pointers to files of the suite's repository (not in a pip install):\n" + "\n".join(stale)
    assert {"gate", "docker", "tokens", "diagnosis", "vectors"} <= docs, docs  # the scan sees the pointers
    for topic in sorted(docs):
        shown = h.run([venv.script, "docs", topic], team)
        assert shown.stdout.startswith("# ") and len(shown.stdout) > 500, topic
    listed = h.run([venv.script, "examples"], team).stdout
    for name in sorted(examples - {"NAME", "LANG"}):
        assert re.search(rf"^  {re.escape(name)} ", listed, re.M), f"no example {name!r}:\n{listed}"
    for at in sorted(vectors):
        shown = h.run([venv.script, "vectors", "show", at], team)
        path = re.search(r"^file: (.+):\d+$", shown.stdout, re.M)
        assert path and path.group(1).startswith(str(venv.package)), shown.stdout


def test_docs_examples_and_vector_locations_from_a_foreign_folder(h, wheel_venv, tmp_path):
    venv = wheel_venv
    team = h.team_project(tmp_path / "team-service")
    listing = h.run([venv.script, "docs"], team).stdout
    for topic in ("gate", "docker", "ci", "reports", "writing-a-runner", "readme"):
        assert re.search(rf"^  {topic} ", listing, re.M), listing
    path = h.run([venv.script, "docs", "docker", "--path"], team).stdout.strip()
    assert path.startswith(str(venv.package)) and path.endswith("docker.md")
    bad = h.run([venv.script, "docs", "dokcer"], team, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: docs: no topic 'dokcer'") and "docker" in bad.stderr
    assert "Traceback" not in bad.stderr

    # an example runner copied into the team's repository passes the gate there as it is
    copied = h.run([venv.script, "examples", "python", "conformance/runner"], team)
    signer = team / "conformance" / "runner" / "signer.py"
    assert signer.is_file() and str(signer.relative_to(team)) in copied.stdout
    assert not (team / "conformance" / "runner" / "__pycache__").exists()
    signer.write_text(signer.read_text() + "\n# the team's change\n")
    again = h.run([venv.script, "examples", "python", "conformance/runner"], team, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert signer.read_text().endswith("# the team's change\n"), "refused without --force: nothing overwritten"
    h.run([venv.script, "examples", "python", "conformance/runner", "--force"], team)
    assert not signer.read_text().endswith("# the team's change\n")
    gate = h.run(
        [venv.script, "run", "--lang", "example", "--runner", f"example={sys.executable} signer.py"],
        team / "conformance" / "runner",
    )
    assert re.search(r"^example\s+ok\s", gate.stdout, re.M), gate.stdout
    # run from a subfolder: the reports land beside the project's pyproject.toml, not in the subfolder
    assert (team / ".appauth-conformance" / "results.json").is_file()
    assert not (team / "conformance" / "runner" / ".appauth-conformance").exists()
    unknown = h.run([venv.script, "examples", "cobol", "x"], team, check=False)
    assert unknown.returncode == 2 and "python" in unknown.stderr and not (team / "x").exists()

    # a vector location as messages print it resolves to the file and line inside the installed package
    shown = h.run([venv.script, "vectors", "show", "single/single-user-002"], team).stdout
    at = re.search(r"^single/single-user-002  \((vectors/single\.yaml):(\d+)\)$", shown, re.M)
    assert at, shown
    file = venv.package / "data" / "vectors" / "single.yaml"
    assert f"file: {file}:{at.group(2)}" in shown
    assert file.read_text().splitlines()[int(at.group(2)) - 1] == "- id: single-user-002"
    by_line = h.run([venv.script, "vectors", "show", f"{at.group(1)}:{int(at.group(2)) + 3}"], team).stdout
    assert by_line == shown
    missing = h.run([venv.script, "vectors", "show", "single-user-999"], team, check=False)
    assert missing.returncode == 2 and "no vector 'single-user-999'" in missing.stderr


def test_readme_install_lines_with_extras_work_from_a_git_url_and_a_wheel(h, dists, tmp_path):
    """The README's lines that install the [xdist] extra from a Git URL and from a wheel, as written
    (the URL and the file name replaced by this build's)."""
    readme = (h.ROOT / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^pip install (\"[^\"]*\[xdist\][^\"]*\")", readme, re.M)
    git = next(x for x in lines if "git+" in x)
    wheel = next(x for x in lines if ".whl" in x)
    assert git.startswith('"appauth-conformance[xdist] @ git+') and wheel.endswith('.whl[xdist]"'), lines
    for name, line in (("git", git), ("wheel", wheel)):
        target = json.loads(line)  # the shell's double quotes: the same string
        if name == "git":
            # file://localhost/...: a URL with a host, as pip's PEP 508 parser wants (git reads it as file:///)
            target = re.sub(r"git\+\S+", dists["git"].replace("file:///", "file://localhost/"), target)
        else:
            target = re.sub(r"^\S+\.whl", dists["wheel"], target)
        venv = h.make_venv(tmp_path / name, target)
        h.run([venv.python, "-c", "import xdist, appauth_conformance"], tmp_path)

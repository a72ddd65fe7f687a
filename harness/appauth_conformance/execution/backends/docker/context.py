"""A runner's build context: the files an image gets, the tar the engine receives, and a team's
Dockerfile (used as written, or rendered in jinja2's sandbox).

A build context is sent the way the Docker CLI sends one: every file with its own permission
bits (an executable stays executable, a 0600 file stays 0600), and a symlink as a symlink, never
as the file it points at. A symlink whose target lies outside the context folder is refused:
the image must not get (nor learn the place of) a host file outside the project.

Only the suite's own templates (`runners/*/Dockerfile.j2` in the installed package) are rendered
with a full jinja2 environment. A team's `*.j2` Dockerfile is untrusted code: it is rendered by
`render_sandboxed` in jinja2's ImmutableSandboxedEnvironment, with the documented variables and
nothing else (no globals, no loader: no `include` or `import` of other files), so a template can
neither reach Python internals (`cycler.__init__.__globals__`, `''.__class__.__mro__`) nor a file.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shlex
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appauth_conformance.core.errors import RunnerUnavailable

# never copied into an image: the harness's own data about the runner, not its sources
SKIP_SOURCES = frozenset(
    {"node_modules", "__pycache__", ".git", "known-divergences.yaml", "variants.yaml", "Dockerfile.j2"}
)


@dataclass(frozen=True)
class Member:
    """One entry of a build context: a file (its bytes and permission bits) or a symlink (its target)."""

    data: bytes = b""
    mode: int = 0o644
    link: str | None = None

    def digest_extra(self) -> bytes:
        """What the image tag covers besides the content: a mode other than 0644, a link's target
        (nothing for a plain 0644 file, so tags of unchanged contexts stay as they were)."""
        if self.link is not None:
            return b"\0link\0" + self.link.encode()
        return b"" if self.mode == 0o644 else f"\0mode\0{self.mode:o}".encode()


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def source_files(folder: Path, *, own: bool) -> dict[str, Member]:
    """Relative path -> Member of every file and symlink the image gets (sorted, deterministic).

    Dot-files and dot-folders, node_modules, __pycache__ and the harness's own runner data
    (SKIP_SOURCES) are left out. `own`: the suite's own runner folder (modes normalised to 0644 /
    0755, as git keeps them); a team's context keeps each file's permission bits and leaves out
    what its `.dockerignore` names (dockerignore()). RunnerUnavailable names a symlink that leads
    outside the folder."""
    root = os.path.realpath(folder)
    rules = [] if own else dockerignore(Path(root))
    out: dict[str, Member] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        names = sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))])
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d) and not os.path.islink(os.path.join(dirpath, d)))
        for name in names:
            if _skipped(name):
                continue
            path = os.path.join(dirpath, name)
            rel = Path(rel_dir, name).as_posix().removeprefix("./")
            if rules and ignored(rel, rules):
                continue
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = _link(path, rel, root, folder)
            elif stat.S_ISREG(st.st_mode):
                mode = stat.S_IMODE(st.st_mode) & 0o777
                if own:
                    mode = 0o755 if mode & 0o111 else 0o644
                with open(path, "rb") as f:
                    out[rel] = Member(f.read(), mode)
    return dict(sorted(out.items()))


def dockerignore(root: Path) -> list[tuple[re.Pattern[str], bool]]:
    """The rules of `root/.dockerignore` as Docker reads them: one pattern a line (`#` comments, blank
    lines skipped), `*` and `?` within a path segment, `[...]`, `**` across segments, `\\` escapes,
    a leading `!` re-includes; paths are relative to the context (a leading `/` is dropped)."""
    try:
        text = (root / ".dockerignore").read_text(errors="replace")
    except OSError:
        return []
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = posixpath.normpath(line[1:].strip() if negate else line).lstrip("/")
        if pattern not in ("", "."):
            rules.append((re.compile(_glob(pattern)), negate))
    return rules


def _glob(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        end = pattern.find("]", i + 1) if c == "[" else -1
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif end > i:
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body).replace("\\", "\\\\") + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 1
        else:
            out += re.escape(c)
        i += 1
    return out


def ignored(rel: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    """Whether a context path is left out: the last rule matching it, or one of its parent folders, decides."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]
    out = False
    for pattern, negate in rules:
        if any(pattern.fullmatch(p) for p in prefixes):
            out = not negate
    return out


def _skipped(name: str) -> bool:
    return name in SKIP_SOURCES or name.startswith(".")


def _link(path: str, rel: str, root: str, folder: Path) -> Member:
    target = os.readlink(path)
    real = os.path.realpath(path)
    if os.path.isabs(target) or not _inside(real, root):
        raise RunnerUnavailable(
            f"the build context {folder} holds a symlink {rel} -> {target} that leads outside it; a context "
            "sends symlinks as symlinks and never a file outside its folder: copy the file into the context "
            "(or make the link relative, pointing inside it)"
        )
    return Member(mode=0o777, link=target)


def tar(files: dict[str, Member]) -> io.BytesIO:
    """The build context as an uncompressed tar: modes kept, symlinks as symlinks, mtime 0."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, m in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = m.mode
            if m.link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = m.link
                archive.addfile(info)
            else:
                info.size = len(m.data)
                archive.addfile(info, io.BytesIO(m.data))
    buf.seek(0)
    return buf


def render(template: Path, variables: dict[str, Any], *, own: bool, where: str) -> str:
    """A Dockerfile template rendered with `variables`: the suite's own (`own`) with full jinja2 (its
    folder as the loader), a team's with render_sandboxed()."""
    import jinja2

    if not own:
        try:
            text = template.read_text(errors="replace")
        except OSError as e:
            raise RunnerUnavailable(f"{where}: cannot read it: {e.strerror or e}") from None
        return render_sandboxed(text, variables, where)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["shquote"] = shlex.quote
    try:
        return env.get_template(template.name).render(**variables)
    except jinja2.TemplateError as e:
        raise RunnerUnavailable(f"{where}: cannot render: {e}") from None


def render_sandboxed(text: str, variables: dict[str, Any], where: str) -> str:
    """A team's Dockerfile template rendered in jinja2's immutable sandbox with only `variables`
    (and the `shquote` filter): no globals, no loader, no attribute starting with `_`.
    RunnerUnavailable says what was refused and how to write the template instead."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        loader=jinja2.FunctionLoader(lambda name: None),  # every include/import/extends: not found
    )
    env.globals.clear()  # no range/lipsum/cycler/joiner/namespace: only the documented variables
    env.filters["shquote"] = shlex.quote
    try:
        return env.from_string(text).render(**variables)
    except SecurityError as e:
        raise RunnerUnavailable(
            f"{where}: refused by the template sandbox ({e}); a team's Dockerfile template may use only the "
            'documented variables and filters (`appauth-conformance docs docker`, "Your own runner in Docker"), or drop the '
            ".j2 suffix to use the Dockerfile as written"
        ) from None
    except Exception as e:  # TemplateError, and what a template's own expression raises ({{ 1 / 0 }})
        raise RunnerUnavailable(
            f"{where}: cannot render ({type(e).__name__}: {e}); a team's template sees only the documented "
            "variables and cannot include or import other files (`appauth-conformance docs docker`)"
        ) from None


def scrub(message: str, dockerfile: str) -> str:
    """Docker's error message with any line of the Dockerfile (or its arguments) in it replaced by `<line N
    of the Dockerfile>`: the engine quotes an unknown instruction's whole line, a failed RUN's command."""
    found = []
    for n, text in enumerate(dockerfile.splitlines(), 1):
        whole = text.strip()
        # the whole line (an unknown instruction), and its arguments (a failed RUN's command)
        found += [(n, s) for s in {whole, whole.partition(" ")[2].strip()} if len(s) >= 3]
    lines = sorted(found, key=lambda item: -len(item[1]))
    for n, s in lines:
        message = re.sub(re.escape(s), f"<line {n} of the Dockerfile>", message, flags=re.IGNORECASE)
    # an unknown instruction: newer engines quote its first word (upper-cased), older ones the whole line
    return re.sub(
        r"(unknown instruction:)[^\n]*", r"\1 (not shown: see that line of the Dockerfile)", message, flags=re.I
    )


def instruction(step: str) -> str:
    """`Step 3/7 : RUN make x` -> `Step 3/7 (RUN)`: where a team's build stopped, without its text."""
    head, _, rest = step.partition(" : ")
    word = rest.split(None, 1)[0].upper() if rest.split() else ""
    return f"{head} ({word})" if re.fullmatch(r"[A-Z]+", word) else head


def condense(step: str, width: int = 110) -> str:
    """One short line for a build step of the suite's own runners: whitespace folded, shell boilerplate dropped."""
    s = " ".join(step.split())
    s = s.replace("RUN set -eux; ", "RUN ")
    m = re.search(r"apt-get install -y -q --no-install-recommends ([^;]*)", s)
    if m and s.split(" : ", 1)[-1].startswith("RUN"):
        s = s.split(" : ", 1)[0] + " : RUN apt-get install " + m.group(1).strip()
    return s if len(s) <= width else s[: width - 1] + "\u2026"


def build_hint(step: str, error: str, base: str, suite: str, *, offline: bool) -> str:
    """What to do about a failed build, when its cause is a known one: a missing base image, no network."""
    hint = ""
    if (
        step.startswith("Step 1/")
        or "pull access denied" in error
        or "registry" in error
        or (base and "not found" in error.lower() and base in error)
    ):
        hint = (
            f"\nThe base image {base} is not in the local engine: make it with "
            f"`appauth-conformance images bootstrap --suite {suite}` or give one with --base-image."
            if base
            else "\nIs the image its FROM line names in the local engine? Build or load it first."
        )
    if offline:
        hint += (
            "\nIt was built with --offline-build (no network at build time): a step that downloads "
            "fails; vendor what it fetches into the build context, or build without --offline-build."
        )
    return hint

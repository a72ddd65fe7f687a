"""Images for the runners: base images made with debootstrap, the host's Debian mirror, and
building the images of many runners at once.

- `bootstrap(suite)`       `appauth-conformance images bootstrap --suite SUITE [--mirror URL] [--force]`:
                           debootstrap a minimal Debian and import it as appauth-conformance/base:SUITE
- `base_tag(suite)`        that image's tag; a runner image is built FROM it when the engine has it
- `host_mirror()`          the Debian mirror this machine's apt uses (the default for --mirror and the builds)
- `build(specs, backend)`  `appauth-conformance images build [--matrix]`: build (or find cached) runner images
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from appauth_conformance.core import untrusted
from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.backends.docker.engine import LABEL, client, image_exists

BASE_REPOSITORY = "appauth-conformance/base"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")

# Like Debian's official -slim images: no documentation, man pages or translations, now or in
# packages installed later (copyright files stay).
SLIM_DPKG_CFG = """\
# appauth-conformance base image: keep it small, like Debian's -slim images
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
_SLIM_DIRS = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/groff",
    "usr/share/info",
    "usr/share/lintian",
    "usr/share/linda",
    "usr/share/locale",
)


def base_tag(suite: str) -> str:
    return f"{BASE_REPOSITORY}:{suite}"


# -- the Debian mirror ---------------------------------------------------------------------------


def _sources_entries() -> list[tuple[str, list[str]]]:
    """(uri, suites) of every `deb` entry in the host's apt sources, in file order."""
    out: list[tuple[str, list[str]]] = []
    files: list[Path] = []
    if APT_SOURCES.is_file():
        files.append(APT_SOURCES)
    if APT_SOURCES_DIR.is_dir():
        files += sorted(p for p in APT_SOURCES_DIR.iterdir() if p.suffix in (".list", ".sources") and p.is_file())
    for f in files:
        try:
            raw = f.read_text(errors="replace")
        except OSError:
            continue
        if f.suffix == ".list":
            for line in raw.splitlines():
                line = line.split("#", 1)[0].strip()
                m = re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m:
                    out.append((m.group(1), [m.group(2)]))
        else:  # deb822 stanzas
            for stanza in re.split(r"\n\s*\n", raw):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    out.append((uri, fields.get("suites", "").split()))
    return out


def host_mirror() -> str:
    """The Debian archive mirror the host's apt uses (plain http preferred), else deb.debian.org.

    Security and third-party repositories are skipped: the first entry whose URI ends in
    /debian and whose suites are not `-security` wins.
    """
    for uri, suites in _sources_entries():
        u = uri.rstrip("/")
        if not re.match(r"https?://", u) or "security" in u or any(s.endswith("-security") for s in suites):
            continue
        if u.endswith("/debian"):
            return u
    return FALLBACK_MIRROR


# -- base images ---------------------------------------------------------------------------------


def _tar_stream(root: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The root filesystem as a tar stream (GNU tar keeps device nodes, owners and xattrs right)."""
    proc = subprocess.Popen(
        ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", "-", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    try:
        while True:
            data = proc.stdout.read(chunk)
            if not data:
                break
            yield data
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise RuntimeError(f"tar of {root} failed: {err.strip()[-500:]}")


def _slim(root: Path) -> None:
    """Drop docs, man pages and translations from a root filesystem, and keep dpkg from adding them."""
    for sub in _SLIM_DIRS:
        top = root / sub
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for f in filenames:
                p = Path(dirpath) / f
                if sub == "usr/share/doc" and f == "copyright":
                    continue
                p.unlink()
            for d in dirnames:
                p = Path(dirpath) / d
                if p.is_symlink():
                    p.unlink()
                else:
                    try:
                        p.rmdir()
                    except OSError:  # a copyright file lives here
                        pass
    cfg = root / "etc/dpkg/dpkg.cfg.d"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "appauth-conformance-slim").write_text(SLIM_DPKG_CFG)
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "var/cache/debconf", "var/log"):
        folder = root / sub
        if folder.is_dir():
            for p in folder.rglob("*"):
                if (
                    p.is_file()
                    and not p.is_symlink()
                    and (sub != "var/cache/debconf" or p.name.endswith("-old"))
                    and p.name != "lock"
                ):
                    p.unlink()


def bootstrap(
    suite: str,
    *,
    tag: str | None = None,
    mirror: str | None = None,
    force: bool = False,
    slim: bool = True,
    progress: Callable[[str], None] | None = print,
) -> str:
    """Make `appauth-conformance/base:<suite>` from `debootstrap --variant=minbase` and import it.

    For engines with no registry (air-gapped CI). Skips the work when the image exists
    (unless `force`). `slim` drops docs, man pages and translations as Debian's -slim
    images do (about 45 MB). Needs root and debootstrap (scripts/docker-up.sh installs it).
    Returns the image tag.
    """
    say = progress or (lambda s: None)
    tag = tag or base_tag(suite)
    repo, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    api = client().api
    if not force and image_exists(tag):
        say(f"[base:{suite}] {tag} exists; skipping (use --force to rebuild it)")
        return tag
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
    )
    if debootstrap is None:
        raise UsageError("debootstrap is not installed: `apt-get install debootstrap` (as root), then run this again")
    if os.geteuid() != 0:
        raise UsageError(
            "debootstrap needs root: run `sudo appauth-conformance images bootstrap --suite " + suite + "`"
        )
    mirror = (mirror or host_mirror()).rstrip("/")
    workdir = Path(tempfile.mkdtemp(prefix=f"appauth-base-{suite}-", dir=os.environ.get("TMPDIR") or "/var/tmp"))
    root = workdir / "rootfs"
    try:
        say(f"[base:{suite}] debootstrap --variant=minbase {suite} from {mirror}")
        log = workdir / "debootstrap.log"
        with open(log, "wb") as lf:
            proc = subprocess.Popen(
                [debootstrap, "--variant=minbase", suite, str(root), mirror],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            assert proc.stdout is not None  # a pipe
            seen: set[str] = set()
            for raw in proc.stdout:
                lf.write(raw)
                line = raw.decode(errors="replace").strip()
                # one condensed line per stage, not one per package
                m = re.match(r"[IEW]: (\w+)", line)
                if m and (line.startswith(("E:", "W:")) or m.group(1) not in seen):
                    seen.add(m.group(1))
                    say(f"[base:{suite}] {untrusted.cut(line, 120)}")
            rc = proc.wait()
        if rc != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-30:]
            raise UsageError(
                f"debootstrap {suite} from {mirror} failed ({rc}):\n"
                + "\n".join(tail)
                + "\nCheck the suite name and the mirror (--mirror URL); the full log was "
                + str(log)
            )
        # smaller image: no package caches or lists (the Dockerfiles run apt-get update first)
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            d = root / sub
            if d.is_dir():
                for p in d.iterdir():
                    if p.is_file() and p.name not in ("lock",):
                        p.unlink()
        if slim:
            _slim(root)
        (root / "etc/apt/sources.list").write_text(f"deb {mirror} {suite} main\n")
        say(f"[base:{suite}] importing into the engine as {tag}")
        api.import_image_from_data(
            _tar_stream(root),
            repository=repo,
            tag=version,
            changes=[
                'CMD ["/bin/bash"]',
                "ENV LANG=C.UTF-8",
                f'LABEL {LABEL}.base="{suite}" {LABEL}.mirror="{mirror}" {LABEL}.slim="{str(slim).lower()}"',
            ],
        )
        if not image_exists(tag):
            raise UsageError(f"importing {tag} reported no error but the image is not there; see the engine's log")
        say(f"[base:{suite}] {tag} ready")
        return tag
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- runner images -------------------------------------------------------------------------------


class Preparer(Protocol):
    # DockerBackend.prepare: build unless cached; {"image": tag, ...}
    def prepare(self, spec: RunnerSpec) -> dict[str, str]: ...


def build(specs: Iterable[RunnerSpec], backend: Preparer, *, jobs: int = 2) -> list[str]:
    """Build (or find in the cache) the image of every spec with `backend` (a DockerBackend); returns
    the tags in spec order.

    `appauth-conformance images build` passes the default variants, `--matrix` all of them
    (appauth_conformance.execution.variants.all_variants()). `jobs` builds run at once (apt downloads dominate).
    RunnerUnavailable from the first failing build is raised after the others finish.
    """
    specs = list(specs)
    check = getattr(backend, "check", None)  # every image, Dockerfile and base image, before the first build
    found = check(specs) if check is not None else {}
    if found:
        raise RunnerUnavailable("before any build:\n" + "\n".join(found.values()))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(backend.prepare, s) for s in specs]
        errors = []
        tags = []
        for f in futures:
            try:
                tags.append(f.result()["image"])
            except Exception as e:
                errors.append(e)
    if errors:
        raise errors[0]
    return tags

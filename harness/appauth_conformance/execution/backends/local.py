"""The local backend: find the toolchains, build each runner once into a cache keyed by its sources, start it."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.execution.backends.pipes import set_pipe_size
from appauth_conformance.formats.resources import cache_root

# Never part of a runner's sources: installers byte-compile the packaged runner.py (its .pyc
# differs per install), and a developer may have run npm in the source folder.
NOT_SOURCES = ("node_modules", "__pycache__")
# In the source folder but not what a local build uses: editing them must not rebuild.
NOT_BUILT = ("known-divergences.yaml", "variants.yaml", "Dockerfile.j2")
BACKGROUND_NICE = "10"  # a background runner's autogroup: about a tenth of the CPU weight of one at 0


def source_hash(spec: RunnerSpec) -> str:
    """sha256 of the build recipe and every source file (path and content)."""
    h = hashlib.sha256(repr((spec.build_argvs(), spec.command)).encode())  # another interpreter: another build
    if spec.source:
        for p in sorted(spec.source.rglob("*")):
            rel = p.relative_to(spec.source)
            if p.is_file() and not set(NOT_SOURCES) & set(rel.parts) and p.name not in NOT_BUILT:
                h.update(str(rel).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def check_tools(spec: RunnerSpec, headers: bool = True) -> None:
    """Every tool on PATH (cheap, always); headers only when about to build (a compiler run)."""
    for tool in spec.tools:
        if shutil.which(tool.command) is None:
            raise RunnerUnavailable(
                f"{spec.name}: `{tool.command}` is not on PATH; install it with `apt-get install {tool.debian_package}` "
                "(or run with --backend=docker)"
            )
        if tool.header and headers:
            probe = subprocess.run(
                [tool.command, "-fsyntax-only", "-x", "c++", "-"],
                input=f"#include <{tool.header}>\n".encode(),
                capture_output=True,
            )
            if probe.returncode != 0:
                raise RunnerUnavailable(
                    f"{spec.name}: the header <{tool.header}> is missing; install it with `apt-get install {tool.debian_package}`"
                )


def run_build(spec: RunnerSpec, cwd: Path) -> None:
    for argv in spec.build_argvs():
        try:
            r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env={**os.environ, **spec.env})
        except OSError as e:
            raise RunnerUnavailable(
                f"{spec.name}: cannot run build step `{' '.join(argv)}`: {e.strerror or e}"
            ) from None
        if r.returncode != 0:
            tail = (r.stdout + r.stderr).strip()[-2000:]
            raise RunnerUnavailable(f"{spec.name}: build step `{' '.join(argv)}` failed ({r.returncode}):\n{tail}")


class LocalProcess(subprocess.Popen[bytes]):
    # LocalBackend.start opens all three as pipes, so none is None
    stdin: IO[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]

    def kill(self) -> None:
        """SIGKILL the runner's process group (start() gives it a session of its own), so that what a
        wrapper script started dies with it and lets go of the pipes."""
        if self.poll() is not None:
            return  # reaped: its pid (and group id) may belong to someone else now
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            super().kill()

    def set_background(self, background: bool) -> None:
        """Set the nice value of the runner's autogroup: Linux schedules each session (start() gives the
        runner one) as a group, so a process's own nice value does not count against other sessions, and
        lowering a group's priority, then restoring it to 0, needs no privilege."""
        if self.poll() is not None:
            return  # reaped: its pid may belong to someone else now
        try:
            with open(f"/proc/{self.pid}/autogroup", "w") as f:
                f.write(BACKGROUND_NICE if background else "0")
        except OSError:  # not Linux, or no autogroups in this kernel: the runner keeps its priority
            log.debug("%s: cannot set its autogroup's nice value", self.pid)

    def describe_exit(self) -> str:
        code = self.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"


log = logging.getLogger(__name__)


class LocalBackend:
    name = "local"

    def __init__(self, cache: Path | None = None):
        self.cache = Path(cache) if cache else cache_root()
        self.built: dict[str, Path] = {}

    def build_dir(self, spec: RunnerSpec) -> Path:
        if spec.source is None:
            return spec.workdir or Path.cwd()
        return self.cache / "runners" / f"{spec.name}-{source_hash(spec)}"

    def prepare(self, spec: RunnerSpec) -> dict[str, str]:
        """Build once (cached by source hash; safe when several processes build at once)."""
        if spec.name in self.built:
            return {"backend": self.name, "build_dir": str(self.built[spec.name])}
        out = self.build_dir(spec)
        cached = spec.source is not None and (out / ".built").exists()
        log.debug("%s: build folder %s (%s)", spec.name, out, "cached" if cached else "to build")
        check_tools(spec, headers=not cached)
        if spec.source is not None and not cached:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
            try:
                shutil.copytree(spec.source, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
                run_build(spec, tmp)
                (tmp / ".built").write_text("ok\n")
                try:
                    tmp.rename(out)
                except OSError:  # another process finished the same build first: theirs is identical
                    pass
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        elif spec.source is None:
            run_build(spec, out)
        self.built[spec.name] = out
        return {"backend": self.name, "build_dir": str(out)}

    def start(self, spec: RunnerSpec) -> LocalProcess:
        cwd = self.built.get(spec.name) or Path(self.prepare(spec)["build_dir"])
        argv = spec.argv()
        log.debug("%s: starting %s in %s", spec.name, argv, cwd)
        try:
            proc = LocalProcess(
                argv,
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, **spec.env},
                bufsize=0,
                start_new_session=True,
            )
        except OSError as e:
            raise RunnerUnavailable(
                f"{spec.name}: cannot start `{' '.join(argv)}` in {cwd}: {e.strerror or e}"
            ) from None
        set_pipe_size(proc.stdin.fileno())
        set_pipe_size(proc.stdout.fileno())
        return proc

    def close(self) -> None:
        pass

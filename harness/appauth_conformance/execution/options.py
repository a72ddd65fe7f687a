"""Options shared by the pytest plugin and the CLI, and runners declared by users.

Users declare their own signers in `[tool.appauth-conformance.runners.NAME]`
of their pyproject.toml (or `[runners.NAME]` of appauth-conformance.toml),
or with `--runner NAME=COMMAND`. Commands are argv lists, never shell strings.
This is also the one place that makes the Docker settings of a declared runner
(`image`, or `dockerfile` with an optional `context`; see `appauth-conformance docs docker`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS
from appauth_conformance.execution import shards, variants
from appauth_conformance.execution.registry import BUILTINS, Registry
from appauth_conformance.formats import arguments

if TYPE_CHECKING:  # make_backend() imports the backends when one is made
    from appauth_conformance.execution.backends import Backend

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DOCKER_KEYS = ("image", "dockerfile", "context")
RUNNER_KEYS = {"command", "workdir", "env", "build", "language", "divergences", "allow_outside_project", *DOCKER_KEYS}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class Options:
    lang: str | None = "all"
    backend: str = "local"
    vectors: Path = DEFAULT_VECTORS
    report_dir: Path = Path(".appauth-conformance")
    require_all: bool = False
    runner: list[str] = field(default_factory=list)
    divergences: list[str] = field(default_factory=list)  # NAME=PATH
    matrix: bool = False
    base_image: str | None = None
    ca_bundle: str | None = None
    timeout: float = 10.0
    config: Path | None = None
    token_window: int = 24 * 3600
    allow_never_expires: bool = False
    shard: shards.Shard | None = None  # --shard K/N: this run's part of the corpus (or of the fuzz stream)
    docker_host: str | None = None  # --docker-host: the Docker engine of this run (default DOCKER_HOST)
    cpus: float | None = None  # --cpus: CPU limit of each runner container (default: the backend's, 1 core)
    container_lifetime: float | None = None  # --container-lifetime: seconds a runner container may live
    offline_build: bool = False  # --offline-build: declared runners' images built with no network

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace, **fixed: Any) -> Options:
        """The options given (CLI or pytest), each value checked: UsageError names the option and the fix.
        `fixed`: values the command decides (images build: backend="docker")."""

        def get(k: str, d: Any = None) -> Any:
            if k in fixed:
                return fixed[k]
            return getattr(ns, "appauth_" + k, getattr(ns, k, d))  # pytest prefixes dests

        backend = arguments.choice("--backend", get("backend") or "local", BACKENDS)
        matrix = bool(get("matrix"))
        if matrix and backend != "docker":
            raise UsageError("--matrix: the version variants run in Docker; add --backend=docker")
        for flag in ("base_image", "ca_bundle", "docker_host", "cpus", "container_lifetime"):
            if get(flag) is not None and backend != "docker":
                raise UsageError(f"--{flag.replace('_', '-')}: a Docker setting; add --backend=docker or leave it out")
        lang = get("lang")
        if lang is not None:
            arguments.text("--lang", lang)
        return cls(
            lang=lang,
            backend=backend,
            vectors=arguments.existing_path("--vectors", get("vectors"))
            if get("vectors") is not None
            else DEFAULT_VECTORS,
            report_dir=arguments.output_dir("--report-dir", get("report_dir"))
            if get("report_dir") is not None
            else default_report_dir(get("config")),
            require_all=bool(get("require_all")) or in_ci(),
            runner=list(get("runner") or []),
            divergences=list(get("divergences") or []),
            matrix=matrix,
            base_image=arguments.text("--base-image", get("base_image")) if get("base_image") is not None else None,
            ca_bundle=str(arguments.existing_file("--ca-bundle", get("ca_bundle")))
            if get("ca_bundle") is not None
            else None,
            timeout=arguments.number("--timeout", get("timeout"), 0.01, 3600, unit="seconds")
            if get("timeout") is not None
            else 10.0,
            config=arguments.existing_file("--config", get("config")) if get("config") is not None else None,
            token_window=int(arguments.number("--token-window", get("token_window"), 1, 10 * 366 * 86400, integer=True))
            if get("token_window") is not None
            else 24 * 3600,
            allow_never_expires=bool(get("allow_never_expires")),
            shard=shards.parse(get("shard")) if get("shard") is not None else None,
            docker_host=_docker_host(get("docker_host")) if get("docker_host") is not None else None,
            cpus=arguments.number("--cpus", get("cpus"), 0.01, 1024, unit="cores") if get("cpus") is not None else None,
            container_lifetime=arguments.number(
                "--container-lifetime", get("container_lifetime"), 1, 30 * 86400, unit="seconds"
            )
            if get("container_lifetime") is not None
            else None,
            offline_build=_docker_only("--offline-build", bool(get("offline_build")), backend),
        )

    def rerun_args(self, *, lang: bool = False) -> list[str]:
        """The arguments that make another command see the runners this run saw, as the user gave them
        (paths as typed, so valid from the folder the run started in): every fix command the suite prints
        carries them (`divergences update`, re-runs). With `lang`, the --lang selection too."""
        out: list[str] = []
        if lang and self.lang not in (None, "all"):
            out += ["--lang", self.lang]
        for text in self.runner:
            out.append(f"--runner={text}")
        for text in self.divergences:
            out.append(f"--divergences={text}")
        if self.config is not None:
            out += ["--config", str(self.config)]
        if Path(self.vectors) != DEFAULT_VECTORS:
            out += ["--vectors", str(self.vectors)]
        if self.backend != "local":
            out.append(f"--backend={self.backend}")
        if self.matrix:
            out.append("--matrix")
        for flag, value in (
            ("--base-image", self.base_image),
            ("--docker-host", self.docker_host),
            ("--ca-bundle", self.ca_bundle),
        ):
            if value is not None:
                out += [flag, value]
        if self.timeout != 10.0:
            out += ["--timeout", f"{self.timeout:g}"]
        return out


BACKENDS = ("local", "docker")
DOCKER_HOST = re.compile(r"(tcp|ssh|unix|http|https)://\S+")


def _docker_only(flag: str, given: bool, backend: str) -> bool:
    if given and backend != "docker":
        raise UsageError(f"{flag}: a Docker setting; add --backend=docker or leave it out")
    return given


def _docker_host(given: str) -> str:
    if not DOCKER_HOST.fullmatch(given.strip()):
        raise UsageError(
            f"--docker-host: {given!r} is not an engine address; e.g. --docker-host=tcp://10.0.0.5:2375, "
            "ssh://me@build-host or unix:///var/run/docker.sock"
        )
    return given.strip()


# The groups of shared options; each command takes those it uses (ALL: `run` and the pytest plugin).
SELECT, BACKEND, DOCKER, CORPUS, REPORT, TOKENS, SHARD = (
    "select",
    "backend",
    "docker",
    "corpus",
    "report",
    "tokens",
    "shard",
)
ALL = (SELECT, BACKEND, DOCKER, CORPUS, REPORT, TOKENS, SHARD)


def add_options(add, pytest_style: bool = False, groups: tuple[str, ...] = ALL) -> None:
    """Declare the shared options on an argparse parser or a pytest option group. Values are strings,
    checked by Options.from_namespace (one message, exit 2, in both front doors)."""
    p = "appauth_" if pytest_style else ""

    def opt(flag, **kw):
        add(flag, dest=p + flag.lstrip("-").replace("-", "_"), **kw)

    if SELECT in groups:
        opt(
            "--lang",
            default=None if pytest_style else "all",
            help="runners to run, a comma list of: all (the four reference runners and the declared ones), "
            "declared (only the declared ones), sdks (the vendor's SDKs, e.g. huawei-python-sdk; built from PyPI), "
            "runner names, or languages: a language (python, java, cpp, js, or any `language` a declared runner "
            "gives) selects the reference runner of that language and every declared runner of that language",
        )
        opt(
            "--runner",
            action="append",
            default=[],
            metavar="NAME=COMMAND",
            help="declare a runner: NAME=COMMAND (COMMAND split like a shell would, never run by one); repeatable",
        )
        opt(
            "--divergences",
            action="append",
            default=[],
            metavar="NAME=PATH",
            help="the known-divergence file of runner NAME (`appauth-conformance docs gate`), e.g. for a runner given "
            "with --runner; "
            "repeatable",
        )
        opt(
            "--config",
            default=None,
            metavar="FILE",
            help="a pyproject.toml or appauth-conformance.toml declaring runners",
        )
    if BACKEND in groups:
        opt("--backend", default="local", metavar="{local,docker}", help="where runners run (default: local)")
        opt(
            "--require-all",
            action="store_true",
            default=False,
            help="an unavailable runner fails the run instead of being skipped (implied by CI=true)",
        )
        opt("--timeout", default=None, metavar="SECONDS", help="seconds a runner may take to answer (default: 10)")
    if DOCKER in groups:
        opt(
            "--matrix",
            action="store_true",
            default=False,
            help="Docker only: every version variant of each runner (its variant matrix), not just the default one",
        )
        opt("--base-image", default=None, help="Docker base image (default: bootstrapped base, else debian:SUITE-slim)")
        opt(
            "--docker-host",
            default=None,
            metavar="URL",
            help="with --backend=docker: the engine to use (tcp://HOST:PORT, ssh://USER@HOST, unix:///PATH; "
            "default: DOCKER_HOST, else the local socket), e.g. one engine per shard",
        )
        opt(
            "--ca-bundle",
            default=None,
            metavar="FILE",
            help="CA bundle copied into Docker builds (default: SSL_CERT_FILE, PIP_CERT, ...)",
        )
        opt(
            "--cpus",
            default=None,
            metavar="CORES",
            help="with --backend=docker: CPU limit of each runner container (default: 1)",
        )
        opt(
            "--container-lifetime",
            default=None,
            metavar="SECONDS",
            help="with --backend=docker: a runner container is killed after this long, even if the harness is gone "
            "(default: 21600, 6 h)",
        )
        opt(
            "--offline-build",
            action="store_true",
            default=False,
            help="with --backend=docker: build declared runners' images (`dockerfile`) with no network",
        )
    if CORPUS in groups:
        opt("--vectors", default=None, help="a vector file or folder (default: the bundled corpus)")
    if REPORT in groups:
        opt(
            "--report-dir",
            default=None,
            help="where results.json and the reports go (default: .appauth-conformance next to the pyproject.toml "
            "or appauth-conformance.toml that declares the runners, else in the current folder)",
        )
    if SHARD in groups:
        opt(
            "--shard",
            default=None,
            metavar="K/N",
            help="run shard K of N (1-based): a stable, balanced part of the vectors (of the fuzz stream, for fuzz); "
            "merge the N results with `appauth-conformance report merge`",
        )
    if TOKENS in groups:
        opt(
            "--token-window",
            default=None,
            metavar="SECONDS",
            help="tokens: how far ahead an expire_time may lie (default 86400, a day)",
        )
        opt(
            "--allow-never-expires",
            action="store_true",
            default=False,
            help="tokens: accept expire_time 0 (never expires: allowed by the documentation, discouraged)",
        )


def parse_runner_flag(text: str) -> RunnerSpec:
    name, sep, command = text.partition("=")
    if not sep or not NAME.match(name.strip()) or not command.strip():
        raise UsageError(f"--runner {text!r}: expected NAME=COMMAND, e.g. --runner my-signer='node signer.js'")
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise UsageError(f"--runner {text!r}: cannot split the command: {e}") from None
    return RunnerSpec(
        name=name.strip(), language="custom", command=tuple(argv), workdir=Path.cwd(), aliases=(), group="declared"
    )


def parse_divergences_flag(text: str) -> tuple[str, Path]:
    """--divergences NAME=PATH: the runner's name and its known-divergence file, which must exist."""
    name, sep, path = text.partition("=")
    if not sep or not NAME.match(name.strip()) or not path.strip():
        raise UsageError(f"--divergences {text!r}: expected NAME=PATH, e.g. --divergences mine=known-divergences.yaml")
    file = Path(path.strip()).expanduser().resolve()
    if not file.is_file():
        raise UsageError(f"--divergences {text!r}: {file} is not a file; give the path of a known-divergence file")
    return name.strip(), file


def default_report_dir(config: str | None = None) -> Path:
    """Where results.json and the reports go without --report-dir: `.appauth-conformance/` next to the
    project's config (the file that declares the runners, found upwards from the current folder), so a
    run from a subfolder of the project writes where a run from its root does; with no config, in the
    current folder."""
    found = Path(config).expanduser() if config else find_config()
    return (found.resolve().parent if found else Path()) / ".appauth-conformance"


def find_config(start: Path | None = None) -> Path | None:
    """appauth-conformance.toml, or a pyproject.toml with a [tool.appauth-conformance] table, upwards from cwd."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        own = d / "appauth-conformance.toml"
        if own.is_file():
            return own
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                raw = py.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "appauth-conformance" not in raw:
                continue
            try:
                if "appauth-conformance" in tomllib.loads(raw).get("tool", {}):
                    return py
            except tomllib.TOMLDecodeError as e:
                raise UsageError(f"{py}: TOML syntax: {e}") from None
    return None


def docker_settings(r: dict, base: Path, where: str) -> dict | None:
    """The `docker` settings of a declared runner's table `r` (paths relative to `base`, the config
    file's folder), or None when it declares no image: then it has no Docker image of its own.

    - `image = "NAME[:TAG]"`: runs in that image of the local engine (no registry is needed);
    - `dockerfile = "PATH"`: built from it, with `context` (default: the Dockerfile's folder) as
      the build context, cached by a hash of both; a `*.j2` Dockerfile is rendered in jinja2's
      sandbox with the documented variables only. Both must lie inside the project folder (`base`)
      unless the table says `allow_outside_project = true`.

    Either way the runner's `command`, when given, is the container's entrypoint (run in the
    image's WORKDIR; "{python}" becomes python3); without one the image's own ENTRYPOINT/CMD runs.
    """
    for key in DOCKER_KEYS:
        if key in r and not (isinstance(r[key], str) and r[key].strip()):
            raise UsageError(f'{where}: `{key}` must be a non-empty string, e.g. {key} = "{_EXAMPLE[key]}"')
    if "image" in r and "dockerfile" in r:
        raise UsageError(f"{where}: give a Docker `image` or a `dockerfile` to build one, not both")
    if "context" in r and "dockerfile" not in r:
        raise UsageError(
            f"{where}: `context` is the build context of a `dockerfile`; add the `dockerfile` or remove it"
        )
    if "image" in r:
        return {"image": r["image"].strip()}
    if "dockerfile" not in r:
        return None
    outside = r.get("allow_outside_project", False)
    if not isinstance(outside, bool):
        raise UsageError(f"{where}: `allow_outside_project` must be true or false")
    dockerfile = (base / Path(r["dockerfile"]).expanduser()).resolve()
    if not dockerfile.is_file():
        raise UsageError(f"{where}: `dockerfile` {dockerfile} does not exist")
    context = (base / Path(r["context"]).expanduser()).resolve() if "context" in r else dockerfile.parent
    if not context.is_dir():
        raise UsageError(f"{where}: the build `context` {context} is not a folder")
    for key, path in (("dockerfile", dockerfile), ("context", context)):
        if not outside and not path.is_relative_to(base.resolve()):
            raise UsageError(
                f"{where}: `{key}` {path} lies outside the project folder {base.resolve()} (the config file's "
                "folder), and a build would send it to the engine; move it into the project, or add "
                "`allow_outside_project = true` to this runner's table if you trust that folder (`appauth-conformance docs docker`)"
            )
    return {"dockerfile": str(dockerfile), "context": str(context)}


_EXAMPLE = {"image": "my-signer:1.0", "dockerfile": "signer/Dockerfile", "context": "signer"}


def declared_runners(path: Path) -> list[RunnerSpec]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: TOML syntax: {e}") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    table = doc.get("tool", {}).get("appauth-conformance", {}) if path.name == "pyproject.toml" else doc
    prefix = "tool.appauth-conformance." if path.name == "pyproject.toml" else ""
    runners = table.get("runners", {})
    if not isinstance(runners, dict):
        raise UsageError(f"{path}: [{prefix}runners] must be a table of runner tables")
    out = []
    for name, r in runners.items():
        where = f"{path}: [{prefix}runners.{name}]"
        if not NAME.match(name):
            raise UsageError(f"{where}: a runner name is letters, digits, '.', '_' and '-'")
        if not isinstance(r, dict):
            raise UsageError(f"{where}: must be a table")
        unknown = set(r) - RUNNER_KEYS
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(RUNNER_KEYS)}")
        base = path.parent
        docker = docker_settings(r, base, where)
        cmd = r.get("command")
        if cmd is None and docker is not None:
            cmd = []  # the image's own entrypoint runs
        elif not (isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd)):
            raise UsageError(
                f'{where}: `command` must be a non-empty list of strings (argv, never a shell string), e.g. ["node", "signer.js"]'
                + ("" if "command" in r else "; it may be left out only with a Docker `image` or `dockerfile`")
            )
        build = r.get("build", [])
        if isinstance(build, list) and build and all(isinstance(a, str) for a in build):
            build = [build]  # one command
        if not (
            isinstance(build, list)
            and all(isinstance(b, list) and b and all(isinstance(a, str) for a in b) for b in build)
        ):
            raise UsageError(f"{where}: `build` must be an argv list or a list of argv lists")
        env = r.get("env", {})
        if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
            raise UsageError(f"{where}: `env` must be a table of strings")
        workdir = (base / r.get("workdir", ".")).resolve()
        if not workdir.is_dir():
            raise UsageError(f"{where}: workdir {workdir} does not exist")
        div = r.get("divergences")
        out.append(
            RunnerSpec(
                name=name,
                language=str(r.get("language", "custom")),
                command=tuple(cmd),
                workdir=workdir,
                build=tuple(tuple(b) for b in build),
                env=dict(env),
                divergences=(base / div).resolve() if div else workdir / "known-divergences.yaml",
                docker=docker,
                group="declared",
            )
        )
    return out


def select_runners(opts: Options) -> list[RunnerSpec]:
    specs = list(BUILTINS)
    if opts.backend == "docker":
        specs = variants.all_variants() if opts.matrix else variants.default_variants()
    registry = Registry(specs)
    path = opts.config or find_config()
    if path is not None:
        for s in declared_runners(Path(path)):
            registry.add(s)
    for text in opts.runner:
        registry.add(parse_runner_flag(text))
    for text in opts.divergences:
        name, path = parse_divergences_flag(text)
        if name not in registry.specs:
            raise UsageError(f"--divergences {text!r}: no runner is named {name!r}; known: {', '.join(registry.specs)}")
        registry.replace(dataclasses.replace(registry.specs[name], divergences=path))
    chosen = registry.select(opts.lang or "all")
    if opts.backend != "docker":
        for s in chosen:
            if not s.command:
                raise UsageError(
                    f"runner {s.name!r} has no `command`: it runs its Docker image's own entrypoint, so only with "
                    "--backend=docker; run it so, give it a `command` for --backend=local, or leave it out of --lang"
                )
    return chosen


def make_backend(opts: Options) -> Backend:
    from appauth_conformance.execution.backends import make_backend as make

    if opts.backend == "docker":
        limits = {k: v for k, v in (("cpus", opts.cpus), ("lifetime", opts.container_lifetime)) if v is not None}
        return make(
            "docker",
            base_image=opts.base_image,
            ca_bundle=opts.ca_bundle,
            docker_host=opts.docker_host,
            offline_build=opts.offline_build,
            **limits,
        )
    return make("local")

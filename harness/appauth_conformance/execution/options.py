"""The options shared by the pytest plugin and the CLI: their defaults, declaration, checks, and what
they select (the runners, the backend).

Runners come from the registry, from the project's config (`execution.declared`) and from
`--runner NAME=COMMAND`. Commands are argv lists, never shell strings.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.corpus.vectors import DEFAULT_VECTORS
from appauth_conformance.execution import shards, variants
from appauth_conformance.execution.declared import NAME, declared_runners, find_config
from appauth_conformance.execution.registry import BUILTINS, Registry
from appauth_conformance.formats import arguments
from appauth_conformance.judging import tokens

if TYPE_CHECKING:  # make_backend() imports the backends when one is made
    from appauth_conformance.execution.backends import Backend


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# The one table of the shared options' defaults: Options' fields take them, and every parser (the CLI's
# commands, the pytest plugin, fuzz) declares them from here; help texts and docs/ state them
# (tests/test_option_defaults.py checks all three). None: not given (report_dir: next to the config, default_report_dir();
# the Docker settings: the Docker backend's own).
DEFAULTS: dict[str, Any] = {
    "lang": "all",
    "backend": "local",
    "vectors": DEFAULT_VECTORS,
    "report_dir": None,
    "require_all": False,
    "runner": (),
    "divergences": (),
    "matrix": False,
    "base_image": None,
    "ca_bundle": None,
    "timeout": 10.0,
    "config": None,
    "token_window": tokens.WINDOW,
    "allow_never_expires": False,
    "shard": None,
    "docker_host": None,
    "cpus": None,
    "container_lifetime": None,
    "offline_build": False,
}
DOCKER_ONLY = ("matrix", "base_image", "ca_bundle", "docker_host", "cpus", "container_lifetime", "offline_build")


@dataclass
class Options:
    lang: str | None = DEFAULTS["lang"]
    backend: str = DEFAULTS["backend"]
    vectors: Path = DEFAULTS["vectors"]
    report_dir: Path = field(default_factory=lambda: default_report_dir())
    require_all: bool = DEFAULTS["require_all"]
    runner: list[str] = field(default_factory=list)  # NAME=COMMAND, as typed
    divergences: list[str] = field(default_factory=list)  # NAME=PATH, as typed
    matrix: bool = DEFAULTS["matrix"]
    base_image: str | None = DEFAULTS["base_image"]
    ca_bundle: str | None = DEFAULTS["ca_bundle"]
    timeout: float = DEFAULTS["timeout"]
    config: Path | None = DEFAULTS["config"]
    token_window: int = DEFAULTS["token_window"]
    allow_never_expires: bool = DEFAULTS["allow_never_expires"]
    # --shard K/N: this run's part of the corpus (or of the fuzz stream)
    shard: shards.Shard | None = DEFAULTS["shard"]
    # the Docker settings: the engine (default DOCKER_HOST), each runner container's CPU limit and lifetime
    # (default: the backend's), declared runners' images built with no network
    docker_host: str | None = DEFAULTS["docker_host"]
    cpus: float | None = DEFAULTS["cpus"]
    container_lifetime: float | None = DEFAULTS["container_lifetime"]
    offline_build: bool = DEFAULTS["offline_build"]

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace, **fixed: Any) -> Options:
        """The options parsed (CLI or pytest; each value was checked by its parser's `type=`), with the checks
        that need several of them: UsageError names the option and the fix. `fixed`: values the command
        decides (images build: backend="docker"). An option a parser did not declare takes its default."""
        values = {k: fixed.get(k, getattr(ns, "appauth_" + k, getattr(ns, k, d))) for k, d in DEFAULTS.items()}
        arguments.raise_refused(values)  # pytest's parser keeps refused values for here: one message, exit 2
        backend = values["backend"]
        if values["matrix"] and backend != "docker":
            raise UsageError("--matrix: the version variants run in Docker; add --backend=docker")
        for k in DOCKER_ONLY:
            if values[k] != DEFAULTS[k] and backend != "docker":
                raise UsageError(f"--{k.replace('_', '-')}: a Docker setting; add --backend=docker or leave it out")
        values["runner"], values["divergences"] = list(values["runner"] or ()), list(values["divergences"] or ())
        values["require_all"] = bool(values["require_all"]) or in_ci()
        if values["report_dir"] is None:
            values["report_dir"] = default_report_dir(values["config"])
        if values["ca_bundle"] is not None:
            values["ca_bundle"] = str(values["ca_bundle"])
        return cls(**values)

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
        if self.timeout != DEFAULTS["timeout"]:
            out += ["--timeout", f"{self.timeout:g}"]
        return out


BACKENDS = ("local", "docker")
log = logging.getLogger(__name__)
DOCKER_HOST = re.compile(r"(tcp|ssh|unix|http|https)://\S+")


def _docker_host(flag: str, given: str) -> str:
    if not DOCKER_HOST.fullmatch(given.strip()):
        raise UsageError(
            f"{flag}: {given!r} is not an engine address; e.g. {flag}=tcp://10.0.0.5:2375, "
            "ssh://me@build-host or unix:///var/run/docker.sock"
        )
    return given.strip()


def _shard(flag: str, given: str) -> shards.Shard:
    return shards.parse(given, flag)


def _runner_flag(flag: str, given: str) -> str:
    parse_runner_flag(given)
    return given


def _divergences_flag(flag: str, given: str) -> str:
    parse_divergences_flag(given)
    return given


def _default(key: str) -> str:
    """A default as help texts state it."""
    v = DEFAULTS[key]
    return f"{v:g}" if isinstance(v, float) else str(v)


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
    """Declare the shared options on an argparse parser or a pytest option group: each default from DEFAULTS,
    each value checked as it is parsed (`type=`, formats/arguments.py: one message naming the option, exit 2,
    in both front doors; pytest's parser defers the message to the plugin, `arguments.typed(defer=True)`)."""
    p = "appauth_" if pytest_style else ""

    def opt(flag, check=None, *args, unit=None, **kw):
        dest = flag.lstrip("-").replace("-", "_")
        if check is not None:
            more = {"unit": unit} if unit else {}
            kw["type"] = arguments.typed(flag, check, *args, defer=pytest_style, **more)
        if kw.get("action") == "append":
            kw.setdefault("default", [])  # argparse appends to its default: a fresh list, never DEFAULTS' own
        elif kw.get("action") != "store_true":
            kw.setdefault("default", DEFAULTS[dest])
        else:
            kw["default"] = DEFAULTS[dest]
        add(flag, dest=p + dest, **kw)

    if SELECT in groups:
        opt(
            "--lang",
            arguments.text,
            # the plugin runs only when --lang is given: its default (None) means "not asked for"
            default=None if pytest_style else DEFAULTS["lang"],
            help="runners to run, a comma list of: all (the four reference runners and the declared ones), "
            "declared (only the declared ones), sdks (the vendor's SDKs, e.g. huawei-python-sdk; built from PyPI), "
            "runner names, or languages: a language (python, java, cpp, js, or any `language` a declared runner "
            "gives) selects the reference runner of that language and every declared runner of that language"
            + ("" if pytest_style else f" (default: {_default('lang')})"),
        )
        opt(
            "--runner",
            _runner_flag,
            action="append",
            metavar="NAME=COMMAND",
            help="declare a runner: NAME=COMMAND (COMMAND split like a shell would, never run by one); repeatable",
        )
        opt(
            "--divergences",
            _divergences_flag,
            action="append",
            metavar="NAME=PATH",
            help="the known-divergence file of runner NAME (`appauth-conformance docs gate`), e.g. for a runner given "
            "with --runner; "
            "repeatable",
        )
        opt(
            "--config",
            arguments.existing_file,
            metavar="FILE",
            help="a pyproject.toml or appauth-conformance.toml declaring runners (default: searched upwards)",
        )
    if BACKEND in groups:
        opt(
            "--backend",
            arguments.choice,
            BACKENDS,
            metavar="{local,docker}",
            help=f"where runners run (default: {_default('backend')})",
        )
        opt(
            "--require-all",
            action="store_true",
            help="an unavailable runner fails the run instead of being skipped (implied by CI=true)",
        )
        opt(
            "--timeout",
            arguments.number,
            0.01,
            3600,
            unit="seconds",
            metavar="SECONDS",
            help=f"seconds a runner may take to answer (default: {_default('timeout')})",
        )
    if DOCKER in groups:
        opt(
            "--matrix",
            action="store_true",
            help="Docker only: every version variant of each runner (its variant matrix), not just the default one",
        )
        opt(
            "--base-image",
            arguments.text,
            help="Docker base image (default: bootstrapped base, else debian:SUITE-slim)",
        )
        opt(
            "--docker-host",
            _docker_host,
            metavar="URL",
            help="with --backend=docker: the engine to use (tcp://HOST:PORT, ssh://USER@HOST, unix:///PATH; "
            "default: DOCKER_HOST, else the local socket), e.g. one engine per shard",
        )
        opt(
            "--ca-bundle",
            arguments.existing_file,
            metavar="FILE",
            help="CA bundle copied into Docker builds (default: SSL_CERT_FILE, PIP_CERT, ...)",
        )
        opt(
            "--cpus",
            arguments.number,
            0.01,
            1024,
            unit="cores",
            metavar="CORES",
            help="with --backend=docker: CPU limit of each runner container (default: 1, the Docker backend's)",
        )
        opt(
            "--container-lifetime",
            arguments.number,
            1,
            30 * 86400,
            unit="seconds",
            metavar="SECONDS",
            help="with --backend=docker: a runner container is killed after this long, even if the harness is gone "
            "(default: 21600, 6 h: the Docker backend's)",
        )
        opt(
            "--offline-build",
            action="store_true",
            help="with --backend=docker: build declared runners' images (`dockerfile`) with no network",
        )
    if CORPUS in groups:
        opt("--vectors", arguments.existing_path, help="a vector file or folder (default: the bundled corpus)")
    if REPORT in groups:
        opt(
            "--report-dir",
            arguments.output_dir,
            help="where results.json and the reports go (default: .appauth-conformance next to the pyproject.toml "
            "or appauth-conformance.toml that declares the runners, else in the current folder)",
        )
    if SHARD in groups:
        opt(
            "--shard",
            _shard,
            metavar="K/N",
            help="run shard K of N (1-based): a stable, balanced part of the vectors (of the fuzz stream, for fuzz); "
            "merge the N results with `appauth-conformance report merge`",
        )
    if TOKENS in groups:
        opt(
            "--token-window",
            arguments.integer,
            1,
            10 * 366 * 86400,
            metavar="SECONDS",
            help=f"tokens: how far ahead an expire_time may lie (default {_default('token_window')}, a day)",
        )
        opt(
            "--allow-never-expires",
            action="store_true",
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


def select_runners(opts: Options) -> list[RunnerSpec]:
    specs = list(BUILTINS)
    if opts.backend == "docker":
        specs = variants.all_variants() if opts.matrix else variants.default_variants()
    registry = Registry(specs)
    config = opts.config or find_config()
    if config is not None:
        for s in declared_runners(Path(config)):
            registry.add(s)
    for text in opts.runner:
        registry.add(parse_runner_flag(text))
    for text in opts.divergences:
        name, path = parse_divergences_flag(text)
        if name not in registry.specs:
            raise UsageError(f"--divergences {text!r}: no runner is named {name!r}; known: {', '.join(registry.specs)}")
        registry.replace(dataclasses.replace(registry.specs[name], divergences=path))
    chosen = registry.select(opts.lang or "all")
    log.debug(
        "config %s; --lang %s selects %s", config, opts.lang or "all", ", ".join(x.name for x in chosen) or "none"
    )
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

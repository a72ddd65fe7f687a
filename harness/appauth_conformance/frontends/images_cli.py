"""The `images` command: Docker base images (`bootstrap`) and runner images (`build`)."""

from __future__ import annotations

import re

from appauth_conformance.core.errors import Exit, UsageError
from appauth_conformance.execution import options as cfg
from appauth_conformance.formats import arguments


def _suite(flag: str, given: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]*", given):  # a Debian suite or codename
        raise UsageError(f"{flag}: {given!r} is not a Debian suite name; e.g. {flag} bookworm")
    return given


def _mirror(flag: str, given: str) -> str:
    if not re.match(r"(https?|file)://\S+$", given):
        raise UsageError(f"{flag}: {given!r} is not a URL; e.g. {flag} http://deb.debian.org/debian")
    return given


def cmd_images(a) -> int:
    from appauth_conformance.execution.backends.docker import images

    if a.action == "bootstrap":
        for suite in a.suite:
            print(images.bootstrap(suite, mirror=a.mirror, force=a.force))
        return Exit.OK
    opts = cfg.Options.from_namespace(a, backend="docker")
    for tag in images.build(cfg.select_runners(opts), cfg.make_backend(opts)):
        print(tag)
    return Exit.OK


def add_parser(sub) -> None:
    img = sub.add_parser("images", help="Docker base images and runner images")
    isub = img.add_subparsers(dest="action", required=True)
    b = isub.add_parser("bootstrap", help="build a base image with debootstrap (no registry needed)")
    b.add_argument(
        "--suite",
        action="append",
        required=True,
        type=arguments.typed("--suite", _suite),
        help="Debian suite, e.g. bookworm (repeatable)",
    )
    b.add_argument(
        "--mirror",
        type=arguments.typed("--mirror", _mirror),
        help="the Debian mirror URL (default: the one this machine's apt uses, else deb.debian.org)",
    )
    b.add_argument("--force", action="store_true", help="rebuild the base image even when it exists")
    bl = isub.add_parser(
        "build",
        help="build the runner images",
        description="Build (or reuse, when the sources are unchanged) the Docker image of every selected runner "
        "and print its tag: the reference runners from their packaged sources, your declared runners from their "
        "`image` or `dockerfile` (a runner given only a command, e.g. with --runner, cannot be built). "
        "`run --backend=docker` builds the same images on demand; building first makes the run itself quick.",
        epilog="Exit codes: 0 built; 2 a set-up error (no Docker engine, a runner without image or dockerfile, "
        "a failed build). `appauth-conformance docs docker` has the details.",
    )
    cfg.add_options(bl.add_argument, groups=(cfg.SELECT, cfg.DOCKER))
    img.set_defaults(func=cmd_images)

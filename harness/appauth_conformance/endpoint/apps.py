"""The apps the endpoint knows: app ID, key and tenancy, from `--app`/`--sp-app` or a pyproject table.

The pyproject form keeps keys out of the file: each app names the environment variable holding its key.
A container (the suite's image as a CI service container, which takes no command line in GitHub Actions)
declares one app in the environment: APPAUTH_APP_ID, APPAUTH_APP_KEY and optionally APPAUTH_APP_TENANCY.

    [tool.appauth-conformance.endpoint]
    apps = [
      { id = "my-app", key-env = "MY_APP_KEY" },                    # single-tenant
      { id = "my-sp-app", key-env = "MY_SP_KEY", tenancy = "sp" },  # service provider (multi-tenant)
    ]
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from appauth_conformance.core.errors import UsageError
from appauth_conformance.core.model import RunnerSpec

TENANCIES = ("single", "sp")


@dataclass(frozen=True)
class App:
    app_id: str
    key: str = field(repr=False)  # never printed: repr leaves it out
    tenancy: str = "single"

    def mode(self, corp_id: str, user_id: str) -> str:
        """The signing mode a request of this app is in, from the ids its body carries."""
        if self.tenancy == "single":
            return "single"
        if corp_id and user_id:
            return "sp_user"
        return "sp_corp_admin" if corp_id else "sp_admin"


def parse_pair(option: str, text: str, tenancy: str) -> App:
    app_id, sep, key = text.partition("=")
    if not sep or not app_id or not key:
        raise UsageError(f"{option} {app_id or text[:40]!r}...: expected APP_ID=KEY (both non-empty)")
    return App(app_id, key, tenancy)


def from_pyproject(path: Path, environ: dict[str, str] | None = None) -> list[App]:
    """The apps of `[tool.appauth-conformance.endpoint]` in a pyproject.toml (none when it has no such table)."""
    env = os.environ if environ is None else environ
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{path}: cannot read the endpoint's apps: {e}") from None
    own = path.name != "pyproject.toml"  # appauth-conformance.toml: [endpoint]
    table = doc.get("endpoint") if own else doc.get("tool", {}).get("appauth-conformance", {}).get("endpoint")
    label = _label(path)
    if table is None:
        return []
    entries = table.get("apps") if isinstance(table, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{path}: {label} needs `apps = [{{ id = ..., key-env = ... }}]`")
    apps = []
    for i, entry in enumerate(entries):
        where = f"{path}: {label} apps[{i}]"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), str)
            or not isinstance(entry.get("key-env"), str)
        ):
            raise UsageError(f"{where}: needs `id` and `key-env` (the name of the variable holding the key)")
        tenancy = entry.get("tenancy", "single")
        if tenancy not in TENANCIES:
            raise UsageError(f"{where}: tenancy {tenancy!r} is not one of {', '.join(TENANCIES)}")
        key = env.get(entry["key-env"], "")
        if not key:
            raise UsageError(f"{where}: environment variable {entry['key-env']} is not set (it holds the app's key)")
        apps.append(App(entry["id"], key, tenancy))
    return apps


def _label(path: Path) -> str:
    return "[endpoint]" if path.name != "pyproject.toml" else "[tool.appauth-conformance.endpoint]"


ENV_ID, ENV_KEY, ENV_TENANCY = "APPAUTH_APP_ID", "APPAUTH_APP_KEY", "APPAUTH_APP_TENANCY"


def from_environment(environ: dict[str, str] | None = None) -> list[App]:
    """The app of APPAUTH_APP_ID / APPAUTH_APP_KEY / APPAUTH_APP_TENANCY (none when APPAUTH_APP_ID is unset)."""
    env = os.environ if environ is None else environ
    app_id, key, tenancy = env.get(ENV_ID, ""), env.get(ENV_KEY, ""), env.get(ENV_TENANCY, "") or "single"
    if not app_id:
        if key:
            raise UsageError(f"{ENV_KEY} is set but {ENV_ID} is not: set both (the app's ID and its key)")
        return []
    if not key:
        raise UsageError(f"{ENV_ID}={app_id[:40]!r} is set but {ENV_KEY} is not: set it to the app's key")
    if tenancy not in TENANCIES:
        raise UsageError(f"{ENV_TENANCY}={tenancy[:20]!r} is not one of {', '.join(TENANCIES)}")
    return [App(app_id, key, tenancy)]


def collect(single: list[str], sp: list[str], pyproject: Path | None, none: str | None = None) -> dict[str, App]:
    """Every app declared, each once; none is a UsageError (`none`: its message, else serve's)."""
    apps = [parse_pair("--app", s, "single") for s in single] + [parse_pair("--sp-app", s, "sp") for s in sp]
    apps += from_environment()
    if pyproject is not None and pyproject.is_file():
        apps += from_pyproject(pyproject)
    out: dict[str, App] = {}
    for a in apps:
        if a.app_id in out:
            raise UsageError(f"app {a.app_id!r} is declared twice: keep one declaration")
        out[a.app_id] = a
    if not out:
        raise UsageError(
            none
            or "no app declared: give --app APP_ID=KEY (single-tenant) or --sp-app APP_ID=KEY, "
            "or [tool.appauth-conformance.endpoint] in pyproject.toml, "
            f"or {ENV_ID} and {ENV_KEY} in the environment (`appauth-conformance docs endpoint`)"
        )
    return out


def for_client(spec: RunnerSpec) -> dict[str, App]:
    """The apps a declared endpoint client signs for: its config file's endpoint table and the environment's
    app (as `serve` reads them); none is bad input naming the client's table and the fix."""
    assert spec.client_of is not None  # only endpoint clients have a config file of their own here
    path = spec.client_of
    prefix = "runners" if path.name != "pyproject.toml" else "tool.appauth-conformance.runners"
    return collect(
        [],
        [],
        path,
        none=f"{path}: [{prefix}.{spec.name}] is an endpoint client, but no app is declared for it to sign for: add "
        f'{_label(path)} with `apps = [{{ id = "my-app", key-env = "MY_APP_KEY" }}]` to {path.name} (the key in '
        f"that environment variable), or set {ENV_ID} and {ENV_KEY} (`appauth-conformance docs endpoint`)",
    )

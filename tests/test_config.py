"""Runner declarations and toolchain checks: the places users configure the suite."""

import sys

import pytest

from appauth_conformance.core.errors import RunnerUnavailable, UsageError
from appauth_conformance.core.model import RunnerSpec, Tool
from appauth_conformance.execution import declared
from appauth_conformance.execution import options as cfg
from appauth_conformance.execution.backends.local import LocalBackend


def test_missing_tool_names_it_and_its_debian_package():
    spec = RunnerSpec(name="needs-tool", language="x", command=("x",), tools=(Tool("no-such-compiler-xyz", "xyz-dev"),))
    with pytest.raises(
        RunnerUnavailable, match=r"`no-such-compiler-xyz` is not on PATH; install it with `apt-get install xyz-dev`"
    ):
        LocalBackend().prepare(spec)


def test_missing_header_names_its_debian_package():
    spec = RunnerSpec(
        name="needs-header",
        language="cpp",
        command=("x",),
        tools=(Tool("g++", "libnothing-dev", header="no/such/header.h"),),
    )
    with pytest.raises(
        RunnerUnavailable, match=r"<no/such/header.h> is missing; install it with `apt-get install libnothing-dev`"
    ):
        LocalBackend().prepare(spec)


def test_own_toml_file_declares_runners(tmp_path, monkeypatch):
    (tmp_path / "signer").mkdir()
    (tmp_path / "appauth-conformance.toml").write_text(
        f"""
[runners.mine]
command = [{sys.executable!r}, "signer.py"]
workdir = "signer"
env = {{ MODE = "strict" }}
build = ["true"]
""".replace("'", '"')
    )
    sub = tmp_path / "signer"
    monkeypatch.chdir(sub)  # found by searching upwards
    found = declared.find_config()
    assert found == tmp_path / "appauth-conformance.toml"
    (spec,) = declared.declared_runners(found)
    assert spec.name == "mine" and spec.command[1] == "signer.py" and spec.workdir == sub.resolve()
    assert spec.env == {"MODE": "strict"} and spec.build == (("true",),)
    assert spec.divergences == sub.resolve() / "known-divergences.yaml"
    selected = cfg.select_runners(cfg.Options(lang="mine"))
    assert [s.name for s in selected] == ["mine"]


def test_runner_flag_is_an_argv_never_a_shell_string():
    spec = cfg.parse_runner_flag("x=node 'my signer.js' --flag=a;b")
    assert spec.command == ("node", "my signer.js", "--flag=a;b")
    with pytest.raises(UsageError):
        cfg.parse_runner_flag("no-equals-sign")


def test_declared_runner_names_are_unique(tmp_path):
    p = tmp_path / "appauth-conformance.toml"
    p.write_text('[runners.dup]\ncommand = ["a"]\n')
    with pytest.raises(UsageError, match="declared twice"):
        cfg.select_runners(cfg.Options(lang="all", config=p, runner=["dup=b"]))


# -- Docker settings of declared runners: `image`, or `dockerfile` with an optional `context` ----------


def _declare(tmp_path, body: str):
    p = tmp_path / "appauth-conformance.toml"
    p.write_text(body)
    return p


def test_declared_docker_runners(tmp_path):
    (tmp_path / "signer").mkdir()
    (tmp_path / "signer" / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (tmp_path / "ctx").mkdir()
    p = _declare(
        tmp_path,
        """
[runners.from-image]
image = "team/signer:1.2"

[runners.built]
dockerfile = "signer/Dockerfile"
command = ["node", "signer.js"]

[runners.built-elsewhere]
dockerfile = "signer/Dockerfile"
context = "ctx"
""",
    )
    specs = {s.name: s for s in declared.declared_runners(p)}
    assert specs["from-image"].docker == {"image": "team/signer:1.2"}
    assert specs["from-image"].command == ()  # no command: the image's own entrypoint runs
    dockerfile = str((tmp_path / "signer" / "Dockerfile").resolve())
    assert specs["built"].docker == {"dockerfile": dockerfile, "context": str((tmp_path / "signer").resolve())}
    assert specs["built"].command == ("node", "signer.js")
    assert specs["built-elsewhere"].docker == {"dockerfile": dockerfile, "context": str((tmp_path / "ctx").resolve())}
    assert specs["built-elsewhere"].command == ()
    # with the Docker backend they run; the local one has no command to start for two of them
    chosen = cfg.select_runners(cfg.Options(lang="declared", backend="docker", config=p))
    assert [s.name for s in chosen] == ["from-image", "built", "built-elsewhere"]
    assert [s.name for s in cfg.select_runners(cfg.Options(lang="built", config=p))] == ["built"]
    with pytest.raises(UsageError, match=r"'from-image' has no `command`.*--backend=docker"):
        cfg.select_runners(cfg.Options(lang="declared", config=p))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('image = "a"\ndockerfile = "Dockerfile"', "give a Docker `image` or a `dockerfile` to build one, not both"),
        ('image = ""', "`image` must be a non-empty string"),
        ("image = 3", "`image` must be a non-empty string"),
        ('image = "a"\ncontext = "."', "`context` is the build context of a `dockerfile`"),
        ('dockerfile = "no/such/Dockerfile"', r"`dockerfile` .*no/such/Dockerfile does not exist"),
        ('dockerfile = "Dockerfile"\ncontext = "missing"', r"the build `context` .*missing is not a folder"),
        ('workdir = "."', r"`command` must .*; it may be left out only with a Docker `image` or `dockerfile`"),
        ('image = "a"\ncommand = []', "`command` must be a non-empty list of strings"),
    ],
)
def test_declared_docker_settings_are_checked(tmp_path, body, message):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    p = _declare(tmp_path, f"[runners.mine]\n{body}\n")
    with pytest.raises(UsageError, match=r"appauth-conformance.toml: \[runners.mine\]: " + message):
        declared.declared_runners(p)


def test_reports_go_next_to_the_config_from_any_subfolder(tmp_path, monkeypatch):
    """Without --report-dir, results and reports land in .appauth-conformance/ beside the pyproject that
    declares the runners, not in the subfolder the command ran from (issue 21); without a config, in the
    current folder; an explicit --report-dir stays as typed."""
    import argparse

    (tmp_path / "pyproject.toml").write_text('[tool.appauth-conformance.runners.mine]\ncommand = ["x"]\n')
    sub = tmp_path / "services" / "api"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    opts = cfg.Options.from_namespace(argparse.Namespace())
    assert opts.report_dir.resolve() == (tmp_path / ".appauth-conformance").resolve()
    parser = argparse.ArgumentParser()
    cfg.add_options(parser.add_argument)
    given = cfg.Options.from_namespace(parser.parse_args(["--report-dir", "out"]))
    assert given.report_dir.resolve() == (sub / "out").resolve()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-no-config"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert (
        cfg.Options.from_namespace(argparse.Namespace()).report_dir.resolve()
        == (elsewhere / ".appauth-conformance").resolve()
    )

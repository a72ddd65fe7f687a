"""Runner declarations and toolchain checks: the places users configure the suite."""

import sys

import pytest

from appauth_conformance import config as cfg
from appauth_conformance.backends.local import LocalBackend
from appauth_conformance.errors import RunnerUnavailable, UsageError
from appauth_conformance.model import RunnerSpec, Tool


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
    found = cfg.find_config()
    assert found == tmp_path / "appauth-conformance.toml"
    (spec,) = cfg.declared_runners(found)
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

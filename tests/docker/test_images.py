"""Images: built FROM the bootstrapped bases, cached by content, rebuilt only when a runner changes."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from appauth_conformance.core.errors import RunnerUnavailable
from appauth_conformance.execution import variants
from appauth_conformance.execution.backends.docker import DockerBackend, bootstrap, client
from appauth_conformance.execution.session import Session

pytestmark = pytest.mark.docker


def test_base_images_are_bootstrapped(bases):
    api = client().api
    for suite, tag in bases.items():
        info = api.inspect_image(tag)
        assert info["Config"]["Labels"]["appauth-conformance.base"] == suite
        # bootstrap() is idempotent: an existing base is kept, and says so
        said = []
        assert bootstrap(suite, progress=said.append) == tag
        assert any("skipping" in s for s in said)
        assert api.inspect_image(tag)["Id"] == info["Id"]


def test_default_images_build_from_the_bootstrapped_base(backend, built, bases):
    api = client().api
    base = api.inspect_image(bases["bookworm"])
    for name, (spec, tag) in built.items():
        assert tag.startswith(f"appauth-conformance/{name}:")
        dockerfile, _files, ctx_tag, base_tag = backend.context(spec)
        assert ctx_tag == tag and base_tag == bases["bookworm"]
        assert dockerfile.count(f"FROM {bases['bookworm']}") >= 1
        layers = api.inspect_image(tag)["RootFS"]["Layers"]
        assert layers[: len(base["RootFS"]["Layers"])] == base["RootFS"]["Layers"], (
            f"{name} is not built on {bases['bookworm']}"
        )
        info = api.inspect_image(tag)
        assert info["Config"]["User"] == "1000:1000"
        assert info["Config"]["Labels"]["appauth-conformance"] == "1"


def test_templates_render_the_pins(backend, bases, tmp_path):
    v = {s.name: s for s in variants.all_variants()}
    js4 = backend.context(v["js-cryptojs-4.2.0"])[0]
    assert "crypto-js@4.2.0" in js4 and "npm ci" not in js4
    js3 = backend.context(v["js-reference"])[0]
    assert "npm ci --no-audit --no-fund --loglevel=error" in js3 and '"3.1.9-1"' in js3
    cpp = backend.context(v["cpp-reference"])[0]
    assert "g++ -O2 -std=c++17 -Wall -o runner runner.cpp -lcrypto" in cpp and "libssl-dev" in cpp
    assert "openjdk-21-jdk-headless" in backend.context(v["java-jdk21"])[0]
    sdk = backend.context(v["huawei-python-sdk"])[0]
    assert "venv/bin/python -m pip install" in sdk and "-r requirements.txt" in sdk and "printf" not in sdk
    old = backend.context(v["huawei-python-sdk-3.1.167"])[0]
    assert "huaweicloudsdkmeeting==%s" in old and "3.1.167" in old
    for df in (js4, js3, cpp, sdk, old):
        assert "--no-install-recommends" in df and "rm -rf /var/lib/apt/lists/*" in df
    # the corporate-proxy recipe only when there is a bundle
    pem = tmp_path / "corp-ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")  # rendering only
    with_ca = DockerBackend(ca_bundle=str(pem))
    without = DockerBackend(ca_bundle="")
    assert "update-ca-certificates" in with_ca.context(v["js-reference"])[0]
    assert "NODE_EXTRA_CA_CERTS" in with_ca.context(v["js-reference"])[0]
    plain = without.context(v["js-reference"])[0]
    assert "update-ca-certificates" not in plain and "appauth-ca.crt" not in plain
    assert without.context(v["js-reference"])[2] != with_ca.context(v["js-reference"])[2]


@pytest.mark.docker_no_engine
def test_variant_names_and_families():
    defaults = variants.default_variants()
    assert [s.name for s in defaults] == [
        "python-reference",
        "java-reference",
        "cpp-reference",
        "js-reference",
        "huawei-python-sdk",
    ]
    names = [s.name for s in variants.all_variants()]
    assert len(names) == len(set(names)) >= 10
    for want in (
        "cpp-openssl-1.1.1",
        "cpp-openssl-trixie",
        "js-cryptojs-4.2.0",
        "java-jdk21",
        "python-bullseye",
        "python-trixie",
        "huawei-python-sdk-3.1.167",
    ):
        assert want in names
    for alias, name in (
        ("cpp-openssl-3.0", "cpp-reference"),
        ("java-jdk17", "java-reference"),
        ("js-cryptojs-3.1.9-1", "js-reference"),
        ("python-bookworm", "python-reference"),
    ):
        assert variants.variant(alias).name == name
    for s in variants.all_variants():
        assert s.family == ("huawei-python-sdk" if s.group == "vendor-sdk" else f"{s.language}-reference")
        assert s.divergences is not None and s.divergences.name == "known-divergences.yaml"
        assert s.docker["suite"] in ("bullseye", "bookworm", "trixie")


def test_second_prepare_builds_nothing(built, monkeypatch):
    b = DockerBackend()
    calls = []
    monkeypatch.setattr(b.api, "build", lambda *a, **k: calls.append(k) or iter(()))
    for _name, (spec, tag) in built.items():
        assert b.prepare(spec)["image"] == tag
    assert calls == [] and b.builds == 0


def test_changing_one_runner_rebuilds_only_its_image(built, tmp_path):
    b = DockerBackend()
    ref, ref_tag = built["python-reference"]
    src = tmp_path / "python"
    shutil.copytree(ref.source, src, ignore=shutil.ignore_patterns("__pycache__"))
    copy = dataclasses.replace(ref, source=src)
    assert b.context(copy)[2] == ref_tag  # same content, same tag
    runner = src / "runner.py"
    runner.write_text(
        runner.read_text() + "\n# a comment changed by test_changing_one_runner_rebuilds_only_its_image\n"
    )
    new_tag = b.context(copy)[2]
    assert new_tag != ref_tag
    for name, (spec, tag) in built.items():
        assert b.context(spec)[2] == tag, f"{name}'s tag changed although only the python runner did"
    api = client().api
    try:
        assert b.prepare(copy)["image"] == new_tag
        assert b.builds == 1
        for spec, _tag in built.values():
            b.prepare(spec)
        assert b.builds == 1  # nothing else was rebuilt
    finally:
        b.close()
        try:
            api.remove_image(new_tag, force=True)
        except Exception:
            pass


def test_a_failing_build_names_the_step_and_its_log(bases, tmp_path):
    src = tmp_path / "cpp"
    shutil.copytree(variants.variant("cpp-reference").source, src)
    (src / "runner.cpp").write_text("#include <openssl/hmac.h>\nint main() { this is not C++; }\n")
    spec = dataclasses.replace(variants.variant("cpp-reference"), name="cpp-broken-test", source=src)
    said = []
    b = DockerBackend(progress=said.append)
    with pytest.raises(RunnerUnavailable) as e:
        b.prepare(spec)
    msg = str(e.value)
    assert "cpp-broken-test" in msg and "failed at Step" in msg and "g++" in msg
    assert "error" in msg.lower() and "runner.cpp" in msg  # the compiler's words, from the step's log
    assert any(s.startswith("[cpp-broken-test] Step ") for s in said)


def test_declared_dockerfile_and_image_runners(built, declare, tmp_path):
    """Runners declared with `dockerfile` or `image` in the config file: built (cached) or found, and run."""
    _, py_tag = built["python-reference"]
    ctx = tmp_path / "mine"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {py_tag}\n")
    spec = declare("mine", language="python", command=["python3", "runner.py"], dockerfile=ctx / "Dockerfile")
    b = DockerBackend()
    tags = []
    try:
        tag = b.prepare(spec)["image"]
        tags.append(tag)
        assert tag.startswith("appauth-conformance/mine:")
        assert b.prepare(spec)["image"] == tag and b.builds == 1
        # the declared command, under the container's lifetime (docs/docker.md, "Cleanup guarantees")
        assert b.container_options(tag, spec)["entrypoint"] == [
            *["timeout", "-s", "KILL", f"{b.lifetime:g}"],
            *["python3", "runner.py"],
        ]
        with Session(spec, b) as s:
            assert s.start()["language"] == "python"
        img = declare("img", image=py_tag)
        assert b.prepare(img)["image"] == py_tag
        with Session(img, b) as s:
            assert s.start()["name"] == "python-reference"
        missing = declare("nope", image="appauth-conformance/none:0")
        with pytest.raises(RunnerUnavailable, match="not in the local engine"):
            b.prepare(missing)
    finally:
        b.close()
        for t in tags:
            client().api.remove_image(t, force=True)


def test_declared_dockerfile_without_a_command_runs_the_image_entrypoint(built, declare, tmp_path):
    """docs/docker.md: with `dockerfile`, `command` is optional; without it the image's own ENTRYPOINT runs."""
    _, py_tag = built["python-reference"]
    ctx = tmp_path / "own-entrypoint"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {py_tag}\nLABEL purpose=own-entrypoint-test\n")
    spec = declare("own-entrypoint", dockerfile=ctx / "Dockerfile")
    assert spec.command == () and spec.docker == {"dockerfile": str(ctx / "Dockerfile"), "context": str(ctx)}
    b = DockerBackend()
    tag = None
    try:
        tag = b.prepare(spec)["image"]
        opts = b.container_options(tag, spec)
        own = client().api.inspect_image(tag)["Config"]
        # the image's own ENTRYPOINT + CMD, run under the container's lifetime
        assert opts["entrypoint"] == [
            "timeout",
            "-s",
            "KILL",
            f"{b.lifetime:g}",
            *own["Entrypoint"],
            *(own["Cmd"] or []),
        ]
        assert opts["command"] == []
        with Session(spec, b) as s:
            # python-reference's runner, started by the ENTRYPOINT the image inherits
            assert s.start()["name"] == "python-reference"
    finally:
        b.close()
        if tag:
            client().api.remove_image(tag, force=True)


def test_a_declared_dockerfile_gets_the_base_image_as_a_build_argument(built, declare, tmp_path):
    """docs/docker.md: a Dockerfile used as written may say `ARG BASE_IMAGE` and `FROM ${BASE_IMAGE}`."""
    _, py_tag = built["python-reference"]
    ctx = tmp_path / "base-arg"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nLABEL purpose=base-arg-test\n")
    spec = declare("base-arg", dockerfile=ctx / "Dockerfile")
    b = DockerBackend(base_image=py_tag, progress=None)
    tag = None
    try:
        dockerfile, _files, tag, base = b.context(spec)
        assert base == py_tag and dockerfile.startswith("ARG BASE_IMAGE")  # used as written
        assert b.prepare(spec)["image"] == tag
        with Session(spec, b) as s:
            assert s.start()["name"] == "python-reference"  # built FROM the base given
    finally:
        b.close()
        if tag:
            client().api.remove_image(tag, force=True)

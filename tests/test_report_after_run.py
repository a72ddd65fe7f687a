"""A run's reports: rendered from the document just written (not read back) with the same bytes as from
the file, and with the templates' compiled code kept in the cache folder, which never fails a report."""

from __future__ import annotations

from pathlib import Path

import pytest

from appauth_conformance import report
from appauth_conformance.core.model import RunnerSpec
from appauth_conformance.corpus import vectors
from appauth_conformance.execution.backends.local import LocalBackend
from appauth_conformance.execution.pipeline import Engine
from appauth_conformance.formats.results import Recorder

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAULT = FIXTURES / "runners" / "fault_runner.py"
CORPUS = vectors.load(FIXTURES / "vectors" / "small.yaml")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Recorder:
    """A real run over the small corpus: one runner signs wrongly where the user id says `boom`."""
    recorder = Recorder(tmp_path_factory.mktemp("run") / "results.json", CORPUS, backend="local")
    specs = [
        RunnerSpec(name="good", language="python", command=("{python}", str(FAULT), "ok")),
        RunnerSpec(name="wrong", language="python", command=("{python}", str(FAULT), "wrong-signature", "boom")),
    ]
    with Engine(specs, LocalBackend(), recorder) as engine:
        engine.ensure(CORPUS.vectors, meanwhile=recorder.prime)
    recorder.write(complete=True)
    return recorder


@pytest.fixture
def fresh_templates(tmp_path, monkeypatch):
    """report.environment() made again, its template cache under `tmp_path/cache` (and made again after)."""
    monkeypatch.setenv("APPAUTH_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    report.environment.cache_clear()
    yield tmp_path / "cache" / "templates"
    report.environment.cache_clear()


def _reports(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("report.md", "report.html")}


def test_the_document_in_memory_renders_the_same_reports_as_the_file(written, tmp_path):
    assert written.written is not None and any(o["verdict"] == "fail" for o in written.written["outcomes"])
    from_file = report.write_reports_after_run(written.path)
    assert from_file.ok, from_file.line
    by_file = _reports(written.path.parent)
    in_memory = report.write_reports_after_run(written.path, written.written)
    assert in_memory.ok and in_memory.line == from_file.line
    assert _reports(written.path.parent) == by_file


def test_a_document_in_memory_is_still_validated(written):
    broken = {**written.written, "outcomes": [{"vector": "nope"}]}
    after = report.write_reports_after_run(written.path, broken)  # type: ignore[arg-type]
    assert not after.ok and "could NOT be written" in after.line and "does not match" in after.line


def test_compiled_templates_are_kept_and_used(written, fresh_templates, tmp_path):
    md, html = report.render_markdown(written.written), report.render_html(written.written)
    kept = sorted(fresh_templates.rglob("*.cache"))
    assert len(kept) == 2  # report.md.j2 and report.html.j2
    report.environment.cache_clear()
    for entry in kept:  # a damaged entry is compiled again (and replaced)
        entry.write_bytes(b"damaged")
    assert (report.render_markdown(written.written), report.render_html(written.written)) == (md, html)
    assert all(entry.read_bytes() != b"damaged" for entry in kept)


def test_a_cache_folder_that_cannot_be_written_never_fails_a_report(written, tmp_path, monkeypatch):
    expected = (report.render_markdown(written.written), report.render_html(written.written))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("APPAUTH_CONFORMANCE_CACHE", str(blocker / "cache"))
    report.environment.cache_clear()
    try:
        assert (report.render_markdown(written.written), report.render_html(written.written)) == expected
    finally:
        report.environment.cache_clear()

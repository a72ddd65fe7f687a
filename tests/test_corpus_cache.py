"""The bundled corpus kept loaded in the cache folder (corpus/cache.py): used only when its key matches,
never a reason for a load to fail, and never for another corpus."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from appauth_conformance.corpus import cache, vectors

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("APPAUTH_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "corpus"


def _values(x):
    """A value with its dataclasses as tuples of their fields (a Vector compares by identity)."""
    if dataclasses.is_dataclass(x):
        return (type(x).__name__, *(_values(getattr(x, f.name)) for f in dataclasses.fields(x)))
    if isinstance(x, list | tuple):
        return [_values(y) for y in x]
    if isinstance(x, dict):
        return {k: _values(v) for k, v in x.items()}
    return x


def _same(a, b):
    assert _values(a) == _values(b)
    assert a.digest == b.digest


def test_the_second_load_is_the_kept_one_and_equal(cache_dir, monkeypatch):
    first = vectors.load(keep=True)
    [entry] = cache_dir.glob("*.pickle")
    monkeypatch.setattr(vectors, "load_file", lambda *a, **k: pytest.fail("the YAML was read again"))
    _same(vectors.load(keep=True), first)
    assert "digest" in vectors.load(keep=True).__dict__  # kept computed: a run does not hash the corpus again
    assert entry.exists()


@pytest.mark.parametrize("damage", ["empty", "another key", "the right key, then no pickle"])
def test_a_damaged_entry_means_loading_the_yaml_again(cache_dir, damage):
    first = vectors.load(keep=True)
    [entry] = cache_dir.glob("*.pickle")
    good = entry.read_bytes()
    entry.write_bytes(
        {"empty": b"", "another key": bytes(32) + good[32:], "the right key, then no pickle": good[:32] + b"x"}[damage]
    )
    _same(vectors.load(keep=True), first)
    assert entry.read_bytes() == good  # written again


def test_a_cache_folder_that_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("APPAUTH_CONFORMANCE_CACHE", str(blocker / "cache"))
    _same(vectors.load(keep=True), vectors.load(keep=True))


def test_another_corpus_is_never_kept(cache_dir):
    vectors.load(FIXTURES / "vectors" / "small.yaml", keep=True)
    assert not cache_dir.exists() or not list(cache_dir.glob("*.pickle"))


def test_only_a_load_that_asks_writes_the_cache_folder(cache_dir):
    vectors.load()  # collecting tests loads the corpus: it writes nothing (tests/test_plugin_collect.py)
    assert not cache_dir.parent.exists()
    kept = vectors.load(keep=True)
    assert len(list(cache_dir.glob("*.pickle"))) == 1
    _same(vectors.load(), kept)  # and any load reads it


def test_the_key_follows_the_files_names_and_bytes(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"one")
    slot, key = cache.key(vectors.__file__, [("vectors/a.yaml", f)])
    assert cache.key(vectors.__file__, [("vectors/a.yaml", f)]) == (slot, key)
    assert cache.key(vectors.__file__, [("vectors/b.yaml", f)])[1] != key  # a name is part of what is loaded
    f.write_bytes(b"two")
    assert cache.key(vectors.__file__, [("vectors/a.yaml", f)]) == (
        slot,
        cache.key(vectors.__file__, [("vectors/a.yaml", f)])[1],
    )
    assert cache.key(vectors.__file__, [("vectors/a.yaml", f)])[1] != key
    assert cache.get(slot, key) is None  # nothing kept there yet

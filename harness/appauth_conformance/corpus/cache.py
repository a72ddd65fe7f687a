"""The bundled corpus as loaded and checked, kept in the suite's cache folder between runs.

Loading the bundled corpus (YAML, the schema check, the oracle's check of every expected value) and its
digest took ~0.15 s of every run; the kept copy (a pickle) loads in ~0.01 s. It is used only when its
key matches: the names and bytes of every corpus file, the bytes of the code and schema that load them,
the suite's, Python's and PyYAML's versions. Anything wrong with the cache (a damaged or foreign file, a
folder that cannot be written) only means loading the YAML again. The folder is trusted as the runner
builds kept beside it are: a run starts the binaries it holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

from appauth_conformance import __version__
from appauth_conformance.core import model, scheme, text
from appauth_conformance.core.model import Corpus
from appauth_conformance.formats import resources, schemas, yamlfile
from appauth_conformance.formats.files import write_atomic

FORMAT = b"appauth-conformance loaded corpus 1"
KEPT = 4  # entries kept (one per build of the suite that loads corpora differently: several venvs share the folder)


def _digest(parts: Iterable[bytes]) -> bytes:
    h = hashlib.sha256(FORMAT)
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))  # length-prefixed: no two lists of parts hash alike
        h.update(p)
    return h.digest()


def _code(loader: str) -> bytes:
    """The identity of what turns corpus files into a Corpus: versions, and the bytes of the modules and
    the schema involved (a developer's edit changes it even when the version does not)."""
    files = [Path(loader), *(Path(str(m.__file__)) for m in (model, scheme, text, yamlfile)), schemas.path("vectors")]
    versions = repr((__version__, sys.version_info[:2], yaml.__version__)).encode()
    return _digest([versions, *(f.read_bytes() for f in files)])


def _slot(code: bytes) -> Path:
    return resources.cache_root() / "corpus" / f"{code.hex()[:16]}.pickle"


def key(loader: str, files: Iterable[tuple[str, Path]]) -> tuple[Path, bytes]:
    """(where the entry lives, the key it must have) for corpus files given as (name shown, path)."""
    code = _code(loader)
    parts = [code]
    for name, path in files:
        parts += [name.encode("utf-8", "surrogatepass"), path.read_bytes()]
    return _slot(code), _digest(parts)


def get(slot: Path, want: bytes) -> Corpus | None:
    """The kept corpus, if its key is `want`; None otherwise (or if the entry cannot be read)."""
    try:
        with open(slot, "rb") as f:
            if f.read(len(want)) != want:
                return None
            corpus = pickle.load(f)
    except Exception:  # absent, damaged or from another layout: loaded from the YAML again
        return None
    return corpus if isinstance(corpus, Corpus) else None


def put(slot: Path, want: bytes, corpus: Corpus) -> None:
    """Keep a corpus that passed every check, its digest computed; drop the oldest other entries."""
    corpus.digest  # noqa: B018 - a cached property: kept with the corpus
    try:
        write_atomic(slot, want + pickle.dumps(corpus, protocol=pickle.HIGHEST_PROTOCOL))
        others = sorted(
            (p for p in slot.parent.glob("*.pickle") if p != slot), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in others[KEPT - 1 :]:
            with contextlib.suppress(OSError):
                old.unlink()
    except OSError:  # a read-only or full cache folder: the next run loads the YAML again
        pass

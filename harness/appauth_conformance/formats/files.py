"""The one way the suite writes a file: atomically, so a reader never sees half of one.

Write to a temporary file with a unique name in the same folder, fsync, rename over the
target: concurrent writers (two runs into one report folder, xdist workers) each replace
the file whole, and a crash leaves the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path | str, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Replace path with data (text is written with `encoding` and \\n line ends); creates the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with open(fd, "wb") as f:
            f.write(data.encode(encoding) if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the file is for readers too (CI uploads, browsers)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path | str, doc: object, *, indent: int | None = None) -> Path:
    """doc as ASCII-only JSON (compact unless indent is given), written atomically."""
    separators = (",", ":") if indent is None else None
    return write_atomic(
        path,
        json.dumps(doc, ensure_ascii=True, separators=separators, indent=indent) + ("\n" if indent is not None else ""),
        encoding="ascii",
    )

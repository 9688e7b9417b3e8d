"""Content fingerprints of local files and folders: the same on every machine and after a move.

Used wherever a model, an encoder or an input must be named portably (run keys, the translation cache):
a hash of the relative file names, their sizes and their bytes. Files up to 16 MiB are read whole;
larger ones (multi-GB weights) by their size and 32 evenly spaced 256 KiB windows, which any re-export,
fine-tuning or quantization changes. Results are memoised per (path, size, mtime) within a process.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["content_fingerprint", "file_digest"]

_WHOLE = 16 << 20
_WINDOW = 256 << 10
_WINDOWS = 32
_memo: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of one file's content (sampled beyond 16 MiB, see the module docstring)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key in _memo:
        return _memo[key]
    h = hashlib.sha256(str(st.st_size).encode())
    with open(p, "rb") as fh:
        if st.st_size <= _WHOLE:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        else:
            step = (st.st_size - _WINDOW) // (_WINDOWS - 1)
            for k in range(_WINDOWS):
                fh.seek(k * step)
                h.update(fh.read(_WINDOW))
    _memo[key] = h.hexdigest()
    return _memo[key]


def content_fingerprint(path: str | os.PathLike[str], length: int = 12) -> str:
    """A short hash of a file's or a folder's content (names relative to it, sizes, bytes)."""
    p = Path(path)
    if p.is_file():
        return file_digest(p)[:length]
    h = hashlib.sha256()
    for f in sorted(q for q in p.rglob("*") if q.is_file()):
        rel = f.relative_to(p).as_posix()
        if rel.startswith(".") or "/." in rel:  # editor and VCS litter does not make another model
            continue
        h.update(f"{rel}\0{file_digest(f)}\n".encode())
    return h.hexdigest()[:length]

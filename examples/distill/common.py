"""Helpers shared by the distillation scripts in ``examples/distill/``.

Everything here is dependency-light (standard library only) so each script can
import it without pulling in torch or spaCy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Default work directory (outside the repository, survives a reset work tree).
WORK_DIR = Path(os.environ.get("DISTILL_WORK", "/work/distill-work"))
#: Default location of the shared data sets (``../shared/data`` beside the repo).
SHARED_DATA = Path(os.environ.get("SHARED_DATA", "/work/shared/data"))

#: Target-language tokens prefixed to the source, as in multilingual Opus-MT.
LANG_TOKENS = {"por": ">>por<<", "eng": ">>eng<<"}

_OPEN_RE = re.compile(r"\[\s*")
_CLOSE_RE = re.compile(r"\s*\]")


def sent_id(text: str) -> str:
    """Stable short id of a sentence (first 16 hex digits of its SHA-1)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def bucket(text: str, modulo: int = 1000) -> int:
    """Deterministic pseudo-random bucket of a string in ``range(modulo)``."""
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16) % modulo


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_lines(path: Path, rows: Iterable[Iterable[str]]) -> int:
    """Write tab-separated ``rows`` atomically; return the number of rows."""
    lines = ["\t".join(clean_field(f) for f in row) for row in rows]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def atomic_write_json(path: Path, obj: object) -> None:
    """Write ``obj`` as indented JSON atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def clean_field(text: str) -> str:
    """Make ``text`` safe for one TSV field (no tabs, no newlines, squeezed spaces)."""
    return " ".join(text.replace("\t", " ").split())


def read_tsv(path: Path, ncols: int) -> Iterator[list[str]]:
    """Yield rows of a TSV file that have exactly ``ncols`` fields (skips torn lines)."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # torn last line of an interrupted append
            parts = line.rstrip("\n").split("\t")
            if len(parts) == ncols:
                yield parts


# ---------------------------------------------------------------------------
# markers


def marker_spans(text: str) -> list[str] | None:
    """Return the contents of the ``[ ... ]`` spans of ``text``.

    ``None`` when the brackets are unbalanced, nested, or a span is empty.
    """
    spans: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "[":
            if depth:
                return None
            depth, start = 1, i + 1
        elif ch == "]":
            if not depth:
                return None
            inner = text[start:i].strip()
            if not inner:
                return None
            spans.append(inner)
            depth = 0
    if depth:
        return None
    return spans


def normalize_markers(text: str, style: str) -> str:
    """Rewrite the spacing inside markers: ``spaced`` gives ``[ X ]``, ``tight`` gives ``[X]``.

    Outside the markers a space is kept before ``[`` and after ``]`` when the
    bracket touches a word, so ``do[alemão].`` does not glue words together.
    """
    if style == "spaced":
        text = _OPEN_RE.sub("[ ", text)
        text = _CLOSE_RE.sub(" ]", text)
    elif style == "tight":
        text = _OPEN_RE.sub("[", text)
        text = _CLOSE_RE.sub("]", text)
    else:
        raise ValueError(f"unknown marker style {style!r}")
    text = re.sub(r"(?<=\w)\[", " [", text)
    text = re.sub(r"\](?=\w)", "] ", text)
    return " ".join(text.split())


def strip_markers(text: str) -> str:
    """Remove ``[`` and ``]`` and squeeze the spaces they leave."""
    text = text.replace("[", " ").replace("]", " ")
    text = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))
    return text


def markers_survive(source: str, target: str) -> bool:
    """True when ``target`` carries as many well-formed marker spans as ``source``."""
    src = marker_spans(source)
    tgt = marker_spans(target)
    return bool(src) and tgt is not None and len(src) == len(tgt)

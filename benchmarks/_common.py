"""Helpers shared by the benchmarks: the offline e5 encoder and CoNLL sentences as (tokens, tags)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def ensure_encoder(path: str | None) -> str:
    """The encoder folder: ``path`` (a built-in name's folder, built once), or multilingual-e5-small built
    once (by ../shared/tools) into the cache."""
    if path:
        from alignment.e5 import resolve_encoder

        return resolve_encoder(path)
    from projector.cache import cache_root

    cache = cache_root() / "e5-small"
    if not (cache / "config.json").exists():
        subprocess.run([sys.executable, str(SHARED / "tools" / "build_e5_encoder.py"), str(cache)], check=True)
    return str(cache)


def conll_sentences(path: Path, limit: int | None = None) -> list[tuple[list[str], list[str]]]:
    """``(tokens, IOB2 tags)`` of each sentence of a CoNLL file, read with projector's reader."""
    sys.path.insert(0, str(REPO))
    from projector import read
    from projector.convert import spans_to_tags

    out = []
    for ex in read(path, format="conll").examples():
        out.append((ex.words, spans_to_tags(ex.spans, ex.tokens)[0]))
        if limit is not None and len(out) >= limit:
            break
    return out

"""A persistent translation cache, so re-running or trying another method does not translate again.

:class:`CachedTranslator` wraps any :class:`mt_backends.base.Translator`: ``translate`` answers from a
SQLite file keyed by (model, languages, decoding options, text) and translates only the misses;
everything else is passed through. It also measures the time spent translating, for the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mt_backends.base import Hypothesis, TranslationResult, Translator

__all__ = ["TranslationCache", "CachedTranslator", "default_cache_path", "cache_root", "default_model_key"]

logger = logging.getLogger("projector")

_CACHEABLE = ("ok", "split", "max_length", "empty")


def cache_root() -> Path:
    """The root of every cache projector keeps: ``$PROJECTOR_CACHE``, default ``~/.cache/projector``."""
    env = os.environ.get("PROJECTOR_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "projector"


def default_cache_path() -> Path:
    """``cache_root()/translations.sqlite``."""
    return cache_root() / "translations.sqlite"


class TranslationCache:
    """A SQLite key-value store of translation results (safe across processes: SQLite's locking)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    @staticmethod
    def key(namespace: str, text: str) -> str:
        """The cache key of ``text`` under ``namespace`` (model, languages and options)."""
        return hashlib.sha256(f"{namespace}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, TranslationResult]:
        """The cached results of ``keys`` that are present."""
        out: dict[str, TranslationResult] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM translations WHERE key IN ({marks})", chunk)
                for key, value in rows:
                    out[key] = _decode(value)
        return out

    def put_many(self, items: Sequence[tuple[str, TranslationResult]]) -> None:
        """Store results (only those worth reusing: not failures)."""
        rows = [(k, _encode(r)) for k, r in items if r.status in _CACHEABLE]
        if not rows:
            return
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO translations (key, value) VALUES (?, ?)", rows)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


def _encode(result: TranslationResult) -> str:
    return json.dumps({"h": [[h.text, list(h.tokens), h.score] for h in result.hypotheses],
                       "s": result.status, "r": result.reason}, ensure_ascii=False)


def _decode(value: str) -> TranslationResult:
    obj = json.loads(value)
    hyps = tuple(Hypothesis(t, tuple(toks), float(score)) for t, toks, score in obj["h"])
    return TranslationResult(hyps, obj["s"], obj["r"])


def default_model_key(info: Any) -> str:
    """The portable name of a model for caches and run keys: backend, family and, for a local folder,
    its name plus a fingerprint of its files' contents (a model re-exported or fine-tuned in place is
    another model; the same folder moved or copied elsewhere, or on another machine, is the same one);
    otherwise the name as given. Never an absolute path."""
    path = Path(str(info.path)).expanduser()
    if str(info.path) and path.is_dir():
        from .fingerprint import content_fingerprint

        ident = f"{getattr(info, 'name', '') or path.resolve().name}@{content_fingerprint(path)}"
    else:
        ident = str(getattr(info, "name", "") or info.path)
    return f"{info.backend}|{info.family}|{ident}"


class CachedTranslator:
    """A translator whose ``translate`` goes through a :class:`TranslationCache`.

    ``model_key`` names the model for the cache (path or id plus revision/quantization); it defaults to
    the backend, family and path of ``inner.info``. ``translate_seconds`` and ``cache_hits`` /
    ``cache_misses`` count what happened.
    """

    def __init__(self, inner: Translator, cache: TranslationCache, model_key: str | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.model_key = model_key or default_model_key(inner.info)
        self.translate_seconds = 0.0
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def info(self) -> Any:
        return self.inner.info

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                  num_hypotheses: int = 1, max_length: int = 256, min_length: int = 0) -> list[TranslationResult]:
        """Translate, answering from the cache where possible (results in input order)."""
        if beam_size is None:
            beam_size = int(getattr(self.inner, "beam_size", 4) or 4)
        options = {"beam_size": beam_size, "num_hypotheses": num_hypotheses, "max_length": max_length,
                   "min_length": min_length}
        namespace = f"{self.model_key}|{src_lang}|{tgt_lang}|{json.dumps(options, sort_keys=True)}"
        keys = [self.cache.key(namespace, t) for t in texts]
        found = self.cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        unique: dict[str, int] = {}
        for i in missing:
            unique.setdefault(keys[i], i)
        self.cache_hits += len(texts) - len(missing)
        self.cache_misses += len(unique)
        if unique:
            todo = list(unique.values())
            start = time.perf_counter()
            results = self.inner.translate([texts[i] for i in todo], src_lang, tgt_lang, **options)
            self.translate_seconds += time.perf_counter() - start
            new = {keys[i]: r for i, r in zip(todo, results)}
            self.cache.put_many(list(new.items()))
            found.update(new)
        return [found[k] for k in keys]

    def translate_iter(self, texts: Sequence[str], src_lang: str, tgt_lang: str, **options: Any) -> Iterator[TranslationResult]:
        """Like :meth:`translate` (the cache answers whole calls)."""
        yield from self.translate(texts, src_lang, tgt_lang, **options)

    def __getattr__(self, name: str) -> Any:  # score, tokenize, detokenize... pass through
        return getattr(self.inner, name)

"""Parallel text for training aligners: ``src ||| tgt`` files, pairs of line-aligned files, Hugging Face datasets.

A source is named by one string (what ``projector finetune-aligner PARALLEL...`` takes):

* ``FILE``: one pair per line, ``source ||| target`` (awesome-align's format; both sides are
  pre-tokenized words separated by spaces);
* ``SRC_FILE,TGT_FILE``: two line-aligned files of raw text (``.gz`` is read as gzip); each side's
  language comes from its file's last suffix when it is a language code (``news.en``, ``test.deu``),
  and its words from projector's tokenizer for that language (:func:`projector.convert.tokenize`);
* ``hf:NAME_OR_FOLDER[:SPLIT]``: a Hugging Face dataset (a Hub id, a folder of data files that
  ``datasets.load_dataset`` reads, or a folder written by ``save_to_disk``) with a ``translation`` column of two languages (the Hub's layout), or exactly two
  string columns, or the two ``columns`` named.

Every source is read and checked before any training starts: a malformed line, an empty side, two
files of different lengths or a source without a single pair is a :class:`ParallelTextError` naming
the file and line.
"""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from projector.errors import InputError

__all__ = ["ParallelSource", "ParallelTextError", "parse_source", "read_parallel", "pairs_of", "resolve_hf"]

class ParallelTextError(InputError):
    """Parallel text that cannot be used (names the file and line)."""


@dataclass(frozen=True)
class ParallelSource:
    """One named source of sentence pairs (see the module docstring for ``spec``)."""

    spec: str
    kind: str  # "pipe" | "files" | "hf"
    paths: tuple[str, ...]
    langs: tuple[str | None, str | None]
    columns: tuple[str, str] | None = None
    split: str | None = None

    @property
    def pair(self) -> str:
        """``en-de`` (``?`` for a side whose language is unknown)."""
        return "-".join(lang or "?" for lang in self.langs)


def _lang_of(path: str) -> str | None:
    from projector.errors import UnsupportedLanguageError
    from projector.langs import normalize_lang

    name = Path(path).name
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if not suffix.isalpha() or len(suffix) not in (2, 3):
        return None
    try:
        return normalize_lang(suffix, "parallel file suffix")
    except UnsupportedLanguageError:
        return None


def parse_source(spec: str, columns: Sequence[str] | None = None) -> ParallelSource:
    """The :class:`ParallelSource` a spec string names (files must exist; datasets load later)."""
    cols = tuple(columns) if columns else None
    if cols is not None and len(cols) != 2:
        raise ParallelTextError(f"columns: give two column names, got {list(cols)}")
    if spec.startswith("hf:"):
        name, _, split = spec[3:].partition(":")
        langs = (cols[0], cols[1]) if cols else (None, None)
        return ParallelSource(spec, "hf", (name,), langs, cols, split or None)
    parts = spec.split(",")
    if len(parts) > 2:
        raise ParallelTextError(f"{spec}: give one file (src ||| tgt lines) or two files as SRC,TGT")
    for p in parts:
        if not os.path.isfile(p):
            raise ParallelTextError(f"{p}: no such file (parallel text {spec!r})")
    if len(parts) == 1:
        return ParallelSource(spec, "pipe", (spec,), (None, None))
    return ParallelSource(spec, "files", (parts[0], parts[1]), (_lang_of(parts[0]), _lang_of(parts[1])))


def _lines(path: str) -> Iterator[str]:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
            for line in fh:
                yield line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ParallelTextError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _pipe_pairs(source: ParallelSource) -> Iterator[tuple[str, str, str]]:
    path = source.paths[0]
    for no, line in enumerate(_lines(path), start=1):
        if line.count("|||") != 1:
            raise ParallelTextError(f"{path}:{no}: not 'source ||| target' (awesome-align's format)")
        src, _, tgt = line.partition("|||")
        yield f"{path}:{no}", src.strip(), tgt.strip()


def _file_pairs(source: ParallelSource) -> Iterator[tuple[str, str, str]]:
    a, b = source.paths
    for no, (x, y) in enumerate(itertools.zip_longest(_lines(a), _lines(b)), start=1):
        if x is None or y is None:
            raise ParallelTextError(f"{a} has {_count(a)} lines but {b} has {_count(b)}: the files of a pair "
                                    f"must be line-aligned (line {no} is in one only)")
        yield f"{a}:{no} / {b}:{no}", x.strip(), y.strip()


def _count(path: str) -> int:
    return sum(1 for _ in _lines(path))


def _hf_data(source: ParallelSource) -> Any:
    from projector._optional import require

    datasets = require("datasets", extra="hf", purpose="parallel text from a Hugging Face dataset")
    name = source.paths[0]
    try:
        saved = any(os.path.isfile(os.path.join(name, f)) for f in ("dataset_dict.json", "state.json"))
        data = datasets.load_from_disk(name) if saved else datasets.load_dataset(name)
    except Exception as exc:  # datasets raises many kinds (FileNotFoundError, DatasetNotFoundError...)
        raise ParallelTextError(f"{source.spec}: cannot load the dataset: {exc}") from exc
    if isinstance(data, datasets.DatasetDict):
        split = source.split or ("train" if "train" in data else next(iter(data)))
        if split not in data:
            raise ParallelTextError(f"{source.spec}: no split {split!r} (splits: {', '.join(data)})")
        data = data[split]
    return data


def resolve_hf(source: ParallelSource) -> ParallelSource:
    """A dataset source with its two columns (or the ``translation`` column's two languages) and their
    languages (a column named by a language code gives it)."""
    data = _hf_data(source)
    features = getattr(data, "features", {})
    names = list(features)
    if source.columns and "translation" in names and all(c not in names for c in source.columns):
        cols = source.columns
    elif source.columns:
        missing = [c for c in source.columns if c not in names]
        if missing:
            raise ParallelTextError(f"{source.spec}: no column {', '.join(missing)} (columns: {', '.join(names)})")
        cols = source.columns
    elif "translation" in names:
        listed = list(getattr(features["translation"], "languages", None) or [])
        if len(listed) != 2:
            raise ParallelTextError(f"{source.spec}: its translation column has languages {listed}; name two "
                                    "with columns=SRC,TGT")
        cols = (listed[0], listed[1])
    else:
        text = [n for n in names if getattr(features[n], "dtype", None) in ("string", "large_string")]
        if len(text) != 2:
            raise ParallelTextError(f"{source.spec}: name the two text columns with columns=SRC,TGT (string "
                                    f"columns: {', '.join(text) or 'none'})")
        cols = (text[0], text[1])
    langs = (_lang_of(f"x.{cols[0]}"), _lang_of(f"x.{cols[1]}"))
    return dataclasses.replace(source, columns=cols, langs=langs, split=source.split)


def _hf_pairs(source: ParallelSource) -> Iterator[tuple[str, str, str]]:
    if source.columns is None:
        source = resolve_hf(source)
    data = _hf_data(source)
    assert source.columns is not None
    a, b = source.columns
    nested = "translation" in getattr(data, "features", {}) and a not in getattr(data, "features", {})
    for k, row in enumerate(data):
        pair = row["translation"] if nested else row
        yield f"{source.spec} row {k}", str(pair[a] or "").strip(), str(pair[b] or "").strip()


def pairs_of(source: ParallelSource) -> Iterator[tuple[str, str, str]]:
    """``(where, source text, target text)`` of each pair, checked (no empty side)."""
    reader = {"pipe": _pipe_pairs, "files": _file_pairs, "hf": _hf_pairs}[source.kind]
    for where, src, tgt in reader(source):
        if not src or not tgt:
            raise ParallelTextError(f"{where}: empty {'source' if not src else 'target'} side")
        yield where, src, tgt


def _words(text: str, lang: str | None, pretokenized: bool) -> list[str]:
    if pretokenized:
        return text.split()
    from projector.convert import tokenize

    return [t.text for t in tokenize(text, lang)]


def read_parallel(specs: Sequence[str | ParallelSource], *, columns: Sequence[str] | None = None,
                  max_pairs: int | None = None, seed: int = 0
                  ) -> tuple[list[tuple[list[str], list[str]]], list[dict[str, object]]]:
    """The pairs of every source as ``(source words, target words)``, and per source a summary
    (``spec``, ``pair``, ``pairs`` read, ``used``). Every source is read and checked first: a
    :class:`ParallelTextError` comes before any tokenization when a source is bad or has no pair.
    ``max_pairs`` keeps a sample of that many pairs (seeded, in reading order), tokenized alone."""
    if not specs:
        raise ParallelTextError("no parallel text given")
    raw: list[tuple[str, str, int]] = []
    sources: list[ParallelSource] = []
    read: list[int] = []
    for spec in specs:
        source = spec if isinstance(spec, ParallelSource) else parse_source(spec, columns)
        if source.kind == "hf":
            source = resolve_hf(source)
        n = len(raw)
        raw += [(src, tgt, len(sources)) for _, src, tgt in pairs_of(source)]
        if len(raw) == n:
            raise ParallelTextError(f"{source.spec}: no sentence pairs (language pair {source.pair})")
        sources.append(source)
        read.append(len(raw) - n)
    if max_pairs is not None and max_pairs < len(raw):
        import numpy as np

        keep = np.random.default_rng(seed).choice(len(raw), max_pairs, replace=False)
        raw = [raw[k] for k in sorted(keep.tolist())]
    pairs = []
    for src, tgt, k in raw:
        source = sources[k]
        pretok = source.kind == "pipe"
        pairs.append((_words(src, source.langs[0], pretok), _words(tgt, source.langs[1], pretok)))
    used = [0] * len(sources)
    for _, _, k in raw:
        used[k] += 1
    summary: list[dict[str, object]] = [{"spec": s.spec, "pair": s.pair, "pairs": n, "used": u}
                                        for s, n, u in zip(sources, read, used)]
    return pairs, summary

"""Parallel text for training aligners: ``src ||| tgt`` files, pairs of line-aligned files, Hugging Face datasets.

A source is named by one string (what ``projector finetune-aligner PARALLEL...`` takes):

* ``FILE``: one pair per line, ``source ||| target`` (awesome-align's format; both sides are
  pre-tokenized words separated by spaces);
* ``SRC_FILE,TGT_FILE``: two line-aligned files of raw text (``.gz`` is read as gzip); each side's
  language comes from its file's last suffix when it is a language code (``news.en``, ``test.deu``),
  and its words from projector's tokenizer for that language (:func:`projector.convert.tokenize`);
* ``FILE.jsonl``: gold word alignments, one pair per line as ``{"src_words": [...], "tgt_words": [...],
  "alignment": [[i, j], ...]}`` (0-indexed, the format of ``alignment.evaluate.read_jsonl_gold``; an
  optional ``possible`` list; ``-1`` links to NULL are dropped): the links become the targets of the
  fine-tuning objective for those pairs (awesome-align's supervised setting); the languages come from a
  folder named ``SRC-TGT`` (``en-ja/kftt.jsonl``) when it names two;
* ``hf:NAME_OR_FOLDER[:SPLIT]``: a Hugging Face dataset (a Hub id, a folder of data files that
  ``datasets.load_dataset`` reads, or a folder written by ``save_to_disk``) with a ``translation`` column of two languages (the Hub's layout), or exactly two
  string columns, or the two ``columns`` named.

Every source is read and checked before any training starts: a malformed line, an empty side, two
files of different lengths, a gold link outside its sentence pair or a source without a single pair is
a :class:`ParallelTextError` naming the file and line.
"""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
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
    kind: str  # "pipe" | "files" | "hf" | "gold"
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


def _langs_of_folder(path: str) -> tuple[str | None, str | None]:
    """The languages of a folder named ``SRC-TGT`` holding ``path`` (``en-ja/kftt.jsonl``), else unknown."""
    parts = Path(path).parent.name.split("-")
    if len(parts) != 2:
        return None, None
    langs = (_lang_of(f"x.{parts[0]}"), _lang_of(f"x.{parts[1]}"))
    return langs if None not in langs else (None, None)


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
    if len(parts) == 1 and spec.endswith(".jsonl"):
        return ParallelSource(spec, "gold", (spec,), _langs_of_folder(spec))
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


#: gold links of a pair (source word, target word), or None for a pair without them
Links = tuple[tuple[int, int], ...] | None
#: what a reader yields: where, source and target (text, or words for a gold file), links
_Raw = tuple[str, "str | list[str]", "str | list[str]", Links]


def _pipe_pairs(source: ParallelSource) -> Iterator[_Raw]:
    path = source.paths[0]
    for no, line in enumerate(_lines(path), start=1):
        if line.count("|||") != 1:
            raise ParallelTextError(f"{path}:{no}: not 'source ||| target' (awesome-align's format)")
        src, _, tgt = line.partition("|||")
        yield f"{path}:{no}", src.strip(), tgt.strip(), None


def _file_pairs(source: ParallelSource) -> Iterator[_Raw]:
    a, b = source.paths
    for no, (x, y) in enumerate(itertools.zip_longest(_lines(a), _lines(b)), start=1):
        if x is None or y is None:
            raise ParallelTextError(f"{a} has {_count(a)} lines but {b} has {_count(b)}: the files of a pair "
                                    f"must be line-aligned (line {no} is in one only)")
        yield f"{a}:{no} / {b}:{no}", x.strip(), y.strip(), None


def _gold_line(where: str, line: str) -> tuple[list[str], list[str], Links]:
    """One line of a gold JSONL file: its words and links (sure and possible), checked."""
    try:
        obj = json.loads(line)
        src = [str(w).strip() for w in obj["src_words"]]
        tgt = [str(w).strip() for w in obj["tgt_words"]]
        links = {(int(i), int(j)) for i, j in [*obj["alignment"], *obj.get("possible", ())]}
    except json.JSONDecodeError as exc:
        raise ParallelTextError(f"{where}: not JSON ({exc.msg})") from None
    except KeyError as exc:
        raise ParallelTextError(f"{where}: no {exc.args[0]!r} field (a gold line has src_words, tgt_words, "
                                "alignment)") from None
    except (TypeError, ValueError):
        raise ParallelTextError(f"{where}: alignment must be a list of [i, j] integer pairs") from None
    if any(not w for w in src + tgt):
        raise ParallelTextError(f"{where}: an empty word")
    links = {(i, j) for i, j in links if i >= 0 and j >= 0}  # -1: aligned to NULL
    bad = next(((i, j) for i, j in sorted(links) if i >= len(src) or j >= len(tgt)), None)
    if bad is not None:
        raise ParallelTextError(f"{where}: link {bad[0]}-{bad[1]} is outside the pair ({len(src)} source words, "
                                f"{len(tgt)} target words)")
    return src, tgt, tuple(sorted(links))


def _gold_pairs(source: ParallelSource) -> Iterator[_Raw]:
    path = source.paths[0]
    for no, line in enumerate(_lines(path), start=1):
        if line.strip():
            yield (f"{path}:{no}", *_gold_line(f"{path}:{no}", line))


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
        yield f"{source.spec} row {k}", str(pair[a] or "").strip(), str(pair[b] or "").strip(), None


def pairs_of(source: ParallelSource) -> Iterator[_Raw]:
    """``(where, source, target, links)`` of each pair, checked (no empty side): source and target are
    text, or words for a gold file; links are None but for a gold file."""
    reader = {"pipe": _pipe_pairs, "files": _file_pairs, "hf": _hf_pairs, "gold": _gold_pairs}[source.kind]
    for where, src, tgt, links in reader(source):
        if not src or not tgt:
            raise ParallelTextError(f"{where}: empty {'source' if not src else 'target'} side")
        yield where, src, tgt, links


def _words(text: str | list[str], lang: str | None, pretokenized: bool) -> list[str]:
    if isinstance(text, list):
        return text
    if pretokenized:
        return text.split()
    from projector.convert import tokenize

    return [t.text for t in tokenize(text, lang)]


def read_parallel(specs: Sequence[str | ParallelSource], *, columns: Sequence[str] | None = None,
                  max_pairs: int | None = None, seed: int = 0, links: bool = False
                  ) -> tuple[list[Any], list[dict[str, object]]]:
    """The pairs of every source as ``(source words, target words)`` (``(source words, target words,
    gold links or None)`` with ``links``), and per source a summary (``spec``, ``pair``, ``pairs`` read,
    ``used``, ``gold`` when it has links). Every source is read and checked first: a
    :class:`ParallelTextError` comes before any tokenization when a source is bad or has no pair.
    ``max_pairs`` keeps a sample of that many pairs (seeded, in reading order), tokenized alone."""
    if not specs:
        raise ParallelTextError("no parallel text given")
    raw: list[tuple[str | list[str], str | list[str], Links, int]] = []
    sources: list[ParallelSource] = []
    read: list[int] = []
    for spec in specs:
        source = spec if isinstance(spec, ParallelSource) else parse_source(spec, columns)
        if source.kind == "hf":
            source = resolve_hf(source)
        n = len(raw)
        raw += [(src, tgt, gold, len(sources)) for _, src, tgt, gold in pairs_of(source)]
        if len(raw) == n:
            raise ParallelTextError(f"{source.spec}: no sentence pairs (language pair {source.pair})")
        sources.append(source)
        read.append(len(raw) - n)
    if max_pairs is not None and max_pairs < len(raw):
        import numpy as np

        keep = np.random.default_rng(seed).choice(len(raw), max_pairs, replace=False)
        raw = [raw[k] for k in sorted(keep.tolist())]
    pairs: list[Any] = []
    for src, tgt, gold, k in raw:
        source = sources[k]
        pretok = source.kind == "pipe"
        words = (_words(src, source.langs[0], pretok), _words(tgt, source.langs[1], pretok))
        pairs.append((*words, gold) if links else words)
    used = [0] * len(sources)
    for *_, k in raw:
        used[k] += 1
    summary: list[dict[str, object]] = [{"spec": s.spec, "pair": s.pair, "pairs": n, "used": u,
                                         **({"gold": True} if s.kind == "gold" else {})}
                                        for s, n, u in zip(sources, read, used)]
    return pairs, summary

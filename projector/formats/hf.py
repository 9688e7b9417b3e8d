"""Hugging Face datasets: read a Hub id or a local dataset; write a ``DatasetDict`` in Hub layout.

Reading takes a Hub id (``conll2003``, ``unimelb-nlp/wikiann`` with ``config="sw"``), a folder in Hub
layout or saved with ``save_to_disk``, or data files (parquet, arrow, json, csv). NER datasets need a
token column and a tag column (``ClassLabel`` ids as in conll2003/wikiann, or tag strings); the
``ClassLabel`` names and all other features are kept. Datasets with an ``event_mentions`` column are
read as ACE-style event records.

Writing produces ``data/<split>-XXXXX-of-XXXXX.parquet`` plus a ``README.md`` card whose YAML metadata
declares the configs and features, so ``datasets.load_dataset(folder)`` reloads it identically and the
folder can be uploaded to the Hub as is. NER corpora get ``id``, ``tokens`` and the tag column (with the
source's ``ClassLabel`` names when it had them) and a ``meta`` column (JSON) when examples carry meta;
event corpora get ACE-style ``entity_mentions``/``event_mentions`` columns plus ``example_json``, the
lossless canonical record of each example (see :mod:`projector.formats.jsonl`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from .._optional import require
from ..convert import (
    Snap,
    detect_scheme,
    detokenize,
    normalize_scheme,
    output_scheme,
    spans_to_tags,
    tags_to_spans,
    tokenize,
)
from ..data import Example
from ..errors import FormatError, InputError, UnknownNameError
from .base import Corpus, CorpusInfo, atomic_dir
from .events import event_example, event_record
from .jsonl import example_from_dict, example_to_dict

name = "hf"
extensions = ("parquet", "arrow")

_DATA_FILE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".csv": "csv", ".json": "json", ".jsonl": "json"}


def sniff(path: Path, head: str) -> bool:
    """A folder in Hub layout or saved with ``save_to_disk`` (files are recognised by extension)."""
    return path.is_dir() and any((path / n).exists() for n in ("README.md", "dataset_dict.json",
                                                                  "dataset_info.json", "data"))


def _load(source: str, config: str | None, revision: str | None) -> Any:
    datasets = require("datasets", purpose="Hugging Face datasets")
    path = Path(source)
    try:
        if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists()):
            return datasets.load_from_disk(str(path))
        if path.is_file():
            builder = _DATA_FILE_BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise InputError(f"unsupported data file type {path.suffix!r} for the hf format", path=path)
            return datasets.load_dataset(builder, data_files={"train": str(path)})
        if not path.exists():
            _probe_hub(source, revision)
        return datasets.load_dataset(source, config, revision=revision)
    except (InputError, UnknownNameError):
        raise
    except ValueError as exc:
        text = str(exc)
        if "Config name is missing" in text or "BuilderConfig" in text:
            raise UnknownNameError("dataset config", str(config), _configs_from(text)) from None
        raise InputError(f"cannot load Hugging Face dataset: {text}", path=source) from None
    except Exception as exc:  # network, missing repo, bad files: one clear line
        raise InputError(f"cannot load Hugging Face dataset ({type(exc).__name__}): {exc}", path=source) from None


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _probe_hub(repo_id: str, revision: str | None, timeout: float = 10.0) -> None:
    """Fail fast with one clear line when the Hub cannot be reached or has no such dataset.

    Skipped in offline mode (``HF_HUB_OFFLINE=1``), where ``datasets`` uses its cache.
    """
    if _offline():
        return
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().dataset_info(repo_id, revision=revision, timeout=timeout)
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as exc:
        raise InputError(f"cannot load Hugging Face dataset: not found or not accessible on the Hub "
                         f"({type(exc).__name__}); log in with `hf auth login` for private or gated data",
                         path=repo_id) from None
    except Exception as exc:  # no network: do not let datasets retry for minutes
        raise InputError(f"cannot load Hugging Face dataset: the Hugging Face Hub is unreachable "
                         f"({type(exc).__name__}: {exc}); use a local path, or HF_HUB_OFFLINE=1 for a "
                         f"cached dataset", path=repo_id) from None


def _configs_from(text: str) -> list[str]:
    import re

    m = re.search(r"\[(.*?)\]", text)
    return [c.strip(" '\"") for c in m.group(1).split(",")] if m else []


def _py(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def read(path: Path | str, *, split: str | None = None, config: str | None = None, revision: str | None = None,
         tokens_column: str = "tokens", tags_column: str = "ner_tags", scheme: str = "auto",
         lang: str | None = None, **_: Any) -> Corpus:
    """Read all splits (or ``split``) of a Hugging Face dataset."""
    source = str(path)
    loaded = _load(source, config, revision)
    dd = loaded if hasattr(loaded, "keys") else {split or "train": loaded}
    if split is not None:
        if split not in dd:
            raise UnknownNameError("split", split, list(dd.keys()))
        dd = {split: dd[split]}
    first = next(iter(dd.values()))
    columns = list(first.column_names)
    features = first.features
    if "event_mentions" in columns:
        return _read_events(dd, source, lang, features)
    for col in (tokens_column, tags_column):
        if col not in columns:
            raise UnknownNameError("column", col, columns)
    tag_feature = getattr(features[tags_column], "feature", None)
    label_names = tuple(tag_feature.names) if tag_feature is not None and hasattr(tag_feature, "names") else None
    splits: dict[str, list[Example]] = {}
    stats: Counter[str] = Counter()
    tag_rows: dict[str, list[list[str]]] = {}
    for split_name, ds in dd.items():
        rows = ds[tags_column]
        tag_rows[split_name] = [[label_names[t] for t in r] if label_names else [str(t) for t in r] for r in rows]
    if scheme == "auto":
        scheme = detect_scheme([list(label_names)] if label_names else [t for v in tag_rows.values() for t in v])
    scheme = normalize_scheme(scheme)
    other = [c for c in columns if c not in (tokens_column, tags_column, "meta")]
    for split_name, ds in dd.items():
        out: list[Example] = []
        for i, row in enumerate(ds):
            words = [str(w) for w in row[tokens_column]]
            tags = tag_rows[split_name][i]
            where = f"{source} [{split_name} row {i}]"
            if len(words) != len(tags):
                raise FormatError(f"{len(words)} tokens but {len(tags)} tags", path=where)
            if not words:
                stats["examples_empty"] += 1
            try:
                text, tokens = detokenize(words, lang) if words else ("", [])
                spans, repairs = tags_to_spans(tokens, tags, scheme)
            except ValueError as exc:
                raise FormatError(str(exc), path=where) from None
            stats["tags_repaired"] += repairs
            meta = {c: _py(row[c]) for c in other if c != "id"}
            if row.get("meta"):
                meta.update(json.loads(row["meta"]))
            ex_id = str(row["id"]) if "id" in row and row["id"] is not None else f"{split_name}:{i}"
            out.append(Example(ex_id, text, tuple(tokens), tuple(spans), lang=lang, meta=meta))
        splits[split_name] = out
    info = CorpusInfo(format=name, source=source, scheme=scheme, label_names=label_names,
                      features=features.to_dict(),
                      options={"tokens_column": tokens_column, "tags_column": tags_column})
    return Corpus(splits, info, stats)


def _read_events(dd: dict[str, Any], source: str, lang: str | None, features: Any) -> Corpus:
    splits: dict[str, list[Example]] = {}
    for split_name, ds in dd.items():
        out = []
        for i, row in enumerate(ds):
            where = f"{source} [{split_name} row {i}]"
            try:
                if row.get("example_json"):
                    ex, _ = example_from_dict(json.loads(row["example_json"]))
                else:
                    ex, _, _ = event_example(dict(row), lang=lang, fallback_id=f"{split_name}:{i}")
            except (KeyError, TypeError, ValueError) as exc:
                raise FormatError(f"bad event record: {exc}", path=where) from None
            out.append(ex)
        splits[split_name] = out
    info = CorpusInfo(format=name, source=source, features=features.to_dict(), options={"layout": "events"})
    return Corpus(splits, info, Counter())


def is_event_corpus(corpus: Corpus) -> bool:
    """Whether the corpus has the event layout: read from an event format, or holding events."""
    return (corpus.info.format in ("wikievents", "ace", "rams") or corpus.info.options.get("layout") == "events"
            or any(ex.events for ex in corpus.examples()))


def label_names_for(corpus: Corpus, scheme: str) -> list[str]:
    """The tag vocabulary to write: the source's ``ClassLabel`` names, extended with any new tag."""
    from ..convert import Chunk, chunks_to_tags

    names = list(corpus.info.label_names or ["O"])
    labels = sorted({s.label for ex in corpus.examples() for s in ex.spans})
    for label in labels:
        for tag in chunks_to_tags([Chunk(0, 2, label), Chunk(2, 3, label)], 3, scheme):
            if tag not in names:
                names.append(tag)
    return names


def to_datasetdict(corpus: Corpus, *, cache_dir: str | Path, scheme: str | None = None, snap: str = "strict",
                   tags_column: str | None = None, stats: Counter[str] | None = None) -> Any:
    """The corpus as a ``datasets.DatasetDict`` (see the module docstring for the columns).

    Rows are streamed into Arrow files under ``cache_dir`` (``Dataset.from_generator``), so memory stays
    flat whatever the corpus size; the returned datasets live as long as ``cache_dir``.
    """
    datasets = require("datasets", purpose="Hugging Face datasets")
    stats = stats if stats is not None else Counter()
    cache = str(cache_dir)

    def build(rows: Any, features: Any = None) -> Any:
        import uuid

        # a fresh fingerprint: no hashing of the (possibly large) closure, no stale cache hit
        return datasets.Dataset.from_generator(rows, features=features, cache_dir=cache, fingerprint=uuid.uuid4().hex)

    if is_event_corpus(corpus):
        return datasets.DatasetDict({s: build(lambda exs=exs: (_event_row(ex, stats) for ex in exs))
                                     for s, exs in corpus.splits.items()})
    scheme = output_scheme(scheme, corpus.info.scheme)
    tags_column = tags_column or corpus.info.options.get("tags_column", "ner_tags")
    names = label_names_for(corpus, scheme)
    index = {n: i for i, n in enumerate(names)}
    keep = _source_columns(corpus)
    with_meta = any(set(ex.meta) - set(keep) for ex in corpus.examples())
    feats: dict[str, Any] = {"id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
                             tags_column: datasets.Sequence(datasets.ClassLabel(names=names))}
    feats.update(keep)
    if with_meta:
        feats["meta"] = datasets.Value("string")

    def rows(examples: Any) -> Any:
        for ex in examples:
            tokens = list(ex.tokens) or tokenize(ex.text, ex.lang)
            tags, unsnappable, dropped = spans_to_tags(ex.spans, tokens, scheme, Snap(snap))
            stats["spans_unsnappable"] += len(unsnappable)
            stats["spans_dropped_overlap"] += len(dropped)
            row: dict[str, Any] = {"id": ex.id, "tokens": [t.text for t in tokens],
                                   tags_column: [index[t] for t in tags]}
            for col in keep:
                row[col] = ex.meta.get(col)
            if with_meta:
                rest = {k: v for k, v in ex.meta.items() if k not in keep}
                row["meta"] = json.dumps(rest, ensure_ascii=False) if rest else None
            yield row

    features = datasets.Features(feats)
    return datasets.DatasetDict({s: build(lambda exs=exs: rows(exs), features) for s, exs in corpus.splits.items()})


def _source_columns(corpus: Corpus) -> dict[str, Any]:
    """Extra columns of the source dataset (e.g. wikiann's ``langs``, ``spans``) with their features."""
    if corpus.info.format != name or not corpus.info.features:
        return {}
    datasets = require("datasets")
    feats = datasets.Features.from_dict(corpus.info.features)
    skip = {"id", "meta", corpus.info.options.get("tokens_column"), corpus.info.options.get("tags_column")}
    return {k: v for k, v in feats.items() if k not in skip}


def _event_row(ex: Example, stats: Counter[str]) -> dict[str, Any]:
    rec = event_record(ex, "ace", "offsets", "id", stats)
    ids = [m["id"] for m in rec["entity_mentions"]]
    ents = [{k: m[k] for k in ("id", "start", "end", "entity_type", "text")} for m in rec["entity_mentions"]]
    evs = []
    for ev, e in zip(ex.events, rec["event_mentions"]):
        args = [{"entity_id": ids[a.entity] if a.entity is not None else "", "role": a.role,
                 "start": raw["start"], "end": raw["end"], "text": raw["text"]}
                for a, raw in zip(ev.arguments, e["arguments"])]
        trigger = {k: e["trigger"][k] for k in ("start", "end", "text")}
        evs.append({"id": e["id"], "event_type": ev.type, "trigger": trigger, "arguments": args})
    return {"id": ex.id, "tokens": rec["tokens"], "entity_mentions": ents, "event_mentions": evs,
            "example_json": json.dumps(example_to_dict(ex), ensure_ascii=False)}


def write(corpus: Corpus, path: Path, *, split: str | None = None, scheme: str | None = None,
          snap: str = "strict", card: str | None = None, **_: Any) -> Counter[str]:
    """Write a Hub-layout folder (parquet shards + ``README.md`` card with YAML metadata), atomically."""
    stats: Counter[str] = Counter()
    if split is not None:
        if split not in corpus.splits:
            raise UnknownNameError("split", split, corpus.splits)
        corpus = Corpus({split: corpus.splits[split]}, corpus.info, corpus.stats)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="projector-hf-") as cache, atomic_dir(path) as tmp:
        dd = to_datasetdict(corpus, cache_dir=cache, scheme=scheme, snap=snap, stats=stats)
        write_hub_folder(dd, tmp, card_body=card or _default_card(corpus))
        del dd
    return stats


def write_hub_folder(dd: Any, folder: Path, *, card_body: str, config_name: str = "default",
                     max_shard_rows: int = 200_000) -> None:
    """Write ``dd`` as parquet shards under ``folder/data`` and a ``README.md`` card with YAML metadata."""
    import yaml

    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    splits_meta = []
    for split_name, ds in dd.items():
        n_shards = max(1, -(-len(ds) // max_shard_rows))
        for k in range(n_shards):
            shard = ds.shard(num_shards=n_shards, index=k, contiguous=True)
            shard.to_parquet(str(data / f"{split_name}-{k:05d}-of-{n_shards:05d}.parquet"))
        splits_meta.append({"name": split_name, "num_bytes": int(ds.data.nbytes), "num_examples": len(ds)})
    first = next(iter(dd.values()))
    meta = {
        # the content's hash in the config: `datasets` keys its cache of a local folder by the folder's
        # name and this metadata only, so two outputs of one shape (OUT_A/pt, OUT_B/pt) would load as
        # whichever was loaded first; with it every content is its own cache entry
        "configs": [{"config_name": config_name, "description": f"content sha256:{_content_hash(data)}",
                     "data_files": [{"split": s, "path": f"data/{s}-*"} for s in dd]}],
        "dataset_info": {"config_name": config_name, "features": first.features._to_yaml_list(),
                         "splits": splits_meta},
    }
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    (folder / "README.md").write_text(f"---\n{header}---\n\n{card_body.strip()}\n", encoding="utf-8")


def _content_hash(data: Path) -> str:
    """A hash of the data files under ``data`` (names and bytes, in name order)."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(data.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(data).as_posix().encode() + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def _default_card(corpus: Corpus) -> str:
    n = {s: len(v) for s, v in corpus.splits.items()}
    from .._version import __version__

    return (f"# Dataset converted by projector\n\nSource: `{corpus.info.source}` ({corpus.info.format}).\n\n"
            f"Examples per split: {json.dumps(n)}.\n\nWritten by projector {__version__}.\n")


class HFFormat:
    """The ``hf`` format (see the module docstring)."""

    name = name
    extensions = extensions
    sniff = staticmethod(sniff)
    read = staticmethod(read)
    write = staticmethod(write)


FORMAT = HFFormat()

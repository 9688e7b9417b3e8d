"""Dataset formats: read any supported dataset into a :class:`Corpus` and write it back.

Formats: ``conll`` (column files), ``jsonl`` (canonical, lossless), ``wikievents``, ``ace``, ``rams``
(event extraction) and ``hf`` (Hugging Face datasets: Hub ids, local folders, Hub-layout output).
The format is detected from the path's extension and content unless given explicitly.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from ..convert import normalize_scheme
from ..errors import FormatError, InputError
from ..registry import Registry
from .base import Corpus, CorpusInfo, Format, check_output, head_of

logger = logging.getLogger("projector")

__all__ = ["Corpus", "CorpusInfo", "Format", "FORMATS", "read", "write", "detect_format", "output_format",
           "extension_owners", "file_extension",
           "corpus_stats"]

FORMATS: Registry[Format] = Registry("format")
FORMATS.register("conll", "projector.formats.conll:FORMAT", aliases=("conll02", "conll03", "bio", "iob"))
FORMATS.register("jsonl", "projector.formats.jsonl:FORMAT", aliases=("json-spans", "projector"))
FORMATS.register("wikievents", "projector.formats.events:WIKIEVENTS")
FORMATS.register("ace", "projector.formats.events:ACE", aliases=("oneie", "xgear", "textee"))
FORMATS.register("rams", "projector.formats.events:RAMS")
FORMATS.register("hf", "projector.formats.hf:FORMAT", aliases=("huggingface", "datasets", "hub"))

# content sniffing order: the most specific layouts first
_SNIFF_ORDER = ("rams", "wikievents", "ace", "jsonl", "conll")
#: endings many layouts use (plain text, any JSON): the content decides when reading
_GENERIC = ("txt", "tsv", "json")


def extension_owners(ext: str) -> list[str]:
    """The formats whose ``Format.extensions`` list ``ext`` (the one table of file endings), the
    formats that list it first ahead of the others, then in registration order."""
    owners = [n for n in FORMATS if ext in FORMATS.get(n).extensions]
    return sorted(owners, key=lambda n: FORMATS.get(n).extensions.index(ext) != 0)


def file_extension(format: str) -> str:
    """The ending a file of ``format`` is written with (the first of its extensions)."""
    return FORMATS.get(format).extensions[0]


def _looks_like_hub_id(source: str) -> bool:
    parts = source.split("/")
    return 1 <= len(parts) <= 2 and all(p and not p.startswith(".") for p in parts) and "." not in parts[-1][-9:]


def detect_format(path: str | Path) -> str:
    """The format of an input path (by content for ambiguous extensions); raises a clear error."""
    p = Path(path)
    if not p.exists():
        if _looks_like_hub_id(str(path)):
            return "hf"
        raise InputError("no such file or directory", path=p)
    if p.is_dir():
        if FORMATS.get("hf").sniff(p, ""):
            return "hf"
        raise FormatError("a directory that is not a Hugging Face dataset (no README.md, data/ or "
                          "dataset_dict.json)", path=p)
    ext = p.suffix.lower().lstrip(".")
    owners = extension_owners(ext)
    if len(owners) == 1 and ext not in _GENERIC:
        return owners[0]
    head = head_of(p)
    if not head.strip():
        raise FormatError("empty file", path=p)
    for name in _SNIFF_ORDER:
        if FORMATS.get(name).sniff(p, head):
            return name
    raise FormatError(f"cannot tell the format from the name or content; choose one with --from "
                      f"({', '.join(FORMATS.names())})", path=p)


def output_format(path: str | Path) -> str:
    """The format to write to ``path``: by extension; a folder or no extension means ``hf``."""
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if not ext or p.is_dir():
        return "hf"
    owners = extension_owners(ext)
    if not owners:
        raise FormatError(f"cannot tell the output format from the extension .{ext}; choose one with --to "
                          f"({', '.join(FORMATS.names())})", path=p)
    return owners[0]


def read(path: str | Path, format: str | None = None, **options: Any) -> Corpus:
    """Read a dataset: a file, a folder or a Hugging Face Hub id.

    Args:
        path: the input.
        format: a name from :data:`FORMATS` (detected when ``None``).
        **options: reader options: ``split``, ``encoding``, ``lang``, ``scheme``; CoNLL ``token_col``,
            ``tag_col``; Hugging Face ``config``, ``revision``, ``tokens_column``, ``tags_column``.
    """
    if options.get("scheme") not in (None, "auto"):
        options["scheme"] = normalize_scheme(options["scheme"])  # a bad --scheme fails before reading
    name = FORMATS.canonical(format) if format else detect_format(path)
    fmt = FORMATS.get(name)
    source: Any = path if name == "hf" and not Path(path).exists() else Path(path)
    if name != "hf" and not Path(path).exists():
        raise InputError("no such file or directory", path=path)
    corpus = fmt.read(source, **options)
    _count_duplicate_ids(corpus)
    return corpus


def _count_duplicate_ids(corpus: Corpus) -> None:
    """Warn about, and count in ``corpus.stats["duplicate_ids"]``, examples whose id was already seen
    (in any split): ids are how reports, checkpoints and translate-test name examples."""
    seen: set[str] = set()
    dups: list[str] = []
    for ex in corpus.examples():
        if ex.id in seen:
            dups.append(ex.id)
        seen.add(ex.id)
    if dups:
        corpus.stats["duplicate_ids"] += len(dups)
        shown = ", ".join(repr(d) for d in list(dict.fromkeys(dups))[:5])
        logger.warning("%s: %d example(s) repeat an earlier example's id (%s)", corpus.info.source, len(dups), shown)


def write(corpus: Corpus, path: str | Path, format: str | None = None, **options: Any) -> Counter[str]:
    """Write ``corpus`` atomically; returns counters of what the format could not hold as is.

    Options: ``split`` (write only that split), ``scheme`` (tag scheme), ``snap`` (span-to-token policy).
    The output is checked first (:func:`projector.formats.base.check_output`): never the input, no file
    where a folder goes or the reverse, a writable place.
    """
    name = FORMATS.canonical(format) if format else output_format(path)
    if options.get("scheme"):
        options["scheme"] = normalize_scheme(options["scheme"])
    check_output(path, folder=name == "hf", inputs=[corpus.info.source] if corpus.info.source else [])
    return FORMATS.get(name).write(corpus, Path(path), **options)


def corpus_stats(corpus: Corpus) -> dict[str, Any]:
    """Counts a user checks before a long run: examples, tokens, spans per label, events per type..."""
    labels: Counter[str] = Counter()
    event_types: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    tokens = overlapping = 0
    per_split = {}
    for split, examples in corpus.splits.items():
        per_split[split] = len(examples)
        for ex in examples:
            tokens += len(ex.tokens)
            labels.update(s.label for s in ex.spans)
            ordered = sorted(ex.spans)
            overlapping += sum(1 for a, b in zip(ordered, ordered[1:]) if a.overlaps(b))
            for ev in ex.events:
                event_types[ev.type] += 1
                roles.update(a.role for a in ev.arguments)
    out: dict[str, Any] = {
        "format": corpus.info.format,
        "source": corpus.info.source,
        "scheme": corpus.info.scheme,
        "examples": len(corpus),
        "splits": per_split,
        "tokens": tokens,
        "spans": sum(labels.values()),
        "spans_per_label": dict(sorted(labels.items())),
        "overlapping_spans": overlapping,
        "tags_repaired": corpus.stats.get("tags_repaired", 0),
        "duplicate_ids": corpus.stats.get("duplicate_ids", 0),
        "errors": 0,
    }
    if event_types:
        out.update(events=sum(event_types.values()), events_per_type=dict(sorted(event_types.items())),
                   arguments=sum(roles.values()), arguments_per_role=dict(sorted(roles.items())))
    return out

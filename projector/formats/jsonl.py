"""JSON Lines with text and character spans: projector's canonical, lossless format.

One example per line::

    {"id": "s1", "lang": "en", "text": "John lives in Paris.",
     "tokens": [["John", 0, 4], ...],
     "spans": [{"start": 0, "end": 4, "label": "PER"}, ...],
     "events": [{"type": "Movement", "trigger": {"start": 5, "end": 10, "label": "Movement"},
                 "arguments": [{"role": "Agent", "start": 0, "end": 4, "entity": 0}]}],
     "split": "train", "meta": {...}}

For convenience the reader also takes lines with only ``tokens`` (strings) and ``tags`` (or ``ner_tags``)
in any tag scheme; the text is then built by detokenization. ``tokens`` may be strings located in the
text, or ``[text, start, end]`` triples. Spans may be ``{"start", "end", "label"}`` objects or
``[start, end, label]`` triples.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..convert import detect_scheme, detokenize, normalize_scheme, tags_to_spans, token_offsets_in
from ..data import Argument, Event, Example, Span, Token
from ..errors import FormatError
from .base import Corpus, CorpusInfo, atomic_file, json_lines, only_split, read_lines, split_from_filename

name = "jsonl"
extensions = ("jsonl", "ndjson")


def sniff(path: Path, head: str) -> bool:
    """A first line that is a JSON object with ``text`` (or ``tokens`` and tags)."""
    first = head.lstrip().split("\n", 1)[0]
    if not first.startswith("{"):
        return False
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    return isinstance(obj, dict) and ("text" in obj or ("tokens" in obj and ("tags" in obj or "ner_tags" in obj)))


def span_to_json(span: Span) -> dict[str, Any]:
    """``{"start", "end", "label"}``."""
    return {"start": span.start, "end": span.end, "label": span.label}


def example_to_dict(ex: Example, split: str | None = None) -> dict[str, Any]:
    """The canonical JSON object of an example (inverse of :func:`example_from_dict`)."""
    obj: dict[str, Any] = {"id": ex.id}
    if ex.lang is not None:
        obj["lang"] = ex.lang
    obj["text"] = ex.text
    if ex.tokens:
        obj["tokens"] = [[t.text, t.start, t.end] for t in ex.tokens]
    obj["spans"] = [span_to_json(s) for s in ex.spans]
    if ex.span_meta:
        obj["span_meta"] = [dict(m) for m in ex.span_meta]
    if ex.events:
        obj["events"] = [
            {"type": ev.type, "trigger": span_to_json(ev.trigger),
             "arguments": [{"role": a.role, "start": a.span.start, "end": a.span.end, "label": a.span.label,
                            **({"entity": a.entity} if a.entity is not None else {})} for a in ev.arguments],
             **({"id": ev.id} if ev.id is not None else {}),
             **({"meta": dict(ev.meta)} if ev.meta else {})}
            for ev in ex.events
        ]
    if ex.sentences:
        obj["sentences"] = [list(s) for s in ex.sentences]
    if split is not None:
        obj["split"] = split
    if ex.meta:
        obj["meta"] = dict(ex.meta)
    return obj


def _offset(value: Any, what: str) -> int:
    """A character offset as written: a JSON integer (``"0"``, ``5.5``, ``true`` are refused, not coerced)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer character offset, not {json.dumps(value)}")
    return value


def _span(obj: Any, default_label: str | None = None) -> Span:
    if isinstance(obj, (list, tuple)):
        start, end, label = (list(obj) + [default_label])[:3]
    else:
        start, end, label = obj["start"], obj["end"], obj.get("label", default_label)
    if label is None:
        raise ValueError(f"span {obj!r} has no label")
    return Span(_offset(start, "span start"), _offset(end, "span end"), str(label))


def example_from_dict(obj: dict[str, Any], *, index: int = 0, scheme: str | None = None) -> tuple[Example, int]:
    """Build an example from its JSON object: ``(example, tags_repaired)``.

    Raises ``ValueError``/``KeyError``/``TypeError`` on bad data.
    """
    ex_id = str(obj.get("id", index))
    lang = obj.get("lang")
    raw_tokens = obj.get("tokens")
    tags = obj.get("tags", obj.get("ner_tags"))
    if "text" not in obj:
        if raw_tokens is None or tags is None:
            raise ValueError("needs 'text' (with 'spans'), or 'tokens' with 'tags'")
        words = [str(t) for t in raw_tokens]
        text, tokens = detokenize(words, lang)
        tag_spans, repairs = tags_to_spans(tokens, [str(t) for t in tags], scheme or detect_scheme([tags]))
        meta = dict(obj.get("meta") or {})
        return Example(id=ex_id, text=text, tokens=tuple(tokens), spans=tuple(tag_spans), lang=lang, meta=meta), repairs
    text = obj["text"]
    if not isinstance(text, str):
        raise TypeError("'text' must be a string")
    tokens_t: tuple[Token, ...] = ()
    if raw_tokens:
        if all(isinstance(t, str) for t in raw_tokens):
            located = token_offsets_in(text, raw_tokens)
            if located is None:
                raise ValueError("the 'tokens' strings cannot be found in order in 'text'")
            tokens_t = tuple(located)
        else:
            tokens_t = tuple(Token(str(t[0]), _offset(t[1], "token start"), _offset(t[2], "token end"))
                             for t in raw_tokens)
    spans = tuple(_span(s) for s in obj.get("spans", obj.get("entities", [])))
    events: list[Event] = []
    for ev in obj.get("events", []):
        trigger = _span(ev["trigger"], ev["type"])
        args = tuple(Argument(str(a["role"]), _span(a, a["role"]), a.get("entity")) for a in ev.get("arguments", []))
        for a in args:
            if a.entity is not None and not 0 <= a.entity < len(spans):
                raise ValueError(f"argument {a.role!r} refers to entity {a.entity}, but there are {len(spans)}")
        events.append(Event(str(ev["type"]), trigger, args, ev.get("id"), ev.get("meta") or {}))
    return Example(id=ex_id, text=text, tokens=tokens_t, spans=spans, events=tuple(events), lang=lang,
                   sentences=tuple(tuple(s) for s in obj.get("sentences", [])),  # type: ignore[misc]
                   span_meta=tuple(obj.get("span_meta", ())), meta=dict(obj.get("meta") or {})), 0


def read(path: Path, *, split: str | None = None, encoding: str = "utf-8", scheme: str | None = None,
         **_: Any) -> Corpus:
    """Read a JSONL file; examples carrying a ``split`` field go to that split.

    ``scheme`` is the tag scheme of ``{"tokens", "tags"}`` lines (``auto``/``None``: detected per line);
    character-span lines have none.
    """
    if scheme == "auto":
        scheme = None
    if scheme is not None:
        scheme = normalize_scheme(scheme)
    splits: dict[str, list[Example]] = {}
    stats: Counter[str] = Counter()
    default_split = split or split_from_filename(path)
    for number, obj in json_lines(read_lines(path, encoding), path):
        try:
            ex, repairs = example_from_dict(obj, index=number, scheme=scheme)
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise FormatError(msg, path=path, line=number) from None
        ex.validate(path=str(path), line=number)
        stats["tags_repaired"] += repairs
        target = split or obj.get("split") or default_split
        splits.setdefault(str(target), []).append(ex)
    if not splits:
        raise FormatError("no examples found (empty file?)", path=path)
    return Corpus(splits=splits, info=CorpusInfo(format=name, source=str(path), scheme=scheme), stats=stats)


def write(corpus: Corpus, path: Path, *, split: str | None = None, **_: Any) -> Counter[str]:
    """Write every example (or one split) losslessly; each line records its split."""
    with atomic_file(path) as fh:
        for split_name, examples in only_split(corpus, split, path):
            for ex in examples:
                obj = example_to_dict(ex, split_name)
                fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return Counter()


class JsonlFormat:
    """The ``jsonl`` format (see the module docstring)."""

    name = name
    extensions = extensions
    sniff = staticmethod(sniff)
    read = staticmethod(read)
    write = staticmethod(write)


FORMAT = JsonlFormat()

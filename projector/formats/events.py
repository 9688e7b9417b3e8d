"""Event-extraction JSON formats: WikiEvents, ACE-style (X-Gear / TextEE / CLaP / OneIE) and RAMS.

All three are token-based documents; projector keeps the tokens, builds the text (WikiEvents' own text
and token offsets are used when present and consistent) and turns every token range into a character
span. Entity mentions become :attr:`Example.spans` (ids and mention types in ``span_meta``); event
mentions become :class:`Event` objects whose arguments point back at the entity they fill
(``Argument.entity``) and whose argument spans carry the role as label. Every other key of a record is
kept in ``meta`` (for instance ``relation_mentions``) and written back.

* ``wikievents``: ``doc_id``, ``tokens``, ``text``, ``sentences``, ``entity_mentions``,
  ``event_mentions`` (arguments by ``entity_id``), token ranges end-exclusive.
* ``ace``: ``tokens``, ``entity_mentions``, ``event_mentions`` with ``trigger`` and arguments given by
  ``start``/``end``/``role`` (or by ``entity_id``, as OneIE does), end-exclusive.
* ``rams``: ``doc_key``, ``sentences`` (token lists), ``ent_spans``, ``evt_triggers``, ``gold_evt_links``,
  token ranges end-inclusive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..convert import Snap, detokenize, snap_span, tokenize
from ..data import Argument, Event, Example, Span, Token
from ..errors import FormatError
from .base import Corpus, CorpusInfo, atomic_file, json_lines, only_split, read_lines, split_from_filename

extensions_wikievents = ("jsonl",)
extensions_ace = ("json", "jsonl")
extensions_rams = ("jsonlines",)


# --------------------------------------------------------------------------- shared helpers

def _records(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, record)`` from JSON lines, or from one JSON array spanning the file."""
    lines = list(read_lines(path, encoding))
    first = next((ln for _, ln in lines if ln.strip()), "")
    if first.lstrip().startswith("["):
        try:
            data = json.loads("\n".join(ln for _, ln in lines))
        except ValueError as exc:
            raise FormatError(f"invalid JSON: {exc}", path=path) from None
        for i, rec in enumerate(data):
            if not isinstance(rec, dict):
                raise FormatError(f"item {i} of the JSON array is not an object", path=path)
            yield 1, rec
        return
    yield from json_lines(lines, path)


def _build_text(sentences: Sequence[Sequence[str]], lang: str | None) -> tuple[str, list[Token], list[tuple[int, int]]]:
    """Detokenize sentence by sentence and join sentences with one space."""
    text_parts: list[str] = []
    tokens: list[Token] = []
    ranges: list[tuple[int, int]] = []
    pos = 0
    for words in sentences:
        if text_parts:
            text_parts.append(" ")
            pos += 1
        s_text, s_tokens = detokenize(list(words), lang)
        tokens.extend(Token(t.text, t.start + pos, t.end + pos) for t in s_tokens)
        ranges.append((pos, pos + len(s_text)))
        text_parts.append(s_text)
        pos += len(s_text)
    return "".join(text_parts), tokens, ranges


def _char_span(tokens: Sequence[Token], start: int, end: int, label: str, what: str) -> Span:
    """Character span of the token range ``[start, end)``; ``ValueError`` when out of range."""
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end <= len(tokens):
        raise ValueError(f"{what} token range [{start}, {end}) is outside the {len(tokens)} tokens")
    return Span(tokens[start].start, tokens[end - 1].end, str(label))


def _token_range(span: Span, tokens: Sequence[Token]) -> tuple[int, int]:
    chunk = snap_span(span, tokens, Snap.EXPAND)
    if chunk is None:
        raise ValueError(f"span {span} touches no token")
    return chunk.start, chunk.end


def _tokens_for(ex: Example) -> list[Token]:
    return list(ex.tokens) or tokenize(ex.text, ex.lang)


def _sentence_of(tokens: Sequence[Token], ranges: Sequence[tuple[int, int]]) -> list[int]:
    """Sentence index of every token (0 when there are no sentence ranges)."""
    out = []
    s = 0
    for t in tokens:
        while s + 1 < len(ranges) and t.start >= ranges[s][1]:
            s += 1
        out.append(s)
    return out


# --------------------------------------------------------------------------- WikiEvents / ACE

_ID_KEYS = ("doc_id", "wnd_id", "sent_id", "id")
_EVENT_CORE = ("tokens", "text", "sentences", "entity_mentions", "event_mentions")


def _doc_text(rec: dict[str, Any], words: list[str], lang: str | None) -> tuple[str, list[Token], list[tuple[int, int]]]:
    """Use the record's own text and token offsets (WikiEvents) when consistent, else detokenize."""
    text, sents = rec.get("text"), rec.get("sentences")
    if isinstance(text, str) and isinstance(sents, list) and sents and isinstance(sents[0], list):
        try:
            toks = [Token(str(t[0]), int(t[1]), int(t[2])) for s in sents for t in s[0]]
            ranges = [(int(s[0][0][1]), int(s[0][-1][2])) for s in sents if s[0]]
        except (TypeError, IndexError, ValueError):
            toks = []
        if [t.text for t in toks] == words and all(text[t.start:t.end] == t.text for t in toks):
            return text, toks, ranges
    sent_words: list[list[str]] = []
    if isinstance(sents, list) and sents and all(isinstance(s, list) and s and isinstance(s[0], list) for s in sents):
        bounds = [len(s[0]) for s in sents]
        if sum(bounds) == len(words):
            i = 0
            for n in bounds:
                sent_words.append(words[i:i + n])
                i += n
    return _build_text(sent_words or [words], lang)


def event_example(rec: dict[str, Any], *, lang: str | None = None, fallback_id: str = "0") -> tuple[Example, str | None, str | None]:
    """One WikiEvents/ACE-style record as an example: ``(example, argument_style, id_key)``.

    Raises ``KeyError``/``TypeError``/``ValueError`` on malformed records.
    """
    words = [str(w) for w in rec["tokens"]]
    if not words:
        raise ValueError("'tokens' is empty")
    text, tokens, ranges = _doc_text(rec, words, lang)
    key = next((k for k in _ID_KEYS if k in rec), None)
    ex_id = str(rec[key]) if key else fallback_id
    arg_style: str | None = None
    spans: list[Span] = []
    span_meta: list[dict[str, Any]] = []
    ent_index: dict[str, int] = {}
    for m in rec.get("entity_mentions", []):
        spans.append(_char_span(tokens, m["start"], m["end"], m.get("entity_type", "ENTITY"), "entity"))
        span_meta.append({k: v for k, v in m.items() if k not in ("start", "end", "entity_type", "text", "sent_idx")})
        if "id" in m:
            ent_index[m["id"]] = len(spans) - 1
    by_range = {(s.start, s.end): i for i, s in enumerate(spans)}
    events = []
    for e in rec.get("event_mentions", []):
        trig = e["trigger"]
        etype = e.get("event_type", e.get("type"))
        trigger = _char_span(tokens, trig["start"], trig["end"], etype, "trigger")
        args = []
        for a in e.get("arguments", []):
            if a.get("entity_id"):
                arg_style = arg_style or "entity_id"
                if a["entity_id"] not in ent_index:
                    raise ValueError(f"argument refers to unknown entity {a['entity_id']!r}")
                idx = ent_index[a["entity_id"]]
                args.append(Argument(a["role"], spans[idx].relabeled(a["role"]), idx))
            else:
                arg_style = arg_style or "offsets"
                span = _char_span(tokens, a["start"], a["end"], a["role"], "argument")
                args.append(Argument(a["role"], span, by_range.get((span.start, span.end))))
        emeta = {k: v for k, v in e.items() if k not in ("id", "event_type", "type", "trigger", "arguments")}
        tmeta = {k: v for k, v in trig.items() if k not in ("start", "end", "text", "sent_idx")}
        if tmeta:
            emeta["trigger_meta"] = tmeta
        events.append(Event(etype, trigger, tuple(args), e.get("id"), emeta))
    meta = {k: v for k, v in rec.items() if k not in _EVENT_CORE and k != key}
    ex = Example(ex_id, text, tuple(tokens), tuple(spans), tuple(events), lang,
                 tuple(ranges) if len(ranges) > 1 else (), tuple(span_meta) if any(span_meta) else (), meta)
    return ex, arg_style, key


def _read_event_json(path: Path, style: str, split: str | None, encoding: str, lang: str | None) -> Corpus:
    examples: list[Example] = []
    arg_style = "entity_id" if style == "wikievents" else None
    id_key = None
    for number, rec in _records(path, encoding):
        try:
            ex, seen_style, key = event_example(rec, lang=lang, fallback_id=f"{path.name}:{number}")
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise FormatError(msg, path=path, line=number) from None
        arg_style = arg_style or seen_style
        id_key = id_key or key
        examples.append(ex)
    if not examples:
        raise FormatError("no documents found (empty file?)", path=path)
    info = CorpusInfo(format=style, source=str(path),
                      options={"argument_style": arg_style or "entity_id", "id_key": id_key or "doc_id"})
    return Corpus({split or split_from_filename(path): examples}, info, Counter())


def _write_event_json(corpus: Corpus, path: Path, style: str, split: str | None) -> Counter[str]:
    same = corpus.info.format == style
    arg_style = corpus.info.options.get("argument_style") if same else None
    arg_style = arg_style or ("entity_id" if style == "wikievents" else "offsets")
    id_key = (corpus.info.options.get("id_key") if same else None) or ("doc_id" if style == "wikievents" else "wnd_id")
    stats: Counter[str] = Counter()
    with atomic_file(path) as fh:
        for _s, examples in only_split(corpus, split, path):
            for ex in examples:
                rec = event_record(ex, style, arg_style, id_key, stats)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return stats


def event_record(ex: Example, style: str, arg_style: str, id_key: str, stats: Counter[str]) -> dict[str, Any]:
    tokens = _tokens_for(ex)
    ranges = list(ex.sentences) or [(0, len(ex.text))]
    sent_of = _sentence_of(tokens, ranges)
    rec: dict[str, Any] = {id_key: ex.id, "tokens": [t.text for t in tokens]}
    if style == "wikievents":
        rec["text"] = ex.text
        groups: list[list[Token]] = [[] for _ in ranges]
        for t, s in zip(tokens, sent_of):
            groups[s].append(t)
        rec["sentences"] = [[[[t.text, t.start, t.end] for t in g], ex.text[r[0]:r[1]]] for g, r in zip(groups, ranges)]
    ents = []
    ids: list[str] = []
    for i, span in enumerate(ex.spans):
        start, end = _token_range(span, tokens)
        meta = dict(ex.span_meta[i]) if ex.span_meta else {}
        ent_id = str(meta.pop("id", f"{ex.id}-T{i}"))
        ids.append(ent_id)
        m: dict[str, Any] = {"id": ent_id}
        if style == "wikievents":
            m["sent_idx"] = sent_of[start]
        m.update({"start": start, "end": end, "entity_type": span.label, **meta,
                  "text": ex.text[tokens[start].start:tokens[end - 1].end]})
        ents.append(m)
    rec["entity_mentions"] = ents
    rec.update({k: v for k, v in ex.meta.items()})
    evs = []
    for k, ev in enumerate(ex.events):
        ts, te = _token_range(ev.trigger, tokens)
        emeta = dict(ev.meta)
        trig: dict[str, Any] = {"start": ts, "end": te, "text": ex.text[tokens[ts].start:tokens[te - 1].end]}
        if style == "wikievents":
            trig["sent_idx"] = sent_of[ts]
        trig.update(emeta.pop("trigger_meta", {}))
        args: list[dict[str, Any]] = []
        for a in ev.arguments:
            if arg_style == "entity_id" and a.entity is not None:
                args.append({"entity_id": ids[a.entity], "role": a.role, "text": a.span.text_of(ex.text)})
            else:
                if arg_style == "entity_id":
                    stats["arguments_without_entity"] += 1
                s, e = _token_range(a.span, tokens)
                args.append({"start": s, "end": e, "role": a.role, "text": ex.text[tokens[s].start:tokens[e - 1].end]})
        evs.append({"id": ev.id or f"{ex.id}-E{k}", "event_type": ev.type, "trigger": trig, "arguments": args, **emeta})
    rec["event_mentions"] = evs
    return rec


# --------------------------------------------------------------------------- RAMS

_RAMS_CORE = ("doc_key", "sentences", "ent_spans", "evt_triggers", "gold_evt_links")


def _label_of(raw: Any, default: str) -> tuple[str, dict[str, Any]]:
    """RAMS labels are ``[[label, score], ...]``: the first label, plus the raw list when not trivial."""
    if isinstance(raw, list) and raw and isinstance(raw[0], list) and raw[0]:
        label = str(raw[0][0])
        return label, ({} if raw == [[label, 1.0]] else {"labels": raw})
    return default, {"labels": raw}


def _read_rams(path: Path, split: str | None, encoding: str, lang: str | None) -> Corpus:
    examples: list[Example] = []
    for number, rec in _records(path, encoding):
        try:
            sents = [[str(w) for w in s] for s in rec["sentences"]]
            if not any(sents):
                raise ValueError("'sentences' holds no tokens")
            text, tokens, ranges = _build_text(sents, lang)
            spans: list[Span] = []
            span_meta: list[dict[str, Any]] = []
            for s, e, raw in rec.get("ent_spans", []):
                label, extra = _label_of(raw, "ARG")
                spans.append(_char_span(tokens, s, e + 1, label, "ent_spans"))
                span_meta.append(extra)
            triggers: dict[tuple[int, int], int] = {}
            events: list[tuple[str, Span, list[Argument], dict[str, Any]]] = []
            for s, e, raw in rec.get("evt_triggers", []):
                etype, extra = _label_of(raw, "EVENT")
                triggers[(s, e)] = len(events)
                events.append((etype, _char_span(tokens, s, e + 1, etype, "evt_triggers"), [], extra))
            for (ts, te), (as_, ae), role in rec.get("gold_evt_links", []):
                if (ts, te) not in triggers:
                    raise ValueError(f"gold_evt_links refers to trigger [{ts}, {te}] not in evt_triggers")
                span = _char_span(tokens, as_, ae + 1, role, "gold_evt_links")
                same = [i for i, sp in enumerate(spans) if (sp.start, sp.end) == (span.start, span.end)]
                idx = next((i for i in same if spans[i].label == role), same[0] if same else None)
                events[triggers[(ts, te)]][2].append(Argument(str(role), span, idx))
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise FormatError(msg, path=path, line=number) from None
        meta = {k: v for k, v in rec.items() if k not in _RAMS_CORE}
        evs = tuple(Event(t, trig, tuple(args), None, extra) for t, trig, args, extra in events)
        examples.append(Example(str(rec.get("doc_key", f"{path.name}:{number}")), text, tuple(tokens), tuple(spans),
                                evs, lang, tuple(ranges) if len(ranges) > 1 else (),
                                tuple(span_meta) if any(span_meta) else (), meta))
    if not examples:
        raise FormatError("no documents found (empty file?)", path=path)
    return Corpus({split or split_from_filename(path): examples}, CorpusInfo(format="rams", source=str(path)), Counter())


def _write_rams(corpus: Corpus, path: Path, split: str | None) -> Counter[str]:
    with atomic_file(path) as fh:
        for _s, examples in only_split(corpus, split, path):
            for ex in examples:
                tokens = _tokens_for(ex)
                ranges = list(ex.sentences) or [(0, len(ex.text))]
                sent_of = _sentence_of(tokens, ranges)
                sentences: list[list[str]] = [[] for _ in ranges]
                for t, s in zip(tokens, sent_of):
                    sentences[s].append(t.text)
                rec: dict[str, Any] = {"doc_key": ex.id, "sentences": [s for s in sentences if s]}

                def labels(label: str, meta: Any) -> Any:
                    return (meta or {}).get("labels", [[label, 1.0]])

                ent = []
                for i, span in enumerate(ex.spans):
                    s, e = _token_range(span, tokens)
                    ent.append([s, e - 1, labels(span.label, ex.span_meta[i] if ex.span_meta else None)])
                trig, links = [], []
                for ev in ex.events:
                    ts, te = _token_range(ev.trigger, tokens)
                    trig.append([ts, te - 1, labels(ev.type, ev.meta)])
                    for a in ev.arguments:
                        s, e = _token_range(a.span, tokens)
                        links.append([[ts, te - 1], [s, e - 1], a.role])
                rec.update({"ent_spans": ent, "evt_triggers": trig, "gold_evt_links": links})
                rec.update(ex.meta)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return Counter()


# --------------------------------------------------------------------------- format objects

class EventJSONFormat:
    """WikiEvents or ACE-style event JSON (see the module docstring)."""

    def __init__(self, style: str) -> None:
        self.name = style
        self.extensions = extensions_wikievents if style == "wikievents" else extensions_ace

    def sniff(self, path: Path, head: str) -> bool:
        first = head.lstrip().lstrip("[").lstrip().split("\n", 1)[0]
        try:
            rec = json.loads(first)
        except ValueError:
            return '"event_mentions"' in head and '"tokens"' in head and (
                self.name == "ace" or '"entity_mentions"' in head)
        if not isinstance(rec, dict) or "tokens" not in rec or "event_mentions" not in rec:
            return False
        args = [a for e in rec.get("event_mentions", []) for a in e.get("arguments", [])]
        by_entity = any("entity_id" in a for a in args)
        if self.name == "wikievents":
            return "sentences" in rec or by_entity
        return not by_entity or "sentences" not in rec

    def read(self, path: Path, *, split: str | None = None, encoding: str = "utf-8", lang: str | None = None,
             **_: Any) -> Corpus:
        return _read_event_json(path, self.name, split, encoding, lang)

    def write(self, corpus: Corpus, path: Path, *, split: str | None = None, **_: Any) -> Counter[str]:
        return _write_event_json(corpus, path, self.name, split)


class RamsFormat:
    """RAMS event JSON lines (see the module docstring)."""

    name = "rams"
    extensions = extensions_rams

    def sniff(self, path: Path, head: str) -> bool:
        return '"evt_triggers"' in head and '"sentences"' in head

    def read(self, path: Path, *, split: str | None = None, encoding: str = "utf-8", lang: str | None = None,
             **_: Any) -> Corpus:
        return _read_rams(path, split, encoding, lang)

    def write(self, corpus: Corpus, path: Path, *, split: str | None = None, **_: Any) -> Counter[str]:
        return _write_rams(corpus, path, split)


WIKIEVENTS = EventJSONFormat("wikievents")
ACE = EventJSONFormat("ace")
RAMS = RamsFormat()

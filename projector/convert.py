"""Converters between the span model and token/tag views.

* tag schemes: IOB2 (``bio``), IOB1, BIOES (``iobes``), BILOU and IO; :func:`tags_to_chunks` decodes
  tags into token chunks, :func:`chunks_to_tags` encodes them back.
* tokens <-> text: :func:`detokenize` joins word tokens into natural text for MT (language-aware, with
  sacremoses; no space before punctuation) and returns each token's offsets; :func:`tokenize` splits text
  into word tokens with offsets (spaCy's rules for the language, Stanza when installed with its model,
  documented fallbacks otherwise: see :func:`word_tokenizer`).
* char spans -> tokens: :func:`snap_span` with an explicit :class:`Snap` policy.

Repair rules for invalid tag sequences (applied and counted, never an exception):

1. A continuation tag (``I-X``; ``E-X``/``L-X`` in BIOES/BILOU) with no open span of type ``X`` (after
   ``O``, at the start, or after a span of another type) starts a new span, as conlleval does.
   In BIOES/BILOU an orphan ``E-X`` therefore becomes a single-token span.
2. BIOES/BILOU only: a span opened by ``B-X`` (or continued by ``I-X``) that is not closed by ``E-X``
   before a tag that cannot continue it ends at the last token it covers.
3. IOB1 only: ``B-X`` after ``O`` or after another type (where IOB1 expects ``I-X``) starts a span.

Each application of a rule counts as one repair.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from .data import Span, Token
from .errors import UnknownNameError
from .langs import base_lang
from .scripts import close_unspaced_gaps, uses_spaces

__all__ = [
    "Chunk",
    "TagError",
    "output_scheme",
    "Snap",
    "SCHEMES",
    "detect_scheme",
    "tags_to_chunks",
    "chunks_to_tags",
    "tags_to_spans",
    "spans_to_tags",
    "resolve_overlaps",
    "snap_span",
    "detokenize",
    "tokenize",
    "token_offsets_in",
]

SCHEMES = ("iob2", "iob1", "bioes", "bilou", "io")
_SCHEME_ALIASES = {"bio": "iob2", "iob": "iob2", "iobes": "bioes", "biluo": "bilou"}
_TAG_RE = re.compile(r"^([BIESLU])[-_](.+)$")
_PREFIX_ONLY_RE = re.compile(r"^[BIESLU][-_]$")


class TagError(ValueError):
    """A tag the scheme cannot read; ``index`` is the token's position in the sequence (0-based)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


class Chunk(NamedTuple):
    """A labeled run of tokens ``[start, end)`` (token indices, end exclusive)."""

    start: int
    end: int
    label: str


class Snap(str, enum.Enum):
    """How a character span is snapped to token boundaries.

    * ``strict``: the span must start and end exactly on token boundaries, otherwise it fails.
    * ``contract``: keep the tokens lying wholly inside the span (fails when there is none).
    * ``expand``: keep every token the span touches (fails only when it touches no token).
    """

    STRICT = "strict"
    CONTRACT = "contract"
    EXPAND = "expand"


def normalize_scheme(scheme: str) -> str:
    """The canonical name of a tag scheme; raises :class:`UnknownNameError`."""
    key = scheme.lower()
    key = _SCHEME_ALIASES.get(key, key)
    if key not in SCHEMES:
        raise UnknownNameError("tag scheme", scheme, SCHEMES + tuple(_SCHEME_ALIASES))
    return key


def output_scheme(requested: str | None, source: str | None) -> str:
    """The tag scheme to write: ``requested`` when given, else the source's (``auto``/unknown: IOB2).

    An IO source is written as IOB2: IO cannot tell two adjacent spans of one label apart (projection
    can make such spans), and IOB2 reads back every IO sequence as the same spans. Raises
    :class:`UnknownNameError` for an unknown scheme, so writers can check before any work.
    """
    if requested:
        return normalize_scheme(requested)
    if not source or source == "auto":
        return "iob2"
    scheme = normalize_scheme(source)
    return "iob2" if scheme == "io" else scheme


def split_tag(tag: str) -> tuple[str, str | None]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", None)``; a bare ``"PER"`` -> ``("", "PER")``."""
    if tag == "O":
        return "O", None
    m = _TAG_RE.match(tag)
    if m:
        return m.group(1), m.group(2)
    return "", tag


def detect_scheme(tag_sequences: Sequence[Sequence[str]]) -> str:
    """Guess the scheme of some tag sequences.

    ``E-``/``S-`` prefixes mean BIOES, ``L-``/``U-`` BILOU; bare labels without prefix mean IO; IOB1 is
    chosen when no ``B-X`` tag ever starts a span after ``O`` or another type (so ``B-`` only separates
    adjacent spans of one type) and some ``I-X`` does; IOB2 otherwise.
    """
    prefixes: set[str] = set()
    b_after_other = False
    i_opens = False
    for tags in tag_sequences:
        prev_label: str | None = None
        for tag in tags:
            prefix, label = split_tag(tag)
            prefixes.add(prefix)
            if prefix == "B" and prev_label != label:
                b_after_other = True
            if prefix == "I" and prev_label != label:
                i_opens = True
            prev_label = label
    if prefixes & {"L", "U"}:
        return "bilou"
    if prefixes & {"E", "S"}:
        return "bioes"
    if "" in prefixes and not prefixes & {"B", "I"}:
        return "io"
    if i_opens and not b_after_other:
        return "iob1"
    return "iob2"


def tags_to_chunks(tags: Sequence[str], scheme: str = "iob2") -> tuple[list[Chunk], int]:
    """Decode a tag sequence into chunks; returns ``(chunks, repairs)`` (see the module's repair rules).

    Raises :class:`TagError` (a ``ValueError`` with the token index) for a tag whose prefix the scheme
    does not use, or a prefix without a label.
    """
    scheme = normalize_scheme(scheme)
    end_p, single_p = ("L", "U") if scheme == "bilou" else ("E", "S")
    chunks: list[Chunk] = []
    repairs = 0
    open_start: int | None = None
    open_label: str | None = None

    def close(at: int) -> None:
        nonlocal open_start, open_label
        if open_start is not None and open_label is not None:
            chunks.append(Chunk(open_start, at, open_label))
        open_start, open_label = None, None

    for i, tag in enumerate(tags):
        prefix, maybe_label = split_tag(tag)
        label = maybe_label or ""
        if prefix == "O":
            if scheme in ("bioes", "bilou") and open_start is not None:
                repairs += 1  # rule 2: span left open
            close(i)
            continue
        if scheme == "io" or prefix == "":
            if scheme != "io" and prefix == "":
                if _PREFIX_ONLY_RE.match(tag):
                    raise TagError(f"token {i}: tag {tag!r} has a prefix but no label (scheme {scheme})", i)
                raise TagError(f"token {i}: tag {tag!r} has no B-/I- prefix (scheme {scheme})", i)
            if open_label != label:
                close(i)
                open_start, open_label = i, label
            continue
        allowed = {"iob2": "BI", "iob1": "BI"}.get(scheme, "BI" + end_p + single_p)
        if prefix not in allowed:
            raise TagError(f"token {i}: tag {tag!r} is not valid in the {scheme.upper()} scheme", i)
        continues = open_label == label
        if scheme == "iob2":
            if prefix == "B" or not continues:
                repairs += prefix == "I"  # rule 1
                close(i)
                open_start, open_label = i, label
        elif scheme == "iob1":
            if prefix == "B":
                repairs += not continues  # rule 3
                close(i)
                open_start, open_label = i, label
            elif not continues:
                close(i)
                open_start, open_label = i, label
        else:  # bioes / bilou
            if open_start is not None and (prefix in ("B", single_p) or not continues):
                repairs += 1  # rule 2: the open span was not closed by an end tag
                close(i)
            if prefix == "B":
                open_start, open_label = i, label
            elif prefix == single_p:
                chunks.append(Chunk(i, i + 1, label))
            elif prefix == "I":
                if open_start is None:
                    repairs += 1  # rule 1
                    open_start, open_label = i, label
            else:  # end tag
                if open_start is None:
                    repairs += 1  # rule 1: orphan end tag -> single-token span
                    open_start, open_label = i, label
                close(i + 1)
    if scheme in ("bioes", "bilou") and open_start is not None:
        repairs += 1
    close(len(tags))
    return chunks, repairs


def chunks_to_tags(chunks: Sequence[Chunk], n_tokens: int, scheme: str = "iob2") -> list[str]:
    """Encode non-overlapping chunks as tags (raises ``ValueError`` on overlap or out of range)."""
    scheme = normalize_scheme(scheme)
    end_p, single_p = ("L", "U") if scheme == "bilou" else ("E", "S")
    tags = ["O"] * n_tokens
    prev: Chunk | None = None
    for chunk in sorted(chunks):
        start, end, label = chunk
        if not 0 <= start < end <= n_tokens:
            raise ValueError(f"chunk {chunk} outside {n_tokens} tokens")
        if prev is not None and start < prev.end:
            raise ValueError(f"chunks {prev} and {chunk} overlap: resolve_overlaps() first")
        if scheme == "io":  # adjacent chunks of one label become one run: IO's own reading of them
            tags[start:end] = [label] * (end - start)
        elif scheme == "iob1":
            first = "B" if prev is not None and prev.end == start and prev.label == label else "I"
            tags[start:end] = [f"{first}-{label}"] + [f"I-{label}"] * (end - start - 1)
        elif scheme == "iob2":
            tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
        elif end - start == 1:
            tags[start] = f"{single_p}-{label}"
        else:
            tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 2) + [f"{end_p}-{label}"]
        prev = chunk
    return tags


def resolve_overlaps(chunks: Sequence[Chunk]) -> tuple[list[Chunk], list[Chunk]]:
    """Make chunks non-overlapping for formats that cannot hold nesting: ``(kept, dropped)``.

    Rule: longer chunks win; among equal lengths the earlier start wins, then the label order. An exact
    duplicate of a kept chunk is dropped too (a tag sequence can hold it only once).
    """
    kept: list[Chunk] = []
    dropped: list[Chunk] = []
    for chunk in sorted(chunks, key=lambda c: (-(c.end - c.start), c.start, c.label)):
        if any(chunk.start < k.end and k.start < chunk.end for k in kept):
            dropped.append(chunk)
        else:
            kept.append(chunk)
    return sorted(kept), sorted(dropped)


def snap_span(span: Span, tokens: Sequence[Token], policy: Snap | str = Snap.EXPAND) -> Chunk | None:
    """The token chunk of a character span under ``policy``; ``None`` when it cannot be snapped."""
    policy = Snap(policy)
    if policy is Snap.STRICT:
        first = next((i for i, t in enumerate(tokens) if t.start == span.start), None)
        last = next((i for i, t in enumerate(tokens) if t.end == span.end), None)
        if first is None or last is None or last < first:
            return None
        return Chunk(first, last + 1, span.label)
    if policy is Snap.CONTRACT:
        inside = [i for i, t in enumerate(tokens) if t.start >= span.start and t.end <= span.end]
    else:
        inside = [i for i, t in enumerate(tokens) if t.start < span.end and span.start < t.end]
    if not inside:
        return None
    return Chunk(inside[0], inside[-1] + 1, span.label)


def tags_to_spans(tokens: Sequence[Token], tags: Sequence[str], scheme: str = "iob2") -> tuple[list[Span], int]:
    """Character spans from per-token tags: ``(spans, repairs)``."""
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
    chunks, repairs = tags_to_chunks(tags, scheme)
    return [Span(tokens[c.start].start, tokens[c.end - 1].end, c.label) for c in chunks], repairs


def spans_to_tags(spans: Sequence[Span], tokens: Sequence[Token], scheme: str = "iob2",
                  policy: Snap | str = Snap.STRICT) -> tuple[list[str], list[Span], list[Span]]:
    """Per-token tags from character spans: ``(tags, unsnappable, dropped_by_overlap)``.

    Spans that cannot be snapped under ``policy`` and spans lost to :func:`resolve_overlaps` are
    returned so the caller can count and report them.
    """
    chunks: list[Chunk] = []
    unsnappable: list[Span] = []
    origin: dict[Chunk, list[Span]] = {}
    for span in spans:
        chunk = snap_span(span, tokens, policy)
        if chunk is None:
            unsnappable.append(span)
        else:
            chunks.append(chunk)
            origin.setdefault(chunk, []).append(span)
    kept, dropped = resolve_overlaps(chunks)
    dropped_spans = [origin[c].pop() for c in dropped]
    return chunks_to_tags(kept, len(tokens), scheme), unsnappable, dropped_spans


# --------------------------------------------------------------------------- tokens <-> text

@lru_cache(maxsize=32)
def _moses(lang: str) -> Any:
    from sacremoses import MosesDetokenizer

    return MosesDetokenizer(lang=lang)


def detokenize(words: Sequence[str], lang: str | None = "en") -> tuple[str, list[Token]]:
    """Join word tokens into natural text and return it with each token's offsets.

    Spacing follows sacremoses' language-aware Moses rules (no space before ``,.;:!?)``, none after
    ``(``, quotes paired, French elision...). In languages written without spaces (:mod:`projector.scripts`)
    no space is put where a character of such a script (CJK, kana, Thai..., CJK punctuation, full-width
    forms) meets another token: ``今日の午後4時に``, ``必要ですか？``; Latin words inside keep Moses'
    spacing (``iPhone 15``). Token strings are kept verbatim: only the spaces between them are decided,
    so ``text[t.start:t.end] == t.text`` always.
    """
    if any(w == "" for w in words):
        raise ValueError("empty token")
    base = base_lang(lang or "en")
    if not words:
        return "", []
    try:
        joined = _moses(base).detokenize(list(words), unescape=False)
    except Exception:  # an odd token can trip sacremoses' regexes: fall back to plain spacing
        joined = " ".join(words)
    tokens = token_offsets_in(joined, words)
    if tokens is None:  # sacremoses rewrote a token: keep its spacing decisions where possible
        tokens = _space_join(words, base)
    if not uses_spaces(lang):  # no space where a character of an unspaced script meets another token
        tokens = close_unspaced_gaps(tokens)
    text = _rebuild(tokens)
    return text, tokens


def token_offsets_in(text: str, words: Sequence[str]) -> list[Token] | None:
    """Locate ``words`` in order in ``text`` (only whitespace may lie between them), or ``None``."""
    out: list[Token] = []
    pos = 0
    for w in words:
        while pos < len(text) and text[pos].isspace() and not w.startswith(text[pos]):
            pos += 1
        if not text.startswith(w, pos):
            return None
        out.append(Token(w, pos, pos + len(w)))
        pos += len(w)
    if text[pos:].strip():
        return None
    return out


def _space_join(words: Sequence[str], lang: str) -> list[Token]:
    sep = " " if uses_spaces(lang) else ""
    out: list[Token] = []
    pos = 0
    for i, w in enumerate(words):
        if i:
            pos += len(sep)
        out.append(Token(w, pos, pos + len(w)))
        pos += len(w)
    return out


def _rebuild(tokens: Sequence[Token]) -> str:
    parts: list[str] = []
    pos = 0
    for t in tokens:
        parts.append(" " * (t.start - pos))
        parts.append(t.text)
        pos = t.end
    return "".join(parts)


def _stanza_tokenizer(lang: str) -> Any | None:
    """A Stanza tokenizer for ``lang`` when Stanza and its downloaded model are present (no download)."""
    try:
        import stanza
        from stanza.resources.common import DEFAULT_MODEL_DIR
    except ImportError:
        return None
    from pathlib import Path

    if not (Path(DEFAULT_MODEL_DIR) / lang / "tokenize").is_dir():
        return None
    pipe = stanza.Pipeline(lang, processors="tokenize", download_method=None, verbose=False)
    return lambda text: [Token(t.text, t.start_char, t.end_char) for s in pipe(text).sentences for t in s.tokens]


@lru_cache(maxsize=32)
def word_tokenizer(lang: str | None, backend: str = "auto") -> Any:
    """The word tokenizer for ``lang``: a function ``text -> list[Token]``.

    ``auto`` takes: for languages written without spaces (Japanese, Chinese, Thai, Lao, Khmer, Burmese,
    Tibetan: :func:`projector.scripts.uses_spaces`), the segmenter :mod:`projector.segment` chooses for
    the language (a PyPI segmenter when installed, a downloaded Stanza model, else one token per
    character); for every other language spaCy's rules for the language, else Stanza when it is
    installed with a downloaded model for the language, else spaCy's multi-language rules (split on
    spaces and punctuation). ``spacy`` and ``stanza`` force a backend; the names of
    :data:`projector.segment.BACKENDS` (``fugashi``, ``jieba``, ``pythainlp``, ``chars``...) force a
    segmenter.
    """
    from . import segment

    base = base_lang(lang or "xx")
    backends = ("auto", "spacy", *segment.BACKENDS[1:])
    if backend not in backends:
        raise UnknownNameError("tokenizer backend", backend, backends)
    if backend == "stanza":
        from ._optional import require

        require("stanza", extra="stanza", purpose="Stanza tokenization")
    if backend not in ("auto", "spacy") or (backend == "auto" and not uses_spaces(lang)):
        return segment.segmenter(base, backend)
    import spacy

    try:
        nlp = spacy.blank(base)
    except Exception:  # spaCy has no rules for this language (or they need another package)
        if backend == "auto":
            stanza_tok = _stanza_tokenizer(base)
            if stanza_tok is not None:
                return stanza_tok
        nlp = spacy.blank("xx")
    rules = nlp.tokenizer
    return lambda text: [Token(t.text, t.idx, t.idx + len(t.text)) for t in rules(text)
                         if not t.is_space and t.text.strip()]


def tokenize(text: str, lang: str | None = None, backend: str = "auto") -> list[Token]:
    """Split ``text`` into word tokens with offsets (see :func:`word_tokenizer` for the choice of rules).

    Whitespace is never part of a token.
    """
    return list(word_tokenizer(lang, backend)(text))

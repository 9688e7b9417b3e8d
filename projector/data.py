"""The data model: labeled spans as character offsets into an example's text.

Everything in projector is expressed with :class:`Span` (character offsets, end exclusive); token and
BIO views are derived from it by the converters in :mod:`projector.convert`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import FormatError

__all__ = ["Span", "Token", "Argument", "Event", "Example", "SpanStatus"]


@dataclass(frozen=True, order=True)
class Span:
    """A labeled character span ``text[start:end]`` (end exclusive)."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not isinstance(self.start, int) or not isinstance(self.end, int):
            raise TypeError(f"span offsets must be int, got {self.start!r}, {self.end!r}")
        if self.start < 0 or self.end <= self.start:
            raise ValueError(f"invalid span offsets [{self.start}, {self.end}) for label {self.label!r}")

    def __len__(self) -> int:
        return self.end - self.start

    def text_of(self, text: str) -> str:
        """The covered substring of ``text``."""
        return text[self.start : self.end]

    def overlaps(self, other: Span) -> bool:
        """True when the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
        """True when ``other`` lies inside this span."""
        return self.start <= other.start and other.end <= self.end

    def shifted(self, delta: int) -> Span:
        """The same span moved by ``delta`` characters."""
        return Span(self.start + delta, self.end + delta, self.label)

    def relabeled(self, label: str) -> Span:
        """The same offsets with another label."""
        return Span(self.start, self.end, label)


@dataclass(frozen=True)
class Token:
    """A word token with its character offsets into the example text (end exclusive)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Argument:
    """An event argument: a role filled by a span.

    ``entity`` is the index into :attr:`Example.spans` of the entity mention the argument refers to,
    when the source format links arguments to entity mentions (WikiEvents, ACE); ``None`` otherwise.
    """

    role: str
    span: Span
    entity: int | None = None


@dataclass(frozen=True)
class Event:
    """An event mention: its type, trigger span and arguments."""

    type: str
    trigger: Span
    arguments: tuple[Argument, ...] = ()
    id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=True, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arguments", tuple(self.arguments))


class SpanStatus:
    """Projection outcomes of a span (a failed projection is data, not an exception)."""

    PROJECTED = "projected"
    FUZZY = "fuzzy"
    FAILED = "failed"
    ALL = (PROJECTED, FUZZY, FAILED)


@dataclass(frozen=True)
class Example:
    """One labeled text: a sentence or a document.

    Attributes:
        id: a stable identifier, unique within its split.
        text: the text all offsets point into.
        tokens: word tokens with offsets (as given by the source, or produced by a tokenizer).
        spans: entity mentions; nesting and overlap are allowed.
        events: event mentions whose triggers and arguments are spans of ``text``.
        lang: language code, when known.
        sentences: character ranges of the sentences of a document (empty for a single sentence).
        span_meta: per-span extras aligned with ``spans`` (mention ids, mention types...), or empty.
        meta: anything else the source carried, kept through to the output.
    """

    id: str
    text: str
    tokens: tuple[Token, ...] = ()
    spans: tuple[Span, ...] = ()
    events: tuple[Event, ...] = ()
    lang: str | None = None
    sentences: tuple[tuple[int, int], ...] = ()
    span_meta: tuple[Mapping[str, Any], ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("tokens", "spans", "events", "sentences", "span_meta"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.span_meta and len(self.span_meta) != len(self.spans):
            raise ValueError(f"example {self.id!r}: span_meta has {len(self.span_meta)} entries for "
                             f"{len(self.spans)} spans")

    def replace(self, **changes: Any) -> Example:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    @property
    def words(self) -> list[str]:
        """The token strings."""
        return [t.text for t in self.tokens]

    def all_spans(self) -> Iterable[Span]:
        """Every span of the example: entity mentions, triggers and arguments."""
        yield from self.spans
        for event in self.events:
            yield event.trigger
            for arg in event.arguments:
                yield arg.span

    def validate(self, *, path: str | None = None, line: int | None = None) -> Example:
        """Check offsets (spans and tokens inside the text); raise :class:`FormatError` otherwise."""
        n = len(self.text)
        for span in self.all_spans():
            if span.end > n:
                raise FormatError(
                    f"example {self.id!r}: span [{span.start}, {span.end}) {span.label!r} lies outside "
                    f"its text of {n} characters", path=path, line=line)
        prev_end = 0
        for tok in self.tokens:
            if tok.start < prev_end or tok.end > n or tok.end <= tok.start:
                raise FormatError(f"example {self.id!r}: token {tok.text!r} has invalid offsets "
                                  f"[{tok.start}, {tok.end})", path=path, line=line)
            prev_end = tok.end
        return self


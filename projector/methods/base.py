"""The interface every projection method implements (codec, markers, align).

A method works on plain texts and character spans: it receives, per input, the source text, the unique
source spans to project and optionally a given target text (*template mode*), and returns the target
text with one :class:`SpanProjection` per source span. Turning examples (entities, events) into method
inputs and back is done once for all methods by :mod:`projector.projection`.

A failed projection is data, not an exception: its status is ``failed`` and ``reason`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..data import Span, SpanStatus, Token

__all__ = ["SpanProjection", "ProjectionInput", "ProjectionOutput", "ProjectionMethod", "failed_output"]


@dataclass(frozen=True)
class SpanProjection:
    """Where one source span landed in the target text.

    Attributes:
        source: the source span.
        target: the projected span (its label is the source label), or ``None`` when it failed.
        status: ``projected``, ``fuzzy`` (projected with a repair or a heuristic choice) or ``failed``.
        reason: why it failed or is fuzzy (a short, stable phrase used to group failures in reports).
        score: the method's confidence (a log-probability for codec), when it has one.
    """

    source: Span
    target: Span | None
    status: str = SpanStatus.PROJECTED
    reason: str | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        if self.status not in SpanStatus.ALL:
            raise ValueError(f"unknown span status {self.status!r}")
        if (self.target is None) != (self.status == SpanStatus.FAILED):
            raise ValueError("a failed projection has no target span, and only a failed one")

    @property
    def ok(self) -> bool:
        """True when the span projected (exactly or fuzzily)."""
        return self.target is not None

    @classmethod
    def failure(cls, source: Span, reason: str) -> SpanProjection:
        """A failed projection of ``source``."""
        return cls(source, None, SpanStatus.FAILED, reason)


@dataclass(frozen=True)
class ProjectionInput:
    """One source text, its unique spans to project, and optionally the given target text.

    ``tokens`` / ``template_tokens`` are the word tokens of the source / template when the data provides
    them (methods that work on words use them instead of tokenizing again); empty otherwise.
    """

    text: str
    spans: tuple[Span, ...]
    template: str | None = None
    tokens: tuple[Token, ...] = ()
    template_tokens: tuple[Token, ...] = ()


@dataclass(frozen=True)
class ProjectionOutput:
    """The target text of one input and the projection of each of its spans (same order).

    ``status``/``reason`` describe the translation (``ok``, or e.g. ``too_long`` with a reason); ``info``
    holds method-specific figures (scored tokens, the clean translation used as template...).
    """

    text: str
    spans: tuple[SpanProjection, ...]
    status: str = "ok"
    reason: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ProjectionMethod(Protocol):
    """A label projection method."""

    #: registry name (``codec``, ``markers``, ``align``)
    name: str
    #: whether :meth:`project` accepts a given target text (template mode)
    supports_template: bool

    def project(self, inputs: Sequence[ProjectionInput], src_lang: str, tgt_lang: str) -> list[ProjectionOutput]:
        """Project every input's spans; one output per input, in input order."""
        ...

    def signature(self) -> str:
        """A short string naming the method, its options and the models it uses (for reports and cards)."""
        ...


def failed_output(item: ProjectionInput, status: str, reason: str, text: str = "") -> ProjectionOutput:
    """An output whose spans all failed for one reason (e.g. the translation itself failed)."""
    return ProjectionOutput(text or (item.template or ""), tuple(SpanProjection.failure(s, reason) for s in item.spans),
                            status=status, reason=reason)

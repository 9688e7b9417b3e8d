"""Project whole examples (entities and events) with any projection method.

Every span of an example is projected once: entity mentions, event triggers and the arguments that do
not point at an entity mention (arguments that do reuse the projection of their entity). The target
example keeps the spans that projected, each event whose trigger projected with the arguments that
projected, and the source's meta; every source span gets a :class:`SpanProjection` in the result, so
nothing is lost without a trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from .data import Argument, Event, Example, Span
from .methods.base import ProjectionInput, ProjectionMethod, ProjectionOutput, SpanProjection

__all__ = ["ProjectedExample", "project_examples", "TOKEN_BOUND_META"]

#: meta keys that describe the source's tokens and therefore do not carry over to a translation
TOKEN_BOUND_META = ("conll_columns",)


@dataclass(frozen=True)
class ProjectedExample:
    """The projection of one example.

    Attributes:
        source: the source example.
        target: the target example (target text, projected spans and events, ``lang`` = target).
        spans: one projection per source entity span (same order as ``source.spans``).
        triggers: one projection per source event trigger.
        arguments: per source event, one projection per argument.
        output: the method's raw output (target text, translation status, method figures).
    """

    source: Example
    target: Example
    spans: tuple[SpanProjection, ...]
    triggers: tuple[SpanProjection, ...]
    arguments: tuple[tuple[SpanProjection, ...], ...]
    output: ProjectionOutput

    def all_projections(self) -> Iterator[SpanProjection]:
        """Every span projection: entities, triggers, arguments."""
        yield from self.spans
        yield from self.triggers
        for args in self.arguments:
            yield from args

    @property
    def status(self) -> str:
        """``projected`` (every span projected), ``partial``, ``failed`` (none did) or ``unlabeled``
        (the source had no spans)."""
        projections = list(self.all_projections())
        if not projections:
            return "unlabeled"
        ok = sum(p.ok for p in projections)
        if ok == len(projections):
            return "projected"
        return "partial" if ok else "failed"


def _unique_spans(ex: Example) -> list[tuple[int, int, str]]:
    """The distinct character ranges to project (first label seen for a range is used)."""
    seen: dict[tuple[int, int], str] = {}
    for span in ex.spans:
        seen.setdefault((span.start, span.end), span.label)
    for ev in ex.events:
        seen.setdefault((ev.trigger.start, ev.trigger.end), ev.trigger.label)
        for arg in ev.arguments:
            if arg.entity is None:
                seen.setdefault((arg.span.start, arg.span.end), arg.span.label)
    return [(s, e, label) for (s, e), label in seen.items()]


def to_input(ex: Example, template: str | Example | None = None) -> ProjectionInput:
    """The method input of an example: its text, tokens and unique spans, plus the template if given
    (a text, or an example whose text and tokens are used)."""
    spans = tuple(Span(s, e, label) for s, e, label in _unique_spans(ex))
    if isinstance(template, Example):
        return ProjectionInput(ex.text, spans, template.text, ex.tokens, template.tokens)
    return ProjectionInput(ex.text, spans, template, ex.tokens)


def from_output(ex: Example, out: ProjectionOutput, tgt_lang: str) -> ProjectedExample:
    """Rebuild the target example from a method output for :func:`to_input`'s spans."""
    by_range = {(p.source.start, p.source.end): p for p in out.spans}

    def proj(span: Span) -> SpanProjection:
        p = by_range[(span.start, span.end)]
        if p.source.label == span.label:
            return p
        target = p.target.relabeled(span.label) if p.target is not None else None
        return SpanProjection(span, target, p.status, p.reason, p.score)

    span_proj = tuple(proj(s) for s in ex.spans)
    new_index: dict[int, int] = {}
    kept_spans: list[Span] = []
    kept_meta = []
    for i, p in enumerate(span_proj):
        if p.target is not None:
            new_index[i] = len(kept_spans)
            kept_spans.append(p.target)
            if ex.span_meta:
                kept_meta.append(ex.span_meta[i])
    trig_proj: list[SpanProjection] = []
    arg_proj: list[tuple[SpanProjection, ...]] = []
    events: list[Event] = []
    for ev in ex.events:
        tp = proj(ev.trigger)
        trig_proj.append(tp)
        projections = []
        args = []
        for arg in ev.arguments:
            if arg.entity is not None:
                ep = span_proj[arg.entity]
                ap = SpanProjection(arg.span, ep.target.relabeled(arg.role) if ep.target else None,
                                    ep.status, ep.reason, ep.score)
            else:
                ap = proj(arg.span)
            projections.append(ap)
            if ap.target is not None and tp.target is not None:
                entity = new_index.get(arg.entity) if arg.entity is not None else None
                args.append(Argument(arg.role, ap.target, entity))
        arg_proj.append(tuple(projections))
        if tp.target is not None:
            events.append(Event(ev.type, tp.target, tuple(args), ev.id, ev.meta))
    meta = {k: v for k, v in ex.meta.items() if k not in TOKEN_BOUND_META}
    target = Example(id=ex.id, text=out.text, spans=tuple(kept_spans), events=tuple(events), lang=tgt_lang,
                     span_meta=tuple(kept_meta), meta=meta)
    return ProjectedExample(ex, target, span_proj, tuple(trig_proj), tuple(arg_proj), out)


def project_examples(examples: Iterable[Example], method: ProjectionMethod, src_lang: str, tgt_lang: str, *,
                     templates: Iterable[str | Example] | None = None, batch_size: int = 64) -> Iterator[ProjectedExample]:
    """Project examples in batches, streaming results in input order.

    Args:
        examples: source examples.
        method: a projection method (see :mod:`projector.methods`).
        src_lang, tgt_lang: language codes.
        templates: given target texts (or target examples, whose tokens are then used), one per example
            (template mode: translate-test, or evaluation on human parallel text); the method must support it.
        batch_size: examples per call of the method (the method batches its model calls itself).
    """
    if templates is not None and not method.supports_template:
        from .errors import ConfigError

        raise ConfigError(f"the {method.name!r} method produces its own translation and cannot project onto a "
                          f"given target text; use codec or align")
    ex_iter = iter(examples)
    tpl_iter = iter(templates) if templates is not None else None
    while True:
        batch: Sequence[Example] = list(islice(ex_iter, batch_size))
        if not batch:
            if tpl_iter is not None and next(tpl_iter, None) is not None:
                from .errors import InputError

                raise InputError("more target texts than examples")
            return
        tpls: list[str | Example | None] = [None] * len(batch)
        if tpl_iter is not None:
            tpls = list(islice(tpl_iter, len(batch)))
            if len(tpls) != len(batch):
                from .errors import InputError

                raise InputError(f"fewer target texts than examples (stopped at example {batch[len(tpls)].id!r})")
        inputs = [to_input(ex, t) for ex, t in zip(batch, tpls)]
        outputs = method.project(inputs, src_lang, tgt_lang)
        if len(outputs) != len(inputs):
            raise RuntimeError(f"method {method.name!r} returned {len(outputs)} outputs for {len(inputs)} inputs")
        for ex, out in zip(batch, outputs):
            yield from_output(ex, out, tgt_lang)

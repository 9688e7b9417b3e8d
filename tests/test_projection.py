"""Example-level projection: spans, events and their links survive; failures are recorded, not lost."""

from __future__ import annotations

import pytest

from projector.data import Argument, Event, Example, Span, SpanStatus
from projector.methods.base import ProjectionInput, ProjectionOutput, SpanProjection, failed_output
from projector.projection import from_output, project_examples, to_input

SRC = Example(
    id="e1", lang="en", text="Rebels attacked Kabul on Monday.",
    spans=(Span(0, 6, "PER"), Span(16, 21, "GPE")),
    events=(Event("Attack", Span(7, 15, "Attack"),
                  (Argument("Attacker", Span(0, 6, "Attacker"), 0), Argument("Place", Span(16, 21, "Place"), 1),
                   Argument("Time", Span(25, 31, "Time"))), "ev1"),),
    span_meta=({"id": "T1"}, {"id": "T2"}),
    meta={"conll_columns": {"1": ["X"]}, "doc": "d"},
)
TGT_TEXT = "Rebeldes atacaram Cabul na segunda-feira."
WHERE = {(0, 6): (0, 8), (7, 15): (9, 17), (16, 21): (18, 23), (25, 31): (27, 40)}


def _output(item: ProjectionInput, failing: set[tuple[int, int]]) -> ProjectionOutput:
    projections = []
    for s in item.spans:
        if (s.start, s.end) in failing:
            projections.append(SpanProjection.failure(s, "no candidate"))
        else:
            a, b = WHERE[(s.start, s.end)]
            projections.append(SpanProjection(s, Span(a, b, s.label), SpanStatus.PROJECTED, score=-1.0))
    return ProjectionOutput(TGT_TEXT, tuple(projections))


def test_to_input_projects_each_range_once() -> None:
    item = to_input(SRC)
    assert [(s.start, s.end) for s in item.spans] == [(0, 6), (16, 21), (7, 15), (25, 31)]
    assert item.template is None
    assert to_input(SRC, "given").template == "given"


@pytest.mark.parametrize("failing,status,n_spans,n_events,n_args", [
    (set(), "projected", 2, 1, 3),
    ({(16, 21)}, "partial", 1, 1, 2),  # entity fails: its argument fails with it
    ({(7, 15)}, "partial", 2, 0, 0),  # trigger fails: the event goes, the entities stay
    ({(25, 31)}, "partial", 2, 1, 2),
    ({(0, 6), (7, 15), (16, 21), (25, 31)}, "failed", 0, 0, 0),
])
def test_from_output(failing: set[tuple[int, int]], status: str, n_spans: int, n_events: int, n_args: int) -> None:
    result = from_output(SRC, _output(to_input(SRC), failing), "pt")
    tgt = result.target
    assert result.status == status
    assert tgt.lang == "pt" and tgt.text == TGT_TEXT and tgt.id == "e1"
    assert len(tgt.spans) == n_spans and len(tgt.span_meta) == n_spans
    assert len(tgt.events) == n_events
    assert sum(len(e.arguments) for e in tgt.events) == n_args
    # every source span has a projection record: nothing vanishes without a trace
    assert len(result.spans) == 2 and len(result.triggers) == 1 and len(result.arguments[0]) == 3
    assert sum(not p.ok for p in result.all_projections()) == sum(
        1 for p in [(0, 6), (16, 21), (7, 15), (0, 6), (16, 21), (25, 31)] if p in failing)
    assert "conll_columns" not in tgt.meta and tgt.meta["doc"] == "d"
    for ev in tgt.events:  # entity links point at the right (re-indexed) target entity
        for arg in ev.arguments:
            if arg.entity is not None:
                ent = tgt.spans[arg.entity]
                assert (ent.start, ent.end) == (arg.span.start, arg.span.end)
                assert arg.span.label == arg.role


def test_labels_follow_the_source_span_not_the_range() -> None:
    ex = Example("x", "Bob Bob", spans=(Span(0, 3, "PER"), Span(0, 3, "ORG")))
    item = to_input(ex)
    assert len(item.spans) == 1
    out = ProjectionOutput("Bob", (SpanProjection(item.spans[0], Span(0, 3, "PER")),))
    res = from_output(ex, out, "pt")
    assert [s.label for s in res.target.spans] == ["PER", "ORG"]


def test_failed_translation_fails_every_span_with_its_reason() -> None:
    res = from_output(SRC, failed_output(to_input(SRC), "too_long", "input too long"), "pt")
    assert res.status == "failed"
    assert {p.reason for p in res.all_projections()} == {"input too long"}


class _CopyMethod:
    """Projects onto a template equal to the source text: spans keep their offsets."""

    name = "copy"
    supports_template = True

    def project(self, inputs, src_lang, tgt_lang):  # type: ignore[no-untyped-def]
        return [ProjectionOutput(i.template or i.text, tuple(SpanProjection(s, s) for s in i.spans)) for i in inputs]

    def signature(self) -> str:
        return "copy"


def test_project_examples_streams_in_order_and_checks_templates() -> None:
    examples = [SRC.replace(id=str(i)) for i in range(5)]
    out = list(project_examples(examples, _CopyMethod(), "en", "en", templates=[SRC.text] * 5, batch_size=2))
    assert [r.target.id for r in out] == ["0", "1", "2", "3", "4"]
    assert all(r.target.spans == SRC.spans for r in out)
    from projector.errors import InputError

    with pytest.raises(InputError, match="fewer target texts"):
        list(project_examples(examples, _CopyMethod(), "en", "en", templates=[SRC.text] * 3, batch_size=2))
    with pytest.raises(InputError, match="more target texts"):
        list(project_examples(examples, _CopyMethod(), "en", "en", templates=[SRC.text] * 6, batch_size=2))

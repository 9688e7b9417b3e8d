"""MarkersMethod end to end: real offline translation (Bergamot en->pt), and a tiny random model whose
broken markers must come back as failed spans with reasons."""

from __future__ import annotations

from typing import Any

import pytest

from projector.data import Argument, Event, Example, Span, SpanStatus
from projector.errors import ConfigError
from projector.methods import get_method
from projector.methods.base import ProjectionInput, ProjectionMethod
from projector.methods.markers import MarkersMethod
from projector.projection import project_examples

SENTENCES = [
    ("Maria lives in Lisbon with John Smith.", [(0, 5, "PER"), (15, 21, "LOC"), (27, 37, "PER")]),
    ("The European Union signed the agreement in Brussels.", [(4, 18, "ORG"), (43, 51, "LOC")]),
    ("Yesterday Google bought a small company in Porto.", [(10, 16, "ORG"), (43, 48, "LOC")]),
    ("Nothing to see here.", []),
    ("Paris is big.", [(0, 5, "LOC")]),
]


def _inputs() -> list[ProjectionInput]:
    return [ProjectionInput(t, tuple(Span(s, e, lab) for s, e, lab in sp)) for t, sp in SENTENCES]


def _check(inputs: list[ProjectionInput], outputs: list[Any]) -> None:
    assert len(outputs) == len(inputs)
    for it, out in zip(inputs, outputs, strict=True):
        assert len(out.spans) == len(it.spans)  # statuses add up to the input spans
        assert "[" not in out.text and "]" not in out.text and "<" not in out.text
        for p, src in zip(out.spans, it.spans, strict=True):
            assert p.source == src and p.status in SpanStatus.ALL
            if p.target is None:
                assert p.reason
            else:
                piece = p.target.text_of(out.text)
                assert piece and piece == piece.strip() and piece in out.text
                assert p.target.label == src.label


@pytest.mark.slow
@pytest.mark.parametrize("markers", ["brackets", "tags"])
def test_end_to_end_on_bergamot(bergamot: Any, markers: str) -> None:
    method = MarkersMethod(translator=bergamot, markers=markers, marker_cost=True)
    assert isinstance(method, ProjectionMethod) and not method.supports_template
    inputs = _inputs()
    outputs = method.project(inputs, "en", "pt")
    _check(inputs, outputs)
    assert outputs[3].spans == () and outputs[3].text
    for out in outputs:
        assert 0 <= out.info["marker_chrf"] <= 100 and out.info["clean_translation"]
    if markers == "brackets":  # the bundled model keeps brackets: these project for real
        first = {p.source.label + ":" + p.target.text_of(outputs[0].text) for p in outputs[0].spans if p.ok}
        assert "LOC:Lisboa" in first and "PER:Maria" in first
        assert all(p.ok for out in outputs for p in out.spans)


@pytest.mark.slow
def test_examples_with_events_on_bergamot(bergamot: Any) -> None:
    text = "Maria moved to Lisbon in 2020."
    ex = Example("x", text, spans=(Span(0, 5, "PER"), Span(15, 21, "LOC")),
                 events=(Event("Movement", Span(6, 11, "Movement"),
                               (Argument("Agent", Span(0, 5, "PER"), 0), Argument("Time", Span(25, 29, "TIME")))),))
    (r,) = project_examples([ex], get_method("markers", translator=bergamot), "en", "pt")
    assert len(list(r.all_projections())) == 5
    for p in r.all_projections():
        if p.target is not None:
            assert p.target.end <= len(r.target.text)
    assert r.target.text == r.output.text
    if r.triggers[0].ok:
        ev = r.target.events[0]
        assert ev.type == "Movement"
        assert {a.role for a in ev.arguments} <= {"Agent", "Time"}


@pytest.mark.slow
def test_broken_markers_are_failures_with_reasons(ct2_translators: dict[str, Any]) -> None:
    """A random model drops or garbles markers: every span still gets a status, failures a reason."""
    method = MarkersMethod(translator=ct2_translators["nllb"], max_length=20)
    inputs = [ProjectionInput("John lives in Lisbon.", (Span(0, 4, "PER"), Span(14, 20, "LOC"))),
              ProjectionInput("The big red house.", (Span(4, 11, "X"), Span(4, 7, "Y"), Span(8, 18, "Z")))]
    outputs = method.project(inputs, "en", "pt")
    for it, out in zip(inputs, outputs, strict=True):
        assert len(out.spans) == len(it.spans)
        for p in out.spans:
            if p.target is None:
                assert p.reason
            else:
                assert p.target.text_of(out.text)
    # "big red" and "red house" cross: one of them cannot be marked
    assert outputs[1].spans[2].reason == "crosses another span (markers cannot express it)"
    assert "markers(markers=brackets" in method.signature()


def test_options_are_checked(bergamot: Any) -> None:
    with pytest.raises(ConfigError):
        MarkersMethod(translator=bergamot, markers="stars")
    with pytest.raises(ConfigError):
        MarkersMethod()
    with pytest.raises(ConfigError, match="cannot take a target text"):
        MarkersMethod(translator=bergamot).project([ProjectionInput("a", (), "b")], "en", "pt")

"""CodecMethod end to end on tiny random models (template mode, translation mode, events, failures as
data), and its re-ranking and overlap rules."""

from __future__ import annotations

from typing import Any

import pytest

from projector.data import Argument, Event, Example, Span, SpanStatus
from projector.errors import ConfigError
from projector.methods import get_method
from projector.methods._rerank import Candidate, rerank, resolve_overlaps
from projector.methods.base import ProjectionInput, ProjectionMethod
from projector.methods.codec import CodecMethod, mark_source
from projector.projection import project_examples

SRC = "John lives in Lisbon with the big dog."
TPL = "João mora em Lisboa com o cão grande."
SPANS = (Span(0, 4, "PER"), Span(14, 20, "LOC"), Span(30, 37, "ANIMAL"))


def test_mark_source_puts_markers_around_one_span() -> None:
    assert mark_source(SRC, SPANS[1]) == "John lives in [ Lisbon ] with the big dog."
    assert mark_source(SRC, SPANS[0]) == "[ John ] lives in Lisbon with the big dog."
    assert mark_source("Lisbon", Span(0, 6, "LOC")) == "[ Lisbon ]"


def test_rerank_follows_codecs_cascade() -> None:
    a = Candidate(0, 10, -1.0, 0, lex=0.4, rev=-3.0)     # best placement, wide
    b = Candidate(5, 10, -2.0, 1, lex=0.45, rev=-1.0)    # inside a, better reverse score
    c = Candidate(20, 25, -3.0, 2, lex=0.2, rev=-9.0)    # not viable
    assert rerank([a, b, c])[0] == b and c not in rerank([a, b, c])
    sure = Candidate(30, 36, -5.0, 3, lex=0.95, rev=-4.0)
    assert rerank([a, b, sure])[0] == sure
    assert rerank([c]) == []
    # without reverse scores the model's best placement stays viable
    assert rerank([Candidate(0, 3, -1.0, 0, lex=0.1)])[0].start == 0


def test_overlapping_projections_of_disjoint_spans_are_resolved_by_confidence() -> None:
    x = [Candidate(0, 5, -1.0, 0, lex=0.9), Candidate(10, 15, -2.0, 1, lex=0.3)]
    y = [Candidate(0, 5, -1.5, 0, lex=0.5), Candidate(20, 25, -2.5, 1, lex=0.4)]
    z = [Candidate(2, 4, -1.0, 0, lex=0.2)]
    out = resolve_overlaps([(0, 4), (10, 14), (20, 24)], [x, y, z])
    assert out[0].candidate == x[0] and not out[0].moved
    assert out[1].candidate == y[1] and out[1].moved
    assert out[2].candidate is None
    # nested source spans may nest in the target
    out = resolve_overlaps([(0, 10), (0, 4)], [[Candidate(0, 9, -1, 0, 0.9)], [Candidate(0, 3, -1, 0, 0.8)]])
    assert all(o.candidate is not None for o in out)


@pytest.mark.slow
@pytest.mark.parametrize("fam", ["nllb", "marian"])
@pytest.mark.parametrize("search", ["exact", "pruned"])
def test_template_mode_projects_onto_the_given_text(fam: str, search: str, ct2_translators: dict[str, Any]) -> None:
    # lex_keep=0: every candidate is viable (a random model's never resemble the source span)
    method = CodecMethod(translator=ct2_translators[fam], search=search, top_n=3, lex_keep=0.0, reverse=False)
    assert isinstance(method, ProjectionMethod) and method.supports_template
    out = method.project([ProjectionInput(SRC, SPANS, TPL), ProjectionInput("Red", (), "Vermelho")], "en", "pt")
    assert len(out) == 2 and out[1].text == "Vermelho" and out[1].spans == ()
    res = out[0]
    assert res.text == TPL and res.status == "ok" and len(res.spans) == len(SPANS)
    assert res.info["template_given"] is True
    for p, src in zip(res.spans, SPANS, strict=True):
        assert p.source == src
        assert p.status in SpanStatus.ALL
        if p.target is not None:
            piece = p.target.text_of(TPL)
            assert piece and piece == piece.strip() and p.target.label == src.label
            assert p.score is not None and p.score < 0
        else:
            assert p.reason
    assert sum(p.ok for p in res.spans) >= 2  # at most one loses an overlap
    stats = method.last_stats
    assert stats["spans"] == 3 and stats["tokens"] > 0
    # markers only at word boundaries: projected spans are whole words of the template
    words = set(TPL.replace(".", " ").split())
    for p in res.spans:
        if p.target is not None:
            assert all(w in words for w in p.target.text_of(TPL).replace(".", " ").split())


@pytest.mark.slow
@pytest.mark.parametrize("fam", ["nllb", "marian"])
def test_beam_search_stays_within_its_budget(fam: str, ct2_translators: dict[str, Any]) -> None:
    method = CodecMethod(translator=ct2_translators[fam], search="beam", top_n=3, lex_keep=0.0, reverse=False,
                         beam_width=2, beam_rescore=3)
    res = method.project([ProjectionInput(SRC, SPANS, TPL)], "en", "pt")[0]
    assert res.text == TPL and len(res.spans) == len(SPANS)
    assert "search=beam(width=2,rescore=3)" in method.signature()
    assert sum(p.ok for p in res.spans) >= 1
    for p in res.spans:
        if p.target is not None:
            assert p.target.text_of(TPL).strip() and p.score is not None and p.score < 0
    # one marked pass per span, two openings and three rescored placements per span
    assert method.last_stats["sequences"] <= len(SPANS) * (1 + 2 + 3)
    # by default every allowed opening (a word start of TPL) gets a pass and 2 x top-n are rescored
    wide = CodecMethod(translator=ct2_translators[fam], search="beam", top_n=3, lex_keep=0.0, reverse=False)
    wide.project([ProjectionInput(SRC, SPANS, TPL)], "en", "pt")
    _, tasks, _ = wide.build_tasks([ProjectionInput(SRC, SPANS, TPL)], [TPL], [0], "en", "pt")
    budget = sum(1 + len([i for i in t.opens if i < max(t.closes)]) + 6 for t in tasks)
    assert method.last_stats["sequences"] < wide.last_stats["sequences"] <= budget


@pytest.mark.slow
def test_translation_mode_events_and_failures(ct2_translators: dict[str, Any]) -> None:
    tr = ct2_translators["nllb"]
    method = get_method("codec", translator=tr, top_n=2, max_length=12)
    assert "codec(search=beam" in method.signature()  # auto without an encoder
    trig, arg = Span(5, 10, "Life:Live"), Span(14, 20, "Place")
    ex = Example("e1", SRC, spans=(Span(0, 4, "PER"),),
                 events=(Event("Life:Live", trig, (Argument("Resident", Span(0, 4, "PER"), 0),
                                                   Argument("Place", arg))),))
    blank = Example("e2", " ", spans=())
    results = list(project_examples([ex, blank], method, "en", "pt"))
    r = results[0]
    assert r.target.text == r.output.text and r.target.text  # the translation used
    assert len(r.spans) == 1 and len(r.triggers) == 1 and len(r.arguments[0]) == 2
    statuses = [p.status for p in r.all_projections()]
    assert len(statuses) == 4 and all(s in SpanStatus.ALL for s in statuses)
    for p in r.all_projections():
        if p.target is not None:
            assert p.target.end <= len(r.target.text)
    if r.target.events:
        assert r.target.events[0].type == "Life:Live"
        assert {a.role for a in r.target.events[0].arguments} <= {"Resident", "Place"}
    assert results[1].output.status == "empty" and results[1].status == "unlabeled"


@pytest.mark.slow
def test_separate_scorer_and_too_long_inputs(ct2_translators: dict[str, Any]) -> None:
    method = CodecMethod(translator=ct2_translators["marian"], scorer=ct2_translators["nllb"], top_n=2)
    assert "scorer=" in method.signature()
    long_src = " ".join(["John"] * 70)
    out = method.project([ProjectionInput(SRC, SPANS[:1], TPL), ProjectionInput(long_src, (Span(0, 4, "PER"),), TPL)],
                         "en", "pt")
    assert out[0].info["marker_pieces"] == [["▁["], ["▁]"]]  # the scorer's (NLLB) pieces
    failed = out[1].spans[0]
    assert failed.status == SpanStatus.FAILED and "limit" in (failed.reason or ""), failed.reason
    with pytest.raises(ConfigError):
        CodecMethod(translator=ct2_translators["nllb"], search="greedy")


@pytest.mark.slow
def test_given_target_tokens_bound_the_projected_spans(ct2_translators: dict[str, Any]) -> None:
    from projector.data import Token

    tpl = "João mora em Lisboa-Norte, com o cão grande."
    words = [("João", 0), ("mora", 5), ("em", 10), ("Lisboa", 13), ("-", 19), ("Norte", 20), (",", 25),
             ("com", 27), ("o", 31), ("cão", 33), ("grande", 37), (".", 43)]
    toks = tuple(Token(w, s, s + len(w)) for w, s in words)
    # a random model's candidates are never "viable": accept every candidate to see where they fall
    method = CodecMethod(translator=ct2_translators["nllb"], top_n=3, reverse=False, lex_keep=0.0)
    out = method.project([ProjectionInput(SRC, SPANS, tpl, template_tokens=toks)], "en", "pt")[0]
    starts, ends = {t.start for t in toks}, {t.end for t in toks}
    assert any(p.ok for p in out.spans)
    for p in out.spans:
        if p.target is not None:
            assert p.target.start in starts and p.target.end in ends

"""Codec's guided search: candidate generation and the combined choice (pure functions), and the
search end to end on tiny real models with a real aligner."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from projector.data import Argument, Event, Example, Span, SpanStatus
from projector.methods._guided import (
    Features,
    candidate_ranges,
    choose,
    combined_score,
    coverage,
    link_ranges,
    piece_boundary,
    word_variants,
)
from projector.methods.base import ProjectionInput
from projector.methods.codec import CodecMethod
from projector.projection import project_examples

SRC = "John lives in Lisbon with the big dog."
TPL = "João mora em Lisboa com o cão grande."
SPANS = (Span(0, 4, "PER"), Span(14, 20, "LOC"), Span(30, 37, "ANIMAL"))
W = {"mt": 0.25, "src": 1.0, "tgt": 1.0, "lex": 1.0, "rev": 0.1}


@pytest.mark.parametrize(("span", "links", "want"), [
    ((0, 1), {(0, 0)}, (0, 1)),
    ((1, 3), {(1, 4), (2, 2), (0, 0)}, (2, 5)),      # the hull of the linked words
    ((1, 2), {(0, 0), (2, 1)}, None),                 # nothing linked: no range
    ((0, 2), set(), None),
])
def test_link_ranges(span: tuple[int, int], links: set[tuple[int, int]], want: tuple[int, int] | None) -> None:
    assert link_ranges(span, links) == want


@pytest.mark.parametrize(("rng", "n", "widen", "want"), [
    ((1, 2), 4, 1, [(1, 2), (0, 2), (1, 3)]),           # narrowing a one-word range leaves nothing
    ((0, 2), 2, 1, [(0, 2), (1, 2), (0, 1)]),           # no widening past either end
    ((1, 3), 5, 1, [(1, 3), (0, 3), (2, 3), (1, 2), (1, 4)]),
    ((1, 3), 5, 0, [(1, 3)]),
])
def test_word_variants(rng: tuple[int, int], n: int, widen: int, want: list[tuple[int, int]]) -> None:
    assert word_variants(rng, n, widen) == want


def test_candidate_ranges_dedup_members_intersection_union_and_extra() -> None:
    a, b = {(0, 1), (1, 2)}, {(0, 1), (1, 3)}
    got = candidate_ranges((0, 2), [a, b], a & b | {(1, 2)}, 5, extra=[(4, 5), None], widen=0)
    # ensemble (1,3); member a (1,3) again; member b (1,4); intersection (1,2); union (1,4) again; extra
    assert got == [(1, 3), (1, 4), (1, 2), (4, 5)]
    assert len(set(candidate_ranges((0, 2), [a, b], a, 5))) == len(candidate_ranges((0, 2), [a, b], a, 5))
    assert candidate_ranges((0, 1), [set()], set(), 5) == []             # a silent aligner proposes nothing
    assert candidate_ranges((0, 1), [set()], set(), 5, extra=[(2, 3)], widen=0) == [(2, 3)]


def test_coverage() -> None:
    links = {(0, 1), (1, 2), (1, 3), (5, 4)}
    assert coverage((0, 2), (1, 3), links) == (1.0, 1.0)
    assert coverage((0, 2), (1, 5), links) == (1.0, 0.75)   # word 4 is linked elsewhere
    assert coverage((0, 4), (1, 2), links) == (0.25, 1.0)


def test_combined_score_by_hand() -> None:
    f = Features(mt=-2.0, src_cov=1.0, tgt_cov=0.5, lex=0.8, rev=-3.0, src_words=2)
    assert combined_score(f, W) == pytest.approx(0.25 * -2 + 1.0 + 0.5 + 0.8 + 0.1 * -1.5)
    floor = Features(mt=-100.0, src_cov=0.0, tgt_cov=0.0, lex=0.0, rev=-100.0, src_words=1)
    assert combined_score(floor, W) == pytest.approx(0.25 * -20 + 0.1 * -10)   # floors
    no_rev = Features(mt=0.0, src_cov=0.0, tgt_cov=0.0, lex=0.0, rev=None)
    assert combined_score(no_rev, W) == pytest.approx(0.1 * -5)


def test_choose_keeps_what_the_aligner_linked_and_fails_only_without_any_viable() -> None:
    linked = Features(-5.0, 1.0, 1.0, 0.1, -20.0)          # low lex and rev, but the aligner links it
    likely = Features(0.0, 0.0, 0.0, 0.3, -9.0)             # the MT model's best, nothing else for it
    sure = Features(-1.0, 0.0, 0.0, 0.95, -2.0)             # codec's thresholds keep it
    assert choose([likely, linked], W, lex_keep=0.5, rev_keep=-5.0) == [1]
    # sure: -0.25 + 0.95 - 0.2 = 0.5 beats linked: -1.25 + 2 + 0.1 - 1.0 = -0.15; likely is not viable
    assert choose([likely, linked, sure], W, lex_keep=0.5, rev_keep=-5.0) == [2, 1]
    assert choose([likely], W, lex_keep=0.5, rev_keep=-5.0) == []
    assert choose([], W, lex_keep=0.5, rev_keep=-5.0) == []


@pytest.mark.parametrize(("char", "want"), [(0, 0), (5, 1), (6, 2), (100, 3)])
def test_piece_boundary(char: int, want: int) -> None:
    assert piece_boundary([(0, 4), (5, 9), (10, 13)], char) == want


# -- end to end ---------------------------------------------------------------------------------------

def _guided(tr: Any, encoder: Path, **kw: Any) -> CodecMethod:
    return CodecMethod(translator=tr, search="guided", aligner="embedding", encoder=str(encoder), layer=2, **kw)


@pytest.mark.slow
def test_guided_scores_equal_brute_force_and_aligned_spans_are_kept(ct2_translators: dict[str, Any],
                                                                    tiny_encoder: Path) -> None:
    from projector.methods._search import brute_force

    tr = ct2_translators["nllb"]
    method = _guided(tr, tiny_encoder, top_n=3)
    item = ProjectionInput(SRC, SPANS, TPL)
    out = method.project([item], "en", "pt")[0]
    assert out.text == TPL and len(out.spans) == len(SPANS)
    cands = out.info["guided"]
    assert all(cands), "the aligner proposed candidates for every span"
    # every span the aligner proposed a candidate for is projected, whatever the random model thinks
    assert all(p.ok for p in out.spans)
    assert method.last_stats["sequences"] <= sum(len(c) for c in cands)   # one exact score per candidate
    # the candidates' exact scores are brute force's scores of the same placements
    _, tasks, _ = method.build_tasks([item], [TPL], [0], "en", "pt")
    o, c, _ = method._marker_pieces("pt")
    wide = copy.deepcopy(tasks)
    for t in wide:
        t.top_n = 10_000
    brute = brute_force(method._score("en", "pt"), wide, o, c)
    entry = method._search_all([item], [TPL], [0], "en", "pt", __import__("projector.methods._search",
                                                                           fromlist=["SearchStats"]).SearchStats())
    for s, (_, placements) in entry[0]["spans"].items():
        by_pos = {(p.open, p.close): p.score for p in brute[s]}
        assert placements and all(p.score == pytest.approx(by_pos[(p.open, p.close)], abs=1e-3) for p in placements)


@pytest.mark.slow
def test_guided_in_translation_mode_with_events(ct2_translators: dict[str, Any], tiny_encoder: Path) -> None:
    method = _guided(ct2_translators["nllb"], tiny_encoder, top_n=2, max_length=12)
    trig, arg = Span(5, 10, "Life:Live"), Span(14, 20, "Place")
    ex = Example("e1", SRC, spans=(Span(0, 4, "PER"),),
                 events=(Event("Life:Live", trig, (Argument("Resident", Span(0, 4, "PER"), 0), Argument("Place", arg))),))
    (r,) = project_examples([ex], method, "en", "pt")
    assert r.target.text and len(r.triggers) == 1 and len(r.arguments[0]) == 2
    assert all(p.status in SpanStatus.ALL for p in r.all_projections())
    assert "codec(search=guided" in method.signature()


@pytest.mark.slow
def test_translate_test_through_guided(tmp_path: Path, tiny_nllb: Path, tiny_encoder: Path,
                                       projector_cache: Path) -> None:
    """Template mode: the original sentence is the template; the guide aligns the pivot side to it."""
    from projector import read, translate_test
    from tests.test_translate_test import PT, _label_pivot_side

    src = tmp_path / "test.conll"
    src.write_text(PT, encoding="utf-8")
    translate_test(src, tgt_lang="pt", model=str(tiny_nllb), export=tmp_path / "en.jsonl")
    _label_pivot_side(tmp_path / "en.jsonl", tmp_path / "en_labeled.jsonl")
    options = {"search": "guided", "aligner": "embedding", "encoder": str(tiny_encoder), "layer": 2}
    result = translate_test(src, tgt_lang="pt", method="codec", model=str(tiny_nllb),
                            predictions=tmp_path / "en_labeled.jsonl", method_options=options)
    rep = result.report.languages["pt"]
    assert rep.examples_in == 3 and "codec(search=guided" in result.report.signature
    n_pred = sum(len(p.spans) for p in read(tmp_path / "en_labeled.jsonl").examples())
    assert sum(sum(c.values()) for c in rep.spans_by_label.values()) == n_pred  # every predicted span accounted for
    for orig, pred in zip(read(src).examples(), result.predictions.examples(), strict=True):
        assert pred.text == orig.text and all(0 <= s.start < s.end <= len(orig.text) for s in pred.spans)

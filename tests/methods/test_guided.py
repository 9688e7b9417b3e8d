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


@pytest.mark.parametrize(("rng", "n", "widen", "narrow", "want"), [
    ((1, 3), 5, 0, 1, [(1, 3), (2, 3), (1, 2)]),                      # the default: narrowed only
    ((1, 3), 5, 1, 0, [(1, 3), (0, 3), (1, 4)]),                      # widened only
    ((1, 2), 4, 0, 1, [(1, 2)]),                                      # a one-word range has no narrower one
    ((1, 4), 6, 0, 2, [(1, 4), (2, 4), (1, 3), (3, 4), (1, 2)]),      # up to two words off either end
    ((1, 4), 6, 1, 2, [(1, 4), (0, 4), (2, 4), (1, 3), (1, 5), (3, 4), (1, 2)]),
])
def test_word_variants_widen_and_narrow_apart(rng: tuple[int, int], n: int, widen: int, narrow: int,
                                              want: list[tuple[int, int]]) -> None:
    assert word_variants(rng, n, widen, narrow) == want


@pytest.mark.parametrize(("widen", "narrow", "want"), [
    # seeds: ensemble = member a (1,5), member b (2,3) (no intersection; the union is (1,5) again)
    (1, 1, [(1, 5), (2, 3), (2, 5), (1, 4), (1, 3), (2, 4)]),   # every seed narrowed, the shortest widened
    (0, 1, [(1, 5), (2, 3), (2, 5), (1, 4)]),
    (1, 0, [(1, 5), (2, 3), (1, 3), (2, 4)]),                   # (1,5) is never widened to (0,5)/(1,6)
    (0, 0, [(1, 5), (2, 3)]),
])
def test_candidate_ranges_narrow_every_seed_widen_the_shortest(widen: int, narrow: int,
                                                               want: list[tuple[int, int]]) -> None:
    a, b = {(0, 1), (1, 4)}, {(0, 2)}
    assert candidate_ranges((0, 2), [a, b], a, 7, widen=widen, narrow=narrow) == want


def test_candidate_ranges_default_options() -> None:
    from projector.options import CodecOptions

    opts = CodecOptions()
    assert (opts.widen, opts.narrow) == (1, 1)
    got = candidate_ranges((0, 2), [{(0, 1), (1, 4)}, {(0, 2)}], {(0, 1), (1, 4)}, 7, widen=opts.widen,
                           narrow=opts.narrow)
    assert got == [(1, 5), (2, 3), (2, 5), (1, 4), (1, 3), (2, 4)]


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


def test_ranked_is_the_choice_as_candidates_with_combined_scores() -> None:
    from projector.methods._guided import ranked

    likely = Features(0.0, 0.0, 0.0, 0.3, -9.0)
    linked = Features(-5.0, 1.0, 1.0, 0.1, -20.0)
    sure = Features(-1.0, 0.0, 0.0, 0.95, -2.0)
    got = ranked([(0, 4), (5, 9), (10, 13)], [likely, linked, sure], W, lex_keep=0.5, rev_keep=-5.0)
    assert [(c.start, c.end, c.rank) for c in got] == [(10, 13, 0), (5, 9, 1)]
    assert [c.score for c in got] == pytest.approx([0.5, -0.15])         # as in the case above
    assert [(c.lex, c.rev) for c in got] == [(0.95, -2.0), (0.1, -20.0)]
    assert ranked([(0, 4)], [likely], W, lex_keep=0.5, rev_keep=-5.0) == []


def _words(*ws: str) -> list[Any]:
    from projector.data import Token

    out, pos = [], 0
    for w in ws:
        out.append(Token(w, pos, pos + len(w)))
        pos += len(w) + 1
    return out


def test_align_answers_are_the_align_methods_with_its_conflict_rules() -> None:
    from alignment.heuristics import SpanOptions, project_spans
    from projector.methods._guided import _heuristic_range, align_answers

    src = _words("John", "Smith", "visited", "New", "York")
    tgt = _words("João", "Smith", "visitou", "Nova", "Iorque")
    links = [(0, 0), (1, 1), (1, 3), (2, 2), (3, 3), (4, 4)]          # "Smith" also linked to "Nova"
    spans = [Span(0, 10, "PER"), Span(19, 27, "LOC"), Span(100, 104, "X")]
    together = project_spans([(0, 2, "PER"), (3, 5, "LOC")], links, [t.text for t in tgt],
                             src_tokens=[t.text for t in src], options=SpanOptions())
    got = align_answers(spans, links, src, tgt, SpanOptions())
    assert got == {0: together[0].target, 1: together[1].target}      # a span outside the source: none
    assert got[0] == (0, 4)                                             # PER wins the conflict over "Nova"
    assert _heuristic_range((3, 5), links, src, tgt, SpanOptions()) == (3, 5) != got[1]   # LOC alone


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


# -- span translations (codec's lexical similarity): bounded by the span's length ---------------------

@pytest.mark.parametrize(("pieces", "want"), [
    ([0], [8]),            # 2*0 + 8
    ([1], [16]),           # 10, rounded up to a multiple of 8
    ([4], [16]),           # exactly 16
    ([5], [24]),           # 18 -> 24
    ([28], [64]),          # 64
    ([40], [64]),          # capped at SPAN_TRANSLATION_MAX
])
def test_span_translation_bounds(pieces: list[int], want: list[int]) -> None:
    from projector.methods.codec import span_translation_bounds

    assert span_translation_bounds(pieces) == want


class _LengthRecorder:
    """A translator whose source pieces are the text's characters; records each call's max_length."""

    def __init__(self, tokenizes: bool = True) -> None:
        self.calls: list[tuple[list[str], int]] = []
        self.tokenizes = tokenizes

    def tokenize(self, texts: list[str], lang: str, *, side: str = "target") -> list[list[str]]:
        if not self.tokenizes:
            raise NotImplementedError
        return [list(t) for t in texts]

    def translate(self, texts: list[str], src: str, tgt: str, *, beam_size: int, max_length: int) -> list[Any]:
        from mt_backends.base import Hypothesis, TranslationResult

        self.calls.append((list(texts), max_length))
        return [TranslationResult((Hypothesis(t.upper(), (), 0.0),)) for t in texts]


def test_translate_spans_one_call_per_bound_results_in_order() -> None:
    from projector.methods.codec import translate_spans

    tr = _LengthRecorder()
    texts = ["ab", "x" * 30, "cd", " ", "ab"]
    out = translate_spans(tr, texts, "en", "pt", 2)
    assert [r.text if r is not None else None for r in out] == ["AB", "X" * 30, "CD", None, "AB"]
    # two pieces -> 12 -> 16; thirty -> 68 -> 64; the blank one is not translated; repeats once
    assert tr.calls == [(["ab", "cd"], 16), (["x" * 30], 64)]
    untok = _LengthRecorder(tokenizes=False)                    # no tokenizer: the old bound for all
    translate_spans(untok, ["ab", "cd"], "en", "pt", 2)
    assert untok.calls == [(["ab", "cd"], 64)]

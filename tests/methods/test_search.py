"""Codec's placement search: exact best-first search == brute-force enumeration (tiny random models
of several families), and the pieces/offsets/boundaries it relies on."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projector.data import Span
from projector.methods._search import (
    SearchStats,
    SearchTask,
    allowed_boundaries,
    brute_force,
    marked_target,
    piece_offsets,
    pruned_positions,
    search_placements,
)
from projector.methods.codec import CodecMethod, mark_source
from tests.mt.tiny_models import WORDS_EN, WORDS_PT


def test_piece_offsets_follow_sentencepiece_pieces() -> None:
    text = "O gato, em Lisboa."
    pieces = ["▁O", "▁ga", "to", ",", "▁em", "▁", "Lis", "boa", "."]
    offs = piece_offsets(text, pieces)
    assert [text[s:e] for s, e in offs] == ["O", "ga", "to", ",", "em", "", "Lis", "boa", "."]
    allowed = allowed_boundaries(text, offs)
    # never inside a word; before/after punctuation and at spaces yes
    assert allowed == [True, True, False, True, True, True, True, False, True, True]
    assert all(allowed_boundaries(text, offs, words=False))


def test_piece_offsets_survive_normalization_and_unknown_pieces() -> None:
    text = "ﬁm de «Lisboa»"
    offs = piece_offsets(text, ["▁fi", "m", "▁de", "▁<unk>", "Lisboa", "<unk>"])
    assert offs[0] == (0, 1) and offs[2] == (3, 5) and text[offs[4][0]:offs[4][1]] == "Lisboa"
    assert all(0 <= s <= e <= len(text) for s, e in offs)


def test_marked_target_and_pruned_positions() -> None:
    assert marked_target(["a", "b", "c"], ["["], ["]"], 1, 3) == ["a", "[", "b", "c", "]"]
    assert marked_target(["a", "b"], ["▁", "["], ["]"], 0) == ["▁", "[", "a", "b"]
    clean = [-1.0] * 14
    marked = [-1.0] * 14
    marked[6] = -2.0   # strong change
    marked[3] = -1.2   # weak change, within 5 of the strong one
    marked[12] = -1.2  # weak change, too far (6 + 5 < 12)
    assert pruned_positions(clean, marked) == {3, 6}
    assert len(pruned_positions(clean, clean)) == 3  # nothing changes: the 3 largest changes


# -- exact search == brute force -------------------------------------------------------------------

FAMILIES = ["marian", "nllb", "m2m100"]


def _task(tr: Any, src_words: list[str], span: tuple[int, int], tgt_words: list[str], top_n: int,
          words: bool) -> SearchTask:
    text = " ".join(src_words) + "."
    a, b = span
    start = len(" ".join(src_words[:a])) + (1 if a else 0)
    end = len(" ".join(src_words[:b]))
    tpl = " ".join(tgt_words) + "."
    pieces = tr.tokenize([tpl], "pt")[0]
    allowed = allowed_boundaries(tpl, piece_offsets(tpl, pieces), words=words)
    src = tr.tokenize([mark_source(text, Span(start, end, "X"))], "en", side="source")[0]
    m = len(pieces)
    return SearchTask(src, pieces, [i for i in range(m) if allowed[i]],
                      [j for j in range(1, m + 1) if allowed[j]], top_n)


@st.composite
def _problem(draw: st.DrawFn) -> tuple[list[str], tuple[int, int], list[str], int, bool]:
    src = draw(st.lists(st.sampled_from(WORDS_EN), min_size=2, max_size=9))
    a = draw(st.integers(0, len(src) - 1))
    b = draw(st.integers(a + 1, min(len(src), a + 3)))
    tgt = draw(st.lists(st.sampled_from([*WORDS_PT, ","]), min_size=2, max_size=11))
    return src, (a, b), tgt, draw(st.sampled_from([1, 3])), draw(st.booleans())


@pytest.mark.slow
@pytest.mark.parametrize("probe", [False, True])
@pytest.mark.parametrize("fam", FAMILIES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems=st.lists(_problem(), min_size=1, max_size=4))
def test_exact_search_equals_brute_force(fam: str, probe: bool, ct2_translators: dict[str, Any],
                                         problems: list[Any]) -> None:
    """With plain prefix bounds and with the markers' probed log-probs added to them."""
    tr = ct2_translators[fam]
    o, c, _ = CodecMethod(translator=tr)._marker_pieces("pt")
    tasks = [_task(tr, *p) for p in problems]
    probed: list[int] = []

    def score(s: list[list[str]], t: list[list[str]], probes: list[str | None] | None = None) -> list[Any]:
        if probes is None:
            return tr.score(s, t, "en", "pt")
        probed.append(sum(p is not None for p in probes))
        return tr.score(s, t, "en", "pt", probe=probes)

    ex_stats, bf_stats = SearchStats(), SearchStats()
    exact = search_placements(score, copy.deepcopy(tasks), o, c, batch_candidates=8, stats=ex_stats, probe=probe)
    assert (sum(probed) > 0) == probe
    brute = brute_force(score, tasks, o, c, stats=bf_stats)
    for x, y in zip(exact, brute, strict=True):
        assert [p.score for p in x] == pytest.approx([p.score for p in y], abs=1e-4)
        assert [(p.open, p.close) for p in x] == [(p.open, p.close) for p in y] or \
            len({round(p.score, 4) for p in y}) < len(y)  # only equal scores may come in another order
    # every exact score is a real teacher-forced score of its placement
    t0, p0 = tasks[0], exact[0][0]
    direct = tr.score([t0.source], [marked_target(t0.template, o, c, p0.open, p0.close)], "en", "pt")[0]
    assert direct.total == pytest.approx(p0.score, abs=1e-4)


@pytest.mark.slow
def test_marker_pieces_come_from_the_vocabulary_or_the_tokenizer(ct2_translators: dict[str, Any]) -> None:
    o, c, origin = CodecMethod(translator=ct2_translators["nllb"])._marker_pieces("pt")
    assert (o, c, origin) == (("▁[",), ("▁]",), "vocabulary")
    # the tiny Marian target vocabulary has "[" but no "▁[": the tokenizer's pieces for it are used
    o, c, origin = CodecMethod(translator=ct2_translators["marian"])._marker_pieces("pt")
    assert o == tuple(ct2_translators["marian"].tokenize(["["], "pt")[0]) and len(o) == 2
    assert origin == "tokenizer"


def test_token_boundaries_follow_the_datas_tokens() -> None:
    from projector.methods._search import token_boundaries

    text = "O gato, em Lisboa."
    offs = piece_offsets(text, ["▁O", "▁ga", "to", ",", "▁em", "▁", "Lis", "boa", "."])
    # the data tokenized "gato," as one token and split "Lis|boa"
    allowed = token_boundaries(offs, [(0, 1), (2, 7), (8, 10), (11, 14), (14, 17), (17, 18)])
    assert allowed == [True, True, False, False, True, True, True, True, True, True]


def _probed(tr: Any, tasks: list[SearchTask], o: tuple[str, ...]) -> None:
    """Fill prefix_logprobs/open_probe as codec's pruning pass does."""
    res = tr.score([t.source for t in tasks], [t.template for t in tasks], "en", "pt", probe=o[0])
    for t, r in zip(tasks, res, strict=True):
        t.prefix_logprobs, t.open_probe = list(r.logprobs), list(r.probe_logprobs)


@pytest.mark.slow
@pytest.mark.parametrize("fam", ["marian", "nllb"])
def test_beam_placements_cover_everything_when_wide(fam: str, ct2_translators: dict[str, Any]) -> None:
    """Expanding every opening and rescoring every estimate is brute force: same placements, same scores."""
    from projector.methods._search import beam_placements

    tr = ct2_translators[fam]
    o, c, _ = CodecMethod(translator=tr)._marker_pieces("pt")
    tasks = [_task(tr, ["the", "cat", "sees", "maria"], (1, 3), ["o", "gato", "vê", "maria"], 100, True),
             _task(tr, ["john", "lives", "in", "lisbon"], (3, 4), ["joão", "mora", "em", "lisboa"], 100, False)]
    _probed(tr, tasks, o)

    def score(s: list[list[str]], t: list[list[str]], probes: Any = None) -> list[Any]:
        return tr.score(s, t, "en", "pt", probe=probes)

    wide = beam_placements(score, copy.deepcopy(tasks), o, c, opens=None, rescore=10**6)
    brute = brute_force(score, copy.deepcopy(tasks), o, c)
    for x, y in zip(wide, brute, strict=True):
        assert sorted((p.open, p.close) for p in x) == sorted((p.open, p.close) for p in y)
        assert [p.score for p in x] == pytest.approx([p.score for p in y], abs=1e-4)


@pytest.mark.slow
def test_beam_placements_estimates_and_budget(ct2_translators: dict[str, Any]) -> None:
    from projector.methods._search import beam_placements

    tr = ct2_translators["nllb"]
    o, c, _ = CodecMethod(translator=tr)._marker_pieces("pt")
    task = _task(tr, ["the", "big", "cat", "sees", "maria", "today"], (2, 3),
                 ["o", "gato", "grande", "vê", "maria", "hoje"], 3, False)
    _probed(tr, [task], o)
    calls: list[int] = []

    def score(s: list[list[str]], t: list[list[str]], probes: Any = None) -> list[Any]:
        calls.append(len(t))
        return tr.score(s, t, "en", "pt", probe=probes)

    stats = SearchStats()
    est = beam_placements(score, [copy.deepcopy(task)], o, c, opens=2, rescore=0, stats=stats)[0]
    assert calls == [2] and stats.sequences == 2 and len(est) == 3  # two opening passes, no rescoring
    assert [p.score for p in est] == sorted((p.score for p in est), reverse=True)
    # an estimate = exact prefix with the opening marker + log P(closing piece) + the same pass's suffix
    best = est[0]
    opened = tr.score([task.source], [marked_target(task.template, o, c, best.open)], "en", "pt", probe=c[0])[0]
    lo = len(o)
    manual = sum(opened.logprobs[:best.close + lo]) + opened.probe_logprobs[best.close + lo] + \
        sum(opened.logprobs[best.close + lo:]) + opened.eos_logprob
    assert best.score == pytest.approx(manual, abs=1e-3)
    # the two openings expanded are those where the model gives the opening piece the most probability
    likeliest = sorted((i for i in task.opens if i < max(task.closes)), key=lambda i: (-task.open_probe[i], i))[:2]
    assert {p.open for p in est} <= set(likeliest)
    exact = beam_placements(score, [copy.deepcopy(task)], o, c, opens=2, rescore=3, stats=SearchStats())[0]
    for p in exact:  # rescored: real teacher-forced scores of the same candidates
        direct = tr.score([task.source], [marked_target(task.template, o, c, p.open, p.close)], "en", "pt")[0]
        assert p.score == pytest.approx(direct.total, abs=1e-4)
    assert {(p.open, p.close) for p in exact} == {(p.open, p.close) for p in est}

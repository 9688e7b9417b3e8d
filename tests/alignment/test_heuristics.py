"""Span heuristics and link ensembles: table-driven and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignment.base import AlignmentResult
from alignment.heuristics import (
    CONFLICT_CLIPPED,
    DERIVED_RELABELLED,
    GAP_FILLED,
    GROUP_DROPPED,
    PUNCT_TRIMMED,
    SpanOptions,
    combine_links,
    derived_label,
    is_punctuation,
    project_spans,
)
from projector.errors import ConfigError, UnknownNameError

TGT = ["Das", "Europäische", "Parlament", ",", "in", "Berlin", "und", "Paris", "."]


@pytest.mark.parametrize(
    ("spans", "links", "options", "expected"),
    [
        # one-to-one, contiguous
        ([(0, 2, "ORG")], {(0, 1), (1, 2)}, SpanOptions(), [((1, 3), "projected", None)]),
        # nothing aligned
        ([(0, 1, "PER")], {(1, 1)}, SpanOptions(), [(None, "failed", "no aligned target words")]),
        # only punctuation aligned
        ([(0, 1, "PER")], {(0, 3), (0, 8)}, SpanOptions(), [(None, "failed", "only punctuation aligned")]),
        # punctuation kept when trimming is off
        ([(0, 1, "PER")], {(0, 3)}, SpanOptions(trim_punct=False), [((3, 4), "projected", None)]),
        # gap of one filled
        ([(0, 2, "LOC")], {(0, 5), (1, 7)}, SpanOptions(gap_fill=1), [((5, 8), "fuzzy", None)]),
        # gap not filled: largest group (ties -> first) kept
        ([(0, 2, "LOC")], {(0, 5), (1, 7)}, SpanOptions(gap_fill=0), [((5, 6), "fuzzy", None)]),
        # keep=all covers everything
        ([(0, 3, "LOC")], {(0, 1), (2, 7)}, SpanOptions(gap_fill=0, keep="all"), [((1, 8), "fuzzy", None)]),
        # largest group wins over a stray link
        ([(0, 3, "ORG")], {(0, 1), (1, 2), (2, 7)}, SpanOptions(gap_fill=0), [((1, 3), "fuzzy", None)]),
        # punctuation trimmed from the edges after gap filling
        ([(0, 2, "LOC")], {(0, 2), (1, 4)}, SpanOptions(gap_fill=1), [((2, 5), "fuzzy", None)]),
        # links outside the target are ignored
        ([(0, 1, "PER")], {(0, 42)}, SpanOptions(), [(None, "failed", "no aligned target words")]),
    ],
)
def test_project_spans_table(spans, links, options, expected):
    out = project_spans(spans, links, TGT, options=options)
    assert [(p.target, p.status, p.reason) for p in out] == expected


def test_notes_name_the_heuristics():
    (p,) = project_spans([(0, 3, "ORG")], {(0, 1), (1, 2), (1, 3), (2, 7)}, TGT, options=SpanOptions(gap_fill=1))
    assert p.target == (1, 3) and p.status == "fuzzy"
    assert GROUP_DROPPED in p.notes and PUNCT_TRIMMED in p.notes
    (q,) = project_spans([(0, 2, "LOC")], {(0, 5), (1, 7)}, TGT)
    assert q.notes == (GAP_FILLED,)


@pytest.mark.parametrize(
    ("rule", "scores", "winner", "loser", "clipped"),
    [
        ("longer", None, 1, 0, None),  # span 1 covers 2 target words, span 0 one (nothing of it is left)
        ("first", None, 0, 1, (6, 7)),
        ("score", {(0, 5): 0.9, (1, 5): 0.2, (2, 6): 0.2}, 0, 1, (6, 7)),
    ],
)
def test_conflicts(rule, scores, winner, loser, clipped):
    spans = [(0, 1, "LOC"), (1, 3, "ORG")]
    links = {(0, 5), (1, 5), (2, 6)}
    out = project_spans(spans, links, TGT, scores=scores, options=SpanOptions(conflict=rule, clip=False))
    assert out[winner].ok
    assert out[loser].status == "failed"
    assert out[loser].reason == f"conflict: lost to span {winner}"
    # clip (the default): the loser keeps the aligned words no winner covers, when there are any
    out = project_spans(spans, links, TGT, scores=scores, options=SpanOptions(conflict=rule))
    assert out[loser].target == clipped
    if clipped is not None:
        assert out[loser].status == "fuzzy" and CONFLICT_CLIPPED in out[loser].notes
    else:
        assert out[loser].reason == f"conflict: lost to span {winner}"


def test_clip_keeps_the_stretch_with_most_aligned_words():
    # span 1 (aligned to 1, 2, 5, 7) loses to span 0 at target 2: the stretch after it holds more of its
    # aligned words (5 and 7) than the one before (1)
    out = project_spans([(0, 1, "A"), (1, 2, "B")], {(0, 2), (1, 1), (1, 2), (1, 5), (1, 7)}, TGT,
                        options=SpanOptions(conflict="first", gap_fill=3))
    assert out[0].target == (2, 3)
    assert out[1].target == (5, 8)


def test_conflict_none_keeps_overlaps():
    out = project_spans([(0, 1, "LOC"), (1, 2, "ORG")], {(0, 5), (1, 5)}, TGT, options=SpanOptions(conflict="none"))
    assert [p.target for p in out] == [(5, 6), (5, 6)]


def test_scores_from_alignment_result():
    res = AlignmentResult.from_links({(0, 1), (1, 2)}, {(0, 1): 0.5, (1, 2): 1.0})
    (p,) = project_spans([(0, 2, "ORG")], res, TGT)
    assert p.score == pytest.approx(0.75)


def test_bad_options():
    with pytest.raises(UnknownNameError, match="longer"):
        SpanOptions(conflict="longest")
    with pytest.raises(ConfigError):
        SpanOptions(gap_fill=-1)
    with pytest.raises(UnknownNameError):
        SpanOptions(keep="biggest")


@pytest.mark.parametrize(("token", "expected"), [(",", True), ("--", True), ("«", True), ("a.", False),
                                                 ("", False), ("17.", False)])
def test_is_punctuation(token, expected):
    assert is_punctuation(token) is expected


A = AlignmentResult.from_links({(0, 0), (1, 1)}, {(0, 0): 0.8, (1, 1): 0.6})
B = AlignmentResult.from_links({(0, 0), (2, 2)})
C = AlignmentResult.from_links({(0, 0), (1, 1), (3, 3)})


@pytest.mark.parametrize(
    ("method", "kwargs", "expected"),
    [
        ("union", {}, {(0, 0), (1, 1), (2, 2), (3, 3)}),
        ("intersection", {}, {(0, 0)}),
        ("vote", {}, {(0, 0), (1, 1)}),
        ("vote", {"threshold": 0.3}, {(0, 0), (1, 1), (2, 2), (3, 3)}),
        ("vote", {"weights": [1, 3, 1], "threshold": 0.5}, {(0, 0), (2, 2)}),
    ],
)
def test_combine_links(method, kwargs, expected):
    assert combine_links([A, B, C], method, **kwargs).links == expected


def test_combine_scores():
    assert combine_links([A, B], "union").scores[(0, 0)] == pytest.approx(0.9)
    assert combine_links([A, B, C], "vote").scores[(1, 1)] == pytest.approx(2 / 3)
    with pytest.raises(UnknownNameError):
        combine_links([A], "majority")


links_st = st.frozensets(st.tuples(st.integers(0, 7), st.integers(0, 9)), max_size=25)
spans_st = st.lists(st.tuples(st.integers(0, 7), st.integers(1, 3), st.sampled_from(["PER", "LOC"])), max_size=4)


@settings(max_examples=200, deadline=None)
@given(links=links_st, raw_spans=spans_st, gap=st.integers(0, 3),
       conflict=st.sampled_from(["longer", "score", "first", "none"]), trim=st.booleans())
def test_projection_properties(links, raw_spans, gap, conflict, trim):
    spans = [(s, min(s + n, 8), lab) for s, n, lab in raw_spans]
    tgt = ["w", ",", "x", "y", ".", "z", "v", "u", "(", "t"]
    out = project_spans(spans, links, tgt, options=SpanOptions(gap_fill=gap, conflict=conflict, trim_punct=trim))
    assert len(out) == len(spans)
    for k, p in enumerate(out):
        assert p.index == k and p.label == spans[k][2]
        assert p.status in ("projected", "fuzzy", "failed")
        if p.target is None:
            assert p.status == "failed" and p.reason
            continue
        lo, hi = p.target
        assert 0 <= lo < hi <= len(tgt)
        aligned = {j for i, j in links if spans[k][0] <= i < spans[k][1]}
        assert lo in aligned and hi - 1 in aligned  # edges are aligned words
        if trim:
            assert tgt[lo] not in ",.(" and tgt[hi - 1] not in ",.("
        if p.status == "projected":
            assert set(range(lo, hi)) <= aligned
    if conflict != "none":
        kept = sorted(p.target for p in out if p.target is not None)
        assert all(a[1] <= b[0] for a, b in zip(kept, kept[1:]))


@settings(max_examples=100, deadline=None)
@given(st.lists(links_st, min_size=1, max_size=4))
def test_combine_properties(sets):
    results = [AlignmentResult.from_links(s) for s in sets]
    union = combine_links(results, "union").links
    inter = combine_links(results, "intersection").links
    vote = combine_links(results, "vote").links
    assert inter <= vote <= union
    assert union == frozenset().union(*sets)
    assert inter == frozenset(sets[0]).intersection(*sets[1:])


SRC = ["Mr", "Schulz", "went", "to", "Berlin", "and", "Berlin", "."]
TGT2 = ["Herr", "Schulz", "fuhr", "nach", "Berlin", "und", "Berlin", "."]


@pytest.mark.parametrize(
    ("span", "links", "copy", "expected"),
    [
        # a unique verbatim occurrence wins over a wrong link
        ((1, 2, "PER"), {(1, 2)}, True, (1, 2)),
        ((1, 2, "PER"), {(1, 2)}, False, (2, 3)),
        # several occurrences: the one overlapping the aligned words
        ((6, 7, "LOC"), {(6, 6)}, True, (6, 7)),
        ((4, 5, "LOC"), {(4, 4)}, True, (4, 5)),
        # several occurrences and no alignment: no copy, and the link decides (none here)
        ((4, 5, "LOC"), set(), True, None),
    ],
)
def test_copy_match(span, links, copy, expected):
    (p,) = project_spans([span], links, TGT2, src_tokens=SRC, options=SpanOptions(copy_match=copy))
    assert p.target == expected
    if copy and expected is not None:
        assert p.status == "projected"


def test_copy_match_needs_source_tokens():
    (p,) = project_spans([(1, 2, "PER")], {(1, 2)}, TGT2, options=SpanOptions(copy_match=True))
    assert p.target == (2, 3)


@pytest.mark.parametrize(
    ("src", "tgt", "links", "trim", "expected"),
    [
        (["the", "Structural", "Funds"], ["die", "Europäischen", "Strukturfonds"], {(1, 0), (1, 1), (2, 2)}, True, (1, 3)),
        (["the", "Structural", "Funds"], ["die", "Europäischen", "Strukturfonds"], {(1, 0), (1, 1), (2, 2)}, False, (0, 3)),
        # the source edge is a long lowercase word: still trimmed (islands of ... -> le isole ...)
        (["the", "structural", "funds"], ["die", "strukturfonds"], {(1, 0), (2, 1)}, True, (1, 2)),
        # the source edge is itself a short lowercase word: kept
        (["a", "de", "Gaulle"], ["de", "Gaulle"], {(1, 0), (2, 1)}, True, (0, 2)),
        # everything short and lowercase in the target: kept rather than emptied
        (["the", "Structural", "Funds"], ["die", "der"], {(1, 0), (2, 1)}, True, (0, 2)),
        # longer lowercase words stay (English capitalizes adjectives others do not)
        (["the", "European", "law"], ["europäisches", "Recht"], {(1, 0), (2, 1)}, True, (0, 2)),
        # trailing lowercase word trimmed when the span ends capitalized
        (["the", "European", "Union"], ["la", "Unión", "Europea", "de"], {(1, 2), (2, 1), (2, 3)}, True, (1, 3)),
        # scripts without case are never trimmed
        (["the", "European", "Union"], ["欧洲", "联盟"], {(1, 0), (2, 1)}, True, (0, 2)),
    ],
)
def test_trim_case(src, tgt, links, trim, expected):
    opts = SpanOptions(trim_case=trim, copy_match=False)
    (p,) = project_spans([(1, 3, "ORG")], links, tgt, src_tokens=src, options=opts)
    assert p.target == expected


# gaps in characters for unspaced scripts: the same projection over character tokens and over words
@pytest.mark.parametrize("tgt, links, unit, expected", [
    # 東京 | の | 大学: a 1-character gap is filled in characters and in words
    (["東京", "の", "大学"], [(0, 0), (0, 2)], "auto", (0, 3)),
    (list("東京の大学"), [(0, 0), (0, 1), (0, 3), (0, 4)], "auto", (0, 5)),
    # a 4-character gap: 1 word, but more than gap_fill=3 characters
    (["東京", "ディズニー", "大学"], [(0, 0), (0, 2)], "auto", (0, 1)),
    (["東京", "ディズニー", "大学"], [(0, 0), (0, 2)], "words", (0, 3)),
    (list("東京ディズニー大学"), [(0, 0), (0, 1), (0, 7), (0, 8)], "words", (0, 2)),
    # Latin words count as words under auto
    (["Tokyo", "big", "old", "University"], [(0, 0), (0, 3)], "auto", (0, 4)),
    (["Tokyo", "big", "old", "University"], [(0, 0), (0, 3)], "chars", (0, 1)),
])
def test_gap_unit(tgt: list[str], links: list[tuple[int, int]], unit: str, expected: tuple[int, int]) -> None:
    opts = SpanOptions(gap_fill=3, gap_unit=unit, copy_match=False, trim_case=False)
    (p,) = project_spans([(0, 1, "X")], links, tgt, options=opts)
    assert p.target == expected


def test_gap_unit_is_checked() -> None:
    from projector.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="gap unit"):
        SpanOptions(gap_unit="bytes")


@pytest.mark.parametrize("src, span, tgt, links, expected", [
    # the source span ends with punctuation: the target's aligned punctuation stays
    (["the", "parliament", "."], (1, 3), ["议会", "。"], [(1, 0), (2, 1)], (0, 2)),
    # it does not: trimmed as before
    (["the", "parliament", "."], (1, 2), ["议会", "。"], [(1, 0), (1, 1)], (0, 1)),
    # the source span ends with punctuation the links miss: the target's punctuation after the range is added
    (["the", "proposal", "."], (1, 3), ["讨论", "建议", "。"], [(1, 1)], (1, 3)),
    # ... unless a word outside the span is linked to it
    (["the", "proposal", ".", "!"], (1, 3), ["讨论", "建议", "。"], [(1, 1), (3, 2)], (1, 2)),
])
def test_source_punctuation_is_kept(src: list[str], span: tuple[int, int], tgt: list[str],
                                    links: list[tuple[int, int]], expected: tuple[int, int]) -> None:
    (p,) = project_spans([(*span, "X")], links, tgt, src_tokens=src)
    assert p.target == expected


@pytest.mark.parametrize("src, span, tgt, links, particles, expected", [
    # no function word in the source span: an edge particle is trimmed (segmenter words and characters)
    (["childhood", "name"], (0, 2), ["幼名", "を"], [(0, 0), (1, 0), (1, 1)], True, (0, 1)),
    (["childhood", "name"], (0, 2), ["幼", "名", "を"], [(0, 0), (1, 1), (1, 2)], True, (0, 2)),
    (["today"], (0, 1), ["今日", "の", "東京"], [(0, 0), (0, 1)], True, (0, 1)),
    (["today"], (0, 1), ["今日", "の", "東京"], [(0, 0), (0, 1)], False, (0, 2)),
    # a function word at the start: the particle after the range stays, or is added when unlinked
    (["to", "emperor"], (0, 2), ["天皇", "に", "譲位"], [(1, 0), (0, 1)], True, (0, 2)),
    (["to", "emperor"], (0, 2), ["天皇", "に", "譲位"], [(1, 0)], True, (0, 2)),
    # ... but not one linked to a word outside the span
    (["to", "emperor", "abdicated"], (0, 2), ["天皇", "に", "譲位"], [(1, 0), (2, 1)], True, (0, 1)),
    # a function word at the end: the particle before the range is added
    (["princess", "of"], (0, 2), ["天皇", "の", "寵姫"], [(0, 2)], True, (1, 3)),
    # a hiragana word is not cut (the character before the particle is hiragana)
    (["this"], (0, 1), ["こと", "は"], [(0, 0), (0, 1)], True, (0, 2)),
    # the inflection after a stem is added; a particle after it is not
    (["continued"], (0, 1), ["続け", "た", "。"], [(0, 0)], True, (0, 2)),
    (["killed"], (0, 1), ["殺害", "し", "て", "いる", "。"], [(0, 0)], True, (0, 4)),
    (["government"], (0, 1), ["政府", "は"], [(0, 0)], True, (0, 1)),
    # no hiragana in the target: unchanged
    (["the", "weather"], (1, 2), ["天气", "很", "好"], [(1, 0)], True, (0, 1)),
    # a counter after a numeral at the end is added (Chinese and Japanese), unless linked outside the span
    (["december", "1999"], (0, 2), ["1999", "年", "12", "月", "生产"], [(1, 0), (0, 2)], True, (0, 4)),
    (["january", "7"], (0, 2), ["1", "月", "7", "日", "に"], [(0, 0), (0, 1), (1, 2)], True, (0, 4)),
    (["december", "1999"], (0, 2), ["1999", "年", "12", "月", "生产"], [(1, 0), (0, 2)], False, (0, 3)),
    # a Chinese aspect particle after a segmenter word is trimmed; a character token is not
    (["introduced"], (0, 1), ["介绍", "了", "形势"], [(0, 0), (0, 1)], True, (0, 1)),
    (["introduced"], (0, 1), ["介绍", "了", "形势"], [(0, 0), (0, 1)], False, (0, 2)),
    (["understood"], (0, 1), ["了", "解"], [(0, 0), (0, 1)], True, (0, 2)),
])
def test_particles(src: list[str], span: tuple[int, int], tgt: list[str], links: list[tuple[int, int]],
                   particles: bool, expected: tuple[int, int]) -> None:
    opts = SpanOptions(particles=particles)
    (p,) = project_spans([(*span, "X")], links, tgt, src_tokens=src, options=opts)
    assert p.target == expected


@pytest.mark.parametrize("tgt, scores, trim, expected", [
    # (off by default) 避难 is linked to "asylum" (outside the span) as strongly as to "political": trimmed
    (["寻求", "政治", "避难"], {(0, 1): 0.9, (0, 2): 0.5, (1, 2): 0.5}, True, (1, 2)),
    (["寻求", "政治", "避难"], {(0, 1): 0.9, (0, 2): 0.5, (1, 2): 0.5}, False, (1, 3)),
    # linked more strongly to the span: kept
    (["寻求", "政治", "避难"], {(0, 1): 0.9, (0, 2): 0.8, (1, 2): 0.5}, True, (1, 3)),
    # a spaced-script target is never trimmed by this rule
    (["politisches", "Asyl"], {(0, 0): 0.9, (0, 1): 0.5, (1, 1): 0.5}, True, (0, 2)),
])
def test_trim_claimed(tgt: list[str], scores: dict[tuple[int, int], float], trim: bool,
                      expected: tuple[int, int]) -> None:
    # source: "political asylum"; the span is "political"
    (p,) = project_spans([(0, 1, "X")], set(scores), tgt, src_tokens=["political", "asylum"], scores=scores,
                         options=SpanOptions(trim_claimed=trim, copy_match=False))
    assert p.target == expected


@pytest.mark.parametrize("label, src, tgt, expected", [
    ("LOC", ["Europe"], ["europäischen"], "MISC"),  # German lowercases adjectives: a derived adjective
    ("LOC", ["Belgium"], ["belgi"], "MISC"),
    ("ORG", ["Community"], ["comunitario"], "MISC"),
    ("LOC", ["Europe"], ["Europa"], "LOC"),  # a name stays a name
    ("LOC", ["Eastern", "Europe"], ["Europa", "orientale"], "LOC"),  # more than one word: not an adjective
    ("ORG", ["Commission"], ["commissione", "per", "i", "bilanci"], "ORG"),
    ("MISC", ["European"], ["europea"], "MISC"),
    ("LOC", ["Central"], ["mittel-"], "LOC"),  # an elliptic compound part (mittel- und osteuropäischen)
    ("LOC", ["europe"], ["europäischen"], "LOC"),  # no capitalised source word: nothing says it is a name
    ("LOC", ["Europe"], ["欧洲"], "LOC"),  # scripts without case
    ("LOC", ["Europe"], ["1999"], "LOC"),
    ("Conflict:Attack", ["Attack"], ["attacco"], "Conflict:Attack"),  # not a name type
])
def test_derived_label(label: str, src: list[str], tgt: list[str], expected: str) -> None:
    assert derived_label(label, src, tgt, "MISC") == expected
    assert derived_label(label, src, tgt, "") == label


def test_derived_label_in_projection() -> None:
    src, tgt = ["the", "Europe", "of", "Japan"], ["l'", "Europa", "dei", "giapponesi"]
    links = {(1, 1), (3, 3)}
    europe, japan = project_spans([(1, 2, "LOC"), (3, 4, "LOC")], links, tgt, src_tokens=src)
    assert (europe.label, europe.status) == ("LOC", "projected")
    assert (japan.label, japan.status, japan.notes) == ("MISC", "fuzzy", (DERIVED_RELABELLED,))
    (off,) = project_spans([(3, 4, "LOC")], links, tgt, src_tokens=src, options=SpanOptions(derived_misc=False))
    assert off.label == "LOC"
    (no_src,) = project_spans([(3, 4, "LOC")], links, tgt)  # without source tokens nothing says it is a name
    assert no_src.label == "LOC"

"""Reading links (alignment.translit): folding, matching Latin words to romanized Japanese/Chinese runs,
choosing between tied runs, merging them over another aligner's links, and the align method's option."""

from __future__ import annotations

import pytest

from alignment.base import AlignmentResult
from alignment.translit import (
    TransliteratedAligner,
    TransliterationAligner,
    choose,
    fold,
    merge_readings,
    reading_candidates,
)


@pytest.mark.parametrize("text, expected", [
    ("Ashikaga", "ashikaga"),
    ("kyuushuu", "kyushu"),  # long vowels short
    ("Kyūshū", "kyushu"),  # macrons removed
    ("oouchi", "ochi"), ("ouchi", "ochi"),  # both spellings of 大内 fold alike
    ("shimbun", "shinbun"),
    ("Lǘ", "lu"),
    ("kai-shek", "kaishek"),
    ("taishougun", "taishogun"),
])
def test_fold_table(text: str, expected: str) -> None:
    assert fold(text) == expected


def _units(readings: list[tuple]):
    """A romanizer over fixed (surface, reading[, spellings]) units, as the real ones return them."""
    def units(text: str) -> list[tuple[int, int, str, tuple[str, ...]]]:
        out, pos = [], 0
        for surface, reading, *spellings in readings:
            at = text.index(surface, pos)
            out.append((at, at + len(surface), reading, tuple(spellings)))
            pos = at + len(surface)
        return out
    return units


def test_candidates_match_runs_of_units() -> None:
    units = _units([("足利", "ashikaga"), ("義満", "yoshimitsu"), ("は", "wa"), ("九州", "kyuushuu"), ("に", "ni")])
    latin = ["yoshimitsu", "ashikaga", "went", "to", "kyushu", "."]
    other = ["足利", "義満", "は", "九", "州", "に"]  # target tokens need not be the units
    got = reading_candidates(latin, other, units)
    assert got == {0: [{1}], 1: [{0}], 4: [{3, 4}]}  # "to" is too short, "went" matches nothing


def test_loanword_spelling_is_a_candidate() -> None:
    units = _units([("ブランド", "burando", "brand"), ("の", "no"), ("ホテル", "hoteru", "hotel")])
    assert reading_candidates(["brands", "hotel", "burando"], ["ブランド", "の", "ホテル"], units) == \
        {0: [{0}], 1: [{2}], 2: [{0}]}


def test_fuzzy_match_only_for_long_words() -> None:
    units = _units([("参議", "sangi"), ("太政", "daijou"), ("大臣", "daijin")])
    other = ["参議", "太政", "大臣"]
    assert reading_candidates(["sangi", "daijo", "daijodaijin"], other, units) == {0: [{0}], 1: [{1}], 2: [{1, 2}]}
    assert reading_candidates(["sanga"], other, units) == {}  # 5 letters, ratio 80 < 88
    assert reading_candidates(["dai"], other, units) == {}  # 3-4 letters must be equal


@pytest.mark.parametrize("s, n_src, candidates, near, expected", [
    (0, 4, [{0}, {5}], set(), {0}),  # nearest the word's relative position
    (3, 4, [{0}, {5}], set(), {5}),
    (0, 4, [{0}, {5}], {5}, {5}),  # the base aligner's links first
])
def test_choose_between_tied_runs(s, n_src, candidates, near, expected) -> None:
    assert choose(s, n_src, candidates, 6, near) == expected


def test_merge_readings_overrides_the_words_it_links() -> None:
    base = AlignmentResult.from_links({(0, 2), (1, 1), (2, 0), (3, 3)}, {(0, 2): .9, (1, 1): .8, (2, 0): .7, (3, 3): .6})
    merged = merge_readings(base, frozenset({(0, 0), (0, 1)}))
    # source 0 keeps only its reading links; targets 0 and 1 lose their other links; (3, 3) is untouched
    assert merged.links == {(0, 0), (0, 1), (3, 3)}
    assert merged.score((0, 0)) == 1.0 and merged.score((3, 3)) == .6
    assert merge_readings(base, frozenset()) is base


class _Fixed:
    """An aligner of the protocol that returns the same links for every pair (here: none)."""

    name = "fixed"

    def align(self, src_batch, tgt_batch):
        return [AlignmentResult.from_links(()) for _ in src_batch]


def test_languages_without_romanizer_get_no_links() -> None:
    assert not TransliterationAligner("en", "de").active
    assert not TransliterationAligner("ja", "zh").active  # both sides romanized: nothing to match
    wrapped = TransliteratedAligner(_Fixed(), "en", "fr")
    assert wrapped.align([["Paris"]], [["Paris"]])[0].links == frozenset()


def test_real_romanizers_link_names_in_either_direction() -> None:
    pytest.importorskip("cutlet")
    pytest.importorskip("pypinyin")
    en = ["Yoshimitsu", "Ashikaga", "visited", "Kyushu", "."]
    ja = ["足利", "義満", "は", "九州", "を", "訪れ", "た", "。"]
    assert TransliterationAligner("en", "ja").links(en, ja) == {(0, 1), (1, 0), (3, 3)}
    assert TransliterationAligner("ja", "en").links(ja, en) == {(1, 0), (0, 1), (3, 3)}  # translate-test direction
    assert TransliterationAligner("en", "ja").links(["the", "hotel", "brands"], ["ホテル", "の", "ブランド"]) == \
        {(1, 0), (2, 2)}  # loanwords by their source spelling
    zh = ["江", "泽民", "会见", "了", "记者", "任峰", "。"]
    en_zh = ["jiang", "zemin", "met", "reporter", "ren", "feng"]
    assert TransliterationAligner("en", "zh").links(en_zh, zh) == {(0, 0), (1, 1), (4, 5), (5, 5)}


def test_align_method_uses_reading_links_for_names() -> None:
    pytest.importorskip("cutlet")
    from projector.data import Span
    from projector.methods.align import AlignMethod
    from projector.methods.base import ProjectionInput

    text = "Yoshimitsu Ashikaga visited Kyushu."
    item = ProjectionInput(text, (Span(0, 19, "PER"), Span(28, 34, "LOC")), "足利義満は九州を訪れた。")
    out = AlignMethod(aligner=_Fixed()).project([item], "en", "ja")[0]
    assert [p.target.text_of(out.text) for p in out.spans] == ["足利義満", "九州"]
    off = AlignMethod(aligner=_Fixed(), transliterate=False).project([item], "en", "ja")[0]
    assert all(p.target is None for p in off.spans)
    assert "transliterate=False" in AlignMethod(aligner=_Fixed(), transliterate=False).signature()

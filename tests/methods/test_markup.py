"""Markers: inserting markers, reading them back from what MT models emit, assigning labels."""

from __future__ import annotations

import pytest

from projector.data import Span
from projector.methods._markup import insert_markers, parse_brackets, parse_tags, tag_name
from projector.methods.markers import assign_spans, markable_spans


def _read(marked: str, **kw: object) -> tuple[str, list[str], str | None]:
    r = parse_brackets(marked, **kw)  # type: ignore[arg-type]
    return r.text, [r.text[s.start:s.end] for s in r.spans], r.error


@pytest.mark.parametrize("marked, text, spans", [
    # the plain case, with and without spaces inside the markers
    ("[ Maria ] vive em [ Lisboa ].", "Maria vive em Lisboa.", ["Maria", "Lisboa"]),
    ("[Maria] vive em [Lisboa].", "Maria vive em Lisboa.", ["Maria", "Lisboa"]),
    # doubled markers
    ("[[Maria]] vive em [[ Lisboa ]].", "Maria vive em Lisboa.", ["Maria", "Lisboa"]),
    # look-alike brackets: lenticular, double angle, full-width, tortoise shell
    ("【Maria】 vive em 《Lisboa》.", "Maria vive em Lisboa.", ["Maria", "Lisboa"]),
    ("［Maria］ vive em 〔Lisboa〕.", "Maria vive em Lisboa.", ["Maria", "Lisboa"]),
    # missing spaces around markers: the words are kept apart
    ("Maria vive em[Lisboa]com João.", "Maria vive em Lisboa com João.", ["Lisboa"]),
    # extra spaces, and a space before punctuation introduced by the marker
    ("Maria  vive em  [  Lisboa  ]  .", "Maria vive em Lisboa.", ["Lisboa"]),
    # multi-word span, span at the very end
    ("Vive com [ John Smith ]", "Vive com John Smith", ["John Smith"]),
    # nested markers
    ("[ Banco de [ Portugal ] ] abriu.", "Banco de Portugal abriu.", ["Banco de Portugal", "Portugal"]),
    # no markers at all: no spans, no error
    ("Maria vive em Lisboa.", "Maria vive em Lisboa.", []),
])
def test_brackets_are_read_robustly(marked: str, text: str, spans: list[str]) -> None:
    got_text, got_spans, error = _read(marked)
    assert error is None
    assert got_text == text
    assert got_spans == spans


def test_swapped_markers_are_read_as_a_pair() -> None:
    r = parse_brackets("Maria vive em ] Lisboa [.")
    assert r.error is None and r.text == "Maria vive em Lisboa."
    assert [(r.text[s.start:s.end], s.swapped) for s in r.spans] == [("Lisboa", True)]
    assert "swapped markers" in r.repairs


@pytest.mark.parametrize("marked, error", [
    ("[ Maria vive em Lisboa.", "unbalanced markers (1 opening, 0 closing)"),
    ("[ Maria ] vive ] em Lisboa.", "unbalanced markers (1 opening, 2 closing)"),
    ("Maria [ ] vive.", "empty marked span"),
])
def test_unparsable_markers_are_errors_with_reasons(marked: str, error: str) -> None:
    r = parse_brackets(marked)
    assert r.error == error and r.spans == []
    assert "[" not in r.text and "]" not in r.text


def test_languages_without_spaces_get_no_spaces() -> None:
    r = parse_brackets("[玛丽亚]住在[里斯本]。", spaces=False)
    assert r.text == "玛丽亚住在里斯本。"
    assert [r.text[s.start:s.end] for s in r.spans] == ["玛丽亚", "里斯本"]


def test_corner_brackets_are_markers_only_when_the_source_has_none() -> None:
    assert _read("「Maria」 vive.")[1] == ["Maria"]
    text, spans, _ = _read("「Maria」 vive [em] Lisboa.", source_has_corner=True)
    assert spans == ["em"] and text.startswith("「Maria」")


@pytest.mark.parametrize("marked, spans", [
    ("<PER>Maria</PER> vive em <LOC>Lisboa</LOC>.", [("Maria", "PER"), ("Lisboa", "LOC")]),
    ("< PER > Maria </ PER > vive em <loc>Lisboa</loc>.", [("Maria", "PER"), ("Lisboa", "LOC")]),
    ("<LOC>Lisboa</LOC> é a casa de <PER>Maria</PER>", [("Lisboa", "LOC"), ("Maria", "PER")]),
])
def test_tags_are_read_with_their_labels(marked: str, spans: list[tuple[str, str]]) -> None:
    r = parse_tags(marked)
    assert r.error is None
    assert "<" not in r.text
    assert [(r.text[s.start:s.end], s.tag) for s in r.spans] == spans


def test_unbalanced_tags_are_errors() -> None:
    assert parse_tags("<PER>Maria vive.").error == "opening tag <PER> is never closed"
    assert parse_tags("Maria</PER> vive.").error == "closing tag </PER> without an opening one"


def test_insert_markers_nests_and_keeps_punctuation_attached() -> None:
    assert insert_markers("Maria lives in Lisbon.", [(0, 5), (15, 21)], ["["] * 2, ["]"] * 2) == \
        "[ Maria ] lives in [ Lisbon ]."
    assert insert_markers("New York City is big", [(0, 13), (4, 8)], ["["] * 2, ["]"] * 2) == \
        "[ New [ York ] City ] is big"
    assert tag_name("PER", 0) == "PER" and tag_name("Conflict:Attack", 3) == "S3"


def test_crossing_spans_cannot_be_marked() -> None:
    spans = [Span(0, 8, "A"), Span(4, 12, "B"), Span(0, 3, "C")]
    kept, failed = markable_spans(spans)
    assert sorted(kept) == [0, 2]
    assert failed == {1: "crosses another span (markers cannot express it)"}


def test_labels_follow_fuzzy_matches_when_the_order_changes() -> None:
    mapping, in_order = assign_spans(["Lisboa", "Maria"], ["Maria", "Lisbon"], ["Maria", "Lisboa"])
    assert mapping == [1, 0] and not in_order
    mapping, in_order = assign_spans(["Maria", "Lisboa"], ["Maria", "Lisbon"], [None, None])
    assert mapping == [0, 1] and in_order

"""Converters: tag schemes, repairs, overlaps, snapping, detokenization (table-driven + properties)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projector.convert import (
    Chunk,
    Snap,
    chunks_to_tags,
    detect_scheme,
    detokenize,
    resolve_overlaps,
    snap_span,
    spans_to_tags,
    tags_to_chunks,
    tags_to_spans,
    tokenize,
)
from projector.data import Span, Token
from projector.errors import UnknownNameError

DECODE_CASES = [
    # scheme, tags, expected chunks, expected repairs
    ("iob2", ["B-PER", "I-PER", "O", "B-LOC"], [(0, 2, "PER"), (3, 4, "LOC")], 0),
    ("iob2", ["B-PER", "B-PER"], [(0, 1, "PER"), (1, 2, "PER")], 0),
    ("iob2", ["O", "I-PER", "I-PER"], [(1, 3, "PER")], 1),  # I after O starts a span
    ("iob2", ["I-PER"], [(0, 1, "PER")], 1),  # I at sentence start
    ("iob2", ["B-PER", "I-LOC"], [(0, 1, "PER"), (1, 2, "LOC")], 1),  # type switch inside a span
    ("iob2", [], [], 0),
    ("iob2", ["O", "O"], [], 0),
    ("bio", ["B-A-B", "I-A-B"], [(0, 2, "A-B")], 0),  # labels with dashes
    ("iob1", ["I-PER", "I-PER", "B-PER", "O"], [(0, 2, "PER"), (2, 3, "PER")], 0),
    ("iob1", ["O", "B-PER"], [(1, 2, "PER")], 1),  # B where IOB1 expects I
    ("iob1", ["I-PER", "I-LOC"], [(0, 1, "PER"), (1, 2, "LOC")], 0),
    ("bioes", ["B-PER", "E-PER", "S-LOC", "O"], [(0, 2, "PER"), (2, 3, "LOC")], 0),
    ("bioes", ["B-PER", "I-PER", "E-PER"], [(0, 3, "PER")], 0),
    ("bioes", ["B-PER", "O"], [(0, 1, "PER")], 1),  # span left open
    ("bioes", ["E-PER"], [(0, 1, "PER")], 1),  # orphan end tag
    ("bioes", ["I-PER", "E-PER"], [(0, 2, "PER")], 1),  # orphan I
    ("bioes", ["B-PER", "B-LOC", "E-LOC"], [(0, 1, "PER"), (1, 3, "LOC")], 1),
    ("bioes", ["B-PER"], [(0, 1, "PER")], 1),  # open at the end
    ("bilou", ["B-ORG", "L-ORG", "U-PER"], [(0, 2, "ORG"), (2, 3, "PER")], 0),
    ("io", ["PER", "PER", "O", "LOC"], [(0, 2, "PER"), (3, 4, "LOC")], 0),
]


@pytest.mark.parametrize("scheme,tags,expected,repairs", DECODE_CASES)
def test_tags_to_chunks(scheme: str, tags: list[str], expected: list[tuple[int, int, str]], repairs: int) -> None:
    chunks, n = tags_to_chunks(tags, scheme)
    assert [tuple(c) for c in chunks] == expected
    assert n == repairs


ENCODE_CASES = [
    ("iob2", [(0, 2, "PER"), (2, 3, "PER")], 4, ["B-PER", "I-PER", "B-PER", "O"]),
    ("iob1", [(0, 2, "PER"), (2, 3, "PER")], 4, ["I-PER", "I-PER", "B-PER", "O"]),
    ("iob1", [(1, 2, "LOC")], 3, ["O", "I-LOC", "O"]),
    ("bioes", [(0, 3, "PER"), (3, 4, "LOC")], 4, ["B-PER", "I-PER", "E-PER", "S-LOC"]),
    ("bilou", [(0, 2, "ORG"), (3, 4, "X")], 4, ["B-ORG", "L-ORG", "O", "U-X"]),
    ("io", [(0, 2, "PER")], 3, ["PER", "PER", "O"]),
]


@pytest.mark.parametrize("scheme,chunks,n,expected", ENCODE_CASES)
def test_chunks_to_tags(scheme: str, chunks: list[tuple[int, int, str]], n: int, expected: list[str]) -> None:
    assert chunks_to_tags([Chunk(*c) for c in chunks], n, scheme) == expected


def test_chunks_to_tags_rejects_overlap_and_range() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunks_to_tags([Chunk(0, 2, "A"), Chunk(1, 3, "B")], 3)
    with pytest.raises(ValueError, match="outside"):
        chunks_to_tags([Chunk(0, 5, "A")], 3)


def test_unknown_scheme_and_bad_prefix() -> None:
    with pytest.raises(UnknownNameError, match="Available"):
        tags_to_chunks(["O"], "bieso")
    with pytest.raises(ValueError, match="token 1"):
        tags_to_chunks(["O", "E-PER"], "iob2")


DETECT_CASES = [
    ([["B-PER", "I-PER", "O"]], "iob2"),
    ([["I-PER", "I-PER", "O", "I-LOC"]], "iob1"),
    ([["I-PER", "B-PER", "O"]], "iob1"),
    ([["O", "I-PER"], ["B-LOC", "I-LOC"]], "iob2"),  # an IOB2 file with one invalid I-
    ([["S-PER", "B-LOC", "E-LOC"]], "bioes"),
    ([["U-PER", "B-LOC", "L-LOC"]], "bilou"),
    ([["PER", "O", "LOC"]], "io"),
    ([["O", "O"]], "iob2"),
]


@pytest.mark.parametrize("sequences,expected", DETECT_CASES)
def test_detect_scheme(sequences: list[list[str]], expected: str) -> None:
    assert detect_scheme(sequences) == expected


def test_resolve_overlaps_longer_wins_then_earlier() -> None:
    kept, dropped = resolve_overlaps([Chunk(0, 1, "A"), Chunk(0, 3, "B"), Chunk(3, 5, "C"), Chunk(4, 6, "D"),
                                      Chunk(0, 3, "B")])
    assert kept == [Chunk(0, 3, "B"), Chunk(3, 5, "C")]
    assert dropped == [Chunk(0, 1, "A"), Chunk(0, 3, "B"), Chunk(4, 6, "D")]


TOKENS = [Token("New", 0, 3), Token("York", 4, 8), Token("City", 9, 13), Token(".", 13, 14)]
SNAP_CASES = [
    (Span(0, 8, "L"), Snap.STRICT, (0, 2)),
    (Span(0, 7, "L"), Snap.STRICT, None),
    (Span(0, 7, "L"), Snap.CONTRACT, (0, 1)),
    (Span(0, 7, "L"), Snap.EXPAND, (0, 2)),
    (Span(1, 2, "L"), Snap.CONTRACT, None),
    (Span(1, 2, "L"), Snap.EXPAND, (0, 1)),
    (Span(3, 4, "L"), Snap.EXPAND, None),  # only whitespace
    (Span(2, 10, "L"), Snap.EXPAND, (0, 3)),
    (Span(2, 10, "L"), Snap.CONTRACT, (1, 2)),
    (Span(9, 14, "L"), Snap.STRICT, (2, 4)),
]


@pytest.mark.parametrize("span,policy,expected", SNAP_CASES)
def test_snap_span(span: Span, policy: Snap, expected: tuple[int, int] | None) -> None:
    chunk = snap_span(span, TOKENS, policy)
    assert (chunk[:2] if chunk else None) == expected


def test_spans_to_tags_reports_losses() -> None:
    spans = [Span(0, 8, "LOC"), Span(0, 13, "LOC"), Span(1, 2, "X")]
    tags, unsnappable, dropped = spans_to_tags(spans, TOKENS, "iob2", Snap.STRICT)
    assert tags == ["B-LOC", "I-LOC", "I-LOC", "O"]
    assert unsnappable == [Span(1, 2, "X")]
    assert dropped == [Span(0, 8, "LOC")]


DETOK_CASES = [
    ("en", ["Hello", ",", "world", "!"], "Hello, world!"),
    ("en", ["He", "said", '"', "yes", '"', "."], 'He said "yes".'),
    ("en", ["(", "a", ")", "b"], "(a) b"),
    ("en", ["it", "'s", "ok"], "it's ok"),
    ("fr", ["l'", "homme", "?"], "l'homme ?"),
    ("zh", ["我", "是", "人", "。"], "我是人。"),
    ("en", ["a&b", "<x>"], "a&b <x>"),
    ("en", ["U.S.", "troops"], "U.S. troops"),
    (None, ["Olá", "mundo", "."], "Olá mundo."),
]


@pytest.mark.parametrize("lang,words,text", DETOK_CASES)
def test_detokenize(lang: str | None, words: list[str], text: str) -> None:
    out, tokens = detokenize(words, lang)
    assert out == text
    assert [out[t.start:t.end] for t in tokens] == words


def test_detokenize_rejects_empty_token() -> None:
    with pytest.raises(ValueError):
        detokenize(["a", ""], "en")


TOKENIZE_CASES = [
    ("pt", "Olá, mundo.", ["Olá", ",", "mundo", "."]),
    ("sw", "Habari ya leo, rafiki?", ["Habari", "ya", "leo", ",", "rafiki", "?"]),  # no spaCy rules: xx rules
    ("km", "ខ្ញុំទៅ។", ["ខ្", "ញុំ", "ទៅ", "។"]),  # no spaces, no segmenter: characters (with their marks)
    ("th", "ABC 12", ["ABC", "12"]),
    (None, "a  b", ["a", "b"]),
]


@pytest.mark.parametrize("lang,text,words", TOKENIZE_CASES)
def test_tokenize_fallbacks(lang: str | None, text: str, words: list[str]) -> None:
    tokens = tokenize(text, lang)
    assert [t.text for t in tokens] == words
    assert all(text[t.start:t.end] == t.text for t in tokens)


def test_tokenizer_backend_errors() -> None:
    from projector.convert import word_tokenizer
    from projector.errors import MissingDependencyError, ModelError

    with pytest.raises(UnknownNameError, match="tokenizer backend"):
        word_tokenizer("en", "nltk")
    with pytest.raises((MissingDependencyError, ModelError), match="stanza"):
        word_tokenizer("sw", "stanza")


def test_tokenize_offsets() -> None:
    text = "Dr. Smith visited São Paulo, Brazil."
    tokens = tokenize(text, "en")
    assert [t.text for t in tokens][-3:] == [",", "Brazil", "."]
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert tokenize("日本語のテキスト", "xx-unknown")  # no rules for the language: fallback, not a crash


# --------------------------------------------------------------------------- properties

words_st = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc", "Zl", "Zp", "Cs")),
                            min_size=1, max_size=6), min_size=1, max_size=12)


@st.composite
def chunked(draw: st.DrawFn) -> tuple[int, list[Chunk]]:
    n = draw(st.integers(1, 15))
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=n)))
    chunks = []
    for a, b in zip(cuts, cuts[1:]):
        if draw(st.booleans()):
            chunks.append(Chunk(a, b, draw(st.sampled_from(["PER", "LOC", "ORG"]))))
    return n, chunks


@settings(max_examples=200, deadline=None)
@given(chunked(), st.sampled_from(["iob2", "iob1", "bioes", "bilou"]))
def test_chunks_tags_roundtrip(data: tuple[int, list[Chunk]], scheme: str) -> None:
    n, chunks = data
    tags = chunks_to_tags(chunks, n, scheme)
    decoded, repairs = tags_to_chunks(tags, scheme)
    assert decoded == chunks
    assert repairs == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["O", "B-A", "I-A", "B-B", "I-B", "E-A", "S-B"]), max_size=12),
       st.sampled_from(["iob2", "bioes"]))
def test_any_tag_sequence_decodes_to_valid_chunks(tags: list[str], scheme: str) -> None:
    if scheme == "iob2":
        tags = [t if t[0] in "OBI" else "O" for t in tags]
    chunks, _ = tags_to_chunks(tags, scheme)
    assert all(0 <= c.start < c.end <= len(tags) for c in chunks)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
    assert tags_to_chunks(chunks_to_tags(chunks, len(tags), scheme), scheme) == (chunks, 0)


@settings(max_examples=150, deadline=None)
@given(words_st, st.sampled_from(["en", "de", "fr", "es"]), chunked())
def test_spans_tags_offsets_roundtrip(words: list[str], lang: str, data: tuple[int, list[Chunk]]) -> None:
    text, tokens = detokenize(words, lang)
    assert [text[t.start:t.end] for t in tokens] == words
    n = len(words)
    chunks = [c for c in data[1] if c.end <= n]
    tags = chunks_to_tags(chunks, n)
    spans, repairs = tags_to_spans(tokens, tags)
    assert repairs == 0
    assert [text[s.start:s.end] for s in spans] == [text[tokens[c.start].start:tokens[c.end - 1].end] for c in chunks]
    back, unsnappable, dropped = spans_to_tags(spans, tokens, "iob2", Snap.STRICT)
    assert back == tags and not unsnappable and not dropped

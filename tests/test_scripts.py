"""Scripts written without spaces: language traits, detokenization (no inserted spaces, exact offsets),
segmenters and the character fallback."""

from __future__ import annotations

import pytest

from projector.convert import detokenize, tokenize
from projector.data import Token
from projector.scripts import close_unspaced_gaps, is_unspaced_char, joins_without_space, uses_spaces
from projector.segment import char_tokens, locate, merge_marks, segmenter_name


@pytest.mark.parametrize("lang, expected", [
    ("ja", False), ("zh-Hant", False), ("zh_Hans", False), ("jpn_Jpan", False), ("th", False), ("km", False),
    ("my", False), ("lo", False), ("en", True), ("de-AT", True), ("ko", True), (None, True),
    ("zho", False), ("tha", False), ("yue", False), ("shn_Mymr", False), ("bod", False), ("kor_Hang", True),
    ("sr-Latn", True), ("xx", True),
])
def test_uses_spaces(lang: str | None, expected: bool) -> None:
    assert uses_spaces(lang) is expected


@pytest.mark.parametrize("ch, expected", [
    ("今", True), ("の", True), ("カ", True), ("ｶ", True), ("。", True), ("、", True), ("？", True), ("４", True),
    ("「", True), ("ก", True), ("ັ", True), ("ក", True), ("က", True), ("𠀋", True),
    ("a", False), ("4", False), ("?", False), ("é", False), ("한", False), (" ", False), ("—", False),
])
def test_is_unspaced_char(ch: str, expected: bool) -> None:
    assert is_unspaced_char(ch) is expected


@pytest.mark.parametrize("left, right, expected", [
    ("午後", "4", True), ("4", "時", True), ("か", "？", True), ("、", "New", True), ("(", "株", True),
    ("New", "York", False), ("iPhone", "15", False), ("25", "%", False), ("", "の", False),
])
def test_joins_without_space(left: str, right: str, expected: bool) -> None:
    assert joins_without_space(left, right) is expected


# words, language, expected text: no space between CJK characters, full-width punctuation or digits in
# CJK text; Latin words inside keep Moses' spacing
DETOK_CASES = [
    (["今日", "の", "午後", "4", "時", "に"], "ja", "今日の午後4時に"),
    (["傘", "は", "必要", "です", "か", "？"], "ja", "傘は必要ですか？"),
    (["「", "東京", "」", "で", "iPhone", "15", "を", "買う", "。"], "ja", "「東京」でiPhone 15を買う。"),
    (["足利", "義満", "（", "あしかが", "よしみつ", "）", "は"], "ja", "足利義満（あしかがよしみつ）は"),
    (["２０２６", "年", "(", "株", ")"], "ja", "２０２６年(株)"),
    (["科学家", "一直", "猜想", "，", "土卫六", "上", "有", "3", "个", "海洋", "。"], "zh", "科学家一直猜想，土卫六上有3个海洋。"),
    (["他", "在", "New", "York", "工作", "。"], "zh-Hans", "他在New York工作。"),
    (["ฉัน", "รัก", "ภาษาไทย", "มาก"], "th", "ฉันรักภาษาไทยมาก"),
    (["ราคา", "25", "%"], "th", "ราคา25%"),
    (["Paris", "(", "France", ")", "!"], "en", "Paris (France)!"),
]


@pytest.mark.parametrize("words, lang, expected", DETOK_CASES)
def test_detokenize_unspaced_scripts(words: list[str], lang: str, expected: str) -> None:
    text, tokens = detokenize(words, lang)
    assert text == expected
    assert [t.text for t in tokens] == words
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))


def test_close_unspaced_gaps_keeps_other_gaps() -> None:
    tokens = [Token("iPhone", 0, 6), Token("15", 7, 9), Token("を", 10, 11), Token("New", 12, 15),
              Token("York", 16, 20)]
    assert close_unspaced_gaps(tokens) == [Token("iPhone", 0, 6), Token("15", 7, 9), Token("を", 9, 10),
                                           Token("New", 10, 13), Token("York", 14, 18)]


@pytest.mark.parametrize("text, expected", [
    ("今日は", ["今", "日", "は"]),
    ("iPhone 15を", ["iPhone", "15", "を"]),
    ("ฉันรัก", ["ฉั", "น", "รั", "ก"]),  # a vowel mark stays on its consonant
    (" 東 京 ", ["東", "京"]),
    ("", []),
])
def test_char_tokens(text: str, expected: list[str]) -> None:
    tokens = char_tokens(text)
    assert [t.text for t in tokens] == expected
    assert all(text[t.start:t.end] == t.text for t in tokens)


@pytest.mark.parametrize("text, words, expected", [
    ("東京 で", ["東京", "で"], [("東京", 0, 2), ("で", 3, 4)]),
    ("東京で", ["東京", " ", "で"], [("東京", 0, 2), ("で", 2, 3)]),
    ("東京で", ["東", "都"], None),  # a segmenter that normalised the text
])
def test_locate(text: str, words: list[str], expected: list[tuple[str, int, int]] | None) -> None:
    found = locate(text, words)
    assert (None if found is None else [(t.text, t.start, t.end) for t in found]) == expected


def test_merge_marks_joins_split_graphemes() -> None:
    text = "ฉัน"
    split = [Token("ฉ", 0, 1), Token("ั", 1, 2), Token("น", 2, 3)]
    assert merge_marks(text, split) == [Token("ฉั", 0, 2), Token("น", 2, 3)]


FALLBACK_TEXT = "今日の午後4時に東京で会いましょう。"


def test_character_fallback_selected_explicitly() -> None:
    tokens = tokenize(FALLBACK_TEXT, "ja", backend="chars")
    assert [t.text for t in tokens] == ["今", "日", "の", "午", "後", "4", "時", "に", "東", "京", "で", "会", "い",
                                        "ま", "し", "ょ", "う", "。"]
    assert segmenter_name("ja", "chars") == "chars"


def test_languages_without_a_segmenter_fall_back_to_characters() -> None:
    """Khmer has no segmenter in projector.segment.SEGMENTERS: ``auto`` takes the character fallback."""
    pytest.importorskip("spacy")
    text = "ខ្ញុំស្រលាញ់"
    if segmenter_name("km") != "chars":
        pytest.skip("a Stanza Khmer model is downloaded here")
    tokens = tokenize(text, "km")
    assert "".join(t.text for t in tokens) == text
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert all(not t.text[0].isspace() for t in tokens)


@pytest.mark.parametrize("lang, module, text, expected", [
    ("ja", "fugashi", FALLBACK_TEXT, ["今日", "の", "午後", "4", "時", "に", "東京", "で", "会い", "ましょう", "。"]),
    ("zh", "jieba", "科学家一直猜想土卫六上存在海洋。", ["科学家", "一直", "猜想", "土卫六", "上", "存在", "海洋", "。"]),
    ("th", "pythainlp", "ฉันรักภาษาไทย วันนี้", ["ฉัน", "รัก", "ภาษาไทย", "วันนี้"]),
])
def test_segmenters_give_words_with_offsets(lang: str, module: str, text: str, expected: list[str]) -> None:
    pytest.importorskip(module)
    if lang == "ja":
        pytest.importorskip("unidic_lite")
    tokens = tokenize(text, lang)
    assert [t.text for t in tokens] == expected
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert segmenter_name(lang) == {"fugashi": "fugashi", "jieba": "jieba", "pythainlp": "pythainlp"}[module]


def test_unknown_segmenter_is_refused() -> None:
    from projector.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="tokenizer backend"):
        tokenize("今日", "ja", backend="mecab")


def test_forced_segmenter_that_is_missing_names_its_install() -> None:
    from projector.errors import MissingDependencyError

    try:
        import sudachipy  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pip install sudachipy sudachidict-core"):
            tokenize("今日", "ja", backend="sudachi")
    else:
        pytest.skip("SudachiPy is installed here")


@pytest.mark.parametrize("word, parts, expected", [
    ("保险公司", [(0, 2), (2, 4), (0, 4)], ["保险", "公司"]),  # search mode's words tile the compound
    ("科学家", [(0, 2), (1, 3), (0, 3)], ["科学家"]),  # 科学 then 家 is no word: kept whole
    ("中华人民共和国", [(0, 2), (2, 4), (4, 7), (5, 7), (0, 7)], ["中华", "人民", "共和国"]),  # longest first
    ("好消息", [(1, 3)], ["好消息"]),  # nothing starts at 0
    ("公司", [], ["公司"]),
])
def test_split_compound_table(word: str, parts: list[tuple[int, int]], expected: list[str]) -> None:
    from projector.data import Token
    from projector.segment import split_compound

    tokens = split_compound(Token(word, 10, 10 + len(word)), parts)
    assert [t.text for t in tokens] == expected
    assert all(t.start >= 10 and t.end - t.start == len(t.text) for t in tokens)
    assert "".join(t.text for t in tokens) == word


def test_jieba_cuts_compounds_into_dictionary_words() -> None:
    pytest.importorskip("jieba")
    text = "德国慕尼黑再保险公司下周公布报告。"
    tokens = tokenize(text, "zh")
    assert [t.text for t in tokens][:6] == ["德国", "慕尼黑", "再", "保险", "公司", "下周"]
    assert all(text[t.start:t.end] == t.text for t in tokens)

"""Language-code mapping per model family (pure functions, table-driven)."""

from __future__ import annotations

import pytest

from mt_backends.languages import FAMILIES, detect_family, language_tokens, parse_language, resolve_language
from projector.errors import UnknownNameError, UnsupportedLanguageError

NLLB = ["eng_Latn", "por_Latn", "fra_Latn", "deu_Latn", "zho_Hans", "zho_Hant", "arb_Arab", "srp_Cyrl",
        "yue_Hant", "spa_Latn", "zsm_Latn"]
M2M = ["__en__", "__pt__", "__fr__", "__de__", "__zh__", "__ar__", "__ast__", "__es__"]
MBART = ["en_XX", "pt_XX", "fr_XX", "de_DE", "zh_CN", "ar_AR", "es_XX", "ja_XX"]
MADLAD = ["<2en>", "<2pt>", "<2fr>", "<2de>", "<2zh>", "<2zh_Hant>", "<2ar>", "<2es>", "<2sr_Latn>", "<2sr>"]
MARIAN = [">>por<<", ">>spa<<", ">>fra<<", ">>zho_Hant<<", ">>cmn_Hans<<"]

TOKENS = {"nllb": NLLB, "m2m100": M2M, "mbart50": MBART, "madlad": MADLAD, "marian": MARIAN}

CASES = [
    # family, user code, expected token
    ("nllb", "pt", "por_Latn"), ("nllb", "por", "por_Latn"), ("nllb", "pt-BR", "por_Latn"),
    ("nllb", "pt_BR", "por_Latn"), ("nllb", "zh", "zho_Hans"), ("nllb", "zh-Hant", "zho_Hant"),
    ("nllb", "zh-TW", "zho_Hant"), ("nllb", "de", "deu_Latn"), ("nllb", "ger", "deu_Latn"),
    ("nllb", "ar", "arb_Arab"), ("nllb", "ms", "zsm_Latn"), ("nllb", "sr", "srp_Cyrl"),
    ("nllb", "por_Latn", "por_Latn"), ("nllb", "yue", "yue_Hant"),
    ("m2m100", "pt", "__pt__"), ("m2m100", "por", "__pt__"), ("m2m100", "pt-BR", "__pt__"),
    ("m2m100", "zho", "__zh__"), ("m2m100", "ast", "__ast__"), ("m2m100", "__fr__", "__fr__"),
    ("mbart50", "pt", "pt_XX"), ("mbart50", "pt-BR", "pt_XX"), ("mbart50", "deu", "de_DE"),
    ("mbart50", "zh", "zh_CN"), ("mbart50", "zh-Hans", "zh_CN"), ("mbart50", "ja", "ja_XX"),
    ("madlad", "pt", "<2pt>"), ("madlad", "pt-BR", "<2pt>"), ("madlad", "zh", "<2zh>"), ("madlad", "sr-Cyrl", "<2sr>"),
    ("madlad", "zh-Hant", "<2zh_Hant>"), ("madlad", "sr-Latn", "<2sr_Latn>"), ("madlad", "sr", "<2sr>"),
    ("marian", "pt", ">>por<<"), ("marian", "es", ">>spa<<"), ("marian", "zh-Hant", ">>zho_Hant<<"),
    ("marian", "zh", ">>cmn_Hans<<"),
]


@pytest.mark.parametrize(("fam", "code", "expected"), CASES)
def test_resolve_language(fam: str, code: str, expected: str) -> None:
    assert resolve_language(code, FAMILIES[fam], TOKENS[fam]) == expected


ERRORS = [
    # family, code, text the message must contain
    ("nllb", "ja", "not supported"), ("mbart50", "zh-Hant", "zh_CN"), ("m2m100", "xx", "not a language code"),
    ("madlad", "zh-Latn", "<2zh"), ("nllb", "klingon", "not a language code"), ("marian", "de", "not supported"),
]


@pytest.mark.parametrize(("fam", "code", "needle"), ERRORS)
def test_unsupported_language_names_close_matches(fam: str, code: str, needle: str) -> None:
    with pytest.raises(UnsupportedLanguageError) as err:
        resolve_language(code, FAMILIES[fam], TOKENS[fam])
    assert needle in str(err.value)


def test_script_mismatch_suggests_the_same_language() -> None:
    # mBART-50 has simplified Chinese only: traditional is an error naming zh_CN, not a silent mapping
    with pytest.raises(UnsupportedLanguageError, match="Close matches: zh_CN"):
        resolve_language("zh-Hant", FAMILIES["mbart50"], MBART)


@pytest.mark.parametrize(("code", "expected"), [
    ("pt", ("pt", "Latn", None)), ("por", ("pt", "Latn", None)), ("pt-BR", ("pt", "Latn", "BR")),
    ("zh-Hant", ("zh", "Hant", None)), ("zh_CN", ("zh", "Hans", "CN")), ("pt_XX", ("pt", "Latn", None)),
    ("", None), ("xx", None), ("12", None),
])
def test_parse_language(code: str, expected: tuple[str, str, str | None] | None) -> None:
    assert parse_language(code) == expected


@pytest.mark.parametrize(("fam", "vocab", "expected"), [
    ("nllb", ["▁a", "eng_Latn", "<mask>", "por_Latn"], ["eng_Latn", "por_Latn"]),
    ("mbart50", ["en_XX", "▁a", "ab_CD"], ["en_XX"]),  # ab_CD: "ab" is Abkhazian, "CD" Congo: valid
    ("madlad", ["<2en>", "<pad>", "<2xx>"], ["<2en>"]),
    ("marian", [">>por<<", "▁por", ">>qqq<<"], [">>por<<"]),
])
def test_language_tokens(fam: str, vocab: list[str], expected: list[str]) -> None:
    got = language_tokens(FAMILIES[fam], vocab)
    assert [t for t in got if t in expected] == expected
    assert all(t in vocab for t in got)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"tokenizer_class": "NllbTokenizerFast"}, "nllb"),
    ({"tokenizer_class": "NllbTokenizer"}, "nllb"),
    ({"tokenizer_class": "M2M100Tokenizer"}, "m2m100"),
    ({"tokenizer_class": "MarianTokenizer"}, "marian"),
    ({"tokenizer_class": "MBart50TokenizerFast"}, "mbart50"),
    ({"model_type": "m2m_100", "vocabulary": ["eng_Latn", "▁a"]}, "nllb"),
    ({"model_type": "m2m_100", "vocabulary": ["__en__", "▁a"]}, "m2m100"),
    ({"model_type": "t5", "tokenizer_class": "T5Tokenizer", "vocabulary": ["<2pt>", "▁a"]}, "madlad"),
    ({"model_type": "t5", "vocabulary": ["▁a"]}, None),
    ({"files": ["source.spm", "target.spm", "model.bin"]}, "marian"),
    ({"vocabulary": ["en_XX", "pt_XX"]}, "mbart50"),
    ({"model_type": "bert"}, None),
])
def test_detect_family(kwargs: dict[str, object], expected: str | None) -> None:
    assert detect_family(**kwargs) == expected  # type: ignore[arg-type]


def test_unknown_family_lists_available() -> None:
    from mt_backends.languages import family

    with pytest.raises(UnknownNameError, match="nllb"):
        family("nlb")


@pytest.mark.parametrize(("name", "expected"), [
    ("Helsinki-NLP/opus-mt-en-pt", ("en", "pt")),
    ("Helsinki-NLP/opus-mt-tc-big-en-pt", ("en", "pt")),
    ("Helsinki-NLP/opus-mt-mul-en", (None, "en")),        # many sources
    ("Helsinki-NLP/opus-mt-en-ROMANCE", (None, None)),     # "ROMANCE" is no language
    ("Helsinki-NLP/opus-mt-en-roa", ("en", None)),         # ISO 639-5 group: Romance languages
    ("facebook/nllb-200-distilled-600M", (None, None)),
])
def test_opus_pair_from_model_name(name: str, expected: tuple[str | None, str | None]) -> None:
    from mt_backends.pieces import _opus_pair

    assert _opus_pair(name) == expected

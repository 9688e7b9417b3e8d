"""Language codes: one normalisation (projector.langs) for every folder, key and file name."""

from __future__ import annotations

import pytest

from projector.errors import UnsupportedLanguageError
from projector.langs import alpha3, base_lang, normalize_lang, split_langs


@pytest.mark.parametrize("code,tag,base,three", [
    ("pt", "pt", "pt", "por"),
    ("PT", "pt", "pt", "por"),
    ("pt_BR", "pt-BR", "pt", "por"),
    ("por_Latn", "pt", "pt", "por"),
    ("zho_Hant", "zh-Hant", "zh", "zho"),
    ("cmn", "zh", "zh", "zho"),
    ("jpn_Jpan", "ja", "ja", "jpn"),
    ("ja", "ja", "ja", "jpn"),
    ("en", "en", "en", "eng"),
])
def test_codes(code, tag, base, three):
    assert normalize_lang(code) == tag
    assert base_lang(code) == base
    assert alpha3(code) == three


def test_unparsable_codes():
    with pytest.raises(UnsupportedLanguageError, match="tgt_lang: 'qq9' is not a language code"):
        normalize_lang("qq9", "tgt_lang")
    assert base_lang("xx_YY") == "xx" and alpha3("qq9") == "qq9"
    assert split_langs("pt, por_Latn,ja") == ["pt", "ja"]

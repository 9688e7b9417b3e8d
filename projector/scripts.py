"""Writing-system facts: which languages are written without spaces, and which characters belong to
such scripts.

One definition of each fact for all of projector: the MT methods (where markers may go), the
detokenizer (where spaces go), the tokenizer (which segmenter splits the text: :mod:`projector.segment`),
the aligner (what the encoder sees: :mod:`alignment.embedding`) and the span heuristics (gaps measured in
characters) all ask here.

* :data:`NO_SPACE_LANGS`, :data:`NO_SPACE_SCRIPTS`, :func:`uses_spaces`: languages written without
  spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese, Tibetan, Dzongkha), and the
  scripts (ISO 15924) whose languages are (``shn_Mymr``, ``zh-Hant``).
* :func:`is_unspaced_char`: a character of a script written without spaces (Han, kana, Thai, Lao,
  Khmer, Myanmar, Tibetan, Bopomofo), CJK punctuation or a full-width form.
* :func:`joins_without_space`: whether two adjacent tokens of an unspaced-script text are written
  together (one of the characters that meet is of such a script).
* :func:`close_unspaced_gaps`: the tokens of a detokenized text re-laid without the spaces that Moses'
  rules put between such tokens (``今日の午後 4 時`` -> ``今日の午後4時``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import lru_cache

from .data import Token
from .langs import base_lang

__all__ = ["NO_SPACE_LANGS", "NO_SPACE_SCRIPTS", "uses_spaces", "is_unspaced_char", "is_unspaced_text",
           "joins_without_space", "close_unspaced_gaps"]

#: languages written without spaces between words (base language subtags as
#: :func:`projector.langs.base_lang` gives them: ISO 639-1, 639-3 where there is no 639-1 code)
NO_SPACE_LANGS = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "dz", "yue", "wuu"})

#: scripts (ISO 15924) written without spaces: a code that names one (``shn_Mymr``), or whose language's
#: likely script is one, is of a language written without spaces
NO_SPACE_SCRIPTS = frozenset({"Hans", "Hant", "Hani", "Jpan", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})

#: code-point ranges (inclusive) of the characters of scripts written without spaces
_UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。「」〜...)
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3190, 0x31FF),  # Kanbun, Bopomofo extended, CJK strokes, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half-width and full-width forms (？ ！ ４ ｶ...)
    (0x20000, 0x3FFFF),  # CJK extensions B-H, compatibility supplement
)
_STARTS = [a for a, _ in _UNSPACED_RANGES]


@lru_cache(maxsize=1024)
def _script(lang: str) -> str | None:
    """The script subtag of ``lang``, given or likely (``zh`` -> ``Hans``); None when unknown."""
    import langcodes

    try:
        code = langcodes.Language.get(lang.strip().replace("_", "-"))
        return code.script or code.maximize().script
    except (LookupError, ValueError):
        return None


def uses_spaces(lang: str | None) -> bool:
    """Whether ``lang`` separates words with spaces: False for Chinese, Japanese, Thai... (by its base
    language, :data:`NO_SPACE_LANGS`, or its script, :data:`NO_SPACE_SCRIPTS`); True when no language is
    given."""
    if not lang:
        return True
    return base_lang(lang) not in NO_SPACE_LANGS and _script(lang) not in NO_SPACE_SCRIPTS


def is_unspaced_char(ch: str) -> bool:
    """Whether the character ``ch`` belongs to a script written without spaces (or is CJK punctuation
    or a full-width form)."""
    cp = ord(ch)
    k = bisect.bisect_right(_STARTS, cp) - 1
    return k >= 0 and cp <= _UNSPACED_RANGES[k][1]


def is_unspaced_text(text: str) -> bool:
    """Whether ``text`` has a character of a script written without spaces."""
    return any(is_unspaced_char(ch) for ch in text)


def joins_without_space(left: str, right: str) -> bool:
    """Whether the tokens ``left`` and ``right`` are written together in an unspaced-script text: the
    characters that meet (the last of ``left``, the first of ``right``) include one of such a script.

    ``午後`` + ``4``, ``4`` + ``時``, ``か`` + ``？``, ``、`` + ``New``: together; ``New`` + ``York``,
    ``iPhone`` + ``15``: not decided here (the language's spacing rules decide).
    """
    if not left or not right:
        return False
    return is_unspaced_char(left[-1]) or is_unspaced_char(right[0])


def close_unspaced_gaps(tokens: Sequence[Token]) -> list[Token]:
    """``tokens`` (in order, with the offsets of one text) shifted so that no space lies between two
    tokens that :func:`joins_without_space`; other gaps keep their width. Token strings are unchanged."""
    out: list[Token] = []
    shift = 0
    for k, t in enumerate(tokens):
        if k:
            prev, gap = tokens[k - 1], t.start - tokens[k - 1].end
            if gap > 0 and joins_without_space(prev.text, t.text):
                shift += gap
        out.append(Token(t.text, t.start - shift, t.end - shift))
    return out

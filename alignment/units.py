"""What the encoder sees of a token list: encoder units and the tokens each subword piece covers.

A word-level aligner given the tokens of a text written without spaces (one token per character, or a
segmenter's words) would encode every token on its own -- ``▁今 ▁日 ▁の`` -- which is not text the
encoder has ever seen. Here, consecutive tokens written together (:func:`projector.scripts.joins_without_space`:
one of the characters that meet is of an unspaced script) form one *unit*, the text they spell, which
the encoder's tokenizer splits into its own pieces (``▁ 今日の 午後 4 時に``); each piece is then
mapped back to the tokens whose characters it overlaps (one, several, or none for a bare ``▁``).
Tokens of spaced scripts stay units of their own, so their pieces are exactly simalign's.

:func:`has_words` tells a unit of segmenter words from one of single characters (the aligner's
``unspaced="auto"`` cuts the pieces of the first at the words' boundaries, and keeps the natural pieces
of the second).

All offsets are character offsets into the unit's text, end exclusive.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from projector.scripts import is_unspaced_char, joins_without_space

__all__ = ["Unit", "text_units", "piece_tokens", "has_words"]

Unit = tuple[str, list[tuple[int, int]]]


def text_units(words: Sequence[str], join: bool = True) -> list[Unit]:
    """``words`` grouped into encoder units: ``(text, [(start, end) of each word in text])``.

    With ``join``, consecutive words that are written together in an unspaced script are one unit
    (their concatenation); otherwise (and always for spaced scripts) every word is a unit.
    """
    units: list[Unit] = []
    for k, w in enumerate(words):
        if join and units and joins_without_space(words[k - 1], w):
            text, spans = units[-1]
            units[-1] = (text + w, spans + [(len(text), len(text) + len(w))])
        else:
            units.append((w, [(0, len(w))]))
    return units


def piece_tokens(pieces: Sequence[str], offsets: Sequence[tuple[int, int]],
                 words: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
    """For each tokenizer piece (its string and character offsets in the unit), the indices of the
    unit's words it overlaps; ``()`` for a piece without characters of its own (a bare ``▁``, whose
    offsets point at the next character, or a special token)."""
    out: list[tuple[int, ...]] = []
    for piece, (a, b) in zip(pieces, offsets, strict=True):
        if not piece.replace("▁", "") or b <= a:
            out.append(())
            continue
        out.append(tuple(k for k, (s, e) in enumerate(words) if s < b and a < e))
    return out


def has_words(text: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the unit's tokens are words (a segmenter's) rather than single characters: one of them has
    two or more base characters of a script written without spaces (combining marks, Latin letters and
    digits do not count, so the character fallback's ``กั``, ``15`` and ``今`` are characters)."""
    for a, b in spans:
        if sum(1 for ch in text[a:b] if is_unspaced_char(ch) and not unicodedata.combining(ch)
               and unicodedata.category(ch)[0] != "M") >= 2:
            return True
    return False

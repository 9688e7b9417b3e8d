"""Links from readings: a Latin-script word and the Japanese or Chinese words that are its romanization.

Names are what NER projects, and an embedding aligner seldom knows that ``ashikaga`` is ``足利`` or that
``zemin`` is ``泽民``: the encoder has no reading of the characters. :class:`TransliterationAligner`
romanizes the side written in Japanese (the readings of MeCab/UniDic through ``cutlet``: Hepburn, and
a loanword's source spelling from its UniDic lemma: ``ブランド`` -> ``brand``) or
Chinese (``pypinyin``: pinyin without tones), and links a Latin word of the other side to the run of
target units (morphemes, characters) whose romanization matches it best, then with the fewest units
(:func:`fold` on both sides, then an exact match for words of 3-4 letters, a :func:`rapidfuzz.fuzz.ratio`
of :data:`MIN_RATIO` or more for longer ones). Its links are meant to be put over another aligner's
(:class:`TransliteratedAligner`).

Which romanizer serves which language is :data:`ROMANIZERS` (``pip install "projector[cjk]"``); a
language without one (or without its package) gets no links, and says so once in the log.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence, Set
from functools import cache

from .base import Aligner, AlignmentResult, Link, check_batch

__all__ = ["ROMANIZERS", "MIN_RATIO", "fold", "romanizer", "reading_candidates", "choose", "reading_links",
           "merge_readings", "TransliterationAligner", "TransliteratedAligner"]

logger = logging.getLogger("projector.alignment")

#: per language (base code), the PyPI package whose readings romanize it
ROMANIZERS: dict[str, str] = {"ja": "cutlet", "zh": "pypinyin"}
#: the least rapidfuzz ratio (0-100) of two folded romanizations of 5+ letters that counts as a match
MIN_RATIO = 88.0
#: the most units (morphemes, characters) one Latin word may match
MAX_RUN = 4

#: one text -> its units as (start, end, romanization, spellings) with character offsets; ``spellings``
#: are other ways the unit alone is written in Latin letters (a loanword's source: ブランド -> brand)
Unit = tuple[int, int, str, tuple[str, ...]]
Romanizer = Callable[[str], list[Unit]]

_LONG_VOWELS = re.compile(r"([aeiou])\1+|ou|ei(?=[^aeiou]|$)")
_NOT_LETTER = re.compile(r"[^a-z]")


def fold(text: str) -> str:
    """A romanization as it is compared: ASCII lowercase letters only (accents and macrons removed,
    ``ü`` -> ``u``), long vowels short (``oo``/``ou`` -> ``o``, ``uu`` -> ``u``, ``ei`` -> ``e`` before a
    consonant), ``m`` before ``b``/``p`` -> ``n`` (``shimbun`` = ``shinbun``)."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = _NOT_LETTER.sub("", "".join(c for c in text if not unicodedata.combining(c)))
    text = re.sub(r"m(?=[bp])", "n", text)
    while True:  # oouchi -> ouchi -> ochi
        shorter = _LONG_VOWELS.sub(lambda m: m.group(0)[0], text)
        if shorter == text:
            return text
        text = shorter


def _japanese() -> Romanizer:
    import cutlet

    katsu = cutlet.Cutlet(use_foreign_spelling=False)

    def units(text: str) -> list[Unit]:
        out, pos = [], 0
        for node in katsu.tagger(text):
            start = text.find(node.surface, pos)
            if start < 0 or not node.surface:
                continue
            pos = start + len(node.surface)
            lemma = node.feature.lemma or ""
            foreign = (lemma.split("-", 1)[1],) if "-" in lemma and lemma.split("-", 1)[1].isascii() else ()
            out.append((start, pos, katsu.romaji_word(node) if node.feature.kana else "", foreign))
        return out

    return units


def _chinese() -> Romanizer:
    from pypinyin import Style, lazy_pinyin

    def units(text: str) -> list[Unit]:
        return [(k, k + 1, lazy_pinyin(c, style=Style.NORMAL)[0] if "\u3400" <= c <= "\u9fff" else "", ())
                for k, c in enumerate(text)]

    return units


_BUILDERS: dict[str, Callable[[], Romanizer]] = {"cutlet": _japanese, "pypinyin": _chinese}


@cache
def romanizer(lang: str) -> Romanizer | None:
    """The romanizer of ``lang`` (any code: ``jpn_Jpan`` -> ``ja``), or ``None`` when it has none or its
    package is not installed (logged once)."""
    from projector.langs import base_lang

    package = ROMANIZERS.get(base_lang(lang))
    if package is None:
        return None
    try:
        return _BUILDERS[package]()
    except ImportError:
        logger.warning("no transliteration links for %s: `pip install %s` (or projector[cjk]) adds them", lang, package)
        return None


def _latin(word: str) -> str | None:
    """The folded form of a Latin-script word worth matching (3+ letters, nothing but letters, hyphens
    and apostrophes), else ``None``."""
    if not word or any(not (c.isalpha() or c in "-'’") for c in word):
        return None
    if any(unicodedata.name(c, "").split(" ")[0] != "LATIN" for c in word if c.isalpha()):
        return None
    folded = fold(word)
    return folded if len(folded) >= 3 else None


def _matches(word: str, reading: str) -> float:
    """How well a folded Latin word matches a folded reading: 0 for no match, else the ratio (100 = equal)."""
    if word == reading:
        return 100.0
    if len(word) < 5 or abs(len(word) - len(reading)) > 2:
        return 0.0
    from rapidfuzz import fuzz

    ratio = fuzz.ratio(word, reading)
    return ratio if ratio >= MIN_RATIO else 0.0


def reading_candidates(latin: Sequence[str], other: Sequence[str], units: Romanizer) -> dict[int, list[set[int]]]:
    """Per Latin word (index in ``latin``), the runs of the other side's units whose romanization
    matches it best, each as the set of ``other`` indices it covers (``other`` is joined without spaces
    for its readings); the best runs tie on the match and on their number of units."""
    text = "".join(other)
    owner = [k for k, tok in enumerate(other) for _ in tok]
    found = units(text)
    parts = [(a, b, fold(r)) for a, b, r, _ in found]
    runs: list[tuple[str, int, int, int]] = []  # reading, units, first char, end char
    for i in range(len(parts)):
        reading = ""
        for n in range(min(MAX_RUN, len(parts) - i)):
            if not parts[i + n][2]:
                break
            reading += parts[i + n][2]
            runs.append((reading, n + 1, parts[i][0], parts[i + n][1]))
    runs += [(fold(w), 1, a, b) for a, b, _, spellings in found for w in spellings]
    out: dict[int, list[set[int]]] = {}
    for s, word in enumerate(latin):
        folded = _latin(word)
        if folded is None:
            continue
        scored = [(_matches(folded, r), -n, a, b) for r, n, a, b in runs]
        best = max((x[:2] for x in scored if x[0] > 0), default=None)
        if best is not None:
            out[s] = [{owner[c] for c in range(a, b) if not text[c].isspace()}
                      for score, neg_n, a, b in scored if (score, neg_n) == best]
    return out


def choose(s: int, n_src: int, candidates: list[set[int]], n_tgt: int,
           near: Set[int] = frozenset()) -> set[int]:
    """One of a Latin word's tied runs: the one that shares most words with ``near`` (the base
    aligner's links of the word), then the one nearest the word's relative position in its sentence."""
    def key(run: set[int]) -> tuple[int, float]:
        mid = (min(run) + max(run) + 1) / 2 / max(1, n_tgt)
        return -len(run & near), abs(mid - (s + 0.5) / max(1, n_src))
    return min(candidates, key=key)


def reading_links(latin: Sequence[str], other: Sequence[str], units: Romanizer,
                  near: dict[int, set[int]] | None = None) -> set[Link]:
    """Links (index in ``latin``, index in ``other``) from :func:`reading_candidates`, one run per
    word (:func:`choose`, with ``near[s]`` the base links of word ``s``)."""
    return {(s, j) for s, cands in reading_candidates(latin, other, units).items()
            for j in choose(s, len(latin), cands, len(other), (near or {}).get(s, set()))}


class TransliterationAligner:
    """Links Latin-script words to the words of a Japanese or Chinese side that are their romanization.

    ``src_lang``/``tgt_lang`` say which side is romanized (the one with a romanizer in
    :data:`ROMANIZERS`); with none, or both, every pair gets no links.
    """

    name = "translit"

    def __init__(self, src_lang: str, tgt_lang: str) -> None:
        src, tgt = romanizer(src_lang) is not None, romanizer(tgt_lang) is not None
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        #: the language of the romanized side and whether it is the target, or None (kept by name, so
        #: the aligner pickles: the romanizer is looked up in romanizer's cache when used)
        self._side = (tgt_lang, True) if tgt and not src else (src_lang, False) if src and not tgt else None

    @property
    def active(self) -> bool:
        """Whether one side of the pair (and only one) can be romanized."""
        return self._side is not None

    def links(self, src: Sequence[str], tgt: Sequence[str], base: frozenset[Link] = frozenset()) -> set[Link]:
        """The reading links of one pair; ``base`` (another aligner's links) breaks ties between runs."""
        if self._side is None:
            return set()
        lang, is_target = self._side
        units = romanizer(lang)
        assert units is not None
        near: dict[int, set[int]] = {}
        for i, j in base:
            latin, other = (i, j) if is_target else (j, i)
            near.setdefault(latin, set()).add(other)
        if is_target:
            return reading_links(src, tgt, units, near)
        return {(i, j) for j, i in reading_links(tgt, src, units, near)}

    def align(self, src_tokens_batch: Sequence[Sequence[str]],
              tgt_tokens_batch: Sequence[Sequence[str]]) -> list[AlignmentResult]:
        """The reading links of each pair (none when neither side, or both, can be romanized)."""
        src_batch, tgt_batch = check_batch(src_tokens_batch, tgt_tokens_batch)
        return [AlignmentResult.from_links(self.links(src, tgt)) for src, tgt in zip(src_batch, tgt_batch)]


class TransliteratedAligner:
    """Another aligner's links with the reading links of :class:`TransliterationAligner` added: a
    source (target) word that has reading links keeps only those, and a word that a reading link
    claims loses its links to words outside it (the reading is taken over the encoder's guess)."""

    def __init__(self, base: Aligner, src_lang: str, tgt_lang: str) -> None:
        self.base = base
        self.readings = TransliterationAligner(src_lang, tgt_lang)
        self.name = f"{base.name}+translit"

    def align(self, src_tokens_batch: Sequence[Sequence[str]],
              tgt_tokens_batch: Sequence[Sequence[str]]) -> list[AlignmentResult]:
        """The base aligner's links of each pair, overridden by its reading links."""
        results = self.base.align(src_tokens_batch, tgt_tokens_batch)
        if not self.readings.active:
            return results
        src_batch, tgt_batch = check_batch(src_tokens_batch, tgt_tokens_batch)
        return [merge_readings(res, frozenset(self.readings.links(src, tgt, res.links)))
                for res, src, tgt in zip(results, src_batch, tgt_batch)]


def merge_readings(result: AlignmentResult, readings: frozenset[Link]) -> AlignmentResult:
    """``result``'s links where the words of ``readings`` keep only their reading links, plus those."""
    if not readings:
        return result
    src_words, tgt_words = {i for i, _ in readings}, {j for _, j in readings}
    kept = {(i, j) for i, j in result.links if i not in src_words and j not in tgt_words}
    scores = dict(result.scores or {})
    scores.update({link: 1.0 for link in readings})
    return AlignmentResult.from_links(kept | readings, scores if result.scores is not None else None)

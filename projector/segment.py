"""Word segmentation of scripts written without spaces: the one place that chooses a segmenter per
language.

:data:`SEGMENTERS` lists, per language, the segmenters tried in order (each an optional PyPI package,
``pip install "projector[cjk]"``); ``auto`` takes the first that is installed, then a downloaded Stanza
model, then the character fallback (:func:`char_tokens`: one token per character -- a base character
with its combining marks -- with runs of Latin letters or digits kept whole). Every segmenter returns
:class:`~projector.data.Token` lists with character offsets into the text (end exclusive); whitespace is
never part of a token.

=========== ===================================================================
``fugashi``  MeCab with UniDic (``fugashi`` + ``unidic-lite``), Japanese
``sudachi``  SudachiPy with its core dictionary (mode C), Japanese
``jieba``    jieba (its precise mode; compounds cut into the dictionary words its search mode finds in them), Chinese
``pythainlp`` PyThaiNLP's ``newmm`` (dictionary-based maximal matching), Thai
``stanza``   a downloaded Stanza tokenizer (never downloads)
``chars``    the character fallback, always available
=========== ===================================================================
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache

from .data import Token
from .errors import UnknownNameError
from .langs import base_lang

__all__ = ["SEGMENTERS", "BACKENDS", "segmenter", "segmenter_name", "char_tokens", "locate", "merge_marks",
           "split_compound"]

logger = logging.getLogger("projector")

Segmenter = Callable[[str], list[Token]]

#: per language (:func:`projector.langs.base_lang`: ``jpn_Jpan`` -> ``ja``), the PyPI segmenters tried in order by ``auto``
SEGMENTERS: dict[str, tuple[str, ...]] = {
    "ja": ("fugashi", "sudachi"),
    "zh": ("jieba",),
    "th": ("pythainlp",),
}
BACKENDS = ("auto", "fugashi", "sudachi", "jieba", "pythainlp", "stanza", "chars")

_LATIN_RUN = re.compile(r"[A-Za-z0-9]+")


def char_tokens(text: str) -> list[Token]:
    """One token per character (a base character with the combining marks after it, so Thai ``ั``
    stays on its consonant); runs of ASCII letters and digits are one token; whitespace is skipped."""
    out: list[Token] = []
    k, n = 0, len(text)
    while k < n:
        if text[k].isspace():
            k += 1
            continue
        m = _LATIN_RUN.match(text, k)
        end = m.end() if m else k + 1
        while end < n and unicodedata.category(text[end]).startswith("M"):
            end += 1
        out.append(Token(text[k:end], k, end))
        k = end
    return out


def locate(text: str, words: Sequence[str]) -> list[Token] | None:
    """``words`` found in order in ``text`` (anything may lie between them), or ``None`` when one is
    not found verbatim (a segmenter that normalised the text)."""
    out: list[Token] = []
    pos = 0
    for w in words:
        if not w or w.isspace():
            continue
        w = w.strip()
        at = text.find(w, pos)
        if at < 0:
            return None
        out.append(Token(w, at, at + len(w)))
        pos = at + len(w)
    return out


def _located(words_of: Callable[[str], Sequence[str]]) -> Segmenter:
    """A segmenter from a function giving the words of a text; the character fallback for a text whose
    words cannot be located verbatim."""
    def segment(text: str) -> list[Token]:
        found = locate(text, words_of(text)) if text.strip() else []
        if found is None:
            logger.debug("segmenter output does not match the text; characters used: %r", text[:60])
            return char_tokens(text)
        return merge_marks(text, found)
    return segment


def _fugashi() -> Segmenter:
    import fugashi

    tagger = fugashi.Tagger()  # UniDic: unidic-lite (or unidic with its downloaded dictionary)
    return _located(lambda text: [w.surface for w in tagger(text)])


def _sudachi() -> Segmenter:
    from sudachipy import Dictionary, SplitMode

    tok = Dictionary().create(SplitMode.C)
    return _located(lambda text: [m.surface() for m in tok.tokenize(text)])


def _jieba() -> Segmenter:
    import jieba

    jieba.setLogLevel(logging.WARNING)

    def segment(text: str) -> list[Token]:
        tokens = [Token(w, a, b) for w, a, b in jieba.tokenize(text) if w.strip()]
        return merge_marks(text, [t for tok in tokens for t in split_compound(tok, _search_words(jieba, tok.text))])

    return segment


def _search_words(jieba: object, word: str) -> list[tuple[int, int]]:
    """The dictionary words jieba's search mode finds inside ``word`` (offsets into it), for words of 3+
    characters."""
    if len(word) < 3:
        return []
    return [(a, b) for _, a, b in jieba.tokenize(word, mode="search")]  # type: ignore[attr-defined]


def split_compound(token: Token, parts: Sequence[tuple[int, int]]) -> list[Token]:
    """``token`` cut into the shorter dictionary words of ``parts`` (offsets into the token) when they
    tile it from left to right, longest first (``保险公司`` -> ``保险`` ``公司``); else ``[token]``.

    A precise-mode compound is one token, and a span that ends inside it (``公司`` of ``保险公司``, ``德国``
    of ``德国人``) could never be projected: the aligner sees the parts and the span heuristics join them.
    """
    ends: dict[int, int] = {}
    for a, b in parts:
        if b - a < len(token.text) and b > ends.get(a, a):
            ends[a] = b
    tiles, pos = [], 0
    while pos < len(token.text) and pos in ends:
        tiles.append((pos, ends[pos]))
        pos = ends[pos]
    if pos != len(token.text) or len(tiles) < 2:
        return [token]
    return [Token(token.text[a:b], token.start + a, token.start + b) for a, b in tiles]


def merge_marks(text: str, tokens: Sequence[Token]) -> list[Token]:
    """``tokens`` with every token that starts with a combining mark joined to the token before it
    when they touch (a segmenter that split a grapheme, e.g. jieba on Thai)."""
    out: list[Token] = []
    for t in tokens:
        if out and out[-1].end == t.start and unicodedata.category(t.text[0]).startswith("M"):
            out[-1] = Token(text[out[-1].start:t.end], out[-1].start, t.end)
        else:
            out.append(t)
    return out


def _pythainlp() -> Segmenter:
    from pythainlp.tokenize import word_tokenize

    return _located(lambda text: word_tokenize(text, engine="newmm", keep_whitespace=False))


def _stanza(lang: str) -> Segmenter | None:
    from .convert import _stanza_tokenizer

    return _stanza_tokenizer(lang)  # type: ignore[no-any-return]


_BUILDERS: dict[str, Callable[[], Segmenter]] = {"fugashi": _fugashi, "sudachi": _sudachi, "jieba": _jieba,
                                                  "pythainlp": _pythainlp}
_PACKAGES = {"fugashi": "fugashi", "sudachi": "sudachipy", "jieba": "jieba", "pythainlp": "pythainlp"}


def _build(name: str, lang: str) -> Segmenter | None:
    """The segmenter ``name`` for ``lang``, or None when its package (or model) is missing."""
    if name == "chars":
        return char_tokens
    if name == "stanza":
        return _stanza(lang)
    try:
        return _BUILDERS[name]()
    except ImportError:
        return None
    except RuntimeError as exc:  # fugashi without a dictionary (unidic installed, not downloaded)
        logger.warning("segmenter %s unusable: %s", name, exc)
        return None


@lru_cache(maxsize=64)
def _choose(lang: str, backend: str) -> tuple[str, Segmenter]:
    if backend not in BACKENDS:
        raise UnknownNameError("segmenter", backend, BACKENDS)
    if backend != "auto":
        seg = _build(backend, lang)
        if seg is None:
            from ._optional import require

            if backend == "stanza":
                from .errors import ModelError

                raise ModelError(f"no downloaded Stanza tokenizer for {lang!r}: run stanza.download({lang!r})")
            extra = None if backend == "sudachi" else "cjk"  # SudachiPy is not in the extra (fugashi is)
            require(_PACKAGES[backend], extra=extra, purpose=f"the {backend} segmenter",
                    package="sudachipy sudachidict-core" if backend == "sudachi" else None)
            raise UnknownNameError("segmenter", backend, BACKENDS)  # installed but unusable
        return backend, seg
    for name in (*SEGMENTERS.get(lang, ()), "stanza"):
        seg = _build(name, lang)
        if seg is not None:
            return name, seg
    return "chars", char_tokens


def segmenter(lang: str | None, backend: str = "auto") -> Segmenter:
    """The word segmenter ``text -> list[Token]`` for ``lang`` (see the module docstring for ``auto``)."""
    return _choose(base_lang(lang) if lang else "", backend)[1]


def segmenter_name(lang: str | None, backend: str = "auto") -> str:
    """The name of the segmenter :func:`segmenter` gives (``fugashi``, ``jieba``, ``chars``...)."""
    return _choose(base_lang(lang) if lang else "", backend)[0]

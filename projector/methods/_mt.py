"""Helpers shared by the MT-based methods: loading translators, marker pieces, language traits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..options import MTOptions, portable_model
from ..scripts import NO_SPACE_LANGS, uses_spaces  # one definition of the language trait (re-exported)

logger = logging.getLogger("projector.methods")

__all__ = ["resolve_translator", "beam_of", "marker_pieces", "uses_spaces", "model_name", "NO_SPACE_LANGS"]



def resolve_translator(translator: Any | None, model: str | None, *, what: str = "translator",
                       mt: MTOptions | None = None, tokenizer: str | None = None) -> Any | None:
    """``translator`` if given, else ``load_translator(model, ...)`` (loaded as ``mt`` says) if
    ``model``, else None."""
    if translator is not None:
        if model is not None:
            raise ConfigError(f"give either a loaded {what} or a model name for it, not both")
        return translator
    if model is None:
        return None
    from mt_backends import choose_backend, load_translator

    mt = mt or MTOptions()
    opts = mt.loader_options(choose_backend(model, mt.backend))
    if tokenizer is not None:
        opts["tokenizer"] = tokenizer
    return load_translator(model, backend=mt.backend, **opts)


def beam_of(translator: Any) -> int:
    """The beam size a translator decodes with by default (its ``MTOptions.beam_size``)."""
    return int(getattr(translator, "beam_size", 4) or 4)


def model_name(translator: Any | None) -> str:
    """A short name of the model behind a translator (for signatures)."""
    if translator is None:
        return "none"
    info = getattr(translator, "info", None)
    if info is None:
        return type(translator).__name__
    path = str(getattr(info, "path", "") or "")
    base = getattr(info, "name", "") or path.rstrip("/").rsplit("/", 1)[-1] or path
    return f"{getattr(info, 'backend', '?')}:{portable_model(base)}"


def marker_pieces(translator: Any, marker: str, lang: str) -> tuple[tuple[str, ...], str]:
    """The pieces the model writes ``marker`` with as a word of its own, and how they were found.

    The tokenizer's segmentation of the marker as a standalone word is what the model saw in training:
    a single vocabulary piece ``▁[`` for NLLB, M2M100 and Marian (origin ``vocabulary``). When the
    segmentation has several pieces (e.g. ``('▁', '[')``), a single ``▁[`` piece of the vocabulary is
    preferred if the backend knows one, else the segmentation is used (origin ``tokenizer``, logged).
    """
    seg = tuple(translator.tokenize([marker], lang, side="target")[0])
    if len(seg) == 1:
        return seg, "vocabulary"
    finder = getattr(translator, "marker_pieces", None)
    if callable(finder):
        singles = [tuple(o) for o in finder(marker) if len(o) == 1 and o[0].startswith("▁")]
        if singles:
            return singles[0], "vocabulary"
    if not seg:
        raise ConfigError(f"the model cannot write the marker {marker!r} (its tokenizer returns no pieces)")
    logger.warning("no single vocabulary piece for marker %r: using the tokenizer's pieces %s", marker, seg)
    return seg, "tokenizer"


def batched_translate(translator: Any, texts: Sequence[str], src: str, tgt: str, **kw: Any) -> list[Any]:
    """``translator.translate`` on the distinct non-blank texts, results mapped back in order."""
    uniq = sorted({t for t in texts if t.strip()})
    res = dict(zip(uniq, translator.translate(uniq, src, tgt, **kw), strict=True)) if uniq else {}
    return [res.get(t) for t in texts]

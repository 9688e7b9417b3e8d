"""Word alignment for label projection: aligners, span heuristics and evaluation.

Aligners are chosen by name and imported lazily, so ``import alignment`` stays cheap (no torch,
transformers, simalign, eflomal or ctranslate2 until an aligner that needs them is built)::

    from alignment import get_aligner
    aligner = get_aligner("embedding", model="/path/to/encoder", layer=8, method="itermax")
    results = aligner.align([["Hello", "world"]], [["Hallo", "Welt"]])
    results[0].links  # frozenset({(0, 0), (1, 1)})

Names: ``embedding`` (alias ``simalign``; batched simalign-style aligner on any Hugging Face encoder),
``eflomal`` (statistical), ``ensemble`` (combines several aligners' links). Spans are projected through
links with :func:`project_spans` (:mod:`alignment.heuristics`); :mod:`alignment.project` joins both
(``default_aligner``, ``DEFAULT_SPAN_OPTIONS``, ``evaluate_projection``, ``evaluate_aligner``) and
:mod:`alignment.evaluate` reads gold alignments and scores AER and span F1. :func:`finetune` trains an
encoder on parallel text for the embedding aligner (awesome-align's objectives, :mod:`alignment.finetuning`).
Reading links (:mod:`alignment.translit`) link Latin-script names to the Japanese or Chinese words that
romanize to them; the align method adds them over any aligner's links (``transliterate``).
"""

from __future__ import annotations

import logging
from typing import Any

from .base import Aligner, AlignmentResult, Link
from .finetuning import FinetuneOptions, finetune
from .heuristics import ProjectedSpan, SpanOptions, combine_links, project_spans

__all__ = [
    "Aligner",
    "AlignmentResult",
    "Link",
    "ProjectedSpan",
    "SpanOptions",
    "combine_links",
    "project_spans",
    "get_aligner",
    "available_aligners",
    "register_aligner",
    "finetune",
    "FinetuneOptions",
]

logger = logging.getLogger("projector.alignment")

_REGISTRY: Any = None


def _registry() -> Any:
    global _REGISTRY
    if _REGISTRY is None:
        from projector.registry import Registry

        reg: Any = Registry("aligner")
        reg.register("embedding", "alignment.embedding:EmbeddingAligner", aliases=("simalign", "emb"))
        reg.register("eflomal", "alignment.eflomal_aligner:EflomalAligner")
        reg.register("ensemble", "alignment.ensemble:EnsembleAligner")
        _REGISTRY = reg
    return _REGISTRY


def register_aligner(name: str, target: Any, *, aliases: tuple[str, ...] = ()) -> None:
    """Register an aligner factory (a class or ``"module:attr"``) under ``name``."""
    _registry().register(name, target, aliases=aliases)


def available_aligners() -> list[str]:
    """The registered aligner names, sorted."""
    return list(_registry().names())


def get_aligner(name: str, **options: Any) -> Aligner:
    """Build the aligner registered as ``name`` with ``options`` (its constructor's keywords).

    Raises :class:`projector.errors.UnknownNameError` (listing the available names) for an unknown name
    and :class:`projector.errors.MissingDependencyError` (extra ``align``) when a needed optional
    dependency is missing.
    """
    factory = _registry().get(name)
    return factory(**options)  # type: ignore[no-any-return]

"""Projection methods behind one interface (:class:`~projector.methods.base.ProjectionMethod`).

* ``codec``: constrained decoding (Le et al., ICLR 2024): translate, then place markers in the fixed
  translation where the MT model finds them most probable.
* ``markers``: mark-then-translate (EasyProject, Chen et al. 2023).
* ``align``: word alignment (embedding aligners, eflomal) plus span heuristics.

Components are imported only when chosen.
"""

from __future__ import annotations

from typing import Any

from ..registry import Registry
from .base import ProjectionInput, ProjectionMethod, ProjectionOutput, SpanProjection

__all__ = ["METHODS", "get_method", "ProjectionInput", "ProjectionMethod", "ProjectionOutput", "SpanProjection"]

METHODS: Registry[Any] = Registry("projection method")
METHODS.register("codec", "projector.methods.codec:CodecMethod", aliases=("constrained", "constrained-decoding"))
METHODS.register("markers", "projector.methods.markers:MarkersMethod", aliases=("easyproject", "mark-then-translate"))
METHODS.register("align", "projector.methods.align:AlignMethod", aliases=("alignment", "word-alignment"))


def get_method(name: str, **options: Any) -> ProjectionMethod:
    """Build the projection method ``name`` with its options (unknown names list the available ones)."""
    return METHODS.get(name)(**options)  # type: ignore[no-any-return]

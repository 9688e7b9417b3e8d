"""An aligner that combines the links of several aligners (union, intersection, weighted vote)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .base import Aligner, AlignmentResult, check_batch
from .heuristics import combine_links

__all__ = ["EnsembleAligner"]

logger = logging.getLogger("projector.alignment")


class EnsembleAligner:
    """Runs each member aligner on the batch and combines the link sets per pair.

    ``aligners`` are :class:`~alignment.base.Aligner` objects or specs ``{"name": "eflomal", **options}``
    (built with :func:`alignment.get_aligner`). ``method`` is ``union``, ``intersection`` or ``vote``
    (with ``weights`` and ``threshold``, see :func:`alignment.heuristics.combine_links`).
    """

    name = "ensemble"

    def __init__(self, aligners: Sequence[Aligner | Mapping[str, Any]], method: str = "union",
                 weights: Sequence[float] | None = None, threshold: float = 0.5) -> None:
        from projector.errors import ConfigError

        from . import get_aligner

        if not aligners:
            raise ConfigError("an ensemble needs at least one aligner")
        members: list[Aligner] = []
        for spec in aligners:
            if isinstance(spec, Mapping):
                opts = dict(spec)
                members.append(get_aligner(opts.pop("name"), **opts))
            else:
                members.append(spec)
        self.aligners = members
        self.method = method
        self.weights = list(weights) if weights is not None else None
        self.threshold = threshold
        combine_links([], method, self.weights, threshold)  # validate the method early
        if self.weights is not None and len(self.weights) != len(members):
            raise ConfigError(f"{len(self.weights)} weights for {len(members)} aligners")

    def align(self, src_tokens_batch: Sequence[Sequence[str]],
              tgt_tokens_batch: Sequence[Sequence[str]]) -> list[AlignmentResult]:
        """Align with every member and combine their links pair by pair."""
        return self.align_members(src_tokens_batch, tgt_tokens_batch)[0]

    def align_members(self, src_tokens_batch: Sequence[Sequence[str]], tgt_tokens_batch: Sequence[Sequence[str]]
                      ) -> tuple[list[AlignmentResult], list[list[AlignmentResult]]]:
        """The combined links of each pair and each member's links of it (every member runs once)."""
        src_batch, tgt_batch = check_batch(src_tokens_batch, tgt_tokens_batch)
        per_aligner = [a.align(src_batch, tgt_batch) for a in self.aligners]
        members = [[res[k] for res in per_aligner] for k in range(len(src_batch))]
        combined = [combine_links(m, self.method, self.weights, self.threshold) for m in members]
        return combined, members

    def __repr__(self) -> str:
        return f"EnsembleAligner({self.aligners!r}, method={self.method!r})"

"""Symmetrization of two directional alignments (pure functions on link sets).

``fwd`` holds the source->target links and ``rev`` the target->source links, both as ``(i, j)`` with
``i`` a source and ``j`` a target index. Methods: ``intersection``, ``union``, ``grow-diag``,
``grow-diag-final`` and ``grow-diag-final-and`` (Koehn et al., 2005; the Moses heuristic).
"""

from __future__ import annotations

from collections.abc import Iterable

from .base import Link

__all__ = ["symmetrize", "grow_diag_final_and", "SYMMETRIZATIONS"]

SYMMETRIZATIONS = ("intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and")

_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def _grow_diag(alignment: set[Link], union: set[Link]) -> None:
    src_aligned = {i for i, _ in alignment}
    tgt_aligned = {j for _, j in alignment}
    added = True
    while added:
        added = False
        for i, j in sorted(alignment):
            for di, dj in _NEIGHBOURS:
                cand = (i + di, j + dj)
                if cand in union and cand not in alignment and (
                        cand[0] not in src_aligned or cand[1] not in tgt_aligned):
                    alignment.add(cand)
                    src_aligned.add(cand[0])
                    tgt_aligned.add(cand[1])
                    added = True


def _final(alignment: set[Link], directional: set[Link], both: bool) -> None:
    src_aligned = {i for i, _ in alignment}
    tgt_aligned = {j for _, j in alignment}
    for i, j in sorted(directional):
        if (i, j) in alignment:
            continue
        if (both and i not in src_aligned and j not in tgt_aligned) or (
                not both and (i not in src_aligned or j not in tgt_aligned)):
            alignment.add((i, j))
            src_aligned.add(i)
            tgt_aligned.add(j)


def grow_diag_final_and(fwd: Iterable[Link], rev: Iterable[Link]) -> frozenset[Link]:
    """The grow-diag-final-and symmetrization of ``fwd`` and ``rev``."""
    return symmetrize(fwd, rev, "grow-diag-final-and")


def symmetrize(fwd: Iterable[Link], rev: Iterable[Link], method: str = "grow-diag-final-and") -> frozenset[Link]:
    """Combine directional link sets with ``method`` (one of :data:`SYMMETRIZATIONS`)."""
    f, r = set(fwd), set(rev)
    if method == "intersection":
        return frozenset(f & r)
    if method == "union":
        return frozenset(f | r)
    if method not in SYMMETRIZATIONS:
        from projector.errors import UnknownNameError

        raise UnknownNameError("symmetrization", method, SYMMETRIZATIONS)
    alignment = f & r
    _grow_diag(alignment, f | r)
    if method == "grow-diag-final":
        _final(alignment, f, both=False)
        _final(alignment, r, both=False)
    elif method == "grow-diag-final-and":
        _final(alignment, f, both=True)
        _final(alignment, r, both=True)
    return frozenset(alignment)

"""Re-ranking of codec's candidate placements and resolution of overlapping projections.

Re-ranking follows Codec's cascade (Le et al., 2024, stage 5) on each span's top-n placements:

1. *viable* candidates: lexical similarity ``lex >= lex_keep`` (0.5), or reverse score
   ``rev >= rev_keep`` (-5 nats; ``rev`` = log P(source span | candidate text), target->source);
   without reverse scores the model's best placement is always viable.
2. if the best ``lex`` among viable candidates is ``>= lex_sure`` (0.9): among those with that
   ``lex``, the best ``rev`` (then the best forward rank);
3. else the best forward-ranked viable candidate, unless a viable candidate lying strictly inside it
   has a better ``rev`` (Codec's fix for spans that swallow a neighbouring word).

``lex`` = max(similarity to the standalone translation of the source span, similarity to the source
span itself), similarity = rapidfuzz ``fuzz.ratio``/100 on lowercased text.

Overlaps (:func:`resolve_overlaps`): spans are settled in decreasing confidence (``lex`` of their
chosen candidate, then its forward log-prob); each takes its first candidate, in re-ranked order,
that does not overlap a target already taken by a span whose *source* does not overlap its own
(nested or overlapping source spans may nest or overlap in the target). A span that had to move is
``fuzzy`` ("moved by an overlap"); one with no candidate left is ``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = ["Candidate", "lexical_similarity", "rerank", "resolve_overlaps"]


@dataclass(frozen=True)
class Candidate:
    """A placement as a character range of the target, with its re-ranking features."""

    start: int
    end: int
    score: float
    rank: int
    lex: float = 0.0
    rev: float | None = None

    def inside(self, other: Candidate) -> bool:
        """Strictly inside ``other``."""
        return other.start <= self.start and self.end <= other.end and (self.start, self.end) != (other.start, other.end)

    def overlaps(self, other: Candidate) -> bool:
        """Shares a character with ``other``."""
        return self.start < other.end and other.start < self.end


def lexical_similarity(candidate: str, source_span: str, translated_span: str | None) -> float:
    """max(ratio(candidate, translated span), ratio(candidate, source span)), in [0, 1]."""
    from rapidfuzz import fuzz

    c = candidate.lower().strip()
    best = fuzz.ratio(c, source_span.lower().strip()) / 100.0
    if translated_span:
        best = max(best, fuzz.ratio(c, translated_span.lower().strip()) / 100.0)
    return float(best)


def rerank(cands: Sequence[Candidate], *, lex_keep: float = 0.5, rev_keep: float = -5.0,
           lex_sure: float = 0.9) -> list[Candidate]:
    """Viable candidates, the chosen one first, then the others by forward rank ([] if none is viable)."""
    viable = [c for c in cands
              if c.lex >= lex_keep or (c.rev is not None and c.rev >= rev_keep) or (c.rev is None and c.rank == 0)]
    if not viable:
        return []
    best_lex = max(c.lex for c in viable)
    if best_lex >= lex_sure:
        pool = [c for c in viable if abs(c.lex - best_lex) < 1e-9]
        chosen = max(pool, key=lambda c: (c.rev if c.rev is not None else 0.0, -c.rank))
    else:
        first = min(viable, key=lambda c: c.rank)
        inner = [c for c in viable if c.inside(first) and c.rev is not None and first.rev is not None
                 and c.rev > first.rev]
        chosen = max(inner, key=lambda c: (c.rev, -c.rank)) if inner else first
    rest = sorted((c for c in viable if c is not chosen), key=lambda c: c.rank)
    return [chosen, *rest]


@dataclass(frozen=True)
class Settled:
    """The outcome of one span: its candidate (None: failed) and whether it had to move."""

    candidate: Candidate | None
    moved: bool = False


def resolve_overlaps(sources: Sequence[tuple[int, int]], ranked: Sequence[Sequence[Candidate]]) -> list[Settled]:
    """Pick one candidate per span so that spans with disjoint sources get disjoint targets."""
    order = sorted(range(len(ranked)), key=lambda k: (-(ranked[k][0].lex if ranked[k] else -1.0),
                                                      -(ranked[k][0].score if ranked[k] else -1e30), k))
    taken: list[tuple[int, Candidate]] = []
    out: list[Settled] = [Settled(None)] * len(ranked)
    for k in order:
        s_start, s_end = sources[k]
        for pos, cand in enumerate(ranked[k]):
            clash = any(cand.overlaps(other) and not (s_start < sources[q][1] and sources[q][0] < s_end)
                        for q, other in taken)
            if not clash:
                taken.append((k, cand))
                out[k] = Settled(replace(cand), moved=pos > 0)
                break
    return out

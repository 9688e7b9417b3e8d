"""The aligner protocol and the result type every aligner returns.

A *link* ``(i, j)`` says that source word ``i`` and target word ``j`` (both 0-indexed, over the token
lists given to :meth:`Aligner.align`) translate each other. An :class:`AlignmentResult` holds the links
of one sentence pair as a ``frozenset`` and, when the aligner has them, a score per link (higher is
more confident; embedding aligners give the similarity in [0, 1]).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Link", "AlignmentResult", "Aligner", "check_batch"]

Link = tuple[int, int]


@dataclass(frozen=True)
class AlignmentResult:
    """The word links of one sentence pair, with optional per-link scores."""

    links: frozenset[Link]
    scores: Mapping[Link, float] | None = field(default=None, compare=False)

    @classmethod
    def from_links(cls, links: Iterable[Link], scores: Mapping[Link, float] | None = None) -> AlignmentResult:
        """Build a result from any iterable of links (scores restricted to the links)."""
        frozen = frozenset((int(i), int(j)) for i, j in links)
        if scores is not None:
            scores = {link: float(scores[link]) for link in frozen if link in scores}
        return cls(frozen, scores)

    def score(self, link: Link, default: float = 1.0) -> float:
        """The score of ``link`` (``default`` when the aligner gives none)."""
        if self.scores is None:
            return default
        return self.scores.get(link, default)

    def sorted_links(self) -> list[Link]:
        """The links sorted by source then target index."""
        return sorted(self.links)

    def to_pharaoh(self) -> str:
        """The links as one Pharaoh line (``"0-0 1-2 ..."``)."""
        return " ".join(f"{i}-{j}" for i, j in self.sorted_links())

    def __len__(self) -> int:
        return len(self.links)


@runtime_checkable
class Aligner(Protocol):
    """Anything that word-aligns a batch of pre-tokenized sentence pairs."""

    name: str

    def align(self, src_tokens_batch: Sequence[Sequence[str]],
              tgt_tokens_batch: Sequence[Sequence[str]]) -> list[AlignmentResult]:
        """Align pair ``k`` = (``src_tokens_batch[k]``, ``tgt_tokens_batch[k]``); one result per pair."""
        ...


def check_batch(src_tokens_batch: Sequence[Sequence[str]],
                tgt_tokens_batch: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """Validate a batch of token lists and return it as lists of lists of ``str``.

    Raises :class:`projector.errors.InputError` when the two sides differ in length or a sentence is a
    plain string instead of a token list.
    """
    from projector.errors import InputError

    if len(src_tokens_batch) != len(tgt_tokens_batch):
        raise InputError(f"the source batch has {len(src_tokens_batch)} sentences but the target batch "
                         f"has {len(tgt_tokens_batch)}")
    out: tuple[list[list[str]], list[list[str]]] = ([], [])
    for side, batch in zip(out, (src_tokens_batch, tgt_tokens_batch)):
        for k, sent in enumerate(batch):
            if isinstance(sent, str):
                raise InputError(f"sentence {k} is a string; aligners take token lists (use str.split())")
            side.append([str(t) for t in sent])
    return out

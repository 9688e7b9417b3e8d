"""Pure helpers of the MT layer: token-budget batching and sentence splitting."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

__all__ = ["token_batches", "split_sentences", "join_sentences", "pack_sentences", "chunked"]


def merge_batches(batches: Sequence[list[int]], n: int) -> list[list[int]]:
    """Every ``n`` consecutive batches as one call, so an engine with ``n`` replicas (CTranslate2's
    ``inter_threads``, or several devices) runs them in parallel (it splits a call by its own budget)."""
    if n <= 1:
        return list(batches)
    return [[k for b in batches[i:i + n] for k in b] for i in range(0, len(batches), n)]


def token_batches(lengths: Sequence[int], budget: int, *, max_examples: int | None = None) -> list[list[int]]:
    """Group example indices into batches, sorted by length, within a token budget.

    A batch's cost is its padded size, ``len(batch) * max(length in batch)``; it never exceeds
    ``budget`` unless a single example is longer than the budget (it then gets a batch of its
    own). Indices are sorted by decreasing length (ties in input order), so each batch holds
    examples of similar length; callers restore the input order.
    """
    if budget < 1:
        raise ValueError(f"token budget must be >= 1, got {budget}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        n = max(1, lengths[i])
        width = max(longest, n)
        full = max_examples is not None and len(current) >= max_examples
        if current and (width * (len(current) + 1) > budget or full):
            batches.append(current)
            current, width = [], n
        current.append(i)
        longest = width
    if current:
        batches.append(current)
    return batches


def chunked(items: Sequence[int], size: int) -> Iterator[list[int]]:
    """Consecutive chunks of ``size`` indices (the read-ahead window of streaming)."""
    for start in range(0, len(items), max(1, size)):
        yield list(items[start:start + size])


# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) and whitespace, or
# at CJK full stops (no whitespace needed), or at a line break.
_BOUNDARY = re.compile(r"""(?<=[.!?…])["'”’»)\]]*\s+|(?<=[。！？])\s*|\n+""")
_CLOSERS = re.compile(r"""["'”’»)\]]*""")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` at sentence boundaries; stripped, non-empty sentences, in order.

    Whitespace between sentences is not kept (joining uses :func:`join_sentences`).
    """
    parts: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        closers = _CLOSERS.match(m.group(0))
        piece = text[start:m.start()] + (closers.group(0) if closers else "")
        if piece.strip():
            parts.append(piece.strip())
        start = m.end()
    if text[start:].strip():
        parts.append(text[start:].strip())
    return parts


def join_sentences(parts: Sequence[str], lang: str) -> str:
    """Join translated sentences: with a space, or with nothing for languages written without spaces
    (:func:`projector.scripts.uses_spaces`)."""
    from projector.scripts import uses_spaces

    sep = " " if uses_spaces(lang) else ""
    return sep.join(p.strip() for p in parts if p.strip())


def pack_sentences(lengths: Sequence[int], limit: int) -> list[list[int]] | None:
    """Greedily pack consecutive sentences (by their token lengths) into groups within ``limit``.

    Returns groups of sentence indices, or None when one sentence alone exceeds ``limit``.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(lengths):
        if n > limit:
            return None
        if current and total + n > limit:
            groups.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    if current:
        groups.append(current)
    return groups

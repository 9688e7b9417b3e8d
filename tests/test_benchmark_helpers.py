"""Pure helpers of the benchmarks whose figures depend on them (gold projections from alignments)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from codec_quality import consistent_spans, word_offsets  # noqa: E402

PAIR = {"src_words": ["the", "european", "commission", "met", "in", "brussels"],
        "tgt_words": ["a", "comissão", "europeia", "reuniu-se", "em", "bruxelas"],
        "alignment": [[0, 0], [1, 2], [2, 1], [3, 3], [4, 4], [5, 5]]}


TAIL = {(3, 6, 3, 6), (4, 6, 4, 6), (5, 6, 5, 6)}  # "met in brussels", "in brussels", "brussels"


@pytest.mark.parametrize(("alignment", "expected"), [
    # crossing links inside a span are fine: "european commission" -> "comissão europeia";
    # "the european" is not consistent ("commission" links into its target range "a comissão europeia")
    (PAIR["alignment"], {(1, 2, 2, 3), (2, 3, 1, 2), (0, 3, 0, 3), (1, 3, 1, 3), (1, 4, 1, 4)} | TAIL),
    # "european" also links to "comissão": neither word alone is consistent any more
    ([[0, 0], [1, 1], [1, 2], [2, 2], [3, 3], [4, 4], [5, 5]], {(0, 3, 0, 3), (1, 3, 1, 3), (1, 4, 1, 4)} | TAIL),
    # an unaligned word is never part of a span ("european" unaligned), but may sit in a target range
    ([[0, 0], [2, 1], [3, 3], [4, 4], [5, 5]], {(2, 3, 1, 2), (2, 4, 1, 4), (2, 5, 1, 5)} | TAIL),
])
def test_consistent_spans(alignment: list[list[int]], expected: set[tuple[int, int, int, int]]) -> None:
    pair = {**PAIR, "alignment": alignment}
    seen: set[tuple[int, int, int, int]] = set()
    for seed in range(60):  # each draw is a random disjoint choice; together they show every span
        got = consistent_spans(pair, random.Random(seed), per_sentence=3)
        assert got == sorted(got) and 1 <= len(got) <= 3
        for x in got:
            for y in got:
                if x != y:  # disjoint on both sides
                    assert x[1] <= y[0] or y[1] <= x[0]
                    assert x[3] <= y[2] or y[3] <= x[2]
        seen |= set(got)
    assert seen == expected


def test_word_offsets() -> None:
    assert word_offsets(["a", "bc", "d"]) == [(0, 1), (2, 4), (5, 6)]

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


@pytest.mark.parametrize(("value", "want"), [
    ("guided", ("guided",)),
    ("bruteforce,guided", ("guided", "bruteforce")),            # in the benchmark's order
    (" beam , pruned,beam", ("pruned", "beam")),                  # spaces and repeats
])
def test_codec_search_searches(value: str, want: tuple[str, ...]) -> None:
    from codec_search import parse_searches

    assert parse_searches(value) == want


@pytest.mark.parametrize("value", ["", "guided,fast", ","])
def test_codec_search_searches_rejects(value: str) -> None:
    import argparse

    from codec_search import parse_searches

    with pytest.raises(argparse.ArgumentTypeError):
        parse_searches(value)


def test_guided_choice_resolves_overlaps_as_codec_does() -> None:
    from types import SimpleNamespace

    from codec_quality import guided_choice, recorded_candidates

    from projector.data import Span

    def cand(start: int, end: int, mt: float, src: float, tgt: float, lex: float) -> dict[str, object]:
        return {"start": start, "end": end, "mt": mt, "src_cov": src, "tgt_cov": tgt, "lex": lex, "rev": None,
                "src_words": 1}

    # two source spans whose best candidates overlap in the target: the more lexically sure span keeps
    # (0, 5); the other gets its next viable candidate; a third span has no viable candidate
    out = SimpleNamespace(info={"guided": [
        [cand(0, 5, 0.0, 1.0, 1.0, 0.9)],
        [cand(0, 5, 0.0, 1.0, 1.0, 0.2), cand(6, 9, -1.0, 1.0, 0.5, 0.2)],
        [cand(10, 12, 0.0, 0.0, 0.0, 0.1)],
    ]})
    item = SimpleNamespace(spans=[Span(0, 4, "X"), Span(5, 8, "X"), Span(9, 12, "X")])
    weights = {"mt": 0.1, "src": 1.0, "tgt": 1.0, "lex": 0.5, "rev": 0.0}
    sentences = recorded_candidates([out], [item])
    assert sentences[0][0] == [(0, 4), (5, 8), (9, 12)]
    assert guided_choice(sentences, weights, lex_keep=0.5, rev_keep=-5.0) == [(0, 5), (6, 9), None]

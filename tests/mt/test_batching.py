"""Token-budget batching, sentence splitting and packing (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_backends.batching import join_sentences, pack_sentences, split_sentences, token_batches


@pytest.mark.parametrize(("lengths", "budget", "expected"), [
    ([], 10, []),
    ([3], 10, [[0]]),
    ([3, 10, 5, 5, 1, 20], 20, [[5], [1, 2], [3, 0, 4]]),   # 20 alone; 10+5 padded = 20; 5,3,1 -> 15
    ([4, 4, 4, 4], 8, [[0, 1], [2, 3]]),                      # ties keep input order
    ([30, 2], 10, [[0], [1]]),                                # longer than the budget: alone
    ([1, 1, 1], 100, [[0, 1, 2]]),
])
def test_token_batches(lengths: list[int], budget: int, expected: list[list[int]]) -> None:
    assert token_batches(lengths, budget) == expected


def test_token_batches_max_examples() -> None:
    assert token_batches([1] * 5, 100, max_examples=2) == [[0, 1], [2, 3], [4]]


def test_token_batches_rejects_bad_budget() -> None:
    with pytest.raises(ValueError):
        token_batches([1], 0)


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=40), st.integers(min_value=1, max_value=120))
def test_token_batches_properties(lengths: list[int], budget: int) -> None:
    batches = token_batches(lengths, budget)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))           # every example exactly once
    for b in batches:
        padded = len(b) * max(max(1, lengths[i]) for i in b)
        assert padded <= budget or len(b) == 1                  # budget respected
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # length-sorted


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello world. How are you?  Fine!", ["Hello world.", "How are you?", "Fine!"]),
    ('He said "Go." Then he left.', ['He said "Go."', "Then he left."]),
    ("(A short one.) Next.", ["(A short one.)", "Next."]),
    ("你好。我很好！谢谢", ["你好。", "我很好！", "谢谢"]),
    ("One line\nTwo line", ["One line", "Two line"]),
    ("No final stop", ["No final stop"]),
    ("3.14 is pi. Yes", ["3.14 is pi.", "Yes"]),
    ("", []),
    ("   ", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(("parts", "lang", "expected"), [
    (["Olá.", "Tudo bem?"], "pt", "Olá. Tudo bem?"),
    (["你好。", "谢谢"], "zh", "你好。谢谢"),
    (["你好。", "谢谢"], "zh-Hant", "你好。谢谢"),
    (["こんにちは。", "はい"], "ja", "こんにちは。はい"),
    (["こんにちは。", "はい"], "jpn_Jpan", "こんにちは。はい"),
    (["สวัสดี", "ครับ"], "tha_Thai", "สวัสดีครับ"),
    (["Olá.", "Tudo bem?"], "por_Latn", "Olá. Tudo bem?"),
    ([" a ", "", "b"], "en", "a b"),
])
def test_join_sentences(parts: list[str], lang: str, expected: str) -> None:
    assert join_sentences(parts, lang) == expected


@pytest.mark.parametrize(("lengths", "limit", "expected"), [
    ([3, 3, 3], 6, [[0, 1], [2]]),
    ([5, 1, 1, 5], 7, [[0, 1, 2], [3]]),
    ([2, 9], 8, None),   # one sentence alone is too long
    ([], 5, []),
])
def test_pack_sentences(lengths: list[int], limit: int, expected: list[list[int]] | None) -> None:
    assert pack_sentences(lengths, limit) == expected


@pytest.mark.parametrize(("batches", "n", "want"), [
    ([[0, 1], [2], [3, 4]], 1, [[0, 1], [2], [3, 4]]),
    ([[0, 1], [2], [3, 4]], 2, [[0, 1, 2], [3, 4]]),
    ([[0, 1], [2], [3, 4]], 5, [[0, 1, 2, 3, 4]]),
    ([], 2, []),
])
def test_merge_batches(batches: list[list[int]], n: int, want: list[list[int]]) -> None:
    from mt_backends.batching import merge_batches

    assert merge_batches(batches, n) == want

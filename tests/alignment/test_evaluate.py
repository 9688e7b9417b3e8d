"""Gold readers, AER/precision/recall/F1, span F1, IOB decoding."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignment.evaluate import (
    alignment_scores,
    iob_to_spans,
    read_gold,
    read_jsonl_gold,
    read_pharaoh_gold,
    span_scores,
)
from projector.errors import InputError

from .conftest import DATA


@pytest.mark.parametrize(
    ("pred", "sure", "possible", "expected"),
    [
        # perfect
        ([{(0, 0), (1, 1)}], [{(0, 0), (1, 1)}], None, {"aer": 0.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}),
        # one wrong link: P = 1/2, R = 1/2, AER = 1 - (1 + 1) / (2 + 2)
        ([{(0, 0), (1, 0)}], [{(0, 0), (1, 1)}], None, {"aer": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5}),
        # a possible link counts for precision, not recall: P = 1, R = 1/2, AER = 1 - (1 + 2) / (2 + 2)
        ([{(0, 0), (1, 0)}], [{(0, 0), (1, 1)}], [{(1, 0)}],
         {"aer": 0.25, "precision": 1.0, "recall": 0.5, "f1": 2 / 3}),
        # nothing predicted
        ([set()], [{(0, 0)}], None, {"aer": 1.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}),
        # corpus level: counts are summed over sentences
        ([{(0, 0)}, {(0, 0), (0, 1), (1, 1)}], [{(0, 0)}, {(0, 0)}], None,
         {"aer": 1 - 4 / 6, "precision": 0.5, "recall": 1.0, "f1": 2 / 3}),
    ],
)
def test_alignment_scores_table(pred, sure, possible, expected):
    got = alignment_scores(pred, sure, possible)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.frozensets(st.tuples(st.integers(0, 4), st.integers(0, 4))),
                          st.frozensets(st.tuples(st.integers(0, 4), st.integers(0, 4)))), min_size=1, max_size=5))
def test_alignment_score_bounds(pairs):
    pred = [p for p, _ in pairs]
    sure = [s for _, s in pairs]
    got = alignment_scores(pred, sure)
    for key in ("aer", "precision", "recall", "f1"):
        assert 0.0 <= got[key] <= 1.0
    assert alignment_scores(sure, sure)["aer"] == 0.0 or sum(map(len, sure)) == 0
    # with possible == sure, AER = 1 - F1
    if got["predicted"] and got["sure"]:
        assert got["aer"] == pytest.approx(1 - got["f1"])


def test_pharaoh_reader(tmp_path):
    (tmp_path / "x.src-tgt").write_text("a b c ||| x y\nd ||| z\n", encoding="utf-8")
    (tmp_path / "x.gold").write_text("1-1 2p2 3-2\n1-1\n", encoding="utf-8")
    pairs = read_gold(tmp_path / "x.src-tgt")
    assert pairs[0].src == ["a", "b", "c"] and pairs[0].tgt == ["x", "y"]
    assert pairs[0].sure == {(0, 0), (2, 1)}
    assert pairs[0].possible == {(0, 0), (1, 1), (2, 1)}
    assert pairs[1].sure == {(0, 0)}


def test_pharaoh_reader_keeps_unicode_spaces_inside_tokens(tmp_path):
    (tmp_path / "x.src-tgt").write_text("山 \u3000 くらま ||| a b c\n", encoding="utf-8")
    (tmp_path / "x.gold").write_text("3-3\n", encoding="utf-8")
    (pair,) = read_gold(tmp_path / "x.src-tgt")
    assert pair.src == ["山", "\u3000", "くらま"]


@pytest.mark.parametrize(
    ("text", "gold", "message", "line"),
    [
        ("a ||| x\nb ||| y\n", "1-1\n1-x\n", "bad alignment link '1-x'", 2),
        ("a ||| x\n", "2-1\n", "outside the sentence pair", 1),
        ("a ||| x\n", "0-1\n", "out of range", 1),
        ("a x\n", "1-1\n", "separator", 1),
        ("a ||| x\nb ||| y\n", "1-1\n", "1 gold lines for 2", None),
    ],
)
def test_pharaoh_reader_errors(tmp_path, text, gold, message, line):
    (tmp_path / "x.src-tgt").write_text(text, encoding="utf-8")
    (tmp_path / "x.gold").write_text(gold, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        read_pharaoh_gold(tmp_path / "x.src-tgt", tmp_path / "x.gold")
    assert info.value.line == line
    assert info.value.path is not None


def test_skip_invalid(tmp_path, caplog):
    # the level set here, not inherited: a CLI test run before with -q leaves "projector" at ERROR
    caplog.set_level(logging.WARNING, logger="projector.alignment")
    p = tmp_path / "g.jsonl"
    p.write_text('{"src_words": ["a"], "tgt_words": ["x"], "alignment": [[0, 5]]}\n'
                 '{"src_words": ["a"], "tgt_words": ["x"], "alignment": [[0, 0]]}\n', encoding="utf-8")
    assert len(read_jsonl_gold(p, skip_invalid=True)) == 1
    assert "g.jsonl:1" in caplog.text


def test_jsonl_reader(tmp_path):
    p = tmp_path / "g.jsonl"
    rows = [{"src_words": ["a", "b"], "tgt_words": ["x"], "alignment": [[0, 0], [1, 0]]}]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    (pair,) = read_gold(p)
    assert pair.sure == pair.possible == {(0, 0), (1, 0)}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"src_words": ["a"], "alignment": []}', "missing field 'tgt_words'"),
        ('{"src_words": ["a"], "tgt_words": ["x"], "alignment": [[0, 3]]}', "outside the sentence pair"),
        ('{"src_words": ["a"], "tgt_words": ["x"], "alignment": [0]}', "list of \\[i, j\\]"),
    ],
)
def test_jsonl_reader_errors(tmp_path, line, message):
    p = tmp_path / "g.jsonl"
    p.write_text('{"src_words": ["a"], "tgt_words": ["x"], "alignment": [[0, 0]]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        read_jsonl_gold(p)
    assert info.value.line == 2 and str(p) in str(info.value)


def test_span_scores():
    pred = [[(0, 2, "ORG"), (3, 4, "PER")], [(1, 2, "LOC")]]
    gold = [[(0, 2, "ORG"), (3, 5, "PER")], [(1, 2, "MISC")]]
    got = span_scores(pred, gold)
    assert got["tp"] == 1 and got["predicted"] == 3 and got["gold"] == 3
    assert got["f1"] == pytest.approx(1 / 3)
    assert got["per_label"]["ORG"]["f1"] == 1.0
    assert got["per_label"]["PER"]["f1"] == 0.0
    assert got["per_label"]["MISC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "predicted": 0, "gold": 1}


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [(0, 2, "PER"), (3, 4, "LOC")]),
        (["B-PER", "B-PER"], [(0, 1, "PER"), (1, 2, "PER")]),
        (["I-ORG", "I-ORG", "I-LOC"], [(0, 2, "ORG"), (2, 3, "LOC")]),  # IOB1
        (["S-PER", "B-LOC", "E-LOC", "O"], [(0, 1, "PER"), (1, 3, "LOC")]),  # BIOES
        (["O", "O"], []),
    ],
)
def test_iob_to_spans(tags, spans):
    assert iob_to_spans(tags) == spans


@pytest.mark.shared
@pytest.mark.parametrize("name", ["enfr", "roen", "jaen", "zhen"])
def test_shared_pharaoh_gold(name):
    pairs = read_gold(DATA / "word-alignment-gold" / "awesome" / f"{name}.src-tgt")
    assert len(pairs) > 200 and all(p.sure <= p.possible for p in pairs)


@pytest.mark.shared
def test_shared_jsonl_gold():
    files = sorted((DATA / "word-alignment-gold" / "multi").rglob("*.jsonl"))
    assert files
    for f in files:
        n_lines = sum(1 for line in f.open(encoding="utf-8") if line.strip())
        pairs = read_jsonl_gold(f, skip_invalid=True)
        assert n_lines - len(pairs) <= 0.02 * n_lines  # a few lines of en-hi/en-ja have out-of-range links
    with pytest.raises(InputError, match="hindi.jsonl:39"):
        read_jsonl_gold(DATA / "word-alignment-gold" / "multi" / "processed" / "train" / "en-hi" / "hindi.jsonl")

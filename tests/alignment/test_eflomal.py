"""The eflomal aligner on small generated parallel text."""

from __future__ import annotations

import random

import pytest

from alignment.eflomal_aligner import (
    EflomalAligner,
    parse_pharaoh,
    read_parallel_files,
    simple_tokenize,
    text_words,
)

LEXICON = {f"s{k}": f"t{k}" for k in range(30)}


def _parallel(n: int, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """Word-for-word 'translations' with the last two words swapped: the gold link of s_k is t_k."""
    rng = random.Random(seed)
    src, tgt = [], []
    for _ in range(n):
        words = rng.sample(sorted(LEXICON), rng.randint(3, 8))
        trans = [LEXICON[w] for w in words]
        trans[-2:] = trans[-2:][::-1]
        src.append(words)
        tgt.append(trans)
    return src, tgt


def _accuracy(src, tgt, results) -> float:
    good = total = 0
    for s, t, res in zip(src, tgt, results):
        gold = {(i, t.index(LEXICON[w])) for i, w in enumerate(s)}
        good += len(gold & res.links)
        total += len(gold)
    return good / total


@pytest.mark.slow
def test_eflomal_learns_a_lexicon():
    pytest.importorskip("eflomal")
    src, tgt = _parallel(300, 0)
    results = EflomalAligner("intersection").align(src, tgt)
    assert len(results) == 300
    assert _accuracy(src, tgt, results) > 0.9


@pytest.mark.slow
def test_extra_text_helps_a_tiny_batch():
    pytest.importorskip("eflomal")
    src, tgt = _parallel(5, 1)
    extra = list(zip(*_parallel(400, 2)))
    with_extra = EflomalAligner("intersection", extra=extra).align(src, tgt)
    assert _accuracy(src, tgt, with_extra) > 0.9
    # only the batch's links come back, all inside the sentences
    assert len(with_extra) == 5
    for s, t, res in zip(src, tgt, with_extra):
        assert all(0 <= i < len(s) and 0 <= j < len(t) for i, j in res.links)


@pytest.mark.slow
def test_symmetrizations_and_empty_pairs():
    pytest.importorskip("eflomal")
    src, tgt = _parallel(50, 3)
    src.append([])
    tgt.append(["t1"])
    a = EflomalAligner()
    out = a.align_all(src, tgt)
    assert set(out) == {"intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and"}
    assert out["intersection"][-1].links == frozenset()
    for k in range(50):
        assert out["intersection"][k].links <= out["grow-diag-final-and"][k].links <= out["union"][k].links


def test_readers(tmp_path):
    import gzip

    from projector.errors import InputError

    (tmp_path / "a.en").write_text("Hello, world!\n\nThe U.S. isn't here.\n", encoding="utf-8")
    with gzip.open(tmp_path / "a.de.gz", "wt", encoding="utf-8") as f:
        f.write("Hallo, Welt!\nleer\nDie USA sind nicht hier.\n")
    pairs = read_parallel_files(tmp_path / "a.en", tmp_path / "a.de.gz")
    assert pairs[0] == (["Hello", ",", "world", "!"], ["Hallo", ",", "Welt", "!"])
    assert len(pairs) == 2  # the pair with an empty side is skipped
    assert simple_tokenize("The U.S. isn't here.") == ["The", "U.S", ".", "isn't", "here", "."]
    (tmp_path / "b.de").write_text("eins\n", encoding="utf-8")
    with pytest.raises(InputError, match="differ in length"):
        read_parallel_files(tmp_path / "a.en", tmp_path / "b.de")
    assert parse_pharaoh("0-0 1-2 3p4") == {(0, 0), (1, 2), (3, 4)}


@pytest.mark.parametrize("lang,line,words", [
    ("ja", "京都の寺。", None),  # the segmenter's words (fugashi, or characters when none is installed)
    ("zh", "我们在北京。", None),
    ("th", "ฉันไปโรงเรียนทุกวัน", None),
    ("de", "Die USA, hier.", ["Die", "USA", ",", "hier", "."]),
    (None, "Die USA.", ["Die", "USA", "."]),
])
def test_extra_text_of_unspaced_scripts_is_segmented(tmp_path, lang, line, words):
    """The batch's words of ja/zh/th come from the segmenter; so must those of extra text (a regex
    keeps ``京都の寺`` as one word)."""
    from projector.segment import segmenter

    expected = words if words is not None else [t.text for t in segmenter(lang)(line)]
    assert text_words(line, lang) == expected
    if words is None:
        assert len(expected) >= 3 and "".join(expected) == line
    (tmp_path / "a.eng").write_text("The temple .\n", encoding="utf-8")
    (tmp_path / "a.xx").write_text(line + "\n", encoding="utf-8")
    pairs = read_parallel_files(tmp_path / "a.eng", tmp_path / "a.xx", langs=("en", lang))
    assert pairs == [(["The", "temple", "."], expected)]

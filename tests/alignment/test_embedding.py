"""The batched embedding aligner: identical to simalign, windowing, fast mode, registry."""

from __future__ import annotations

import random

import numpy as np
import pytest

from alignment.embedding import METHODS, encoder_windows

from .conftest import DATA, LETTERS, WORDS, read_conll_tokens


@pytest.mark.parametrize(("length", "size", "stride"), [(5, 10, None), (10, 10, None), (11, 10, None),
                                                        (37, 10, 3), (100, 16, 8), (17, 4, 1)])
def test_encoder_windows(length, size, stride):
    windows, owner = encoder_windows(length, size, stride)
    assert windows[0][0] == 0 and windows[-1][1] == length
    assert all(0 <= a < b <= length and b - a <= size for a, b in windows)
    assert len(owner) == length
    for q, w in enumerate(owner):
        a, b = windows[w]
        assert a <= q < b
        best = max(min(q - s, e - 1 - q) for s, e in windows if s <= q < e)
        assert min(q - a, b - 1 - q) == best  # the window with the most context on both sides


def _random_sentences(n: int, seed: int, lo: int = 1, hi: int = 12) -> list[list[str]]:
    rng = random.Random(seed)
    pool = WORDS + ["".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 6))) for _ in range(30)]
    return [[rng.choice(pool) for _ in range(rng.randint(lo, hi))] for _ in range(n)]


@pytest.fixture(scope="module")
def tiny_aligner(tiny_bert):
    from alignment import get_aligner

    return get_aligner("embedding", model=str(tiny_bert), layer=2, method="itermax")


@pytest.mark.slow
def test_identical_to_simalign_every_method(tiny_bert, tiny_aligner):
    simalign = pytest.importorskip("simalign")
    src, tgt = _random_sentences(12, 1), _random_sentences(12, 2)
    src.append(["the"])  # one-word sentences (simalign skips itermax growth below 3 words)
    tgt.append(["das", "haus"])
    ours = tiny_aligner.align_methods(src, tgt, METHODS)
    for token_type in ("bpe", "word"):
        ref = simalign.SentenceAligner(model=str(tiny_bert), token_type=token_type, matching_methods="maifr",
                                       layer=2)
        if token_type == "word":
            from alignment.embedding import EmbeddingAligner

            ours = EmbeddingAligner(str(tiny_bert), layer=2, token_type="word").align_methods(src, tgt, METHODS)
        for k, (s, t) in enumerate(zip(src, tgt)):
            expected = ref.get_word_aligns(s, t)
            for method in METHODS:
                assert ours[method][k].links == {tuple(x) for x in expected[method]}, (token_type, method, k)


@pytest.mark.slow
def test_align_uses_method_and_scores(tiny_aligner):
    res = tiny_aligner.align([["the", "house"]], [["das", "haus"]])
    assert len(res) == 1
    assert res[0].scores is not None and set(res[0].scores) == set(res[0].links)
    assert all(0.0 <= v <= 1.0 for v in res[0].scores.values())
    assert tiny_aligner.align([[]], [["das"]])[0].links == frozenset()


@pytest.mark.slow
def test_batching_does_not_change_links(tiny_bert):
    from alignment.embedding import EmbeddingAligner

    src, tgt = _random_sentences(20, 3), _random_sentences(20, 4)
    big = EmbeddingAligner(str(tiny_bert), layer=3, method="inter").align(src, tgt)
    small = EmbeddingAligner(str(tiny_bert), layer=3, method="inter", max_batch=1).align(src, tgt)
    assert [r.links for r in big] == [r.links for r in small]


@pytest.mark.slow
def test_windowing_long_inputs(tiny_bert, tiny_aligner):
    """Inputs beyond the 64-position limit are windowed, not truncated (simalign would lose words)."""
    rng = random.Random(5)
    long_src = [rng.choice(WORDS) for _ in range(150)]
    long_tgt = [rng.choice(WORDS) for _ in range(140)]
    enc = tiny_aligner.encode([long_src])[0]
    assert enc.vectors.shape[0] == len(enc.word_of) > tiny_aligner.max_length
    assert np.isfinite(enc.vectors).all()
    (res,) = tiny_aligner.align([long_src], [long_tgt])
    assert max(i for i, _ in res.links) > 100 and max(j for _, j in res.links) > 100
    # a window's vectors equal a direct encoding of that window
    windows, owner = encoder_windows(len(enc.word_of), tiny_aligner._content)
    a, b = windows[0]
    ids = [i for w in tiny_aligner._word_pieces(long_src) for i in w]
    direct = tiny_aligner._forward([tiny_aligner._prefix + ids[a:b] + tiny_aligner._suffix])[0][1:-1]
    first = [q for q in range(len(owner)) if owner[q] == 0]
    np.testing.assert_allclose(enc.vectors[first], direct[first], atol=1e-5)


@pytest.mark.slow
def test_fast_mode_ctranslate2(tiny_bert, tiny_aligner, tmp_path):
    pytest.importorskip("ctranslate2")
    from alignment.embedding import EmbeddingAligner

    fast = EmbeddingAligner(str(tiny_bert), layer=2, mode="fast", compute_type="float32", cache_dir=tmp_path)
    assert fast.ct2_path().is_dir()
    src, tgt = _random_sentences(10, 6), _random_sentences(10, 7)
    exact_enc = tiny_aligner.encode(src)
    fast_enc = fast.encode(src)
    for e, f in zip(exact_enc, fast_enc):
        np.testing.assert_allclose(e.vectors, f.vectors, atol=1e-4)
    assert [r.links for r in fast.align(src, tgt)] == [r.links for r in tiny_aligner.align(src, tgt)]
    again = EmbeddingAligner(str(tiny_bert), layer=2, mode="fast", compute_type="float32", cache_dir=tmp_path)
    assert again.ct2_path() == fast.ct2_path()  # converted once, reused


def test_bad_options(tiny_bert):
    from alignment import get_aligner
    from projector.errors import ConfigError, UnknownNameError

    with pytest.raises(UnknownNameError, match="itermax"):
        get_aligner("embedding", model=str(tiny_bert), method="itermix")
    with pytest.raises(ConfigError, match="layers"):
        get_aligner("embedding", model=str(tiny_bert), layer=9)
    with pytest.raises(UnknownNameError):
        get_aligner("embedding", model=str(tiny_bert), mode="turbo")


def test_registry():
    from alignment import available_aligners, get_aligner
    from projector.errors import UnknownNameError

    assert {"embedding", "eflomal", "ensemble"} <= set(available_aligners())
    with pytest.raises(UnknownNameError, match="Available: eflomal, embedding, ensemble"):
        get_aligner("giza")


def test_missing_dependency(monkeypatch):
    import sys

    from alignment import get_aligner
    from projector.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "eflomal", None)
    with pytest.raises(MissingDependencyError, match=r"projector\[align\]"):
        get_aligner("eflomal")


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, alignment, alignment.heuristics, alignment.evaluate, alignment.symmetrize;"
            "heavy = {'torch', 'transformers', 'simalign', 'eflomal', 'ctranslate2'} & set(sys.modules);"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
@pytest.mark.shared
def test_e5_identical_to_simalign_on_europarl(e5_encoder):
    simalign = pytest.importorskip("simalign")
    from alignment.embedding import EmbeddingAligner

    en = [t for t, _ in read_conll_tokens(DATA / "europarl-ner" / "en-europarl.test.conll02", 8)]
    de = [t for t, _ in read_conll_tokens(DATA / "europarl-ner" / "de-europarl.test.conll02", 8)]
    ours = EmbeddingAligner(str(e5_encoder), layer=8, method="itermax").align(en, de)
    ref = simalign.SentenceAligner(model=str(e5_encoder), matching_methods="i", layer=8)
    for k, (s, t) in enumerate(zip(en, de)):
        assert ours[k].links == {tuple(x) for x in ref.get_word_aligns(s, t)["itermax"]}, k


@pytest.mark.slow
def test_with_method_shares_the_encoder_pass(tiny_bert, tiny_aligner, monkeypatch):
    src, tgt = _random_sentences(6, 8), _random_sentences(6, 9)
    calls = []
    original = type(tiny_aligner).encode

    def counting(self, sentences):
        calls.append(len(sentences))
        return original(self, sentences)

    monkeypatch.setattr(type(tiny_aligner), "encode", counting)
    tiny_aligner._last_batch.clear()
    view = tiny_aligner.with_method("mwmf")
    a = tiny_aligner.align(src, tgt)
    b = view.align(src, tgt)
    assert len(calls) == 1
    ref = tiny_aligner.align_methods(src, tgt, ["itermax", "mwmf"])
    assert [r.links for r in a] == [r.links for r in ref["itermax"]]
    assert [r.links for r in b] == [r.links for r in ref["mwmf"]]


@pytest.mark.slow
def test_default_aligner_runs(tiny_bert):
    pytest.importorskip("eflomal")
    from alignment.project import DEFAULT_SPAN_OPTIONS, default_aligner, project_batch

    aligner = default_aligner(str(tiny_bert), layer=2)
    src, tgt = _random_sentences(30, 10, lo=3), _random_sentences(30, 11, lo=3)
    results = aligner.align(src, tgt)
    assert len(results) == 30
    spans = [[(0, 2, "ORG")] for _ in src]
    projected = project_batch(None, src, spans, tgt, links=results, options=DEFAULT_SPAN_OPTIONS)
    assert all(p[0].status in ("projected", "fuzzy", "failed") for p in projected)


@pytest.mark.slow
def test_fast_int8_with_verification(tiny_bert, tiny_aligner, tmp_path):
    pytest.importorskip("ctranslate2")
    from alignment.embedding import EmbeddingAligner

    src, tgt = _random_sentences(15, 12, lo=4), _random_sentences(15, 13, lo=4)
    exact = [r.links for r in tiny_aligner.align(src, tgt)]
    raw = EmbeddingAligner(str(tiny_bert), layer=2, mode="fast", cache_dir=tmp_path)
    checked = EmbeddingAligner(str(tiny_bert), layer=2, mode="fast", cache_dir=tmp_path, verify_margin=0.5)
    raw_links = [r.links for r in raw.align(src, tgt)]
    checked_links = [r.links for r in checked.align(src, tgt)]
    assert checked.stats["pairs"] == 15 and checked.stats["verified_pairs"] > 0
    same = sum(a == b for a, b in zip(checked_links, exact))
    assert same >= sum(a == b for a, b in zip(raw_links, exact))
    assert same == 15  # noise this large flags every pair: all redone in float32

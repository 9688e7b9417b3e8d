"""The batched embedding aligner: identical to simalign, windowing, fast mode, registry."""

from __future__ import annotations

import random

import numpy as np
import pytest

from alignment.embedding import METHODS, SIMALIGN_METHODS, encoder_windows, softmax_links
from projector.errors import ProjectorError

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
    ours = tiny_aligner.align_methods(src, tgt, SIMALIGN_METHODS)
    for token_type in ("bpe", "word"):
        ref = simalign.SentenceAligner(model=str(tiny_bert), token_type=token_type, matching_methods="maifr",
                                       layer=2)
        if token_type == "word":
            from alignment.embedding import EmbeddingAligner

            word = EmbeddingAligner(str(tiny_bert), layer=2, token_type="word")
            ours = word.align_methods(src, tgt, SIMALIGN_METHODS)
        for k, (s, t) in enumerate(zip(src, tgt)):
            expected = ref.get_word_aligns(s, t)
            for method in SIMALIGN_METHODS:
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
    assert enc.vectors.shape[0] == len(enc.words_of) > tiny_aligner.max_length
    assert np.isfinite(enc.vectors).all()
    (res,) = tiny_aligner.align([long_src], [long_tgt])
    assert max(i for i, _ in res.links) > 100 and max(j for _, j in res.links) > 100
    # a window's vectors equal a direct encoding of that window
    windows, owner = encoder_windows(len(enc.words_of), tiny_aligner._content)
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
    words = tiny_aligner.with_method("itermax", token_type="word")
    a = tiny_aligner.align(src, tgt)
    b = view.align(src, tgt)
    c = words.align(src, tgt)
    assert len(calls) == 1
    assert tiny_aligner.token_type == "bpe" and words.token_type == "word"
    ref = tiny_aligner.align_methods(src, tgt, ["itermax", "mwmf"])
    assert [r.links for r in a] == [r.links for r in ref["itermax"]]
    assert [r.links for r in b] == [r.links for r in ref["mwmf"]]
    alone = type(tiny_aligner)(tiny_aligner.model_name, layer=tiny_aligner.layer, token_type="word").align(src, tgt)
    assert [r.links for r in c] == [r.links for r in alone]
    with pytest.raises(ProjectorError, match="token type"):
        tiny_aligner.with_method("itermax", token_type="char")


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


@pytest.mark.parametrize("src_lang,tgt_lang,views", [
    ("en", "de", [("itermax", "bpe"), ("itermax", "word")]),
    (None, None, [("itermax", "bpe"), ("itermax", "word")]),
    ("en", "ja", [("itermax", "bpe"), ("mwmf", "bpe")]),
    ("zh", "en", [("itermax", "bpe"), ("mwmf", "bpe")]),  # translate-test from Chinese
    ("en", "th", [("itermax", "bpe"), ("mwmf", "bpe")]),
])
def test_default_aligner_members_by_script(tiny_bert, src_lang, tgt_lang, views):
    pytest.importorskip("eflomal")
    from alignment.embedding import EmbeddingAligner
    from alignment.project import default_aligner

    aligner = default_aligner(str(tiny_bert), layer=2, src_lang=src_lang, tgt_lang=tgt_lang)
    emb = [a for a in aligner.aligners if isinstance(a, EmbeddingAligner)]
    assert [(a.method, a.token_type) for a in emb] == views
    assert len(aligner.aligners) == 3 and aligner.method == "vote"


def test_fast_bfloat16_close_to_exact(tiny_bert, tiny_aligner):
    from alignment.embedding import EmbeddingAligner

    src, tgt = _random_sentences(15, 12, lo=4), _random_sentences(15, 13, lo=4)
    bf16 = EmbeddingAligner(str(tiny_bert), layer=2, mode="fast", compute_type="bfloat16")
    assert bf16._torch_model is not None and bf16._ct2 is None and "bfloat16" in repr(bf16)
    exact_enc = tiny_aligner.encode(src)
    fast_enc = bf16.encode(src)
    for a, b in zip(exact_enc, fast_enc):
        assert a.vectors.dtype == b.vectors.dtype == np.float32
        # bfloat16 products: close to the float32 vectors, but not equal to them
        assert np.allclose(a.vectors, b.vectors, atol=0.1 * np.abs(a.vectors).max())
    assert any(not np.array_equal(a.vectors, b.vectors) for a, b in zip(exact_enc, fast_enc))
    exact = [r.links for r in tiny_aligner.align(src, tgt)]
    fast = [r.links for r in bf16.align(src, tgt)]
    same = sum(len(a & b) for a, b in zip(exact, fast))
    assert same >= 0.8 * sum(len(a) for a in exact)


def test_auto_compute_type_follows_the_hardware(tiny_bert, tmp_path):
    pytest.importorskip("ctranslate2")
    from alignment.embedding import EmbeddingAligner, native_bfloat16

    auto = EmbeddingAligner(str(tiny_bert), layer=2, mode="fast", cache_dir=tmp_path)
    assert auto.compute_type == ("bfloat16" if native_bfloat16() else "int8")
    assert (auto._ct2 is None) == (auto.compute_type == "bfloat16")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 4, 1), (7, 16, 9), (30, 384, 41)])
def test_similarity_matrix_is_simaligns_bit_for_bit(dtype, shape):
    from simalign import SentenceAligner

    from alignment.embedding import similarity_matrix

    rng = np.random.default_rng(shape[0])
    x = rng.normal(size=shape[:2]).astype(dtype)
    y = rng.normal(size=(shape[2], shape[1])).astype(dtype)
    y[0] = 0.0  # a zero vector: scikit-learn's guard against dividing by zero
    ours, theirs = similarity_matrix(x, y), SentenceAligner.get_similarity(x, y)
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


@pytest.mark.parametrize(("dots", "expected"), [
    ([[9.0, 0.0], [0.0, 9.0]], [[1, 0], [0, 1]]),  # clear one-to-one
    ([[9.0, 9.0], [0.0, 0.0]], [[1, 1], [0, 0]]),  # one source piece, two target pieces (a compound's parts)
    ([[9.0], [9.0]], [[1], [1]]),  # two source pieces onto one
    ([[9.0, 0.0], [9.0, 0.0]], [[1, 0], [1, 0]]),  # second target piece: no source piece wants it
    ([[0.0, 0.0], [0.0, 0.0]], [[1, 1], [1, 1]]),  # undecided: every probability 0.5 passes 1e-3
    ([[20.0, 0.0], [0.0, 0.0]], [[1, 0], [0, 1]]),  # e^-20 is below the threshold, e^0 of two is not
])
def test_softmax_links(dots: list[list[float]], expected: list[list[int]]) -> None:
    assert softmax_links(np.array(dots)).tolist() == np.array(expected, dtype=float).tolist()
    assert softmax_links(np.zeros((0, 3))).shape == (0, 3)


def test_softmax_method_links_words_both_directions_pass(tiny_aligner) -> None:
    src, tgt = _random_sentences(6, 3), _random_sentences(6, 4)
    out = tiny_aligner.align_methods(src, tgt, METHODS)
    assert set(out) == set(METHODS)
    view = tiny_aligner.with_method("awesome")
    assert view.method == "softmax" and [r.links for r in view.align(src, tgt)] == [r.links for r in out["softmax"]]
    assert any(r.links for r in out["softmax"])
    for k, result in enumerate(out["softmax"]):
        assert all(0 <= a < len(src[k]) and 0 <= b < len(tgt[k]) for a, b in result.links)

"""CTranslate2 and transformers backends on tiny random models of each family (real code paths:
models built with transformers, converted with CTranslate2's converter, run by both engines)."""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import pytest

from mt_backends import EMPTY, MAX_LENGTH, OK, SPLIT, TOO_LONG, load_translator
from projector.errors import ConfigError, UnsupportedLanguageError
from tests.model_fixtures import FAMILIES, FAMILY_MODELS

pytestmark = pytest.mark.slow

SOURCES = ["The cat sees Maria.", "John lives in Lisbon with the big dog!", "Red"]
TARGETS = ["O gato vê Maria.", "João mora em Lisboa com o cão grande!", "Vermelho"]
TOL = 2e-4


def _langs(fam: str) -> tuple[str, str]:
    return FAMILY_MODELS[fam][1], FAMILY_MODELS[fam][2]


@pytest.mark.parametrize("fam", FAMILIES)
def test_score_equals_transformers(fam: str, ct2_translators: dict[str, Any], hf_translators: dict[str, Any]) -> None:
    src, tgt = _langs(fam)
    ct2, ref = ct2_translators[fam], hf_translators[fam]
    a = ct2.score(SOURCES, TARGETS, src, tgt)
    b = ref.score(SOURCES, TARGETS, src, tgt)
    pieces = ct2.tokenize(TARGETS, tgt)
    for x, y, p in zip(a, b, pieces, strict=True):
        assert x.status == OK and x.tokens == tuple(p) == y.tokens
        assert len(x.logprobs) == len(p)            # exactly one log-prob per given piece
        assert all(lp < 0 for lp in x.logprobs)
        assert max(abs(u - v) for u, v in zip(x.logprobs, y.logprobs, strict=True)) < TOL
        assert abs(x.eos_logprob - y.eos_logprob) < TOL
        assert x.total == pytest.approx(sum(x.logprobs) + x.eos_logprob)


HF_LANGS = {"nllb": ("eng_Latn", "por_Latn"), "m2m100": ("en", "pt"), "mbart50": ("en_XX", "pt_XX")}


@pytest.mark.parametrize("fam", FAMILIES)
def test_score_equals_plain_transformers(fam: str, hf_models: dict[str, Path], ct2_translators: dict[str, Any]) -> None:
    """Independent of projector's token layout: the Hugging Face tokenizer builds the inputs and labels
    its own way (src_lang/tgt_lang, ``<2pt>`` typed in the text), the model is called directly."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hf_models[fam])
    model = AutoModelForSeq2SeqLM.from_pretrained(hf_models[fam]).eval()
    text, target = SOURCES[1], TARGETS[1]
    if fam in HF_LANGS:
        tok.src_lang, tok.tgt_lang = HF_LANGS[fam]
    source_text = f"<2pt> {text}" if fam == "madlad" else text
    enc = tok(source_text, text_target=target, return_tensors="pt")
    labels = enc["labels"][0]
    start = model.config.decoder_start_token_id
    with torch.no_grad():
        logits = model(input_ids=enc["input_ids"], decoder_input_ids=torch.tensor([[start, *labels[:-1].tolist()]])).logits[0]
    if fam == "marian":  # <pad> only starts the decoder: never a prediction
        logits[:, model.config.pad_token_id] = float("-inf")
    ref = logits.log_softmax(-1).gather(-1, labels[:, None])[:, 0].tolist()
    skip = 1 if fam in HF_LANGS else 0  # the forced target-language token
    got = ct2_translators[fam].score([text], [target], "en", "pt")[0]
    assert list(got.tokens) == tok.convert_ids_to_tokens(labels[skip:-1].tolist())
    assert got.logprobs == pytest.approx(ref[skip:-1], abs=TOL)
    assert got.eos_logprob == pytest.approx(ref[-1], abs=TOL)


@pytest.mark.parametrize("fam", FAMILIES)
def test_greedy_translate_equals_transformers(fam: str, ct2_translators: dict[str, Any],
                                              hf_translators: dict[str, Any]) -> None:
    src, tgt = _langs(fam)
    a = ct2_translators[fam].translate(SOURCES, src, tgt, beam_size=1, max_length=12)
    b = hf_translators[fam].translate(SOURCES, src, tgt, beam_size=1, max_length=12)
    for x, y in zip(a, b, strict=True):
        assert x.best is not None and y.best is not None
        assert x.best.tokens == y.best.tokens and len(x.best.tokens) > 0
        assert x.best.text == y.best.text
        assert x.status == y.status and x.status in (OK, MAX_LENGTH)
        assert x.best.score == pytest.approx(y.best.score, abs=1e-3)


@pytest.mark.parametrize("fam", ["nllb", "marian"])
def test_beam_translate_agrees_with_transformers(fam: str, ct2_translators: dict[str, Any],
                                                 hf_translators: dict[str, Any]) -> None:
    """Same best hypothesis; the runners-up may differ (the two beam searches keep different
    candidate sets), but every hypothesis' score is its teacher-forced log-probability."""
    src, tgt = _langs(fam)
    ct2, ref = ct2_translators[fam], hf_translators[fam]
    a = ct2.translate(SOURCES, src, tgt, beam_size=3, num_hypotheses=2, max_length=10)
    b = ref.translate(SOURCES, src, tgt, beam_size=3, num_hypotheses=2, max_length=10)
    for text, x, y in zip(SOURCES, a, b, strict=True):
        assert len(x.hypotheses) == len(y.hypotheses) == 2
        assert x.best.tokens == y.best.tokens
        assert x.best.score == pytest.approx(y.best.score, abs=1e-3)
        for hyp in (*x.hypotheses, *y.hypotheses):
            forced = ref.score([text], [list(hyp.tokens)], src, tgt)[0]
            expected = sum(forced.logprobs) + (forced.eos_logprob if len(hyp.tokens) < 10 else 0.0)
            assert hyp.score == pytest.approx(expected, abs=1e-3)


def test_hypothesis_score_is_the_sum_of_token_logprobs(ct2_translators: dict[str, Any]) -> None:
    tr = ct2_translators["nllb"]
    res = tr.translate(SOURCES[:1], "en", "pt", beam_size=2, num_hypotheses=2, max_length=6)[0]
    for hyp in res.hypotheses:
        scored = tr.score(SOURCES[:1], [list(hyp.tokens)], "en", "pt")[0]
        expected = sum(scored.logprobs) + (scored.eos_logprob if len(hyp.tokens) < 6 else 0.0)
        assert hyp.score == pytest.approx(expected, abs=1e-3)


LAYOUT = [
    # family, src, tgt, source sequence head, target prefix
    ("nllb", "en", "pt-BR", ["eng_Latn"], ["por_Latn"]),
    ("nllb", "eng", "zh-Hant", ["eng_Latn"], ["zho_Hant"]),
    ("m2m100", "en", "por", ["__en__"], ["__pt__"]),
    ("mbart50", "en-US", "pt", ["en_XX"], ["pt_XX"]),
    ("madlad", "en", "pt", ["<2pt>"], []),
    ("madlad", "en", "zh-Hant", ["<2zh_Hant>"], []),
    ("marian", "en", "pt", [], []),
    ("marian_mul", "en", "es", [">>spa<<"], []),
]


@pytest.mark.parametrize(("fam", "src", "tgt", "head", "prefix"), LAYOUT)
def test_language_tokens_per_family(fam: str, src: str, tgt: str, head: list[str], prefix: list[str],
                                    ct2_translators: dict[str, Any]) -> None:
    tr = ct2_translators[fam]
    content = tr.tokenize(["The cat."], src, side="source")[0]
    full = tr.tokenize(["The cat."], src, side="source", special_tokens=True, other_lang=tgt)[0]
    assert full == [*head, *content, "</s>"]
    target = tr.tokenize(["O gato."], tgt, special_tokens=True)[0]
    assert target == [*prefix, *tr.tokenize(["O gato."], tgt)[0], "</s>"]
    assert tr.detokenize([target])[0] == "O gato."


def test_transformers_sees_the_same_layout(hf_translators: dict[str, Any], ct2_translators: dict[str, Any]) -> None:
    for fam in ("nllb", "madlad"):
        a = ct2_translators[fam].tokenize(SOURCES, "en", side="source", special_tokens=True, other_lang="pt")
        b = hf_translators[fam].tokenize(SOURCES, "en", side="source", special_tokens=True, other_lang="pt")
        assert a == b


@pytest.mark.parametrize(("fam", "src", "tgt", "needle"), [
    ("nllb", "en", "ja", "7 languages; e.g. eng_Latn"),  # the tiny NLLB has no Japanese
    ("nllb", "en", "zh-Latn", "Close matches: zho_Hans, zho_Hant"),
    ("nllb", "en", "zz", "not a language code"),
    ("mbart50", "en", "zh-Hant", "zh_CN"),           # mBART-50 has simplified Chinese only
    ("marian", "en", "de", "'pt' only"),              # opus-mt-en-pt is a fixed pair
    ("marian", "fr", "pt", "'en' only"),
    ("marian_mul", "en", "de", ">>"),                 # multi-target without >>deu<<
])
def test_model_language_mismatch(fam: str, src: str, tgt: str, needle: str, ct2_translators: dict[str, Any]) -> None:
    tr = ct2_translators[fam]
    with pytest.raises(UnsupportedLanguageError) as err:
        tr.translate(["The cat."], src, tgt)
    assert needle in str(err.value)
    with pytest.raises(UnsupportedLanguageError):
        tr.score(["The cat."], ["O gato."], src, tgt)


def test_protocol_and_eager_checks(ct2_translators: dict[str, Any], hf_translators: dict[str, Any]) -> None:
    from mt_backends import Translator

    assert isinstance(ct2_translators["nllb"], Translator) and isinstance(hf_translators["nllb"], Translator)
    tr = ct2_translators["nllb"]
    with pytest.raises(UnsupportedLanguageError):  # at the call, not at the first next()
        tr.translate_iter(["a"], "en", "ja")
    with pytest.raises(ConfigError, match="num_hypotheses"):
        tr.translate(["a"], "en", "pt", beam_size=2, num_hypotheses=3)
    with pytest.raises(ConfigError, match="side must be"):
        tr.tokenize(["a"], "en", side="decoder")


def test_score_with_marker_pieces(ct2_translators: dict[str, Any], hf_translators: dict[str, Any]) -> None:
    ct2, ref = ct2_translators["nllb"], hf_translators["nllb"]
    assert ct2.marker_pieces("[")[0] == ("▁[",) and ct2.marker_pieces("]")[0] == ("▁]",)
    pieces = ct2.tokenize(["O gato vê Maria."], "pt")[0]
    marked = pieces[:2] + ["▁["] + pieces[2:4] + ["▁]"] + pieces[4:]
    a = ct2.score(SOURCES[:1], [marked], "en", "pt")[0]
    b = ref.score(SOURCES[:1], [marked], "en", "pt")[0]
    assert a.tokens == tuple(marked) and len(a.logprobs) == len(marked)
    assert max(abs(u - v) for u, v in zip(a.logprobs, b.logprobs, strict=True)) < TOL
    plain = ct2.score(SOURCES[:1], [pieces], "en", "pt")[0]
    assert a.logprobs[:2] == pytest.approx(plain.logprobs[:2], abs=1e-5)  # same prefix, same scores
    assert a.total != pytest.approx(plain.total)
    # marian: '[' is a piece of its own there
    assert ct2_translators["marian"].marker_pieces("[")[0] == ("[",)


@pytest.mark.parametrize("fam", FAMILIES)
def test_probe_logprobs(fam: str, ct2_translators: dict[str, Any], hf_translators: dict[str, Any]) -> None:
    """``score(probe=p)``: log P(p) at every position, the same in both engines, consistent with the
    scores of the pieces themselves; mixed per-pair probes; unknown probes refused."""
    src, tgt = _langs(fam)
    ct2, ref = ct2_translators[fam], hf_translators[fam]
    pieces = ct2.tokenize(TARGETS, tgt)
    probe = pieces[1][1]  # a piece that occurs in the second target, at position 1
    a = ct2.score(SOURCES, TARGETS, src, tgt, probe=probe)
    b = ref.score(SOURCES, TARGETS, src, tgt, probe=probe)
    plain = ct2.score(SOURCES, TARGETS, src, tgt)
    for x, y, z, p in zip(a, b, plain, pieces, strict=True):
        assert x.probe_logprobs is not None and len(x.probe_logprobs) == len(p) + 1 == len(y.probe_logprobs)
        assert all(v <= 0 for v in x.probe_logprobs)
        assert max(abs(u - v) for u, v in zip(x.probe_logprobs, y.probe_logprobs, strict=True)) < TOL
        # forcing the target as a prefix gives the scores plain scoring gives
        assert max(abs(u - v) for u, v in zip(x.logprobs, z.logprobs, strict=True)) < TOL
        assert abs(x.eos_logprob - z.eos_logprob) < TOL and z.probe_logprobs is None
        for k, piece in enumerate(p):
            if piece == probe:
                assert x.probe_logprobs[k] == pytest.approx(x.logprobs[k], abs=TOL)
    mixed = ct2.score(SOURCES, TARGETS, src, tgt, probe=[None, probe, None])
    assert [m.probe_logprobs is None for m in mixed] == [True, False, True]
    assert mixed[1].probe_logprobs == pytest.approx(a[1].probe_logprobs, abs=TOL)
    assert [m.logprobs for m in mixed[::2]] == [pytest.approx(q.logprobs, abs=TOL) for q in plain[::2]]
    with pytest.raises(ConfigError, match="probe pieces not in the model's vocabulary"):
        ct2.score(SOURCES[:1], TARGETS[:1], src, tgt, probe="<<not a piece>>")


def test_score_rejects_pieces_outside_the_vocabulary(ct2_translators: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="not in the model's vocabulary"):
        ct2_translators["nllb"].score(["a"], [["▁gato", "<<marker>>"]], "en", "pt")
    with pytest.raises(ConfigError, match="2 sources but 1 targets"):
        ct2_translators["nllb"].score(["a", "b"], ["c"], "en", "pt")


def test_long_inputs_are_split_or_reported(ct2_translators: dict[str, Any]) -> None:
    tr = ct2_translators["nllb"]  # max_position_embeddings = 64
    assert tr.max_source_tokens == 64
    long_text = " ".join(["The big dog runs in the city."] * 12)
    one_sentence = " ".join(["dog"] * 80)
    res = tr.translate([long_text, one_sentence, "  ", "Red"], "en", "pt", beam_size=1, max_length=5, min_length=5)
    assert res[0].status == SPLIT and "split at sentence boundaries" in (res[0].reason or "")
    parts = int((res[0].reason or "").split(" in ")[1].split()[0])
    assert parts >= 2 and len(res[0].best.tokens) == 5 * parts  # every part translated, nothing dropped
    assert res[1].status == TOO_LONG and res[1].hypotheses == () and "limit of 64" in (res[1].reason or "")
    assert res[2].status == EMPTY and res[2].text == ""
    assert res[3].status in (OK, MAX_LENGTH) and res[3].best is not None
    scored = tr.score([one_sentence, "Red"], ["x", "y"], "en", "pt")
    assert scored[0].status == TOO_LONG and scored[0].logprobs == ()
    assert scored[1].status == OK and len(scored[1].logprobs) == len(scored[1].tokens)


def test_streaming_restores_input_order(hf_models: dict[str, Path], mt_cache: Path) -> None:
    from mt_backends.ct2 import CTranslate2Translator

    texts = [" ".join(["cat"] * n) + "." for n in (9, 1, 5, 12, 3, 7, 2, 11, 4)]
    small = CTranslate2Translator(hf_models["marian"], compute_type="float32", batch_tokens=24, read_ahead=4)
    stream: Any = small.translate_iter(texts, "en", "pt", beam_size=1, max_length=6)
    assert inspect.isgenerator(stream)
    streamed: list[Any] = [r.best for r in stream]  # type: ignore[attr-defined]
    one_by_one: list[Any] = [small.translate([t], "en", "pt", beam_size=1, max_length=6)[0].best for t in texts]
    assert [h.tokens for h in streamed] == [h.tokens for h in one_by_one]
    # random tiny models write much the same whatever the input, but their scores differ per source:
    assert [h.score for h in streamed] == pytest.approx([h.score for h in one_by_one], abs=1e-3)
    assert len({round(h.score, 2) for h in streamed}) > 4  # so a wrong order would show


def test_conversion_cache_is_reused(hf_models: dict[str, Path], mt_cache: Path, ct2_translators: dict[str, Any],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from mt_backends import conversion
    from mt_backends.ct2 import CTranslate2Translator

    first = ct2_translators["marian"].path
    assert first.parent == mt_cache / "ct2" and first.name.endswith("-float32")
    stamp = (first / "model.bin").stat().st_mtime_ns

    def no_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(conversion, "_convert", no_conversion)
    again = CTranslate2Translator(hf_models["marian"], compute_type="float32")
    assert again.path == first and (first / "model.bin").stat().st_mtime_ns == stamp
    with pytest.raises(AssertionError, match="converted again"):  # another quantization is another entry
        CTranslate2Translator(hf_models["marian"], quantization="int8")


def test_concurrent_processes_convert_once(hf_models: dict[str, Path], tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s', stream=sys.stdout)\n"
        "from mt_backends.conversion import resolve_model, ensure_ct2\n"
        f"print('PATH', ensure_ct2(resolve_model({str(hf_models['m2m100'])!r})))\n"
    )
    env = {**__import__("os").environ, "PROJECTOR_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(o.count("converting ") for o in outs) == 1, outs
    paths = {line for o in outs for line in o.splitlines() if line.startswith("PATH")}
    assert len(paths) == 1
    leftovers = [p.name for p in (tmp_path / "ct2").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the temporary folder was renamed into place


def test_ct2_folder_loads_directly(ct2_translators: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    from mt_backends.ct2 import CTranslate2Translator
    from projector.errors import ModelError

    converted = ct2_translators["nllb"].path
    direct = CTranslate2Translator(converted, compute_type="float32")
    assert direct.info.family == "nllb" and direct.path == converted
    # a CTranslate2 folder converted elsewhere: family from the tokenizer files, no metadata; its input
    # limit from the model itself (the position table in model.bin), as the converted model declares it
    bare = tmp_path / "bare"
    shutil.copytree(converted, bare)
    (bare / "projector_mt.json").unlink()
    other = load_translator(bare, compute_type="float32")
    assert other.info.family == "nllb" and other.info.max_source_tokens == direct.info.max_source_tokens == 64
    assert other.score(SOURCES[:1], TARGETS[:1], "en", "pt")[0].logprobs == pytest.approx(
        direct.score(SOURCES[:1], TARGETS[:1], "en", "pt")[0].logprobs, abs=1e-5)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (bare / f).unlink()
    with pytest.raises(ModelError, match="tokenizer="):
        load_translator(bare)


def test_int8_on_cpu_by_default(ct2_translators: dict[str, Any], hf_models: dict[str, Path], mt_cache: Path) -> None:
    from mt_backends.ct2 import CTranslate2Translator, resolve_device

    assert resolve_device() == ("cpu", "int8")
    tr = CTranslate2Translator(hf_models["nllb"])
    assert (tr.device, tr.compute_type) == ("cpu", "int8")
    a = tr.score(SOURCES, TARGETS, "en", "pt")
    b = ct2_translators["nllb"].score(SOURCES, TARGETS, "en", "pt")
    # int8 is close to float32, not equal: on a tiny random model a token's log-prob moves by up to ~1.5
    # (the kernels differ between CPUs and CTranslate2 releases), a sentence's total by a few per cent
    for x, y in zip(a, b, strict=True):
        assert abs(sum(x.logprobs) - sum(y.logprobs)) < 0.1 * abs(sum(y.logprobs))
        assert max(abs(u - v) for u, v in zip(x.logprobs, y.logprobs, strict=True)) < 3.0
        assert x.logprobs != y.logprobs  # quantized weights really are in use
        assert all(math.isfinite(v) for v in x.logprobs)


def test_marian_with_a_trained_start_embedding_converts_as_trained(hf_models: dict[str, Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Marian trained with tied embeddings moves the <pad> row that transformers feeds as the first
    decoder input; CTranslate2's standard conversion assumes it is zero. projector's conversion keeps it."""
    import shutil

    import torch
    from transformers import MarianMTModel

    from mt_backends.ct2 import CTranslate2Translator
    from mt_backends.transformers_backend import TransformersTranslator

    folder = tmp_path / "opus-mt-en-pt-finetuned"
    shutil.copytree(hf_models["marian"], folder)
    model = MarianMTModel.from_pretrained(folder)
    pad = model.config.pad_token_id
    assert float(model.get_input_embeddings().weight[pad].detach().abs().max()) == 0.0  # as Opus-MT ships it
    with torch.no_grad():
        model.get_input_embeddings().weight[pad] = torch.randn(model.config.d_model, generator=torch.Generator().manual_seed(0))
    model.save_pretrained(folder)
    monkeypatch.setenv("PROJECTOR_CACHE", str(tmp_path / "cache"))
    ref = TransformersTranslator(folder, device="cpu").score(SOURCES, TARGETS, "en", "pt")
    ct2 = CTranslate2Translator(folder, device="cpu", compute_type="float32", intra_threads=1)
    got = ct2.score(SOURCES, TARGETS, "en", "pt")
    for x, y in zip(got, ref, strict=True):
        assert max(abs(u - v) for u, v in zip(x.logprobs, y.logprobs, strict=True)) < TOL
        assert abs(x.eos_logprob - y.eos_logprob) < TOL
    # the same model converted the standard way (zero start embedding) scores the first piece differently
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(folder)).convert(str(tmp_path / "standard"), force=True)
    for name in ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json"):
        shutil.copyfile(folder / name, tmp_path / "standard" / name)
    std = CTranslate2Translator(tmp_path / "standard", device="cpu", compute_type="float32", intra_threads=1)
    off = std.score(SOURCES, TARGETS, "en", "pt")
    assert max(abs(x.logprobs[0] - y.logprobs[0]) for x, y in zip(off, ref, strict=True)) > 10 * TOL
    # and a model whose row is zero still converts the standard way (no <pad> in its vocabulary)
    plain = CTranslate2Translator(hf_models["marian"], device="cpu", compute_type="float32", intra_threads=1)
    assert "<pad>" not in plain._target_vocab() and "<pad>" in ct2._target_vocab()

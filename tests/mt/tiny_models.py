# mypy: disable-error-code="call-arg,arg-type"
"""Builders of tiny random-weight Hugging Face translation models, one per model family.

Each builder trains a small sentencepiece model on generated sentences, wraps it in the family's
transformers tokenizer class (with the language tokens the family uses), creates a random-weight
model from a transformers config whose vocabulary matches the tokenizer, and saves both with
``save_pretrained``. No network, no protobuf: the sentencepiece vocabulary is read with the
sentencepiece library and handed to the tokenizer classes as vocab/merges or vocab/scores.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

WORDS_EN = ("the cat dog house red blue big small runs sees eats man woman city river book table "
            "lives works in at on with and of a to Maria John Lisbon Paris Porto Brazil").split()
WORDS_PT = ("o gato cão casa vermelho azul grande pequeno corre vê come homem mulher cidade rio livro "
            "mesa mora trabalha em na no com e de um para Maria João Lisboa Paris Porto Brasil").split()

NLLB_LANGS = ["eng_Latn", "por_Latn", "fra_Latn", "spa_Latn", "zho_Hans", "zho_Hant", "deu_Latn"]
MADLAD_LANGS = ["en", "pt", "fr", "es", "zh", "zh_Hant", "de"]
MARIAN_MUL_LANGS = ["por", "spa", "fra"]


def sentences(n: int = 400, seed: int = 0) -> list[str]:
    """Generated English and Portuguese-looking sentences, with some bracket markers."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        words = WORDS_EN if i % 2 == 0 else WORDS_PT
        toks = [rng.choice(words) for _ in range(rng.randint(3, 12))]
        if i % 5 == 0:
            j = rng.randrange(len(toks))
            toks[j] = f"[ {toks[j]} ]"
        out.append(" ".join(toks).capitalize() + rng.choice([".", "!", "?", ","]))
    return out


def train_spm(prefix: Path, model_type: str, vocab_size: int, *, user_symbols: tuple[str, ...] = (),
              ids: tuple[int, int, int, int] = (0, 1, 2, -1), seed: int = 0) -> Path:
    """Train a sentencepiece model; ``ids`` = (unk, bos, eos, pad), sentencepiece's own order."""
    import sentencepiece as spm

    unk, bos, eos, pad = ids
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences(seed=seed)), model_prefix=str(prefix), vocab_size=vocab_size,
        model_type=model_type, character_coverage=1.0, unk_id=unk, bos_id=bos, eos_id=eos, pad_id=pad,
        user_defined_symbols=list(user_symbols), minloglevel=2, hard_vocab_limit=False,
    )
    return prefix.with_suffix(".model")


def _spm_pieces(model_file: Path) -> list[tuple[str, float, bool]]:
    """(piece, score, is_normal) for each piece of a sentencepiece model."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    return [(sp.id_to_piece(i), sp.get_score(i),
             not (sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)))
            for i in range(sp.get_piece_size())]


def _bpe_merges(vocab: dict[str, int], pieces: list[tuple[str, float, bool]]) -> list[tuple[str, str]]:
    """BPE merges of a sentencepiece BPE model, ordered by the score of the merged piece."""
    score = {p: s for p, s, _ in pieces}
    merges: list[tuple[float, int, str, str]] = []
    for piece, _, normal in pieces:
        if not normal or len(piece) < 2:
            continue
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                merges.append((-score[piece], vocab[piece], left, right))
    merges.sort()
    return [(left, right) for _, _, left, right in merges]


def _model_kwargs(d_model: int, layers: int, heads: int, ffn: int, init_std: float = 0.3) -> dict[str, Any]:
    # init_std well above the usual 0.02, so that random outputs depend visibly on the source
    return dict(d_model=d_model, encoder_layers=layers, decoder_layers=layers,
                encoder_attention_heads=heads, decoder_attention_heads=heads,
                encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, init_std=init_std)


def _save(model_cls: type, config: object, tokenizer: object, out: Path, seed: int) -> Path:
    import torch

    torch.manual_seed(seed)
    model = model_cls(config)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)  # type: ignore[attr-defined]
    return out


def build_nllb(out: Path, *, d_model: int = 32, layers: int = 1, max_positions: int = 64, seed: int = 1) -> Path:
    """NLLB-200 style: M2M100 architecture, NllbTokenizer (BPE), ``eng_Latn``-style tokens."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    spm_file = train_spm(out.parent / f"{out.name}-spm", "bpe", 160, seed=seed)
    pieces = _spm_pieces(spm_file)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece, _, normal in pieces:
        if normal and piece not in vocab:
            vocab[piece] = len(vocab)
    tok = NllbTokenizer(vocab=vocab, merges=_bpe_merges(vocab, pieces),
                        additional_special_tokens=list(NLLB_LANGS), src_lang="eng_Latn", tgt_lang="por_Latn")
    config = M2M100Config(vocab_size=len(tok), max_position_embeddings=max_positions,
                          **_model_kwargs(d_model, layers, 2, 2 * d_model),
                          pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                          scale_embedding=True, tie_word_embeddings=True)
    return _save(M2M100ForConditionalGeneration, config, tok, out, seed)


def build_m2m100(out: Path, *, d_model: int = 32, layers: int = 1, max_positions: int = 64, seed: int = 2) -> Path:
    """M2M100 style: M2M100Tokenizer (vocab.json + sentencepiece model), ``__pt__`` tokens."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    work = out.parent / f"{out.name}-src"
    work.mkdir(parents=True, exist_ok=True)
    spm_file = train_spm(work / "sp", "bpe", 150, seed=seed)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece, _, normal in _spm_pieces(spm_file):
        if normal and piece not in vocab:
            vocab[piece] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = M2M100Tokenizer(vocab_file=str(work / "vocab.json"), spm_file=str(spm_file),
                          src_lang="en", tgt_lang="pt", num_madeup_words=8)
    # as in facebook/m2m100_418M: pieces, then 100 language tokens, then 8 "madeup" words
    config = M2M100Config(vocab_size=len(tok.get_vocab()) + len(tok.lang_token_to_id) + 8, max_position_embeddings=max_positions,
                          **_model_kwargs(d_model, layers, 2, 2 * d_model),
                          pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                          scale_embedding=True, tie_word_embeddings=True)
    return _save(M2M100ForConditionalGeneration, config, tok, out, seed)


def build_marian(out: Path, *, target_langs: list[str] | None = None, d_model: int = 32, layers: int = 1,
                 heads: int = 2, ffn: int | None = None, max_positions: int = 64, seed: int = 3,
                 vocab_size: int = 150) -> Path:
    """Opus-MT style: MarianTokenizer with source/target sentencepiece models and a shared vocab.json.

    With ``target_langs`` (e.g. ``["por", "spa"]``) the vocabulary gets ``>>por<<`` tokens, as in
    multi-target Opus-MT models.
    """
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = out.parent / f"{out.name}-src"
    work.mkdir(parents=True, exist_ok=True)
    # Marian's sentencepiece models: unk=1, eos=0, no bos, no pad.
    src = train_spm(work / "source", "unigram", vocab_size, ids=(1, -1, 0, -1), seed=seed)
    tgt = train_spm(work / "target", "unigram", vocab_size, ids=(1, -1, 0, -1), seed=seed + 100)
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for lang in target_langs or []:
        vocab[f">>{lang}<<"] = len(vocab)
    for model_file in (src, tgt):
        for piece, _, normal in _spm_pieces(model_file):
            if normal and piece not in vocab:
                vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = MarianTokenizer(source_spm=str(src), target_spm=str(tgt), vocab=str(work / "vocab.json"))
    pad = vocab["<pad>"]
    config = MarianConfig(vocab_size=len(vocab), max_position_embeddings=max_positions,
                          **_model_kwargs(d_model, layers, heads, ffn or 2 * d_model),
                          pad_token_id=pad, eos_token_id=0, decoder_start_token_id=pad,
                          forced_eos_token_id=0, scale_embedding=True, share_encoder_decoder_embeddings=True,
                          activation_function="swish", static_position_embeddings=True)
    return _save(MarianMTModel, config, tok, out, seed)


def build_mbart50(out: Path, *, d_model: int = 32, layers: int = 1, max_positions: int = 64, seed: int = 4) -> Path:
    """mBART-50 style: MBart50Tokenizer (unigram), ``pt_XX`` tokens, decoder starts with ``</s>``."""
    from transformers import MBart50Tokenizer, MBartConfig, MBartForConditionalGeneration

    spm_file = train_spm(out.parent / f"{out.name}-spm", "unigram", 150, seed=seed)
    pieces = _spm_pieces(spm_file)
    vocab = [(p, s) for p, s, normal in pieces if normal]
    tok = MBart50Tokenizer(vocab=[("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)] + vocab,
                           src_lang="en_XX", tgt_lang="pt_XX")
    config = MBartConfig(vocab_size=len(tok), max_position_embeddings=max_positions,
                         **_model_kwargs(d_model, layers, 2, 2 * d_model),
                         pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                         scale_embedding=True, tokenizer_class="MBart50Tokenizer",
                         # as in the Hub's mBART-50 configs (CTranslate2's converter reads them)
                         normalize_before=True, normalize_embedding=True)
    return _save(MBartForConditionalGeneration, config, tok, out, seed)


def build_madlad(out: Path, *, d_model: int = 32, layers: int = 1, seed: int = 5) -> Path:
    """MADLAD-400 style: T5 architecture, T5Tokenizer (unigram) with ``<2pt>`` pieces in the vocabulary."""
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    symbols = tuple(f"<2{code}>" for code in MADLAD_LANGS)
    spm_file = train_spm(out.parent / f"{out.name}-spm", "unigram", 150, user_symbols=symbols,
                         ids=(2, -1, 1, 0), seed=seed)
    pieces = _spm_pieces(spm_file)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(p, s) for p, s, normal in pieces if normal]
    tok = T5Tokenizer(vocab=vocab, extra_ids=0, additional_special_tokens=list(symbols))
    config = T5Config(vocab_size=len(tok), d_model=d_model, d_kv=d_model // 2, d_ff=2 * d_model,
                      num_layers=layers, num_decoder_layers=layers, num_heads=2,
                      feed_forward_proj="gated-gelu", initializer_factor=3.0,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    return _save(T5ForConditionalGeneration, config, tok, out, seed)


BUILDERS = {
    "nllb": build_nllb,
    "m2m100": build_m2m100,
    "marian": build_marian,
    "mbart50": build_mbart50,
    "madlad": build_madlad,
}


def build_bert(out: Path, words: list[str], *, layers: int = 4, hidden: int = 32, max_positions: int = 64,
               seed: int = 0) -> Path:
    """A random BertModel with a lower-cased WordPiece vocabulary of ``words`` plus letters (so any word
    can be spelled), saved as a transformers folder: a tiny real encoder for the aligners."""
    import torch
    import transformers

    out.mkdir(parents=True, exist_ok=True)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = list(dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *letters,
                                *(f"##{c}" for c in letters)]))
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    transformers.BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True,
                                   model_max_length=max_positions).save_pretrained(out)
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                                     num_attention_heads=2, intermediate_size=2 * hidden,
                                     max_position_embeddings=max_positions)
    transformers.BertModel(config).eval().save_pretrained(out)
    return out

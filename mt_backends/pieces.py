"""A model's own subword pieces and language-token layout, shared by the CTranslate2 and transformers
backends.

Tokenization is done with the model's Hugging Face tokenizer (its files are kept next to converted
CTranslate2 models), asking it for *content* pieces only (``add_special_tokens=False``); the
language tokens and EOS are then placed by :class:`ModelTokenizer` per family (see the table in
:mod:`mt_backends.languages`), never by the tokenizer's mutable ``src_lang`` state, so one instance
serves any language pair and any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from projector.errors import ModelError, UnsupportedLanguageError

from .languages import Family, check_pair_language, language_tokens, parse_language, resolve_language

logger = logging.getLogger("projector.mt")

__all__ = ["ModelTokenizer", "load_hf_tokenizer", "load_model_tokenizer", "full_vocab"]

SOURCE, TARGET = "source", "target"


def full_vocab(tokenizer: Any) -> dict[str, int]:
    """``tokenizer.get_vocab()`` plus the language tokens some tokenizers keep apart (M2M100's
    ``lang_token_to_id`` is missing from ``get_vocab()`` in transformers 5)."""
    vocab = dict(tokenizer.get_vocab())
    for tok, idx in (getattr(tokenizer, "lang_token_to_id", None) or {}).items():
        vocab.setdefault(tok, idx)
    return vocab


def load_hf_tokenizer(path: str, **kwargs: Any) -> Any:
    """``AutoTokenizer.from_pretrained(path)`` with a :class:`ModelError` naming the folder on failure."""
    from projector._optional import require

    transformers = require("transformers", purpose="MT tokenization")
    try:
        return transformers.AutoTokenizer.from_pretrained(path, **kwargs)
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds
        raise ModelError(f"cannot load the tokenizer of {path}: {exc}") from exc


class ModelTokenizer:
    """The pieces a model sees: content pieces from its tokenizer, language tokens per family.

    ``pair`` gives (source, target) languages for fixed-pair models (Marian without ``>>xx<<``
    tokens), when known; they are then checked against the languages the caller asks for.
    """

    def __init__(self, tokenizer: Any, fam: Family, *, name: str = "model",
                 pair: tuple[str | None, str | None] = (None, None)) -> None:
        self.hf = tokenizer
        self.family = fam
        self.name = name
        vocab = full_vocab(tokenizer)
        order = sorted(vocab, key=vocab.__getitem__)
        self.vocab: dict[str, int] = vocab
        self.lang_tokens: list[str] = language_tokens(fam, order)
        self.pair = pair
        self.eos: str = tokenizer.eos_token or "</s>"
        self.unk: str = tokenizer.unk_token or "<unk>"
        self.pad: str | None = tokenizer.pad_token
        self.specials: frozenset[str] = frozenset(tokenizer.all_special_tokens) | frozenset(self.lang_tokens)
        if fam.source_token == "src" and not self.lang_tokens:
            raise ModelError(f"{name}: a {fam.description} model without language tokens in its vocabulary")

    # -- languages -----------------------------------------------------------------------------
    @property
    def multilingual(self) -> bool:
        """Whether the model selects languages with tokens (False: a fixed-pair Marian model)."""
        return bool(self.lang_tokens)

    def lang_token(self, code: str, *, side: str) -> str | None:
        """The language token for ``code`` (None for fixed-pair models, after checking the pair)."""
        if not self.lang_tokens:
            if self.family.name == "marian":
                declared = self.pair[0] if side == SOURCE else self.pair[1]
                check_pair_language(code, declared, side=side, model=f"model {self.name}")
                return None
            raise UnsupportedLanguageError(f"{self.name} has no language tokens")
        if self.family.name == "marian" and side == SOURCE:
            check_pair_language(code, self.pair[0], side=side, model=f"model {self.name}")
            return None
        return resolve_language(code, self.family, self.lang_tokens, model=f"model {self.name}")

    # -- pieces --------------------------------------------------------------------------------
    def pieces(self, texts: Sequence[str], *, side: str = TARGET) -> list[list[str]]:
        """Content pieces of each text (no language token, no EOS)."""
        if not texts:
            return []
        key = "text_target" if side == TARGET else "text"
        enc = self.hf(**{key: list(texts)}, add_special_tokens=False)
        return [self.hf.convert_ids_to_tokens(ids) for ids in enc["input_ids"]]

    def source_sequence(self, pieces: Sequence[str], src_lang: str, tgt_lang: str) -> list[str]:
        """The full source the model sees: family language token(s), the pieces, EOS."""
        fam = self.family
        seq = list(pieces) + [self.eos]
        if fam.source_token == "src":
            tok = self.lang_token(src_lang, side=SOURCE)
            return [tok, *seq] if tok else seq
        if fam.name == "marian":
            self.lang_token(src_lang, side=SOURCE)  # checks fixed pairs
        elif parse_language(src_lang) is None and src_lang not in self.lang_tokens:
            raise UnsupportedLanguageError(f"{src_lang!r} is not a language code")
        if fam.source_token == "tgt":
            tok = self.lang_token(tgt_lang, side=TARGET)
            return [tok, *seq] if tok else seq
        return seq

    def target_prefix(self, tgt_lang: str) -> list[str]:
        """Tokens forced at the start of the target (the target language token for nllb/m2m100/mbart50)."""
        if self.family.target_prefix:
            tok = self.lang_token(tgt_lang, side=TARGET)
            return [tok] if tok else []
        self.lang_token(tgt_lang, side=TARGET)  # checks fixed pairs / multi-target tokens
        return []

    def target_sequence(self, pieces: Sequence[str], tgt_lang: str) -> list[str]:
        """The full target the decoder is trained on: prefix, pieces, EOS."""
        return [*self.target_prefix(tgt_lang), *pieces, self.eos]

    def detokenize(self, pieces: Sequence[str], *, side: str = TARGET) -> str:
        """Text of ``pieces``; special tokens (language tokens, EOS, padding) are dropped."""
        content = [p for p in pieces if p not in self.specials]
        if not content:
            return ""
        text: str = self.hf.convert_tokens_to_string(content)
        return text.strip()

    def check_pieces(self, pieces: Sequence[str]) -> list[str]:
        """Pieces not in the vocabulary (callers inserting markers should use existing pieces)."""
        return [p for p in pieces if p not in self.vocab]

    def marker_pieces(self, marker: str, *, side: str = TARGET) -> list[tuple[str, ...]]:
        """Ways the model can write ``marker`` as pieces, best first.

        Single vocabulary pieces come first (``▁[`` — the marker after a space — then ``[``), then the
        tokenizer's own segmentation of ``" " + marker`` and of ``marker``. Each is a tuple of pieces.
        """
        out: list[tuple[str, ...]] = []
        for cand in (f"▁{marker}", marker):
            if cand in self.vocab and cand not in self.specials:
                out.append((cand,))
        for text in (f" {marker}", marker):
            seg = tuple(self.pieces([text], side=side)[0])
            if seg and seg not in out:
                out.append(seg)
        return out


def _opus_pair(name: str) -> tuple[str | None, str | None]:
    """(source, target) from an Opus-MT style name, e.g. ``Helsinki-NLP/opus-mt-en-pt``."""
    import re

    m = re.search(r"opus-mt-(?:tc-big-)?([a-zA-Z]{2,3})-([a-zA-Z]{2,3})(?:$|[^a-zA-Z])", name)
    if not m:
        return None, None
    return _single_language(m.group(1)), _single_language(m.group(2))


def _single_language(code: str) -> str | None:
    """``code`` if it names one language (not ``mul``, ``ROMANCE`` or an ISO 639-5 group such as ``roa``)."""
    if code.lower() == "mul" or not code.islower() or parse_language(code) is None:
        return None
    import langcodes

    name = langcodes.Language.get(code).display_name()
    return None if name.endswith("languages") else code


def load_model_tokenizer(path: str, *, name: str, meta: dict[str, Any], family: str | None = None,
                         tokenizer: str | None = None) -> ModelTokenizer:
    """The :class:`ModelTokenizer` of a model folder (HF or CTranslate2 with tokenizer files).

    ``family`` overrides detection; ``tokenizer`` is another folder or Hub id to load the tokenizer
    from (for CTranslate2 folders converted without their tokenizer files).
    """
    from pathlib import Path

    from .languages import detect_family
    from .languages import family as get_family

    source = tokenizer or path
    folder = Path(source)
    if tokenizer is None and not any((folder / f).is_file() for f in ("tokenizer_config.json", "tokenizer.json")):
        raise ModelError(f"{name}: no tokenizer files in {path} (tokenizer_config.json...); convert with "
                         "projector, copy them from the original model, or pass tokenizer=<HF folder or id>")
    hf = load_hf_tokenizer(str(source))
    fam_name = family or meta.get("family") or detect_family(
        model_type=meta.get("model_type"), architectures=meta.get("architectures") or [],
        tokenizer_class=meta.get("tokenizer_class") or type(hf).__name__,
        vocabulary=full_vocab(hf), files=[p.name for p in folder.iterdir()] if folder.is_dir() else [])
    if fam_name is None:
        from .languages import FAMILIES

        raise ModelError(f"{name}: cannot tell the model family (model_type={meta.get('model_type')!r}, "
                         f"tokenizer={type(hf).__name__}); pass family= one of {', '.join(FAMILIES)}")
    pair = (meta.get("source_lang"), meta.get("target_lang"))
    if pair == (None, None):
        pair = _opus_pair(meta.get("source") or name)
    pair = tuple(_single_language(p) if p else None for p in pair)  # type: ignore[assignment]
    return ModelTokenizer(hf, get_family(fam_name), name=name, pair=pair)  # type: ignore[arg-type]

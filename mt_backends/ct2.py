"""The CTranslate2 backend (the main one).

``CTranslate2Translator(model)`` accepts a CTranslate2 model folder, a local Hugging Face model
folder or a Hub id; Hugging Face models are converted once into the conversion cache
(:mod:`mt_backends.conversion`). Translation and scoring run on token lists built by
:class:`~mt_backends.pieces.ModelTokenizer` (the model's own pieces, language tokens per family).

How ``score`` aligns log-probs with pieces: ``Translator.score_batch(source, target)`` receives the
target *without* the decoder start token (CTranslate2 adds it: ``</s>`` for NLLB/M2M100/mBART-50,
``<pad>`` for T5/MADLAD, a zero embedding for Marian) and, for families with a target prefix, *with*
the target language token first; it returns one log-prob per target token plus one for the EOS it
appends. Those of the language token (forced, not predicted) are dropped, the EOS one is returned
apart, so :class:`~mt_backends.base.TokenScores` has exactly one log-prob per given piece.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from projector._optional import require
from projector.errors import ConfigError, ModelError

from .base import ModelInfo
from .conversion import METADATA_FILE, ensure_ct2, read_hf_metadata, resolve_model
from .engine import Generated, Seq2SeqTranslator
from .pieces import load_model_tokenizer

logger = logging.getLogger("projector.mt")

__all__ = ["CTranslate2Translator", "resolve_device"]


def resolve_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """``device`` auto: CUDA when present; ``compute_type`` auto: int8 on CPU, int8_float16 (else
    float16) on GPU — each only when the hardware supports it, else float32."""
    ct2 = require("ctranslate2", purpose="the CTranslate2 MT backend")
    if device == "auto":
        device = "cuda" if ct2.get_cuda_device_count() > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    try:
        supported = set(ct2.get_supported_compute_types(device))
    except Exception as exc:  # noqa: BLE001 - no CUDA driver, etc.
        raise ModelError(f"CTranslate2 cannot use device {device!r}: {exc}") from exc
    if compute_type == "auto":
        prefs = ("int8", "float32") if device == "cpu" else ("int8_float16", "float16", "float32")
        compute_type = next((c for c in prefs if c in supported), "default")
    elif compute_type not in supported and compute_type != "default":
        raise ConfigError(f"compute_type {compute_type!r} is not supported on {device} "
                          f"(supported: {', '.join(sorted(supported))})")
    return device, compute_type


class CTranslate2Translator(Seq2SeqTranslator):
    """Translate and score with CTranslate2.

    Args:
        model: CTranslate2 folder, Hugging Face folder, or Hub id.
        device, compute_type: see :func:`resolve_device`.
        inter_threads, intra_threads: CTranslate2 thread options (passed through).
        quantization: weights type of the cached conversion (None: float32 weights; the
            compute type is applied at load time either way).
        revision: Hub revision. family: override family detection ("nllb", "m2m100", "marian",
            "mbart50", "madlad"). tokenizer: folder/Hub id of the tokenizer when the CTranslate2
            folder has no tokenizer files.
        batch_tokens: token budget of a batch; read_ahead: inputs sorted together when streaming.
        max_source_tokens: the model's input limit (default: its max_position_embeddings).
        length_penalty: beam-search length penalty (hypothesis scores are reported unnormalised).
        cache_dir: conversion cache root (default ``$PROJECTOR_CACHE`` or ``~/.cache/projector``).
    """

    backend_name = "ctranslate2"

    def __init__(self, model: str | os.PathLike[str], *, device: str = "auto", compute_type: str = "auto",
                 inter_threads: int = 1, intra_threads: int = 0, quantization: str | None = None,
                 revision: str | None = None, family: str | None = None, tokenizer: str | None = None,
                 batch_tokens: int = 4096, read_ahead: int = 512, max_source_tokens: int | None = None,
                 length_penalty: float = 1.0, cache_dir: str | os.PathLike[str] | None = None,
                 local_files_only: bool | None = None, beam_size: int = 4,
                 device_index: int | list[int] = 0, **ct2_options: Any) -> None:
        ct2 = require("ctranslate2", purpose="the CTranslate2 MT backend")
        resolved = resolve_model(model, revision=revision, local_files_only=local_files_only)
        if resolved.kind == "hf":
            _check_convertible(resolved.path, family)
        path = ensure_ct2(resolved, quantization=quantization,
                          cache_dir=Path(cache_dir) if cache_dir is not None else None, family=family)
        self.path = path
        meta = _ct2_metadata(path)
        self.tok = load_model_tokenizer(str(path), name=resolved.name, meta=meta, family=family, tokenizer=tokenizer)
        self.device, self.compute_type = resolve_device(device, compute_type)
        try:
            self.model = ct2.Translator(str(path), device=self.device, device_index=device_index,
                                        compute_type=self.compute_type, inter_threads=inter_threads,
                                        intra_threads=intra_threads, **ct2_options)
        except Exception as exc:  # noqa: BLE001 - RuntimeError/ValueError from the C++ side
            raise ModelError(f"CTranslate2 cannot load {path}: {exc}") from exc
        # the model's own limit: its position table in model.bin (a folder may declare none, and a
        # longer input would stop the whole run in the engine), and the converted model's declared one
        known = [n for n in (meta.get("max_source_tokens"), position_limit(path)) if n]
        self.max_source_tokens = max_source_tokens or (min(known) if known else None)
        self.batch_tokens = batch_tokens
        self.beam_size = beam_size
        self.parallel_batches = max(1, inter_threads) * (len(device_index) if isinstance(device_index, list) else 1)
        self.read_ahead = read_ahead
        self.length_penalty = length_penalty
        self._vocab_cache: dict[str, int] | None = None
        self.info = ModelInfo("ctranslate2", self.tok.family.name, str(path), tuple(self.tok.lang_tokens),
                              self.max_source_tokens, resolved.name)
        logger.info("loaded %s (%s, %s/%s)", resolved.name, self.tok.family.name, self.device, self.compute_type)

    def _generate(self, sources: list[list[str]], prefix: list[str], *, beam_size: int, num_hypotheses: int,
                  max_length: int, min_length: int = 0) -> list[list[Generated]]:
        lp = 0.0 if beam_size == 1 else self.length_penalty  # greedy: the penalty cannot change the result
        results = self.model.translate_batch(
            sources, target_prefix=[list(prefix) for _ in sources] if prefix else None,
            beam_size=beam_size, num_hypotheses=num_hypotheses, length_penalty=lp,
            max_decoding_length=max_length + len(prefix), min_decoding_length=min_length + len(prefix),
            max_input_length=0, return_scores=True,
            batch_type="tokens", max_batch_size=max(self.batch_tokens, max(map(len, sources))))
        out: list[list[Generated]] = []
        for res in results:
            hyps = []
            for tokens, score in zip(res.hypotheses, res.scores, strict=True):
                content = list(tokens[len(prefix):]) if prefix and tokens[:len(prefix)] == prefix else list(tokens)
                finished = len(content) < max_length
                # CTranslate2 divides by length**penalty, the length counting prefix and EOS: undo it
                length = len(prefix) + len(content) + (1 if finished else 0)
                raw = score * (length ** lp) if lp else score
                hyps.append(Generated(content, float(raw), finished))
            out.append(hyps)
        return out

    def _score_tokens(self, sources: list[list[str]], targets: list[list[str]]) -> list[list[float]]:
        # CTranslate2 appends EOS itself: pass the targets without it
        trimmed = [t[:-1] if t and t[-1] == self.tok.eos else t for t in targets]
        results = self.model.score_batch(sources, trimmed, max_input_length=0, batch_type="tokens",
                                         max_batch_size=self.batch_tokens)
        return [list(r.log_probs) for r in results]

    def _score_probe(self, sources: list[list[str]], targets: list[list[str]],
                     probes: list[str | None]) -> list[tuple[list[float], list[float]]]:
        # score_batch returns the target's log-probs only: force the target as a prefix and take the
        # whole distribution of every step (return_logits_vocab), plus one step for EOS
        import numpy as np

        vocab = self._target_vocab()
        out: list[tuple[list[float], list[float]]] = []
        # CTranslate2 keeps every step's logits of a batch: bound them (NLLB: 256k per step)
        per_batch = max(1, (1 << 26) // max(1, len(vocab) * max(map(len, targets))))
        for start in range(0, len(targets), per_batch):
            srcs, tgts = sources[start:start + per_batch], targets[start:start + per_batch]
            trimmed = [t[:-1] if t and t[-1] == self.tok.eos else t for t in tgts]
            results = self.model.translate_batch(
                srcs, target_prefix=trimmed, beam_size=1, max_decoding_length=max(map(len, trimmed)) + 1,
                min_decoding_length=0, max_input_length=0, return_logits_vocab=True)
            for res, full, probe in zip(results, tgts, probes, strict=True):
                steps = np.stack([np.asarray(x, dtype=np.float32).reshape(-1) for x in res.logits[0][:len(full)]])
                top = steps.max(axis=1, keepdims=True)
                norm = top + np.log(np.exp(steps - top, dtype=np.float64).sum(axis=1, keepdims=True))
                ids = np.array([vocab[t] for t in full])
                rows = np.arange(len(full))
                probe_lps = (steps[:, vocab[probe]] - norm[:, 0]).tolist() if probe is not None else []
                out.append(((steps[rows, ids] - norm[:, 0]).tolist(), probe_lps))
            del results
        return out

    def _target_vocab(self) -> dict[str, int]:
        """Token -> index in the CTranslate2 model's target vocabulary (the order of its logits)."""
        if self._vocab_cache is None:
            folder = Path(self.info.path)
            for name in ("shared_vocabulary", "target_vocabulary"):
                for ext in (".json", ".txt"):
                    f = folder / f"{name}{ext}"
                    if f.is_file():
                        text = f.read_text(encoding="utf-8")
                        tokens = json.loads(text) if ext == ".json" else text.split("\n")
                        self._vocab_cache = {t: i for i, t in enumerate(tokens)}
                        return self._vocab_cache
            raise ModelError(f"{folder}: no CTranslate2 vocabulary file (shared_vocabulary/target_vocabulary)")
        return self._vocab_cache


def _check_convertible(path: Path, family: str | None) -> None:
    """Fail before converting a model that is not a supported translation model."""
    from .languages import FAMILIES

    meta = read_hf_metadata(path)
    supported = ("m2m_100", "marian", "mbart", "t5", "mt5")
    if family is None and meta.get("model_type") not in supported:
        raise ModelError(f"{path}: model_type {meta.get('model_type')!r} is not a supported translation model "
                         f"({', '.join(supported)}; families {', '.join(FAMILIES)})")


def position_limit(path: str | os.PathLike[str]) -> int | None:
    """The number of positions of a CTranslate2 model's learned or stored position encodings (the
    longest sequence it can encode), read from the variable index of its ``model.bin``; ``None`` when
    it has none (relative or generated positions) or the file cannot be read.

    ``model.bin`` (CTranslate2's ``model_spec.py``): uint32 binary version, spec name (uint16 length +
    bytes) and uint32 revision (version >= 2), uint32 variable count, then per variable: name, uint8
    rank, rank x uint32 dims, uint8 dtype (or item size before version 4), uint32 byte count (item
    count before version 4), the data.
    """
    import struct

    limits: list[int] = []
    try:
        with open(Path(path) / "model.bin", "rb") as fh:
            def u(fmt: str) -> Any:
                size = struct.calcsize(fmt)
                data = fh.read(size)
                if len(data) != size:
                    raise ValueError("truncated")
                return struct.unpack(fmt, data)

            def name() -> str:
                (n,) = u("<H")
                return fh.read(n).rstrip(b"\0").decode("utf-8", "replace")

            (version,) = u("<I")
            if version >= 2:
                name()
                u("<I")
            (count,) = u("<I")
            for _ in range(count):
                var = name()
                (rank,) = u("<B")
                dims = u(f"<{rank}I") if rank else ()
                (item,) = u("<B")
                (n_bytes,) = u("<I")
                if version < 4:
                    n_bytes *= item
                if var.endswith("position_encodings/encodings") and len(dims) == 2:
                    limits.append(int(dims[0]))
                fh.seek(n_bytes, os.SEEK_CUR)
    except (OSError, ValueError, struct.error) as exc:
        logger.debug("cannot read the position encodings of %s: %s", path, exc)
        return min(limits) if limits else None
    return min(limits) if limits else None


def _ct2_metadata(path: Path) -> dict[str, Any]:
    """projector_mt.json of our conversions; else what the copied tokenizer files tell."""
    f = path / METADATA_FILE
    if f.is_file():
        try:
            data: dict[str, Any] = json.loads(f.read_text(encoding="utf-8"))
            return data
        except ValueError:
            logger.warning("ignoring unreadable %s", f)
    meta = read_hf_metadata(path)
    meta["model_type"] = None  # config.json here is CTranslate2's, not the HF one
    meta["max_source_tokens"] = None
    return meta

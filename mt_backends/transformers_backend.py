"""The transformers backend: the reference implementation of the MT protocol (PyTorch, slow), and
the way to run models CTranslate2 cannot convert.

It uses the same :class:`~mt_backends.pieces.ModelTokenizer` as the CTranslate2 backend, so both see
identical token sequences. Conventions matched with CTranslate2: the decoder starts from the
model's ``decoder_start_token_id`` followed by the family's target prefix; generation uses only the
options given here (the model's ``generation_config`` — forced BOS/EOS, no-repeat n-grams... — is
not applied); for Marian the ``<pad>`` token is excluded from the output distribution (it is the
decoder start only; CTranslate2 removes it from the vocabulary), in ``score`` as in ``translate``.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

from projector._optional import require
from projector.errors import ConfigError, ModelError

from .base import ModelInfo
from .conversion import read_hf_metadata, resolve_model
from .engine import Generated, Seq2SeqTranslator
from .pieces import load_model_tokenizer

logger = logging.getLogger("projector.mt")

__all__ = ["TransformersTranslator"]


class TransformersTranslator(Seq2SeqTranslator):
    """Translate and score with a Hugging Face ``AutoModelForSeq2SeqLM``.

    Args:
        model: Hugging Face folder or Hub id. device: "auto" (CUDA when present), "cpu", "cuda".
        dtype: torch dtype name ("float32" default). family, revision, batch_tokens, read_ahead,
        max_source_tokens, length_penalty: as for :class:`~mt_backends.ct2.CTranslate2Translator`.
        threads: torch intra-op threads (None: torch's default).
    """

    backend_name = "transformers"

    def __init__(self, model: str | os.PathLike[str], *, device: str = "auto", dtype: str = "float32",
                 revision: str | None = None, family: str | None = None, batch_tokens: int = 4096,
                 read_ahead: int = 512, max_source_tokens: int | None = None, length_penalty: float = 1.0,
                 threads: int | None = None, local_files_only: bool | None = None, beam_size: int = 4) -> None:
        torch = require("torch", extra="convert", purpose="the transformers MT backend")
        transformers = require("transformers", purpose="the transformers MT backend")
        resolved = resolve_model(model, revision=revision, local_files_only=local_files_only)
        if resolved.kind != "hf":
            raise ModelError(f"{resolved.name} is a CTranslate2 model: use backend='ctranslate2'")
        if threads:
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.torch = torch
        self.device = device
        meta = read_hf_metadata(resolved.path)
        self.tok = load_model_tokenizer(str(resolved.path), name=resolved.name, meta=meta, family=family)
        try:
            self.model = transformers.AutoModelForSeq2SeqLM.from_pretrained(
                str(resolved.path), dtype=getattr(torch, dtype)).to(device).eval()
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"transformers cannot load {resolved.path}: {exc}") from exc
        cfg = self.model.config
        gc = self.model.generation_config  # only the options given to translate() apply
        for attr, value in (("forced_bos_token_id", None), ("forced_eos_token_id", None), ("min_length", 0),
                            ("no_repeat_ngram_size", 0), ("repetition_penalty", 1.0), ("bad_words_ids", None),
                            ("encoder_no_repeat_ngram_size", 0), ("begin_suppress_tokens", None),
                            ("max_length", None), ("num_beams", 1), ("early_stopping", False)):
            setattr(gc, attr, value)
        self.start_id = int(cfg.decoder_start_token_id if cfg.decoder_start_token_id is not None else cfg.pad_token_id)
        self.pad_id = int(cfg.pad_token_id if cfg.pad_token_id is not None else 0)
        self.eos_id = int(self.tok.vocab[self.tok.eos])
        self.suppressed = [self.pad_id] if self.tok.family.name == "marian" else []
        self.max_source_tokens = max_source_tokens or meta.get("max_source_tokens")
        self.batch_tokens = batch_tokens
        self.beam_size = beam_size
        self.read_ahead = read_ahead
        self.length_penalty = length_penalty
        self.info = ModelInfo("transformers", self.tok.family.name, str(resolved.path),
                              tuple(self.tok.lang_tokens), self.max_source_tokens, resolved.name)

    # -- helpers --------------------------------------------------------------------------------
    def _ids(self, tokens: list[str]) -> list[int]:
        vocab = self.tok.vocab
        try:
            return [vocab[t] for t in tokens]
        except KeyError as exc:
            raise ConfigError(f"token {exc.args[0]!r} is not in the model's vocabulary") from None

    def _pad(self, seqs: list[list[int]]) -> tuple[Any, Any]:
        torch = self.torch
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, :len(s)] = 1
        return ids.to(self.device), mask.to(self.device)

    # -- engine primitives ----------------------------------------------------------------------
    def _generate(self, sources: list[list[str]], prefix: list[str], *, beam_size: int, num_hypotheses: int,
                  max_length: int, min_length: int = 0) -> list[list[Generated]]:
        torch = self.torch
        ids, mask = self._pad([self._ids(s) for s in sources])
        start = [self.start_id, *self._ids(prefix)]
        dec = torch.tensor([start] * len(sources), dtype=torch.long, device=self.device)
        options: dict[str, Any] = {"min_new_tokens": min_length} if min_length else {}
        if beam_size > 1:
            options.update(length_penalty=self.length_penalty, early_stopping=True)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, decoder_input_ids=dec, max_new_tokens=max_length,
                num_beams=beam_size, num_return_sequences=num_hypotheses, do_sample=False,
                eos_token_id=self.eos_id, pad_token_id=self.pad_id, decoder_start_token_id=self.start_id,
                suppress_tokens=self.suppressed or None, output_scores=True, return_dict_in_generate=True,
                **options)
            # renormalise the processed scores: suppressed tokens (Marian's <pad>) leave the distribution
            trans = self.model.compute_transition_scores(
                out.sequences, out.scores, getattr(out, "beam_indices", None), normalize_logits=True)
        seqs = out.sequences[:, len(start):].tolist()
        trans = trans.tolist()
        id_to_tok = {i: t for t, i in self.tok.vocab.items()}
        results: list[list[Generated]] = []
        for b in range(len(sources)):
            hyps = []
            for k in range(num_hypotheses):
                row = b * num_hypotheses + k
                gen, scores = seqs[row], trans[row]
                if self.eos_id in gen:
                    n, finished = gen.index(self.eos_id), True
                else:
                    n, finished = len(gen), False
                total = sum(scores[:n + 1] if finished else scores[:n])
                hyps.append(Generated([id_to_tok.get(i, self.tok.unk) for i in gen[:n]],
                                      float(total) if math.isfinite(total) else math.nan, finished))
            results.append(hyps)
        return results

    def _score_tokens(self, sources: list[list[str]], targets: list[list[str]]) -> list[list[float]]:
        return [lps for lps, _ in self._score_probe(sources, targets, [None] * len(targets))]

    def _score_probe(self, sources: list[list[str]], targets: list[list[str]],
                     probes: list[str | None]) -> list[tuple[list[float], list[float]]]:
        torch = self.torch
        ids, mask = self._pad([self._ids(s) for s in sources])
        tgt = [self._ids(t) for t in targets]
        dec_in, _ = self._pad([[self.start_id, *t[:-1]] for t in tgt])
        with torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec_in).logits.float()
            if self.suppressed:
                logits[..., self.suppressed] = float("-inf")
            logp = torch.log_softmax(logits, dim=-1)
        out = []
        for b, (t, probe) in enumerate(zip(tgt, probes, strict=True)):
            idx = torch.tensor(t, dtype=torch.long, device=logp.device)
            rows = logp[b, :len(t)]
            probe_lps = rows[:, self.tok.vocab[probe]].tolist() if probe is not None else []
            out.append((rows.gather(-1, idx[:, None])[:, 0].tolist(), probe_lps))
        return out

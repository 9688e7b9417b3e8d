"""The ``align`` projection method: translate (or take the given target), word-align, project spans.

Both sides are split into words (spaCy's rules for the language), each source span is snapped to the
words it touches, the batch is word-aligned by an aligner from :mod:`alignment` (with an encoder: the
best configuration of ``benchmarks/projection_quality.py``; without: eflomal), and the span heuristics of
:mod:`alignment.heuristics` (gap filling, punctuation trimming, largest group, conflict rule: each a named
option) turn links into target word ranges, then into character spans.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..convert import Snap, snap_span, tokenize
from ..data import Span, SpanStatus
from ..errors import ConfigError
from .base import ProjectionInput, ProjectionOutput, SpanProjection, failed_output

__all__ = ["AlignMethod"]

logger = logging.getLogger("projector.methods")


class AlignMethod:
    """Projection by word alignment.

    Args:
        translator: a loaded translator (not needed when every input has a template).
        model: an MT model to load when ``translator`` is not given.
        encoder: a Hugging Face encoder (path or Hub id) for the embedding aligner.
        aligner: an aligner name (``embedding``, ``eflomal``, ``ensemble``) or object; default: the
            benchmark's best configuration with ``encoder``, else ``eflomal``.
        aligner_options: keyword options of a named aligner.
        gap_fill, trim_punct, keep, conflict, copy_match: overrides of the span heuristics (default: the
            benchmark's :data:`alignment.project.DEFAULT_SPAN_OPTIONS`; see :class:`alignment.heuristics.SpanOptions`).
        mode: ``exact`` (PyTorch, identical to simalign) or ``fast`` (bfloat16 autocast where the
            hardware has it, else a CTranslate2 int8 encoder; see :class:`alignment.EmbeddingAligner`).
        beam_size: beam size for translation.
        extra_text_root: an MT test-set folder whose parallel text sharpens eflomal (see
            :func:`alignment.project.extra_text_files`).
        layer: the encoder layer the embedding aligner reads (default: the aligner's).
    """

    name = "align"
    supports_template = True

    def __init__(self, translator: Any = None, model: str | None = None, encoder: str | None = None,
                 aligner: Any = None, aligner_options: dict[str, Any] | None = None, gap_fill: int | None = None,
                 trim_punct: bool | None = None, keep: str | None = None, conflict: str | None = None,
                 copy_match: bool | None = None, mode: str = "exact", beam_size: int = 4,
                 extra_text_root: str | None = None, layer: int | None = None) -> None:
        import dataclasses

        from alignment.project import DEFAULT_SPAN_OPTIONS

        self.translator = translator
        self.model = model
        self.encoder = encoder
        self.mode = mode
        self.beam_size = beam_size
        self.extra_text_root = extra_text_root
        overrides: dict[str, Any] = {k: v for k, v in (("gap_fill", gap_fill), ("trim_punct", trim_punct), ("keep", keep),
                                       ("conflict", conflict), ("copy_match", copy_match)) if v is not None}
        self.options = dataclasses.replace(DEFAULT_SPAN_OPTIONS, **overrides)
        self._aligner_spec = aligner
        self._aligner_options = dict(aligner_options or {})
        self.layer = layer
        self._aligners: dict[tuple[str, str], Any] = {}

    def _aligner(self, src_lang: str, tgt_lang: str) -> Any:
        spec = self._aligner_spec
        if spec is not None and not isinstance(spec, str):
            return spec
        key = (src_lang, tgt_lang)
        if key not in self._aligners:
            from alignment import get_aligner

            if isinstance(spec, str):
                opts = dict(self._aligner_options)
                if spec in ("embedding", "simalign", "emb") and self.encoder and "model" not in opts:
                    opts.update(model=self.encoder, mode=self.mode)
                if spec in ("embedding", "simalign", "emb") and self.layer is not None:
                    opts.setdefault("layer", self.layer)
                self._aligners[key] = get_aligner(spec, **opts)
            elif self.encoder:
                from alignment.project import default_aligner

                extra = {"layer": self.layer} if self.layer is not None else {}
                self._aligners[key] = default_aligner(self.encoder, src_lang=_base(src_lang), tgt_lang=_base(tgt_lang),
                                                      extra_text_root=self.extra_text_root, mode=self.mode, **extra)
            else:
                self._aligners[key] = get_aligner("eflomal", **self._aligner_options)
        return self._aligners[key]

    def _translator(self) -> Any:
        if self.translator is None:
            if self.model is None:
                raise ConfigError("the align method needs a translator or a model when no target text is given")
            from mt_backends import load_translator

            self.translator = load_translator(self.model)
        return self.translator

    def signature(self) -> str:
        """``align(aligner=...,encoder=...,gap_fill=...,...)``."""
        from ..signature import options_signature

        aligner = self._aligner_spec if isinstance(self._aligner_spec, str) or self._aligner_spec is None \
            else getattr(self._aligner_spec, "name", type(self._aligner_spec).__name__)
        if aligner is None:
            from alignment.project import BEST_CONFIG

            aligner = BEST_CONFIG["name"] if self.encoder else "eflomal"
        mode = self.mode
        if mode == "fast" and self.encoder:  # fast mode's precision depends on the hardware: say which
            from alignment.embedding import native_bfloat16

            mode = f"fast-{'bfloat16' if native_bfloat16() else 'int8'}"
        return options_signature("align", {"aligner": aligner,
                                           "encoder": self.encoder, "mode": mode, "layer": self.layer,
                                           **vars(self.options)})

    def project(self, inputs: Sequence[ProjectionInput], src_lang: str, tgt_lang: str) -> list[ProjectionOutput]:
        """Translate the inputs without a template, align every pair in one batch, project the spans."""
        targets: list[str | None] = [i.template for i in inputs]
        statuses: list[tuple[str, str | None]] = [("ok", None)] * len(inputs)
        todo = [k for k, t in enumerate(targets) if t is None]
        if todo:
            results = self._translator().translate([inputs[k].text for k in todo], src_lang, tgt_lang,
                                                   beam_size=self.beam_size)
            for k, res in zip(todo, results):
                targets[k] = res.text if res.best is not None else None
                statuses[k] = (res.status, res.reason)
        outputs: list[ProjectionOutput | None] = [None] * len(inputs)
        batch = []
        for k, item in enumerate(inputs):
            text = targets[k]
            if not text or not text.strip():
                status, reason = statuses[k]
                outputs[k] = failed_output(item, status if status != "ok" else "empty",
                                           f"no translation ({reason or status})" if todo else "empty target text",
                                           text or "")
                continue
            batch.append(k)
        if batch:
            self._project_batch(inputs, targets, batch, statuses, outputs, src_lang, tgt_lang)
        return [o for o in outputs if o is not None]

    def _project_batch(self, inputs: Sequence[ProjectionInput], targets: list[str | None], batch: list[int],
                       statuses: list[tuple[str, str | None]], outputs: list[ProjectionOutput | None],
                       src_lang: str, tgt_lang: str) -> None:
        from alignment.heuristics import project_spans

        src_tok = [list(inputs[k].tokens) or tokenize(inputs[k].text, src_lang) for k in batch]
        tgt_tok = [list(inputs[k].template_tokens) if inputs[k].template is not None and inputs[k].template_tokens
                   else tokenize(targets[k] or "", tgt_lang) for k in batch]
        links = self._aligner(src_lang, tgt_lang).align([[t.text for t in s] for s in src_tok],
                                                          [[t.text for t in t_] for t_ in tgt_tok])
        for pos, k in enumerate(batch):
            item, s_tokens, t_tokens = inputs[k], src_tok[pos], tgt_tok[pos]
            chunks, unsnapped = [], {}
            for i, span in enumerate(item.spans):
                chunk = snap_span(span, s_tokens, Snap.EXPAND)
                if chunk is None:
                    unsnapped[i] = "source span covers no word"
                else:
                    chunks.append((i, (chunk.start, chunk.end, span.label)))
            projected = project_spans([c for _, c in chunks], links[pos], [t.text for t in t_tokens],
                                      src_tokens=[t.text for t in s_tokens], options=self.options)
            by_span: dict[int, SpanProjection] = {}
            for (i, _), p in zip(chunks, projected):
                span = item.spans[i]
                if p.target is None:
                    by_span[i] = SpanProjection.failure(span, p.reason or "no aligned target words")
                else:
                    a, b = p.target
                    target = Span(t_tokens[a].start, t_tokens[b - 1].end, span.label)
                    status = SpanStatus.FUZZY if p.status == SpanStatus.FUZZY else SpanStatus.PROJECTED
                    by_span[i] = SpanProjection(span, target, status, p.reason if status == SpanStatus.FUZZY else None,
                                                p.score)
            for i, why in unsnapped.items():
                by_span[i] = SpanProjection.failure(item.spans[i], why)
            mt_status, mt_reason = statuses[k]
            outputs[k] = ProjectionOutput(targets[k] or "", tuple(by_span[i] for i in range(len(item.spans))),
                                          mt_status, mt_reason, {"links": len(links[pos])})


def _base(code: str) -> str:
    return code.replace("_", "-").split("-")[0].lower()

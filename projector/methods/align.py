"""The ``align`` projection method: translate (or take the given target), word-align, project spans.

Both sides are split into words (spaCy's rules for the language; for languages written without spaces the
segmenter of :mod:`projector.segment`, or characters), each source span is snapped to the
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
from ..data import Span, SpanStatus, Token
from ..errors import ConfigError
from ..langs import base_lang
from ..options import AlignOptions, MTOptions, merge_options
from ..scripts import uses_spaces
from ._mt import model_name, resolve_translator
from .base import ProjectionInput, ProjectionOutput, SpanProjection, failed_output

__all__ = ["AlignMethod"]

logger = logging.getLogger("projector.methods")


class AlignMethod:
    """Projection by word alignment.

    Args:
        translator: a loaded translator (not needed when every input has a template).
        model: an MT model to load (as ``mt`` says) when ``translator`` is not given.
        options: :class:`~projector.options.AlignOptions`: the encoder, the aligner (default: the
            benchmark's best configuration with an encoder, else eflomal), its mode and layer, and the
            span heuristics (default: the benchmark's :data:`alignment.project.DEFAULT_SPAN_OPTIONS`);
            keyword ``overrides`` are its fields (``AlignMethod(encoder=E, align_mode="fast")``).
        aligner: a ready :class:`alignment.Aligner` object to use instead of building one from the options.
    """

    name = "align"
    supports_template = True

    def __init__(self, translator: Any = None, model: str | None = None, options: AlignOptions | None = None, *,
                 mt: MTOptions | None = None, aligner: Any = None, **overrides: Any) -> None:
        if isinstance(aligner, str):  # a name is an option
            overrides["aligner"] = aligner
            aligner = None
        self.options = merge_options(AlignOptions, options, overrides)
        self.translator = translator
        self.model = model
        self.mt = mt or MTOptions()
        self.span_options = self.options.span_options()
        self._aligner_object = aligner
        self._aligners: dict[tuple[str, str], Any] = {}

    def _aligner(self, src_lang: str, tgt_lang: str) -> Any:
        """The aligner of the pair; with ``transliterate``, its links overridden by reading links where one
        side has a romanizer (:mod:`alignment.translit`)."""
        key = (src_lang, tgt_lang)
        if key not in self._aligners:
            aligner = self._aligner_object if self._aligner_object is not None else self._build_aligner(src_lang, tgt_lang)
            if self.options.transliterate:
                from alignment.translit import TransliteratedAligner

                wrapped = TransliteratedAligner(aligner, src_lang, tgt_lang)
                aligner = wrapped if wrapped.readings.active else aligner
            self._aligners[key] = aligner
        return self._aligners[key]

    def _build_aligner(self, src_lang: str, tgt_lang: str) -> Any:
        """The aligner the options name for the pair."""
        from alignment import get_aligner

        opts = self.options
        layer = {"layer": opts.layer} if opts.layer is not None else {}
        if opts.aligner in ("embedding", "simalign", "emb"):
            model = {"model": opts.encoder} if opts.encoder else {}
            return get_aligner(opts.aligner, mode=opts.align_mode, **model, **layer)
        if opts.aligner is None and opts.encoder:
            from alignment.project import default_aligner

            return default_aligner(opts.encoder, src_lang=base_lang(src_lang), tgt_lang=base_lang(tgt_lang),
                                   extra_text_root=opts.extra_text_root, mode=opts.align_mode, **layer)
        return get_aligner(opts.aligner or "eflomal")

    def _translator(self) -> Any:
        if self.translator is None:
            if self.model is None:
                raise ConfigError("the align method needs a translator (translator= or model=) when no target "
                                  "text is given")
            self.translator = resolve_translator(None, self.model, mt=self.mt)
        return self.translator

    def signature(self) -> str:
        """The options' signature with the aligner actually used and, when it translates, the model."""
        shown: dict[str, str] = {}
        if self._aligner_object is not None:
            shown["aligner"] = getattr(self._aligner_object, "name", type(self._aligner_object).__name__)
        elif self.options.aligner is None:
            from alignment.project import BEST_CONFIG

            shown["aligner"] = BEST_CONFIG["name"] if self.options.encoder else "eflomal"
        if self.options.align_mode == "fast" and self.options.encoder:  # fast mode's precision depends on the hardware
            from alignment.embedding import native_bfloat16

            shown["mode"] = f"fast-{'bfloat16' if native_bfloat16() else 'int8'}"
        if self.translator is not None:
            shown["translator"] = model_name(self.translator)
        return self.options.signature(**shown)

    def project(self, inputs: Sequence[ProjectionInput], src_lang: str, tgt_lang: str) -> list[ProjectionOutput]:
        """Translate the inputs without a template, align every pair in one batch, project the spans."""
        targets: list[str | None] = [i.template for i in inputs]
        statuses: list[tuple[str, str | None]] = [("ok", None)] * len(inputs)
        todo = [k for k, t in enumerate(targets) if t is None]
        if todo:
            results = self._translator().translate([inputs[k].text for k in todo], src_lang, tgt_lang)
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

    def _words(self, text: str, lang: str) -> list[Token]:
        """The word tokens of ``text``: spaCy's rules, or for a language written without spaces the
        segmenter of the options (``auto``: :mod:`projector.segment`'s choice for the language)."""
        return tokenize(text, lang, backend="auto" if uses_spaces(lang) else self.options.segmenter)

    def _project_batch(self, inputs: Sequence[ProjectionInput], targets: list[str | None], batch: list[int],
                       statuses: list[tuple[str, str | None]], outputs: list[ProjectionOutput | None],
                       src_lang: str, tgt_lang: str) -> None:
        from alignment.heuristics import project_spans

        src_tok = [list(inputs[k].tokens) or self._words(inputs[k].text, src_lang) for k in batch]
        tgt_tok = [list(inputs[k].template_tokens) if inputs[k].template is not None and inputs[k].template_tokens
                   else self._words(targets[k] or "", tgt_lang) for k in batch]
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
                                      src_tokens=[t.text for t in s_tokens], options=self.span_options)
            by_span: dict[int, SpanProjection] = {}
            for (i, _), p in zip(chunks, projected):
                span = item.spans[i]
                if p.target is None:
                    by_span[i] = SpanProjection.failure(span, p.reason or "no aligned target words")
                else:
                    a, b = p.target
                    target = Span(t_tokens[a].start, t_tokens[b - 1].end, p.label)  # derived_label may change it
                    status = SpanStatus.FUZZY if p.status == SpanStatus.FUZZY else SpanStatus.PROJECTED
                    # a fuzzy span's reason: the heuristics that changed it ("gap filled, punctuation trimmed")
                    why = (p.reason or ", ".join(p.notes) or "changed by a span heuristic") \
                        if status == SpanStatus.FUZZY else None
                    by_span[i] = SpanProjection(span, target, status, why, p.score)
            for i, why in unsnapped.items():
                by_span[i] = SpanProjection.failure(item.spans[i], why)
            mt_status, mt_reason = statuses[k]
            outputs[k] = ProjectionOutput(targets[k] or "", tuple(by_span[i] for i in range(len(item.spans))),
                                          mt_status, mt_reason, {"links": len(links[pos])})


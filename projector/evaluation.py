"""Evaluation on human data: projection F1 on parallel gold NER, and word-alignment AER/F1.

* :func:`evaluate_projection`: sentence i of SRC is translated by sentence i of TGT (both labeled, e.g.
  ``../shared/data/europarl-ner``); the source's gold spans are projected onto the given target sentences
  (template mode, any method that supports it) and scored by exact span + label match against the
  target's gold, on the target's own tokens, overall and per label.
* :func:`evaluate_alignment`: an aligner's links against gold links (AER, precision, recall, F1) in
  either format of ``../shared/data/word-alignment-gold``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .convert import Snap, snap_span
from .errors import InputError
from .formats import read
from .methods.base import ProjectionMethod
from .projection import project_examples

__all__ = ["evaluate_projection", "evaluate_alignment"]


def evaluate_projection(src: str | Path, tgt: str | Path, *, src_lang: str, tgt_lang: str,
                        method: str | ProjectionMethod = "align", method_options: Any = None,
                        translator: Any = None, model: str | None = None, limit: int | None = None,
                        read_options: dict[str, Any] | None = None, mt_options: Any = None,
                        projector: Any = None) -> dict[str, Any]:
    """Project SRC's gold spans onto TGT's sentences and score them against TGT's gold.

    A method that scores with an MT model (codec) uses ``translator``, else ``model``, else the pair's
    default model. ``method_options``/``mt_options`` are as for :func:`projector.translate_train`.
    Returns ``{"f1", "precision", "recall", "tp", "predicted", "gold", "per_label", "examples", "status"}``.
    """
    from alignment.evaluate import span_scores

    from .api import Projector
    from .langs import normalize_lang
    from .pipeline import build_method_options
    from .translate_test import method_needs_mt

    src_lang, tgt_lang = normalize_lang(src_lang, "src_lang"), normalize_lang(tgt_lang, "tgt_lang")
    projector = projector or Projector(model, mt=mt_options, translator=translator)
    method_opts = build_method_options(method, method_options) if isinstance(method, str) else None
    reading = dict(read_options or {})
    source = list(read(src, lang=src_lang, **reading).examples())
    target = list(read(tgt, lang=tgt_lang, **reading).examples())
    if len(source) != len(target):
        raise InputError(f"{len(source)} source sentences but {len(target)} target sentences: the files must be "
                         f"sentence-aligned", path=tgt)
    if limit is not None:
        source, target = source[:limit], target[:limit]
    needs_mt = projector.fixed_translator is not None or projector.mt.model is not None or method_needs_mt(method)
    mt = projector.translator(src_lang, tgt_lang) if needs_mt else None
    meth = projector.method(method, method_opts, translator=mt)
    predicted: list[set[tuple[int, int, str]]] = []
    gold: list[set[tuple[int, int, str]]] = []
    status: Counter[str] = Counter()
    for tgt_ex, result in zip(target, project_examples(source, meth, src_lang, tgt_lang, templates=target)):
        chunks: set[tuple[int, int, str]] = set()
        for p in result.spans:
            status[p.status] += 1
            if p.target is not None:
                chunk = snap_span(p.target, tgt_ex.tokens, Snap.EXPAND)
                if chunk is not None:
                    chunks.add((chunk.start, chunk.end, chunk.label))
        predicted.append(chunks)
        gold.append({(c.start, c.end, c.label) for s in tgt_ex.spans
                     if (c := snap_span(s, tgt_ex.tokens, Snap.STRICT)) is not None})
    scores = span_scores(predicted, gold)
    return {**scores, "examples": len(source), "status": dict(status), "method": meth.signature()}


def evaluate_alignment(text: str | Path, gold: str | Path | None = None, *, aligner: str = "embedding",
                       aligner_options: dict[str, Any] | None = None, limit: int | None = None) -> dict[str, Any]:
    """Align the gold file's sentence pairs with ``aligner`` and score the links (AER, P, R, F1)."""
    from alignment import get_aligner
    from alignment.evaluate import alignment_scores, read_gold

    pairs = read_gold(text, gold)
    if limit is not None:
        pairs = pairs[:limit]
    if not pairs:
        raise InputError("no sentence pairs in the gold file", path=text)
    al = get_aligner(aligner, **dict(aligner_options or {}))
    results = al.align([p.src for p in pairs], [p.tgt for p in pairs])
    scores = alignment_scores([r.links for r in results], [p.sure for p in pairs], [p.possible for p in pairs])
    return {**scores, "pairs": len(pairs), "aligner": aligner}

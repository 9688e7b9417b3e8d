"""Projection through word alignment, batch-wise, and its evaluation on parallel gold data.

These helpers join an aligner and the span heuristics; they are what projector's ``align`` method and
``evaluate-projection`` command call. Works in translate-train (target = machine translation) and in
template mode (target = a given sentence, e.g. a human translation).
"""

from __future__ import annotations

import glob
import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Aligner, AlignmentResult
from .evaluate import GoldPair, alignment_scores, span_scores
from .heuristics import ProjectedSpan, SpanOptions, project_spans

__all__ = ["project_batch", "evaluate_projection", "evaluate_aligner", "extra_text_files", "default_aligner",
           "DEFAULT_SPAN_OPTIONS", "BEST_CONFIG"]

logger = logging.getLogger("projector.alignment")

#: The span heuristics chosen on Europarl en->de/es/it (see benchmarks/projection_quality.py).
DEFAULT_SPAN_OPTIONS = SpanOptions(gap_fill=3, gap_rule="any", keep="largest", conflict="score", trim_punct=True,
                                   copy_match=True, trim_case=True)

def project_batch(aligner: Aligner | None, src_tokens: Sequence[Sequence[str]],
                  src_spans: Sequence[Sequence[tuple[int, int, str]]], tgt_tokens: Sequence[Sequence[str]], *,
                  links: Sequence[AlignmentResult] | None = None,
                  options: SpanOptions | None = None) -> list[list[ProjectedSpan]]:
    """Align the batch (or use precomputed ``links``) and project each sentence's spans."""
    if links is None:
        if aligner is None:
            from projector.errors import ConfigError

            raise ConfigError("project_batch needs an aligner or precomputed links")
        links = aligner.align(src_tokens, tgt_tokens)
    return [project_spans(spans, res, tgt, src_tokens=src, options=options)
            for src, spans, res, tgt in zip(src_tokens, src_spans, links, tgt_tokens)]


def evaluate_projection(src_tokens: Sequence[Sequence[str]], src_spans: Sequence[Sequence[tuple[int, int, str]]],
                        tgt_tokens: Sequence[Sequence[str]], tgt_spans: Sequence[Sequence[tuple[int, int, str]]],
                        aligner: Aligner | None = None, *, links: Sequence[AlignmentResult] | None = None,
                        options: SpanOptions | None = None) -> dict[str, Any]:
    """Template-mode projection F1: project source gold spans onto the given target sentences.

    Returns :func:`alignment.evaluate.span_scores` (exact span + label, overall and ``per_label``)
    plus ``status`` counts of the projections.
    """
    projected = project_batch(aligner, src_tokens, src_spans, tgt_tokens, links=links, options=options)
    predicted = [[(p.target[0], p.target[1], p.label) for p in sent if p.target is not None] for sent in projected]
    scores = span_scores(predicted, tgt_spans)
    scores["status"] = dict(Counter(p.status for sent in projected for p in sent))
    return scores


def evaluate_aligner(aligner: Aligner, gold: Sequence[GoldPair], batch_size: int = 1000) -> dict[str, float]:
    """AER, precision, recall and F1 of ``aligner`` on gold pairs (see :mod:`alignment.evaluate`).

    The pairs are aligned in batches of ``batch_size`` (eflomal estimates from each whole batch).
    """
    predicted: list[frozenset[tuple[int, int]]] = []
    for k in range(0, len(gold), batch_size):
        chunk = gold[k:k + batch_size]
        predicted += [r.links for r in aligner.align([p.src for p in chunk], [p.tgt for p in chunk])]
    return alignment_scores(predicted, [p.sure for p in gold], [p.possible for p in gold])


def extra_text_files(root: str | os.PathLike[str], src_lang: str, tgt_lang: str) -> list[tuple[str, str]]:
    """Line-aligned (source, target) files for ``src_lang``-``tgt_lang`` in an MT test-set folder.

    ``root`` is laid out as ``../shared/data/mt-testsets``: ``testsets/eng-deu/NAME.eng`` and
    ``NAME.deu``. Older Tatoeba releases (which repeat the newest) are skipped.
    """
    from projector.langs import alpha3

    s3, t3 = alpha3(src_lang), alpha3(tgt_lang)
    pairs = []
    for folder, a, b in ((f"{s3}-{t3}", s3, t3), (f"{t3}-{s3}", s3, t3)):
        for src in sorted(glob.glob(str(Path(root) / "testsets" / folder / f"*.{a}"))):
            tgt = src[: -len(a)] + b
            if os.path.exists(tgt):
                pairs.append((src, tgt))
    tatoeba = sorted(p for p in pairs if "tatoeba" in Path(p[0]).name)
    return [p for p in pairs if "tatoeba" not in Path(p[0]).name or p == tatoeba[-1]]


def default_aligner(encoder: str, *, src_lang: str | None = None, tgt_lang: str | None = None,
                    extra_text_root: str | os.PathLike[str] | None = None, mode: str = "exact",
                    layer: int | None = None, **embedding_options: Any) -> Aligner:
    """The best configuration of ``benchmarks/projection_quality.py`` (:data:`BEST_CONFIG`) on ``encoder``.

    A vote (2 of 3) of itermax on the encoder's layer 8 twice, on its pieces and on each word's average
    piece vector (one encoder pass: the views share it), and eflomal grow-diag-final-and. The two
    embedding members err differently (the pieces link a compound to each word of a name; the word
    averages keep a word's suffix piece from linking a neighbour on its own), which a vote of two
    matchings of the same piece matrix (itermax and mwmf) does not. Where either language is written
    without spaces (:func:`projector.scripts.uses_spaces`) the second member is mwmf on the pieces
    instead (``BEST_CONFIG["embedding_unspaced"]``): there the "words" are a segmenter's guess or single
    characters, whose averages add little to the pieces (measured in ``benchmarks/projection_cjk.py``).
    When ``extra_text_root`` (a folder laid out as ``../shared/data/mt-testsets``) and both languages are
    given, eflomal also reads the extra parallel text there (see :func:`extra_text_files`). ``layer``
    overrides the layer (for encoders with fewer than 8 layers); other keywords go to
    :class:`~alignment.embedding.EmbeddingAligner`. Use it with :data:`DEFAULT_SPAN_OPTIONS`.
    """
    from projector.scripts import uses_spaces

    from . import get_aligner
    from .embedding import EmbeddingAligner
    from .ensemble import EnsembleAligner

    cfg = BEST_CONFIG
    spaced = uses_spaces(src_lang) and uses_spaces(tgt_lang)
    (first, first_type), *views = cfg["embedding" if spaced else "embedding_unspaced"]
    emb = get_aligner("embedding", model=encoder, layer=layer or cfg["layer"], method=first, mode=mode,
                      **{"token_type": first_type, **embedding_options})
    assert isinstance(emb, EmbeddingAligner)
    members: list[Aligner] = [emb]
    members += [emb.with_method(m, token_type=t) for m, t in views]
    extra: list[tuple[str, str]] = []
    if extra_text_root is not None and src_lang and tgt_lang:
        extra = extra_text_files(extra_text_root, src_lang, tgt_lang)
    members.append(get_aligner("eflomal", symmetrization=cfg["eflomal"], extra_files=extra,
                               extra_langs=(src_lang, tgt_lang)))
    return EnsembleAligner(members, method=cfg["ensemble"], threshold=cfg["threshold"])


#: The configuration chosen by ``benchmarks/projection_quality.py`` (one for de, es and it) and, for
#: scripts without spaces, ``benchmarks/projection_cjk.py`` (ja, zh).
BEST_CONFIG: dict[str, Any] = {
    "layer": 8,
    "embedding": (("itermax", "bpe"), ("itermax", "word")),  # (method, token_type) of each member
    "embedding_unspaced": (("itermax", "bpe"), ("mwmf", "bpe")),  # where either language has no spaces
    "eflomal": "grow-diag-final-and",
    "ensemble": "vote",
    "threshold": 0.5,
    "name": ("vote(e5-L8-itermax,e5-L8-word-itermax,eflomal-gdfa)"
             "|unspaced:vote(e5-L8-itermax,e5-L8-mwmf,eflomal-gdfa)"),
}

"""translate-test: label target-language data with an English model through translation.

1. Translate each target-language example into the pivot language (English by default).
2. Label the pivot text: a Hugging Face token-classification model, a spaCy pipeline, or the user's own
   model (``export`` writes the pivot side; ``predictions`` reads the labeled file back).
3. Project the predicted spans back onto the *original* sentences (template mode: codec with the original
   as template, or align).
4. Write the predictions in the input's format and, when the input has gold labels, score them with
   seqeval (per label and overall) on the original tokens.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .convert import Snap, spans_to_tags, tokenize
from .data import Example
from .errors import ConfigError, InputError
from .formats import Corpus, CorpusInfo, read, write
from .langs import normalize_lang
from .methods.base import ProjectionMethod
from .options import EngineOptions, MTOptions, Options
from .projection import project_examples
from .records import example_record
from .report import LanguageReport, Report
from .signature import run_signature

__all__ = ["translate_test", "TranslateTestResult", "seqeval_scores"]

logger = logging.getLogger("projector")


@dataclass
class TranslateTestResult:
    """Predictions on the original examples, their scores against gold (if any), and the report."""

    predictions: Corpus
    scores: dict[str, Any] | None
    report: Report
    exported: Path | None = None
    pivot: list[Example] = field(default_factory=list)
    #: the options that produced it (method; MT with what ``auto`` resolved to)
    method_options: Options | None = None
    mt_options: MTOptions | None = None


def seqeval_scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, Any]:
    """Entity-level precision/recall/F1 (seqeval, conlleval-style) overall and per label."""
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    per_label = classification_report(gold, predicted, output_dict=True, zero_division=0)
    labels = {k: {m: round(float(v[m]), 4) for m in ("precision", "recall", "f1-score", "support")}
              for k, v in per_label.items() if not k.endswith("avg")}
    return {"precision": round(float(precision_score(gold, predicted, zero_division=0)), 4),
            "recall": round(float(recall_score(gold, predicted, zero_division=0)), 4),
            "f1": round(float(f1_score(gold, predicted, zero_division=0)), 4),
            "per_label": labels}


def _pivot_examples(corpus: Corpus, translator: Any, tgt_lang: str, pivot_lang: str) -> tuple[list[Example], Counter[str]]:
    """The pivot-language translation of every example (same ids; failures keep an empty text)."""
    originals = list(corpus.examples())
    results = translator.translate([ex.text for ex in originals], tgt_lang, pivot_lang)
    statuses: Counter[str] = Counter(r.status for r in results)
    pivot = [Example(id=ex.id, text=r.text, lang=pivot_lang, meta={"translation_status": r.status})
             for ex, r in zip(originals, results)]
    return pivot, statuses


def _read_predictions(path: str | Path, originals: list[Example], pivot_lang: str,
                      exported: list[Example] | None = None) -> list[Example]:
    """The user's labeled pivot file: one example per original example, in order (ids checked when
    present), each with the text that was exported (``exported``: the pivot side as ``export`` wrote it;
    spacing may differ, as when a CoNLL file is read back, but not a character): labels on edited text
    would land on the wrong words."""
    pred = list(read(path).examples())
    if len(pred) != len(originals):
        raise InputError(f"the predictions file has {len(pred)} examples but the input has {len(originals)}; "
                         f"label the file written by --export without adding or removing examples", path=path)
    for k, (p, o) in enumerate(zip(pred, originals)):
        if p.id not in (o.id, str(k)):
            raise InputError(f"example {k} of the predictions file has id {p.id!r} where the input has {o.id!r}",
                             path=path)
        if exported is not None and "".join(p.text.split()) != "".join(exported[k].text.split()):
            raise InputError(f"example {k} (id {p.id!r}) of the predictions file has the text {p.text[:60]!r} "
                             f"where --export wrote {exported[k].text[:60]!r}; label the exported text as it is "
                             f"(with the same model)", path=path)
    return [p.replace(lang=pivot_lang) for p in pred]


def _check_paths(corpus: Corpus, output: str | Path | None, output_format: str | None,
                 export: str | Path | None) -> None:
    """The output and export files can be written (and are not the input): checked before any work."""
    from .formats import output_format as format_of
    from .formats.base import check_output

    inputs = [corpus.info.source] if corpus.info.source else []
    for path, fmt in ((output, output_format), (export, "jsonl")):
        if path is not None:
            name = fmt or (corpus.info.format if corpus.info.format != "hf" else None) or format_of(path)
            check_output(path, folder=name == "hf", inputs=inputs)


def translate_test(
    input: str | Path | Corpus,
    *,
    tgt_lang: str,
    pivot_lang: str = "en",
    method: str | ProjectionMethod = "align",
    model: str | None = None,
    predictor: str | Any = None,
    predictions: str | Path | None = None,
    export: str | Path | None = None,
    output: str | Path | None = None,
    output_format: str | None = None,
    method_options: Options | Mapping[str, Any] | None = None,
    label_map: dict[str, str] | None = None,
    translator: Any = None,
    mt_options: MTOptions | Mapping[str, Any] | None = None,
    input_format: str | None = None,
    read_options: dict[str, Any] | None = None,
    cache: bool | str | Path = True,
    projector: Any = None,
    engine_options: EngineOptions | Mapping[str, Any] | None = None,
    engine: str | None = None,
    ray_address: str | None = None,
) -> TranslateTestResult:
    """Label ``input`` (in ``tgt_lang``) with a pivot-language predictor through translation.

    Exactly one of ``predictor`` (model id/path or spaCy pipeline), ``predictions`` (a labeled file of the
    pivot side written by ``export``) or ``export`` (write the pivot side and stop) is needed.
    ``method_options``, ``mt_options``, ``projector`` and ``engine_options`` (``engine=``, ``ray_address=``)
    are as for :func:`projector.translate_train`; with ``engine="ray"`` the translation and the projection
    back run on Ray Data actor pools, the predictor here.
    """
    from .api import Projector
    from .pipeline import build_method_options, fit_to_labels, mt_options_of

    if sum(x is not None for x in (predictor, predictions, export)) != 1:
        raise ConfigError("give exactly one of predictor, predictions or export")
    tgt_lang, pivot_lang = normalize_lang(tgt_lang, "tgt_lang"), normalize_lang(pivot_lang, "pivot_lang")
    projector = projector or Projector(model, mt=mt_options, translator=translator, cache=cache)
    mt_opts = projector.mt
    opts = build_method_options(method, method_options) if isinstance(method, str) else None
    corpus = input if isinstance(input, Corpus) else read(input, format=input_format, **dict(read_options or {}))
    originals = list(corpus.examples())
    if not originals:
        raise ConfigError(f"{corpus.info.source}: the dataset has no examples")
    opts = fit_to_labels(opts, corpus)  # the labels scored are the test data's
    mt = None
    translate_seconds = 0.0
    _check_paths(corpus, output, output_format, export)
    from .distributed import TestRun
    from .distributed import engine_options as _engine_options

    engine_opts = _engine_options(engine_options, engine=engine, ray_address=ray_address)
    on_ray = (TestRun(engine_opts, projector, method, opts, tgt_lang, pivot_lang,
                      with_mt=predictions is None or method_needs_mt(method)) if engine_opts.engine == "ray" else None)
    if predictions is not None:  # the exported side again (from the translation cache) to check the texts
        exported, _ = (on_ray.pivot(originals) if on_ray else
                       _pivot_examples(corpus, projector.translator(tgt_lang, pivot_lang), tgt_lang, pivot_lang))
        pivot = _read_predictions(predictions, originals, pivot_lang, exported)
        statuses: Counter[str] = Counter({"from predictions file": len(pivot)})
    else:
        mt = None if on_ray else projector.translator(tgt_lang, pivot_lang)
        start = time.perf_counter()
        pivot, statuses = on_ray.pivot(originals) if on_ray else _pivot_examples(corpus, mt, tgt_lang, pivot_lang)
        translate_seconds = time.perf_counter() - start
        if export is not None:
            exported = [p.replace(tokens=tuple(tokenize(p.text, pivot_lang))) for p in pivot]
            write(Corpus({"test": exported}, CorpusInfo(format="jsonl", source=corpus.info.source)), export)
            report = Report(signature="", config={"export": str(export)})
            return TranslateTestResult(Corpus({}, corpus.info), None, report, Path(export), exported)
        from .predictors import load_predictor

        pred = load_predictor(predictor, label_map=label_map) if isinstance(predictor, str) else predictor
        spans = pred.predict([p.text for p in pivot])
        pivot = [p.replace(spans=tuple(s)) for p, s in zip(pivot, spans)]
    if on_ray:  # what the workers load, described by one of them (the driver loads no model)
        ray_used, meth = on_ray.describe()
    else:
        if mt is None and method_needs_mt(method):
            mt = projector.translator(pivot_lang, tgt_lang)
        meth = projector.method(method, opts, translator=mt)
    gold_labels = {s.label for ex in originals for s in ex.spans}
    dropped_labels: Counter[str] = Counter()
    if gold_labels:  # predictor labels the dataset does not use cannot be right: drop and count them
        for k, p in enumerate(pivot):
            keep = tuple(s for s in p.spans if s.label in gold_labels)
            dropped_labels.update(s.label for s in p.spans if s.label not in gold_labels)
            pivot[k] = p.replace(spans=keep)
    lang_report = LanguageReport(tgt_lang)
    lang_report.translation_seconds = translate_seconds
    predicted: list[Example] = []
    records: list[dict[str, Any]] = []  # per-example records for the report page
    start = time.perf_counter()
    projected = (on_ray.project(pivot, originals) if on_ray else
                 project_examples(pivot, meth, pivot_lang, tgt_lang, templates=[o.text for o in originals]))
    for orig, result in zip(originals, projected):
        lang_report.add(result, split="test", kept=True)
        records.append(example_record(result, "test", True))
        predicted.append(orig.replace(spans=result.target.spans, events=(), span_meta=()))
    lang_report.projection_seconds = time.perf_counter() - start
    lang_report.translation_status.update(statuses)
    if dropped_labels:
        lang_report.output_losses.update({f"predicted label not in dataset: {k}": v for k, v in dropped_labels.items()})
    split = next(iter(corpus.splits))
    pred_corpus = Corpus({split: predicted}, corpus.info)
    scores = None
    if gold_labels:
        gold_tags, pred_tags = [], []
        for orig, pred_ex in zip(originals, predicted):
            tokens = list(orig.tokens) or tokenize(orig.text, tgt_lang)
            gold_tags.append(spans_to_tags(orig.spans, tokens, "iob2", Snap.EXPAND)[0])
            pred_tags.append(spans_to_tags(pred_ex.spans, tokens, "iob2", Snap.EXPAND)[0])
        scores = seqeval_scores(gold_tags, pred_tags)
    if output is not None:
        write(pred_corpus, output, format=output_format or (corpus.info.format if corpus.info.format != "hf" else None),
              snap="expand")
    used = ray_used if on_ray else mt_options_of(mt, mt_opts) if mt is not None else None
    signature = run_signature(task="translate-test", src_lang=tgt_lang, tgt_lang=pivot_lang, method=meth.signature(),
                              mt=used.signature() if used is not None else "none",
                              extra={"predictor": getattr(predictor, "name", predictor) if predictor else
                                     f"file:{predictions}", **({"engine": "ray"} if on_ray else {})})
    options = {"method": {"name": meth.name, **(meth.options.to_dict() if isinstance(getattr(meth, "options", None),
                                                                                   Options) else {})},
               "mt": used.key() if used is not None else None}
    report = Report(signature, {"tgt_lang": tgt_lang, "pivot_lang": pivot_lang, "source": corpus.info.source,
                                "options": options}, {tgt_lang: lang_report}, {"scores": scores} if scores else {})
    if output is not None:
        from .html_report import save_test_run

        save_test_run(output, report, records)
    return TranslateTestResult(pred_corpus, scores, report, None, pivot, getattr(meth, "options", None), used)


def method_needs_mt(method: Any) -> bool:
    """Whether projecting back needs a model (codec scores with one; align does not)."""
    name = method if isinstance(method, str) else getattr(method, "name", "")
    return name not in ("align", "alignment", "word-alignment")

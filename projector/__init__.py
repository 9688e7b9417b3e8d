"""projector: cross-lingual label projection for NER and event extraction.

Build training data for languages that have none (translate-train) and label target-language text
with English models (translate-test), by translating with CTranslate2 and projecting labeled spans
with constrained decoding (codec), markers or word alignment.
"""

from __future__ import annotations

from ._version import __version__
from .api import Projector
from .data import Argument, Event, Example, Span, Token
from .errors import ProjectorError
from .formats import Corpus, read, write
from .options import AlignOptions, CodecOptions, MarkersOptions, MTOptions
from .pipeline import translate_train
from .translate_test import translate_test

__all__ = [
    "AlignOptions",
    "Argument",
    "CodecOptions",
    "Corpus",
    "Event",
    "Example",
    "MTOptions",
    "MarkersOptions",
    "Projector",
    "ProjectorError",
    "Span",
    "Token",
    "__version__",
    "read",
    "translate_test",
    "translate_train",
    "write",
]

"""The public API is small, and importing it has no heavy side effects."""

from __future__ import annotations

import subprocess
import sys

import projector


def test_all_names_exist() -> None:
    assert set(projector.__all__) == {"Argument", "Corpus", "Event", "Example", "ProjectorError", "Span", "Token",
                                      "__version__", "read", "translate_test", "translate_train", "write",
                                      "Projector", "CodecOptions", "MarkersOptions", "AlignOptions", "MTOptions"}
    for name in projector.__all__:
        assert getattr(projector, name) is not None


def test_import_is_light_and_adds_no_log_handlers() -> None:
    code = ("import sys, logging, projector, mt_backends, alignment; "
            "heavy = [m for m in ('torch', 'transformers', 'ctranslate2', 'datasets', 'spacy', 'simalign', 'eflomal') "
            "if m in sys.modules]; "
            "print(heavy, logging.getLogger('projector').handlers)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] []"

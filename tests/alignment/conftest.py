"""Fixtures for the alignment tests: a tiny random BERT (offline) and the real e5 encoder (needs ../shared)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"

LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORDS = ["the", "house", "is", "big", "das", "haus", "ist", "gross", "a", "cat", "eine", "katze",
         "red", "rot", "blue", "blau", "and", "und", "dog", "hund", ".", ","]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason="../shared is absent")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 4-layer BertModel with a WordPiece tokenizer, saved as a transformers folder."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.mt.tiny_models import build_bert

    return build_bert(tmp_path_factory.mktemp("tiny-bert"), WORDS)


@pytest.fixture(scope="session")
def e5_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """multilingual-e5-small built by ../shared/tools/build_e5_encoder.py (skips without ../shared)."""
    tool = SHARED / "tools" / "build_e5_encoder.py"
    if not tool.exists():
        pytest.skip("../shared/tools/build_e5_encoder.py is absent")
    out = tmp_path_factory.mktemp("e5") / "e5"
    subprocess.run([sys.executable, str(tool), str(out)], check=True, capture_output=True)
    return out


def read_conll_tokens(path: Path, limit: int | None = None) -> list[tuple[list[str], list[str]]]:
    """``(tokens, IOB2 tags)`` of the first sentences of a CoNLL file, with projector's reader."""
    from projector import read
    from projector.convert import spans_to_tags

    examples = list(read(path, format="conll").examples())[:limit]
    return [(ex.words, spans_to_tags(ex.spans, ex.tokens)[0]) for ex in examples]

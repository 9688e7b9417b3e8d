"""Shared fixtures: paths, and ``../shared`` data (tests using it skip cleanly when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

# the tiny real MT models, registered once for the whole suite (built once per session)
pytest_plugins = ["tests.model_fixtures"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``, or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


# --------------------------------------------------------------------------- tiny real models for the pipeline

NER_WORDS = ["the", "house", "is", "big", "a", "cat", "red", "blue", "and", "dog", "in", "met", "saw", "."]
NAMES = [("Ana", "PER"), ("Rio", "LOC"), ("Bob", "PER"), ("Lima", "LOC"), ("Acme", "ORG"), ("Oslo", "LOC")]


def write_ner_conll(path: Path, n: int, seed: int = 0) -> Path:
    """A small random English NER file in CoNLL format (IOB2), deterministic for ``seed``."""
    import random

    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        for _ in range(rng.randint(3, 9)):
            if rng.random() < 0.3:
                name, label = rng.choice(NAMES)
                lines.append(f"{name} B-{label}")
                if rng.random() < 0.3:
                    lines.append(f"{rng.choice(NAMES)[0]} I-{label}")
            else:
                lines.append(f"{rng.choice(NER_WORDS)} O")
        lines.append(". O")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_marian(hf_models: dict[str, Path]) -> Path:
    """A tiny random Opus-MT style en->pt model (Hugging Face folder; converted to CTranslate2 on load)."""
    pytest.importorskip("torch")
    return hf_models["marian"]


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 4-layer BertModel with a WordPiece tokenizer, saved as a transformers folder."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.mt.tiny_models import build_bert

    return build_bert(tmp_path_factory.mktemp("tiny-encoder"), NER_WORDS, max_positions=128)


@pytest.fixture()
def projector_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private PROJECTOR_CACHE (conversions, translations) for one test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("PROJECTOR_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return root


@pytest.fixture(scope="session")
def tiny_nllb(hf_models: dict[str, Path]) -> Path:
    """A tiny random NLLB-style model (both directions between its languages)."""
    pytest.importorskip("torch")
    return hf_models["nllb"]

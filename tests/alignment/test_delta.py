"""Weight deltas (alignment.delta): low-rank differences, applied back, saved, and refused on other weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from alignment.delta import (  # noqa: E402
    apply_delta,
    delta_names,
    load_delta,
    low_rank_delta,
    save_delta,
    tensors_fingerprint,
)
from projector.errors import ModelError  # noqa: E402


def _pair(rank_of_change: int, seed: int = 0) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    base = {"w": torch.randn(40, 30, generator=g), "b": torch.randn(30, generator=g),
            "same": torch.randn(8, 8, generator=g)}
    change = torch.randn(40, rank_of_change, generator=g) @ torch.randn(rank_of_change, 30, generator=g)
    tuned = {"w": base["w"] + change, "b": base["b"] + 0.1, "same": base["same"].clone()}
    return base, tuned


@pytest.mark.parametrize(("true_rank", "kept", "exact"), [
    (2, 2, True),     # a change of rank 2 kept at rank 2: exact
    (2, 8, True),     # more directions than the change has: exact
    (8, 2, False),    # fewer: an approximation
    (8, 30, True),    # factors would not be smaller than the matrix: the whole difference
])
def test_low_rank_delta_rebuilds_the_tuned_weights(true_rank: int, kept: int, exact: bool) -> None:
    base, tuned = _pair(true_rank)
    delta = low_rank_delta(base, tuned, kept)
    assert delta_names(delta) == ["b", "w"]  # unchanged tensors are left out
    factored = "w@A" in delta
    assert factored == (kept * (40 + 30) < 40 * 30)
    if factored:
        assert tuple(delta["w@B"].shape) == (40, kept) and tuple(delta["w@A"].shape) == (kept, 30)
    rebuilt = apply_delta({k: v.clone() for k, v in base.items()}, delta)
    err = float((rebuilt["w"] - tuned["w"]).norm() / (tuned["w"] - base["w"]).norm())
    assert (err < 1e-4) == exact
    assert torch.allclose(rebuilt["b"], tuned["b"]) and torch.equal(rebuilt["same"], base["same"])


def test_the_kept_directions_are_the_strongest() -> None:
    base, tuned = _pair(8)
    errors = [float((apply_delta({k: v.clone() for k, v in base.items()}, low_rank_delta(base, tuned, r))["w"]
                     - tuned["w"]).norm()) for r in (1, 2, 4, 7)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0] / 2


@pytest.mark.parametrize(("state", "message"), [
    ({"b": torch.zeros(30)}, "'w', which these weights have not"),
    ({"w": torch.zeros(40, 31), "b": torch.zeros(30)}, "has shape (40, 30)"),
])
def test_apply_refuses_weights_that_do_not_fit(state: dict, message: str) -> None:
    delta = low_rank_delta(*_pair(2), 2)
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply_delta(state, delta)


def test_rank_and_names_are_checked() -> None:
    base, tuned = _pair(2)
    with pytest.raises(ModelError, match="rank=0"):
        low_rank_delta(base, tuned, 0)
    with pytest.raises(ModelError, match="'extra', which the base has not"):
        low_rank_delta(base, {**tuned, "extra": torch.zeros(2)}, 2)


def test_fingerprint_tells_weights_apart() -> None:
    base, tuned = _pair(2)
    assert tensors_fingerprint(base, ["w", "b"]) == tensors_fingerprint({k: v.clone() for k, v in base.items()},
                                                                        ["b", "w"])
    assert tensors_fingerprint(base, ["w"]) != tensors_fingerprint(tuned, ["w"])
    assert tensors_fingerprint(base, ["same"]) == tensors_fingerprint(tuned, ["same"])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    base, tuned = _pair(2)
    delta = low_rank_delta(base, tuned, 2)
    path = save_delta(tmp_path / "d" / "x.safetensors", delta, {"base_fingerprint": "abc"})
    assert [p.name for p in path.parent.iterdir()] == ["x.safetensors"]  # no temporary file left
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    loaded, meta = load_delta(path)
    assert meta == {"base_fingerprint": "abc"} and sorted(loaded) == sorted(delta)
    assert all(t.dtype == torch.float16 for t in loaded.values())
    rebuilt = apply_delta({k: v.clone() for k, v in base.items()}, loaded)
    assert float((rebuilt["w"] - tuned["w"]).abs().max()) < 1e-2  # float16 factors
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot read the weight delta"):
        load_delta(tmp_path / "bad.safetensors")

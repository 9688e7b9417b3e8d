"""Weight deltas: a fine-tuned encoder stored as its difference from the base, small enough to ship.

Fine-tuning moves each trained matrix of an encoder in few directions, so the difference from the base
is close to low rank. :func:`low_rank_delta` keeps the ``rank`` strongest singular directions of each
matrix's difference (``B @ A``; B is out x rank, A is rank x in, as LoRA stores them) and every other
tensor's whole difference; :func:`apply_delta` adds it back to the base's weights. :func:`save_delta` and
:func:`load_delta` keep it in a safetensors file whose metadata holds the fingerprint of the base
weights it was made against (:func:`tensors_fingerprint`), so it is never added to other weights.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from projector.errors import ModelError

__all__ = ["low_rank_delta", "apply_delta", "delta_names", "tensors_fingerprint", "save_delta", "load_delta"]

_A, _B = "@A", "@B"  # suffixes of the two factors of a matrix's low-rank difference


def low_rank_delta(base: Mapping[str, Any], tuned: Mapping[str, Any], rank: int) -> dict[str, Any]:
    """The difference ``tuned - base`` of every tensor that changed: matrices as two factors of at most
    ``rank`` directions (their exact difference when that is not smaller), other tensors whole."""
    import torch

    if rank < 1:
        raise ModelError(f"rank={rank}: must be at least 1")
    out: dict[str, Any] = {}
    for name in sorted(tuned):
        if name not in base:
            raise ModelError(f"the tuned weights have {name!r}, which the base has not")
        diff = tuned[name].float() - base[name].float()
        if not bool(torch.any(diff)):
            continue
        if diff.ndim == 2 and rank * sum(diff.shape) < diff.numel():
            u, s, vh = torch.linalg.svd(diff, full_matrices=False)
            out[name + _B] = (u[:, :rank] * s[:rank]).contiguous()
            out[name + _A] = vh[:rank].contiguous()
        else:
            out[name] = diff.contiguous()
    return out


def delta_names(delta: Mapping[str, Any]) -> list[str]:
    """The names of the base tensors ``delta`` changes."""
    return sorted({k[:-len(_A)] if k.endswith((_A, _B)) else k for k in delta})


def apply_delta(state: dict[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` (a state dict, changed in place and returned) plus ``delta``."""
    for name in delta_names(delta):
        if name not in state:
            raise ModelError(f"the delta changes {name!r}, which these weights have not")
        if name in delta:
            change = delta[name].float()
        else:
            change = delta[name + _B].float() @ delta[name + _A].float()
        if tuple(change.shape) != tuple(state[name].shape):
            raise ModelError(f"the delta of {name!r} has shape {tuple(change.shape)}, the weights "
                             f"{tuple(state[name].shape)}")
        state[name] = (state[name].float() + change).to(state[name].dtype)
    return state


def tensors_fingerprint(state: Mapping[str, Any], names: list[str]) -> str:
    """A hash of the float32 values of ``names`` in ``state``: equal exactly when those weights are."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode())
        digest.update(state[name].detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def save_delta(path: str | os.PathLike[str], delta: Mapping[str, Any], metadata: Mapping[str, str],
               dtype: str = "float16") -> Path:
    """Write ``delta`` (in ``dtype``) and its string ``metadata`` to a safetensors file, atomically."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.to(getattr(torch, dtype)).contiguous() for k, v in delta.items()}
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata=dict(metadata))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # safetensors writes 0600
    os.replace(tmp, path)
    return path


def load_delta(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors and the metadata of a delta written by :func:`save_delta`."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})  # noqa: SIM118
    except (OSError, ValueError, SafetensorError) as err:
        raise ModelError(f"cannot read the weight delta {path}: {err}") from err

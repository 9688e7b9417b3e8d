"""Import optional dependencies on use, failing with the ``pip install`` hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError


def require(module: str, extra: str | None = None, purpose: str | None = None,
            package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        root = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != root:
            raise  # the module exists but one of *its* imports is broken: show the real error
        raise MissingDependencyError(module, extra=extra, purpose=purpose, package=package) from exc

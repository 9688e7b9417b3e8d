"""Small lazy registries: one per kind of component (format, MT backend, aligner, method...).

Entries are ``"module:attribute"`` strings, so heavy imports happen only when a component is chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names (and aliases) to lazily imported objects."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._targets: dict[str, str | T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, target: str | T, *, aliases: tuple[str, ...] = ()) -> None:
        """Register ``target`` (an object, or ``"package.module:attr"``) under ``name``."""
        key = name.lower()
        self._targets[key] = target
        for alias in aliases:
            self._aliases[alias.lower()] = key

    def canonical(self, name: str) -> str:
        """The registered name for ``name`` or an alias; raises :class:`UnknownNameError`."""
        key = name.lower()
        key = self._aliases.get(key, key)
        if key not in self._targets:
            raise UnknownNameError(self.kind, name, self.names())
        return key

    def get(self, name: str) -> T:
        """The object registered under ``name`` (imported on first use)."""
        key = self.canonical(name)
        target = self._targets[key]
        if isinstance(target, str) and ":" in target:
            module, _, attr = target.partition(":")
            obj: Any = getattr(importlib.import_module(module), attr)
            self._targets[key] = obj
            return obj  # type: ignore[no-any-return]
        return target  # type: ignore[return-value]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._targets)

    def accepted(self) -> list[str]:
        """Every name and alias accepted, names first."""
        return [*self.names(), *sorted(self._aliases)]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.lower()
        return self._aliases.get(key, key) in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

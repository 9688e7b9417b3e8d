"""The exception hierarchy of projector.

Every error the library raises on purpose derives from :class:`ProjectorError`, so callers can catch
one class; the CLI turns these into one clear line and exit status 1. The library never calls
``sys.exit``. A failed *projection* is not an exception: it is data (a span status with a reason).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ProjectorError",
    "InputError",
    "FormatError",
    "OutputError",
    "ConfigError",
    "UnknownNameError",
    "UnsupportedLanguageError",
    "MissingDependencyError",
    "ModelError",
    "NotSupportedError",
]


class ProjectorError(Exception):
    """Root of every error projector raises on purpose."""


class InputError(ProjectorError):
    """Bad input data: names the file and, when known, the line (1-based)."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class FormatError(InputError):
    """Input that does not follow its format (ragged columns, bad JSON, spans outside the text...)."""


class OutputError(ProjectorError):
    """An output path that cannot be written (the input itself, a file where a folder goes, no
    permission, disk full...); names the path."""

    def __init__(self, message: str, *, path: str | Path) -> None:
        self.message = message
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class ConfigError(ProjectorError):
    """An invalid option or combination of options."""


class UnknownNameError(ConfigError):
    """An unknown component name (format, method, backend, aligner, split, column...).

    The message lists the available names, and close matches first.
    """

    def __init__(self, kind: str, name: str, available: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.available = sorted(available)
        close = _close_matches(name, self.available)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(self.available) if self.available else "(none)"
        super().__init__(f"unknown {kind} {name!r}.{hint} Available: {listing}")


class UnsupportedLanguageError(ConfigError):
    """A language a model (family) cannot handle; the message names close matches."""


class MissingDependencyError(ProjectorError, ImportError):
    """An optional dependency is needed for the chosen component; the message has the pip command."""

    def __init__(self, module: str, extra: str | None = None, purpose: str | None = None,
                 package: str | None = None) -> None:
        self.module = module
        self.extra = extra
        pip = f"pip install 'projector[{extra}]'" if extra else f"pip install {package or module}"
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"the optional dependency {module!r} is needed{what}: {pip}")


class ModelError(ProjectorError):
    """A model that cannot be found, downloaded, converted or loaded."""


class NotSupportedError(ProjectorError):
    """An operation the chosen component does not support (e.g. ``score`` on a translate-only backend)."""


def _close_matches(name: str, choices: list[str], limit: int = 3) -> list[str]:
    from difflib import get_close_matches

    lowered = {c.lower(): c for c in choices}
    return [lowered[m] for m in get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.6)]

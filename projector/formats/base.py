"""What every format shares: the corpus container, the format protocol, safe reading and atomic writing."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from ..data import Example
from ..errors import FormatError, InputError, OutputError, ProjectorError

__all__ = [
    "Corpus",
    "CorpusInfo",
    "Format",
    "atomic_file",
    "atomic_dir",
    "check_output",
    "umask",
    "read_lines",
    "split_from_filename",
]


@dataclass
class CorpusInfo:
    """Facts about a corpus that are not in its examples.

    Attributes:
        format: the format it was read from.
        source: the path or Hub id it was read from.
        scheme: the tag scheme of the source (``iob2``, ``iob1``, ``bioes``, ``bilou``, ``io``), if tagged.
        label_names: the tag vocabulary in its source order (Hugging Face ``ClassLabel`` names), if known.
        features: the source's Hugging Face features (``Features.to_dict()``), kept for the output.
        options: the reader options that matter for writing the format back (column layout, separator...).
    """

    format: str
    source: str = ""
    scheme: str | None = None
    label_names: tuple[str, ...] | None = None
    features: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Corpus:
    """Examples by split, plus what is known about them and counters of what reading did.

    ``stats`` counts repairs and losses (``tags_repaired``, ``spans_dropped_overlap``...) so nothing is
    changed silently; :func:`projector.formats.write` adds what writing did.
    """

    splits: dict[str, list[Example]]
    info: CorpusInfo
    stats: Counter[str] = field(default_factory=Counter)

    def examples(self) -> Iterator[Example]:
        """Every example of every split, in split order."""
        for examples in self.splits.values():
            yield from examples

    def __len__(self) -> int:
        return sum(len(v) for v in self.splits.values())


class Format(Protocol):
    """A dataset format: reads a path into a :class:`Corpus` and writes one back."""

    name: str
    #: file name endings (without dot) that select this format
    extensions: tuple[str, ...]

    def sniff(self, path: Path, head: str) -> bool:
        """True when ``head`` (the first few KB of the file) looks like this format."""
        ...

    def read(self, path: Path, *, split: str | None = None, encoding: str = "utf-8",
             **options: Any) -> Corpus:
        """Read ``path``; raises :class:`~projector.errors.InputError` naming file and line."""
        ...

    def write(self, corpus: Corpus, path: Path, *, split: str | None = None,
              **options: Any) -> Counter[str]:
        """Write ``corpus`` atomically to ``path``; returns counters of what could not be written as is."""
        ...


def read_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` without the line ending; undecodable bytes name their line."""
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, expected a file", path=path)
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise FormatError(
                    f"cannot decode byte {raw[exc.start:exc.start + 1]!r} at column {exc.start + 1} as "
                    f"{encoding} (use --encoding to choose another encoding)", path=path, line=number
                ) from None
            except LookupError:
                raise InputError(f"unknown encoding {encoding!r}", path=path) from None
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield number, line.rstrip("\r\n")


def json_lines(lines: Iterable[tuple[int, str]], path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` of JSON-lines input; blank lines are skipped, anything but an object
    is a :class:`FormatError` naming the line."""
    import json

    for number, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise FormatError(f"invalid JSON: {exc}", path=path, line=number) from None
        if not isinstance(obj, dict):
            raise FormatError(f"expected a JSON object, found {type(obj).__name__}", path=path, line=number)
        yield number, obj


def head_of(path: Path, size: int = 8192, max_line: int = 8 << 20) -> str:
    """The first ``size`` bytes of a file, extended to the end of the first line (up to ``max_line``
    bytes: a JSON-lines document can be long), decoded leniently, for format sniffing."""
    with open(path, "rb") as fh:
        data = fh.read(size)
        while b"\n" not in data and len(data) < max_line:
            more = fh.read(1 << 16)
            if not more:
                break
            data += more
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")  # a BOM is not content


_SPLIT_PATTERNS = [
    (re.compile(r"train", re.I), "train"),
    (re.compile(r"dev|valid|testa", re.I), "validation"),
    (re.compile(r"test", re.I), "test"),
]


def split_from_filename(path: Path) -> str:
    """A split name guessed from a file name (``train``, ``validation``, ``test``; ``train`` if unsure)."""
    name = path.name
    for pattern, split in _SPLIT_PATTERNS:
        if pattern.search(name):
            return split
    return "train"


def umask() -> int:
    """The process umask (read without changing it where /proc tells it; else set and restored)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain_mode(directory: bool) -> int:
    """The mode a plain ``open()`` (0666) or ``mkdir()`` (0777) gives under the umask."""
    return (0o777 if directory else 0o666) & ~umask()


def _remove_stale(path: Path) -> None:
    """Remove what an interrupted atomic write of ``path`` left beside it (``.NAME.*.tmp``,
    ``.NAME.old-PID``): a process killed during the final write cannot clean up after itself."""
    parent = path.parent
    if not parent.is_dir():
        return
    for stale in [*parent.glob(f".{glob_escape(path.name)}.*.tmp"), *parent.glob(f".{glob_escape(path.name)}.old-*")]:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    import glob

    return glob.escape(name)


def _mkdir_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError("cannot create the folder: a file of that name is in the way", path=path.parent) from None
    except OSError as exc:
        raise OutputError(f"cannot create the folder ({exc.strerror})", path=path.parent) from None


@contextlib.contextmanager
def atomic_file(path: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` only on success.

    The result has the permissions a plain ``open()`` gives under the umask (not ``mkstemp``'s
    0600); leftovers of an earlier interrupted write of ``path`` are removed first. OS errors
    (permission, disk full, a folder in the way) are :class:`~projector.errors.OutputError`.
    """
    _mkdir_parent(path)
    if path.is_dir():
        raise OutputError("is a folder; give a file name", path=path)
    _remove_stale(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", path=path) from None
    try:
        os.fchmod(fd, _plain_mode(False))
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ProjectorError):
            raise OutputError(f"cannot write ({exc.strerror or exc})", path=path) from None
        raise


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """A temporary directory beside ``path``; on success it replaces ``path`` (an existing one is removed).

    The folder ends with the permissions of a plain ``mkdir()`` under the umask (not ``mkdtemp``'s
    0700); leftovers of an earlier interrupted write are removed first; OS errors are
    :class:`~projector.errors.OutputError`.
    """
    _mkdir_parent(path)
    if path.exists() and not path.is_dir():
        raise OutputError("exists and is not a folder", path=path)
    _remove_stale(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", path=path) from None
    try:
        os.chmod(tmp, _plain_mode(True))
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, ProjectorError):
            raise OutputError(f"cannot write ({exc.strerror or exc})", path=path) from None
        raise


def check_output(path: str | Path, *, folder: bool, inputs: Iterable[str | Path] = (), whole: bool = True) -> Path:
    """Check, before any work, that ``path`` can be written: it is none of ``inputs`` (nor holds one,
    for a folder replaced ``whole``), a file goes where no folder is and a folder where no file is, and
    the nearest existing parent folder is writable. Raises :class:`~projector.errors.OutputError`."""
    p = Path(path)
    target = p.resolve()
    for src in inputs:
        s = Path(str(src))
        if not s.exists():
            continue
        s = s.resolve()
        if s == target or (folder and whole and target in s.parents):
            where = "is the input" if s == target else f"holds the input {src}"
            raise OutputError(f"{where}; writing there would overwrite it: choose another output", path=p)
    if p.exists():
        if folder and not p.is_dir():
            raise OutputError("exists and is a file; the output is a folder: choose another name", path=p)
        if not folder and p.is_dir():
            raise OutputError("is a folder; give a file name (or the hf format, which writes a dataset folder)", path=p)
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create it: {parent} is a file, not a folder", path=p)
    probe = target if target.exists() and folder else parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in {probe}: permission denied", path=p)
    return p


def only_split(corpus: Corpus, split: str | None, path: Path) -> list[tuple[str, list[Example]]]:
    """The splits to write into a single-file format: the one asked for, or all of them in order."""
    if split is None:
        return list(corpus.splits.items())
    if split not in corpus.splits:
        from ..errors import UnknownNameError

        raise UnknownNameError("split", split, corpus.splits)
    return [(split, corpus.splits[split])]

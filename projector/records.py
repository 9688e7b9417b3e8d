"""Per-example projection records: what the HTML report shows, kept out of the dataset folders.

A record is a small JSON object per projected example: its id, split and status, the source and target
texts, and for every entity span, event trigger and argument where it came from and where it landed
(status, reason, the method's score), plus the method's per-example figures. Records are written shard
by shard beside the checkpoint (``OUTPUT/.projector/<lang>/records/``), so a run never holds more than a
shard of them, a resumed run keeps the records of its finished shards, and ``OUTPUT/<lang>/`` holds only
the dataset. :func:`select_records` reads them back streaming and keeps a bounded sample.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .formats.base import atomic_file
from .methods.base import SpanProjection
from .projection import ProjectedExample

__all__ = ["RunFiles", "translate_train_files", "translate_test_files", "find_run_files", "example_record", "write_records",
           "read_records", "select_records", "is_problem", "Selection", "text_direction", "DEFAULT_LIMIT"]

#: how many examples of a language the report page holds at most (problem examples first)
DEFAULT_LIMIT = 5000
#: the longest string figure of a method kept in a record (longer ones are cut)
_MAX_FIGURE_CHARS = 500
_RECORDS = "records"


@dataclass(frozen=True)
class RunFiles:
    """Where a run keeps its report, its page and the per-example records of each language."""

    report_json: Path
    report_html: Path
    state: Path
    #: the output's name (the page's title)
    name: str = ""

    def records(self, lang: str) -> Path:
        """The folder of the record shards of ``lang``."""
        return self.state / lang / _RECORDS


def translate_train_files(output: str | Path) -> RunFiles:
    """A translate-train output folder: ``report.json``, ``report.html``, records under ``.projector/``
    (the checkpoint folder: ``OUTPUT/<lang>/`` keeps only the dataset)."""
    out = Path(output)
    return RunFiles(out / "report.json", out / "report.html", out / ".projector", out.resolve().name)


def translate_test_files(output: str | Path) -> RunFiles:
    """A translate-test prediction file or folder ``DIR/NAME.EXT``: ``DIR/NAME.report.json`` and
    ``DIR/NAME.report.html`` beside it, records under ``DIR/.projector/NAME.EXT.translate-test/``."""
    out = Path(output)
    stem = out.name.split(".")[0] or out.name
    return RunFiles(out.with_name(f"{stem}.report.json"), out.with_name(f"{stem}.report.html"),
                    out.parent / ".projector" / f"{out.name}.translate-test", out.name)


def find_run_files(output: str | Path) -> RunFiles:
    """The files of an existing run: a translate-train folder, else a translate-test output."""
    for files in (translate_train_files(output), translate_test_files(output)):
        if files.report_json.is_file():
            return files
    raise InputError(f"no projector report here: expected {translate_train_files(output).report_json} "
                     f"(translate-train) or {translate_test_files(output).report_json} (translate-test)", path=output)


def _projection(p: SpanProjection) -> dict[str, Any]:
    d: dict[str, Any] = {"s": p.source.start, "e": p.source.end, "l": p.source.label, "st": p.status}
    if p.target is not None:
        d["ts"], d["te"] = p.target.start, p.target.end
    if p.reason:
        d["r"] = p.reason
    if p.score is not None:
        d["sc"] = round(float(p.score), 4)
    return d


def _figure(value: Any) -> Any:
    """A method figure as JSON (long strings cut, nested containers summarised), or ``None`` to drop it."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, str):
        return value if len(value) <= _MAX_FIGURE_CHARS else value[:_MAX_FIGURE_CHARS] + "…"
    if isinstance(value, (list, tuple)) and len(value) <= 50:
        items = [_figure(v) for v in value]
        return None if any(f is None and v is not None for f, v in zip(items, value)) else items
    return None


def example_record(result: ProjectedExample, split: str, kept: bool) -> dict[str, Any]:
    """The record of one projected example (``kept``: whether it is in the output)."""
    src, out = result.source, result.output
    events = []
    for ev, trigger, args in zip(src.events, result.triggers, result.arguments):
        arguments = []
        for arg, p in zip(ev.arguments, args):
            a = {**_projection(p), "role": arg.role}
            if arg.entity is not None:
                a["ent"] = arg.entity
            arguments.append(a)
        events.append({"type": ev.type, "tr": _projection(trigger), "args": arguments})
    info = {k: f for k, v in out.info.items() if (f := _figure(v)) is not None and f != out.text}
    record: dict[str, Any] = {"id": src.id, "split": split, "status": result.status, "kept": kept,
                              "src": src.text, "tgt": out.text,
                              "spans": [_projection(p) for p in result.spans]}
    if events:
        record["events"] = events
    if out.status != "ok" or out.reason:
        record["mt"] = {"status": out.status, "reason": out.reason}
    if info:
        record["info"] = info
    return record


def write_records(folder: Path, split_no: int, shard: int, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write the records of one shard atomically (``split_no``: the split's position in the corpus)."""
    path = folder / f"{split_no:03d}-{shard:06d}.jsonl"
    with atomic_file(path) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def read_records(folder: Path) -> Iterator[dict[str, Any]]:
    """Every record under ``folder``, in run order (splits in corpus order, shards in order), streaming."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def is_problem(record: Mapping[str, Any]) -> bool:
    """Whether an example needs a look: not fully projected, dropped, or with a fuzzy span."""
    if record.get("status") not in ("projected", "unlabeled") or not record.get("kept", True):
        return True
    spans = list(record.get("spans", ()))
    for ev in record.get("events", ()):
        spans += [ev["tr"], *ev["args"]]
    return any(p.get("st") != "projected" for p in spans)


@dataclass
class Selection:
    """The records of one language that a page shows (at most ``limit``), and how many there were."""

    records: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    problems: int = 0


def select_records(records: Iterable[dict[str, Any]], limit: int = DEFAULT_LIMIT) -> Selection:
    """Keep at most ``limit`` records, examples that need a look first, in run order (streaming: memory
    stays bounded by ``limit`` however many records there are)."""
    picked: list[tuple[int, dict[str, Any]]] = []
    clean: list[tuple[int, dict[str, Any]]] = []
    selection = Selection()
    for n, record in enumerate(records):
        selection.total += 1
        if is_problem(record):
            selection.problems += 1
            if len(picked) < limit:
                picked.append((n, record))
                if len(picked) + len(clean) > limit:
                    clean.pop()
        elif len(picked) + len(clean) < limit:
            clean.append((n, record))
    selection.records = [r for _, r in sorted(picked + clean, key=lambda item: item[0])]
    return selection


_RTL_CLASSES = frozenset({"R", "AL"})
_LTR_CLASSES = frozenset({"L"})


def text_direction(text: str) -> str:
    """``rtl`` when most strongly directional characters of ``text`` are right-to-left, else ``ltr``."""
    rtl = ltr = 0
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        rtl += bidi in _RTL_CLASSES
        ltr += bidi in _LTR_CLASSES
    return "rtl" if rtl > ltr else "ltr"

"""Checkpointed shards of a long run, so an interrupted run (even ``kill -9``) resumes exactly.

The examples of each split are cut into fixed shards in input order. A finished shard is written
atomically as one JSON-lines file: the kept target examples, then a last line with the shard's report.
A rerun with the same configuration (its fingerprint) skips finished shards; a shard that was being
written when the process died does not exist yet, so it is redone whole: no loss, no duplicate.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .data import Example
from .errors import ConfigError
from .formats.base import atomic_file
from .formats.jsonl import example_from_dict, example_to_dict
from .report import LanguageReport

__all__ = ["ShardStore", "ShardedExamples", "fingerprint_of"]

_REPORT_KEY = "__shard_report__"


def fingerprint_of(config: dict[str, Any]) -> str:
    """A stable hash of a run configuration (JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ShardStore:
    """The shards of one target language of a run, under ``root`` (``OUTPUT/.projector/<lang>``)."""

    def __init__(self, root: Path, config: dict[str, Any], *, overwrite: bool = False) -> None:
        self.root = root
        self.config = config
        self.fingerprint = fingerprint_of(config)
        run_file = root / "run.json"
        if run_file.exists():
            previous = json.loads(run_file.read_text(encoding="utf-8"))
            if previous.get("fingerprint") != self.fingerprint:
                if not overwrite:
                    changed = sorted(k for k in set(previous.get("config", {})) | set(config)
                                     if previous.get("config", {}).get(k) != json.loads(json.dumps(config, default=str)).get(k))
                    raise ConfigError(f"{root.parent.parent} holds an earlier run with another configuration "
                                      f"(changed: {', '.join(changed) or 'unknown'}); use another output "
                                      f"folder, or overwrite=True to start again")
                shutil.rmtree(root)
        # nothing is written before the first shard is finished: a run rejected before it (a language
        # the model does not have, a bad option found late) leaves no checkpoint folder behind
        self._started = run_file.exists()

    def _start(self) -> None:
        """Create the run's folder and ``run.json`` with the first finished shard."""
        if self._started:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.root / "run.json") as fh:
            json.dump({"fingerprint": self.fingerprint, "config": self.config}, fh, indent=1, default=str)
        self._started = True

    def path(self, split: str, index: int) -> Path:
        """The file of shard ``index`` of ``split``."""
        return self.root / split / f"shard-{index:06d}.jsonl"

    def done(self, split: str, index: int) -> bool:
        """True when the shard was finished (it is written atomically) by this run's configuration."""
        return self._started and self.path(split, index).exists()

    def save(self, split: str, index: int, examples: Sequence[Example], report: LanguageReport) -> None:
        """Write a finished shard atomically (the run's folder and ``run.json`` with the first one)."""
        self._start()
        with atomic_file(self.path(split, index)) as fh:
            for ex in examples:
                fh.write(json.dumps(example_to_dict(ex), ensure_ascii=False) + "\n")
            fh.write(json.dumps({_REPORT_KEY: report.to_dict()}, ensure_ascii=False) + "\n")

    def load_report(self, split: str, index: int) -> LanguageReport:
        """The report of a finished shard."""
        with open(self.path(split, index), encoding="utf-8") as fh:
            last = None
            for line in fh:
                last = line
        obj = json.loads(last or "{}")
        if _REPORT_KEY not in obj:
            raise ConfigError(f"{self.path(split, index)} is damaged (no report line); delete it to redo the shard")
        return LanguageReport.from_dict(obj[_REPORT_KEY])

    def examples(self, split: str, index: int) -> Iterator[Example]:
        """The kept examples of a finished shard, in order."""
        with open(self.path(split, index), encoding="utf-8") as fh:
            for line in fh:
                obj = json.loads(line)
                if _REPORT_KEY in obj:
                    return
                yield example_from_dict(obj)[0]


class ShardedExamples:
    """The examples of one split, read lazily from its finished shards (re-iterable, with ``len``)."""

    def __init__(self, store: ShardStore, split: str, n_shards: int, n_examples: int) -> None:
        self.store = store
        self.split = split
        self.n_shards = n_shards
        self.n_examples = n_examples

    def __iter__(self) -> Iterator[Example]:
        for k in range(self.n_shards):
            yield from self.store.examples(self.split, k)

    def __len__(self) -> int:
        return self.n_examples

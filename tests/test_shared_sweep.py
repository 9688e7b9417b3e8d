"""Every NER and event file of ../shared/data parses with zero errors and round-trips (skipped without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from projector import read, write
from projector.formats import corpus_stats, detect_format

from .conftest import SHARED_DATA

_PATTERNS = ["conll2002/conll2002/*.test?", "conll2002/conll2002/*.train", "europarl-ner/*.conll02",
             "masakhaner/MasakhaNER2.0/data/*/*.txt", "masakhaner/data/*/*.txt", "eae/wikievents/*.jsonl",
             "eae/rams/*.jsonlines"]
FILES = sorted(p for pat in _PATTERNS for p in SHARED_DATA.glob(pat)) if SHARED_DATA.is_dir() else []
_EXT = {"conll": ".conll", "rams": ".jsonlines", "wikievents": ".jsonl", "ace": ".json", "jsonl": ".jsonl"}


@pytest.mark.shared
@pytest.mark.skipif(not FILES, reason="../shared/data is not beside the project")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SHARED_DATA)))
def test_shared_file_parses_and_roundtrips(path: Path, tmp_path: Path) -> None:
    fmt = detect_format(path)
    expected = "conll" if path.suffix not in (".jsonl", ".jsonlines") else {".jsonl": "wikievents"}.get(path.suffix, "rams")
    assert fmt == expected
    corpus = read(path)
    figures = corpus_stats(corpus)
    assert figures["errors"] == 0 and figures["examples"] > 0
    assert figures["spans"] > 0
    out = tmp_path / f"out{_EXT[fmt]}"
    write(corpus, out, format=fmt)
    split = next(iter(corpus.splits))
    again = read(out, format=fmt, split=split)
    assert again.splits[split] == corpus.splits[split]


@pytest.mark.shared
def test_masakhaner_to_hf_and_back(shared_data: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    src = shared_data / "masakhaner/MasakhaNER2.0/data/swa/test.txt"
    write(read(src), tmp_path / "OUT")
    loaded = datasets.load_dataset(str(tmp_path / "OUT"))
    assert isinstance(loaded["test"].features["ner_tags"].feature, datasets.ClassLabel)
    write(read(tmp_path / "OUT"), tmp_path / "back.conll")
    original = [line.split() for line in src.read_text(encoding="utf-8").splitlines()]
    back = [line.split() for line in (tmp_path / "back.conll").read_text(encoding="utf-8").splitlines()]
    assert [r[0] for r in back if r] == [r[0] for r in original if r]
    differing = [(a, b) for a, b in zip([r for r in original if r], [r for r in back if r]) if a != b]
    # the only differences are counted repairs of invalid I- tags (conlleval rule: I- after O starts a span)
    assert len(differing) == read(src).stats["tags_repaired"]
    assert all(a[1].startswith("I-") and b[1] == "B-" + a[1][2:] for a, b in differing)

"""Evaluation: gold word alignments (two formats), AER/precision/recall/F1, projection span F1.

Gold formats (as in ``../shared/data/word-alignment-gold``):

* *Pharaoh*: a text file ``X.src-tgt`` with ``source ||| target`` lines and a gold file ``X.gold``
  with 1-indexed links per line, ``i-j`` sure and ``ipj`` possible (``zero_based=True`` for 0-indexed
  files);
* *JSONL*: one object per line with ``src_words``, ``tgt_words`` and ``alignment`` (0-indexed
  ``[i, j]`` pairs, all sure; optional ``possible``; an index -1 marks a word aligned to NULL and
  is dropped).

Every reader raises :class:`projector.errors.InputError` naming the file and line of a bad line.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .base import Link

logger = logging.getLogger("projector.alignment")

__all__ = [
    "GoldPair",
    "read_pharaoh_gold",
    "read_jsonl_gold",
    "read_gold",
    "alignment_scores",
    "span_scores",
    "iob_to_spans",
]


@dataclass
class GoldPair:
    """One gold-aligned sentence pair: tokens, sure links and possible links (``possible`` ⊇ ``sure``)."""

    src: list[str]
    tgt: list[str]
    sure: set[Link]
    possible: set[Link] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.possible = set(self.possible) | set(self.sure)


def _parse_gold_line(line: str, offset: int, path: Path, lineno: int) -> tuple[set[Link], set[Link]]:
    from projector.errors import InputError

    sure: set[Link] = set()
    possible: set[Link] = set()
    for item in line.split():
        sep = "p" if "p" in item else "-"
        left, _, right = item.partition(sep)
        try:
            link = (int(left) - offset, int(right) - offset)
        except ValueError:
            raise InputError(f"bad alignment link {item!r} (expected i-j or ipj)", path=path, line=lineno) from None
        if link[0] < 0 or link[1] < 0:
            raise InputError(f"link {item!r} out of range for {'0' if offset == 0 else '1'}-indexed links",
                             path=path, line=lineno)
        (possible if sep == "p" else sure).add(link)
    return sure, possible


def _split(text: str) -> list[str]:
    """Split on ASCII spaces and tabs only: tokens may hold other Unicode spaces (U+3000 in ja-en)."""
    return [w for w in re.split(r"[ \t]+", text.strip(" \t\r\n")) if w]


def read_pharaoh_gold(text_path: str | os.PathLike[str], gold_path: str | os.PathLike[str], *,
                      zero_based: bool = False, skip_invalid: bool = False) -> list[GoldPair]:
    """Read ``source ||| target`` lines and their gold links (1-indexed unless ``zero_based``).

    With ``skip_invalid`` a pair with a link outside it is logged and skipped instead of raising.
    """
    from projector.errors import InputError

    tpath, gpath = Path(text_path), Path(gold_path)
    with open(tpath, encoding="utf-8") as ft:
        text_lines = ft.read().splitlines()
    with open(gpath, encoding="utf-8") as fg:
        gold_lines = fg.read().splitlines()
    if len(text_lines) != len(gold_lines):
        raise InputError(f"{len(gold_lines)} gold lines for {len(text_lines)} sentence pairs in {tpath}",
                         path=gpath)
    pairs = []
    for n, (tline, gline) in enumerate(zip(text_lines, gold_lines), start=1):
        if tline.count("|||") != 1:
            raise InputError("expected one 'source ||| target' separator", path=tpath, line=n)
        src, _, tgt = tline.partition("|||")
        pair = GoldPair(_split(src), _split(tgt), *_parse_gold_line(gline, 0 if zero_based else 1, gpath, n))
        if _links_in_range(pair, gpath, n, skip_invalid):
            pairs.append(pair)
    return pairs


def _links_in_range(pair: GoldPair, path: Path, line: int, skip_invalid: bool) -> bool:
    """True when every link lies inside the pair; otherwise raise :class:`InputError` naming the line, or
    (``skip_invalid``) log it and return False."""
    from projector.errors import InputError

    bad = next(((i, j) for i, j in pair.possible if not (0 <= i < len(pair.src) and 0 <= j < len(pair.tgt))), None)
    if bad is None:
        return True
    error = InputError(f"link {bad[0]}-{bad[1]} (0-indexed) outside the sentence pair "
                       f"({len(pair.src)} x {len(pair.tgt)} words)", path=path, line=line)
    if not skip_invalid:
        raise error
    logger.warning("skipped: %s", error)
    return False


def read_jsonl_gold(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> list[GoldPair]:
    """Read JSONL gold alignments (``src_words``, ``tgt_words``, 0-indexed ``alignment``).

    A line with a link outside its sentence pair raises :class:`~projector.errors.InputError`, or with
    ``skip_invalid`` is logged and skipped (some public gold files have a few such lines).
    """
    from projector.errors import InputError

    p = Path(path)
    pairs = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg}", path=p, line=n) from None
            try:
                src, tgt = [str(w) for w in obj["src_words"]], [str(w) for w in obj["tgt_words"]]
                sure = {(int(i), int(j)) for i, j in obj["alignment"]}
                possible = {(int(i), int(j)) for i, j in obj.get("possible", ())}
                sure = {(i, j) for i, j in sure if i >= 0 and j >= 0}  # -1: aligned to NULL
                possible = {(i, j) for i, j in possible if i >= 0 and j >= 0}
            except KeyError as exc:
                raise InputError(f"missing field {exc.args[0]!r}", path=p, line=n) from None
            except (TypeError, ValueError):
                raise InputError("alignment must be a list of [i, j] integer pairs", path=p, line=n) from None
            pair = GoldPair(src, tgt, sure, possible)
            if _links_in_range(pair, p, n, skip_invalid):
                pairs.append(pair)
    return pairs


def read_gold(path: str | os.PathLike[str], gold_path: str | os.PathLike[str] | None = None, *,
              skip_invalid: bool = False) -> list[GoldPair]:
    """Read gold alignments in either format: a ``.jsonl`` file, or a text file plus its gold file.

    For a Pharaoh text file ``X.src-tgt`` the gold file defaults to ``X.gold`` beside it.
    """
    from projector.errors import InputError

    p = Path(path)
    if p.suffix == ".jsonl":
        return read_jsonl_gold(p, skip_invalid=skip_invalid)
    gold = Path(gold_path) if gold_path is not None else p.with_suffix(".gold")
    if not gold.exists():
        raise InputError("no gold links file beside the text (expected .gold or give gold_path)", path=gold)
    return read_pharaoh_gold(p, gold, skip_invalid=skip_invalid)


def alignment_scores(predicted: Sequence[Iterable[Link]], sure: Sequence[Iterable[Link]],
                     possible: Sequence[Iterable[Link]] | None = None) -> dict[str, float]:
    """Corpus-level AER, precision, recall and F1 of predicted links against gold (Och & Ney, 2003).

    ``precision = |A ∩ P| / |A|``, ``recall = |A ∩ S| / |S|``,
    ``AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|)``, with ``P ⊇ S`` (``possible`` defaults to ``sure``).
    Also returns the counts.
    """
    from projector.errors import InputError

    if len(predicted) != len(sure) or (possible is not None and len(possible) != len(sure)):
        raise InputError(f"{len(predicted)} predicted alignments for {len(sure)} gold ones")
    n_a = n_s = a_s = a_p = 0
    for k, (a_links, s_links) in enumerate(zip(predicted, sure)):
        a, s = set(a_links), set(s_links)
        p = s | (set(possible[k]) if possible is not None else set())
        n_a += len(a)
        n_s += len(s)
        a_s += len(a & s)
        a_p += len(a & p)
    precision = a_p / n_a if n_a else 0.0
    recall = a_s / n_s if n_s else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    aer = 1.0 - (a_s + a_p) / (n_a + n_s) if n_a + n_s else 0.0
    return {"aer": aer, "precision": precision, "recall": recall, "f1": f1,
            "predicted": n_a, "sure": n_s, "matched_sure": a_s, "matched_possible": a_p}


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "predicted": n_pred, "gold": n_gold}


def span_scores(predicted: Sequence[Iterable[tuple[int, int, str]]],
                gold: Sequence[Iterable[tuple[int, int, str]]]) -> dict[str, object]:
    """Exact span + label precision/recall/F1 over sentences of ``(start, end_exclusive, label)`` spans.

    Returns ``{"precision", "recall", "f1", "tp", "predicted", "gold", "per_label": {label: {...}}}``.
    """
    from projector.errors import InputError

    if len(predicted) != len(gold):
        raise InputError(f"{len(predicted)} predicted sentences for {len(gold)} gold sentences")
    tp: dict[str, int] = {}
    n_pred: dict[str, int] = {}
    n_gold: dict[str, int] = {}
    for pred_spans, gold_spans in zip(predicted, gold):
        p, g = set(pred_spans), set(gold_spans)
        for _, _, label in p:
            n_pred[label] = n_pred.get(label, 0) + 1
        for _, _, label in g:
            n_gold[label] = n_gold.get(label, 0) + 1
        for _, _, label in p & g:
            tp[label] = tp.get(label, 0) + 1
    out: dict[str, object] = dict(_prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values())))
    labels = sorted(set(n_pred) | set(n_gold))
    out["per_label"] = {lab: _prf(tp.get(lab, 0), n_pred.get(lab, 0), n_gold.get(lab, 0)) for lab in labels}
    return out


def iob_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Tags in any scheme -> ``[(start, end_exclusive, label)]`` (scheme detected; a stray ``I-X`` starts a
    span): :func:`projector.convert.tags_to_chunks` on token indices."""
    from projector.convert import detect_scheme, tags_to_chunks

    chunks, _ = tags_to_chunks(list(tags), detect_scheme([list(tags)]))
    return [(c.start, c.end, c.label) for c in chunks]

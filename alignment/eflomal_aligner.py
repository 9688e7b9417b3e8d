"""Statistical word alignment with eflomal (Östling & Tiedemann, 2016), no neural model.

eflomal estimates its translation tables from the text it aligns, so a batch of a few hundred pairs
aligns poorly on its own: :class:`EflomalAligner` appends optional extra parallel text (any
line-aligned files, for instance MT test sets or Multi30k) to the batch, aligns everything together
and returns the links of the batch only, symmetrized (``intersection``, ``union``, ``grow-diag``,
``grow-diag-final``, ``grow-diag-final-and``).
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from .base import AlignmentResult, Link, check_batch
from .symmetrize import SYMMETRIZATIONS, symmetrize

__all__ = ["EflomalAligner", "read_parallel_files", "simple_tokenize", "parse_pharaoh"]

logger = logging.getLogger("projector.alignment")

_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)


def simple_tokenize(text: str) -> list[str]:
    """Split raw text into words and punctuation marks (for extra parallel text)."""
    return _TOKEN.findall(text)


def _open_text(path: str | os.PathLike[str]) -> Iterable[str]:
    p = Path(path)
    if p.suffix == ".gz":
        return gzip.open(p, "rt", encoding="utf-8")
    return open(p, encoding="utf-8")


def read_parallel_files(src_path: str | os.PathLike[str], tgt_path: str | os.PathLike[str],
                        limit: int | None = None, tokenize: bool = True) -> list[tuple[list[str], list[str]]]:
    """Read line-aligned parallel text (plain or ``.gz``) as token-list pairs, skipping empty lines.

    Lines are split with :func:`simple_tokenize` (or on whitespace with ``tokenize=False``). Raises
    :class:`projector.errors.InputError` when the files differ in length.
    """
    from projector.errors import InputError

    split = simple_tokenize if tokenize else str.split
    pairs: list[tuple[list[str], list[str]]] = []
    with _open_text(src_path) as fs, _open_text(tgt_path) as ft:  # type: ignore[attr-defined]
        n = 0
        for s, t in zip(fs, ft):
            n += 1
            if limit is not None and len(pairs) >= limit:
                return pairs
            s_tok, t_tok = split(s), split(t)
            if s_tok and t_tok:
                pairs.append((s_tok, t_tok))
        extra_s, extra_t = next(fs, None), next(ft, None)
        if extra_s is not None or extra_t is not None:
            longer = Path(src_path if extra_s is not None else tgt_path)
            raise InputError(f"parallel files differ in length (the other ends after line {n})", path=longer,
                             line=n + 1)
    return pairs


def parse_pharaoh(line: str) -> set[Link]:
    """``"0-0 1-2"`` -> ``{(0, 0), (1, 2)}`` (``p`` for possible links is read as a link)."""
    links = set()
    for item in line.split():
        i, _, j = item.replace("p", "-").partition("-")
        links.add((int(i), int(j)))
    return links


def _clean(token: str) -> str:
    token = re.sub(r"\s+", "_", token)
    return token or "_"


class EflomalAligner:
    """eflomal on the batch plus optional extra parallel text, symmetrized.

    ``extra`` is extra parallel text as token-list pairs; ``extra_files`` pairs of line-aligned files
    (read with :func:`read_parallel_files`, at most ``extra_limit`` pairs per file pair). The remaining
    keywords are eflomal's (``model`` 1 = IBM1, 2 = HMM, 3 = HMM + fertility; ``n_iterations``,
    ``n_samplers``, ``null_prior``, ``rel_iterations``, ``source_prefix_len``...).
    """

    name = "eflomal"

    def __init__(self, symmetrization: str = "grow-diag-final-and", *,
                 extra: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
                 extra_files: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]] = (),
                 extra_limit: int | None = None, model: int = 3, n_iterations: tuple[int, int, int] | None = None,
                 n_samplers: int = 3, null_prior: float = 0.2, rel_iterations: float = 1.0,
                 source_prefix_len: int = 0, source_suffix_len: int = 0,
                 target_prefix_len: int = 0, target_suffix_len: int = 0) -> None:
        from projector._optional import require
        from projector.errors import UnknownNameError

        if symmetrization not in SYMMETRIZATIONS:
            raise UnknownNameError("symmetrization", symmetrization, SYMMETRIZATIONS)
        self._eflomal = require("eflomal", extra="align", purpose="the eflomal aligner")
        self.symmetrization = symmetrization
        self.extra: list[tuple[list[str], list[str]]] = [(list(s), list(t)) for s, t in (extra or ())]
        for src_path, tgt_path in extra_files:
            self.extra.extend(read_parallel_files(src_path, tgt_path, limit=extra_limit))
        if self.extra:
            logger.info("eflomal: %d extra parallel sentence pairs", len(self.extra))
        self.options = dict(model=model, n_iterations=n_iterations, n_samplers=n_samplers,
                            null_prior=null_prior, rel_iterations=rel_iterations,
                            source_prefix_len=source_prefix_len, source_suffix_len=source_suffix_len,
                            target_prefix_len=target_prefix_len, target_suffix_len=target_suffix_len)

    def align_directional(self, src_tokens_batch: Sequence[Sequence[str]],
                          tgt_tokens_batch: Sequence[Sequence[str]]) -> list[tuple[set[Link], set[Link]]]:
        """The forward and reverse links of each pair, before symmetrization."""
        src_batch, tgt_batch = check_batch(src_tokens_batch, tgt_tokens_batch)
        keep = [k for k, (s, t) in enumerate(zip(src_batch, tgt_batch)) if s and t]
        out: list[tuple[set[Link], set[Link]]] = [(set(), set()) for _ in src_batch]
        if not keep:
            return out
        src_lines = [" ".join(_clean(w) for w in src_batch[k]) for k in keep]
        tgt_lines = [" ".join(_clean(w) for w in tgt_batch[k]) for k in keep]
        src_lines += [" ".join(_clean(w) for w in s) for s, _ in self.extra]
        tgt_lines += [" ".join(_clean(w) for w in t) for _, t in self.extra]
        opts = dict(self.options)
        aligner_opts = {k: opts.pop(k) for k in list(opts) if k.endswith("_len")}
        aligner = self._eflomal.Aligner(**aligner_opts, **opts)
        with tempfile.TemporaryDirectory(prefix="projector-eflomal-") as tmp:
            fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")
            aligner.align(src_lines, tgt_lines, links_filename_fwd=fwd_path, links_filename_rev=rev_path,
                          quiet=not logger.isEnabledFor(logging.DEBUG))
            with open(fwd_path, encoding="utf-8") as ff, open(rev_path, encoding="utf-8") as fr:
                for k, fwd_line, rev_line in zip(keep, ff, fr):
                    out[k] = (parse_pharaoh(fwd_line), parse_pharaoh(rev_line))
        return out

    def align(self, src_tokens_batch: Sequence[Sequence[str]],
              tgt_tokens_batch: Sequence[Sequence[str]]) -> list[AlignmentResult]:
        """Align the batch (with the extra text) and symmetrize; links have no scores."""
        return [AlignmentResult(symmetrize(f, r, self.symmetrization))
                for f, r in self.align_directional(src_tokens_batch, tgt_tokens_batch)]

    def align_all(self, src_tokens_batch: Sequence[Sequence[str]], tgt_tokens_batch: Sequence[Sequence[str]],
                  symmetrizations: Sequence[str] = SYMMETRIZATIONS) -> dict[str, list[AlignmentResult]]:
        """Align once and symmetrize with each of ``symmetrizations``: name -> results."""
        directional = self.align_directional(src_tokens_batch, tgt_tokens_batch)
        return {m: [AlignmentResult(symmetrize(f, r, m)) for f, r in directional] for m in symmetrizations}

    def __repr__(self) -> str:
        return f"EflomalAligner({self.symmetrization!r}, extra={len(self.extra)} pairs)"

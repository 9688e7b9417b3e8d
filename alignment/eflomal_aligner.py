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
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .base import AlignmentResult, Link, check_batch
from .symmetrize import SYMMETRIZATIONS, symmetrize

__all__ = ["EflomalAligner", "read_parallel_files", "simple_tokenize", "text_words", "parse_pharaoh"]

logger = logging.getLogger("projector.alignment")

_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)


def simple_tokenize(text: str) -> list[str]:
    """Split raw text into words and punctuation marks (for extra parallel text of spaced scripts)."""
    return _TOKEN.findall(text)


def text_words(text: str, lang: str | None = None) -> list[str]:
    """The words of one line of extra parallel text: :func:`simple_tokenize`, or for a language written
    without spaces (``ja``, ``zh``, ``th``: :func:`projector.scripts.uses_spaces`) the words of its
    segmenter (:mod:`projector.segment`; characters when none is installed), as the batch's own words
    are cut, where ``simple_tokenize`` would keep a whole clause as one word."""
    return _splitter(lang)(text)


def _splitter(lang: str | None, tokenize: bool = True) -> Callable[[str], list[str]]:
    """The function :func:`text_words` applies for ``lang`` (whitespace splitting without ``tokenize``)."""
    from projector.scripts import uses_spaces

    if not tokenize:
        return str.split
    if uses_spaces(lang):
        return simple_tokenize
    from projector.segment import segmenter

    seg = segmenter(lang)
    return lambda line: [t.text for t in seg(line)]


def _open_text(path: str | os.PathLike[str]) -> Iterable[str]:
    p = Path(path)
    if p.suffix == ".gz":
        return gzip.open(p, "rt", encoding="utf-8")
    return open(p, encoding="utf-8")


def read_parallel_files(src_path: str | os.PathLike[str], tgt_path: str | os.PathLike[str],
                        limit: int | None = None, tokenize: bool = True,
                        langs: tuple[str | None, str | None] = (None, None)) -> list[tuple[list[str], list[str]]]:
    """Read line-aligned parallel text (plain or ``.gz``) as token-list pairs, skipping empty lines.

    Lines are split with :func:`text_words` in the language of their side (``langs``: source, target;
    ``None`` reads as a spaced script), or on whitespace with ``tokenize=False``. Raises
    :class:`projector.errors.InputError` when the files differ in length.
    """
    from projector.errors import InputError

    split_src, split_tgt = _splitter(langs[0], tokenize), _splitter(langs[1], tokenize)
    pairs: list[tuple[list[str], list[str]]] = []
    with _open_text(src_path) as fs, _open_text(tgt_path) as ft:  # type: ignore[attr-defined]
        n = 0
        for s, t in zip(fs, ft):
            n += 1
            if limit is not None and len(pairs) >= limit:
                return pairs
            s_tok, t_tok = split_src(s), split_tgt(t)
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


_URANDOM = b"/dev/urandom\0"
_SEED_FILE = b"eflomal.seed\0"  # the same length: the binary's string table keeps its layout


def _eflomal_binary() -> Path:
    import shutil

    import eflomal

    found = Path(eflomal.__file__).parent / "bin" / "eflomal"
    if found.is_file():
        return found
    other = shutil.which("eflomal")
    if other is None:
        from projector.errors import ModelError

        raise ModelError("the eflomal binary is not installed with the eflomal package: pip install --force-reinstall eflomal")
    return Path(other)


def seeded_binary(folder: Path, seed: int) -> Path:
    """A copy of the eflomal binary in ``folder`` that reads its random state from ``folder/eflomal.seed``
    (written here from ``seed``) instead of ``/dev/urandom``; run it with ``folder`` as working
    directory and one OpenMP thread, and its samplers are reproducible.

    eflomal has no seed option: it reads 8 bytes of ``/dev/urandom`` for its xorshift state. The copy
    differs from the original only in that path (same length). A binary without the path once (another
    build) is used as is, with a warning that its links vary from run to run.
    """
    original = _eflomal_binary()
    data = original.read_bytes()
    target = folder / "eflomal"
    if data.count(_URANDOM) != 1:
        logger.warning("eflomal: cannot seed %s (unexpected build): its alignments vary from run to run", original)
        return original
    target.write_bytes(data.replace(_URANDOM, _SEED_FILE))
    target.chmod(0o700)
    state = (seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % (1 << 64) or 1  # never 0 for xorshift
    (folder / _SEED_FILE[:-1].decode()).write_bytes(state.to_bytes(8, "little"))
    return target


def _clean(token: str) -> str:
    token = re.sub(r"\s+", "_", token)
    return token or "_"


class EflomalAligner:
    """eflomal on the batch plus optional extra parallel text, symmetrized.

    ``extra`` is extra parallel text as token-list pairs; ``extra_files`` pairs of line-aligned files
    (read with :func:`read_parallel_files`, at most ``extra_limit`` pairs per file pair; ``extra_langs``,
    their source and target languages, segments a side written without spaces). The remaining
    keywords are eflomal's (``model`` 1 = IBM1, 2 = HMM, 3 = HMM + fertility; ``n_iterations``,
    ``n_samplers``, ``null_prior``, ``rel_iterations``, ``source_prefix_len``...), and ``seed`` seeds its
    samplers: the same batch gives the same links on every run (eflomal itself draws its seed from
    ``/dev/urandom``; see :func:`seeded_binary`).
    """

    name = "eflomal"

    def __init__(self, symmetrization: str = "grow-diag-final-and", *,
                 extra: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
                 extra_files: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]] = (),
                 extra_limit: int | None = None, extra_langs: tuple[str | None, str | None] = (None, None),
                 model: int = 3, n_iterations: tuple[int, int, int] | None = None,
                 n_samplers: int = 3, null_prior: float = 0.2, rel_iterations: float = 1.0,
                 source_prefix_len: int = 0, source_suffix_len: int = 0,
                 target_prefix_len: int = 0, target_suffix_len: int = 0, seed: int = 0) -> None:
        from projector._optional import require
        from projector.errors import UnknownNameError

        if symmetrization not in SYMMETRIZATIONS:
            raise UnknownNameError("symmetrization", symmetrization, SYMMETRIZATIONS)
        self._eflomal = require("eflomal", extra="align", purpose="the eflomal aligner")
        self.symmetrization = symmetrization
        self.seed = seed
        self.extra: list[tuple[list[str], list[str]]] = [(list(s), list(t)) for s, t in (extra or ())]
        for src_path, tgt_path in extra_files:
            self.extra.extend(read_parallel_files(src_path, tgt_path, limit=extra_limit, langs=extra_langs))
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
        with tempfile.TemporaryDirectory(prefix="projector-eflomal-") as tmp:
            fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")
            self._run(src_lines, tgt_lines, Path(tmp), fwd_path, rev_path)
            with open(fwd_path, encoding="utf-8") as ff, open(rev_path, encoding="utf-8") as fr:
                for k, fwd_line, rev_line in zip(keep, ff, fr):
                    out[k] = (parse_pharaoh(fwd_line), parse_pharaoh(rev_line))
        return out

    def _run(self, src_lines: list[str], tgt_lines: list[str], tmp: Path, fwd_path: str, rev_path: str) -> None:
        """Run the eflomal sampler on the lines, seeded (see :func:`seeded_binary`), writing the links."""
        import subprocess

        from projector.errors import ModelError

        opts = dict(self.options)
        aligner_opts = {k: opts.pop(k) for k in list(opts) if k.endswith("_len")}
        aligner = self._eflomal.Aligner(**aligner_opts, **opts)
        src_file, tgt_file = tmp / "src.eflomal", tmp / "tgt.eflomal"
        with open(src_file, "wb") as fs, open(tgt_file, "wb") as ft:  # eflomal's own input conversion
            aligner.prepare_files(src_lines, fs, tgt_lines, ft, None, None)
        model, iters = aligner.model, aligner.n_iterations
        if iters is None:  # eflomal's default schedule (eflomal.cython.align)
            base = max(2, int(round(aligner.rel_iterations * 5000 / math.sqrt(len(src_lines)))))
            quarter = max(1, base // 4)
            iters = (base, 0, 0) if model == 1 else (max(2, quarter), base, 0) if model == 2 else (
                max(2, quarter), quarter, base)
        binary = seeded_binary(tmp, self.seed)
        args = [str(binary), "-m", str(model), "-s", str(src_file), "-t", str(tgt_file), "-n", str(aligner.n_samplers),
                "-N", str(aligner.null_prior), "-1", str(iters[0]), "-f", fwd_path, "-r", rev_path]
        if model >= 2:
            args += ["-2", str(iters[1])]
        if model >= 3:
            args += ["-3", str(iters[2])]
        if not logger.isEnabledFor(logging.DEBUG):
            args.append("-q")
        # one thread: eflomal hands its samplers their random states in thread order
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            done = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise ModelError(f"cannot run eflomal ({binary}): {exc}") from None
        if done.returncode != 0 or not os.path.exists(fwd_path):
            tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            raise ModelError(f"eflomal failed: {tail[0]}")

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

"""The engine-independent half of the seq2seq backends: languages, pieces, long inputs, batching,
order and statuses. A backend subclasses :class:`Seq2SeqTranslator` and implements two batch
primitives on token lists (:meth:`_generate` and :meth:`_score_tokens`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from projector.errors import ConfigError, NotSupportedError

from .base import (
    EMPTY,
    MAX_LENGTH,
    OK,
    SPLIT,
    TOO_LONG,
    Hypothesis,
    ModelInfo,
    Target,
    TokenScores,
    TranslationResult,
)
from .batching import chunked, join_sentences, merge_batches, pack_sentences, split_sentences, token_batches
from .pieces import SOURCE, TARGET, ModelTokenizer

logger = logging.getLogger("projector.mt")

__all__ = ["Seq2SeqTranslator", "Generated"]


@dataclass(frozen=True)
class Generated:
    """One raw hypothesis of an engine: content pieces, raw log-prob sum (with EOS if finished)."""

    tokens: list[str]
    score: float
    finished: bool


@dataclass
class _Unit:
    example: int
    source: list[str]


class Seq2SeqTranslator:
    """Shared implementation of the :class:`~mt_backends.base.Translator` protocol.

    ``batch_tokens`` is the token budget of a batch (padded size); ``read_ahead`` the number of
    inputs sorted together before batching (results are streamed window by window).
    """

    info: ModelInfo
    tok: ModelTokenizer
    max_source_tokens: int | None
    batch_tokens: int = 4096
    #: the default beam size of :meth:`translate` (``MTOptions.beam_size``)
    beam_size: int = 4
    #: batches handed to the engine per call (its replicas run them in parallel; each is within budget)
    parallel_batches: int = 1
    read_ahead: int = 512
    length_penalty: float = 1.0

    # -- engine primitives (implemented by backends) -----------------------------------------------
    def _generate(self, sources: list[list[str]], prefix: list[str], *, beam_size: int, num_hypotheses: int,
                  max_length: int, min_length: int = 0) -> list[list[Generated]]:
        """Hypotheses (content pieces after ``prefix``) of each source, best first."""
        raise NotImplementedError

    def _score_tokens(self, sources: list[list[str]], targets: list[list[str]]) -> list[list[float]]:
        """Log-probs of each token of each full target (prefix + pieces + EOS), decoder start excluded."""
        raise NotImplementedError

    def _score_probe(self, sources: list[list[str]], targets: list[list[str]],
                     probes: list[str | None]) -> list[tuple[list[float], list[float]]]:
        """Like :meth:`_score_tokens`, plus log P(probe) at each position of each full target (an
        empty list where the probe is None)."""
        raise NotSupportedError(f"{type(self).__name__} cannot score probe pieces")

    # -- protocol -------------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str], lang: str, *, side: str = TARGET,
                 special_tokens: bool = False, other_lang: str | None = None) -> list[list[str]]:
        """Content pieces of each text; with ``special_tokens`` the full sequence the model sees.

        On the source side, families that put the *target* language on the source (MADLAD, multi-target
        Marian) need ``other_lang`` (the target language) for ``special_tokens=True``.
        """
        _check_side(side)
        pieces = self.tok.pieces(list(texts), side=side)
        if not special_tokens:
            return pieces
        if side == SOURCE:
            return [self.tok.source_sequence(p, lang, other_lang or lang) for p in pieces]
        return [self.tok.target_sequence(p, lang) for p in pieces]

    def detokenize(self, pieces: Sequence[Sequence[str]], *, side: str = TARGET) -> list[str]:
        """Text of each piece list (special tokens dropped)."""
        _check_side(side)
        return [self.tok.detokenize(p, side=side) for p in pieces]

    def marker_pieces(self, marker: str) -> list[tuple[str, ...]]:
        """How the model writes ``marker`` in pieces, single vocabulary pieces first (e.g. ``('▁[',)``)."""
        return self.tok.marker_pieces(marker)

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                  num_hypotheses: int = 1, max_length: int = 256, min_length: int = 0) -> list[TranslationResult]:
        """Translate ``texts`` (results in input order); ``beam_size`` defaults to the translator's own
        (:attr:`beam_size`, set when it is loaded).

        ``max_length``/``min_length`` bound the number of generated pieces (EOS and the forced language
        token not counted); ``min_length`` is mostly for benchmarks.
        """
        return list(self.translate_iter(texts, src_lang, tgt_lang, beam_size=beam_size,
                                        num_hypotheses=num_hypotheses, max_length=max_length,
                                        min_length=min_length))

    def translate_iter(self, texts: Sequence[str], src_lang: str, tgt_lang: str, *, beam_size: int | None = None,
                       num_hypotheses: int = 1, max_length: int = 256,
                       min_length: int = 0) -> Iterator[TranslationResult]:
        """Translate ``texts``, streaming results in input order, one read-ahead window at a time.

        Options and languages are checked at the call, before the first result is asked for.
        """
        beam_size = self.beam_size if beam_size is None else beam_size
        if num_hypotheses < 1 or beam_size < 1 or max_length < 1 or min_length < 0:
            raise ConfigError("beam_size, num_hypotheses and max_length must be >= 1, min_length >= 0")
        if num_hypotheses > beam_size:
            raise ConfigError(f"num_hypotheses ({num_hypotheses}) cannot exceed beam_size ({beam_size})")
        prefix = self.tok.target_prefix(tgt_lang)  # language errors before any work
        overhead = len(self.tok.source_sequence([], src_lang, tgt_lang))
        max_length = self._clamp_length(max_length, len(prefix))
        min_length = min(min_length, max_length)
        return self._stream(list(texts), src_lang, tgt_lang, prefix, overhead, beam_size, num_hypotheses,
                            max_length, min_length)

    def _stream(self, texts: list[str], src_lang: str, tgt_lang: str, prefix: list[str], overhead: int,
                beam_size: int, num_hypotheses: int, max_length: int, min_length: int) -> Iterator[TranslationResult]:
        for window in chunked(range(len(texts)), self.read_ahead):
            yield from self._translate_window([texts[i] for i in window], src_lang, tgt_lang, prefix, overhead,
                                              beam_size, num_hypotheses, max_length, min_length)

    def score(self, sources: Sequence[Target], targets: Sequence[Target], src_lang: str,
              tgt_lang: str, *, probe: str | Sequence[str | None] | None = None) -> list[TokenScores]:
        """Teacher-forced log-probabilities: one per given target piece, plus EOS apart.

        Sources and targets are texts or content-piece lists. Pairs longer than the model's limit get
        status ``too_long`` (they are not truncated). ``probe``: a vocabulary piece (or one per pair,
        ``None`` for none) whose log-probability is also returned at every position.
        """
        if len(sources) != len(targets):
            raise ConfigError(f"score: {len(sources)} sources but {len(targets)} targets")
        probes = [probe] * len(sources) if probe is None or isinstance(probe, str) else list(probe)
        if len(probes) != len(sources):
            raise ConfigError(f"score: {len(sources)} pairs but {len(probes)} probes")
        bad = [p for p in probes if p is not None and p not in self.tok.vocab]
        if bad:
            raise ConfigError(f"score: probe pieces not in the model's vocabulary: {bad[:5]}")
        prefix = self.tok.target_prefix(tgt_lang)
        src_pieces = self._as_pieces(sources, SOURCE)
        tgt_pieces = self._as_pieces(targets, TARGET)
        results: list[TokenScores | None] = [None] * len(sources)
        units: list[int] = []
        full_src: list[list[str]] = []
        full_tgt: list[list[str]] = []
        for i, (s, t) in enumerate(zip(src_pieces, tgt_pieces, strict=True)):
            unknown = self.tok.check_pieces(t)
            if unknown:
                raise ConfigError(f"score: target pieces not in the model's vocabulary: {unknown[:5]} "
                                  "(use tokenize()/marker_pieces() to get the model's pieces)")
            src_seq = self.tok.source_sequence(s, src_lang, tgt_lang)
            tgt_seq = [*prefix, *t, self.tok.eos]
            limit = self.max_source_tokens
            if limit is not None and (len(src_seq) > limit or len(tgt_seq) > limit):
                results[i] = TokenScores(tuple(t), (), float("nan"), TOO_LONG,
                                         f"source {len(src_seq)} / target {len(tgt_seq)} tokens exceed the "
                                         f"model's limit of {limit}")
                continue
            units.append(i)
            full_src.append(src_seq)
            full_tgt.append(tgt_seq)
        lengths = [len(a) + len(b) for a, b in zip(full_src, full_tgt, strict=True)]
        for probed in (False, True):
            group = [k for k in range(len(units)) if (probes[units[k]] is not None) == probed]
            subs = token_batches([lengths[k] for k in group], self.batch_tokens)
            for sub in merge_batches(subs, 1 if probed else self.parallel_batches):
                batch = [group[k] for k in sub]
                srcs, tgts = [full_src[k] for k in batch], [full_tgt[k] for k in batch]
                scored: list[tuple[list[float], list[float] | None]]
                if probed:
                    scored = list(self._score_probe(srcs, tgts, [probes[units[k]] for k in batch]))
                else:
                    scored = [(lps, None) for lps in self._score_tokens(srcs, tgts)]
                for k, (lps, plps) in zip(batch, scored, strict=True):
                    i = units[k]
                    n = len(tgt_pieces[i])
                    if len(lps) != len(prefix) + n + 1:
                        raise RuntimeError(f"engine returned {len(lps)} log-probs for {n} pieces")
                    content = lps[len(prefix):len(prefix) + n]
                    results[i] = TokenScores(
                        tuple(tgt_pieces[i]), tuple(float(x) for x in content), float(lps[-1]),
                        probe_logprobs=None if plps is None else tuple(float(x) for x in plps[len(prefix):]))
        return [r for r in results if r is not None]

    # -- internals ------------------------------------------------------------------------------
    def _clamp_length(self, max_length: int, prefix_len: int) -> int:
        limit = self.max_source_tokens
        if limit is not None and max_length + prefix_len + 1 > limit:
            return max(1, limit - prefix_len - 1)
        return max_length

    def _as_pieces(self, items: Sequence[Target], side: str) -> list[list[str]]:
        texts = [(k, x) for k, x in enumerate(items) if isinstance(x, str)]
        out: list[list[str]] = [list(x) if not isinstance(x, str) else [] for x in items]
        for (k, _), pieces in zip(texts, self.tok.pieces([x for _, x in texts], side=side), strict=True):
            out[k] = pieces
        return out

    def _translate_window(self, texts: list[str], src_lang: str, tgt_lang: str, prefix: list[str], overhead: int,
                          beam_size: int, num_hypotheses: int, max_length: int,
                          min_length: int = 0) -> Iterator[TranslationResult]:
        limit = self.max_source_tokens
        status: list[tuple[str, str | None]] = [(OK, None)] * len(texts)
        units: list[_Unit] = []
        pieces = self.tok.pieces(texts, side=SOURCE)
        for i, (text, p) in enumerate(zip(texts, pieces, strict=True)):
            if not text.strip():
                status[i] = (EMPTY, "blank input")
            elif limit is None or len(p) + overhead <= limit:
                units.append(_Unit(i, self.tok.source_sequence(p, src_lang, tgt_lang)))
            else:
                sents = split_sentences(text)
                sent_pieces = self.tok.pieces(sents, side=SOURCE) if sents else []
                groups = pack_sentences([len(sp) for sp in sent_pieces], limit - overhead)
                if groups is None:
                    longest = max(len(sp) for sp in sent_pieces)
                    status[i] = (TOO_LONG, f"{len(p) + overhead} tokens exceed the model's limit of {limit} and a "
                                 f"sentence of {longest + overhead} tokens cannot be split further")
                    continue
                status[i] = (SPLIT, f"{len(p) + overhead} tokens exceed the model's limit of {limit}: translated "
                             f"in {len(groups)} parts split at sentence boundaries")
                for g in groups:
                    merged = [piece for k in g for piece in sent_pieces[k]]
                    units.append(_Unit(i, self.tok.source_sequence(merged, src_lang, tgt_lang)))
        outputs: list[list[Generated]] = [[] for _ in units]
        batches = token_batches([len(u.source) for u in units], self.batch_tokens)
        for batch in merge_batches(batches, self.parallel_batches):
            gen = self._generate([units[k].source for k in batch], prefix, beam_size=beam_size,
                                 num_hypotheses=num_hypotheses, max_length=max_length, min_length=min_length)
            for k, hyps in zip(batch, gen, strict=True):
                outputs[k] = hyps
        per_example: dict[int, list[list[Generated]]] = {}
        for unit, hyps in zip(units, outputs, strict=True):
            per_example.setdefault(unit.example, []).append(hyps)
        for i in range(len(texts)):
            st, reason = status[i]
            parts = per_example.get(i)
            if not parts:
                yield TranslationResult((), st, reason)
                continue
            combined = self._combine(parts, tgt_lang)
            if combined and not combined[0][1]:
                cut = f"the best hypothesis reached max_length={max_length} tokens without EOS"
                st, reason = (MAX_LENGTH, cut) if st == OK else (st, f"{reason}; {cut}")
            yield TranslationResult(tuple(h for h, _ in combined), st, reason)

    def _combine(self, parts: list[list[Generated]], tgt_lang: str) -> list[tuple[Hypothesis, bool]]:
        """Hypotheses of an example from its parts: rank k joins the k-th hypothesis of each part."""
        n = min(len(p) for p in parts)
        out = []
        for k in range(n):
            chosen = [p[k] for p in parts]
            tokens = tuple(t for g in chosen for t in g.tokens)
            if len(parts) == 1:
                text = self.tok.detokenize(chosen[0].tokens)
            else:
                text = join_sentences([self.tok.detokenize(g.tokens) for g in chosen], tgt_lang)
            score = float(sum(g.score for g in chosen)) if all(math.isfinite(g.score) for g in chosen) else math.nan
            out.append((Hypothesis(text, tokens, score), all(g.finished for g in chosen)))
        return out


def _check_side(side: str) -> None:
    if side not in (SOURCE, TARGET):
        raise ConfigError(f"side must be 'source' or 'target', not {side!r}")

"""Exact and pruned search of marker placements in a fixed target (the core of codec).

A *placement* ``(i, j)`` puts the opening marker pieces before template piece ``i`` and the closing
ones before piece ``j`` (``i < j <= m``, ``j == m``: before EOS); its score is
``log P(t[:i] + O + t[i:j] + C + t[j:] + EOS | marked source)`` as returned by ``Translator.score``.

Exact best-first search (admissible because every log-probability is <= 0, so the exact score of a
prefix bounds every completion sharing it):

* level 1: one pass of the clean template under the marked source gives ``A_i`` = score of
  ``t[:i]``, a bound of every placement opening at ``i``;
* level 2: one pass of the template with only ``O`` inserted at ``i`` gives the exact score of the
  prefix ``t[:i] + O + t[i:j]`` for every ``j``: a bound of placement ``(i, j)``;
* when the scorer can *probe* (return the log-probability of one more piece at every position,
  ``Translator.score(..., probe=)``), the same two passes also give log P(first opening piece | t[:i])
  and log P(first closing piece | t[:i] + O + t[i:j]), which are added to the bounds: still
  admissible (the rest of a completion only adds log-probs <= 0) and much tighter for a trained
  model, which rarely expects a marker where none belongs;
* level 3: scoring the full marked sequence gives the exact score of ``(i, j)``.

Nodes of the three levels share one priority queue ordered by bound (exact score for level 3);
each round pops the best nodes of every search and scores them in one batched ``score`` call. A
level-3 node is final when it reaches the top of the queue; the search stops when ``top_n`` are
final or the best remaining bound is below the ``top_n``-th best exact score found. The result is
the exact top-n among the allowed placements (bounds get a slack of :data:`BOUND_SLACK` nats
against float noise between batch shapes).
"""

from __future__ import annotations

import heapq
import math
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Placement", "SearchTask", "SearchStats", "piece_offsets", "allowed_boundaries", "token_boundaries",
           "marked_target",
           "search_placements", "beam_placements", "brute_force", "pruned_positions", "BOUND_SLACK"]

#: nats added to prefix bounds (CTranslate2 results may differ by ~1e-5 between batch shapes)
BOUND_SLACK = 1e-3
_DONE, _PAIR, _OPEN = 0, 1, 2  # node kinds; lower sorts first among equal bounds


@dataclass(frozen=True, order=True)
class Placement:
    """Markers before template pieces ``open`` and ``close``, with the exact log-probability."""

    score: float
    open: int
    close: int


@dataclass
class SearchTask:
    """One span to place: its marked source (pieces) and the template pieces with the allowed
    opening positions and closing positions (a close ``j`` is used with opens ``i < j``)."""

    source: list[str]
    template: list[str]
    opens: list[int]
    closes: list[int]
    top_n: int = 5
    #: per-piece log-probs of the clean template under ``source``, when already known
    prefix_logprobs: list[float] | None = None
    #: log P(first opening piece | template[:i]) under ``source`` for i = 0..m, when probed
    open_probe: list[float] | None = None
    status: str = "ok"
    reason: str | None = None
    #: set by the search: it stopped at its ``max_tokens`` budget and returned its best so far
    truncated: bool = False


@dataclass
class SearchStats:
    """Work done: target sequences scored, target tokens scored (pieces + EOS), score calls."""

    sequences: int = 0
    tokens: int = 0
    calls: int = 0

    def add(self, other: SearchStats) -> None:
        """Accumulate ``other`` into this one."""
        self.sequences += other.sequences
        self.tokens += other.tokens
        self.calls += other.calls


ScoreFn = Callable[..., list[Any]]
"""``score(sources, targets)``, or ``score(sources, targets, probes)`` with one probe piece (or None)
per pair when the search probes (see :func:`search_placements`)."""


def marked_target(template: Sequence[str], open_pieces: Sequence[str], close_pieces: Sequence[str],
                  i: int, j: int | None = None) -> list[str]:
    """The template with ``open_pieces`` before piece ``i`` and (if ``j``) ``close_pieces`` before ``j``."""
    if j is None:
        return [*template[:i], *open_pieces, *template[i:]]
    return [*template[:i], *open_pieces, *template[i:j], *close_pieces, *template[j:]]


def _is_byte_or_special(core: str) -> bool:
    return core.startswith("<") and core.endswith(">") and len(core) > 2


def piece_offsets(text: str, pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Character offsets ``(start, end)`` of each sentencepiece piece in ``text``.

    ``▁`` stands for a space; a bare ``▁`` gets an empty range at the next non-space character.
    Pieces that do not match the text literally (normalization, ``<unk>``, byte pieces) consume the
    characters whose NFKC form spells them (one character for ``<unk>``/bytes).
    """
    out: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    for piece in pieces:
        core = piece.replace("▁", " ").lstrip(" ")
        k = pos
        while k < n and text[k].isspace():
            k += 1
        if not core:
            out.append((k, k))
            continue
        if text.startswith(core, k):
            end = k + len(core)
        elif _is_byte_or_special(core):
            end = min(n, k + 1)
        else:
            end, acc = k, ""
            while end < n and len(acc) < len(core):
                acc += unicodedata.normalize("NFKC", text[end])
                end += 1
        out.append((k, end))
        pos = end
    return out


def allowed_boundaries(text: str, offsets: Sequence[tuple[int, int]], *, words: bool = True) -> list[bool]:
    """Which piece boundaries ``k`` (0..m, before piece ``k``) may hold a marker.

    With ``words``: the ends, boundaries with whitespace between the pieces, and boundaries between a
    letter/digit and another character (so ``[Lisboa].`` and ``(«[Lisboa]»)`` are possible, while a
    marker never splits a word). Without: every boundary.
    """
    m = len(offsets)
    allowed = [True] * (m + 1)
    if not words:
        return allowed
    prev_end: int | None = None
    for k in range(m):
        start, end = offsets[k]
        if k > 0 and prev_end is not None and not any(c.isspace() for c in text[prev_end:start]):
            a = text[prev_end - 1] if prev_end > 0 else " "
            b = text[start] if start < len(text) else " "
            allowed[k] = a.isalnum() != b.isalnum()
        if end > start:
            prev_end = end
    return allowed


def token_boundaries(offsets: Sequence[tuple[int, int]], tokens: Sequence[tuple[int, int]]) -> list[bool]:
    """Which piece boundaries coincide with a boundary of the given word tokens ``(start, end)`` (the
    data's own tokenization of the target, e.g. a human-translated CoNLL sentence): the boundary
    before piece ``k`` is allowed when piece ``k`` starts a token or the previous piece ends one."""
    starts = {s for s, _ in tokens}
    ends = {e for _, e in tokens}
    m = len(offsets)
    allowed = [True] * (m + 1)
    prev_end: int | None = None
    for k in range(m):
        start, end = offsets[k]
        if k > 0:
            allowed[k] = start in starts or (prev_end is not None and prev_end in ends)
        if end > start:
            prev_end = end
    return allowed


def span_chars(offsets: Sequence[tuple[int, int]], i: int, j: int) -> tuple[int, int] | None:
    """Character range of pieces ``i..j-1`` (None when they are all empty)."""
    inner = [o for o in offsets[i:j] if o[1] > o[0]]
    if not inner:
        return None
    return inner[0][0], inner[-1][1]


def _run(score: ScoreFn, sources: list[list[str]], targets: list[list[str]], stats: SearchStats,
         probes: list[str | None] | None = None) -> list[Any]:
    if not targets:
        return []
    stats.calls += 1
    stats.sequences += len(targets)
    stats.tokens += sum(len(t) + 1 for t in targets)
    if probes is not None and any(p is not None for p in probes):
        return score(sources, targets, probes)
    return score(sources, targets)


def _prefix_scores(lps: Sequence[float], i: int, n_open: int, closes: Sequence[int]) -> Iterator[tuple[int, float]]:
    """``(j, log P(t[:i] + O + t[i:j]))`` for every sorted close ``j > i``, from the log-probs ``lps``
    of the template with the ``n_open`` opening pieces inserted before piece ``i``."""
    acc = sum(lps[:i + n_open])
    k = i
    for j in closes:
        if j <= i:
            continue
        while k < j:
            acc += lps[k + n_open]
            k += 1
        yield j, acc


def _ok(res: Any) -> bool:
    return getattr(res, "status", "ok") == "ok" and math.isfinite(getattr(res, "eos_logprob", 0.0))


class _Search:
    """Best-first state of one task."""

    def __init__(self, task: SearchTask, open_pieces: Sequence[str], close_pieces: Sequence[str],
                 probe: bool = False, limit: int | None = None) -> None:
        self.task = task
        self.probe = probe
        # sequences this search may score (None: no bound): its token budget over the length of one
        # marked sequence (template + markers + EOS), so a long template gets fewer sequences
        seq_len = len(task.template) + len(open_pieces) + len(close_pieces) + 1
        self.limit = None if limit is None else max(1, limit // seq_len)
        self.used = 0
        self.stopped = False
        self.O, self.C = list(open_pieces), list(close_pieces)
        self.heap: list[tuple[float, int, int, int]] = []  # (-bound, kind, i, j)
        self.final: list[Placement] = []
        self.best: list[float] = []  # min-heap of the top_n exact scores seen
        self.closes = sorted(set(task.closes))
        self.opens = [i for i in sorted(set(task.opens)) if any(j > i for j in self.closes)]
        self.need_prefix = task.prefix_logprobs is None and bool(self.opens)
        self.errors: list[str] = []
        if task.prefix_logprobs is not None:
            self._seed(task.prefix_logprobs, task.open_probe)

    # -- state ---------------------------------------------------------------------------------
    def _seed(self, lps: Sequence[float], open_probe: Sequence[float] | None = None) -> None:
        acc = [0.0]
        for lp in lps:
            acc.append(acc[-1] + lp)
        for i in self.opens:
            extra = open_probe[i] if open_probe is not None and i < len(open_probe) else 0.0
            heapq.heappush(self.heap, (-(acc[i] + extra + BOUND_SLACK), _OPEN, i, -1))

    def probe_of(self, kind: int) -> str | None:
        """The piece to probe for a requested node (None: plain scoring)."""
        if not self.probe:
            return None
        return self.O[0] if kind == -1 else self.C[0] if kind == _OPEN else None

    def _threshold(self) -> float:
        return self.best[0] if len(self.best) >= self.task.top_n else -math.inf

    def _add_exact(self, i: int, j: int, total: float) -> None:
        heapq.heappush(self.heap, (-total, _DONE, i, j))
        if len(self.best) < self.task.top_n:
            heapq.heappush(self.best, total)
        elif total > self.best[0]:
            heapq.heapreplace(self.best, total)

    @property
    def finished(self) -> bool:
        return not self.need_prefix and (len(self.final) >= self.task.top_n or not self.heap or self.stopped)

    def _stop(self) -> list[tuple[int, int, int, list[str]]]:
        """The budget is spent: keep the exact scores found so far (the best-so-far result). When there
        is none yet, score the ``top_n`` placements of best bound once more, and stop."""
        self.stopped = self.task.truncated = True
        if self.final or any(n[1] == _DONE for n in self.heap):
            return []
        pairs = sorted(n for n in self.heap if n[1] == _PAIR)[: self.task.top_n]
        self.heap = []
        return [(_PAIR, i, j, marked_target(self.task.template, self.O, self.C, i, j)) for _, _, i, j in pairs]

    def requests(self, budget: int) -> list[tuple[int, int, int, list[str]]]:
        """Nodes to score this round: (kind, i, j, target pieces)."""
        if self.need_prefix:
            self.used += 1
            return [(-1, -1, -1, list(self.task.template))]
        while self.heap and self.heap[0][1] == _DONE and len(self.final) < self.task.top_n:
            neg, _, i, j = heapq.heappop(self.heap)
            self.final.append(Placement(-neg, i, j))
        out: list[tuple[int, int, int, list[str]]] = []
        kept: list[tuple[float, int, int, int]] = []
        if len(self.final) >= self.task.top_n:
            return out
        if self.limit is not None:
            if self.used >= self.limit:
                return self._stop()
            budget = min(budget, self.limit - self.used)
        thr = self._threshold()
        while self.heap and len(out) < budget:
            node = heapq.heappop(self.heap)
            neg, kind, i, j = node
            if kind == _DONE:
                kept.append(node)
                continue
            if -neg < thr:  # cannot reach the top n; nor can anything below it
                self.heap = [n for n in self.heap if n[1] == _DONE]
                heapq.heapify(self.heap)
                break
            if kind == _OPEN:
                out.append((_OPEN, i, -1, marked_target(self.task.template, self.O, self.C, i)))
            else:
                out.append((_PAIR, i, j, marked_target(self.task.template, self.O, self.C, i, j)))
        for node in kept:
            heapq.heappush(self.heap, node)
        self.used += len(out)
        return out

    def feed(self, kind: int, i: int, j: int, res: Any) -> None:
        """Take the scores of one requested node."""
        if not _ok(res):
            self.errors.append(str(getattr(res, "reason", None) or getattr(res, "status", "failed")))
            if kind == -1:
                self.need_prefix = False
            return
        lps = list(res.logprobs)
        probe = getattr(res, "probe_logprobs", None)
        if kind == -1:
            self.need_prefix = False
            self.task.prefix_logprobs = lps
            self.task.open_probe = list(probe) if probe is not None else None
            self._seed(lps, self.task.open_probe)
        elif kind == _OPEN:
            lo = len(self.O)
            for j2, acc in _prefix_scores(lps, i, lo, self.closes):
                extra = probe[j2 + lo] if probe is not None else 0.0  # log P(C[0] | t[:i] O t[i:j2])
                heapq.heappush(self.heap, (-(acc + extra + BOUND_SLACK), _PAIR, i, j2))
        else:
            self._add_exact(i, j, float(sum(lps) + res.eos_logprob))

    def result(self) -> list[Placement]:
        while self.heap and len(self.final) < self.task.top_n:
            neg, kind, i, j = heapq.heappop(self.heap)
            if kind == _DONE:
                self.final.append(Placement(-neg, i, j))
        return self.final[: self.task.top_n]


def search_placements(score: ScoreFn, tasks: Sequence[SearchTask], open_pieces: Sequence[str],
                      close_pieces: Sequence[str], *, batch_candidates: int = 16,
                      stats: SearchStats | None = None, probe: bool = False,
                      max_tokens: int | None = None) -> list[list[Placement]]:
    """Exact top-n placements of every task, best first; all tasks advance together, one batched
    ``score(sources, targets)`` call per round.

    ``max_tokens`` bounds the target tokens one task may score (its passes and placements, each about
    the template's length; ``None``: no bound): a task that reaches it stops and returns the best exact
    placements it has scored so far (when it has none yet, its ``top_n`` placements of best bound are
    scored once more), with ``task.truncated`` set. The bound is a count, not a time, so results stay
    deterministic and a resumed run equals an uninterrupted one.

    ``batch_candidates`` is the number of nodes a task may expand per round (the first rounds take
    fewer: 2, 4, 8... so that short searches do little extra work). With ``probe``, ``score`` takes
    a third argument (a probe piece or None per pair; results carry ``probe_logprobs``) and the
    bounds include the markers' own log-probabilities.
    """
    stats = stats if stats is not None else SearchStats()
    if max_tokens is not None and max_tokens < 1:
        raise ValueError("max_tokens must be >= 1 (or None)")
    searches = [_Search(t, open_pieces, close_pieces, probe, max_tokens) for t in tasks]
    rnd = 0
    while True:
        budget = min(batch_candidates, 2 << rnd)
        rnd += 1
        owners: list[tuple[_Search, int, int, int]] = []
        srcs: list[list[str]] = []
        tgts: list[list[str]] = []
        probes: list[str | None] = []
        for s in searches:
            if s.finished:
                continue
            for kind, i, j, tgt in s.requests(budget):
                owners.append((s, kind, i, j))
                srcs.append(s.task.source)
                tgts.append(tgt)
                probes.append(s.probe_of(kind))
        if not owners:
            break
        for (s, kind, i, j), res in zip(owners, _run(score, srcs, tgts, stats, probes), strict=True):
            s.feed(kind, i, j, res)
    out = []
    for s, t in zip(searches, tasks, strict=True):
        res = s.result()
        if not res and s.errors:
            t.status, t.reason = "failed", s.errors[0]
        out.append(res)
    return out


def beam_placements(score: ScoreFn, tasks: Sequence[SearchTask], open_pieces: Sequence[str],
                    close_pieces: Sequence[str], *, opens: int | None = None, rescore: int | None = None,
                    stats: SearchStats | None = None) -> list[list[Placement]]:
    """Approximate top-n placements from probed passes (codec's ``beam`` search).

    Each task needs ``prefix_logprobs`` and ``open_probe`` (the marked source's pass over the clean
    template, probing the first opening piece). Its ``opens`` likeliest opening positions (``None``:
    every allowed one; likeliest: highest log P(opening piece | t[:i]) in the clean pass) get one pass
    each with the opening marker inserted, probing the first closing piece. Every ``(i, j)`` is estimated from
    that pass alone: the exact prefix ``t[:i] + O + t[i:j]`` + log P(closing piece) + the pass's own
    log-probs of ``t[j:]`` and EOS (only the closing marker's effect on the rest is missing). The
    ``rescore`` best estimates (default ``2 * top_n``; ``0``: none) are scored exactly, in batches for
    all tasks, and the best ``top_n`` of them returned; without rescoring the ``top_n`` best estimates
    are returned with their estimates as scores. ``1 + opens + rescore`` sequences per span.
    """
    stats = stats if stats is not None else SearchStats()
    opening, closing = list(open_pieces), list(close_pieces)
    lo = len(opening)
    plan: list[tuple[int, list[int]]] = []  # (task index, chosen opens)
    srcs: list[list[str]] = []
    tgts: list[list[str]] = []
    for k, t in enumerate(tasks):
        closes = sorted(set(t.closes))
        cands = [i for i in sorted(set(t.opens)) if any(j > i for j in closes)]
        if t.prefix_logprobs is None or t.open_probe is None or not cands:
            continue
        # likeliest openings: where the model gives the opening piece the most probability (the clean
        # template's own log-prob is the same for every i, so it does not change the order)
        probe = t.open_probe
        chosen = sorted(cands, key=lambda i: (-probe[i], i))[:opens]
        plan.append((k, chosen))
        for i in chosen:
            srcs.append(t.source)
            tgts.append(marked_target(t.template, opening, closing, i))
    results = _run(score, srcs, tgts, stats, [closing[0]] * len(tgts))
    estimates: dict[int, list[tuple[float, int, int]]] = {}
    pos = 0
    for k, chosen in plan:
        t = tasks[k]
        ests: list[tuple[float, int, int]] = []
        errors: list[str] = []
        for i in chosen:
            res = results[pos]
            pos += 1
            if not _ok(res) or res.probe_logprobs is None:
                errors.append(str(getattr(res, "reason", None) or "cannot score"))
                continue
            lps = [*res.logprobs, res.eos_logprob]
            after = [0.0] * (len(lps) + 1)  # after[q]: log-probs of pieces q.. and EOS
            for q in range(len(lps) - 1, -1, -1):
                after[q] = after[q + 1] + lps[q]
            for j, head in _prefix_scores(lps, i, lo, sorted(set(t.closes))):
                ests.append((head + res.probe_logprobs[j + lo] + after[j + lo], i, j))
        if errors and not ests:
            t.status, t.reason = "failed", errors[0]
        ests.sort(reverse=True)
        estimates[k] = ests[: t.top_n if rescore == 0 else (2 * t.top_n if rescore is None else rescore)]
    if rescore == 0:
        out: list[list[Placement]] = [[] for _ in tasks]
        for k, ests in estimates.items():
            out[k] = [Placement(est, i, j) for est, i, j in ests]
        return out
    jobs = [(k, i, j) for k, ests in estimates.items() for _, i, j in ests]
    found, failures = _score_placements(score, tasks, jobs, opening, closing, stats)
    for k, placements in enumerate(found):
        if not placements and k in failures:
            tasks[k].status, tasks[k].reason = "failed", failures[k]
    return _top(found, tasks)


def _top(found: list[list[Placement]], tasks: Sequence[SearchTask]) -> list[list[Placement]]:
    """The ``top_n`` best placements of each task, best first (ties: earlier positions first)."""
    return [sorted(f, key=lambda p: (-p.score, p.open, p.close))[: t.top_n] for f, t in zip(found, tasks, strict=True)]


def brute_force(score: ScoreFn, tasks: Sequence[SearchTask], open_pieces: Sequence[str],
                close_pieces: Sequence[str], *, stats: SearchStats | None = None,
                chunk: int = 256) -> list[list[Placement]]:
    """Score every allowed placement of every task (the reference the exact search must match)."""
    stats = stats if stats is not None else SearchStats()
    jobs: list[tuple[int, int, int]] = []
    for k, t in enumerate(tasks):
        for i in sorted(set(t.opens)):
            for j in sorted(set(t.closes)):
                if j > i:
                    jobs.append((k, i, j))
    found, _ = _score_placements(score, tasks, jobs, open_pieces, close_pieces, stats, chunk)
    return _top(found, tasks)


def _score_placements(score: ScoreFn, tasks: Sequence[SearchTask], jobs: Sequence[tuple[int, int, int]],
                      open_pieces: Sequence[str], close_pieces: Sequence[str], stats: SearchStats,
                      chunk: int = 256) -> tuple[list[list[Placement]], dict[int, str]]:
    """Exact scores of placements ``(task, i, j)``, ``chunk`` per ``score`` call: the placements of
    each task (unsorted) and, per task, the first reason a placement could not be scored."""
    found: list[list[Placement]] = [[] for _ in tasks]
    failures: dict[int, str] = {}
    for start in range(0, len(jobs), chunk):
        part = jobs[start:start + chunk]
        srcs = [tasks[k].source for k, _, _ in part]
        tgts = [marked_target(tasks[k].template, open_pieces, close_pieces, i, j) for k, i, j in part]
        for (k, i, j), res in zip(part, _run(score, srcs, tgts, stats), strict=True):
            if _ok(res):
                found[k].append(Placement(float(sum(res.logprobs) + res.eos_logprob), i, j))
            else:
                failures.setdefault(k, str(getattr(res, "reason", None) or "cannot score"))
    return found, failures


@dataclass
class PruneRule:
    """Codec's pruning of opening positions by the change of per-token NLL when the source is marked."""

    strong: float = 0.5
    weak: float = 0.1
    window: int = 5
    fallback: int = 3
    cap: int | None = 12


def pruned_positions(clean: Sequence[float], marked: Sequence[float], rule: PruneRule | None = None) -> set[int]:
    """Template pieces where marking the source changes the NLL by >= ``strong``, plus pieces within
    ``window`` of one of them changing by >= ``weak``; when none changes by ``strong``, the
    ``fallback`` pieces with the largest change (Codec would search everything); at most ``cap``
    pieces, those with the largest change (a guard for models whose every token reacts to markers)."""
    rule = rule or PruneRule()
    diff = [abs(a - b) for a, b in zip(clean, marked)]
    strong = [k for k, d in enumerate(diff) if d >= rule.strong]
    if not strong:
        strong = sorted(range(len(diff)), key=lambda k: -diff[k])[: rule.fallback]
    keep = set(strong)
    for q in strong:
        for k in range(max(0, q - rule.window), min(len(diff), q + rule.window + 1)):
            if diff[k] >= rule.weak:
                keep.add(k)
    if rule.cap is not None and len(keep) > rule.cap:
        keep = set(sorted(keep, key=lambda k: (-diff[k], k))[: rule.cap])
    return keep

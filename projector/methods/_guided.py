"""Codec's ``guided`` search: the aligner proposes, the MT model and the evidence decide.

For each source span, the candidates are target word ranges (half-open, in the template's words):

* the range each aligner of the configured aligner or ensemble links the span's words to (the hull of
  the linked target words), the ensemble's own range, and the intersection and union variants (words
  linked by every member / by any member);
* the span heuristics' choice on the ensemble's links (:func:`alignment.heuristics.project_spans`): the
  align method's answer (all the sentence's spans at once, with its conflict rules), and the span's
  choice alone where a conflict changed it;
* each of those narrowed by up to ``narrow`` words at either boundary, and the shortest of them widened by
  up to ``widen`` words (both 1 by default). Aligners more often link too much than too little, and
  where they link too little the shortest range is the one missing a word: widening every range as well
  scores 7.9 candidates per span instead of 5.8 on codec_quality's 245 spans for the same choices
  (accuracy 0.8735, word F1 0.937 either way);

deduplicated. Every candidate is scored exactly, log P(T with markers | S_k), in batched ``score`` calls
(:func:`projector.methods._search._score_placements`), and the choice combines:

* ``mt``: the candidate's log-probability minus the best candidate's of the same span (<= 0; all
  candidates of a span are sequences of the same length, so this gap is already length-normalised);
* ``src_cov``: the share of the source span's words linked into the candidate (by the ensemble);
* ``tgt_cov``: the share of the candidate's words linked to the source span;
* ``lex``: codec's lexical similarity (to the span's standalone translation or the span itself);
* ``rev``: codec's reverse score, log P(source span | candidate), per source word, floored at -10.

``combined = w_mt * mt + w_src * src_cov + w_tgt * tgt_cov + w_lex * lex + w_rev * rev`` (weights in
:class:`~projector.options.CodecOptions`, fitted by ``benchmarks/codec_quality.py --fit-guided`` on one
half of its sentences and checked on the other). A candidate is viable when the aligner links it to
the span, or codec's own thresholds keep it (``lex >= lex_keep`` or ``rev >= rev_keep``); a span fails
only when no candidate is viable. Spans the aligner links to nothing fall back to codec's beam search.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Features", "features_of", "guided_search", "link_ranges", "word_variants", "candidate_ranges", "coverage", "combined_score",
           "choose", "ranked", "REV_FLOOR"]

#: reverse scores per source word below this are all equally bad
REV_FLOOR = -10.0
#: mt gaps below this are all equally bad
MT_FLOOR = -20.0

Link = tuple[int, int]


def link_ranges(span: tuple[int, int], links: Iterable[Link]) -> tuple[int, int] | None:
    """The target word range ``[lo, hi)`` spanned by the words ``links`` link to source words ``span``."""
    targets = [t for s, t in links if span[0] <= s < span[1]]
    return (min(targets), max(targets) + 1) if targets else None


def word_variants(rng: tuple[int, int], n_words: int, widen: int = 1, narrow: int | None = None) -> list[tuple[int, int]]:
    """``rng`` and its variants widened by up to ``widen`` and narrowed by up to ``narrow`` (default:
    ``widen``) words at either boundary."""
    lo, hi = rng
    narrow = widen if narrow is None else narrow
    out = [rng]
    for d in range(1, max(widen, narrow) + 1):
        for a, b, grows in ((lo - d, hi, True), (lo + d, hi, False), (lo, hi - d, False), (lo, hi + d, True)):
            if d <= (widen if grows else narrow) and 0 <= a < b <= n_words:
                out.append((a, b))
    return out


def candidate_ranges(span: tuple[int, int], member_links: Sequence[Iterable[Link]], combined: Iterable[Link],
                     n_words: int, extra: Iterable[tuple[int, int] | None] = (), widen: int = 1,
                     narrow: int | None = None) -> list[tuple[int, int]]:
    """Every candidate word range of source words ``span``, deduplicated in a stable order: the
    ensemble's range, each member's, the intersection and union variants, ``extra`` ranges (the span
    heuristics' choice, another method's span), then each of those narrowed by up to ``narrow`` words
    at either boundary (default: ``widen``), then the shortest of them (the first such) widened by up to
    ``widen`` words (:func:`word_variants`)."""
    members = [frozenset(m) for m in member_links]
    comb = frozenset(combined)
    seeds: list[tuple[int, int] | None] = [link_ranges(span, comb)]
    seeds += [link_ranges(span, m) for m in members]
    if len(members) > 1:
        seeds.append(link_ranges(span, frozenset.intersection(*members)))
        seeds.append(link_ranges(span, frozenset.union(*members)))
    seeds += list(extra)
    base = [r for r in dict.fromkeys(s for s in seeds if s is not None) if 0 <= r[0] < r[1] <= n_words]
    out: dict[tuple[int, int], None] = dict.fromkeys(base)
    for r in base:
        out.update(dict.fromkeys(word_variants(r, n_words, 0, widen if narrow is None else narrow)))
    if base and widen:
        shortest = min(base, key=lambda r: r[1] - r[0])
        out.update(dict.fromkeys(word_variants(shortest, n_words, widen, 0)))
    return list(out)


def coverage(span: tuple[int, int], rng: tuple[int, int], links: Iterable[Link]) -> tuple[float, float]:
    """(share of the source span's words linked into ``rng``, share of ``rng``'s words linked to the span)."""
    inside = [(s, t) for s, t in links if span[0] <= s < span[1] and rng[0] <= t < rng[1]]
    src = len({s for s, _ in inside}) / max(1, span[1] - span[0])
    tgt = len({t for _, t in inside}) / max(1, rng[1] - rng[0])
    return src, tgt


@dataclass(frozen=True)
class Features:
    """What the combined choice weighs, for one candidate (see the module docstring)."""

    mt: float
    src_cov: float
    tgt_cov: float
    lex: float
    #: codec's reverse score, log P(source span | candidate) in nats (None: the scorer cannot score back)
    rev: float | None
    #: words of the source span (the reverse score is weighed per word)
    src_words: int = 1

    @property
    def aligned(self) -> bool:
        """The aligner links the candidate to the span (both ways)."""
        return self.src_cov > 0 and self.tgt_cov > 0


def features_of(cands: Sequence[Any], covs: Mapping[tuple[int, int], tuple[float, float, int]]) -> list[Features]:
    """The features of codec candidates (``start``, ``end``, exact ``score``, ``lex``, ``rev``) given the
    aligner's coverage of each character range (ranges it did not propose: no coverage)."""
    if not cands:
        return []
    best = max(c.score for c in cands)
    span_words = next(iter(covs.values()))[2] if covs else 1
    out = []
    for c in cands:
        src, tgt, words = covs.get((c.start, c.end), (0.0, 0.0, span_words))
        out.append(Features(c.score - best, src, tgt, c.lex, c.rev, words))
    return out


def combined_score(f: Features, weights: Mapping[str, float]) -> float:
    """``w_mt * mt + w_src * src_cov + w_tgt * tgt_cov + w_lex * lex + w_rev * rev`` with ``rev`` per
    source word (floors applied; a missing reverse score counts as half the floor)."""
    rev = REV_FLOOR / 2 if f.rev is None else max(REV_FLOOR, f.rev / max(1, f.src_words))
    return (weights["mt"] * max(MT_FLOOR, f.mt) + weights["src"] * f.src_cov + weights["tgt"] * f.tgt_cov
            + weights["lex"] * f.lex + weights["rev"] * rev)


def choose(features: Sequence[Features], weights: Mapping[str, float], *, lex_keep: float,
           rev_keep: float) -> list[int]:
    """Indices of the viable candidates, best combined score first (ties: the earlier candidate)."""
    viable = [k for k, f in enumerate(features)
              if f.aligned or f.lex >= lex_keep or (f.rev is not None and f.rev >= rev_keep)]
    return sorted(viable, key=lambda k: (-combined_score(features[k], weights), k))


def ranked(ranges: Sequence[tuple[int, int]], features: Sequence[Features], weights: Mapping[str, float], *,
           lex_keep: float, rev_keep: float) -> list[Any]:
    """The span's viable candidates (character ``ranges`` with their ``features``) as codec's re-ranking
    returns them (:class:`~projector.methods._rerank.Candidate`, best first, ``score`` = the combined
    score): what :func:`~projector.methods._rerank.resolve_overlaps` settles a sentence's spans with."""
    from ._rerank import Candidate

    order = choose(features, weights, lex_keep=lex_keep, rev_keep=rev_keep)
    return [Candidate(ranges[n][0], ranges[n][1], combined_score(features[n], weights), pos, features[n].lex,
                      features[n].rev) for pos, n in enumerate(order)]


# -- the search, on a CodecMethod's state ------------------------------------------------------------

def piece_boundary(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """The first piece starting at or after ``char`` (``len(offsets)`` past the end): where a marker
    before that character goes."""
    for b, (start, _) in enumerate(offsets):
        if start >= char:
            return b
    return len(offsets)


def guided_search(codec: Any, inputs: Sequence[Any], templates: Sequence[str | None], live: Sequence[int],
                  src_lang: str, tgt_lang: str, stats: Any) -> dict[int, Any]:
    """Candidates of every span of the inputs ``live`` from the guide aligner, scored exactly (see the
    module docstring); spans the aligner links to nothing get codec's beam search. Returns what
    :meth:`CodecMethod._search_all` returns, plus ``guided``: per span, each candidate's character
    range -> (source coverage, target coverage, source words)."""
    from ..convert import Snap, snap_span, tokenize
    from ._search import _score_placements, beam_placements

    per_input, tasks, keys = codec.build_tasks(inputs, templates, live, src_lang, tgt_lang, stats)
    o_pieces, c_pieces, _ = codec._marker_pieces(tgt_lang)
    src_words = {k: list(inputs[k].tokens) or tokenize(inputs[k].text, src_lang) for k in live}
    tgt_words = {k: list(inputs[k].template_tokens) if inputs[k].template is not None and inputs[k].template_tokens
                 else tokenize(templates[k] or "", tgt_lang) for k in live}
    combined, members = align_with_members(codec.guide_aligner(src_lang, tgt_lang),
                                           [[t.text for t in src_words[k]] for k in live],
                                           [[t.text for t in tgt_words[k]] for k in live])
    row = {k: n for n, k in enumerate(live)}
    span_options = codec._guide.span_options  # the align method's heuristics (guide_aligner built it)
    answers = {k: align_answers(inputs[k].spans, combined[row[k]], src_words[k], tgt_words[k], span_options)
               for k in live}
    jobs: list[tuple[int, int, int]] = []
    covs: dict[tuple[int, int], dict[tuple[int, int], tuple[float, float, int]]] = {}
    for t, (k, s) in enumerate(keys):
        chunk = snap_span(inputs[k].spans[s], src_words[k], Snap.EXPAND)
        words, offsets = tgt_words[k], per_input[k]["offsets"]
        if chunk is None or not words or tasks[t].status != "ok":
            continue
        span, links = (chunk.start, chunk.end), combined[row[k]].links
        extra = [answers[k].get(s), _heuristic_range(span, combined[row[k]], src_words[k], words, span_options)]
        seen: set[tuple[int, int]] = set()
        for lo, hi in candidate_ranges(span, [m.links for m in members[row[k]]], links, len(words), extra,
                                       codec.options.widen, codec.options.narrow):
            i, j = piece_boundary(offsets, words[lo].start), piece_boundary(offsets, words[hi - 1].end)
            if i < j and (i, j) not in seen:
                seen.add((i, j))
                jobs.append((t, i, j))
                src_cov, tgt_cov = coverage(span, (lo, hi), links)
                covs.setdefault((k, s), {})[(words[lo].start, words[hi - 1].end)] = (src_cov, tgt_cov,
                                                                                       span[1] - span[0])
    found, failures = _score_placements(codec._score(src_lang, tgt_lang), tasks, jobs, o_pieces, c_pieces, stats)
    silent = [t for t in range(len(tasks)) if not found[t] and tasks[t].status == "ok" and t not in failures]
    if silent:  # the aligner proposed nothing: codec's own search finds the candidates
        sub, sub_keys = [tasks[t] for t in silent], [keys[t] for t in silent]
        probe = codec._can_probe(src_lang, tgt_lang)
        score = codec._score(src_lang, tgt_lang)
        if probe:  # beam search starts from one probed pass of each span's clean template
            codec._prefix_pass(inputs, [], per_input, sub, sub_keys, score, src_lang, stats, tgt_lang, False)
        for t, res in zip(silent, beam_placements(score, sub, o_pieces, c_pieces, stats=stats) if probe else
                          _exact(codec, score, sub, o_pieces, c_pieces, stats), strict=True):
            found[t] = list(res)
    for t, reason in failures.items():
        if not found[t]:
            tasks[t].status, tasks[t].reason = "failed", reason
    out: dict[int, Any] = {k: {"d": per_input[k], "spans": {}, "guided": {}} for k in live}
    for t, (k, s) in enumerate(keys):
        out[k]["spans"][s] = (tasks[t], sorted(found[t], reverse=True))
        out[k]["guided"][s] = covs.get((k, s), {})
    return out


def _exact(codec: Any, score: Any, tasks: Sequence[Any], o: Sequence[str], c: Sequence[str], stats: Any) -> list[Any]:
    from ._search import search_placements

    return search_placements(score, tasks, o, c, batch_candidates=codec.options.batch_candidates, stats=stats,
                             max_tokens=codec.max_search_tokens)


def _heuristic_range(span: tuple[int, int], links: Any, src_words: Sequence[Any],
                     tgt_words: Sequence[Any], options: Any) -> tuple[int, int] | None:
    """The span heuristics' choice on the ensemble's links for this span alone (no other span to
    conflict with)."""
    from alignment.heuristics import project_spans

    (p,) = project_spans([(span[0], span[1], "X")], links, [t.text for t in tgt_words],
                         src_tokens=[t.text for t in src_words], options=options)
    return p.target


def align_answers(spans: Sequence[Any], links: Any, src_words: Sequence[Any], tgt_words: Sequence[Any],
                  options: Any) -> dict[int, tuple[int, int] | None]:
    """The align method's answer for each span of one sentence (index -> target word range, None where
    it fails): the span heuristics on the ensemble's links over all the sentence's spans at once, so
    with its conflict rules, as :class:`~projector.methods.align.AlignMethod` projects them."""
    from alignment.heuristics import project_spans

    from ..convert import Snap, snap_span

    chunks = [(i, c) for i, c in ((i, snap_span(sp, src_words, Snap.EXPAND)) for i, sp in enumerate(spans))
              if c is not None]
    projected = project_spans([(c.start, c.end, "X") for _, c in chunks], links, [t.text for t in tgt_words],
                              src_tokens=[t.text for t in src_words], options=options)
    return {i: p.target for (i, _), p in zip(chunks, projected, strict=True)}


def align_with_members(aligner: Any, src: Sequence[Sequence[str]], tgt: Sequence[Sequence[str]]) -> tuple[list[Any], list[list[Any]]]:
    """The aligner's links of each pair and, for an ensemble, each member's (members run once)."""
    if not src:
        return [], []
    if callable(getattr(aligner, "align_members", None)):
        return aligner.align_members(src, tgt)  # type: ignore[no-any-return]
    res = aligner.align(src, tgt)
    return res, [[r] for r in res]

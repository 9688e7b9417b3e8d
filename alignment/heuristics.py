"""From word links to projected spans: pure functions on token indices.

Given the source spans of one sentence (``(start, end_exclusive, label)`` token ranges), the word links
of the pair and the target tokens, :func:`project_spans` returns per span either a target token range
or a failure with a reason, and a status:

``projected``
    the aligned target words form one contiguous range, nothing was changed;
``fuzzy``
    a range was found but a heuristic changed it (a gap was filled, another group of aligned words
    was dropped, or punctuation was trimmed from the edges);
``failed``
    no range: ``reason`` says why (``"no aligned target words"``, ``"only punctuation aligned"``,
    ``"conflict: lost to span 2"``).

Each heuristic is a named option of :class:`SpanOptions`:

``gap_fill`` (int, default 3)
    aligned target words separated by at most this many unaligned words are joined into one group
    (0 disables gap filling).
``gap_unit`` (``"auto"`` | ``"words"`` | ``"chars"``, default ``"auto"``)
    what ``gap_fill`` counts: target words, characters, or (``auto``) characters for the words of
    scripts written without spaces (Japanese, Chinese, Thai...: :func:`projector.scripts.is_unspaced_text`)
    and words otherwise, so a projection onto such a text is the same whether its tokens are single
    characters or a segmenter's words.
``gap_rule`` (``"any"`` | ``"unclaimed"``, default ``"any"``)
    which gaps may be filled: any gap up to ``gap_fill`` words, or only gaps whose words no source
    word *outside* the span is linked to (*Comisión [de] Agricultura*: ``de`` is unaligned, filled;
    a word the links give to another phrase is not).
``trim_punct`` (bool, default True)
    target words made only of punctuation are ignored when they are aligned to the span (so a range
    never starts or ends with punctuation; inside a range they stay), unless the source span itself
    starts or ends with punctuation (given ``src_tokens``): *Parliament .* -> *议会。*; then an unlinked
    punctuation token right after (before) the range is added to it, as the source has one there.
``keep`` (``"largest"`` | ``"all"``, default ``"largest"``)
    with several groups, keep the group with the most links (ties: higher summed score, then the
    first), or cover everything from the first to the last aligned word.
``copy_match`` (bool, default True; needs the source tokens)
    when the span's words occur verbatim in the target (names often do), that occurrence is the
    projection: the only one, or else the one overlapping the aligned words most. Otherwise the
    links decide.
``trim_case`` (bool, default True; needs the source tokens)
    short lowercase target words (at most ``trim_case_max_len`` = 3 characters: articles,
    prepositions) are trimmed from the start (end) of the range, unless the source span itself
    starts (ends) with such a word (*de* Gaulle): *die* Europäischen Strukturfonds, *le* isole Azzorre. Longer lowercase words stay (English capitalizes
    adjectives that other languages do not: *europäischen* Wettbewerbspolitik). Scripts without case
    are never trimmed.
``particles`` (bool, default True; needs the source tokens)
    Japanese particles (:data:`PARTICLES`: に, の, を, から, として...; whole target tokens, next to a
    character that is not hiragana) belong to a span only when the source span has a function word at
    an edge (:data:`FUNCTION_WORDS`: "to Emperor" -> 天皇に, "of Ming" -> 明の): otherwise they are
    trimmed from the edges ("childhood name" -> 幼名, not 幼名を); with such a word, an unlinked particle
    right after the range (before it, for a function word at the source span's end: "princess of" ->
    の寵姫) is added to it. The hiragana inflection after a stem at the range's end (up to
    :data:`INFLECTION_MAX` characters, no particle: "continued" -> 続けた, "killed" -> 殺害している) is
    added too. Targets without hiragana are unchanged by these. In Chinese and Japanese alike, a counter
    (:data:`COUNTERS`) right after a numeral at the range's end is added ("December 1999" -> 1999年12月,
    not 1999年12), and in Chinese an aspect particle (:data:`CHINESE_ASPECT`: 了, 着, 过) ending a range
    after a segmenter word is trimmed ("introduced" -> 介绍, not 介绍了).
``trim_claimed`` (bool, default False)
    in a target of a script written without spaces, an edge word of the range linked at least as strongly
    (summed link score) to source words outside the span as to the span is trimmed ("political" -> 政治, not
    政治避难 when 避难 is linked to "asylum" as well): there the encoder's pieces and compounds spread links
    over neighbouring words. Words of spaced scripts are never trimmed by this rule (on Europarl it
    cost 0.002-0.005 F1). Off by default: +0.01 exact match on benchmarks/projection_cjk.py (ja, zh),
    whose gold spans are by construction linked to nothing outside, but -0.004 on held-out KFTT pairs.
``conflict`` (``"score"`` | ``"longer"`` | ``"first"`` | ``"none"``, default ``"score"``)
    when projected ranges overlap, the higher mean link score wins (ties: the longer range, then the
    earlier span), the longer target range wins (ties: higher score, then the earlier span), the
    earlier source span wins, or overlaps are kept.
``derived_misc`` (bool, default True; needs the source tokens)
    a name (a span labelled one of :data:`DERIVED_FROM`, with a capitalised source word) projected onto
    one lowercase word of a cased script is the adjective derived from it, which CoNLL's guidelines tag
    :data:`DERIVED_LABEL` (``MISC``): *Europe* -> *europäischen*, *Belgium* -> *belgi*, *Community* ->
    *comunitario*; its label becomes that one. Elliptic compound parts (*mittel-*) keep theirs.
    translate-train and translate-test turn it off for data without a ``MISC`` label (WikiANN) and for events.
``clip`` (bool, default True)
    a span that loses a conflict keeps the part of its range that no winner covers, narrowed to the
    words aligned to it (the stretch with the most of them), instead of failing; it fails when no aligned
    word is left there.

The defaults are the heuristics chosen by ``benchmarks/projection_quality.py`` (one setting for
Europarl en->de/es/it).

Ensembles of aligners combine link sets with :func:`combine_links` (union, intersection, weighted vote).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .base import AlignmentResult, Link
from .unspaced import (
    COUNTER_ADDED,
    FUNCTION_WORDS,
    INFLECTION_ADDED,
    PARTICLE_ADDED,
    PARTICLE_TRIMMED,
    PARTICLES,
    unspaced_rules,
)

__all__ = [
    "SpanOptions",
    "ProjectedSpan",
    "project_spans",
    "combine_links",
    "is_punctuation",
    "GAP_FILLED",
    "GROUP_DROPPED",
    "PUNCT_TRIMMED",
    "COPY_MATCHED",
    "CASE_TRIMMED",
    "PARTICLE_TRIMMED",
    "PARTICLE_ADDED",
    "INFLECTION_ADDED",
    "CONFLICT_CLIPPED",
    "CLAIMED_TRIMMED",
    "DERIVED_RELABELLED",
    "DERIVED_FROM",
    "DERIVED_LABEL",
    "derived_label",
    "COUNTER_ADDED",
    "PARTICLES",
    "FUNCTION_WORDS",
]

CONFLICT_RULES = ("longer", "score", "first", "none")
KEEP_RULES = ("largest", "all")
GAP_RULES = ("any", "unclaimed")
GAP_UNITS = ("auto", "words", "chars")

GAP_FILLED = "gap filled"
GROUP_DROPPED = "group dropped"
PUNCT_TRIMMED = "punctuation trimmed"
COPY_MATCHED = "copy matched"
CASE_TRIMMED = "lowercase trimmed"
CONFLICT_CLIPPED = "clipped by a conflict"
CLAIMED_TRIMMED = "claimed word trimmed"
DERIVED_RELABELLED = "derived adjective relabelled"
#: the source labels whose derived adjectives CoNLL tags MISC (``derived_misc``)
DERIVED_FROM = frozenset({"PER", "LOC", "ORG"})
#: the label CoNLL gives adjectives derived from names (``derived_misc``)
DERIVED_LABEL = "MISC"

@dataclass(frozen=True)
class SpanOptions:
    """The span heuristics (see the module docstring for each option)."""

    gap_fill: int = 3
    gap_rule: str = "any"
    gap_unit: str = "auto"
    trim_punct: bool = True
    keep: str = "largest"
    conflict: str = "score"
    copy_match: bool = True
    trim_case: bool = True
    trim_case_max_len: int = 3
    particles: bool = True
    clip: bool = True
    trim_claimed: bool = False
    derived_misc: bool = True

    def __post_init__(self) -> None:
        from projector.errors import ConfigError, UnknownNameError

        if self.gap_fill < 0:
            raise ConfigError(f"gap_fill must be >= 0, got {self.gap_fill}")
        if self.gap_unit not in GAP_UNITS:
            raise UnknownNameError("gap unit", self.gap_unit, GAP_UNITS)
        if self.gap_rule not in GAP_RULES:
            raise UnknownNameError("gap rule", self.gap_rule, GAP_RULES)
        if self.keep not in KEEP_RULES:
            raise UnknownNameError("keep rule", self.keep, KEEP_RULES)
        if self.conflict not in CONFLICT_RULES:
            raise UnknownNameError("conflict rule", self.conflict, CONFLICT_RULES)


@dataclass(frozen=True)
class ProjectedSpan:
    """The projection of source span ``index``: a target range ``[start, end)`` or a failure."""

    index: int
    label: str
    source: tuple[int, int]
    target: tuple[int, int] | None
    status: str
    reason: str | None = None
    score: float = 0.0
    notes: tuple[str, ...] = field(default=())
    #: the target words aligned to the span inside ``target`` (what a conflict may keep)
    aligned: tuple[int, ...] = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        """Whether the span was projected (``projected`` or ``fuzzy``)."""
        return self.target is not None


def is_punctuation(token: str) -> bool:
    """Whether ``token`` is non-empty and made only of Unicode punctuation characters."""
    return bool(token) and all(unicodedata.category(ch).startswith("P") for ch in token)


def gap_sizes(tgt_tokens: Sequence[str], unit: str) -> list[int]:
    """What each target token counts for in a gap: 1 (``words``), its characters (``chars``), or
    (``auto``) its characters when it is of a script written without spaces, else 1."""
    from projector.scripts import is_unspaced_text

    if unit == "words":
        return [1] * len(tgt_tokens)
    return [len(t) if unit == "chars" or is_unspaced_text(t) else 1 for t in tgt_tokens]


def _gap(prev: int, j: int, sizes: Sequence[int] | None) -> int:
    """The size of the gap between aligned positions ``prev < j``."""
    return j - prev - 1 if sizes is None else sum(sizes[prev + 1:j])


def _groups(indices: list[int], gap_fill: int, claimed: set[int] | None = None,
            sizes: Sequence[int] | None = None) -> list[list[int]]:
    """Sorted indices split into groups; a gap of <= ``gap_fill`` missing positions joins groups
    (each position counting ``sizes[j]``, default 1).

    With ``claimed`` (target words linked to source words outside the span), a gap holding one of
    them is never filled.
    """
    groups: list[list[int]] = []
    for j in indices:
        prev = groups[-1][-1] if groups else None
        if prev is not None and _gap(prev, j, sizes) <= gap_fill and (
                claimed is None or not any(g in claimed for g in range(prev + 1, j))):
            groups[-1].append(j)
        else:
            groups.append([j])
    return groups


def _occurrences(needle: Sequence[str], haystack: Sequence[str]) -> list[int]:
    n = len(needle)
    if n == 0:
        return []
    return [k for k in range(len(haystack) - n + 1) if list(haystack[k:k + n]) == list(needle)]


def _copy_match(span: tuple[int, int, str], src_tokens: Sequence[str], tgt_tokens: Sequence[str],
                aligned: set[int]) -> tuple[int, int] | None:
    start, end, _ = span
    words = src_tokens[start:end]
    if not words or all(is_punctuation(w) for w in words):
        return None
    hits = _occurrences(words, tgt_tokens)
    if len(hits) == 1:
        return hits[0], hits[0] + len(words)
    if len(hits) > 1 and aligned:
        overlap = [(len(aligned & set(range(h, h + len(words)))), -h) for h in hits]
        best = max(overlap)
        if best[0] > 0 and overlap.count(best) == 1:
            return -best[1], -best[1] + len(words)
    return None


def _trim_case(lo: int, hi: int, first: str, last: str, tgt_tokens: Sequence[str], max_len: int,
               droppable: Callable[[int], bool]) -> tuple[int, int, bool]:
    """Trim short lowercase words (and then punctuation) from the edges of ``[lo, hi)``.

    An edge is trimmed only when the source span's word at that edge is not itself a short lowercase
    word. The range never becomes empty and never ends on a word it would trim.
    """
    def short_lower(tok: str) -> bool:
        return tok.islower() and len(tok) <= max_len

    def trimmable(j: int) -> bool:
        return short_lower(tgt_tokens[j]) or droppable(j)

    new_lo, new_hi = lo, hi
    if not short_lower(first):
        while new_lo < new_hi - 1 and trimmable(new_lo):
            new_lo += 1
    if not short_lower(last):
        while new_hi - 1 > new_lo and trimmable(new_hi - 1):
            new_hi -= 1
    if (new_lo, new_hi) == (lo, hi) or trimmable(new_lo) or trimmable(new_hi - 1):
        return lo, hi, False
    return new_lo, new_hi, True


def _trim_claimed(lo: int, hi: int, start: int, end: int, links: Iterable[Link],
                  scores: Mapping[Link, float] | None, weight: Mapping[int, float],
                  tgt_tokens: Sequence[str]) -> tuple[int, int, bool]:
    """``[lo, hi)`` without the edge words linked at least as strongly (summed score) to source words
    outside ``[start, end)`` as to the span (a filled gap's word linked outside only, once it is at an edge), in a target of a script written without spaces (unchanged
    otherwise); one word is always kept."""
    from projector.scripts import is_unspaced_text

    if not any(is_unspaced_text(t) for t in tgt_tokens):
        return lo, hi, False
    outside: dict[int, float] = {}
    for i, j in links:
        if not start <= i < end and lo <= j < hi:
            outside[j] = outside.get(j, 0.0) + (scores.get((i, j), 1.0) if scores is not None else 1.0)

    def claimed(j: int) -> bool:
        return outside.get(j, 0.0) >= weight.get(j, 0.0) > 0.0 or (j not in weight and j in outside)

    new_lo, new_hi = lo, hi
    while new_hi - new_lo > 1 and claimed(new_lo):
        new_lo += 1
    while new_hi - new_lo > 1 and claimed(new_hi - 1):
        new_hi -= 1
    return new_lo, new_hi, (new_lo, new_hi) != (lo, hi)


def _source_punctuation(lo: int, hi: int, start: int, end: int, src_tokens: Sequence[str],
                        tgt_tokens: Sequence[str], links: Iterable[Link]) -> tuple[int, int]:
    """``[lo, hi)`` with the punctuation token right after (before) it added when the source span ends
    (starts) with punctuation and no source word outside the span is linked to it."""
    outside = {j for i, j in links if not start <= i < end}
    if is_punctuation(src_tokens[end - 1]) and hi < len(tgt_tokens) and is_punctuation(tgt_tokens[hi]) \
            and hi not in outside and not is_punctuation(tgt_tokens[hi - 1]):
        hi += 1
    if is_punctuation(src_tokens[start]) and lo > 0 and is_punctuation(tgt_tokens[lo - 1]) \
            and lo - 1 not in outside and not is_punctuation(tgt_tokens[lo]):
        lo -= 1
    return lo, hi


def _project_one(index: int, span: tuple[int, int, str], links: Sequence[Link],
                 scores: Mapping[Link, float] | None, tgt_tokens: Sequence[str],
                 options: SpanOptions, src_tokens: Sequence[str] | None = None) -> ProjectedSpan:
    start, end, label = span
    src = (start, end)
    if options.copy_match and src_tokens is not None:
        aligned = {j for i, j in links if start <= i < end}
        copied = _copy_match(span, src_tokens, tgt_tokens, aligned)
        if copied is not None:
            span_links = [(i, j) for i, j in links if start <= i < end and copied[0] <= j < copied[1]]
            score = (sum(scores.get(lk, 1.0) for lk in span_links) / len(span_links)
                     if scores is not None and span_links else 1.0)
            return ProjectedSpan(index, label, src, copied, "projected", None, score, (COPY_MATCHED,),
                                 tuple(range(*copied)))
    weight: dict[int, float] = {}
    count: dict[int, int] = {}
    for i, j in links:
        if start <= i < end and 0 <= j < len(tgt_tokens):
            count[j] = count.get(j, 0) + 1
            weight[j] = weight.get(j, 0.0) + (scores.get((i, j), 1.0) if scores is not None else 1.0)
    if not count:
        return ProjectedSpan(index, label, src, None, "failed", "no aligned target words")
    targets = sorted(count)

    # punctuation the source span itself has at an edge ("parliament .") is kept in the target ("议会。")
    trim_punct = options.trim_punct and not (src_tokens is not None and (
        is_punctuation(src_tokens[start]) or is_punctuation(src_tokens[end - 1])))

    def droppable(j: int) -> bool:
        return trim_punct and is_punctuation(tgt_tokens[j])

    dropped_punct = [j for j in targets if droppable(j)]
    targets = [j for j in targets if not droppable(j)]
    if not targets:
        return ProjectedSpan(index, label, src, None, "failed", "only punctuation aligned")
    notes: list[str] = []
    claimed = None
    if options.gap_rule == "unclaimed":
        claimed = {j for i, j in links if not start <= i < end}
    groups = _groups(targets, options.gap_fill, claimed, gap_sizes(tgt_tokens, options.gap_unit))
    if options.keep == "all":
        chosen = targets
    else:
        def rank(group: list[int]) -> tuple[int, float]:
            return (sum(count[j] for j in group), sum(weight[j] for j in group))

        best = max(range(len(groups)), key=lambda g: (rank(groups[g]), -g))
        chosen = groups[best]
        if len(groups) > 1:
            notes.append(GROUP_DROPPED)
    lo, hi = chosen[0], chosen[-1] + 1
    if hi - lo > len(chosen):
        notes.append(GAP_FILLED)
    if any(not lo <= j < hi for j in dropped_punct):
        notes.append(PUNCT_TRIMMED)
    if options.trim_case and src_tokens is not None:
        lo, hi, trimmed = _trim_case(lo, hi, src_tokens[start], src_tokens[end - 1], tgt_tokens,
                                     options.trim_case_max_len, droppable)
        if trimmed:
            notes.append(CASE_TRIMMED)
    if options.trim_punct and src_tokens is not None:
        lo, hi = _source_punctuation(lo, hi, start, end, src_tokens, tgt_tokens, links)
    if options.trim_claimed:
        lo, hi, trimmed = _trim_claimed(lo, hi, start, end, links, scores, weight, tgt_tokens)
        if trimmed:
            notes.append(CLAIMED_TRIMMED)
    if options.particles:
        lo, hi, more = unspaced_rules(lo, hi, start, end, src_tokens, tgt_tokens, links)
        notes.extend(more)
    inside = [j for j in targets if lo <= j < hi]
    n_links = sum(count[j] for j in inside)
    score = sum(weight[j] for j in inside) / n_links if n_links else 0.0
    status = "fuzzy" if notes else "projected"
    return ProjectedSpan(index, label, src, (lo, hi), status, None, score, tuple(notes), tuple(inside))


def _clipped(p: ProjectedSpan, taken: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The part of ``p``'s range that no range of ``taken`` overlaps, narrowed to ``p``'s aligned words:
    the stretch between the winners with the most of them (ties: the first); None when none is left."""
    assert p.target is not None
    lo, hi = p.target
    cuts = sorted((max(lo, a), min(hi, b)) for a, b in taken if a < hi and lo < b)
    pieces, start = [], lo
    for a, b in cuts:
        pieces.append((start, a))
        start = max(start, b)
    pieces.append((start, hi))
    best: tuple[int, int] | None = None
    most = 0
    for a, b in pieces:
        inside = [j for j in p.aligned if a <= j < b]
        if len(inside) > most:
            best, most = (inside[0], inside[-1] + 1), len(inside)
    return best


def _resolve_conflicts(projected: list[ProjectedSpan], rule: str, clip: bool = False) -> list[ProjectedSpan]:
    if rule == "none":
        return projected
    candidates = [p for p in projected if p.target is not None]

    def priority(p: ProjectedSpan) -> tuple[float, ...]:
        assert p.target is not None
        length = p.target[1] - p.target[0]
        if rule == "longer":
            return (-length, -p.score, p.index)
        if rule == "score":
            return (-p.score, -length, p.index)
        return (p.index,)

    accepted: list[ProjectedSpan] = []
    lost: dict[int, int] = {}
    kept: dict[int, ProjectedSpan] = {}
    for p in sorted(candidates, key=priority):
        assert p.target is not None
        winner = next((a for a in accepted if a.target is not None
                       and p.target[0] < a.target[1] and a.target[0] < p.target[1]), None)
        if winner is None:
            accepted.append(p)
            continue
        rest = _clipped(p, [a.target for a in accepted if a.target is not None]) if clip else None
        if rest is None:
            lost[p.index] = winner.index
            continue
        q = ProjectedSpan(p.index, p.label, p.source, rest, "fuzzy", None, p.score, (*p.notes, CONFLICT_CLIPPED),
                          tuple(j for j in p.aligned if rest[0] <= j < rest[1]))
        accepted.append(q)
        kept[p.index] = q
    out: list[ProjectedSpan] = []
    for p in projected:
        if p.index in kept:
            out.append(kept[p.index])
        elif p.index in lost:
            out.append(ProjectedSpan(p.index, p.label, p.source, None, "failed",
                                     f"conflict: lost to span {lost[p.index]}", p.score, p.notes))
        else:
            out.append(p)
    return out


def project_spans(spans: Sequence[tuple[int, int, str]], links: AlignmentResult | Iterable[Link],
                  tgt_tokens: Sequence[str], *, src_tokens: Sequence[str] | None = None,
                  scores: Mapping[Link, float] | None = None,
                  options: SpanOptions | None = None) -> list[ProjectedSpan]:
    """Project source ``spans`` onto the target through word ``links``; one result per span, in order.

    ``links`` is an :class:`AlignmentResult` (its scores are used unless ``scores`` is given) or any
    iterable of ``(i, j)`` links. ``tgt_tokens`` are the target words (used for punctuation trimming and
    bounds); ``src_tokens`` the source words (needed by ``copy_match``). Links outside the target are
    ignored.
    """
    options = options or SpanOptions()
    if isinstance(links, AlignmentResult):
        if scores is None:
            scores = links.scores
        link_list: list[Link] = list(links.links)
    else:
        link_list = [(int(i), int(j)) for i, j in links]
    projected = [_project_one(k, span, link_list, scores, tgt_tokens, options, src_tokens)
                 for k, span in enumerate(spans)]
    resolved = _resolve_conflicts(projected, options.conflict, options.clip)
    if not options.derived_misc or src_tokens is None:
        return resolved
    return [_relabel(p, src_tokens, tgt_tokens, DERIVED_LABEL) for p in resolved]


def derived_label(label: str, src_words: Sequence[str], tgt_words: Sequence[str], derived: str) -> str:
    """``derived`` when a name (``label`` in :data:`DERIVED_FROM`, a capitalised source word) is projected
    onto one lowercase word of a cased script (not an elliptic compound part ending in ``-``), else ``label``."""
    if not derived or label == derived or label not in DERIVED_FROM or len(tgt_words) != 1:
        return label
    word = tgt_words[0]
    if not word[:1].isalpha() or not word[:1].islower() or word.endswith("-"):
        return label
    return derived if any(w[:1].isupper() for w in src_words) else label


def _relabel(p: ProjectedSpan, src_tokens: Sequence[str], tgt_tokens: Sequence[str], derived: str) -> ProjectedSpan:
    if p.target is None:
        return p
    label = derived_label(p.label, src_tokens[p.source[0]:p.source[1]], tgt_tokens[p.target[0]:p.target[1]], derived)
    if label == p.label:
        return p
    return replace(p, label=label, status="fuzzy", notes=(*p.notes, DERIVED_RELABELLED))


def combine_links(results: Sequence[AlignmentResult], method: str = "union",
                  weights: Sequence[float] | None = None, threshold: float = 0.5) -> AlignmentResult:
    """Combine the link sets several aligners gave for the same sentence pair.

    ``union`` keeps a link any aligner gives, ``intersection`` one all give, ``vote`` one whose summed
    aligner weight (default 1 each) is at least ``threshold`` times the total weight. The combined score of a link
    is its weighted vote share for ``vote``, otherwise the mean of the scores the aligners gave it.
    """
    from projector.errors import ConfigError, UnknownNameError

    if method not in ("union", "intersection", "vote"):
        raise UnknownNameError("ensemble method", method, ("union", "intersection", "vote"))
    if not results:
        return AlignmentResult(frozenset(), {})
    w = list(weights) if weights is not None else [1.0] * len(results)
    if len(w) != len(results):
        raise ConfigError(f"{len(w)} weights for {len(results)} aligners")
    total = sum(w)
    votes: dict[Link, float] = {}
    given: dict[Link, list[float]] = {}
    for res, wk in zip(results, w):
        for link in res.links:
            votes[link] = votes.get(link, 0.0) + wk
            given.setdefault(link, []).append(res.score(link))
    if method == "union":
        keep = set(votes)
    elif method == "intersection":
        keep = {link for link in votes if len(given[link]) == len(results)}
    else:
        keep = {link for link, v in votes.items() if v >= threshold * total - 1e-12}
    if method == "vote":
        scores = {link: votes[link] / total for link in keep}
    else:
        scores = {link: sum(given[link]) / len(given[link]) for link in keep}
    return AlignmentResult(frozenset(keep), scores)

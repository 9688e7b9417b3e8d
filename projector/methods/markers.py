"""Markers (mark-then-translate, EasyProject, Chen et al. 2023): translate the source with markers
around each span and read the markers back.

* Markers: ``brackets`` (default ``[`` ``]`` around every span) or ``tags`` (``<PER>...</PER>``, the
  label as tag name; labels that are not plain names get ``<S3>``-style tags). Nested spans are
  marked nested; a span *crossing* another (overlapping without containment) cannot be marked and
  fails with that reason (the earlier, then longer, span is kept).
* Reading (:mod:`projector.methods._markup`): look-alike, doubled, swapped markers and spacing are
  normalized; unbalanced markers, or a number of marked spans different from the number sent, fail
  every span of the sentence with the reason, and the marker-stripped text is still returned.
* Labels (brackets): in order when all labels are equal; otherwise every target span is compared
  (rapidfuzz ratio, lowercased) with the standalone translation of each source span and with the
  source span itself (the max of the two), and the assignment maximizing the total similarity is
  taken (exhaustive up to 7 spans, greedy beyond); when the in-order assignment is as good, order is
  kept (``projected``), else spans are ``fuzzy`` ("labels assigned by fuzzy match"). With tags the
  tag names give the labels (the same procedure among spans sharing a tag).
* The output text is the marker-stripped translation. With ``marker_cost=True`` the clean source is
  translated too and ``info["marker_chrf"]`` is chrF (sacrebleu) of the marker-stripped translation
  against the clean one: what the markers cost the translation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import permutations
from typing import Any

from ..data import Span, SpanStatus
from ..errors import ConfigError
from ..options import MarkersOptions, MTOptions, merge_options
from ._markup import MarkedSpan, ParseResult, insert_markers, parse_brackets, parse_tags, tag_name
from ._mt import batched_translate, beam_of, model_name, resolve_translator, uses_spaces
from .base import ProjectionInput, ProjectionOutput, SpanProjection, failed_output

logger = logging.getLogger("projector.methods")

__all__ = ["MarkersMethod", "assign_spans", "markable_spans"]


def markable_spans(spans: Sequence[Span]) -> tuple[list[int], dict[int, str]]:
    """Indices of the spans that can be marked together (no crossing), and failure reasons of the rest."""
    order = sorted(range(len(spans)), key=lambda k: (spans[k].start, -spans[k].end, k))
    kept: list[int] = []
    failed: dict[int, str] = {}
    for k in order:
        a = spans[k]
        crossing = [q for q in kept if a.overlaps(spans[q]) and not (a.contains(spans[q]) or spans[q].contains(a))]
        if crossing:
            failed[k] = "crosses another span (markers cannot express it)"
        else:
            kept.append(k)
    return kept, failed


def _similarity(target: str, source: str, translated: str | None) -> float:
    from rapidfuzz import fuzz

    t = target.lower().strip()
    best = fuzz.ratio(t, source.lower().strip())
    if translated:
        best = max(best, fuzz.ratio(t, translated.lower().strip()))
    return float(best) / 100.0


def assign_spans(targets: Sequence[str], sources: Sequence[str], translations: Sequence[str | None]) -> tuple[list[int], bool]:
    """For each target span, the index of its source span; and whether that is the in-order assignment.

    Maximizes the total similarity (see the module docstring); ties keep the order.
    """
    n = len(targets)
    sim = [[_similarity(targets[t], sources[s], translations[s]) for s in range(n)] for t in range(n)]
    identity = list(range(n))
    base = sum(sim[t][t] for t in range(n))
    if n <= 7:
        best, best_val = identity, base
        for perm in permutations(range(n)):
            val = sum(sim[t][perm[t]] for t in range(n))
            if val > best_val + 1e-9:
                best, best_val = list(perm), val
    else:
        pairs = sorted(((sim[t][s], -abs(t - s), t, s) for t in range(n) for s in range(n)), reverse=True)
        best = [-1] * n
        used: set[int] = set()
        for _, _, t, s in pairs:
            if best[t] < 0 and s not in used:
                best[t] = s
                used.add(s)
        if sum(sim[t][best[t]] for t in range(n)) <= base + 1e-9:
            best = identity
    return best, best == identity


class MarkersMethod:
    """Mark-then-translate projection (see the module docstring).

    Args:
        translator, model: a loaded Translator, or a model name loaded with ``mt_backends.load_translator``
            and ``mt`` (:class:`~projector.options.MTOptions`).
        options: :class:`~projector.options.MarkersOptions` (marker style, markers, marker cost);
            keyword ``overrides`` are its fields (``MarkersMethod(tr, markers="tags")``).
    """

    name = "markers"
    supports_template = False

    def __init__(self, translator: Any | None = None, model: str | None = None,
                 options: MarkersOptions | None = None, *, mt: MTOptions | None = None, **overrides: Any) -> None:
        self.options = merge_options(MarkersOptions, options, overrides)
        loaded = resolve_translator(translator, model, mt=mt)
        if loaded is None:
            raise ConfigError("markers needs a translator: pass translator= (a loaded Translator) or model=")
        self.translator: Any = loaded

    def signature(self) -> str:
        """The options' signature with the model used."""
        return self.options.signature(translator=model_name(self.translator))

    def _marked_text(self, item: ProjectionInput, kept: list[int]) -> str:
        ranges = [(item.spans[k].start, item.spans[k].end) for k in kept]
        if self.options.markers == "tags":
            names = [tag_name(item.spans[k].label, k) for k in kept]
            return insert_markers(item.text, ranges, [f"<{n}>" for n in names], [f"</{n}>" for n in names])
        return insert_markers(item.text, ranges, [self.options.open_marker] * len(kept), [self.options.close_marker] * len(kept))

    def _parse(self, text: str, source: str, tgt_lang: str) -> ParseResult:
        spaces = uses_spaces(tgt_lang)
        if self.options.markers == "tags":
            return parse_tags(text, spaces=spaces)
        if (self.options.open_marker, self.options.close_marker) != ("[", "]"):
            text = text.replace(self.options.open_marker, "[").replace(self.options.close_marker, "]")
        return parse_brackets(text, source_has_corner=("「" in source or "」" in source), spaces=spaces)

    def project(self, inputs: Sequence[ProjectionInput], src_lang: str, tgt_lang: str) -> list[ProjectionOutput]:
        """Translate each marked input and read its spans back."""
        if any(it.template is not None for it in inputs):
            raise ConfigError("the markers method produces its own translation and cannot take a target text")
        plans = []
        for it in inputs:
            valid = [k for k, s in enumerate(it.spans) if s.end <= len(it.text)]
            kept, failed = markable_spans([it.spans[k] for k in valid])
            kept = [valid[k] for k in kept]
            failed = {valid[k]: r for k, r in failed.items()}
            failed.update({k: "span outside the source text" for k in range(len(it.spans)) if k not in valid})
            plans.append((kept, failed, self._marked_text(it, kept) if kept else it.text))
        texts = [p[2] for p in plans]
        if self.options.marker_cost:
            texts += [it.text for it in inputs]
        results = self.translator.translate(texts, src_lang, tgt_lang, max_length=self.options.max_length)
        parsed: list[ParseResult | None] = []
        for it, r in zip(inputs, results, strict=False):
            parsed.append(self._parse(r.text, it.text, tgt_lang) if r.best is not None else None)
        # standalone translations of the spans of sentences whose labels must be matched
        need: list[tuple[int, int]] = []
        for n, (it, (kept, _, _), p) in enumerate(zip(inputs, plans, parsed, strict=True)):
            if p is not None and p.error is None and len(p.spans) == len(kept) and len(kept) > 1:
                labels = [it.spans[k].label for k in kept]
                if (self.options.markers == "brackets" and len(set(labels)) > 1) or (
                        self.options.markers == "tags" and len({tag_name(lab, k) for lab, k in zip(labels, kept)}) < len(kept)):
                    need.extend((n, k) for k in kept)
        tr = batched_translate(self.translator, [inputs[n].spans[k].text_of(inputs[n].text) for n, k in need],
                               src_lang, tgt_lang, beam_size=min(2, beam_of(self.translator)), max_length=64)
        span_tr = {key: (r.text if r is not None and r.best is not None else None) for key, r in zip(need, tr, strict=True)}
        outputs = []
        for n, it in enumerate(inputs):
            r = results[n]
            kept, failed, _ = plans[n]
            p = parsed[n]
            if p is None:
                outputs.append(failed_output(it, r.status, r.reason or f"translation {r.status}"))
                continue
            projs = self._project_one(it, kept, failed, p, span_tr, n)
            info: dict[str, Any] = {"marked_source": plans[n][2], "marked_translation": r.text}
            if p.repairs:
                info["repairs"] = sorted(set(p.repairs))
            if self.options.marker_cost:
                clean = results[len(inputs) + n]
                info["clean_translation"] = clean.text
                info["marker_chrf"] = _chrf(p.text, clean.text)
            outputs.append(ProjectionOutput(p.text, tuple(projs), r.status, r.reason, info))
        return outputs

    def _project_one(self, it: ProjectionInput, kept: list[int], failed: dict[int, str], p: ParseResult,
                     span_tr: dict[tuple[int, int], str | None], n: int) -> list[SpanProjection]:
        result: dict[int, SpanProjection] = {k: SpanProjection.failure(it.spans[k], r) for k, r in failed.items()}
        order = sorted(kept, key=lambda k: (it.spans[k].start, -it.spans[k].end))
        if p.error is not None or len(p.spans) != len(order):
            reason = (f"markers: {p.error}" if p.error else
                      "marker count mismatch: " + ("markers lost" if len(p.spans) < len(order) else "extra markers"))
            result.update({k: SpanProjection.failure(it.spans[k], reason) for k in order})
        else:
            for k, (target, status, why) in zip(order, self._assign(it, order, p, span_tr, n), strict=True):
                if target is None:
                    result[k] = SpanProjection.failure(it.spans[k], why or "not found")
                else:
                    result[k] = SpanProjection(it.spans[k], Span(target.start, target.end, it.spans[k].label),
                                               status, why)
        return [result[k] for k in range(len(it.spans))]

    def _assign(self, it: ProjectionInput, order: list[int], p: ParseResult,
                span_tr: dict[tuple[int, int], str | None], n: int) -> list[tuple[MarkedSpan | None, str, str | None]]:
        """Per source span (in ``order``): its target span, status and reason."""
        groups: dict[str, list[int]] = {}
        tgt_groups: dict[str, list[MarkedSpan]] = {}
        if self.options.markers == "tags":
            for pos, k in enumerate(order):
                groups.setdefault(tag_name(it.spans[k].label, k).upper(), []).append(pos)
            for ms in p.spans:
                tgt_groups.setdefault(ms.tag or "", []).append(ms)
        else:
            groups[""] = list(range(len(order)))
            tgt_groups[""] = list(p.spans)
        out: list[tuple[MarkedSpan | None, str, str | None]] = [(None, SpanStatus.FAILED, None)] * len(order)
        for name, members in groups.items():
            tgts = tgt_groups.get(name, [])
            if len(tgts) != len(members):
                for pos in members:
                    out[pos] = (None, SpanStatus.FAILED, f"tag <{name}> count mismatch")
                continue
            labels = {it.spans[order[pos]].label for pos in members}
            if len(members) == 1 or (self.options.markers == "brackets" and len(labels) == 1):
                mapping, in_order = list(range(len(members))), True
            else:
                srcs = [it.spans[order[pos]].text_of(it.text) for pos in members]
                trs = [span_tr.get((n, order[pos])) for pos in members]
                mapping, in_order = assign_spans([p.text[t.start:t.end] for t in tgts], srcs, trs)
            for t_idx, s_idx in enumerate(mapping):
                ms = tgts[t_idx]
                if ms.swapped:
                    out[members[s_idx]] = (ms, SpanStatus.FUZZY, "swapped markers")
                elif in_order:
                    out[members[s_idx]] = (ms, SpanStatus.PROJECTED, None)
                else:
                    out[members[s_idx]] = (ms, SpanStatus.FUZZY, "labels assigned by fuzzy match")
        return out


def _chrf(hyp: str, ref: str) -> float:
    import sacrebleu

    return float(sacrebleu.sentence_chrf(hyp, [ref]).score)

"""Codec: label projection by constrained decoding (Le et al., ICLR 2024), exact, on any backend with
``score``.

For each input the *template* T is fixed: the clean translation of the source (translated by
``translator``), or the given target text (template mode: translate-test, human parallel text). For
each source span k on its own, the *marked source* S_k has markers around span k only
(``"... [ span ] ..."``); codec finds the top-n placements of the marker pieces in T (opening before
template piece i, closing before piece j, i < j) maximizing log P(T with markers | S_k), scored with
the scorer's teacher-forced ``score``. The result is re-ranked, overlaps are resolved, and every span
gets a status; the rest of the sentence is kept when a span fails (the original drops the sentence).

Search (``search``):

* ``exact`` — best-first search over prefix bounds (:mod:`projector.methods._search`): log-probs are
  <= 0, so a scored prefix bounds every completion sharing it. One pass of T under S_k bounds every
  opening position i; one pass of T with only the opening marker at i gives the exact prefix score
  of every (i, j); full sequences are scored in order of that bound, many per ``score`` call, and the
  search stops when the best remaining bound is below the n-th best exact score. When the scorer can
  *probe* (CTranslate2, transformers: ``score(..., probe=)``), the same passes also give the
  log-probability of the first marker piece at every position, added to the bounds (tighter, still
  admissible). The result equals brute-force enumeration of every allowed placement (tested).
* ``pruned`` — Codec's heuristic: only pieces where marking the source changes the template's per-token
  NLL by >= 0.5, plus pieces within 5 of them changing by >= 0.1 (the 3 largest changes when none
  reaches 0.5; at most 12 pieces, the largest changes, when more qualify), may start or end the span;
  the search among them is exact.
* ``beam`` — approximate, estimate then verify: every allowed opening (or the ``beam_width`` where the model
  gives the opening piece the most probability) gets one pass with the opening marker
  inserted; every (i, j) is estimated from that pass alone (exact prefix + probed closing piece + the
  pass's own log-probs of the rest: only the closing marker's effect on the rest is missing), and the
  ``beam_rescore`` best estimates (default 2 x top-n) are scored exactly. 1 + openings + rescore
  sequences per span, against ~openings x closes for exact search. Measured on real text
  (``benchmarks/codec_quality.py``) it keeps exact search's accuracy at a quarter of its cost, and
  beats ``pruned``, whose positions miss the gold placement more often than beam's estimates do.
  Needs a scorer that probes; otherwise ``pruned``.

Allowed positions (``boundaries``): ``words`` — markers only at word boundaries of T (whitespace, or
between a letter/digit and punctuation, found from the sentencepiece pieces' character offsets, for
every family); ``pieces`` — between any two pieces; ``auto`` — ``pieces`` for languages written without
spaces (zh, ja, th...), else ``words``. When the given target comes with the data's own word tokens
(``template_tokens``), ``words``/``auto`` use those token boundaries instead.

Marker pieces come from the scorer's own vocabulary: the tokenizer's segmentation of ``[``/``]`` as a
word, a single piece ``▁[``/``▁]`` for NLLB, M2M100 and Marian; when a vocabulary has no such piece the
tokenizer's pieces for the marker are used (``info["marker_pieces"]`` says which).

Re-ranking (Codec's cascade, details in :mod:`projector.methods._rerank`): ``lex`` = max(rapidfuzz
ratio of the candidate to the standalone translation of the source span, ratio to the source span);
``rev`` = log P(source span | candidate), target->source, when the scorer can score that direction.
Viable: ``lex >= 0.5`` or ``rev >= -5`` (without ``rev``: the model's best placement too). Chosen: if
some viable ``lex >= 0.9``, the best ``rev`` among the highest ``lex``; else the best-scored viable
placement, unless a viable candidate strictly inside it has a better ``rev``. No viable candidate:
the span fails ("no viable candidate"), the rest of the sentence is kept.

Overlap rule: targets of spans whose *source* spans are disjoint must be disjoint. Spans are settled in
decreasing confidence (``lex`` of the chosen candidate, then its log-prob); a span whose choice
overlaps a settled one takes its next viable candidate in re-ranked order (status ``fuzzy``, "moved by
an overlap"), or fails when none is left ("overlaps a more confident projection"). Nested or
overlapping source spans (event triggers and arguments) may nest or overlap in the target.

The scorer may differ from the translator (``scorer_model``), e.g. a strong translator for T and an
EasyProject marker-fine-tuned NLLB as scorer, whose tokenizer comes from the base NLLB model
(``scorer_tokenizer``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from ..data import Span, SpanStatus
from ..errors import ConfigError, NotSupportedError, UnsupportedLanguageError
from ..options import CodecOptions, MTOptions, merge_options
from ._mt import batched_translate, beam_of, marker_pieces, model_name, resolve_translator, uses_spaces
from ._rerank import Candidate, lexical_similarity, rerank, resolve_overlaps
from ._search import (
    PruneRule,
    SearchStats,
    SearchTask,
    allowed_boundaries,
    beam_placements,
    piece_offsets,
    pruned_positions,
    search_placements,
    span_chars,
    token_boundaries,
)
from .base import ProjectionInput, ProjectionOutput, SpanProjection, failed_output

logger = logging.getLogger("projector.methods")

__all__ = ["CodecMethod", "mark_source", "DEFAULT_MAX_SEARCH_TOKENS"]

#: target tokens the exact/pruned search of one span may score before it returns its best placement so
#: far (status fuzzy, :data:`_BUDGET_REASON`): a count, not a time, so runs stay deterministic and
#: resumable. Unbounded, a span of the first 30 CoNLL-03 test sentences scores ~5,600 on average (110
#: sequences of ~50 tokens) and 4 of their 53 spans exceed 20,000; each of the 21 names of one 66-word
#: sentence exceeds 55,000 (its exact search took 393 s): bounded, the sentence scores <= 420,000.
DEFAULT_MAX_SEARCH_TOKENS = CodecOptions().max_search_tokens
_BUDGET_REASON = "search budget reached (max_search_tokens): best placement found so far"

#: a span's standalone translation (for the lexical similarity) is bounded to ``2 * its source pieces + 8``
#: pieces, at most 64: a translation of a few words is about as long as they are, and a model that does
#: not stop (or babbles) would otherwise generate 64 pieces for each span
SPAN_TRANSLATION_MAX = 64


def span_translation_bounds(pieces: Sequence[int]) -> list[int]:
    """The piece bound of each span translation given its source pieces: ``2n + 8`` rounded up to a
    multiple of 8 (few distinct bounds, so few ``translate`` calls), at most :data:`SPAN_TRANSLATION_MAX`."""
    return [min(SPAN_TRANSLATION_MAX, -(-(2 * n + 8) // 8) * 8) for n in pieces]


def translate_spans(translator: Any, texts: Sequence[str], src_lang: str, tgt_lang: str, beam_size: int) -> list[Any]:
    """Each span text's translation (``None`` for a blank one), bounded by :func:`span_translation_bounds`
    (:data:`SPAN_TRANSLATION_MAX` for all when the translator cannot tokenize); one call per bound."""
    try:
        pieces = [len(p) for p in translator.tokenize(list(texts), src_lang, side="source")]
    except (AttributeError, NotImplementedError, NotSupportedError, TypeError):
        pieces = [SPAN_TRANSLATION_MAX] * len(texts)
    groups: dict[int, list[int]] = {}
    for n, bound in enumerate(span_translation_bounds(pieces)):
        groups.setdefault(bound, []).append(n)
    out: list[Any] = [None] * len(texts)
    for bound, ns in sorted(groups.items()):
        res = batched_translate(translator, [texts[n] for n in ns], src_lang, tgt_lang, beam_size=beam_size,
                                max_length=bound)
        for n, r in zip(ns, res, strict=True):
            out[n] = r
    return out


def mark_source(text: str, span: Span, open_marker: str = "[", close_marker: str = "]") -> str:
    """``text`` with ``open_marker``/``close_marker`` around ``span`` (separated by spaces)."""
    before, inside, after = text[: span.start], text[span.start: span.end], text[span.end:]
    left = f"{before.rstrip()} {open_marker} " if before.strip() else f"{open_marker} "
    right = f" {close_marker} {after.lstrip()}" if after.strip() else f" {close_marker}"
    return (left + inside.strip() + right).strip()


class CodecMethod:
    """Codec projection (see the module docstring).

    Args:
        translator, model: the translator of the templates (a loaded Translator, or a model name
            loaded with ``mt_backends.load_translator`` and ``mt``); optional when every input has a
            template and the scorer can translate the spans.
        scorer: a loaded model that scores marker placements (default: the translator; or
            ``options.scorer_model``).
        options: :class:`~projector.options.CodecOptions` (search, re-ranking thresholds, markers...);
            keyword ``overrides`` are its fields (``CodecMethod(tr, search="beam", top_n=3)``).
        mt: :class:`~projector.options.MTOptions` for the models given by name.
    """

    name = "codec"
    supports_template = True

    def __init__(self, translator: Any | None = None, model: str | None = None, scorer: Any | None = None,
                 options: CodecOptions | None = None, *, mt: MTOptions | None = None, **overrides: Any) -> None:
        self.options = merge_options(CodecOptions, options, overrides).resolved()
        opts, mt = self.options, mt or MTOptions()
        mt_ = resolve_translator(translator, model, mt=mt)
        sc = resolve_translator(scorer, opts.scorer_model, what="scorer", mt=mt, tokenizer=opts.scorer_tokenizer)
        if mt_ is None and sc is None:
            raise ConfigError("codec needs a translator or a scorer: pass translator= (a loaded Translator), "
                              "model= or scorer_model=")
        #: translates templates and standalone spans
        self.translator: Any = mt_ if mt_ is not None else sc
        #: scores marker placements (and reverse scores)
        self.scorer: Any = sc if sc is not None else mt_
        if getattr(getattr(self.scorer, "info", None), "backend", "") == "bergamot":
            raise ConfigError("codec scores marker placements with an MT model, and the bergamot backend cannot "
                              "score: give a CTranslate2 or transformers model (model=), or scorer_model=")
        self.prune_rule = PruneRule()
        self._markers: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {}
        self._reverse_ok: dict[tuple[str, str], bool] = {}
        self._probe_ok: bool | None = None
        self._guide: Any = None
        #: work of the last :meth:`project` call (scored sequences/tokens, seconds per phase)
        self.last_stats: dict[str, Any] = {}

    @property
    def max_search_tokens(self) -> int | None:
        """The per-span budget of the exact/pruned search, in scored target tokens
        (``CodecOptions.max_search_tokens``; ``None``: no bound)."""
        return self.options.max_search_tokens

    def signature(self) -> str:
        """The options' signature with the models used (translator, and the scorer when separate)."""
        shown = {"translator": model_name(self.translator)}
        if self.scorer is not self.translator:
            shown["scorer"] = model_name(self.scorer)
        return self.options.signature(**shown)

    # -- helpers -----------------------------------------------------------------------------------
    def _marker_pieces(self, tgt_lang: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        if tgt_lang not in self._markers:
            o, o_origin = marker_pieces(self.scorer, self.options.open_marker, tgt_lang)
            c, c_origin = marker_pieces(self.scorer, self.options.close_marker, tgt_lang)
            origin = "vocabulary" if o_origin == c_origin == "vocabulary" else "tokenizer"
            self._markers[tgt_lang] = (o, c, origin)
        return self._markers[tgt_lang]

    def _score(self, src_lang: str, tgt_lang: str) -> Any:
        def fn(srcs: list[list[str]], tgts: list[list[str]], probes: list[str | None] | None = None) -> list[Any]:
            if probes is None:
                return self.scorer.score(srcs, tgts, src_lang, tgt_lang)
            return self.scorer.score(srcs, tgts, src_lang, tgt_lang, probe=probes)
        return fn

    def _can_probe(self, src_lang: str, tgt_lang: str) -> bool:
        """Whether the scorer returns probe log-probs (tighter search bounds); checked once."""
        if self._probe_ok is None:
            o, _, _ = self._marker_pieces(tgt_lang)
            try:
                res = self.scorer.score([[o[0]]], [[o[0]]], src_lang, tgt_lang, probe=o[0])
                self._probe_ok = bool(res) and getattr(res[0], "probe_logprobs", None) is not None
            except (NotSupportedError, TypeError, ConfigError) as exc:
                logger.info("codec: the scorer cannot probe marker pieces (%s): plain prefix bounds", exc)
                self._probe_ok = False
        return self._probe_ok

    def _reverse_scores(self, cands: list[str], spans: list[str], src_lang: str, tgt_lang: str) -> list[float | None]:
        key = (src_lang, tgt_lang)
        if not self.options.reverse or not cands or self._reverse_ok.get(key) is False:
            return [None] * len(cands)
        try:
            res = self.scorer.score(cands, spans, tgt_lang, src_lang)
        except (UnsupportedLanguageError, NotSupportedError, ConfigError) as exc:
            logger.info("codec: no reverse scores %s->%s (%s); re-ranking without them", tgt_lang, src_lang, exc)
            self._reverse_ok[key] = False
            return [None] * len(cands)
        self._reverse_ok[key] = True
        return [r.total if r.status == "ok" else None for r in res]

    # -- projection --------------------------------------------------------------------------------
    def project(self, inputs: Sequence[ProjectionInput], src_lang: str, tgt_lang: str) -> list[ProjectionOutput]:
        """Project every input's spans onto its template (translated when not given)."""
        t0 = time.perf_counter()
        outputs: list[ProjectionOutput | None] = [None] * len(inputs)
        templates: list[str | None] = [it.template for it in inputs]
        tstatus: list[tuple[str, str | None]] = [("ok", None)] * len(inputs)
        todo = [k for k, it in enumerate(inputs) if it.template is None]
        if todo:
            if self.translator is None:
                raise ConfigError("codec needs a translator for inputs without a target text")
            res = self.translator.translate([inputs[k].text for k in todo], src_lang, tgt_lang,
                                            max_length=self.options.max_length)
            for k, r in zip(todo, res, strict=True):
                if r.best is None:
                    outputs[k] = failed_output(inputs[k], r.status, r.reason or f"translation {r.status}")
                else:
                    templates[k] = r.text
                    tstatus[k] = (r.status, r.reason)
        t1 = time.perf_counter()
        live = [k for k in range(len(inputs)) if outputs[k] is None and inputs[k].spans]
        for k in range(len(inputs)):
            if outputs[k] is None and not inputs[k].spans:
                outputs[k] = ProjectionOutput(templates[k] or "", (), tstatus[k][0], tstatus[k][1],
                                              {"template": templates[k]})
        stats = SearchStats()
        placements = self._search_all(inputs, templates, live, src_lang, tgt_lang, stats) if live else {}
        t2 = time.perf_counter()
        for k, out in self._finish(inputs, templates, tstatus, placements, src_lang, tgt_lang).items():
            outputs[k] = out
        for k in live:
            if outputs[k] is not None:
                outputs[k] = ProjectionOutput(outputs[k].text, outputs[k].spans, outputs[k].status,  # type: ignore[union-attr]
                                              outputs[k].reason, {**outputs[k].info,  # type: ignore[union-attr]
                                                                  "template_given": inputs[k].template is not None})
        t3 = time.perf_counter()
        self.last_stats = {"sequences": stats.sequences, "tokens": stats.tokens, "calls": stats.calls,
                           "spans": sum(len(inputs[k].spans) for k in live), "translate_s": t1 - t0,
                           "search_s": t2 - t1, "rerank_s": t3 - t2}
        return [o for o in outputs if o is not None]

    def guide_aligner(self, src_lang: str, tgt_lang: str) -> Any:
        """The guided search's aligner (built once per pair as the align method builds it)."""
        if self._guide is None:
            from .align import AlignMethod

            self._guide = AlignMethod(options=self.options.guide())
        return self._guide._aligner(src_lang, tgt_lang)

    def _search_all(self, inputs: Sequence[ProjectionInput], templates: list[str | None], live: list[int],
                    src_lang: str, tgt_lang: str, stats: SearchStats) -> dict[int, Any]:
        if self.options.search == "guided":
            from ._guided import guided_search

            return guided_search(self, inputs, templates, live, src_lang, tgt_lang, stats)
        per_input, tasks, keys = self.build_tasks(inputs, templates, live, src_lang, tgt_lang, stats)
        o_pieces, c_pieces, _ = self._marker_pieces(tgt_lang)
        probe = self._can_probe(src_lang, tgt_lang)
        if self.options.search == "beam" and probe:
            results = beam_placements(self._score(src_lang, tgt_lang), tasks, o_pieces, c_pieces,
                                      opens=self.options.beam_width, rescore=self.options.beam_rescore, stats=stats)
        else:
            results = search_placements(self._score(src_lang, tgt_lang), tasks, o_pieces, c_pieces,
                                        batch_candidates=self.options.batch_candidates, stats=stats, probe=probe,
                                        max_tokens=self.max_search_tokens)
        out: dict[int, Any] = {k: {"d": per_input[k], "spans": {}} for k in live}
        for (k, s), task, res in zip(keys, tasks, results, strict=True):
            out[k]["spans"][s] = (task, res)
        return out

    def build_tasks(self, inputs: Sequence[ProjectionInput], templates: Sequence[str | None], live: Sequence[int],
                    src_lang: str, tgt_lang: str,
                    stats: SearchStats | None = None) -> tuple[dict[int, Any], list[SearchTask], list[tuple[int, int]]]:
        """The search task of every span of the inputs ``live`` (template pieces, offsets, allowed
        positions per input; tasks and their (input, span) keys). Pruned search scores here."""
        stats = stats if stats is not None else SearchStats()
        words = self.options.boundaries == "words" or (self.options.boundaries == "auto" and uses_spaces(tgt_lang))
        tpl_pieces = self.scorer.tokenize([templates[k] or "" for k in live], tgt_lang, side="target")
        marked: list[tuple[int, int, str]] = []  # (input, span index, marked source)
        for k in live:
            for s, span in enumerate(inputs[k].spans):
                if span.end <= len(inputs[k].text):
                    marked.append((k, s, mark_source(inputs[k].text, span, self.options.open_marker, self.options.close_marker)))
        src_pieces = self.scorer.tokenize([m[2] for m in marked], src_lang, side="source") if marked else []
        per_input: dict[int, dict[str, Any]] = {}
        for k, pieces in zip(live, tpl_pieces, strict=True):
            text = templates[k] or ""
            offsets = piece_offsets(text, pieces)
            toks = inputs[k].template_tokens if inputs[k].template is not None else ()
            if toks and self.options.boundaries != "pieces":
                allowed = token_boundaries(offsets, [(t.start, t.end) for t in toks])
            else:
                allowed = allowed_boundaries(text, offsets, words=words)
            per_input[k] = {"pieces": pieces, "offsets": offsets, "allowed": allowed}
        tasks: list[SearchTask] = []
        keys: list[tuple[int, int]] = []
        for (k, s, _), sp in zip(marked, src_pieces, strict=True):
            d = per_input[k]
            m = len(d["pieces"])
            opens = [i for i in range(m) if d["allowed"][i]]
            closes = [j for j in range(1, m + 1) if d["allowed"][j]]
            tasks.append(SearchTask(sp, list(d["pieces"]), opens, closes, self.options.top_n))
            keys.append((k, s))
        if tasks and self.options.search in ("pruned", "beam"):
            # beam needs a scorer that probes; without one it runs as pruned
            prune = self.options.search == "pruned" or not self._can_probe(src_lang, tgt_lang)
            self._prefix_pass(inputs, list(live), per_input, tasks, keys, self._score(src_lang, tgt_lang), src_lang,
                              stats, tgt_lang, prune)
        return per_input, tasks, keys

    def _prefix_pass(self, inputs: Sequence[ProjectionInput], live: list[int], per_input: dict[int, Any],
                     tasks: list[SearchTask], keys: list[tuple[int, int]], score: Any, src_lang: str,
                     stats: SearchStats, tgt_lang: str, prune: bool) -> None:
        """One pass of each span's clean template under its marked source (probing the opening piece
        when the scorer can): it seeds the searches' opening bounds and estimates. ``pruned`` also
        restricts the positions by Codec's NLL-change rule (``prune``), which needs one clean pass per input."""
        clean_src = self.scorer.tokenize([inputs[k].text for k in live], src_lang, side="source") if prune else []
        live = live if prune else []
        srcs = clean_src + [t.source for t in tasks]
        tgts = [list(per_input[k]["pieces"]) for k in live] + [t.template for t in tasks]
        stats.calls += 1
        stats.sequences += len(tgts)
        stats.tokens += sum(len(t) + 1 for t in tgts)
        if self._can_probe(src_lang, tgt_lang):  # the span passes also seed the opening bounds
            o_pieces, _, _ = self._marker_pieces(tgt_lang)
            res = score(srcs, tgts, [None] * len(live) + [o_pieces[0]] * len(tasks))
        else:
            res = score(srcs, tgts)
        clean = {k: r for k, r in zip(live, res[: len(live)], strict=True)}
        for (k, _), task, r in zip(keys, tasks, res[len(live):], strict=True):
            c = clean.get(k, r)
            if r.status != "ok" or c.status != "ok":
                task.opens, task.closes, task.status, task.reason = [], [], r.status, r.reason or c.reason
                continue
            task.prefix_logprobs = list(r.logprobs)
            task.open_probe = list(r.probe_logprobs) if getattr(r, "probe_logprobs", None) is not None else None
            if not prune:
                continue
            keep = pruned_positions(c.logprobs, r.logprobs, self.prune_rule)
            allowed = per_input[k]["allowed"]
            task.opens = [i for i in task.opens if i in keep]
            closes = []
            prev = 0
            for j in range(1, len(allowed)):
                if allowed[j]:
                    if any(q in keep for q in range(prev, j)):
                        closes.append(j)
                    prev = j
            task.closes = closes

    def _finish(self, inputs: Sequence[ProjectionInput], templates: list[str | None],
                tstatus: list[tuple[str, str | None]], placements: dict[int, Any], src_lang: str,
                tgt_lang: str) -> dict[int, ProjectionOutput]:
        # candidates per span, as character ranges of the template (duplicates keep the best)
        cands: dict[tuple[int, int], list[Candidate]] = {}
        for k, entry in placements.items():
            offsets = entry["d"]["offsets"]
            for s, (_, res) in entry["spans"].items():
                seen: dict[tuple[int, int], Candidate] = {}
                for p in res:
                    rng = span_chars(offsets, p.open, p.close)
                    if rng is not None and rng not in seen:
                        seen[rng] = Candidate(rng[0], rng[1], p.score, len(seen))
                cands[(k, s)] = list(seen.values())
        span_texts = [inputs[k].spans[s].text_of(inputs[k].text) for k, s in cands]
        translated = translate_spans(self.translator, span_texts, src_lang, tgt_lang,
                                     min(beam_of(self.translator), 2))
        flat: list[tuple[tuple[int, int], int]] = []
        for key, lst in cands.items():
            flat.extend((key, n) for n in range(len(lst)))
        rev = self._reverse_scores([(templates[key[0]] or "")[cands[key][n].start: cands[key][n].end] for key, n in flat],
                                   [inputs[key[0]].spans[key[1]].text_of(inputs[key[0]].text) for key, n in flat],
                                   src_lang, tgt_lang)
        for (key, n), r in zip(flat, rev, strict=True):
            c = cands[key][n]
            cands[key][n] = Candidate(c.start, c.end, c.score, c.rank, c.lex, r)
        for (key, lst), src_text, tr in zip(list(cands.items()), span_texts, translated, strict=True):
            tpl = templates[key[0]] or ""
            tr_text = tr.text if tr is not None and tr.best is not None else None
            cands[key] = [Candidate(c.start, c.end, c.score, c.rank,
                                    lexical_similarity(tpl[c.start:c.end], src_text, tr_text), c.rev) for c in lst]
        outputs: dict[int, ProjectionOutput] = {}
        for k, entry in placements.items():
            item, tpl = inputs[k], templates[k] or ""
            if "guided" in entry:
                ranked = [self._guided_rank(cands.get((k, s), []), entry["guided"].get(s, {}))
                          for s in range(len(item.spans))]
            else:
                ranked = [rerank(cands.get((k, s), []), lex_keep=self.options.lex_keep, rev_keep=self.options.rev_keep,
                                 lex_sure=self.options.lex_sure) for s in range(len(item.spans))]
            settled = resolve_overlaps([(sp.start, sp.end) for sp in item.spans], ranked)
            projs: list[SpanProjection] = []
            for s, span in enumerate(item.spans):
                st = settled[s]
                task = entry["spans"].get(s, (None, None))[0]
                if st.candidate is None:
                    projs.append(SpanProjection.failure(span, self._failure_reason(task, cands.get((k, s)), ranked[s],
                                                                                   span, item.text)))
                    continue
                c = st.candidate
                target = Span(c.start, c.end, span.label)
                if st.moved:
                    projs.append(SpanProjection(span, target, SpanStatus.FUZZY, "moved by an overlap", c.score))
                elif task is not None and task.truncated:  # the search's best so far, not its proven best
                    projs.append(SpanProjection(span, target, SpanStatus.FUZZY, _BUDGET_REASON, c.score))
                else:
                    projs.append(SpanProjection(span, target, SpanStatus.PROJECTED, None, c.score))
            o, cl, origin = self._marker_pieces(tgt_lang)
            info = {"template": tpl, "search": self.options.search, "marker_pieces": [list(o), list(cl)],
                    "marker_origin": origin, "reverse_scores": bool(self._reverse_ok.get((src_lang, tgt_lang))),
                    "candidates": [len(cands.get((k, s), [])) for s in range(len(item.spans))]}
            if "guided" in entry:  # every candidate's features, for inspection and for fitting the weights
                from ._guided import features_of

                info["guided"] = [[{"start": c.start, "end": c.end, **dataclasses.asdict(f)}
                                   for c, f in zip(cands.get((k, s), []),
                                                   features_of(cands.get((k, s), []), entry["guided"].get(s, {})),
                                                   strict=True)] for s in range(len(item.spans))]
            outputs[k] = ProjectionOutput(tpl, tuple(projs), tstatus[k][0], tstatus[k][1], info)
        return outputs

    def _guided_rank(self, cands: list[Candidate], covs: dict[tuple[int, int], tuple[float, float, int]]) -> list[Candidate]:
        """The guided search's choice (:func:`projector.methods._guided.choose`): viable candidates, best
        combined score first; each candidate's ``score`` becomes its combined score."""
        from ._guided import features_of, ranked

        return ranked([(c.start, c.end) for c in cands], features_of(cands, covs), self.options.guided_weights(),
                      lex_keep=self.options.lex_keep, rev_keep=self.options.rev_keep)

    @staticmethod
    def _failure_reason(task: SearchTask | None, cands: list[Candidate] | None, ranked: list[Candidate],
                        span: Span, text: str) -> str:
        if span.end > len(text):
            return "span outside the source text"
        if task is not None and task.status != "ok":
            # a stable phrase (reports group failures by reason): the numbers of the MT reason are masked
            return "cannot score: " + re.sub(r"\d+", "N", task.reason or task.status)
        if task is not None and not task.opens:
            return "no allowed marker position in the target"
        if task is not None and task.truncated and not cands:
            return "search budget (max_search_tokens) reached before a placement was scored"
        if not cands:
            return "no candidate placement"
        if not ranked:
            return "no viable candidate (low lexical similarity and reverse score)"
        return "overlaps a more confident projection"

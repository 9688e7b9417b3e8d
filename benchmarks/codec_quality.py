"""Codec's searches on real text with a real model: accuracy against gold word alignments, and cost.

The 100 English-Portuguese sentence pairs with human word alignments in
../shared/data/word-alignment-gold/multi (Golden Collection, Europarl; lowercased words) give gold
projections: an English span of 1-3 words whose aligned Portuguese words form a range that no word
outside the span aligns into (a phrase-consistent pair, as in phrase extraction) has that range as
its gold target. Up to 3 non-overlapping such spans per sentence (each with a word of 4+ letters,
seeded choice) are projected in template mode -- the Portuguese sentence is the template and its
words the allowed marker positions -- by codec with each search, and by align (multilingual-e5,
the default configuration) for reference.

    python benchmarks/codec_quality.py [--model examples/models/marian-en-pt-demo] [--no-align]
        [--threads 1] [--searches exact,pruned,beam,beam:3]   (beam:N: beam search expanding N openings)

Per method: exact-match accuracy of the projected range, word-level F1 against the gold range,
seconds, scored target tokens per span (codec), and for the approximate searches how often their
choice equals exact search's. The last line is JSON with ``{"<method>": {"accuracy": ..., ...}}``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLD = SHARED / "data" / "word-alignment-gold" / "multi" / "processed"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def gold_pairs() -> list[dict[str, Any]]:
    """The en-pt pairs (train + valid files) as dicts with ``src_words``, ``tgt_words``, ``alignment``."""
    out: list[dict[str, Any]] = []
    for part in ("train", "valid"):
        with open(GOLD / part / "en-pt" / "pt_golden.jsonl", encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def consistent_spans(pair: dict[str, Any], rng: random.Random, per_sentence: int = 3) -> list[tuple[int, int, int, int]]:
    """Up to ``per_sentence`` non-overlapping ``(a, b, lo, hi)``: source words ``a:b`` (1-3 words, all
    aligned, one of 4+ letters) whose aligned target words span ``lo:hi`` with no outside link into it."""
    src_to: dict[int, set[int]] = {}
    tgt_to: dict[int, set[int]] = {}
    for s, t in pair["alignment"]:
        src_to.setdefault(s, set()).add(t)
        tgt_to.setdefault(t, set()).add(s)
    words = pair["src_words"]
    found = []
    for a in range(len(words)):
        for b in range(a + 1, min(len(words), a + 3) + 1):
            if not all(k in src_to for k in range(a, b)):
                continue
            if not any(len(w) >= 4 and w.isalpha() for w in words[a:b]):
                continue
            tgts = set().union(*(src_to[k] for k in range(a, b)))
            lo, hi = min(tgts), max(tgts) + 1
            if all(tgt_to.get(t, set()) <= set(range(a, b)) for t in range(lo, hi)) and hi - lo <= 6:
                found.append((a, b, lo, hi))
    rng.shuffle(found)
    chosen: list[tuple[int, int, int, int]] = []
    for a, b, lo, hi in found:
        if all(b <= c[0] or a >= c[1] for c in chosen) and all(hi <= c[2] or lo >= c[3] for c in chosen):
            chosen.append((a, b, lo, hi))
        if len(chosen) == per_sentence:
            break
    return sorted(chosen)


def word_offsets(words: list[str]) -> list[tuple[int, int]]:
    """Character offsets of ``words`` joined by single spaces."""
    out, pos = [], 0
    for w in words:
        out.append((pos, pos + len(w)))
        pos += len(w) + 1
    return out


def build_inputs(seed: int) -> tuple[list[Any], list[list[tuple[int, int]]]]:
    """Projection inputs (template mode, target words as tokens) and the gold target char ranges."""
    from projector.data import Span, Token
    from projector.methods.base import ProjectionInput

    rng = random.Random(seed)
    inputs, gold = [], []
    for pair in gold_pairs():
        spans = consistent_spans(pair, rng)
        if not spans:
            continue
        so, to = word_offsets(pair["src_words"]), word_offsets(pair["tgt_words"])
        inputs.append(ProjectionInput(
            " ".join(pair["src_words"]), tuple(Span(so[a][0], so[b - 1][1], "X") for a, b, _, _ in spans),
            " ".join(pair["tgt_words"]), (), tuple(Token(w, s, e) for w, (s, e) in zip(pair["tgt_words"], to, strict=True))))
        gold.append([(to[lo][0], to[hi - 1][1]) for _, _, lo, hi in spans])
    return inputs, gold


def score_outputs(outputs: list[Any], inputs: list[Any], gold: list[list[tuple[int, int]]]) -> dict[str, Any]:
    """Exact-match accuracy and word-level F1 of the projected ranges; the chosen ranges for agreement."""
    hit = n = 0
    tp = n_pred = n_gold = 0
    chosen: list[tuple[int, int] | None] = []
    for out, item, gl in zip(outputs, inputs, gold, strict=True):
        words = {(t.start, t.end) for t in item.template_tokens}
        for proj, (gs, ge) in zip(out.spans, gl, strict=True):
            n += 1
            g = {w for w in words if gs <= w[0] and w[1] <= ge}
            n_gold += len(g)
            if proj.target is None:
                chosen.append(None)
                continue
            rng = (proj.target.start, proj.target.end)
            chosen.append(rng)
            hit += rng == (gs, ge)
            p = {w for w in words if rng[0] <= w[0] and w[1] <= rng[1]}
            n_pred += len(p)
            tp += len(p & g)
    prec, rec = tp / max(1, n_pred), tp / max(1, n_gold)
    return {"accuracy": round(hit / max(1, n), 4), "word_f1": round(2 * prec * rec / max(1e-9, prec + rec), 4),
            "failed": sum(c is None for c in chosen), "spans": n, "_chosen": chosen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "examples" / "models" / "marian-en-pt-demo")
    ap.add_argument("--searches", default="exact,pruned,beam")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="first N sentences only")
    ap.add_argument("--no-align", action="store_true", help="skip the word-alignment reference")
    args = ap.parse_args()
    if not GOLD.is_dir():
        print("skipped: ../shared/data/word-alignment-gold is absent", file=sys.stderr)
        print(json.dumps({"skipped": "no ../shared"}))
        return
    if not (args.model / "config.json").is_file() and not (args.model / "model.bin").is_file():
        print(f"skipped: no model at {args.model} (examples/distill/export.py writes the demo model)", file=sys.stderr)
        print(json.dumps({"skipped": f"no model at {args.model}"}))
        return
    from mt_backends.ct2 import CTranslate2Translator
    from projector.methods.codec import CodecMethod

    inputs, gold = build_inputs(args.seed)
    if args.limit:
        inputs, gold = inputs[: args.limit], gold[: args.limit]
    mt = CTranslate2Translator(args.model, device="cpu", compute_type="int8", intra_threads=args.threads)
    mt.translate([inputs[0].text], "en", "pt", max_length=8)  # warm-up
    n_spans = sum(len(i.spans) for i in inputs)
    print(f"{len(inputs)} sentences, {n_spans} spans; model {args.model.name} int8, {args.threads} thread(s)",
          file=sys.stderr)
    t = time.perf_counter()
    mt.translate([i.text for i in inputs], "en", "pt", beam_size=4)
    plain = time.perf_counter() - t
    result: dict[str, Any] = {"plain_translation_s": round(plain, 2)}
    for search in args.searches.split(","):
        name, _, width = search.partition(":")  # beam:3 = beam search expanding 3 openings
        method = CodecMethod(translator=mt, search=name, beam_width=int(width) if width else None)
        t = time.perf_counter()
        outs = method.project(inputs, "en", "pt")
        row = score_outputs(outs, inputs, gold)
        row.update(seconds=round(time.perf_counter() - t, 2),
                   tokens_per_span=round(method.last_stats["tokens"] / max(1, n_spans)))
        result[f"codec_{search}"] = row
    if not args.no_align:
        from _common import ensure_encoder

        from projector.methods.align import AlignMethod

        aligner = AlignMethod(encoder=ensure_encoder(None), mode="fast")
        t = time.perf_counter()
        outs = aligner.project(inputs, "en", "pt")
        row = score_outputs(outs, inputs, gold)
        row["seconds"] = round(time.perf_counter() - t, 2)
        result["align"] = row
    ref = result.get("codec_exact", {}).get("_chosen")
    for key, row in result.items():
        if isinstance(row, dict) and "_chosen" in row:
            if ref is not None and key != "codec_exact":
                row["agrees_with_exact"] = round(sum(a == b for a, b in zip(row["_chosen"], ref, strict=True))
                                                 / max(1, len(ref)), 4)
            del row["_chosen"]
            print(f"{key:14s} {row}", file=sys.stderr)
    result.update(sentences=len(inputs), spans=n_spans, model=args.model.name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

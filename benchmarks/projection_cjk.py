"""Projection onto scripts written without spaces (Japanese, Chinese) against spaced ones (French,
Romanian), on human word alignments, and the AER of the aligner on ja-en and zh-en.

The gold-aligned pairs of ../shared/data/word-alignment-gold/awesome (ja-en KFTT 582, zh-en 450, en-fr
Hansards 447, ro-en 248) give gold projections as benchmarks/codec_quality.py does for en-pt: an English
span of 1-3 words (all aligned by sure links, one of 4+ letters) whose aligned target words form a range
that no word outside the span aligns into is projected onto that range; up to 3 non-overlapping spans per
sentence (seeded choice). Each target sentence is laid out as natural text by projector's detokenizer
(``足利義満（あしかがよしみつ）は...``: no spaces in Japanese and Chinese) and given as the template of
the align method (multilingual-e5-small, the default configuration, fast mode), which must find the span
in that text:

* ja, zh ``segmented``: the template alone -- the method segments it (projector.segment: fugashi, jieba
  with its compounds cut, or characters when none is installed), with the reading links of
  alignment.translit (cutlet, pypinyin): the user's case with raw text; this is the measured row;
* ja, zh ``chars``: the template with one token per character (data tokenized into characters);
* ja, zh ``before``: characters, every character encoded on its own, gaps counted in tokens, no
  particle rules, no conflict clipping, no reading links (the method before subword alignment and the heuristics of
  these scripts; punctuation the source span ends with is kept here too);
* fr, ro: the template with the gold words as its tokens (the data's own words);
* ``ja_heldout``: the ``segmented`` row on KFTT pairs of ``word-alignment-gold/multi`` that are not in
  the 582 (a check on text the heuristics were not chosen on).

Per row: span exact match (character range), character F1 (micro, whitespace excluded), failures, and
(``codec_reachable``) the share of gold spans that codec's allowed marker positions can express
(``boundaries=auto``: every sentencepiece boundary for ja/zh, word boundaries for fr/ro; XLM-R pieces, the
family of NLLB's). AER of
the e5 embedding aligner (itermax, layer 8) and of the default vote on the gold words of ja-en and zh-en,
with every word encoded on its own (``words``, before) and with the aligner's default view of unspaced
words (``auto``, after: pieces cut at the words' boundaries, as the gold words are a segmentation), and
the default vote with its reading links (``default_auto_translit``).

With ``--supervise``, the encoder is first fine-tuned (``alignment.finetune``: awesome-align's
supervised setting, gold links as the targets, with the consistency objective, 300 steps) on the KFTT gold
pairs of ``word-alignment-gold/multi`` that are not among the 582 (637: the ``ja_heldout`` text, written as
a gold JSONL file under ``--work``), and every row is measured with it; ``ja_heldout`` is then its
training text and is left out. The 582 stay unseen by the encoder. ``--encoder e5-align`` (the built-in
e5 tuned on gold alignments, ``benchmarks/e5_align_adapter.py``) was trained on that text too, so it also
leaves ``ja_heldout`` out; none of the benchmark's test sentences are in its training text.

    python benchmarks/projection_cjk.py [--encoder DIR] [--limit N] [--seed 0] [--mode fast|exact]
        [--supervise] [--work DIR]

The last line is JSON: ``{"ja": {"exact": ..., "char_f1": ...}, "zh": ..., "spaced_avg": ...,
"target_met": ..., "aer": {...}, "loadavg": [...]}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLD = SHARED / "data" / "word-alignment-gold" / "awesome"
MULTI = SHARED / "data" / "word-alignment-gold" / "multi" / "processed"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: file stem, target language, whether English is the file's source side
PAIRS = {"ja": ("jaen", False), "zh": ("zhen", False), "fr": ("enfr", True), "ro": ("roen", False)}
UNSPACED = ("ja", "zh")


def english_first(lang: str) -> list[dict[str, Any]]:
    """The gold pairs of ``lang`` as dicts with English as ``src_words`` and the sure links (English
    index, target index) as ``alignment``."""
    from alignment.evaluate import read_pharaoh_gold

    stem, en_first = PAIRS[lang]
    out = []
    for p in read_pharaoh_gold(GOLD / f"{stem}.src-tgt", GOLD / f"{stem}.gold"):
        links = sorted(p.sure) if en_first else sorted((j, i) for i, j in p.sure)
        out.append({"src_words": p.src if en_first else p.tgt, "tgt_words": p.tgt if en_first else p.src,
                    "alignment": links})
    return out


def heldout_pairs() -> list[dict[str, Any]]:
    """KFTT ja-en pairs of ``word-alignment-gold/multi`` (train and valid, 0-indexed links) that are not
    among the 582 of ``awesome/jaen``, without duplicates: the same kind of text, never looked at while
    the heuristics were chosen. Empty when the folder is absent."""
    seen = {"".join(line.split(" ||| ")[0].split()) for line in (GOLD / "jaen.src-tgt").open(encoding="utf-8")}
    out = []
    for split in ("train", "valid"):
        path = MULTI / split / "en-ja" / "kftt.jsonl"
        if not path.is_file():
            continue
        for line in path.open(encoding="utf-8"):
            d = json.loads(line)
            src, tgt, links = d["src_words"], d["tgt_words"], [tuple(a) for a in d["alignment"]]
            key = "".join(tgt)
            if key in seen or len(src) < 4 or any(not w.strip() for w in src + tgt) or any(
                    not (0 <= i < len(src) and 0 <= j < len(tgt)) for i, j in links):
                continue
            seen.add(key)
            out.append({"src_words": src, "tgt_words": tgt, "alignment": links})
    return out


def build(lang: str, seed: int, limit: int | None, tokens: str,
          heldout: bool = False) -> tuple[list[Any], list[list[tuple[int, int]]]]:
    """Projection inputs (template mode) and gold character ranges; ``tokens`` is ``gold`` (the gold
    words), ``chars`` (one per character) or ``none`` (the method segments the template); ``heldout``:
    the pairs of :func:`heldout_pairs` (ja)."""
    from codec_quality import consistent_spans

    from projector.convert import detokenize
    from projector.data import Span
    from projector.methods.base import ProjectionInput
    from projector.segment import char_tokens

    rng = random.Random(seed)
    inputs, gold = [], []
    for pair in (heldout_pairs() if heldout else english_first(lang))[:limit]:
        spans = consistent_spans(pair, rng)
        if not spans:
            continue
        src_text, src_tok = detokenize(pair["src_words"], "en")
        tgt_text, tgt_tok = detokenize(pair["tgt_words"], lang)
        given = {"gold": tuple(tgt_tok), "chars": tuple(char_tokens(tgt_text)), "none": ()}[tokens]
        inputs.append(ProjectionInput(src_text, tuple(Span(src_tok[a].start, src_tok[b - 1].end, "X")
                                                      for a, b, _, _ in spans), tgt_text, tuple(src_tok), given))
        gold.append([(tgt_tok[lo].start, tgt_tok[hi - 1].end) for _, _, lo, hi in spans])
    return inputs, gold


def score(outputs: list[Any], gold: list[list[tuple[int, int]]]) -> dict[str, Any]:
    """Exact match of the character range, character F1 (whitespace excluded), failures."""
    hit = n = tp = n_pred = n_gold = failed = 0
    for out, spans in zip(outputs, gold, strict=True):
        text = out.text
        for proj, (gs, ge) in zip(out.spans, spans, strict=True):
            n += 1
            g = {k for k in range(gs, ge) if not text[k].isspace()}
            n_gold += len(g)
            if proj.target is None:
                failed += 1
                continue
            ps, pe = proj.target.start, proj.target.end
            hit += (ps, pe) == (gs, ge)
            p = {k for k in range(ps, pe) if not text[k].isspace()}
            n_pred += len(p)
            tp += len(p & g)
    prec, rec = tp / max(1, n_pred), tp / max(1, n_gold)
    return {"exact": round(hit / max(1, n), 4), "char_f1": round(2 * prec * rec / max(1e-9, prec + rec), 4),
            "failed": failed, "spans": n}


def project(lang: str, variant: str, encoder: str, mode: str, seed: int, limit: int | None) -> dict[str, Any]:
    """One row: build the inputs of ``variant``, project them with the align method, score."""
    from alignment.project import default_aligner
    from projector.methods.align import AlignMethod

    tokens = {"segmented": "none", "heldout": "none", "chars": "chars", "before": "chars", "gold": "gold"}[variant]
    inputs, gold = build(lang, seed, limit, tokens, heldout=variant == "heldout")
    unspaced = "words" if variant == "before" else "auto"
    method = AlignMethod(aligner=default_aligner(encoder, mode=mode, unspaced=unspaced, src_lang="en",
                                                 tgt_lang=lang),
                         transliterate=variant != "before")
    if variant == "before":
        method.span_options = dataclasses.replace(method.span_options, gap_unit="words", particles=False, clip=False)
    t0 = time.perf_counter()
    row = score(method.project(inputs, "en", lang), gold)
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def codec_reachable(lang: str, encoder: str, seed: int, limit: int | None) -> float:
    """Share of gold spans that codec's marker positions can express: start and end at allowed piece
    boundaries (``boundaries=auto``: every piece boundary for unspaced scripts, word boundaries otherwise),
    with the pieces of the encoder's sentencepiece tokenizer (XLM-R's, NLLB's family)."""
    from transformers import AutoTokenizer

    from projector.methods._search import allowed_boundaries, piece_offsets, span_chars
    from projector.scripts import uses_spaces

    tokenizer = AutoTokenizer.from_pretrained(encoder)
    inputs, gold = build(lang, seed, limit, "none")
    hit = n = 0
    for item, spans in zip(inputs, gold, strict=True):
        text = item.template
        offsets = piece_offsets(text, tokenizer.tokenize(text))
        allowed = allowed_boundaries(text, offsets, words=uses_spaces(lang))
        m = len(offsets)
        starts = {c[0] for i in range(m) if allowed[i] and (c := span_chars(offsets, i, m)) is not None}
        ends = {c[1] for j in range(1, m + 1) if allowed[j] and (c := span_chars(offsets, 0, j)) is not None}
        for gs, ge in spans:
            n += 1
            hit += gs in starts and ge in ends
    return round(hit / max(1, n), 4)


def aer(lang: str, encoder: str, mode: str, limit: int | None) -> dict[str, float]:
    """AER on the gold words of ``lang``-en, every word on its own (``words``) and the aligner's default
    view (``auto``), for the e5 aligner and the default vote."""
    from alignment import get_aligner
    from alignment.evaluate import read_pharaoh_gold
    from alignment.project import default_aligner, evaluate_aligner
    from alignment.translit import TransliteratedAligner

    stem, _ = PAIRS[lang]
    pairs = read_pharaoh_gold(GOLD / f"{stem}.src-tgt", GOLD / f"{stem}.gold")[:limit]
    out = {}
    for unspaced in ("words", "auto"):
        emb = get_aligner("embedding", model=encoder, layer=8, method="itermax", mode=mode, unspaced=unspaced)
        out[f"e5_itermax_{unspaced}"] = round(evaluate_aligner(emb, pairs)["aer"], 4)
        vote = default_aligner(encoder, mode=mode, unspaced=unspaced, src_lang=lang, tgt_lang="en")
        out[f"default_{unspaced}"] = round(evaluate_aligner(vote, pairs)["aer"], 4)
    out["default_auto_translit"] = round(evaluate_aligner(TransliteratedAligner(vote, lang, "en"), pairs)["aer"], 4)
    return out


def gold_train_pairs() -> list[dict[str, Any]]:
    """The KFTT gold pairs of ``word-alignment-gold/multi`` (train, then valid) that are not among the 582,
    once each, without the lines whose links fall outside their pair: the training text of ``--supervise``
    (:func:`heldout_pairs` without its length filter)."""
    seen = {"".join(line.split(" ||| ")[0].split()) for line in (GOLD / "jaen.src-tgt").open(encoding="utf-8")}
    out = []
    for split in ("train", "valid"):
        for line in (MULTI / split / "en-ja" / "kftt.jsonl").open(encoding="utf-8"):
            d = json.loads(line)
            src, tgt = d["src_words"], d["tgt_words"]
            key = "".join(tgt)
            if key in seen or any(not w.strip() for w in src + tgt) or any(
                    not (0 <= i < len(src) and 0 <= j < len(tgt)) for i, j in d["alignment"]):
                continue
            seen.add(key)
            out.append({"src_words": src, "tgt_words": tgt, "alignment": d["alignment"]})
    return out


def supervised_encoder(base: str, work: Path) -> str:
    """``base`` fine-tuned on the gold links of :func:`gold_train_pairs` (resumable; reused when done)."""
    from alignment.finetuning import finetune

    gold = work / "en-ja" / "kftt-not-in-582.jsonl"
    gold.parent.mkdir(parents=True, exist_ok=True)
    gold.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in gold_train_pairs()), encoding="utf-8")
    return str(finetune([str(gold)], work / "e5-sup-s300", encoder=base, steps=300, co=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default=None,
                    help="encoder folder or built-in name (default: multilingual-e5-small, built once)")
    ap.add_argument("--mode", default="fast", choices=["exact", "fast"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="first N sentence pairs of each file only")
    ap.add_argument("--supervise", action="store_true", help="fine-tune on the KFTT gold pairs not in the 582 first")
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "projector-bench" / "cjk-supervised",
                    help="folder of the supervised encoder and its gold file")
    args = ap.parse_args()
    if not GOLD.is_dir():
        print("skipped: ../shared/data/word-alignment-gold is absent", file=sys.stderr)
        print(json.dumps({"skipped": "no ../shared"}))
        return
    from _common import ensure_encoder

    from projector.segment import segmenter_name

    encoder = ensure_encoder(args.encoder)
    seen_heldout = args.supervise or args.encoder == "e5-align"  # its text trained the encoder
    if args.supervise:
        encoder = supervised_encoder(encoder, args.work)
    result: dict[str, Any] = {}
    for lang in PAIRS:
        variants = ("segmented", "chars", "before") if lang in UNSPACED else ("gold",)
        if lang == "ja" and (MULTI / "valid" / "en-ja" / "kftt.jsonl").is_file() and not seen_heldout:
            variants += ("heldout",)
        for variant in variants:
            row = project(lang, variant, encoder, args.mode, args.seed, args.limit)
            key = lang if variant in ("segmented", "gold") else f"{lang}_{variant}"
            if variant == "segmented":
                row["segmenter"] = segmenter_name(lang)
            if variant in ("segmented", "gold"):
                row["codec_reachable"] = codec_reachable(lang, encoder, args.seed, args.limit)
            result[key] = row
            print(f"{key:10s} {row}", file=sys.stderr)
    spaced = {m: round(sum(result[k][m] for k in ("fr", "ro")) / 2, 4) for m in ("exact", "char_f1")}
    result["spaced_avg"] = spaced
    result["target_met"] = all(result[k]["exact"] >= spaced["exact"] - 0.05 for k in UNSPACED)
    result["aer"] = {lang: aer(lang, encoder, args.mode, args.limit) for lang in UNSPACED}
    print(f"aer {result['aer']}", file=sys.stderr)
    result.update(encoder=Path(encoder).name, supervised=args.supervise, mode=args.mode, seed=args.seed,
                  loadavg=os.getloadavg())
    print(json.dumps(result))


if __name__ == "__main__":
    main()

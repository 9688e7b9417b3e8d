"""Projection F1 of word-alignment projection on Europarl NER, en -> de/es/it (template mode).

The 799 sentences of ../shared/data/europarl-ner exist in en, de, es and it (human translations),
each with gold PER/LOC/ORG/MISC. For every aligner configuration the English gold spans are projected
onto the given target sentences with the span heuristics, and exact span + label F1 is measured
against the target's gold. One configuration (aligner + heuristics) is chosen by its average over
the three languages -- the same configuration for all of them.

    python benchmarks/projection_quality.py [--encoder DIR] [--mode exact|fast] [--layers 8]
        [--no-extra] [--cache DIR]

Aligners: the embedding aligner on the encoder (default multilingual-e5-small built by
../shared/tools/build_e5_encoder.py) with simalign's methods, eflomal (with the MT test sets of
../shared/data/mt-testsets as extra parallel text unless ``--no-extra``) and ensembles of both.
Reference measured here with plain simalign itermax on e5 and simple heuristics: 0.900 / 0.900 /
0.866 (0.889). The last line is JSON: ``{"europarl_avg_f1": ..., "best_config": "...", ...}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import conll_sentences, ensure_encoder  # noqa: E402

LANGS = ("de", "es", "it")
REFERENCE = {"de": 0.900, "es": 0.900, "it": 0.866, "avg": 0.889}


def cached(cache: Path | None, key: str, default: Any) -> Any:
    """The value pickled under ``cache/key.pkl``, or ``default()`` without a cache or entry."""
    f = cache / f"{key}.pkl" if cache is not None else None
    if f is not None and f.exists():
        with open(f, "rb") as fh:
            return pickle.load(fh)
    return default()


def store(cache: Path | None, key: str, value: Any) -> None:
    """Pickle ``value`` under ``cache/key.pkl`` when a cache folder is given."""
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{key}.pkl", "wb") as fh:
        pickle.dump(value, fh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--mode", default="exact", choices=["exact", "fast"])
    parser.add_argument("--compute-type", default="float32", help="CTranslate2 compute type in fast mode")
    parser.add_argument("--layers", default="8", help="comma-separated encoder layers to try")
    parser.add_argument("--no-extra", action="store_true", help="eflomal without extra parallel text")
    parser.add_argument("--cache", default=None, help="folder to cache links between runs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = SHARED / "data" / "europarl-ner"
    if not data.is_dir():
        print(json.dumps({"skipped": "../shared is absent"}))
        return
    from alignment.eflomal_aligner import EflomalAligner
    from alignment.embedding import EmbeddingAligner
    from alignment.evaluate import iob_to_spans
    from alignment.heuristics import SpanOptions, combine_links
    from alignment.project import evaluate_projection, extra_text_files

    cache = Path(args.cache) if args.cache else None
    encoder = ensure_encoder(args.encoder)
    en = conll_sentences(data / "en-europarl.test.conll02")
    src = [t for t, _ in en]
    src_spans = [iob_to_spans(tags) for _, tags in en]
    tgt = {lang: conll_sentences(data / f"{lang}-europarl.test.conll02") for lang in LANGS}
    for lang in LANGS:
        assert len(tgt[lang]) == len(en), lang
    tgt_tokens = {lang: [t for t, _ in tgt[lang]] for lang in LANGS}
    tgt_spans = {lang: [iob_to_spans(tags) for _, tags in tgt[lang]] for lang in LANGS}
    timings: dict[str, float] = {}

    # -- links of every base aligner ----------------------------------------------------------------
    links: dict[str, dict[str, list[Any]]] = {}  # config -> lang -> [AlignmentResult]
    methods = ["inter", "itermax", "mwmf"]
    tag = Path(encoder).name
    layers = [int(x) for x in args.layers.split(",")]
    for layer in layers:
        emb: list[EmbeddingAligner] = []
        for lang in LANGS:
            for token_type in ("bpe", "word"):  # pieces, and each word's average piece vector
                key = f"{tag}-L{layer}-{args.mode}-{lang}" + ("-word" if token_type == "word" else "")
                res = cached(cache, key, lambda: None)
                if res is None:
                    if not emb:
                        emb.append(EmbeddingAligner(encoder, layer=layer, mode=args.mode,
                                                    compute_type=args.compute_type))
                    t0 = time.perf_counter()
                    res = emb[0].with_method("itermax", token_type=token_type).align_methods(
                        src, tgt_tokens[lang], methods)
                    timings[f"e5-L{layer}-{lang}-{token_type}"] = time.perf_counter() - t0
                    store(cache, key, res)
                view = f"e5-L{layer}-" + ("word-" if token_type == "word" else "")
                for m in methods:
                    links.setdefault(view + m, {})[lang] = res[m]
    syms = ["intersection", "grow-diag-final-and"]
    for lang in LANGS:
        key = f"eflomal-{'n' if args.no_extra else 'x'}-{lang}"
        res = cached(cache, key, lambda: None)
        if res is None:
            extra = [] if args.no_extra else extra_text_files(SHARED / "data" / "mt-testsets", "en", lang)
            t0 = time.perf_counter()
            res = EflomalAligner(extra_files=extra).align_all(src, tgt_tokens[lang], syms)
            timings[f"eflomal-{lang}"] = time.perf_counter() - t0
            store(cache, key, res)
        links.setdefault("eflomal-inter", {})[lang] = res["intersection"]
        links.setdefault("eflomal-gdfa", {})[lang] = res["grow-diag-final-and"]

    # -- ensembles ----------------------------------------------------------------------------------
    e5 = f"e5-L{layers[0]}"
    ensembles: dict[str, tuple[list[str], str]] = {
        f"union({e5}-itermax,eflomal-inter)": ([f"{e5}-itermax", "eflomal-inter"], "union"),
        f"intersection({e5}-itermax,eflomal-gdfa)": ([f"{e5}-itermax", "eflomal-gdfa"], "intersection"),
        f"vote({e5}-itermax,{e5}-inter,eflomal-gdfa)": ([f"{e5}-itermax", f"{e5}-inter", "eflomal-gdfa"], "vote"),
        f"vote({e5}-itermax,{e5}-mwmf,eflomal-gdfa)": ([f"{e5}-itermax", f"{e5}-mwmf", "eflomal-gdfa"], "vote"),
        f"vote({e5}-itermax,{e5}-word-itermax,eflomal-gdfa)": (
            [f"{e5}-itermax", f"{e5}-word-itermax", "eflomal-gdfa"], "vote"),
        f"vote({e5}-itermax,{e5}-word-mwmf,eflomal-gdfa)": ([f"{e5}-itermax", f"{e5}-word-mwmf", "eflomal-gdfa"], "vote"),
        f"vote({e5}-itermax,{e5}-mwmf,eflomal-gdfa,eflomal-inter)": (
            [f"{e5}-itermax", f"{e5}-mwmf", "eflomal-gdfa", "eflomal-inter"], "vote"),
    }
    if len(layers) > 1:
        e5b = f"e5-L{layers[1]}"
        ensembles[f"vote({e5}-itermax,{e5b}-itermax,{e5}-mwmf,eflomal-gdfa,eflomal-inter)"] = (
            [f"{e5}-itermax", f"{e5b}-itermax", f"{e5}-mwmf", "eflomal-gdfa", "eflomal-inter"], "vote")
    for name, (members, how) in ensembles.items():
        for lang in LANGS:
            links.setdefault(name, {})[lang] = [combine_links(list(rs), how)
                                                for rs in zip(*(links[m][lang] for m in members))]

    # -- heuristics ---------------------------------------------------------------------------------
    heuristics = {
        # plain: the union of aligned target words, nothing else
        "simple": SpanOptions(gap_fill=0, trim_punct=False, keep="all", conflict="none", copy_match=False,
                              trim_case=False, derived_misc=False),
        "default": SpanOptions(),
        "gap1": SpanOptions(gap_fill=1),
        "gap2": SpanOptions(gap_fill=2),
        "unclaimed-gaps": SpanOptions(gap_rule="unclaimed"),
        "keep-all": SpanOptions(keep="all"),
        "conflict-longer": SpanOptions(conflict="longer"),
        "no-copy": SpanOptions(copy_match=False),
        "no-case-trim": SpanOptions(trim_case=False),
        "no-derived-misc": SpanOptions(derived_misc=False),
    }
    table: dict[str, dict[str, Any]] = {}
    for name in links:
        for hname, opts in heuristics.items():
            row: dict[str, Any] = {}
            for lang in LANGS:
                row[lang] = evaluate_projection(src, src_spans, tgt_tokens[lang], tgt_spans[lang],
                                                links=links[name][lang], options=opts)
            row["avg"] = sum(row[lang]["f1"] for lang in LANGS) / len(LANGS)
            table[f"{name} + {hname}"] = row
    ranked = sorted(table, key=lambda k: -table[k]["avg"])
    print(f"{'configuration':70s} " + " ".join(f"{lang:>6s}" for lang in LANGS) + "    avg")
    for key in ranked:
        row = table[key]
        print(f"{key:70s} " + " ".join(f"{row[lang]['f1']:6.3f}" for lang in LANGS) + f" {row['avg']:6.3f}")
    best = ranked[0]
    per_aligner = {}
    for name in links:
        row = table[f"{name} + default"]
        per_aligner[name] = {**{lang: round(row[lang]["f1"], 4) for lang in LANGS}, "avg": round(row["avg"], 4)}
    b = table[best]
    result = {
        "europarl_avg_f1": round(b["avg"], 4),
        "best_config": best,
        "per_language": {lang: {"f1": round(b[lang]["f1"], 4), "precision": round(b[lang]["precision"], 4),
                                "recall": round(b[lang]["recall"], 4),
                                "per_label": {k: round(v["f1"], 4) for k, v in b[lang]["per_label"].items()},
                                "status": b[lang]["status"]} for lang in LANGS},
        "reference_simalign_itermax_simple": REFERENCE,
        "baseline_this_run": {lang: round(table[f"{e5}-itermax + simple"][lang]["f1"], 4) for lang in LANGS}
        | {"avg": round(table[f"{e5}-itermax + simple"]["avg"], 4)},
        "per_aligner_default_heuristics": per_aligner,
        "encoder": tag,
        "mode": args.mode,
        "extra_parallel_text": not args.no_extra,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

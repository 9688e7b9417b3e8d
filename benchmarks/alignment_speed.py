"""Speed of the batched embedding aligner against simalign, pair by pair, on the same encoder.

Aligns N sentence pairs of ../shared/data/europarl-ner (en-de, human translations) with
``simalign.SentenceAligner`` (one pair per forward pass) and with :class:`alignment.EmbeddingAligner`
in exact mode (torch, float32, encoder cut at the alignment layer) and in fast mode with each compute
type: the default (``auto``: bfloat16 autocast where the CPU has native bfloat16, else CTranslate2
int8), CTranslate2 int8 and CTranslate2 float32. Model loading, the one-off CTranslate2 conversion and
a warm-up on 8 other pairs are not timed; the aligners run interleaved, chunk by chunk (100 pairs,
one batch), so that load from other processes falls on all of them alike. Wall-clock and process CPU
time are both reported (the machine may be shared).

    python benchmarks/alignment_speed.py [--pairs 500] [--encoder DIR] [--method itermax] [--layer 8]

The encoder defaults to multilingual-e5-small built by ../shared/tools/build_e5_encoder.py (into a
cache folder). The last line is JSON: ``{"speedup": <fast vs simalign>, "identical": <exact ==
simalign>, ...}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import conll_sentences, ensure_encoder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--encoder", default=None, help="encoder folder or id (default: e5 from ../shared)")
    parser.add_argument("--layer", type=int, default=8)
    parser.add_argument("--method", default="itermax", choices=["inter", "itermax", "mwmf", "fwd", "rev"])
    parser.add_argument("--compute-type", default="auto", help="fast mode's compute type (default: auto)")
    parser.add_argument("--cache-dir", default=None, help="CTranslate2 conversion cache")
    parser.add_argument("--chunk", type=int, default=100, help="pairs per interleaved timing chunk")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = SHARED / "data" / "europarl-ner"
    if not data.is_dir():
        print(json.dumps({"skipped": "../shared is absent"}))
        return
    encoder = ensure_encoder(args.encoder)
    src = [t for t, _ in conll_sentences(data / "en-europarl.test.conll02", args.pairs)]
    tgt = [t for t, _ in conll_sentences(data / "de-europarl.test.conll02", args.pairs)]
    n = len(src)

    from simalign import SentenceAligner

    from alignment.embedding import EmbeddingAligner

    letter = {"inter": "a", "itermax": "i", "mwmf": "m", "fwd": "f", "rev": "r"}[args.method]
    ref_aligner = SentenceAligner(model=encoder, token_type="bpe", matching_methods=letter, layer=args.layer)
    exact = EmbeddingAligner(encoder, layer=args.layer, method=args.method, mode="exact")
    fast = EmbeddingAligner(encoder, layer=args.layer, method=args.method, mode="fast",
                            compute_type=args.compute_type, cache_dir=args.cache_dir)
    int8 = EmbeddingAligner(encoder, layer=args.layer, method=args.method, mode="fast",
                            compute_type="int8", cache_dir=args.cache_dir)
    fast32 = EmbeddingAligner(encoder, layer=args.layer, method=args.method, mode="fast",
                              compute_type="float32", cache_dir=args.cache_dir)
    # warm-up, not timed: thread pools, allocators, first kernels
    warm_src, warm_tgt = [t for t, _ in conll_sentences(data / "en-europarl.test.conll02", args.pairs + 8)][-8:], \
        [t for t, _ in conll_sentences(data / "de-europarl.test.conll02", args.pairs + 8)][-8:]
    for s, t in zip(warm_src, warm_tgt):
        ref_aligner.get_word_aligns(s, t)
    exact.align(warm_src, warm_tgt)
    fast.align(warm_src, warm_tgt)
    int8.align(warm_src, warm_tgt)
    fast32.align(warm_src, warm_tgt)

    # the three run chunk by chunk, interleaved, so that load from other processes on a shared
    # machine falls on all of them alike; each chunk is one batch for the batched aligners
    names = ("simalign", "exact", "fast", "fast_int8", "fast_float32")
    links: dict[str, list[frozenset[tuple[int, int]]]] = {k: [] for k in names}
    wall = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    runners = {
        "simalign": lambda cs, ct: [frozenset(tuple(x) for x in ref_aligner.get_word_aligns(s, t)[args.method])
                                    for s, t in zip(cs, ct)],
        "exact": lambda cs, ct: [r.links for r in exact.align(cs, ct)],
        "fast": lambda cs, ct: [r.links for r in fast.align(cs, ct)],
        "fast_int8": lambda cs, ct: [r.links for r in int8.align(cs, ct)],
        "fast_float32": lambda cs, ct: [r.links for r in fast32.align(cs, ct)],
    }
    for k in range(0, n, args.chunk):
        cs, ct = src[k:k + args.chunk], tgt[k:k + args.chunk]
        for name in names:
            w0, c0 = time.perf_counter(), time.process_time()
            links[name] += runners[name](cs, ct)
            wall[name] += time.perf_counter() - w0
            cpu[name] += time.process_time() - c0
        print(f"{k + len(cs)}/{n} pairs: " + " ".join(f"{x} {wall[x]:.1f}s" for x in names),
              file=sys.stderr, flush=True)
    ref, exact_links, fast_links = links["simalign"], links["exact"], links["fast"]

    n_ref_links = sum(len(r) for r in ref)

    def same_links(name: str) -> float:
        return round(sum(len(a & b) for a, b in zip(links[name], ref)) / max(n_ref_links, 1), 4)

    def same_pairs(name: str) -> float:
        return round(sum(a == b for a, b in zip(links[name], ref)) / n, 4)
    result = {
        "pairs": n,
        "encoder": Path(encoder).name,
        "layer": args.layer,
        "method": args.method,
        "simalign_pairs_per_s": round(n / wall["simalign"], 2),
        "exact_pairs_per_s": round(n / wall["exact"], 2),
        "fast_pairs_per_s": round(n / wall["fast"], 2),
        "exact_speedup": round(wall["simalign"] / wall["exact"], 2),
        "speedup": round(wall["simalign"] / wall["fast"], 2),
        "identical": exact_links == ref,
        "exact_identical_pairs": same_pairs("exact"),
        "wall_seconds": {k: round(v, 1) for k, v in wall.items()},
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "cpu_speedup": {k: round(cpu["simalign"] / cpu[k], 2) for k in names[1:]},
        "fast_compute_type": fast.compute_type,
        "fast_identical_pairs": same_pairs("fast"),
        "fast_identical_links": same_links("fast"),
        "fast_link_f1_vs_simalign": round(2 * sum(len(a & b) for a, b in zip(fast_links, ref))
                                          / max(n_ref_links + sum(len(a) for a in fast_links), 1), 4),
        "fast_int8_speedup": round(wall["simalign"] / wall["fast_int8"], 2),
        "fast_int8_identical_links": same_links("fast_int8"),
        "fast_float32_speedup": round(wall["simalign"] / wall["fast_float32"], 2),
        "fast_float32_identical": links["fast_float32"] == ref,
        "fast_float32_identical_pairs": same_pairs("fast_float32"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

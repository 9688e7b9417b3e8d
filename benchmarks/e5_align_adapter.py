"""Make the built-in ``e5-align`` encoder: multilingual-e5-small fine-tuned on human gold word alignments.

The gold alignments of ``../shared/data/word-alignment-gold/multi`` whose licence allows redistributing
what is made from them -- en-cs CzEnAli (CC BY-SA 4.0), en-es/en-pt/en-fr of the INESC Golden Collection
(no copyright restriction), en-ja KFTT (CC BY-SA 3.0) -- train awesome-align's supervised setting
(:func:`alignment.finetune`: the gold links are the targets, with the consistency objective) on the
built-in ``e5``. Every pair whose English or target side is in a benchmark's test set (the four
``awesome/`` gold sets, Europarl NER) is left out, so the benchmarks score text the encoder never saw; at
most ``--cap`` pairs per language (a seeded sample). The difference from ``e5`` is kept at ``--rank``
(:func:`alignment.delta.low_rank_delta`) and written to ``alignment/adapters/e5-align.safetensors`` with
the fingerprint of the weights it was made against.

    python benchmarks/e5_align_adapter.py [--rank 32] [--steps 300] [--cap 800] [--work DIR] [--out FILE]

The last line is JSON: ``{"pairs": {...}, "rank": ..., "bytes": ..., "relative_error": ..., ...}``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
MULTI = SHARED / "word-alignment-gold" / "multi" / "processed"
sys.path.insert(0, str(REPO))

#: language -> (folder of multi/, file stems, licence): the sets whose licence allows redistribution
SETS = {"cs": ("en-cz", ("czenali",), "CzEnAli, CC BY-SA 4.0"),
        "es": ("en-es", ("es_golden",), "INESC Golden Collection, no copyright restriction"),
        "pt": ("en-pt", ("pt_golden",), "INESC Golden Collection, no copyright restriction"),
        "fr": ("en-fr", ("fr_golden",), "INESC Golden Collection, no copyright restriction"),
        "ja": ("en-ja", ("kftt",), "KFTT, CC BY-SA 3.0")}


def _key(words: list[str]) -> str:
    return re.sub(r"\W", "", "".join(words).lower())


def test_sentences() -> set[str]:
    """Both sides of every benchmark test sentence (awesome/ gold sets, Europarl NER), normalised."""
    seen: set[str] = set()
    for path in glob.glob(str(SHARED / "word-alignment-gold" / "awesome" / "*.src-tgt")):
        for line in open(path, encoding="utf-8"):
            for side in line.rstrip("\n").split(" ||| "):
                seen.add(_key(side.split()))
    for path in glob.glob(str(SHARED / "europarl-ner" / "*.conll02")):
        words: list[str] = []
        for line in open(path, encoding="utf-8"):
            if line.strip():
                words.append(line.split()[0])
            elif words:
                seen.add(_key(words))
                words = []
    return seen


def gold_pairs(lang: str, excluded: set[str], cap: int, seed: int) -> list[dict[str, Any]]:
    """The usable gold pairs of ``lang`` (train and valid, once each, none in ``excluded``), at most ``cap``."""
    folder, stems, _ = SETS[lang]
    rows, mine = [], set()
    for split in ("train", "valid"):
        for stem in stems:
            path = MULTI / split / folder / f"{stem}.jsonl"
            for line in path.open(encoding="utf-8"):
                d = json.loads(line)
                src, tgt, links = d["src_words"], d["tgt_words"], d["alignment"]
                key = (_key(src), _key(tgt))
                if key[0] in excluded or key[1] in excluded or key in mine or not links or any(
                        not w.strip() for w in src + tgt) or any(
                        not (0 <= i < len(src) and 0 <= j < len(tgt)) for i, j in links):
                    continue
                mine.add(key)
                rows.append({"src_words": src, "tgt_words": tgt, "alignment": links})
    random.Random(seed).shuffle(rows)
    return rows[:cap]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rank", type=int, default=32, help="directions kept of each matrix's difference")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--cap", type=int, default=800, help="pairs per language at most")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=REPO.parent / ".projector-bench" / "e5-align")
    ap.add_argument("--out", type=Path, default=REPO / "alignment" / "adapters" / "e5-align.safetensors")
    args = ap.parse_args()
    if not MULTI.is_dir():
        print("skipped: ../shared/data/word-alignment-gold/multi is absent", file=sys.stderr)
        print(json.dumps({"skipped": "no ../shared"}))
        return
    from safetensors.torch import load_file

    from alignment.delta import delta_names, low_rank_delta, save_delta, tensors_fingerprint
    from alignment.e5 import builtin_key, resolve_encoder
    from alignment.finetuning import FinetuneOptions, finetune

    excluded = test_sentences()
    files, counts = [], {}
    for lang in SETS:
        rows = gold_pairs(lang, excluded, args.cap, args.seed)
        path = args.work / "gold" / f"en-{lang}" / "gold.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        files.append(str(path))
        counts[lang] = len(rows)
    print(f"gold pairs {counts}", file=sys.stderr)
    base = resolve_encoder("e5")
    opts = FinetuneOptions(encoder=base, steps=args.steps, learning_rate=args.lr, co=True, seed=args.seed)
    t0 = time.perf_counter()
    tuned_dir = finetune(files, args.work / f"e5-sup-s{args.steps}", opts)
    minutes = (time.perf_counter() - t0) / 60
    base_sd = load_file(Path(base) / "model.safetensors")  # the saved weights: no layer transformers adds
    tuned_sd = {k: v for k, v in load_file(Path(tuned_dir) / "model.safetensors").items() if k in base_sd}
    delta = low_rank_delta(base_sd, tuned_sd, args.rank)
    names = delta_names(delta)
    meta = {"base": builtin_key("e5") or "e5", "base_fingerprint": tensors_fingerprint(base_sd, names),
            "rank": str(args.rank), "objective": "awesome-align supervised (gold links as targets) + co",
            "options": opts.replace(encoder="e5").signature(), "pairs": json.dumps(counts),
            "data": json.dumps({lang: SETS[lang][2] for lang in SETS}),
            "made_by": "benchmarks/e5_align_adapter.py"}
    save_delta(args.out, delta, meta)
    card = json.loads((Path(tuned_dir) / "finetune.json").read_text())
    err = _relative_error(base_sd, tuned_sd, delta)
    print(json.dumps({"pairs": counts, "rank": args.rank, "tensors": len(names),
                      "parameters": sum(v.numel() for v in delta.values()), "bytes": args.out.stat().st_size,
                      "relative_error": round(err, 4), "train_minutes": round(card["seconds"] / 60, 1), "wall_minutes": round(minutes, 1),
                      "loss": [card["loss_first"], card["loss_last"]], "out": str(args.out),
                      "loadavg": os.getloadavg()}))


def _relative_error(base: dict[str, Any], tuned: dict[str, Any], delta: dict[str, Any]) -> float:
    """||tuned - (base + delta)|| / ||tuned - base|| over every changed tensor."""
    import torch

    from alignment.delta import apply_delta, delta_names

    rebuilt = apply_delta({k: base[k].clone() for k in delta_names(delta)}, delta)
    num = sum(float(torch.sum((tuned[k].float() - rebuilt[k].float()) ** 2)) for k in rebuilt)
    den = sum(float(torch.sum((tuned[k].float() - base[k].float()) ** 2)) for k in rebuilt)
    return (num / max(den, 1e-30)) ** 0.5


if __name__ == "__main__":
    main()

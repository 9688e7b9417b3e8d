"""Fine-tune multilingual-e5-small for word alignment (awesome-align's self-training), then measure it.

1. Fine-tunes the encoder built by ../shared/tools/build_e5_encoder.py on the shared parallel text
   (the human-translated MT test sets of ../shared/data/mt-testsets for en-de/es/fr/it: WMT newstest,
   Tatoeba, TICO-19, Multi30k tests; and the Multi30k training captions en-de/fr/cs), never on an
   evaluation set (europarl-ner, word-alignment-gold, FLORES). The run is resumable: rerun the same
   command after a kill and it continues from its last checkpoint.
2. Runs benchmarks/projection_quality.py (Europarl NER en -> de/es/it, every aligner configuration)
   with the untuned and the fine-tuned encoder, side by side (eflomal's links cached between them).
3. AER of the embedding aligner (itermax, layer 8, exact) with each encoder on every gold set of
   ../shared/data/word-alignment-gold: awesome/ (en-fr, ro-en, ja-en, zh-en) and multi/ (train and
   valid of each file together), including pairs absent from the training text (ja, zh, hi, ro, sv, pt).

    python benchmarks/finetune_aligner.py [--steps 400] [--lr 5e-5] [--batch-tokens 4096]
        [--max-pairs N] [--co] [--tlm] [--train-embeddings] [--kinds news,tico,tatoeba,multi30k] [--work DIR]
        [--no-europarl] [--aer-limit N]

The last line is JSON: ``{"europarl_avg_f1": ..., "untuned_europarl_avg_f1": ..., "per_language": ...,
"aer": {...}, "aer_lower_on": "k/n", "finetune_pairs_per_s": ..., "finetune_minutes": ..., "loadavg": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ensure_encoder  # noqa: E402

TEST_LANGS = ("de", "es", "fr", "it")
MULTI30K = ("de", "fr", "cs")


#: the kinds of shared parallel text, by the file names that make them
KINDS = ("news", "tico", "tatoeba", "multi30k")


def kind_of(path: str) -> str:
    """Which of :data:`KINDS` a parallel file is, by its name or its folder's (WMT news tests: the rest)."""
    p = Path(path)
    return next((k for k in KINDS[1:] if p.name.startswith(k) or p.parent.name == k), "news")


def parallel_sources(kinds: tuple[str, ...] = KINDS) -> list[str]:
    """``SRC,TGT`` file pairs of the shared parallel text of the given kinds (no evaluation set)."""
    from alignment.project import extra_text_files

    specs = [f"{a},{b}" for lang in TEST_LANGS for a, b in extra_text_files(DATA / "mt-testsets", "en", lang)]
    m30k = DATA / "multi30k"
    specs += [f"{m30k / 'train.en.gz'},{m30k / f'train.{lang}.gz'}" for lang in MULTI30K
              if (m30k / f"train.{lang}.gz").is_file()]
    return [s for s in specs if kind_of(s.split(",")[0]) in kinds]


def gold_sets() -> dict[str, Any]:
    """Every gold set of word-alignment-gold: name -> list of GoldPair."""
    from alignment.evaluate import read_gold, read_jsonl_gold

    root = DATA / "word-alignment-gold"
    sets: dict[str, Any] = {}
    for stem in ("enfr", "roen", "jaen", "zhen"):
        sets[f"awesome/{stem[:2]}-{stem[2:]}"] = read_gold(root / "awesome" / f"{stem}.src-tgt",
                                                           root / "awesome" / f"{stem}.gold")
    for folder in sorted((root / "multi" / "processed" / "train").iterdir()):
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.jsonl")):
            pairs = read_jsonl_gold(f, skip_invalid=True)
            valid = root / "multi" / "processed" / "valid" / folder.name / f.name
            if valid.is_file():
                pairs += read_jsonl_gold(valid, skip_invalid=True)
            sets[f"multi/{folder.name}/{f.stem}"] = pairs
    return sets


def aer_table(encoders: dict[str, str], limit: int | None) -> dict[str, dict[str, float]]:
    """AER of itermax at layer 8 for each encoder on each gold set."""
    from alignment.embedding import EmbeddingAligner
    from alignment.project import evaluate_aligner

    sets = gold_sets()
    table: dict[str, dict[str, float]] = {name: {} for name in sets}
    for tag, enc in encoders.items():
        aligner = EmbeddingAligner(enc, layer=8, method="itermax", mode="exact")
        for name, pairs in sets.items():
            table[name][tag] = round(evaluate_aligner(aligner, pairs[:limit])["aer"], 4)
        print(f"aer {tag}: {json.dumps({k: v[tag] for k, v in table.items()})}", file=sys.stderr)
    return table


def projection_quality(encoder: str, cache: Path) -> dict[str, Any]:
    """The last JSON line of benchmarks/projection_quality.py with ``encoder``."""
    cmd = [sys.executable, str(REPO / "benchmarks" / "projection_quality.py"), "--encoder", encoder,
           "--cache", str(cache)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    table = [line for line in out.stdout.splitlines() if "+" in line and not line.startswith("{")][:8]
    print("\n".join(table), file=sys.stderr)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--max-pairs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tlm", action="store_true", help="also train TLM (adds an LM head to e5)")
    ap.add_argument("--co", action="store_true", help="also train awesome-align's consistency objective")
    ap.add_argument("--train-embeddings", action="store_true", help="train the input embeddings too (awesome-align)")
    ap.add_argument("--kinds", default=",".join(KINDS),
                    help=f"kinds of parallel text to train on, of {','.join(KINDS)} (news: WMT news tests)")
    ap.add_argument("--work", type=Path, default=None, help="folder of the fine-tuned encoder and caches")
    ap.add_argument("--no-europarl", action="store_true", help="skip the projection_quality runs")
    ap.add_argument("--aer-limit", type=int, default=None, help="first N pairs of each gold set")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(json.dumps({"skipped": "../shared is absent"}))
        return
    from alignment.finetuning import finetune

    work = args.work or REPO.parent / ".projector-bench" / "finetune-aligner"
    work.mkdir(parents=True, exist_ok=True)
    base = ensure_encoder(None)
    kinds = tuple(k for k in KINDS if k in args.kinds.split(","))
    if not kinds or set(args.kinds.split(",")) - set(KINDS):
        ap.error(f"--kinds: a comma-separated list of {', '.join(KINDS)}")
    name = (f"e5-ft-s{args.steps}-lr{args.lr:g}-b{args.batch_tokens}-p{args.max_pairs or 'all'}"
            f"{'-co' if args.co else ''}{'-tlm' if args.tlm else ''}{'-emb' if args.train_embeddings else ''}"
            f"{'' if kinds == KINDS else '-' + '+'.join(kinds)}")
    out = work / name
    t0 = time.perf_counter()
    finetune(parallel_sources(kinds), out, encoder=base, steps=args.steps, learning_rate=args.lr,
             batch_tokens=args.batch_tokens, max_pairs=args.max_pairs, seed=args.seed, tlm=args.tlm, co=args.co,
             train_embeddings=args.train_embeddings, checkpoint_every=25)
    wall = time.perf_counter() - t0
    card = json.loads((out / "finetune.json").read_text())
    result: dict[str, Any] = {
        "encoder": name, "finetune_steps": card["steps"], "finetune_pairs_used": card["data"]["pairs_used"],
        "finetune_pairs_per_s": card["pairs_per_s"], "finetune_minutes": round(card["seconds"] / 60, 1),
        "finetune_wall_minutes_this_run": round(wall / 60, 1), "loss_first": card["loss_first"],
        "loss_last": card["loss_last"], "signature": card["signature"],
    }
    print(json.dumps(result), file=sys.stderr)
    aer = aer_table({"untuned": base, "tuned": str(out)}, args.aer_limit)
    lower = [k for k, v in aer.items() if v["tuned"] < v["untuned"]]
    result.update(aer=aer, aer_lower_on=f"{len(lower)}/{len(aer)}",
                  aer_unseen_pairs={k: v for k, v in aer.items() if any(x in k for x in ("ja", "zh", "hi"))})
    if not args.no_europarl:
        cache = work / "pq-cache"
        before = projection_quality(base, cache)
        after = projection_quality(str(out), cache)
        langs = ("de", "es", "it")
        result.update(
            europarl_avg_f1=after["europarl_avg_f1"], best_config=after["best_config"],
            untuned_europarl_avg_f1=before["europarl_avg_f1"], untuned_best_config=before["best_config"],
            per_language={lang: {"tuned": after["per_language"][lang]["f1"],
                                 "untuned": before["per_language"][lang]["f1"]} for lang in langs},
            per_aligner_tuned=after["per_aligner_default_heuristics"],
            per_aligner_untuned=before["per_aligner_default_heuristics"],
            target_met=after["europarl_avg_f1"] >= 0.93 and all(
                after["per_language"][lang]["f1"] >= before["per_language"][lang]["f1"] for lang in langs))
    result["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()

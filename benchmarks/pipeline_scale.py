"""translate-train at scale: peak memory for 1k vs 10k examples (streaming) and examples/s per method.

Builds a tiny random en->pt Marian model (converted to CTranslate2) and a tiny random encoder, writes
synthetic English NER data, and runs each configuration in a fresh subprocess that reports its own peak
resident memory. Everything runs side by side in one invocation.

    python benchmarks/pipeline_scale.py [--work DIR] [--sizes 1000,10000] [--speed-examples 1000]

The last line is one JSON object: ``{"mem_ratio_10k_1k": ..., "examples_per_s": {...}, ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORDS = ["the", "house", "is", "big", "a", "cat", "red", "blue", "and", "dog", "in", "met", "saw", "near"]
NAMES = [("Ana", "PER"), ("Rio", "LOC"), ("Bob", "PER"), ("Lima", "LOC"), ("Acme", "ORG"), ("Oslo", "LOC")]

_CHILD = r"""
import json, resource, sys, time
from projector.pipeline import translate_train
args = json.loads(sys.argv[1])
start = time.perf_counter()
result = translate_train(args["input"], tgt_langs="pt", method=args["method"], model=args["model"],
                         output=args["output"], method_options=args["options"], cache=False,
                         shard_size=args["shard_size"], batch_size=args["batch_size"])
elapsed = time.perf_counter() - start
rep = result.report.languages["pt"]
print(json.dumps({"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "examples_in": rep.examples_in, "examples_out": rep.examples_out,
                  "spans": dict(rep.span_totals())}))
"""


def write_data(path: Path, n: int, seed: int = 0) -> Path:
    """Synthetic English NER sentences (5-15 tokens, ~30% names) in CoNLL format."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(n):
            for _ in range(rng.randint(5, 15)):
                if rng.random() < 0.3:
                    name, label = rng.choice(NAMES)
                    fh.write(f"{name} B-{label}\n")
                else:
                    fh.write(f"{rng.choice(WORDS)} O\n")
            fh.write(". O\n\n")
    return path


def build_models(work: Path) -> tuple[Path, Path]:
    """The tiny Marian model and the tiny encoder (built once under ``work``)."""
    sys.path.insert(0, str(REPO))
    from tests.mt.tiny_models import build_bert, build_marian

    marian = work / "opus-mt-en-pt"
    if not (marian / "config.json").exists():
        build_marian(marian)
    encoder = work / "encoder"
    if not (encoder / "config.json").exists():
        build_bert(encoder, WORDS, max_positions=128)
    return marian, encoder


def run(work: Path, method: str, data: Path, model: Path, options: dict, tag: str) -> dict:
    """One translate-train run in a fresh process; its own figures (seconds, peak RSS)."""
    out = work / f"out-{tag}"
    args = {"input": str(data), "method": method, "model": str(model), "output": str(out), "options": options,
            "shard_size": 500, "batch_size": 64}
    env = {**os.environ, "PROJECTOR_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True, env=env,
                          cwd=str(REPO))
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--sizes", default="1000,10000", help="dataset sizes for the memory comparison")
    parser.add_argument("--speed-examples", type=int, default=1000, help="examples per method for examples/s")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="projector-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    marian, encoder = build_models(work)
    align_opts = {"encoder": str(encoder), "aligner": "embedding", "layer": 2}
    sizes = [int(s) for s in args.sizes.split(",")]
    memory = {}
    for n in sizes:
        data = write_data(work / f"data-{n}.conll", n)
        memory[n] = run(work, "align", data, marian, align_opts, f"mem-{n}")
        print(f"align, {n} examples: {memory[n]}", flush=True)
    speed = {}
    data = write_data(work / f"data-speed-{args.speed_examples}.conll", args.speed_examples, seed=1)
    for method, options in (("align", align_opts), ("markers", {}), ("codec", {"search": "pruned"}),
                            ("codec-exact", {"search": "exact"})):
        name = method.split("-")[0]
        res = run(work, name, data, marian, options, f"speed-{method}")
        speed[method] = res
        print(f"{method}, {args.speed_examples} examples: {res}", flush=True)
    small, large = memory[sizes[0]], memory[sizes[-1]]
    ratio = (large["peak_rss_mb"] / small["peak_rss_mb"]) if "peak_rss_mb" in small and "peak_rss_mb" in large else None
    figures = {
        "mem_ratio_10k_1k": round(ratio, 3) if ratio else None,
        "peak_rss_mb": {str(n): m.get("peak_rss_mb") for n, m in memory.items()},
        "examples_per_s": {m: (round(r["examples_in"] / r["seconds"], 1) if "seconds" in r else None)
                           for m, r in speed.items()},
        "errors": {m: r["error"] for m, r in {**speed, **{str(k): v for k, v in memory.items()}}.items() if "error" in r},
        "model": "tiny random Marian en->pt (CTranslate2), tiny random BERT encoder",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

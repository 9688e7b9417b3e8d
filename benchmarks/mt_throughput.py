"""MT throughput: CTranslate2's compute types, thread layouts and CPU backend settings against
transformers (fp32, and bfloat16 autocast) on the same opus-mt-sized random Marian.

Builds a random-weight Marian model shaped like Helsinki-NLP/opus-mt (6+6 layers, d_model 512,
8 heads, FFN 2048, 58,101-entry vocabulary) with transformers, converts it with projector's
CTranslate2 backend, and runs, each configuration in its own subprocess (so peak memory is its own):

* ``translate``: the same inputs, greedy, output lengths forced equal (min = max = ``--out-len``);
* ``score``: teacher-forced scoring of the same (source, target) pairs.

Configurations (``--engines``, comma-separated; default: the sweep below):

* ``ct2:COMPUTE:INTRAxINTER[+SETTING...]``: CTranslate2 with a compute type this CPU supports
  (``int8``, ``int8_float32``, ``int8_bfloat16``, ``bfloat16``, ``float32``...), ``INTRA`` threads per
  replica and ``INTER`` replicas; settings: ``packed`` (``CT2_USE_EXPERIMENTAL_PACKED_GEMM=1``),
  ``avx2`` (``CT2_FORCE_CPU_ISA=AVX2``), ``nomkl`` (``CT2_USE_MKL=0``: oneDNN/ruy instead of MKL);
* ``hf:fp32`` (transformers, float32: the reference) and ``hf:bf16`` (bfloat16 autocast).

The configurations alternate for ``--rounds`` rounds so all face the same load; the best run of each
counts. The last line is one JSON object: each configuration's tokens/s, the ratios of the best
CTranslate2 configuration and of what ``compute_type="auto"`` picks over ``hf:fp32``
(``translate_speedup``/``score_speedup``), and the load average. Target: >= 3x on both.

    python benchmarks/mt_throughput.py [--sentences 64] [--out-len 32] [--threads 2] [--engines ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OPUS_VOCAB = 58101


def build_model(out: Path) -> Path:
    """A random opus-mt-sized Marian with a small trained sentencepiece and a padded vocabulary."""
    if (out / "config.json").is_file():
        return out
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    from tests.mt.tiny_models import _spm_pieces, train_spm

    work = out.parent / f"{out.name}-src"
    work.mkdir(parents=True, exist_ok=True)
    src = train_spm(work / "source", "unigram", 400, ids=(1, -1, 0, -1), seed=1)
    tgt = train_spm(work / "target", "unigram", 400, ids=(1, -1, 0, -1), seed=2)
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for model_file in (src, tgt):
        for piece, _, normal in _spm_pieces(model_file):
            if normal and piece not in vocab:
                vocab[piece] = len(vocab)
    k = 0
    while len(vocab) < OPUS_VOCAB - 1:  # opus-mt's vocabulary size: pieces never produced here still
        vocab[f"▁w{k}"] = len(vocab)     # cost their share of the output projection
        k += 1
    vocab["<pad>"] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = MarianTokenizer(source_spm=str(src), target_spm=str(tgt), vocab=str(work / "vocab.json"))
    config = MarianConfig(vocab_size=len(vocab), d_model=512, encoder_layers=6, decoder_layers=6,
                          encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
                          decoder_ffn_dim=2048, max_position_embeddings=512, pad_token_id=vocab["<pad>"],
                          eos_token_id=0, decoder_start_token_id=vocab["<pad>"], scale_embedding=True,
                          activation_function="swish", share_encoder_decoder_embeddings=True)
    torch.manual_seed(0)
    model = MarianMTModel(config).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def make_inputs(n: int, seed: int = 0) -> list[str]:
    words = ("the cat dog house red blue big small runs sees eats man woman city river book table "
             "lives works in at on with and of a to Maria John Lisbon Paris Porto Brazil").split()
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(12, 30))).capitalize() + "." for _ in range(n)]


def sweep(threads: int) -> list[str]:
    """Every compute type this CPU supports x the two thread layouts, the backend settings on the
    fastest type, and the two transformers references."""
    import ctranslate2

    supported = ctranslate2.get_supported_compute_types("cpu")
    order = ("int8", "int8_float32", "int8_bfloat16", "bfloat16", "float32")
    types = [c for c in order if c in supported]
    layouts = [f"{threads}x1"] + ([f"1x{threads}"] if threads > 1 else [])
    specs = [f"ct2:{c}:{lay}" for c in types for lay in layouts]
    specs += [f"ct2:int8:{threads}x1+{s}" for s in ("packed", "avx2", "nomkl")]
    return specs + ["hf:fp32", "hf:bf16"]


SETTINGS = {"packed": ("CT2_USE_EXPERIMENTAL_PACKED_GEMM", "1"), "avx2": ("CT2_FORCE_CPU_ISA", "AVX2"),
            "nomkl": ("CT2_USE_MKL", "0")}


def engine_env(spec: str) -> dict[str, str]:
    """The environment variables a configuration sets (read by CTranslate2 when it loads)."""
    return dict(SETTINGS[s] for s in spec.split("+")[1:])


def load_engine(spec: str, model: Path, cache: Path, threads: int) -> Any:
    """A translator for a configuration string (see the module docstring)."""
    os.environ["PROJECTOR_CACHE"] = str(cache)
    kind, _, rest = spec.partition(":")
    if kind == "ct2":
        from mt_backends.ct2 import CTranslate2Translator

        compute, layout = rest.split("+")[0].split(":")
        intra, inter = (int(x) for x in layout.split("x"))
        # inter replicas work on separate batches: give each its share of the inputs
        return CTranslate2Translator(model, device="cpu", compute_type=compute, intra_threads=intra,
                                     inter_threads=inter, batch_tokens=4096 // inter)
    import torch

    from mt_backends.transformers_backend import TransformersTranslator

    torch.set_num_threads(threads)
    tr = TransformersTranslator(model, device="cpu", dtype="float32")
    if rest == "bf16":
        return _Autocast(tr, torch)
    return tr


class _Autocast:
    """A translator whose calls run under ``torch.autocast("cpu", bfloat16)``."""

    def __init__(self, inner: Any, torch: Any) -> None:
        self.inner, self.torch = inner, torch

    def translate(self, *args: Any, **kwargs: Any) -> Any:
        with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
            return self.inner.translate(*args, **kwargs)

    def score(self, *args: Any, **kwargs: Any) -> Any:
        with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
            return self.inner.score(*args, **kwargs)


def time_translate(tr: Any, texts: list[str], out_len: int) -> tuple[float, int, list[list[str]]]:
    """Seconds, output tokens, and the outputs (as pieces) of one greedy translate of ``texts``."""
    t0 = time.perf_counter()
    res = tr.translate(texts, "en", "pt", beam_size=1, max_length=out_len, min_length=out_len)
    seconds = time.perf_counter() - t0
    outputs = [list(r.best.tokens) for r in res if r.best is not None]
    return seconds, sum(len(o) for o in outputs), outputs


def time_score(tr: Any, texts: list[str], targets: list[list[str]]) -> tuple[float, int]:
    """Seconds and scored tokens (pieces + EOS) of one teacher-forced score of the pairs."""
    t0 = time.perf_counter()
    scored = tr.score(texts, targets, "en", "pt")
    return time.perf_counter() - t0, sum(len(s.logprobs) + 1 for s in scored)


def run_engine(engine: str, model: Path, cache: Path, sentences: int, out_len: int, threads: int) -> dict[str, Any]:
    """In a child process: load one engine, warm it up, time translate then score."""
    tr = load_engine(engine, model, cache, threads)
    texts = make_inputs(sentences)
    tr.translate(texts[:4], "en", "pt", beam_size=1, max_length=out_len, min_length=out_len)  # warm-up
    t_tr, n_tr, outputs = time_translate(tr, texts, out_len)
    t_sc, n_sc = time_score(tr, texts, outputs)
    return {
        "engine": engine, "translate_tokens": n_tr, "translate_tokens_per_s": round(n_tr / t_tr, 1),
        "score_tokens_per_s": round(n_sc / t_sc, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=64)
    ap.add_argument("--out-len", type=int, default=32, help="forced output length (tokens)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the model here (default: a temp dir)")
    ap.add_argument("--engines", default=None, help="comma-separated configurations (default: the sweep)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (best run of each engine)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mt-bench-"))
    if args.child:
        print(json.dumps(run_engine(args.child, workdir / "opus-mt-en-pt-random", workdir / "cache",
                                    args.sentences, args.out_len, args.threads)))
        return
    try:
        bench(args, workdir)
    finally:
        if args.workdir is None:  # ~0.6 GB of model and conversion
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args: argparse.Namespace, workdir: Path) -> None:
    """Build and convert the model, run the engines, print the figures."""
    model, cache = workdir / "opus-mt-en-pt-random", workdir / "cache"
    t0 = time.perf_counter()
    build_model(model)
    from mt_backends.conversion import ensure_ct2, resolve_model

    os.environ["PROJECTOR_CACHE"] = str(cache)
    ensure_ct2(resolve_model(model))  # convert once, outside the timings
    print(f"model built and converted in {time.perf_counter() - t0:.1f}s: {model}", file=sys.stderr)
    engines = args.engines.split(",") if args.engines else sweep(args.threads)
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    for rnd in range(args.rounds):  # configurations alternate, each alone in a fresh subprocess
        for engine in engines:
            cmd = [sys.executable, __file__, "--child", engine, "--workdir", str(workdir), "--sentences",
                   str(args.sentences), "--out-len", str(args.out_len), "--threads", str(args.threads)]
            env = {**os.environ, **engine_env(engine)}
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
            if proc.returncode != 0:
                raise SystemExit(f"{engine} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            runs[engine].append(r)
            print(f"round {rnd + 1} {engine:>24}: translate {r['translate_tokens_per_s']:>8} tok/s   score "
                  f"{r['score_tokens_per_s']:>9} tok/s   peak RSS {r['peak_rss_mb']} MB", file=sys.stderr)
    print(json.dumps(summarize(args, runs)))


def summarize(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Best run of each configuration, the ratios over transformers fp32, and what auto picks."""
    from mt_backends.ct2 import resolve_device

    best = {e: {k: max(r[k] for r in rs) for k in ("translate_tokens_per_s", "score_tokens_per_s")}
            for e, rs in runs.items()}
    summary: dict[str, Any] = {
        "model": "random Marian 6+6 layers, d_model 512, 8 heads, FFN 2048, vocab 58101",
        "sentences": args.sentences, "out_len": args.out_len, "threads": args.threads, "beam_size": 1,
        "rounds": args.rounds, "load_average_1min": round(os.getloadavg()[0], 2),
        "configurations": {e: {**best[e], "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)} for e, rs in runs.items()},
    }
    ref = best.get("hf:fp32")
    ct2 = {e: b for e, b in best.items() if e.startswith("ct2:")}
    if ref and ct2:
        def both(e: str) -> float:  # the slower of the two speedups: a configuration must win on both
            return min(ct2[e]["translate_tokens_per_s"] / ref["translate_tokens_per_s"],
                       ct2[e]["score_tokens_per_s"] / ref["score_tokens_per_s"])
        top = max(ct2, key=both)
        auto = f"ct2:{resolve_device('cpu', 'auto')[1]}:{args.threads}x1"
        summary["best_ct2"] = top
        summary["auto_picks"] = auto
        for name, e in (("", top), ("auto_", auto)):
            if e in ct2:
                summary[f"{name}translate_speedup"] = round(ct2[e]["translate_tokens_per_s"] / ref["translate_tokens_per_s"], 2)
                summary[f"{name}score_speedup"] = round(ct2[e]["score_tokens_per_s"] / ref["score_tokens_per_s"], 2)
        if "hf:bf16" in best:
            summary["hf_bf16_vs_fp32_translate"] = round(best["hf:bf16"]["translate_tokens_per_s"] /
                                                         ref["translate_tokens_per_s"], 2)
            summary["hf_bf16_vs_fp32_score"] = round(best["hf:bf16"]["score_tokens_per_s"] / ref["score_tokens_per_s"], 2)
        summary["equal_output_tokens"] = len({r["translate_tokens"] for rs in runs.values() for r in rs}) == 1
        summary["target_3x_met"] = summary["translate_speedup"] >= 3 and summary["score_speedup"] >= 3
        print(f"best {top}: translate x{summary['translate_speedup']}  score x{summary['score_speedup']}; "
              f"auto picks {auto}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main()

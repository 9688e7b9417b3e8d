"""Export the student to CTranslate2 int8 under ``examples/models/<name>/``.

Takes the transformers folder written by ``train.py`` (``--work/hf-latest`` by
default, or a ``step-N.pt`` checkpoint), converts it with
``ctranslate2.converters.TransformersConverter`` (int8 weights; ``<pad>`` kept as
the decoder start token, embedded as trained, see ``mt_backends.conversion.marian_start_as_trained``:
training with tied embeddings moved that row, and the standard conversion, which assumes it is
zero, cost 0.8 chrF on FLORES at step 4,226), and adds what
a loader needs beside ``model.bin``/``config.json``/``shared_vocabulary.json``:

* ``spm.model``: the shared sentencepiece model (source and target);
* ``source.spm``/``target.spm``/``vocab.json``/``tokenizer_config.json``: the
  same vocabulary as a ``MarianTokenizer`` folder, for transformers users;
* ``projector_model.json``: how to call it (language tokens prefixed to the
  source, ``</s>`` appended, directions, training step).

The folder is written atomically (temporary folder, then rename); an existing
model card ``README.md`` and ``eval.json`` are carried over until
``evaluate.py`` rewrites them. Fails when the folder exceeds ``--max-mb``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LANG_TOKENS, WORK_DIR, atomic_write_json  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from mt_backends.conversion import marian_start_as_trained  # noqa: E402

log = logging.getLogger("export")
DEFAULT_NAME = "marian-en-pt-demo"
CARRY_OVER = ("README.md", "eval.json")
TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json", "special_tokens_map.json")


def hf_from_checkpoint(ckpt: Path | list[Path], work: Path, out: Path) -> Path:
    """Write a transformers folder for a ``step-N.pt`` training checkpoint, or for the average of the
    weights of several (checkpoint averaging: the last one's step and metadata are recorded)."""
    import sentencepiece as spm
    import torch
    from train import ModelSize, build_config, save_hf_folder
    from transformers import MarianMTModel

    ckpts = ckpt if isinstance(ckpt, list) else [ckpt]
    states = [torch.load(c, map_location="cpu", weights_only=False) for c in ckpts]
    state = states[-1]
    weights = state["model"]
    if len(states) > 1:
        weights = {k: (sum(s["model"][k].double() for s in states) / len(states)).to(v.dtype)
                   if v.is_floating_point() else v for k, v in weights.items()}
    spm_model = work / "spm" / "spm.model"
    size = spm.SentencePieceProcessor(model_file=str(spm_model)).get_piece_size()
    model = MarianMTModel(build_config(size, ModelSize(**state["size"])))
    model.load_state_dict(weights)
    history = state.get("history") or [{}]
    meta = {"step": state["step"], "epoch": state["epoch"], "valid_loss": history[-1].get("valid_loss"),
            "size": state["size"]}
    if len(states) > 1:
        meta["averaged_steps"] = [s["step"] for s in states]
    save_hf_folder(model, spm_model, out, meta)
    return out


def latest_checkpoints(folder: Path, n: int) -> list[Path]:
    """The ``n`` newest ``step-N.pt`` files of ``folder``, oldest first."""
    found = sorted(folder.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    if not found:
        raise SystemExit(f"no checkpoint in {folder}")
    return found[-n:]


def folder_mb(path: Path) -> float:
    """Total size of the files in ``path`` in MB (10^6 bytes)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def export(hf_dir: Path, out_dir: Path, quantization: str, max_mb: float) -> dict:
    """Convert ``hf_dir`` into ``out_dir``; return the loader metadata written."""
    from ctranslate2.converters import TransformersConverter

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    os.chmod(tmp, 0o755)
    try:
        conv_dir = tmp / "ct2"
        with marian_start_as_trained():  # <pad> kept as the decoder start, embedded as trained
            TransformersConverter(str(hf_dir)).convert(str(conv_dir), quantization=quantization, force=True)
        for f in conv_dir.iterdir():
            os.replace(f, tmp / f.name)
        conv_dir.rmdir()
        shutil.copyfile(hf_dir / "source.spm", tmp / "spm.model")
        for name in TOKENIZER_FILES:
            if (hf_dir / name).exists():
                shutil.copyfile(hf_dir / name, tmp / name)
        tok_cfg = tmp / "tokenizer_config.json"
        if tok_cfg.exists():  # one model, both directions: no fixed pair (older checkpoints said en-pt)
            cfg = json.loads(tok_cfg.read_text(encoding="utf-8"))
            cfg.update(source_lang="mul", target_lang="mul")
            atomic_write_json(tok_cfg, cfg)
        state = {}
        if (hf_dir / "training_state.json").exists():
            state = json.loads((hf_dir / "training_state.json").read_text())
        meta = {
            "format": "ctranslate2",
            "architecture": "MarianMTModel (transformer, shared embeddings)",
            "quantization": quantization,
            "sentencepiece": "spm.model",
            "languages": {"en": "eng", "pt": "por"},
            "directions": ["en-pt", "pt-en"],
            "target_language_tokens": LANG_TOKENS,
            "source_format": "<target-language token> <pieces> </s>",
            "target_prefix": None,
            "marker_symbols": ["[", "]"],
            "training_state": state,
        }
        atomic_write_json(tmp / "projector_model.json", meta)
        for name in CARRY_OVER:
            if (out_dir / name).exists():
                shutil.copyfile(out_dir / name, tmp / name)
        size = folder_mb(tmp)
        if size > max_mb:
            raise SystemExit(f"exported model is {size:.1f} MB > {max_mb} MB")
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
        log.info("exported %s (%.1f MB, step %s)", out_dir, size, state.get("step"))
        return meta
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=WORK_DIR)
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="a step-N.pt file or a transformers folder (default: WORK/hf-latest)")
    ap.add_argument("--name", default=DEFAULT_NAME)
    ap.add_argument("--out-root", type=Path, default=REPO / "examples" / "models")
    ap.add_argument("--average", type=int, default=0, metavar="N",
                    help="average the weights of the N newest checkpoints of --ckpt-dir")
    ap.add_argument("--ckpt-dir", type=Path, default=None,
                    help="where --average finds checkpoints (default WORK/ckpt, which train.py prunes to its "
                         "--keep newest: copy them elsewhere to average more)")
    ap.add_argument("--quantization", default="int8")
    ap.add_argument("--max-mb", type=float, default=30.0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    src = args.checkpoint or args.work / "hf-latest"
    if args.average > 1:
        ckpts = latest_checkpoints(args.ckpt_dir or args.work / "ckpt", args.average)
        src = hf_from_checkpoint(ckpts, args.work, args.work / "hf-export")
    elif src.is_file():
        src = hf_from_checkpoint(src, args.work, args.work / "hf-export")
    meta = export(src, args.out_root / args.name, args.quantization, args.max_mb)
    print(json.dumps({"out": str(args.out_root / args.name), "mb": round(folder_mb(args.out_root / args.name), 2),
                      "step": meta["training_state"].get("step")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

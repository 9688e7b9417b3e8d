"""Train the bidirectional en<->pt Marian student on the distilled corpus.

One ``MarianMTModel`` serves both directions: the source starts with the
target-language token ``>>por<<`` or ``>>eng<<`` (multilingual Opus-MT style),
embeddings are shared by encoder, decoder and output layer, and the vocabulary
is the shared sentencepiece model of ``train_spm.py``.

Plain PyTorch loop: label-smoothed cross-entropy, Adam with linear warmup and
inverse-square-root decay, token-budget batches of length-sorted sentences.
Every ``--ckpt-minutes`` (and at the end) the full training state is saved
atomically to ``--work/ckpt/`` and the model as a transformers folder with a
``MarianTokenizer``-compatible tokenizer to ``--work/hf-latest/``. Starting the
script again resumes from the latest checkpoint at the same batch (or, when
``make_data.py`` has added data since, with a new epoch over the new corpus).
SIGTERM/SIGINT make it checkpoint before it exits.

Usage::

    nice -n 19 nohup python examples/distill/train.py > /work/distill-work/train.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LANG_TOKENS, WORK_DIR, read_tsv  # noqa: E402

log = logging.getLogger("train")


@dataclass
class ModelSize:
    """Student architecture (Marian transformer, shared embeddings)."""

    d_model: int = 256
    encoder_layers: int = 6
    decoder_layers: int = 2
    heads: int = 4
    ffn_dim: int = 1024
    max_positions: int = 256
    dropout: float = 0.1


def build_config(spm_size: int, size: ModelSize):  # -> MarianConfig
    """A ``MarianConfig`` for the student.

    Ids: the sentencepiece pieces (``</s>`` 0, ``<unk>`` 1), then ``<pad>`` as the
    last id ``spm_size`` (Marian convention; the decoder starts from it).
    """
    from transformers import MarianConfig

    return MarianConfig(
        vocab_size=spm_size + 1,
        decoder_vocab_size=spm_size + 1,
        d_model=size.d_model,
        encoder_layers=size.encoder_layers,
        decoder_layers=size.decoder_layers,
        encoder_attention_heads=size.heads,
        decoder_attention_heads=size.heads,
        encoder_ffn_dim=size.ffn_dim,
        decoder_ffn_dim=size.ffn_dim,
        max_position_embeddings=size.max_positions,
        dropout=size.dropout,
        attention_dropout=0.0,
        activation_dropout=0.0,
        activation_function="relu",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        pad_token_id=spm_size,
        eos_token_id=0,
        decoder_start_token_id=spm_size,
        forced_eos_token_id=0,
        bos_token_id=None,
        num_beams=4,
        max_length=256,
    )


def save_hf_folder(model, spm_model: Path, out_dir: Path, extra: dict | None = None) -> None:
    """Save ``model`` and a MarianTokenizer-compatible tokenizer to ``out_dir`` atomically."""
    import sentencepiece as spm

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    os.chmod(tmp, 0o755)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        sp = spm.SentencePieceProcessor(model_file=str(spm_model))
        vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
        vocab["<pad>"] = sp.get_piece_size()
        (tmp / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0), encoding="utf-8")
        for name in ("source.spm", "target.spm"):
            shutil.copyfile(spm_model, tmp / name)
        tok_cfg = {
            "tokenizer_class": "MarianTokenizer",
            "source_lang": "mul",  # both directions: the >>por<< / >>eng<< token chooses
            "target_lang": "mul",
            "separate_vocabs": False,
            "model_max_length": 256,
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
        }
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2), encoding="utf-8")
        (tmp / "special_tokens_map.json").write_text(
            json.dumps({"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}), encoding="utf-8")
        if extra:
            (tmp / "training_state.json").write_text(json.dumps(extra, indent=2), encoding="utf-8")
        old = out_dir.with_name(out_dir.name + ".old")
        if out_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# data


class Corpus:
    """Tokenized pairs stored as flat int32 arrays with offsets."""

    def __init__(self, src: list[list[int]], tgt: list[list[int]]) -> None:
        self.src_lens = np.array([len(s) for s in src], dtype=np.int32)
        self.tgt_lens = np.array([len(t) for t in tgt], dtype=np.int32)
        self.src_off = np.concatenate([[0], np.cumsum(self.src_lens)]).astype(np.int64)
        self.tgt_off = np.concatenate([[0], np.cumsum(self.tgt_lens)]).astype(np.int64)
        self.src = np.fromiter((i for s in src for i in s), dtype=np.int32, count=int(self.src_off[-1]))
        self.tgt = np.fromiter((i for t in tgt for i in t), dtype=np.int32, count=int(self.tgt_off[-1]))

    def __len__(self) -> int:
        return len(self.src_lens)

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Source and target ids of pair ``i``."""
        return (self.src[self.src_off[i]:self.src_off[i + 1]], self.tgt[self.tgt_off[i]:self.tgt_off[i + 1]])


def load_corpus(tsv: Path, spm_model: Path, max_len: int) -> Corpus:
    """Tokenize ``lang<TAB>src<TAB>tgt`` rows: source ``>>lang<< pieces </s>``, target ``pieces </s>``."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_model))
    rows = list(read_tsv(tsv, 3))
    lang_ids = {lang: sp.piece_to_id(tok) for lang, tok in LANG_TOKENS.items()}
    srcs = sp.encode([r[1] for r in rows])
    tgts = sp.encode([r[2] for r in rows])
    src_out, tgt_out = [], []
    for (lang, _, _), s, t in zip(rows, srcs, tgts):
        if not s or not t or len(s) + 2 > max_len or len(t) + 1 > max_len:
            continue
        src_out.append([lang_ids[lang], *s, 0])
        tgt_out.append([*t, 0])
    log.info("%s: %d pairs (%d dropped by length)", tsv.name, len(src_out), len(rows) - len(src_out))
    return Corpus(src_out, tgt_out)


def make_batches(corpus: Corpus, max_tokens: int, seed: int) -> list[np.ndarray]:
    """Token-budget batches of similar-length pairs, in a seeded random order."""
    rng = np.random.default_rng(seed)
    noise = rng.random(len(corpus))
    order = np.lexsort((noise, corpus.tgt_lens, corpus.src_lens))
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        end = start
        max_s = max_t = 0
        while end < len(order):
            i = order[end]
            ms, mt = max(max_s, corpus.src_lens[i]), max(max_t, corpus.tgt_lens[i])
            if (end - start + 1) * (ms + mt) > max_tokens and end > start:
                break
            max_s, max_t, end = ms, mt, end + 1
        batches.append(order[start:end])
        start = end
    rng.shuffle(batches)
    return batches


def collate(corpus: Corpus, idx: np.ndarray, pad: int):  # -> dict[str, torch.Tensor]
    """Padded tensors for one batch (decoder input starts with ``<pad>``, as in Marian)."""
    import torch

    pairs = [corpus.pair(int(i)) for i in idx]
    ls = max(len(s) for s, _ in pairs)
    lt = max(len(t) for _, t in pairs)
    src = np.full((len(pairs), ls), pad, dtype=np.int64)
    tgt = np.full((len(pairs), lt), -100, dtype=np.int64)
    dec = np.full((len(pairs), lt), pad, dtype=np.int64)
    for k, (s, t) in enumerate(pairs):
        src[k, :len(s)] = s
        tgt[k, :len(t)] = t
        dec[k, 1:len(t)] = t[:-1]
    src_t = torch.from_numpy(src)
    return {"input_ids": src_t, "attention_mask": (src_t != pad).long(),
            "decoder_input_ids": torch.from_numpy(dec), "labels": torch.from_numpy(tgt)}


# ---------------------------------------------------------------------------
# training


def lr_at(step: int, peak: float, warmup: int) -> float:
    """Linear warmup then inverse-square-root decay."""
    step = max(step, 1)
    return peak * min(step / warmup, math.sqrt(warmup / step))


def loss_fn(logits, labels, smoothing: float):  # -> (loss, ntokens)
    """Label-smoothed cross-entropy summed over non-pad tokens."""
    import torch.nn.functional as F

    mask = labels != -100
    n = int(mask.sum())
    loss = F.cross_entropy(logits[mask].float(), labels[mask], label_smoothing=smoothing, reduction="sum")
    return loss, n


def evaluate_loss(model, corpus: Corpus, max_tokens: int, pad: int) -> float:
    """Per-token cross-entropy (no smoothing) on ``corpus``."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in make_batches(corpus, max_tokens, seed=0):
            b = collate(corpus, idx, pad)
            out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                        decoder_input_ids=b["decoder_input_ids"])
            loss, n = loss_fn(out.logits, b["labels"], 0.0)
            total, count = total + float(loss.detach()), count + n
    model.train()
    return total / max(count, 1)


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` atomically."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest ``step-*.pt`` in ``ckpt_dir``."""
    cks = sorted(ckpt_dir.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    return cks[-1] if cks else None


def train(args: argparse.Namespace) -> None:
    """Run (or resume) training until ``--max-steps``/``--max-epochs``/``--max-hours``."""
    import torch
    from transformers import MarianMTModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work: Path = args.work
    spm_model = work / "spm" / "spm.model"
    ckpt_dir = work / "ckpt"
    size = ModelSize(d_model=args.d_model, encoder_layers=args.enc_layers, decoder_layers=args.dec_layers,
                     heads=args.heads, ffn_dim=args.ffn_dim)

    import sentencepiece as spm

    vocab_size = spm.SentencePieceProcessor(model_file=str(spm_model)).get_piece_size()
    train_c = load_corpus(work / "data" / "train.tsv", spm_model, args.max_len)
    valid_c = load_corpus(work / "data" / "valid.tsv", spm_model, args.max_len)

    import hashlib

    vocab_digest = hashlib.sha1(spm_model.read_bytes()).hexdigest()[:16]
    resume = latest_checkpoint(ckpt_dir)
    if resume is not None:
        state = torch.load(resume, map_location="cpu", weights_only=False)
        if state.get("vocab", vocab_digest) != vocab_digest:
            raise SystemExit(f"{resume} was trained with another sentencepiece model than {spm_model}: "
                             f"move {ckpt_dir} away to start afresh")
        size = ModelSize(**state["size"])
        log.info("resuming from %s (step %d, epoch %d, batch %d)", resume, state["step"], state["epoch"],
                 state["batch"])
    model = MarianMTModel(build_config(vocab_size, size))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    step, epoch, batch_pos, best_valid = 0, 0, 0, float("inf")
    history: list[dict] = []
    data_rows = len(train_c)
    if resume is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        step, epoch, batch_pos = state["step"], state["epoch"], state["batch"]
        best_valid, history = state.get("best_valid", best_valid), state.get("history", [])
        if state.get("data_rows", data_rows) != data_rows:
            # make_data.py added data since: start a new epoch over the new corpus
            log.info("training data changed (%s -> %d pairs): starting epoch %d afresh", state.get("data_rows"),
                     data_rows, epoch + 1)
            epoch, batch_pos = epoch + 1, 0
            best_valid = float("inf")  # the validation set may have changed too
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model %s: %.1fM parameters, vocab %d", asdict(size), n_params / 1e6, vocab_size)
    model.train()

    t_start = time.time()
    last_ckpt = time.time()
    tokens_seen = 0
    run_loss, run_tok = 0.0, 0

    def checkpoint(final: bool = False) -> None:
        nonlocal best_valid, last_ckpt
        vloss = evaluate_loss(model, valid_c, args.max_tokens, vocab_size)
        best_valid = min(best_valid, vloss)
        history.append({"step": step, "epoch": epoch, "valid_loss": round(vloss, 4),
                        "hours": round((time.time() - t_start) / 3600, 3), "time": time.strftime("%F %T")})
        state = {"model": model.state_dict(), "optim": opt.state_dict(), "step": step, "epoch": epoch,
                 "batch": batch_pos, "size": asdict(size), "best_valid": best_valid, "history": history,
                 "data_rows": data_rows,
                 "vocab": vocab_digest,
                 "args": {k: str(v) for k, v in vars(args).items()}}
        save_checkpoint(ckpt_dir / f"step-{step}.pt", state)
        for old in sorted(ckpt_dir.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))[:-args.keep]:
            old.unlink()
        save_hf_folder(model, spm_model, work / "hf-latest",
                       {"step": step, "epoch": epoch, "valid_loss": vloss, "size": asdict(size)})
        log.info("checkpoint step %d epoch %d valid_loss %.4f%s", step, epoch, vloss, " (final)" if final else "")
        last_ckpt = time.time()

    stop = {"signal": 0}

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: checkpointing and stopping after this batch", signum)
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if step == 0 and resume is None:
        checkpoint()  # an untrained model proves export early
    done = False
    while not done and epoch < args.max_epochs:
        batches = make_batches(train_c, args.max_tokens, seed=args.seed + epoch)
        while batch_pos < len(batches):
            b = collate(train_c, batches[batch_pos], vocab_size)
            batch_pos += 1
            lr = lr_at(step + 1, args.lr, args.warmup)
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                            decoder_input_ids=b["decoder_input_ids"])
            loss, n = loss_fn(out.logits, b["labels"], args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            (loss / n).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            step += 1
            tokens_seen += n
            run_loss, run_tok = run_loss + float(loss.detach()), run_tok + n
            if step % args.log_every == 0:
                el = time.time() - t_start
                log.info("step %d epoch %d batch %d/%d lr %.2e loss %.4f tgt-tok/s %.0f", step, epoch, batch_pos,
                         len(batches), lr, run_loss / max(run_tok, 1), tokens_seen / el)
                run_loss, run_tok = 0.0, 0
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                checkpoint()
            if stop["signal"] or step >= args.max_steps or (
                    args.max_hours and time.time() - t_start > args.max_hours * 3600):
                done = True
                break
        if not done:
            epoch, batch_pos = epoch + 1, 0
    checkpoint(final=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=WORK_DIR)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (at most 2 on the shared machine)")
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--enc-layers", type=int, default=6)
    ap.add_argument("--dec-layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn-dim", type=int, default=1024)
    ap.add_argument("--max-len", type=int, default=128, help="max tokens per side")
    ap.add_argument("--max-tokens", type=int, default=4000, help="padded src+tgt tokens per batch")
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--warmup", type=int, default=800)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--max-epochs", type=int, default=40)
    ap.add_argument("--max-hours", type=float, default=0.0, help="stop after this many hours (0: no limit)")
    ap.add_argument("--ckpt-minutes", type=float, default=20.0)
    ap.add_argument("--keep", type=int, default=2, help="checkpoints to keep")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                    help="bfloat16 autocast for the forward pass (fast on AVX512-BF16 CPUs; weights stay fp32)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.threads > 2:
        log.warning("more than 2 torch threads on a 2-core shared machine")
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

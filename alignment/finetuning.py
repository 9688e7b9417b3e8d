"""Fine-tune the embedding aligner's encoder on parallel text with awesome-align's objectives.

awesome-align (Dou and Neubig, 2021) trains a multilingual encoder so that the vectors of its alignment
layer align better. Its self-training objective (``so``) takes the current model's own alignments as
targets: for a pair of sentences encoded separately, the dot products of the alignment-layer vectors
of every source and target piece are normalised by a softmax over the target (source -> target) and
one over the source (target -> source); the pieces whose probabilities pass ``threshold`` in both
directions are the targets (computed without dropout and without gradients), and the loss is minus
their probability mass in each direction, divided by the sentence lengths, averaged over the batch.
Its consistency objective (``co``) adds minus the mass of the product of the two directions'
probabilities (the trace of one matrix times the other's transpose), divided by the shorter side's
length: it rewards links both directions agree on, including the many-to-one links of compounds that
the thresholded targets of ``so`` can leave out.
Pairs read with gold word links (a ``.jsonl`` gold file, :mod:`alignment.parallel`) train
awesome-align's supervised setting: their links, spread over the pieces of the linked words, replace the
model's own alignments as the targets of ``so`` (and of ``co``'s ``so`` part); the other pairs keep
self-training, so gold and plain parallel text mix in one run.
Translation language modelling (``tlm``) predicts masked pieces of the joined pair with the encoder's
LM head (one is added, tied to the input embeddings, when the encoder has none).

:func:`finetune` reads and checks all the parallel text first (:mod:`alignment.parallel`), then trains:

* with ``so`` alone, the encoder is cut at the alignment layer: layers above it are never computed
  (they are written back unchanged); tokenization is the aligner's own (:class:`EmbeddingAligner`),
  so the model learns on exactly the pieces it aligns;
* length-sorted batches bounded by ``batch_tokens`` padded pieces, in a seeded order; dropout and
  masking are seeded per step, so a run killed and resumed from its last checkpoint (every
  ``checkpoint_every`` steps, beside the output folder) ends with the same weights as one that was not;
* bfloat16 autocast where the device computes it natively (``precision=auto``);
* the input embeddings (80% of the weights of an XLM-R-vocabulary encoder) stay frozen unless
  ``train_embeddings``: much faster steps and checkpoints, and pieces of languages absent from the
  parallel text keep the vectors the rest of the model was trained against.

The output is a normal transformers folder (model and tokenizer) that ``EmbeddingAligner(OUT)`` and
``--encoder OUT`` load, with ``finetune.json`` (data, steps, losses, speed, the signature and run key
of :class:`FinetuneOptions`) and a model card (``README.md``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from projector.errors import OutputError
from projector.options import Options, merge_options, option, portable_model

from .parallel import ParallelSource, read_parallel

__all__ = ["FinetuneOptions", "finetune", "token_batches", "gold_targets", "self_training_loss", "checkpoint_dir"]

logger = logging.getLogger("projector.alignment")
PRECISIONS = ("auto", "bfloat16", "float32")
_CHUNK = 2048  # pairs tokenized into pieces at a time


@dataclass(frozen=True)
class FinetuneOptions(Options):
    """How :func:`finetune` trains (every field is a ``projector finetune-aligner`` flag)."""

    kind: ClassVar[str] = "finetune"
    encoder: str = option("e5", "Encoder to fine-tune: a transformers folder, a Hub id, or a built-in (e5, e5-align).",
                          model=True)
    layer: int = option(8, "Alignment layer (trained; the layers above it are written back unchanged).", min=1)
    steps: int = option(1000, "Optimizer steps (each a batch of batch_tokens pieces).", min=1)
    batch_tokens: int = option(4096, "Padded pieces per batch, both sides together.", min=16)
    learning_rate: float = option(1e-4, "Peak learning rate (AdamW, linear decay to 0; awesome-align's 2e-5 is "
                                        "for batches of 8 pairs).", min=0.0, short="lr")
    threshold: float = option(1e-3, "Softmax threshold of the self-training targets (awesome-align's).",
                              min=0.0, max=1.0)
    co: bool = option(False, "Also train awesome-align's consistency objective (the two directions' "
                             "probabilities agree: minus their product's mass over the shorter side).")
    tlm: bool = option(False, "Also train translation language modelling (computes every layer; adds an LM "
                              "head when the encoder has none).")
    mask_prob: float = option(0.15, "Share of pieces masked for TLM.", min=0.0, max=1.0, within="tlm")
    train_embeddings: bool = option(False, "Also train the input embeddings (slower; frozen by default).")
    max_pieces: int = option(128, "Leave out pairs with a side of more pieces (counted in finetune.json).", min=4)
    max_pairs: int | None = option(None, "Train on at most this many pairs (a seeded sample).", min=1, none="all")
    seed: int = option(0, "Seed of the sample, the batch order, dropout and masking.")
    precision: str = option("auto", "bfloat16 autocast, or float32 (auto: bfloat16 where native).",
                            choices=PRECISIONS)
    checkpoint_every: int = option(100, "Steps between checkpoints (a killed run resumes from the last).",
                                   min=1, runtime=True)
    device: str = option("cpu", "Device (cpu, cuda, cuda:1...).", runtime=True)
    threads: int = option(0, "CPU threads (0: torch's default).", min=0, runtime=True)


def _torch() -> Any:
    from projector._optional import require

    return require("torch", extra="align", purpose="fine-tuning an aligner")


def checkpoint_dir(out: str | os.PathLike[str]) -> Path:
    """Where :func:`finetune` keeps the checkpoint of a run writing ``out`` (beside it, hidden)."""
    out = Path(out)
    return out.parent / f".{out.name}.finetune-checkpoint"


def token_batches(lengths: Sequence[tuple[int, int]], budget: int) -> list[list[int]]:
    """Indices of pairs grouped into batches sorted by length: each batch's padded pieces (both sides
    padded to the batch's longest side, ``2 * width * size``) stay within ``budget`` (a pair alone
    may exceed it)."""
    order = sorted(range(len(lengths)), key=lambda k: (max(lengths[k]), k))
    batches: list[list[int]] = []
    current: list[int] = []
    for k in order:
        width = max(lengths[k])  # the longest so far: the order is ascending
        if current and 2 * width * (len(current) + 1) > budget:
            batches.append(current)
            current = []
        current.append(k)
    if current:
        batches.append(current)
    return batches


def _step_seed(seed: int, step: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{step}".encode()).digest()[:7], "big")


@dataclass
class _Run:
    """Everything one training run needs, prepared before the first step."""

    options: FinetuneOptions
    aligner: Any
    model: Any
    data: list[tuple[Sequence[int], Sequence[int], Sequence[int] | None]]  # pieces, pieces, gold targets
    batches: list[list[int]]
    key: str
    summary: dict[str, Any]


def gold_targets(src_covers: Sequence[Sequence[int]], tgt_covers: Sequence[Sequence[int]],
                 links: Sequence[tuple[int, int]]) -> list[int]:
    """The piece pairs that word links make targets, as ``p * len(tgt_covers) + q`` (sorted): every
    source piece covering a linked source word with every target piece covering its target word
    (``*_covers``: the words each piece covers, as ``EmbeddingAligner._sentence_pieces`` gives them)."""
    by_src: dict[int, list[int]] = {}
    by_tgt: dict[int, list[int]] = {}
    for p, words in enumerate(src_covers):
        for w in words:
            by_src.setdefault(w, []).append(p)
    for q, words in enumerate(tgt_covers):
        for w in words:
            by_tgt.setdefault(w, []).append(q)
    m = len(tgt_covers)
    return sorted({p * m + q for i, j in links for p in by_src.get(i, ()) for q in by_tgt.get(j, ())})


def _framed(aligner: Any, pairs: Sequence[Sequence[Any]]) -> list[tuple[list[int], list[int], array | None]]:
    """Each pair's piece ids (the aligner's own tokenization) between the encoder's special tokens (a side
    without pieces is empty) and, for a pair with gold links (a third item), its :func:`gold_targets`."""
    flat = aligner._sentence_pieces([list(w) for pair in pairs for w in pair[:2]])
    pre, suf = aligner._prefix, aligner._suffix

    def frame(ids: list[int]) -> list[int]:
        return pre + ids + suf if ids else []
    out = []
    for k, pair in enumerate(pairs):
        (src, src_covers), (tgt, tgt_covers) = flat[2 * k], flat[2 * k + 1]
        links = pair[2] if len(pair) > 2 else None
        guide = None if links is None else array("i", gold_targets(src_covers, tgt_covers, links))
        out.append((frame(src), frame(tgt), guide))
    return out


def _prepare(parallel: Sequence[str | ParallelSource], opts: FinetuneOptions, columns: Sequence[str] | None,
             out: Path, overwrite: bool) -> _Run | None:
    """The run, or None when ``out`` already holds it. The parallel text is read and checked and the
    output checked before any model is loaded."""
    from .embedding import EmbeddingAligner, native_bfloat16

    pairs, sources = read_parallel(parallel, columns=columns, max_pairs=opts.max_pairs, seed=opts.seed, links=True)
    if opts.precision == "auto":
        opts = opts.replace(precision="bfloat16" if native_bfloat16(opts.device) else "float32")
    digest = hashlib.sha256()
    for start in range(0, len(pairs), _CHUNK):
        digest.update(json.dumps(pairs[start:start + _CHUNK], ensure_ascii=False).encode())
    data_key = digest.hexdigest()[:16]
    key = json.dumps({"options": json.loads(opts.key_json()), "data": data_key}, sort_keys=True)
    if _check_out(out, key, overwrite):
        return None
    aligner = EmbeddingAligner(opts.encoder, layer=opts.layer, mode="exact", device=opts.device,
                               threads=opts.threads)
    data: list[tuple[Sequence[int], Sequence[int], Sequence[int] | None]] = []
    too_long = empty = 0
    limit = min(opts.max_pieces, aligner._content) + len(aligner._prefix) + len(aligner._suffix)
    for start in range(0, len(pairs), _CHUNK):  # a chunk at a time: words and pieces never all at once
        for src, tgt, guide in _framed(aligner, pairs[start:start + _CHUNK]):
            if not src or not tgt:
                empty += 1
            elif len(src) > limit or len(tgt) > limit:
                too_long += 1
            else:
                data.append((array("i", src), array("i", tgt), guide))
    n_read = len(pairs)
    del pairs
    if not data:
        from projector.errors import InputError

        raise InputError(f"no pair of the parallel text fits max_pieces={opts.max_pieces} ({too_long} too long, "
                         f"{empty} without pieces)")
    model = aligner._torch_model
    if opts.tlm:
        model = _mlm_model(aligner.model_name)
        aligner._torch_model = None
    summary = {"sources": sources, "pairs_read": n_read, "pairs_used": len(data), "left_out_too_long": too_long,
               "left_out_no_pieces": empty, "pairs_with_gold_links": sum(d[2] is not None for d in data),
               "data_sha256": data_key}
    batches = token_batches([(len(s), len(t)) for s, t, _ in data], opts.batch_tokens)
    return _Run(opts, aligner, model, data, batches, key, summary)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[Any]:
    """transformers with its warnings off ("weights not used" for the layers the aligner drops...)."""
    from .embedding import _require

    transformers = _require("transformers")
    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        yield transformers
    finally:
        transformers.logging.set_verbosity(level)


def _mlm_model(name: str) -> Any:
    with _quiet_transformers() as transformers:
        model, info = transformers.AutoModelForMaskedLM.from_pretrained(name, output_loading_info=True)
    if info.get("missing_keys"):
        logger.warning("%s has no LM head: TLM trains a new one (tied to the input embeddings)", name)
    return model


def _padded(torch: Any, seqs: Sequence[Sequence[int]], pad: int) -> tuple[Any, Any]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for k, s in enumerate(seqs):
        ids[k, :len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[k, :len(s)] = 1
    return ids, mask


def _batch_inputs(run: _Run, seqs: Sequence[Sequence[int]]) -> tuple[dict[str, Any], Any]:
    """The padded encoder inputs of the sequences and their content mask (no special tokens, no padding)."""
    torch = _torch()
    al = run.aligner
    pad = al.tokenizer.pad_token_id if al.tokenizer.pad_token_id is not None else 0
    ids, mask = _padded(torch, seqs, pad)
    inputs = {"input_ids": ids.to(run.options.device), "attention_mask": mask.to(run.options.device)}
    if al._use_type_ids:
        inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
    content = mask.bool().clone()
    content[:, :len(al._prefix)] = False
    for k, s in enumerate(seqs):
        content[k, len(s) - len(al._suffix):] = False
    return inputs, content.to(run.options.device)


def _alignment_hidden(run: _Run, inputs: dict[str, Any]) -> Any:
    """Alignment-layer vectors of a batch (one forward)."""
    if run.options.tlm:
        return run.model.base_model(**inputs, output_hidden_states=True).hidden_states[run.options.layer]
    return run.model(**inputs).last_hidden_state


def _directional(torch: Any, hs: Any, ht: Any, ms: Any, mt: Any) -> tuple[Any, Any, Any]:
    scores = torch.bmm(hs, ht.transpose(1, 2)).float()
    s2t = torch.softmax(scores.masked_fill(~mt[:, None, :], -1e9), dim=-1)
    t2s = torch.softmax(scores.masked_fill(~ms[:, :, None], -1e9), dim=-2)
    return s2t, t2s, ms[:, :, None] & mt[:, None, :]


def _so_loss(run: _Run, batch: Sequence[int], train: bool = True) -> Any:
    """awesome-align's self-training loss of one batch: targets from the model without dropout, the
    loss from the model in training mode (``train``) or from the same pass (evaluation)."""
    torch = _torch()
    n = len(batch)
    inputs, content = _batch_inputs(run, [run.data[k][0] for k in batch] + [run.data[k][1] for k in batch])
    ms, mt = content[:n], content[n:]
    with torch.no_grad():
        run.model.eval()
        with _autocast(run):
            hidden = _alignment_hidden(run, inputs)
        s2t, t2s, valid = _directional(torch, hidden[:n].float(), hidden[n:].float(), ms, mt)
        guide = ((s2t > run.options.threshold) & (t2s > run.options.threshold) & valid).float()
        _use_gold(torch, guide, [run.data[k][2] for k in batch], [len(run.data[k][1]) for k in batch],
                  len(run.aligner._prefix), len(run.aligner._suffix))
    if train:
        run.model.train()
        with _autocast(run):
            hidden = _alignment_hidden(run, inputs)
        s2t, t2s, _ = _directional(torch, hidden[:n].float(), hidden[n:].float(), ms, mt)
    len_s, len_t = ms.sum(1).clamp(min=1), mt.sum(1).clamp(min=1)
    loss = -((s2t * guide).sum((1, 2)) / len_s + (t2s * guide).sum((1, 2)) / len_t).mean()
    if run.options.co:
        loss = loss + _co_loss(s2t, t2s, valid, len_s, len_t)
    return loss


def _use_gold(torch: Any, guide: Any, golds: Sequence[Sequence[int] | None], tgt_lengths: Sequence[int],
              pre: int, suf: int) -> None:
    """Replace the self-training targets of the pairs with gold links by those links (in place)."""
    for k, gold in enumerate(golds):
        if gold is None:
            continue
        m = tgt_lengths[k] - pre - suf  # the target's content pieces
        guide[k].zero_()
        if len(gold):
            at = torch.tensor(list(gold), dtype=torch.long)
            guide[k, pre + at // m, pre + at % m] = 1.0


def _co_loss(s2t: Any, t2s: Any, valid: Any, len_s: Any, len_t: Any) -> Any:
    """awesome-align's consistency loss: minus the agreeing probability mass per piece of the shorter side."""
    torch = _torch()
    return -((s2t * t2s * valid).sum((1, 2)) / torch.minimum(len_s, len_t)).mean()


def _tlm_loss(run: _Run, batch: Sequence[int], step: int) -> Any:
    """Masked-piece prediction on each pair joined into one sequence (BERT's 80/10/10 masking)."""
    torch = _torch()
    al = run.aligner
    limit = al.max_length
    seqs = [(list(run.data[k][0]) + list(run.data[k][1][len(al._prefix):]))[:limit] for k in batch]
    pad = al.tokenizer.pad_token_id if al.tokenizer.pad_token_id is not None else 0
    ids, mask = _padded(torch, seqs, pad)
    special = torch.tensor(al.tokenizer.all_special_ids, dtype=torch.long)
    candidates = mask.bool() & ~torch.isin(ids, special)
    gen = torch.Generator().manual_seed(_step_seed(run.options.seed, -step - 1))
    chosen = candidates & (torch.rand(ids.shape, generator=gen) < run.options.mask_prob)
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    roll = torch.rand(ids.shape, generator=gen)
    masked = ids.clone()
    masked[chosen & (roll < 0.8)] = al.tokenizer.mask_token_id
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    masked[swap] = torch.randint(len(al.tokenizer), (int(swap.sum()),), generator=gen)
    if not bool(chosen.any()):
        return None
    with _autocast(run):
        out = run.model(input_ids=masked.to(run.options.device), attention_mask=mask.to(run.options.device),
                        labels=labels.to(run.options.device))
    return out.loss.float()


def _autocast(run: _Run) -> Any:
    torch = _torch()
    return torch.autocast(run.options.device.split(":")[0], dtype=torch.bfloat16,
                          enabled=run.options.precision == "bfloat16")


def _trainable(run: _Run) -> list[Any]:
    params = []
    for name, p in run.model.named_parameters():
        frozen = "word_embeddings" in name and not run.options.train_embeddings
        p.requires_grad_(not frozen)
        if not frozen:
            params.append(p)
    return params


def _save_checkpoint(folder: Path, run: _Run, state: dict[str, Any]) -> None:
    torch = _torch()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(run.key)
    trained = {n for n, p in run.model.named_parameters() if p.requires_grad}
    weights = {n: t for n, t in run.model.state_dict().items() if n in trained}
    tmp = folder / "state.pt.tmp"
    torch.save({**state, "model": weights}, tmp)
    os.replace(tmp, folder / "state.pt")


def _load_checkpoint(folder: Path, run: _Run, overwrite: bool) -> dict[str, Any] | None:
    if not (folder / "state.pt").is_file():
        return None
    if (folder / "run.json").read_text() != run.key:
        if not overwrite:
            raise OutputError("holds a fine-tuning run with other options or data; pass overwrite=True to "
                              "discard it", path=folder)
        shutil.rmtree(folder)
        return None
    state: dict[str, Any] = _torch().load(folder / "state.pt", weights_only=False)
    missing = run.model.load_state_dict(state.pop("model"), strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys
    logger.info("resuming the fine-tuning in %s at step %d", folder, state["step"])
    return state


def _check_out(out: Path, key: str, overwrite: bool) -> bool:
    """True when ``out`` already holds this very run's result."""
    card = out / "finetune.json"
    if card.is_file() and json.loads(card.read_text()).get("run_key") == key:
        return True
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise OutputError("exists and is not this run's output; pass overwrite=True to replace it", path=out)
    return False


def finetune(parallel: Sequence[str | ParallelSource], out: str | os.PathLike[str],
             options: FinetuneOptions | dict[str, Any] | None = None, *, columns: Sequence[str] | None = None,
             overwrite: bool = False, progress: bool = True,
             on_step: Callable[[int, float], None] | None = None, **overrides: Any) -> Path:
    """Fine-tune ``options.encoder`` on ``parallel`` (source specs, see :mod:`alignment.parallel`) into ``out``.

    Options are a :class:`FinetuneOptions` (or a dict) plus keyword overrides of its fields. ``columns``
    names a dataset's two text columns. A run whose checkpoint is beside ``out`` resumes there (one
    made with other options or data is refused unless ``overwrite``); ``on_step(step, loss)`` is called
    after each step. Returns ``out``, a transformers folder the embedding aligner loads.
    """
    opts = merge_options(FinetuneOptions, options, overrides)
    out = Path(out)
    run = _prepare(parallel, opts, columns, out, overwrite)
    if run is None:
        logger.info("%s already holds this fine-tuning run", out)
        return out
    torch = _torch()
    if run.options.threads:
        torch.set_num_threads(run.options.threads)
    from .embedding import _require

    transformers = _require("transformers")
    params = _trainable(run)
    optim = torch.optim.AdamW(params, lr=run.options.learning_rate, weight_decay=0.0, eps=1e-8)
    sched = transformers.get_linear_schedule_with_warmup(optim, 0, run.options.steps)
    folder = checkpoint_dir(out)
    state = _load_checkpoint(folder, run, overwrite) or {"step": 0, "losses": [], "seconds": 0.0, "pairs": 0}
    if state["step"]:
        optim.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
    _train(run, optim, sched, state, folder, progress, on_step)
    return _write_output(run, out, state)


def _batch_at(run: _Run, step: int, perms: dict[int, list[int]]) -> list[int]:
    import numpy as np

    epoch, pos = divmod(step, len(run.batches))
    if epoch not in perms:
        perms.clear()
        perms[epoch] = np.random.default_rng([run.options.seed, epoch]).permutation(len(run.batches)).tolist()
    return run.batches[perms[epoch][pos]]


def _train(run: _Run, optim: Any, sched: Any, state: dict[str, Any], folder: Path, progress: bool,
           on_step: Callable[[int, float], None] | None) -> None:
    from tqdm import tqdm

    torch = _torch()
    opts = run.options
    perms: dict[int, list[int]] = {}
    bar = tqdm(total=opts.steps, initial=state["step"], desc="fine-tuning", unit="step", disable=not progress)
    started = time.perf_counter() - state["seconds"]
    cuda = [torch.device(opts.device).index or 0] if opts.device.startswith("cuda") else []
    # the per-step seeds below are the run's own: the caller's random state is restored afterwards
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.random.fork_rng(devices=cuda))
        stack.callback(bar.close)
        for step in range(state["step"], opts.steps):
            batch = _batch_at(run, step, perms)
            torch.manual_seed(_step_seed(opts.seed, step))  # dropout: the same after a resume
            loss = _so_loss(run, batch)
            if opts.tlm:
                tlm = _tlm_loss(run, batch, step)
                loss = loss + tlm if tlm is not None else loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in optim.param_groups for p in g["params"]], 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            value = float(loss.detach())
            state.update(step=step + 1, seconds=time.perf_counter() - started, pairs=state["pairs"] + len(batch))
            state["losses"].append(round(value, 5))
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}")
            if on_step is not None:
                on_step(step + 1, value)
            if (step + 1) % opts.checkpoint_every == 0 and step + 1 < opts.steps:
                _save_checkpoint(folder, run, {**state, "optimizer": optim.state_dict(),
                                               "scheduler": sched.state_dict()})


def _write_output(run: _Run, out: Path, state: dict[str, Any]) -> Path:
    """The full encoder (trained layers, the layers above unchanged), its tokenizer and the card, atomically."""
    from .e5 import _umask

    trained = run.model.base_model if run.options.tlm else run.model
    with _quiet_transformers() as transformers:
        full = transformers.AutoModel.from_pretrained(run.aligner.model_name)
    result = full.load_state_dict(trained.state_dict(), strict=False)
    if result.unexpected_keys:
        raise OutputError(f"the trained weights do not fit {run.aligner.model_name}: {result.unexpected_keys[:3]}",
                          path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        full.save_pretrained(tmp)
        run.aligner.tokenizer.save_pretrained(tmp)
        card = _card(run, state)
        (tmp / "finetune.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
        (tmp / "README.md").write_text(_model_card(card))
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(checkpoint_dir(out), ignore_errors=True)
    return out


def _card(run: _Run, state: dict[str, Any]) -> dict[str, Any]:
    from projector._version import __version__

    losses = state["losses"]
    window = max(1, min(50, len(losses) // 4))
    return {
        "signature": run.options.signature(), "run_key": run.key, "base_encoder": portable_model(run.options.encoder),
        "options": run.options.to_dict(), "data": run.summary, "steps": state["step"],
        "loss_first": round(sum(losses[:window]) / window, 5), "loss_last": round(sum(losses[-window:]) / window, 5),
        "loss_every_10": losses[::10], "seconds": round(state["seconds"], 1),
        "pairs_per_s": round(state["pairs"] / max(state["seconds"], 1e-9), 2), "projector": __version__,
    }


def _objectives(options: dict[str, Any], gold_pairs: int = 0) -> str:
    """The objectives a run trained, in words: "self-training [and consistency] objective(s) [and TLM]
    [, supervised by the gold links of N pairs]"."""
    text = "self-training and consistency objectives" if options.get("co") else "self-training objective"
    text += " and TLM" if options.get("tlm") else ""
    return text + (f", supervised by the gold links of {gold_pairs} pairs" if gold_pairs else "")


def _model_card(card: dict[str, Any]) -> str:
    sources = "\n".join(f"- `{s['spec']}` ({s['pair']}, {s['used']} of {s['pairs']} pairs)" for s in card["data"]["sources"])
    return (f"# {card['base_encoder']} fine-tuned for word alignment\n\n"
            f"Fine-tuned by projector {card['projector']} with awesome-align's "
            f"{_objectives(card['options'], card['data'].get('pairs_with_gold_links', 0))}: `{card['signature']}`.\n\n"
            f"{card['steps']} steps on {card['data']['pairs_used']} sentence pairs "
            f"({card['seconds']} s, {card['pairs_per_s']} pairs/s); loss {card['loss_first']} -> {card['loss_last']}.\n\n"
            f"Parallel text:\n{sources}\n\nUse: `projector ... --method align --encoder THIS_FOLDER` or "
            "`alignment.get_aligner('embedding', model=THIS_FOLDER)`.\n")


def self_training_loss(encoder: str, pairs: Sequence[Sequence[Any]], *, layer: int = 8, threshold: float = 1e-3,
                       batch_tokens: int = 4096) -> float:
    """The self-training loss of ``encoder`` on word pairs (no dropout, no update): lower is better aligned.
    A pair with gold links as a third item is scored on them instead (the supervised loss)."""
    from .embedding import EmbeddingAligner

    opts = FinetuneOptions(encoder=encoder, layer=layer, threshold=threshold, precision="float32")
    aligner = EmbeddingAligner(encoder, layer=layer, mode="exact")
    data: list[tuple[Sequence[int], Sequence[int], Sequence[int] | None]] = [
        p for p in _framed(aligner, pairs) if p[0] and p[1]]
    run = _Run(opts, aligner, aligner._torch_model, data, [], "", {})
    total, n = 0.0, 0
    for batch in token_batches([(len(s), len(t)) for s, t, _ in data], batch_tokens):
        total += float(_so_loss(run, batch, train=False)) * len(batch)
        n += len(batch)
    return total / max(n, 1)

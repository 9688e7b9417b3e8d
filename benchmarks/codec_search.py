"""Codec's marker search: exact vs pruned vs brute force vs plain translation, on CPU.

Builds a random-weight Marian model of Opus-MT size (d_model 512, 6+6 layers, 8 heads, FFN 2048;
vocabulary from the small sentencepiece models of :mod:`tests.mt.tiny_models`), converts it to
CTranslate2 int8, generates English sentences of 10-60 source pieces with 1-4 labeled spans, and
measures on the same sentences:

* plain translation (beam 4): seconds per sentence;
* codec ``pruned``, ``beam`` (and ``exact`` with ``--full``): the plain translation above as template, plus ``project``
  on it (span translations, search, re-ranking): seconds per sentence, scored target tokens per span
  (``beam`` with its defaults: every opening expanded; its accuracy on real text is measured by
  ``benchmarks/codec_quality.py``);
* brute force (every allowed placement scored) on the same templates and tasks: tokens per span,
  seconds per sentence; and whether the exact top-n equals the brute-force top-n for every span.

    python benchmarks/codec_search.py [--sentences 24] [--seed 0] [--threads 1] [--work DIR] [--trained STEPS]
    python benchmarks/codec_search.py --model examples/models/marian-en-pt-demo [--sentences 24]
    python benchmarks/codec_search.py --searches guided --no-demo   # guided_vs_plain_time alone, minutes

``--searches`` (default ``pruned,beam,guided,bruteforce``; ``exact`` is added by ``--full``) picks the rows
to measure: ``bruteforce`` is the exact-search-vs-brute-force comparison, by far the slowest part on the
random model (random weights prune nothing); leave it out to measure the others alone. The JSON then
holds only the figures of the rows measured.

With random weights every template token is about equally unlikely under every marked source, so no
prefix bound can prune anything and exact search costs about what brute force does (plus its opening
passes): the bounds prune only when the model is informative, as real MT models are (a misplaced
marker, or a span running past the marked words, costs many nats). ``--trained STEPS`` swaps in a
small Marian trained STEPS steps on synthetic word-for-word data with copied markers, to approach that
regime without downloads; it needs thousands of steps (400 on a loaded 2-core CPU were not enough to
learn the task). ``--model DIR`` measures a real trained model instead (a CTranslate2 or Hugging Face
Marian folder, e.g. the distilled en<->pt demo model of examples/models) on real English sentences
with gold entity spans (../shared/data/europarl-ner, else examples/en_sample.conll).

The last line is JSON with ``exact_vs_bruteforce_tokens`` (brute-force tokens / exact tokens),
``pruned_vs_plain_time`` (pruned codec time / plain translation time),
``exact_agrees_with_bruteforce``, and ``guided_vs_plain_time``: the guided search's whole projection,
alignment included (e5, fast mode; the encoder and the word tokenizers are loaded before the timing, as
a run loads them once), plus the plain translation, over the plain translation alone, with
``guided_sequences_per_span``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_sentences(n: int, seed: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Random English sentences of 8-45 words with 1-4 non-overlapping spans of 1-3 words."""
    from tests.mt.tiny_models import WORDS_EN

    rng = random.Random(seed)
    labels = ["PER", "LOC", "ORG", "MISC"]
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS_EN) for _ in range(rng.randint(8, 45))]
        n_spans = rng.randint(1, 4)
        starts = sorted(rng.sample(range(0, len(words), 4), min(n_spans, len(range(0, len(words), 4)))))
        offs, pos = [], 0
        for w in words:
            offs.append((pos, pos + len(w)))
            pos += len(w) + 1
        spans = []
        for s in starts:
            e = min(len(words), s + rng.randint(1, 3))
            spans.append((offs[s][0], offs[e - 1][1], rng.choice(labels)))
        out.append((" ".join(words) + ".", spans))
    return out


def real_sentences(n: int, tokenize: Any) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """The first ``n`` English sentences with 1-4 gold spans and 10-60 source pieces (``tokenize``)."""
    from projector import read

    shared = REPO.parent / "shared" / "data" / "europarl-ner" / "en-europarl.test.conll02"
    path = shared if shared.is_file() else REPO / "examples" / "en_sample.conll"
    out = []
    for ex in read(path, format="conll").examples():
        if 1 <= len(ex.spans) <= 4 and 10 <= len(tokenize(ex.text)) <= 60:
            out.append((ex.text, [(sp.start, sp.end, sp.label) for sp in ex.spans]))
            if len(out) >= n:
                break
    return out


def train_marker_model(out: Path, steps: int, seed: int = 0) -> Path:
    """A small Marian (d_model 128, 2+2 layers) trained for ``steps`` on synthetic word-for-word
    en->pt pairs (the tiny vocabulary's dictionary), 70% with one bracketed span copied to the target:
    a model that, like real MT models, puts ``]`` right after the marked words. Used by ``--trained``
    to measure the search where prefix bounds are informative (random weights make every token
    equally unlikely, which no bound can prune)."""
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    from tests.mt.tiny_models import WORDS_EN, WORDS_PT, build_marian

    if (out / "trained.ok").is_file():
        return out
    build_marian(out, d_model=128, layers=2, heads=4, ffn=512, max_positions=256, seed=seed + 11)
    tok = MarianTokenizer.from_pretrained(out)
    model = MarianMTModel.from_pretrained(out)
    for p in model.parameters():  # the builder's init_std (0.3) suits random tests, not training
        torch.nn.init.normal_(p, std=0.02) if p.dim() > 1 else None
    rng = random.Random(seed)
    lexicon = dict(zip(WORDS_EN, WORDS_PT, strict=True))

    def pair() -> tuple[str, str]:
        src = [rng.choice(WORDS_EN) for _ in range(rng.randint(3, 30))]
        tgt = [lexicon[w] for w in src]
        if rng.random() < 0.7:
            a = rng.randrange(len(src))
            b = min(len(src), a + rng.randint(1, 3))
            src = [*src[:a], "[", *src[a:b], "]", *src[b:]]
            tgt = [*tgt[:a], "[", *tgt[a:b], "]", *tgt[b:]]
        return " ".join(src) + " .", " ".join(tgt) + " ."

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.05, 1 - s / steps))
    model.train()
    for step in range(steps):
        srcs, tgts = zip(*(pair() for _ in range(32)), strict=True)
        batch = tok(list(srcs), text_target=list(tgts), return_tensors="pt", padding=True)
        batch["labels"][batch["labels"] == tok.pad_token_id] = -100
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 50 == 0 or step == steps - 1:
            print(f"train step {step} loss {loss.item():.3f}", file=sys.stderr)
    model.eval()
    model.save_pretrained(out)
    (out / "trained.ok").write_text(str(steps))
    return out


def compare_bruteforce(mt: Any, inputs: list[Any], templates: list[str], top_n: int,
                       table: list[tuple[str, float | None, float]]) -> dict[str, Any]:
    """Exact search (probed and plain prefix bounds) vs brute force on the very same tasks (templates =
    the plain translations): scored tokens, seconds, and whether the top-n agree. Appends the rows to
    ``table``; returns the JSON figures."""
    from projector.methods._search import SearchStats, brute_force, search_placements
    from projector.methods.codec import CodecMethod

    method = CodecMethod(translator=mt, search="exact", top_n=top_n)
    live = [k for k in range(len(inputs)) if templates[k]]
    _, tasks, _ = method.build_tasks(inputs, templates, live, "en", "pt")
    o, c, _ = method._marker_pieces("pt")

    def score(s, tg, probes=None):  # type: ignore[no-untyped-def]
        return mt.score(s, tg, "en", "pt") if probes is None else mt.score(s, tg, "en", "pt", probe=probes)

    # exact search as codec runs it (bounds with the markers' probed log-probs when the engine can
    # probe), and with plain prefix bounds for comparison
    probe = method._can_probe("en", "pt")
    ex_stats, plain_stats, bf_stats = SearchStats(), SearchStats(), SearchStats()
    t = time.perf_counter()
    exact = search_placements(score, copy.deepcopy(tasks), o, c, stats=ex_stats, probe=probe)
    exact_s = time.perf_counter() - t
    t = time.perf_counter()
    search_placements(score, copy.deepcopy(tasks), o, c, stats=plain_stats, probe=False)
    plain_bounds_s = time.perf_counter() - t
    t = time.perf_counter()
    brute = brute_force(score, tasks, o, c, stats=bf_stats)
    brute_s = time.perf_counter() - t
    print(f"exact {ex_stats} {exact_s:.1f}s; brute force {bf_stats} {brute_s:.1f}s", file=sys.stderr)
    agree, ties = True, 0
    for x, y in zip(exact, brute, strict=True):
        if [(p.open, p.close) for p in x] != [(p.open, p.close) for p in y]:
            if [round(p.score, 3) for p in x] == [round(p.score, 3) for p in y]:
                ties += 1  # same scores, equal-scored placements in another order
            else:
                agree = False
    n, spans = len(inputs), len(tasks)
    plain_s = table[0][2] * n
    table += [("exact search only", ex_stats.tokens / spans, exact_s / n),
              ("brute force", bf_stats.tokens / spans, brute_s / n)]
    return {
        "exact_vs_bruteforce_tokens": round(bf_stats.tokens / max(1, ex_stats.tokens), 2),
        "exact_agrees_with_bruteforce": agree,
        "equal_score_reorderings": ties,
        "exact_search_vs_plain_time": round((plain_s + exact_s) / plain_s, 2),
        "probed_bounds": probe,
        "plain_bounds_vs_bruteforce_tokens": round(bf_stats.tokens / max(1, plain_stats.tokens), 2),
        "tokens_per_span": {"exact": round(ex_stats.tokens / spans), "brute_force": round(bf_stats.tokens / spans)},
        "seconds_per_sentence": {"exact_search": round(exact_s / n, 4), "brute_force": round(brute_s / n, 4),
                                            "exact_search_plain_bounds": round(plain_bounds_s / n, 4)},
    }


#: the rows codec_search can measure; ``bruteforce`` = exact search vs brute force on the same tasks
SEARCHES = ("pruned", "beam", "guided", "exact", "bruteforce")


def parse_searches(value: str) -> tuple[str, ...]:
    """``--searches``: the named rows, in :data:`SEARCHES` order (unknown names are an error)."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in names if v not in SEARCHES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"--searches: unknown {', '.join(bad) or 'empty list'}; "
                                         f"choose from {', '.join(SEARCHES)}")
    return tuple(v for v in SEARCHES if v in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="CTranslate2 intra_threads")
    ap.add_argument("--top-n", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="also time the whole exact codec project() call")
    ap.add_argument("--work", type=Path, default=None, help="folder for the model (default: a temp dir)")
    ap.add_argument("--trained", type=int, default=0, metavar="STEPS",
                    help="use a small Marian trained STEPS steps on synthetic marked data instead of the "
                         "random Opus-MT-sized one")
    ap.add_argument("--encoder", default=None, help="encoder of the guided search's aligner (default: "
                    "multilingual-e5-small, fast mode)")
    ap.add_argument("--searches", default=None, type=parse_searches,
                    help="comma-separated rows to measure, of " + ",".join(SEARCHES) + " (default: pruned,beam,"
                         "guided,bruteforce, plus exact with --full)")
    ap.add_argument("--no-demo", action="store_true", help="skip the standing second run on the demo model")
    ap.add_argument("--model", type=Path, default=None,
                    help="a real Marian model folder (CTranslate2 or Hugging Face) instead of a built one; "
                         "real sentences with gold spans")
    args = ap.parse_args()
    searches = args.searches or tuple(v for v in SEARCHES if v != "exact" or args.full)

    work = args.work or Path(tempfile.gettempdir()) / "projector-codec-bench"
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PROJECTOR_CACHE", str(work / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mt_backends.ct2 import CTranslate2Translator
    from projector.data import Span
    from projector.methods.base import ProjectionInput
    from projector.methods.codec import CodecMethod
    from tests.mt.tiny_models import build_marian

    if args.model:
        hf = args.model
    elif args.trained:
        hf = train_marker_model(work / f"opus-mt-en-pt-trained-{args.trained}", args.trained, args.seed)
    else:
        hf = work / "opus-mt-en-pt-random-512"
        if not (hf / "config.json").is_file():
            build_marian(hf, d_model=512, layers=6, heads=8, ffn=2048, max_positions=512, seed=7)
    mt = CTranslate2Translator(hf, device="cpu", compute_type="int8", intra_threads=args.threads)
    if args.model:
        data = real_sentences(args.sentences, lambda t: mt.tokenize([t], "en", side="source")[0])
    else:
        data = make_sentences(args.sentences, args.seed)
    inputs = [ProjectionInput(t, tuple(Span(s, e, lab) for s, e, lab in sp)) for t, sp in data]
    src_len = [len(p) for p in mt.tokenize([t for t, _ in data], "en", side="source")]
    n_spans = sum(len(i.spans) for i in inputs)
    # random weights never emit EOS on their own: each sentence is translated to as many pieces as
    # its source (10-60), so templates have realistic lengths; codec then runs in template mode on
    # these very translations and its total time is translation + projection.
    groups: dict[int, list[int]] = {}
    for k, n_src in enumerate(src_len):
        groups.setdefault(min(60, max(10, n_src)), []).append(k)
    mt.translate([inputs[0].text], "en", "pt", max_length=4)  # warm-up
    templates = [""] * len(inputs)
    t = time.perf_counter()
    for n_src, ks in groups.items():
        if args.trained or args.model:  # a trained model ends its translations itself
            res = mt.translate([inputs[k].text for k in ks], "en", "pt", beam_size=4, max_length=2 * n_src)
        else:
            res = mt.translate([inputs[k].text for k in ks], "en", "pt", beam_size=4, max_length=n_src,
                               min_length=n_src)
        for k, r in zip(ks, res, strict=True):
            templates[k] = r.text
    plain_s = time.perf_counter() - t
    tpl_len = [len(p) for p in mt.tokenize(templates, "pt")]
    with_tpl = [ProjectionInput(i.text, i.spans, tp) for i, tp in zip(inputs, templates, strict=True)]

    rows = {}
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import ensure_encoder

    encoder = ensure_encoder(args.encoder) if "guided" in searches else None
    from projector.convert import word_tokenizer

    for lang in ("en", "pt"):  # loaded once per process (spaCy's rules, ~1.5 s), as the MT model is: not timed
        word_tokenizer(lang)
    for mode in (m for m in searches if m != "bruteforce"):
        guide: dict[str, Any] = {"encoder": encoder, "align_mode": "fast"} if mode == "guided" else {}
        method = CodecMethod(translator=mt, search=mode, top_n=args.top_n, **guide)
        if mode == "guided":  # the encoder is loaded once per run, as a Projector does: outside the timing
            method.guide_aligner("en", "pt")
        t = time.perf_counter()
        method.project(with_tpl, "en", "pt")
        rows[mode] = {"seconds": plain_s + time.perf_counter() - t, **method.last_stats}
        print(f"codec {mode}: {rows[mode]}", file=sys.stderr)

    n = len(inputs)
    print(f"{n} sentences, {n_spans} spans; source pieces {min(src_len)}-{max(src_len)}, "
          f"template pieces {min(tpl_len)}-{max(tpl_len)}; model {hf.name} int8, {args.threads} thread(s)")
    table: list[tuple[str, float | None, float]] = [("plain translation", None, plain_s / n)]
    table += [(f"codec {mode} (project)", row["tokens"] / n_spans, row["seconds"] / n) for mode, row in rows.items()]
    result: dict[str, Any] = {
        # (keys as before: "exact" is the exact search alone, measured with brute force; exact's project row
        # is "exact_codec")
        "tokens_per_span": {mode if mode != "exact" else "exact_codec": round(row["tokens"] / n_spans)
                            for mode, row in rows.items()},
        "seconds_per_sentence": {"plain": round(plain_s / n, 4),
                                 **{f"{mode}_codec": round(row["seconds"] / n, 4) for mode, row in rows.items()}},
    }
    result.update({f"{mode}_vs_plain_time": round(rows[mode]["seconds"] / plain_s, 2)
                   for mode in ("pruned", "beam", "guided") if mode in rows})
    if "bruteforce" in searches:
        bf = compare_bruteforce(mt, inputs, templates, args.top_n, table)
        result["tokens_per_span"].update(bf.pop("tokens_per_span"))
        result["seconds_per_sentence"].update(bf.pop("seconds_per_sentence"))
        result.update(bf)
    if "guided" in rows:
        result["guided_sequences_per_span"] = round(rows["guided"]["sequences"] / max(1, n_spans), 2)
    print(f"{'':26s} {'tokens/span':>12s} {'s/sentence':>11s}")
    for name, tok, sec in table:
        print(f"{name:26s} {f'{tok:.0f}' if tok is not None else '-':>12s} {sec:11.4f}")
    result.update({"searches": list(searches), "sentences": n, "spans": n_spans, "model": hf.name,
                   "threads": args.threads, "load_average_1min": round(os.getloadavg()[0], 2)})
    demo = REPO / "examples" / "models" / "marian-en-pt-demo"
    if not args.model and not args.no_demo and (demo / "model.bin").is_file():  # the standing second run
        cmd = [sys.executable, __file__, "--model", str(demo), "--sentences", str(args.sentences), "--threads",
               str(args.threads), "--top-n", str(args.top_n), "--work", str(work), "--no-demo",
               "--searches", ",".join(searches)]
        if args.encoder:
            cmd += ["--encoder", args.encoder]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"the demo-model run failed:\n{proc.stderr[-3000:]}")
        result["demo_model"] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(result))


if __name__ == "__main__":
    main()

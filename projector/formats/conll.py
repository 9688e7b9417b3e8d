"""CoNLL-style column files: one token per line, a blank line between sentences.

Any column layout is read (``token_col``, ``tag_col``; other columns are kept and written back), tab or
space separated (one separator per file, set by its first token line; a line that breaks it is an error), with ``-DOCSTART-`` document markers and ``#`` comment lines kept in the example meta.
Tags may be in any scheme (detected unless given). Overlapping spans cannot be held by one tag column:
they are resolved by :func:`projector.convert.resolve_overlaps` (longer wins) and counted; events are
not representable either and are counted as dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..convert import (
    Snap,
    TagError,
    detect_scheme,
    detokenize,
    normalize_scheme,
    output_scheme,
    spans_to_tags,
    split_tag,
    tags_to_spans,
    tokenize,
)
from ..data import Example
from ..errors import FormatError
from .base import Corpus, CorpusInfo, atomic_file, only_split, read_lines, split_from_filename

name = "conll"
extensions = ("conll", "conll02", "conll03", "conllx", "bio", "iob", "iob2", "txt", "tsv")

_DOCSTART = "-DOCSTART-"


@dataclass
class _Sentence:
    line: int
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    docstart: list[str] | None = None


def _is_tag(value: str) -> bool:
    prefix, label = split_tag(value)
    return prefix in ("O", "B", "I", "E", "S", "L", "U") and (label is None or bool(label))


def _split_row(line: str, tabs: bool | None = None) -> list[str]:
    """The columns of a line: split on tabs in a tab-separated file, else on runs of whitespace.

    ``tabs`` is the file's separator (``None``: this line's own, for sniffing).
    """
    if tabs is None:
        tabs = "\t" in line
    return line.split("\t") if tabs else line.split()


def _sentences(path: Path, encoding: str, tag_col: int) -> Iterator[_Sentence]:
    """Group lines into sentences; checks that every token line has the file's column count.

    The separator is the file's, decided once by its first token line: tab-separated when that line
    has a tab (tokens may then hold spaces), else runs of whitespace. A line that does not split into
    the file's column count is an error naming it (in a space-separated file a tab inside a token
    makes an extra column, so it cannot silently shift a token into the tag column).
    """
    n_cols: int | None = None
    tabs: bool | None = None
    first_line = 0
    cur: _Sentence | None = None
    pending_doc: list[str] | None = None
    pending_comments: list[str] = []
    for number, line in read_lines(path, encoding):
        if not line.strip():
            if cur is not None and cur.rows:
                yield cur
            cur = None
            continue
        row = _split_row(line, tabs)
        if line.split(maxsplit=1)[0] == _DOCSTART:
            row = _split_row(line)
            if cur is not None and cur.rows:
                yield cur
            cur = None
            pending_doc = row
            continue
        if line.startswith("#") and (cur is None or not cur.rows):
            looks_like_token = n_cols is not None and len(row) == n_cols and _is_tag(row[tag_col])
            if not looks_like_token:
                pending_comments.append(line)
                continue
        if n_cols is None:
            tabs = "\t" in line
            row = _split_row(line, tabs)
            n_cols, first_line = len(row), number
            if not -n_cols <= tag_col < n_cols:
                raise FormatError(f"tag column {tag_col} does not exist: lines have {n_cols} column(s)",
                                  path=path, line=number)
        elif len(row) != n_cols:
            mixed = ""
            if not tabs and "\t" in line:
                mixed = (f" (a tab in a space-separated file: the file's separator is set by its first token "
                         f"line {first_line}, so a tab cannot be part of a token)")
            elif tabs and "\t" not in line:
                mixed = f" (no tab in a tab-separated file: its first token line {first_line} has tabs)"
            raise FormatError(f"expected {n_cols} columns like the first token line, found {len(row)}{mixed}: "
                              f"{line!r}", path=path, line=number)
        if cur is None:
            cur = _Sentence(line=number, comments=pending_comments, docstart=pending_doc)
            pending_comments, pending_doc = [], None
        cur.rows.append(row)
        cur.lines.append(number)
    if cur is not None and cur.rows:
        yield cur


def sniff(path: Path, head: str) -> bool:
    """Token-per-line text whose last column looks like tags."""
    lines = [ln for ln in head.splitlines()[:50] if ln.strip() and not ln.startswith(("#", _DOCSTART))]
    if not lines or head.lstrip().startswith(("{", "[")):
        return False
    rows = [_split_row(ln) for ln in lines[:-1] or lines]
    return all(len(r) >= 2 for r in rows) and sum(_is_tag(r[-1]) for r in rows) >= 0.8 * len(rows)


def read(path: Path, *, split: str | None = None, encoding: str = "utf-8", token_col: int = 0,
         tag_col: int = -1, scheme: str = "auto", lang: str | None = None, **_: Any) -> Corpus:
    """Read a CoNLL file into one split (named from the file name unless ``split`` is given)."""
    sentences = list(_sentences(path, encoding, tag_col))
    if not sentences:
        raise FormatError("no sentences found (empty file?)", path=path)
    if scheme == "auto":
        scheme = detect_scheme([[r[tag_col] for r in s.rows] for s in sentences])
    scheme = normalize_scheme(scheme)
    n_cols = len(sentences[0].rows[0])
    tok_i = token_col % n_cols
    tag_i = tag_col % n_cols
    if tok_i == tag_i:
        raise FormatError(f"token column and tag column are both column {tok_i}", path=path)
    stats: Counter[str] = Counter()
    examples: list[Example] = []
    for idx, sent in enumerate(sentences):
        words = [r[tok_i] for r in sent.rows]
        tags = [r[tag_i] for r in sent.rows]
        try:
            text, tokens = detokenize(words, lang)
            spans, repairs = tags_to_spans(tokens, tags, scheme)
        except TagError as exc:  # name the token's own line
            line = sent.lines[exc.index] if 0 <= exc.index < len(sent.lines) else sent.line
            raise FormatError(f"{str(exc).split(': ', 1)[-1]} (token {exc.index + 1} of the sentence at line "
                              f"{sent.line})", path=path, line=line) from None
        except ValueError as exc:
            raise FormatError(str(exc), path=path, line=sent.line) from None
        stats["tags_repaired"] += repairs
        meta: dict[str, Any] = {}
        extra = [i for i in range(n_cols) if i not in (tok_i, tag_i)]
        if extra:
            meta["conll_columns"] = {str(i): [r[i] for r in sent.rows] for i in extra}
        if sent.comments:
            meta["comments"] = sent.comments
        if sent.docstart is not None:
            meta["docstart"] = sent.docstart
        examples.append(Example(id=str(idx), text=text, tokens=tuple(tokens), spans=tuple(spans),
                                lang=lang, meta=meta))
    info = CorpusInfo(format=name, source=str(path), scheme=scheme,
                      options={"token_col": tok_i, "tag_col": tag_i, "n_cols": n_cols})
    return Corpus(splits={split or split_from_filename(path): examples}, info=info, stats=stats)


def write(corpus: Corpus, path: Path, *, split: str | None = None, scheme: str | None = None,
          snap: str = "strict", separator: str | None = None, token_col: int | None = None,
          tag_col: int | None = None, **_: Any) -> Counter[str]:
    """Write tokens and tags (and the source's other columns) to one file.

    Examples without tokens are tokenized for their language; spans are snapped to tokens with
    ``snap`` (see :class:`projector.convert.Snap`). Several splits go one after the other.
    """
    scheme = output_scheme(scheme, corpus.info.scheme)
    policy = Snap(snap)
    opts = corpus.info.options if corpus.info.format == name else {}
    stats: Counter[str] = Counter()
    with atomic_file(path) as fh:
        for _split, examples in only_split(corpus, split, path):
            for ex in examples:
                tokens = list(ex.tokens) or tokenize(ex.text, ex.lang)
                if not tokens:
                    stats["examples_without_tokens"] += 1
                    continue
                tags, unsnappable, dropped = spans_to_tags(ex.spans, tokens, scheme, policy)
                stats["spans_unsnappable"] += len(unsnappable)
                stats["spans_dropped_overlap"] += len(dropped)
                stats["events_dropped"] += len(ex.events)
                columns = _columns(ex, [t.text for t in tokens], tags, opts, token_col, tag_col)
                sep = separator or ("\t" if any(any(c.isspace() for c in v) for col in columns for v in col)
                                    else " ")
                docstart = ex.meta.get("docstart")
                if docstart is not None:
                    fh.write(sep.join(docstart) + "\n\n")
                for comment in ex.meta.get("comments", ()):
                    fh.write(comment + "\n")
                for row in zip(*columns):
                    fh.write(sep.join(row) + "\n")
                fh.write("\n")
    return stats


def _columns(ex: Example, words: list[str], tags: list[str], opts: dict[str, Any],
             token_col: int | None, tag_col: int | None) -> list[list[str]]:
    """The columns of one sentence: the source's layout (with its other columns when they still fit)."""
    extra: dict[str, list[str]] = ex.meta.get("conll_columns") or {}
    n_cols = int(opts.get("n_cols", 2))
    if not (extra and n_cols == len(extra) + 2 and all(len(v) == len(words) for v in extra.values())):
        extra, n_cols = {}, 2
    tok_i = (token_col if token_col is not None else int(opts.get("token_col", 0))) % n_cols
    tag_i = (tag_col if tag_col is not None else int(opts.get("tag_col", n_cols - 1))) % n_cols
    if tag_i == tok_i:
        tag_i = (tok_i + 1) % n_cols if n_cols == 2 else n_cols - 1
    cols: list[list[str]] = [[] for _ in range(n_cols)]
    for key, values in extra.items():
        cols[int(key)] = list(values)
    cols[tok_i], cols[tag_i] = words, tags
    return cols


class ConllFormat:
    """The ``conll`` format (see the module docstring)."""

    name = name
    extensions = extensions
    sniff = staticmethod(sniff)
    read = staticmethod(read)
    write = staticmethod(write)


FORMAT = ConllFormat()

"""Insert markers around spans and read them back from a translation (the markers method).

Reading is robust to what MT models emit: look-alike brackets (``【】``, ``《》``, ``〔〕``, ``［］``,
``⟦⟧``, ``「」`` only when the source has none) count as ``[``/``]``; doubled markers (``[[``) count
once; spaces inside, around or missing next to markers are normalized; a closing marker before its
opening one (``] Lisboa [``) is read as a swapped pair. Tags (``<PER>...</PER>``, also ``< PER >``,
``</ PER>``) carry their label. Anything else that does not pair up is a parse failure with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["MarkedSpan", "ParseResult", "insert_markers", "parse_brackets", "parse_tags", "tag_name"]

_OPEN_LIKE = "[【〔［⟦《"
_CLOSE_LIKE = "]】〕］⟧》"
_CORNER = "「」"
_NO_SPACE_BEFORE = set(".,;:!?)]}»”’%…")
_NO_SPACE_AFTER = set("([{«“‘¿¡")


@dataclass(frozen=True)
class MarkedSpan:
    """A span read from a marked translation: offsets into the clean text, its tag (if any)."""

    start: int
    end: int
    tag: str | None = None
    swapped: bool = False


@dataclass
class ParseResult:
    """The marker-stripped text and the spans read, or an error saying why the markers don't parse."""

    text: str
    spans: list[MarkedSpan] = field(default_factory=list)
    error: str | None = None
    repairs: list[str] = field(default_factory=list)


def tag_name(label: str, index: int) -> str:
    """The tag written for ``label``: the label when it is a plain name, else ``S<index>``."""
    return label if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,30}", label) else f"S{index}"


def insert_markers(text: str, spans: Sequence[tuple[int, int]], opens: Sequence[str],
                   closes: Sequence[str]) -> str:
    """``text`` with ``opens[k]``/``closes[k]`` around span k (nested spans allowed, crossing ones not);
    markers are separated from the words by spaces."""
    events: list[tuple[int, int, int, str, bool]] = []  # (pos, order, tiebreak, marker, is_open)
    for k, (s, e) in enumerate(spans):
        events.append((s, 1, -e, opens[k], True))
        events.append((e, 0, -s, closes[k], False))
    events.sort()
    parts: list[str] = []
    pos, after_close = 0, False
    for p, _, _, marker, is_open in events:
        seg = text[pos:p].strip()
        if seg:
            parts.append(seg if not (after_close and seg[0] in _NO_SPACE_BEFORE) or not parts
                         else "\0" + seg)
        parts.append(marker)
        after_close, pos = not is_open, p
    seg = text[pos:].strip()
    if seg:
        parts.append("\0" + seg if after_close and seg[0] in _NO_SPACE_BEFORE else seg)
    return " ".join(parts).replace(" \0", "")


class _Builder:
    """Builds the clean text from tokens, with "soft" spaces next to markers."""

    def __init__(self, spaces: bool) -> None:
        self.buf: list[str] = []
        self.len = 0
        self.pending_soft = False
        self.spaces = spaces

    def text(self) -> str:
        return "".join(self.buf)

    def last(self) -> str:
        return self.buf[-1][-1] if self.buf and self.buf[-1] else ""

    def chunk(self, s: str) -> None:
        if not s:
            return
        if self.pending_soft and self.len and self.last() != " " and not s[0].isspace():
            if self.spaces and s[0] not in _NO_SPACE_BEFORE and self.last() not in _NO_SPACE_AFTER:
                self._put(" ")
        self.pending_soft = False
        self._put(s)

    def _put(self, s: str) -> None:
        self.buf.append(s)
        self.len += len(s)


def _tokenize(marked: str, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """("text", chunk) and ("m", marker) tokens; spaces next to markers are dropped."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in pattern.finditer(marked):
        out.append(("text", marked[pos:m.start()]))
        out.append(("m", m.group(0)))
        pos = m.end()
    out.append(("text", marked[pos:]))
    cleaned: list[tuple[str, str]] = []
    for k, (kind, s) in enumerate(out):
        if kind == "text":
            if k > 0 and out[k - 1][0] == "m":
                s = s.lstrip()
            if k + 1 < len(out) and out[k + 1][0] == "m":
                s = s.rstrip()
            s = re.sub(r"\s{2,}", " ", s)
        cleaned.append((kind, s))
    return cleaned


def _strip_and_mark(tokens: list[tuple[str, str]], spaces: bool) -> tuple[str, list[tuple[int, str]]]:
    """Clean text and the (offset, marker) list (offsets into the clean text)."""
    b = _Builder(spaces)
    marks: list[tuple[int, str]] = []
    for kind, s in tokens:
        if kind == "m":  # spans are trimmed of spaces later, so a soft space may fall either side
            b.pending_soft = True
            marks.append((b.len, s))
        else:
            b.chunk(s)
    text = b.text()
    stripped = text.rstrip()
    lead = len(text) - len(text.lstrip())
    out = stripped.lstrip()
    return out, [(max(0, min(len(out), p - lead)), mk) for p, mk in marks]


def _fix_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def parse_brackets(marked: str, *, source_has_corner: bool = False, spaces: bool = True) -> ParseResult:
    """Read ``[``/``]`` marked spans (and look-alikes, doubled, swapped) out of ``marked``."""
    opens, closes = _OPEN_LIKE + ("" if source_has_corner else "「"), _CLOSE_LIKE + ("" if source_has_corner else "」")
    pattern = re.compile(f"[{re.escape(opens)}]+|[{re.escape(closes)}]+")
    tokens = _tokenize(marked, pattern)
    repairs: list[str] = []
    norm: list[tuple[str, str]] = []
    for kind, s in tokens:
        if kind == "m":
            if len(s) > 1:
                repairs.append("doubled marker")
            if s[0] not in "[]":
                repairs.append(f"look-alike marker {s[0]}")
            norm.append(("m", "[" if s[0] in opens else "]"))
        else:
            norm.append((kind, s))
    text, marks = _strip_and_mark(norm, spaces)
    stack: list[int] = []
    spans: list[MarkedSpan] = []
    stray_close: list[int] = []
    for pos, mk in marks:
        if mk == "[":
            stack.append(pos)
        elif stack:
            opened = stack.pop()
            spans.append(MarkedSpan(*_fix_span(text, opened, pos)))
        else:
            stray_close.append(pos)
    if stray_close and len(stray_close) == len(stack) and all(c < o for c, o in zip(stray_close, stack)):
        for c, o in zip(stray_close, stack):
            spans.append(MarkedSpan(*_fix_span(text, c, o), swapped=True))
        repairs.append("swapped markers")
        stack, stray_close = [], []
    n_open = sum(mk == "[" for _, mk in marks)
    n_close = len(marks) - n_open
    if stack or stray_close:
        return ParseResult(text, [], f"unbalanced markers ({n_open} opening, {n_close} closing)", repairs)
    if any(s.end <= s.start for s in spans):
        return ParseResult(text, [], "empty marked span", repairs)
    spans.sort(key=lambda s: (s.start, -s.end))
    return ParseResult(text, spans, None, repairs)


_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9_-]*)\s*>")


def parse_tags(marked: str, *, spaces: bool = True) -> ParseResult:
    """Read ``<TAG>...</TAG>`` spans out of ``marked`` (case-insensitive names, spaces tolerated)."""
    tokens = _tokenize(marked, _TAG)
    text, marks = _strip_and_mark(tokens, spaces)
    stack: list[tuple[int, str]] = []
    spans: list[MarkedSpan] = []
    for pos, mk in marks:
        m = _TAG.fullmatch(mk)
        assert m is not None
        closing, name = m.group(1) == "/", m.group(2).upper()
        if not closing:
            stack.append((pos, name))
            continue
        match = next((k for k in range(len(stack) - 1, -1, -1) if stack[k][1] == name), None)
        if match is None:
            return ParseResult(text, [], f"closing tag </{name}> without an opening one")
        s, _ = stack.pop(match)
        spans.append(MarkedSpan(*_fix_span(text, s, pos), tag=name))
    if stack:
        return ParseResult(text, [], f"opening tag <{stack[0][1]}> is never closed")
    if any(s.end <= s.start for s in spans):
        return ParseResult(text, [], "empty marked span")
    spans.sort(key=lambda s: (s.start, -s.end))
    return ParseResult(text, spans)

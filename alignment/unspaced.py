"""The span rules of Japanese and Chinese targets (``SpanOptions.particles``): edge particles follow
the source span's function words, the hiragana inflection of a stem joins it, a counter joins the
numeral before it, and a Chinese aspect particle ending a range is trimmed (see
:mod:`alignment.heuristics` for the rules in words). Targets of other scripts are never changed here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .base import Link

__all__ = ["PARTICLES", "COUNTERS", "CHINESE_ASPECT", "FUNCTION_WORDS", "INFLECTION_MAX", "PARTICLE_TRIMMED",
           "PARTICLE_ADDED", "INFLECTION_ADDED", "COUNTER_ADDED", "is_hiragana", "unspaced_rules"]

PARTICLE_TRIMMED = "particle trimmed"
PARTICLE_ADDED = "particle added"
INFLECTION_ADDED = "inflection added"
COUNTER_ADDED = "counter added"

#: Japanese particles (and their common compounds) that a span may start or end with
PARTICLES = frozenset({
    "は", "が", "を", "に", "の", "で", "と", "へ", "も", "や", "から", "まで", "より", "には", "では", "とは",
    "にも", "でも", "への", "での", "との", "からの", "までの", "へは", "とも", "として", "にて", "において",
    "における", "によって", "により", "による", "について", "に対して", "にとって"})
#: counters (measure words) of Chinese and Japanese that belong to the numeral before them
COUNTERS = frozenset({"年", "月", "日", "号", "时", "時", "点", "分", "秒", "岁", "歳", "个", "個", "次", "回", "名",
                      "人", "位", "元", "円", "天", "周", "倍", "届", "代", "世纪", "世紀", "亿", "億", "万", "萬"})
_CJK_NUMERALS = frozenset("〇一二三四五六七八九十百千万億亿两")
#: Chinese aspect particles, trimmed from the end of a range of segmenter words (介绍了 -> 介绍)
CHINESE_ASPECT = frozenset({"了", "着", "过"})
#: the most characters of hiragana inflection added after a Japanese stem (``particles``)
INFLECTION_MAX = 4
#: source function words (English, the usual source) that a target particle renders
FUNCTION_WORDS = frozenset({
    "of", "to", "in", "on", "at", "by", "for", "from", "with", "as", "into", "onto", "upon", "until", "till",
    "since", "during", "about", "after", "before", "between", "through", "throughout", "toward", "towards",
    "within", "without", "under", "over", "against", "among", "amongst", "via", "than", "and", "or", "'s", "'"})
#: source function words that are written after the word they attach to in Japanese as in English
_TRAILING = frozenset({"and", "or", "'s", "'"})


def is_hiragana(ch: str) -> bool:
    """Whether ``ch`` is a hiragana character."""
    return "\u3041" <= ch <= "\u309f"


def _particle_run(tgt_tokens: Sequence[str], lo: int, hi: int, at_end: bool) -> int:
    """How many whole tokens at the end (start) of ``[lo, hi)`` spell a particle, keeping one token at
    least and with a character that is not hiragana next to it inside the range; 0 when none."""
    for n in range(min(4, hi - lo - 1), 0, -1):
        part = tgt_tokens[hi - n:hi] if at_end else tgt_tokens[lo:lo + n]
        rest = tgt_tokens[hi - n - 1] if at_end else tgt_tokens[lo + n]
        if "".join(part) in PARTICLES and rest and not is_hiragana(rest[-1] if at_end else rest[0]):
            return n
    return 0


def _adjacent_particle(tgt_tokens: Sequence[str], lo: int, hi: int, at_end: bool) -> int:
    """How many whole tokens right after (before) ``[lo, hi)`` spell a particle next to a character
    that is not hiragana; 0 when none."""
    for n in range(4, 0, -1):
        if at_end:
            part, edge = tgt_tokens[hi:hi + n], tgt_tokens[hi - 1][-1:]
        else:
            part, edge = tgt_tokens[max(0, lo - n):lo], tgt_tokens[lo][:1]
        if len(part) == n and "".join(part) in PARTICLES and edge and not is_hiragana(edge):
            return n
    return 0


def particles(lo: int, hi: int, first: str, last: str, tgt_tokens: Sequence[str],
               claimed: set[int]) -> tuple[int, int, str | None]:
    """The range with its edge particles trimmed or added (see ``particles``) and the note."""
    first, last = first.lower(), last.lower()
    after = first in FUNCTION_WORDS or last in _TRAILING  # to Emperor -> 天皇に; samurai and -> 武家や
    before = last in FUNCTION_WORDS and last not in _TRAILING  # princess of -> の寵姫
    if not (after or before):
        new_lo = lo + _particle_run(tgt_tokens, lo, hi, at_end=False)
        new_hi = hi - _particle_run(tgt_tokens, new_lo, hi, at_end=True)
        return (new_lo, new_hi, PARTICLE_TRIMMED) if (new_lo, new_hi) != (lo, hi) else (lo, hi, None)
    new_lo, new_hi = lo, hi
    if after and not _particle_run(tgt_tokens, lo, hi, at_end=True):
        n = _adjacent_particle(tgt_tokens, lo, hi, at_end=True)
        if n and not any(j in claimed for j in range(hi, hi + n)):
            new_hi = hi + n
    if before and not _particle_run(tgt_tokens, lo, hi, at_end=False):
        n = _adjacent_particle(tgt_tokens, lo, hi, at_end=False)
        if n and not any(j in claimed for j in range(lo - n, lo)):
            new_lo = lo - n
    return (new_lo, new_hi, PARTICLE_ADDED) if (new_lo, new_hi) != (lo, hi) else (lo, hi, None)


def inflection(tgt_tokens: Sequence[str], lo: int, hi: int, claimed: set[int]) -> int:
    """How many hiragana tokens right after ``[lo, hi)`` are the inflection of the word it ends with
    (続け + た, 殺害 + して + いる): up to :data:`INFLECTION_MAX` characters of whole tokens made only of
    hiragana, none a particle, none linked to a source word outside the span; 0 when the range does not
    end with a kanji or a hiragana stem (okurigana) or already ends with a particle."""
    last = tgt_tokens[hi - 1][-1:]
    if not last or not (is_hiragana(last) or "\u4e00" <= last <= "\u9fff") or tgt_tokens[hi - 1] in PARTICLES:
        return 0
    n = width = 0
    while hi + n < len(tgt_tokens):
        tok = tgt_tokens[hi + n]
        if not tok or not all(is_hiragana(ch) for ch in tok) or tok in PARTICLES or hi + n in claimed \
                or width + len(tok) > INFLECTION_MAX:
            break
        n, width = n + 1, width + len(tok)
    return n


def counter_follows(tgt_tokens: Sequence[str], hi: int) -> bool:
    """Whether the range ending at ``hi`` ends with a numeral and the next token is a counter of
    Chinese or Japanese (:data:`COUNTERS`: 12 + 月, 7 + 日, 3 + 个)."""
    last, nxt = tgt_tokens[hi - 1], tgt_tokens[hi]
    return bool(last) and (last[-1].isdigit() or last[-1] in _CJK_NUMERALS) and nxt in COUNTERS


def unspaced_rules(lo: int, hi: int, start: int, end: int, src_tokens: Sequence[str] | None,
                   tgt_tokens: Sequence[str], links: Collection[Link]) -> tuple[int, int, list[str]]:
    """The range ``[lo, hi)`` of the source span ``[start, end)`` after the rules of this module, and
    the notes of the rules that changed it (the particle rules need ``src_tokens``)."""
    notes: list[str] = []
    japanese = any(is_hiragana(ch) for t in tgt_tokens for ch in t)  # kana: the Japanese rules, else Chinese's
    if src_tokens is not None and japanese:
        outside = {j for i, j in links if not start <= i < end}
        lo, hi, note = particles(lo, hi, src_tokens[start], src_tokens[end - 1], tgt_tokens, outside)
        if note:
            notes.append(note)
        if (n := inflection(tgt_tokens, lo, hi, outside)):
            hi += n
            notes.append(INFLECTION_ADDED)
    if hi < len(tgt_tokens) and counter_follows(tgt_tokens, hi) and \
            not any(j == hi and not start <= i < end for i, j in links):
        hi += 1
        notes.append(COUNTER_ADDED)
    if not japanese and hi - lo > 1 and tgt_tokens[hi - 1] in CHINESE_ASPECT and len(tgt_tokens[hi - 2]) > 1:
        hi -= 1
        notes.append(PARTICLE_TRIMMED)
    return lo, hi, notes

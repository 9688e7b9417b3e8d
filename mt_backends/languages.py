"""Model families and their language codes.

Users give ISO 639-1, ISO 639-3 or BCP-47 codes (``pt``, ``por``, ``pt-BR``, ``zh-Hant``) or a
model's own token; :func:`resolve_language` maps them to the language token of a model family,
among the tokens the model's vocabulary actually has. Matching is done with ``langcodes``: the
languages must agree (an individual language matches its macrolanguage, e.g. ``arb`` and ``ar``),
the scripts must agree (explicit, or inferred with ``Language.maximize()``: ``zh`` is ``Hans``,
``zh-Hant`` is ``Hant``), and a region is a preference, not a requirement (``pt-BR`` -> ``por_Latn``).

==========  ====================  =====================================  ==========================
family      language token        source the model sees                  target (decoder) side
==========  ====================  =====================================  ==========================
nllb        ``por_Latn``          ``[src] pieces </s>``                  start ``</s>``, prefix ``[tgt]``
m2m100      ``__pt__``            ``[src] pieces </s>``                  start ``</s>``, prefix ``[tgt]``
mbart50     ``pt_XX``             ``[src] pieces </s>``                  start ``</s>``, prefix ``[tgt]``
madlad      ``<2pt>``             ``[tgt] pieces </s>`` (target token!)  start ``<pad>``, no prefix
marian      ``>>por<<`` or none   ``[>>tgt<<] pieces </s>``              start: zero embedding
==========  ====================  =====================================  ==========================
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from projector.errors import UnsupportedLanguageError

__all__ = [
    "Family", "FAMILIES", "family", "detect_family", "language_tokens", "resolve_language",
    "parse_language", "token_language", "check_pair_language",
]


@dataclass(frozen=True)
class Family:
    """How a model family marks languages.

    ``source_token``: "src" (source language token first on the source), "tgt" (target language
    token first on the source: MADLAD, multi-target Marian) or None. ``target_prefix``: whether the
    target language token is forced as the first decoder token (and so excluded from scores).
    """

    name: str
    description: str
    token_re: re.Pattern[str]
    source_token: str | None
    target_prefix: bool

    def code_of(self, token: str) -> str | None:
        """The language code inside a language token (``por_Latn`` -> ``por-Latn``), or None."""
        m = self.token_re.fullmatch(token)
        return m.group(1).replace("_", "-") if m else None


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("nllb", "NLLB-200 (M2M100 architecture, NllbTokenizer)", re.compile(r"([a-z]{3}_[A-Z][a-z]{3})"),
               "src", True),
        Family("m2m100", "M2M100", re.compile(r"__([a-z]{2,3}(?:_[A-Za-z]+)?)__"), "src", True),
        Family("mbart50", "mBART-50", re.compile(r"([a-z]{2}_[A-Z]{2})"), "src", True),
        Family("madlad", "MADLAD-400 (T5)", re.compile(r"<2([a-z]{2,3}(?:_[A-Za-z]+)*)>"), "tgt", False),
        Family("marian", "Marian / Opus-MT", re.compile(r">>([a-z]{2,3}(?:_[A-Za-z]+)*)<<"), "tgt", False),
    )
}

# Individual languages that models name where users say the macrolanguage (and vice versa).
_MACRO = {
    "arb": "ar", "zsm": "ms", "pes": "fa", "prs": "fa", "swh": "sw", "lvs": "lv", "azj": "az",
    "azb": "az", "uzn": "uz", "khk": "mn", "npi": "ne", "ory": "or", "plt": "mg", "gaz": "om",
    "ydd": "yi", "als": "sq", "cmn": "zh", "ekk": "et", "pbt": "ps", "kmr": "ku", "quy": "qu",
    "ckb": "ku", "nob": "no", "nb": "no", "fil": "tl", "tgl": "tl",
}


def family(name: str) -> Family:
    """The :class:`Family` called ``name`` (raises :class:`UnknownNameError`)."""
    from projector.errors import UnknownNameError

    try:
        return FAMILIES[name]
    except KeyError:
        raise UnknownNameError("model family", name, FAMILIES) from None


def language_tokens(fam: Family, vocabulary: Iterable[str]) -> list[str]:
    """The language tokens of ``fam`` present in ``vocabulary`` (in vocabulary order)."""
    out = []
    for tok in vocabulary:
        code = fam.code_of(tok)
        if code is not None and parse_language(code) is not None:
            out.append(tok)
    return out


@lru_cache(maxsize=4096)
def parse_language(code: str) -> tuple[str, str, str | None] | None:
    """(language, script, region) of a code, the script inferred when not given; None if invalid."""
    import langcodes

    try:
        lang = langcodes.Language.get(code.replace("_", "-"))
    except (LookupError, ValueError):
        return None
    if not lang.language or not lang.is_valid():
        return None
    script = lang.script or lang.maximize().script or ""
    region = lang.territory if lang.territory and lang.territory not in ("XX", "ZZ") else None
    return lang.language, script, region


def _macro(language: str) -> str:
    return _MACRO.get(language, language)


def token_language(fam: Family, token: str) -> tuple[str, str, str | None] | None:
    """The (language, script, region) a language token stands for."""
    code = fam.code_of(token)
    return parse_language(code) if code else None


def resolve_language(code: str, fam: Family, tokens: Iterable[str], *, model: str = "model") -> str:
    """The language token among ``tokens`` (a model's language tokens) for the user's ``code``.

    Raises :class:`UnsupportedLanguageError` naming close matches when there is none.
    """
    tokens = list(tokens)
    if code in tokens:
        return code
    wanted = parse_language(code)
    if wanted is None:
        raise UnsupportedLanguageError(f"{code!r} is not a language code{_suggest(code, fam, tokens)}")
    w_lang, w_script, w_region = wanted
    best: tuple[int, str] | None = None
    for tok in tokens:
        got = token_language(fam, tok)
        if got is None:
            continue
        t_lang, t_script, t_region = got
        if t_lang == w_lang:
            rank = 0
        elif _macro(t_lang) == _macro(w_lang):
            rank = 2
        else:
            continue
        if t_script != w_script:
            continue
        if w_region and t_region == w_region:
            rank -= 1  # pt-BR prefers a pt_BR token when the model has one
        elif w_region and t_region:
            rank += 1
        if best is None or rank < best[0]:
            best = (rank, tok)
    if best is None:
        raise UnsupportedLanguageError(
            f"language {code!r} is not supported by this {fam.description} {model}"
            f"{_suggest(code, fam, tokens)}")
    return best[1]


def _suggest(code: str, fam: Family, tokens: list[str]) -> str:
    """'. Close matches: ...' from the same language (other scripts) and similar spellings."""
    if not tokens:
        return ""
    close: list[str] = []
    wanted = parse_language(code)
    if wanted is not None:
        for tok in tokens:
            got = token_language(fam, tok)
            if got is not None and _macro(got[0]) == _macro(wanted[0]):
                close.append(tok)
    codes = {(fam.code_of(t) or t).lower(): t for t in tokens}
    for m in difflib.get_close_matches(code.lower().replace("_", "-"), list(codes), n=3, cutoff=0.5):
        if codes[m] not in close:
            close.append(codes[m])
    if not close:
        return f" ({len(tokens)} languages; e.g. {', '.join(tokens[:5])})"
    return f". Close matches: {', '.join(close[:5])}"


def check_pair_language(code: str, declared: str | None, *, side: str, model: str = "model") -> None:
    """For fixed-pair models (Marian): ``code`` must be the model's declared language when known."""
    if declared is None:
        return
    wanted, have = parse_language(code), parse_language(declared)
    if wanted is None:
        raise UnsupportedLanguageError(f"{code!r} is not a language code")
    if have is not None and _macro(wanted[0]) != _macro(have[0]):
        raise UnsupportedLanguageError(
            f"this {model} translates {side} {declared!r} only, not {code!r}. Close matches: {declared}")


_TOKENIZER_FAMILIES = {
    "nllbtokenizer": "nllb", "nllbtokenizerfast": "nllb",
    "m2m100tokenizer": "m2m100",
    "mariantokenizer": "marian",
    "mbart50tokenizer": "mbart50", "mbart50tokenizerfast": "mbart50",
}


def detect_family(*, model_type: str | None = None, architectures: Iterable[str] = (),
                  tokenizer_class: str | None = None, vocabulary: Iterable[str] = (),
                  files: Iterable[str] = ()) -> str | None:
    """The family of a model from its HF config, tokenizer class, vocabulary or file names."""
    vocab = set(vocabulary)
    if tokenizer_class and tokenizer_class.lower() in _TOKENIZER_FAMILIES:
        return _TOKENIZER_FAMILIES[tokenizer_class.lower()]
    files = set(files)
    archs = " ".join(architectures).lower()
    mt = (model_type or "").lower()
    has = {name: bool(language_tokens(fam, _sample(vocab, fam))) for name, fam in FAMILIES.items()}
    if mt == "marian" or "marian" in archs or {"source.spm", "target.spm"} <= files:
        return "marian"
    if mt in ("t5", "mt5", "umt5") or "t5" in archs:
        return "madlad" if has["madlad"] else None
    if mt == "m2m_100" or "m2m100" in archs:
        return "nllb" if has["nllb"] else "m2m100"
    if mt == "mbart" or "mbart" in archs:
        return "mbart50" if has["mbart50"] else None
    for name in ("nllb", "m2m100", "mbart50", "madlad"):
        if has[name]:
            return name
    if has["marian"]:
        return "marian"
    return None


def _sample(vocab: set[str], fam: Family) -> list[str]:
    return [t for t in vocab if fam.token_re.fullmatch(t)][:50]

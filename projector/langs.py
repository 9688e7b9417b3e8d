"""Language codes: the one place projector normalises them (with ``langcodes``).

Users write ``pt``, ``PT``, ``pt_BR``, ``por`` or NLLB's ``por_Latn``; every output folder, report key,
signature and model lookup uses the standard BCP 47 tag (``pt``, ``pt-BR``, ``zh-Hant``), so the same
language never becomes two folders and a valid ISO 639-3 code is never refused.
"""

from __future__ import annotations

from functools import lru_cache

from .errors import UnsupportedLanguageError

__all__ = ["normalize_lang", "base_lang", "alpha3", "split_langs"]


@lru_cache(maxsize=4096)
def _standard(code: str) -> str | None:
    import langcodes

    try:
        tag = langcodes.standardize_tag(code.strip().replace("_", "-"), macro=True)
        lang = langcodes.Language.get(tag)
    except (LookupError, ValueError):
        return None
    return tag if lang.language and lang.is_valid() else None


def normalize_lang(code: str, param: str = "lang") -> str:
    """The standard BCP 47 tag of ``code`` (``PT`` -> ``pt``, ``por_Latn`` -> ``pt``, ``pt_BR`` ->
    ``pt-BR``, ``zho_Hant`` -> ``zh-Hant``); an :class:`UnsupportedLanguageError` (a ConfigError) naming ``param`` when it is none."""
    tag = _standard(code) if isinstance(code, str) and code.strip() else None
    if tag is None:
        raise UnsupportedLanguageError(f"{param}: {code!r} is not a language code (use an ISO 639 or BCP 47 code such as pt, "
                          f"pt-BR, por or an NLLB code such as por_Latn)")
    return tag


def base_lang(code: str) -> str:
    """The language subtag alone (``pt-BR`` -> ``pt``, ``por_Latn`` -> ``pt``); lowercased as given when
    the code cannot be parsed (internal lookups such as spaCy's ``xx``)."""
    tag = _standard(code) if code else None
    if tag is None:
        return code.replace("_", "-").split("-")[0].lower()
    return tag.split("-")[0]


def alpha3(code: str) -> str:
    """The ISO 639-3 code of ``code``'s language (``ja`` -> ``jpn``, ``pt-BR`` -> ``por``, ``zh`` ->
    ``zho``), the names of MT test-set folders (``eng-jpn``); ``code`` lowercased when it cannot be parsed."""
    import langcodes

    try:
        return str(langcodes.Language.get(base_lang(code)).to_alpha3())
    except (LookupError, ValueError):
        return code.lower()


def split_langs(value: str | list[str] | tuple[str, ...], param: str = "tgt_langs") -> list[str]:
    """Normalised codes of a comma-separated string or a list, duplicates removed (first kept)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and (tag := normalize_lang(item, param)) not in out:
            out.append(tag)
    if not out:
        raise UnsupportedLanguageError(f"{param}: no target language given")
    return out

"""Offline language identification for the SEA languages + English.

Lingua (`lingua-language-detector`, offline models inside the wheel) covers en, id, ms, vi, th, tl but not Khmer or
Burmese; those two have their own scripts, so a Unicode-script rule decides them (and Thai, which is cheaper to
decide by script too). Restricting lingua to the languages we care about makes it both faster and more accurate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

# Our short codes (ISO 639-1) -> lingua Language names.
LINGUA_NAMES = {"en": "ENGLISH", "id": "INDONESIAN", "ms": "MALAY", "vi": "VIETNAMESE", "th": "THAI",
                "tl": "TAGALOG", "zh": "CHINESE"}
# Scripts that identify a language by themselves (code point ranges).
SCRIPT_LANGS = {"km": ((0x1780, 0x17FF), (0x19E0, 0x19FF)), "my": ((0x1000, 0x109F), (0xAA60, 0xAA7F)),
                "th": ((0x0E00, 0x0E7F),)}
DEFAULT_LANGS = ("en", "id", "ms", "vi", "th", "tl", "km", "my")

# Indonesian and Malay share most of their vocabulary, and lingua confuses them on short texts (measured on TALPCo:
# ~63% of Indonesian sentences right). Words that differ between the standard languages break the tie.
ID_MARKERS = frozenset("""mau bisa nggak gak enggak ga banget aja udah uang sepatu kantor mobil sepeda ponsel karena
harus kapan kok dong sih pacar kemarin besok teman senang mengerti butuh coba toko celana handuk kulkas tas kaos
gratis libur dokter universitas polisi kamar bertemu ketemu jeruk sendok pisang gimana kenapa gimana cewek cowok
tolong kalian bapak ibu saudara""".split())
MS_MARKERS = frozenset("""mahu boleh tak sahaja wang kasut pejabat basikal telefon kerana mesti bila esok semalam
kawan faham guna cuba kedai seluar tuala beg percuma cuti doktor universiti kanak-kanak awak hendak nak amat polis
hospital bas teksi lori encik cik puan tandas bilik berjumpa membeli-belah
""".split())
_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*")


def id_or_ms(text: str) -> str | None:
    """'id' or 'ms' when the text's marker words lean one way, else None."""
    words = _TOKEN.findall(text.lower())
    n_id = sum(w in ID_MARKERS for w in words)
    n_ms = sum(w in MS_MARKERS for w in words)
    return "id" if n_id > n_ms else "ms" if n_ms > n_id else None


def script_language(text: str, *, min_share: float = 0.3) -> str | None:
    """The language whose script makes up at least `min_share` of the letters of `text`, if any."""
    letters = [c for c in text if c.isalpha() or 0x1000 <= ord(c) <= 0x17FF or 0x0E00 <= ord(c) <= 0x0E7F]
    if not letters:
        return None
    for lang, ranges in SCRIPT_LANGS.items():
        n = sum(1 for c in letters if any(lo <= ord(c) <= hi for lo, hi in ranges))
        if n / len(letters) >= min_share:
            return lang
    return None


@lru_cache(maxsize=8)
def _detector(langs: tuple[str, ...]):
    from lingua import Language, LanguageDetectorBuilder

    chosen = [getattr(Language, LINGUA_NAMES[code]) for code in langs if code in LINGUA_NAMES]
    if len(chosen) < 2:
        return None
    return LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models().build()


def detect_languages(texts: Sequence[str], langs: Sequence[str] = DEFAULT_LANGS) -> list[str | None]:
    """The language code of each text (one of `langs`), or None when no letter says anything.

    Script rules first (km, my, th), lingua for the Latin-script rest. Unknown codes in `langs` are ignored.
    """
    langs = tuple(dict.fromkeys(langs))
    out: list[str | None] = [None] * len(texts)
    todo: list[int] = []
    for i, text in enumerate(texts):
        by_script = script_language(text)
        if by_script is not None and by_script in langs:
            out[i] = by_script
        else:
            todo.append(i)
    detector = _detector(tuple(code for code in langs if code in LINGUA_NAMES))
    if detector is None:
        only = [code for code in langs if code in LINGUA_NAMES]
        for i in todo:
            out[i] = only[0] if only else None
        return out
    found = detector.detect_languages_in_parallel_of([texts[i] for i in todo])
    for i, lang in zip(todo, found, strict=True):
        code = None if lang is None else lang.iso_code_639_1.name.lower()
        if code in ("id", "ms") and "id" in langs and "ms" in langs:
            code = id_or_ms(texts[i]) or code
        out[i] = code
    return out


def detect_language(text: str, langs: Sequence[str] = DEFAULT_LANGS) -> str | None:
    """The language code of one text (see `detect_languages`)."""
    return detect_languages([text], langs)[0]

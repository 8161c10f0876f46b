"""The `Translator` protocol every backend implements, and language-code helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

LANG_NAMES = {"en": "English", "id": "Indonesian", "ms": "Malay", "vi": "Vietnamese", "th": "Thai",
              "tl": "Tagalog (Filipino)", "km": "Khmer", "my": "Burmese", "zh": "Chinese", "jv": "Javanese"}


@runtime_checkable
class Translator(Protocol):
    """Translate a batch of texts from language `src` to `tgt` (our short codes, e.g. "id", "ms")."""

    name: str  # identifies the backend and its settings in the translation cache

    def supports(self, src: str, tgt: str) -> bool:
        """Whether this backend can translate `src` -> `tgt`."""
        ...

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        """One output per input, in order."""
        ...


def lang_name(code: str) -> str:
    """A human name for a language code (for prompts)."""
    return LANG_NAMES.get(code, code)

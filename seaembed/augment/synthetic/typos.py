"""Realistic typos for synthetic queries: keyboard-neighbour substitution, deletion, transposition."""

from __future__ import annotations

import random
import unicodedata

_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours() -> dict[str, str]:
    pos = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    out = {}
    for c, (r, i) in pos.items():
        near = [d for d, (r2, i2) in pos.items() if d != c and abs(r2 - r) <= 1 and abs(i2 - i) <= 1]
        out[c] = "".join(near)
    return out


NEIGHBOURS = _neighbours()
KINDS = ("keyboard", "deletion", "transposition")


def _positions(text: str) -> list[int]:
    """Indexes of base letters inside words of 4+ letters (combining marks are never split off)."""
    out = []
    for word_start, word in _words(text):
        if sum(1 for c in word if c.isalpha()) >= 4:
            out += [word_start + i for i, c in enumerate(word)
                    if c.isalpha() and not unicodedata.category(c).startswith("M")]
    return out


def _words(text: str) -> list[tuple[int, str]]:
    out, i = [], 0
    for w in text.split(" "):
        out.append((i, w))
        i += len(w) + 1
    return out


def add_typo(text: str, rng: random.Random, kind: str | None = None) -> tuple[str, str]:
    """(text with one typo, the kind of typo); the text is returned unchanged (kind "") if no word is long enough."""
    positions = _positions(text)
    if not positions:
        return text, ""
    kind = kind or rng.choice(KINDS)
    i = rng.choice(positions)
    c = text[i]
    if kind == "keyboard" and c.lower() in NEIGHBOURS:
        sub = rng.choice(NEIGHBOURS[c.lower()])
        return text[:i] + (sub.upper() if c.isupper() else sub) + text[i + 1:], kind
    if kind == "transposition" and i + 1 < len(text) and text[i + 1].isalpha() \
            and not unicodedata.category(text[i + 1]).startswith("M") and text[i + 1] != c:
        return text[:i] + text[i + 1] + c + text[i + 2:], kind
    # deletion (also the fallback when the other kinds do not apply here); drop the letter with its marks
    j = i + 1
    while j < len(text) and unicodedata.category(text[j]).startswith("M"):
        j += 1
    return text[:i] + text[j:], "deletion"

"""Dictionary code-switching: replace a fraction of the English content words of a text by their translation from
a dictd dictionary (Debian's FreeDict `dict-freedict-eng-ind`, English -> Indonesian).

This makes code-mixed ("Taglish"/"Indoglish"-style) variants, not translations. The dictd format is small and no
maintained Python library reads it, so the parser is here: the `.index` file maps a headword to base64 offset and
length in the (dictzip = gzip-compatible) `.dict.dz` file; an entry is a header line (`word /pron/ <pos>`), then
translation lines (`1. tas, uncang 2.` ...) and English glosses.
"""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from seaembed.errors import SeaembedError

DEFAULT_INDEX = Path("/usr/share/dictd/freedict-eng-ind.index")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
CONTENT_POS = ("n", "adj", "v", "adv", "num")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


def _first_translation(entry: str) -> tuple[str | None, str | None]:
    """(part of speech, first translation) of one dictd entry."""
    lines = entry.split("\n")
    pos = re.search(r"<([a-z]+)>", lines[0])
    for line in lines[1:]:
        s = re.sub(r"^\s*\d+\.\s*", "", line)
        s = re.sub(r"\s+\d+\.\s*$", "", s).strip()
        if s:
            word = s.split(",")[0].strip()
            return (pos.group(1) if pos else None), (word or None)
    return (pos.group(1) if pos else None), None


@lru_cache(maxsize=4)
def load_dictd(index_path: str | Path = DEFAULT_INDEX) -> dict[str, str]:
    """Single-word English headword -> first translation of its first content-word entry."""
    index_path = Path(index_path)
    data_path = index_path.with_suffix(".dict.dz")
    if not data_path.exists():
        data_path = index_path.with_suffix(".dict")
    if not index_path.exists() or not data_path.exists():
        raise SeaembedError(f"no dictd dictionary at {index_path} (Debian: apt-get install dict-freedict-eng-ind)")
    opener = gzip.open if data_path.suffix == ".dz" else open
    with opener(data_path, "rb") as f:
        blob = f.read()
    table: dict[str, str] = {}
    for line in index_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00database") or " " in parts[0]:
            continue
        head = parts[0].lower()
        if head in table:
            continue
        entry = blob[_b64(parts[1]):_b64(parts[1]) + _b64(parts[2])].decode("utf-8", "replace")
        pos, word = _first_translation(entry)
        if word and pos in CONTENT_POS and len(word) > 1 and "-" not in word.strip("-")[:1]:
            table[head] = word
    return table


def lookup(table: dict[str, str], word: str) -> str | None:
    """The translation of `word`, trying its singular for regular English plurals (shoes, boxes, women)."""
    w = word.lower()
    candidates = [w]
    if w.endswith("men"):
        candidates.append(w[:-3] + "man")
    if w.endswith("ies"):
        candidates.append(w[:-3] + "y")
    if w.endswith("es"):
        candidates.append(w[:-2])
    if w.endswith("s") and not w.endswith("ss"):
        candidates.append(w[:-1])
    return next((table[c] for c in candidates if c in table), None)


class DictionaryCodeSwitcher:
    """Translator that swaps a `fraction` of the dictionary-known English words (en -> id only)."""

    def __init__(self, index_path: str | Path | None = None, *, fraction: float = 0.5, seed: int = 0,
                 src: str = "en", tgt: str = "id"):
        self.table = load_dictd(str(index_path or DEFAULT_INDEX))
        self.fraction = fraction
        self.seed = seed
        self.src, self.tgt = src, tgt
        self.name = f"dictionary:{Path(index_path or DEFAULT_INDEX).name}:{fraction}:{seed}"

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) == (self.src, self.tgt)

    def switch(self, text: str) -> str:
        """`text` with about `fraction` of its known words replaced (deterministic per text and seed)."""
        rng = random.Random(f"{self.seed}:{text}")
        matches = [m for m in _WORD.finditer(text) if lookup(self.table, m.group(0))]
        if not matches:
            return text
        k = max(1, round(len(matches) * self.fraction))
        chosen = sorted(rng.sample(matches, k), key=lambda m: m.start())
        out, last = [], 0
        for m in chosen:
            out += [text[last:m.start()], lookup(self.table, m.group(0)) or m.group(0)]
            last = m.end()
        return "".join(out) + text[last:]

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not self.supports(src, tgt):
            raise SeaembedError(f"the dictionary backend translates {self.src} -> {self.tgt}, not {src} -> {tgt}")
        return [self.switch(t) for t in texts]

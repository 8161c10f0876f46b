"""Filters every example passes: length bounds and deduplication on normalised text."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Iterator

from seaembed.augment.records import DropLog
from seaembed.data.schema import TrainingExample


def normalise(text: str) -> str:
    """The dedupe key of a text: NFKC, case-folded, punctuation/symbols turned to spaces, spacing collapsed.

    (Unicode categories, not `\\W`: Thai and Khmer vowel marks are `Mn` and must stay.)"""
    text = unicodedata.normalize("NFKC", text).casefold()
    chars = [" " if unicodedata.category(c)[0] in "PSZC" else c for c in text]
    return " ".join("".join(chars).split())


def where(ex: TrainingExample) -> str:
    extra = ex.model_extra or {}
    return str(extra.get("origin_id") or "")


def iter_length_filter(examples: Iterable[TrainingExample], *, min_chars: int, max_chars: int, drops: DropLog,
                       stage: str = "filter") -> Iterator[TrainingExample]:
    """Yield the examples whose query and positive are within `min_chars`..`max_chars` (the others go to `drops`).
    The positive of a label-space row is a class name (e.g. the star rating "5"), so only its query has a minimum
    length."""
    for ex in examples:
        lengths = (len(ex.query.strip()), len(ex.positive.strip()))
        shortest = lengths[0] if ex.label is not None else min(lengths)
        if shortest < min_chars:
            drops.add(stage, f"shorter than {min_chars} chars", where=where(ex), preview=ex.query, lang=ex.lang)
        elif max(lengths) > max_chars:
            drops.add(stage, f"longer than {max_chars} chars", where=where(ex), preview=ex.query, lang=ex.lang)
        else:
            yield ex


def length_filter(examples: Iterable[TrainingExample], *, min_chars: int, max_chars: int, drops: DropLog,
                  stage: str = "filter") -> list[TrainingExample]:
    """`iter_length_filter` as a list."""
    return list(iter_length_filter(examples, min_chars=min_chars, max_chars=max_chars, drops=drops, stage=stage))


def _key(task: str, query: str, positive: str) -> bytes:
    # a 128-bit digest instead of the three normalised strings: the seen-set of a million rows stays ~100 MB
    # smaller, and a collision (two different rows taken for duplicates) has probability ~ rows^2 / 2^129
    return hashlib.blake2b("\x1f".join((task, query, positive)).encode("utf-8"), digest_size=16).digest()


def iter_dedupe(examples: Iterable[TrainingExample], *, drops: DropLog, stage: str = "filter"
                ) -> Iterator[TrainingExample]:
    """Yield the first of examples with the same task, normalised query and normalised positive; also drop pairs
    whose query and positive are the same text (nothing to learn). Only a digest of each kept key is held."""
    seen: set[bytes] = set()
    for ex in examples:
        q, p = normalise(ex.query), normalise(ex.positive)
        if q == p:
            drops.add(stage, "query equals positive", where=where(ex), preview=ex.query, lang=ex.lang)
            continue
        key = _key(ex.task, q, p)
        if key in seen:
            drops.add(stage, "duplicate", where=where(ex), preview=ex.query, lang=ex.lang)
            continue
        seen.add(key)
        yield ex


def dedupe(examples: Iterable[TrainingExample], *, drops: DropLog, stage: str = "filter") -> list[TrainingExample]:
    """`iter_dedupe` as a list."""
    return list(iter_dedupe(examples, drops=drops, stage=stage))

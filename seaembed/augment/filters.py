"""Filters every example passes: length bounds and deduplication on normalised text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

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


def length_filter(examples: Iterable[TrainingExample], *, min_chars: int, max_chars: int, drops: DropLog,
                  stage: str = "filter") -> list[TrainingExample]:
    """Drop examples whose query or positive is shorter than `min_chars` or longer than `max_chars`. The positive of
    a label-space row is a class name (e.g. the star rating "5"), so only its query has a minimum length."""
    out = []
    for ex in examples:
        lengths = (len(ex.query.strip()), len(ex.positive.strip()))
        shortest = lengths[0] if ex.label is not None else min(lengths)
        if shortest < min_chars:
            drops.add(stage, f"shorter than {min_chars} chars", where=where(ex), preview=ex.query, lang=ex.lang)
        elif max(lengths) > max_chars:
            drops.add(stage, f"longer than {max_chars} chars", where=where(ex), preview=ex.query, lang=ex.lang)
        else:
            out.append(ex)
    return out


def dedupe(examples: Iterable[TrainingExample], *, drops: DropLog, stage: str = "filter") -> list[TrainingExample]:
    """Keep the first of examples with the same task, normalised query and normalised positive; also drop pairs
    whose query and positive are the same text (nothing to learn)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for ex in examples:
        q, p = normalise(ex.query), normalise(ex.positive)
        if q == p:
            drops.add(stage, "query equals positive", where=where(ex), preview=ex.query, lang=ex.lang)
            continue
        key = (ex.task, q, p)
        if key in seen:
            drops.add(stage, "duplicate", where=where(ex), preview=ex.query, lang=ex.lang)
            continue
        seen.add(key)
        out.append(ex)
    return out

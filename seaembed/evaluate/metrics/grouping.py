"""Split rows by language: the per-language half of every metric."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def lang_groups(langs: Sequence[str | None]) -> dict[str, np.ndarray]:
    """Row indices per language (rows without a language are left out); sorted by language code."""
    groups: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        if lang:
            groups.setdefault(lang, []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in sorted(groups.items())}

"""Rescoring the top of a search result with the relevance cross-encoder (#17): `/search` with `rerank: true`
retrieves `rerank_k` hybrid candidates, scores (query, title) with the cross-encoder and returns the best `k` in the
cross-encoder's order. The first-stage rank and score stay in each hit (`first_rank`, `first_score`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

TEXT_FIELDS = ("title", "text", "name")


def hit_text(hit: dict[str, Any]) -> str:
    """The text a hit is reranked by: its title (or `text` / `name`)."""
    for f in TEXT_FIELDS:
        if isinstance(hit.get(f), str) and hit[f].strip():
            return hit[f]
    raise ValueError(f"search hit {hit.get('id')!r} has none of {TEXT_FIELDS} to rerank by")


def rerank_hits(hits: Sequence[dict[str, Any]], scores: Sequence[float], k: int) -> list[dict[str, Any]]:
    """`hits` reordered by `scores` (best first, ties kept in first-stage order), cut to `k`, ranks renumbered."""
    if len(hits) != len(scores):
        raise ValueError(f"{len(hits)} hits but {len(scores)} scores")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
    out = []
    for r, i in enumerate(order):
        h = dict(hits[i])
        h["first_rank"], h["first_score"] = h.get("rank"), h.get("score")
        h["rank"], h["score"] = r + 1, round(float(scores[i]), 6)
        out.append(h)
    return out

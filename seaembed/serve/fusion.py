"""Fusing a dense ranking with a BM25 ranking: reciprocal rank fusion, or a weighted sum of normalised scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60  # the constant of Cormack et al. (2009)


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k + rank(d)), rank from 1; best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _min_max(scores: Mapping[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo
    return {d: ((s - lo) / span if span > 0 else 1.0) for d, s in scores.items()}


def weighted(dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float) -> list[tuple[int, float]]:
    """alpha * minmax(dense) + (1 - alpha) * minmax(bm25) over the union of candidates (a missing score counts
    as the lowest); best first."""
    d, b = _min_max(dense), _min_max(lexical)
    docs = set(d) | set(b)
    fused = {doc: alpha * d.get(doc, 0.0) + (1.0 - alpha) * b.get(doc, 0.0) for doc in docs}
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

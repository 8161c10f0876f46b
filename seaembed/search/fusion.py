"""Fusing a dense ranking with a BM25 ranking (hybrid search).

Methods (`FUSIONS`; `SearchIndex.search(..., fusion=...)`, `seaembed index --fusion`):

- `bounded` (default): `alpha * minmax(cosine) + (1 - alpha) * bm25 / bm25_max(query)`, a convex combination
  (Bruch et al. 2023) in which BM25 keeps an absolute, query-dependent scale: `bm25_max` is the score no
  document can reach (the sum of the query terms' idf, the per-term upper bounds of MaxScore/WAND), so the lexical
  side weighs a lot when the catalog matches the query's rare words and little when it matches only common or
  none of them. Default alpha `DEFAULT_ALPHA["bounded"]` (0.2), chosen on the dev halves of
  `experiments/hybrid_search.py`.
- `rrf`: reciprocal rank fusion, k = 60 (Cormack, Clarke & Buettcher 2009), optionally with per-system weights.
- `wrrf`: weighted RRF with dense weight alpha (`2 * alpha` and `2 * (1 - alpha)`: alpha 0.5 is plain RRF).
- `weighted`: `alpha * minmax(cosine) + (1 - alpha) * minmax(bm25)` (min-max over the candidates).
- `zscore`: `alpha * z(cosine) + (1 - alpha) * z(bm25)`, z-scores over the candidates ("ZMUV", Montague & Aslam
  2001; one of the normalisations Bruch et al. 2023 compare).

The score-based methods take `{doc: score}` maps over the candidate union (the serving index scores every
candidate exactly with both systems); a document missing from one map counts as that map's lowest score (BM25: 0
in `bounded`, its theoretical minimum). All return `[(doc, fused score)]`, best first, ties by doc id; at alpha 1
or 0 exactly the order is lexicographic (one system's scores, ties and the rest by the other's), so alpha 1 is
dense search and alpha 0 BM25 search followed by the candidates BM25 does not match in dense order (per-index
tuning, `seaembed.search.tune_fusion`, may choose either).

References:
- G. V. Cormack, C. L. A. Clarke, S. Buettcher. Reciprocal rank fusion outperforms Condorcet and individual rank
  learning methods. SIGIR 2009.
- M. Montague, J. A. Aslam. Relevance score normalization for metasearch. CIKM 2001.
- S. Bruch, S. Gai, A. Ingber. An analysis of fusion functions for hybrid retrieval. ACM TOIS 42(1), 2023.
- H. Turtle, J. Flood. Query evaluation: strategies and optimizations. IP&M 1995 (MaxScore); A. Z. Broder et al.
  Efficient query evaluation using a two-level retrieval process. CIKM 2003 (WAND): per-term score upper bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

RRF_K = 60  # the constant of Cormack et al. (2009)
FUSIONS = ("bounded", "rrf", "wrrf", "weighted", "zscore")
DEFAULT_FUSION = "bounded"
# dense weight per method when neither the request nor the index says: `bounded` 0.2 is the one number chosen on the
# dev halves of experiments/hybrid_search.py (all three tasks together); `weighted` keeps its earlier 0.5;
# `wrrf` 0.5 is plain RRF; `zscore` 0.5 (also its dev choice there).
DEFAULT_ALPHA: dict[str, float] = {"bounded": 0.2, "wrrf": 0.5, "weighted": 0.5, "zscore": 0.5}


def _ranked(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha <= 1.0 or math.isnan(alpha):
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")


def rrf(rankings: Sequence[Sequence[int]], k: float = RRF_K,
        weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(d) = sum over rankings r of w_r / (k + rank_r(d)), rank from 1; best first.

    Cormack, Clarke & Buettcher (SIGIR 2009); per-ranking weights `weights` (default all 1) give weighted RRF.
    A document absent from a ranking gets nothing from it. Ranks are list positions: equal scores inside one
    input ranking still get distinct ranks (pass rankings whose tie order is meaningful, or use a score-based
    method).
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return _ranked(scores)


def weighted_rrf(dense: Sequence[int], lexical: Sequence[int], alpha: float,
                 k: float = RRF_K) -> list[tuple[int, float]]:
    """Weighted RRF of a dense and a lexical ranking with dense weight `alpha` (weights 2*alpha and
    2*(1 - alpha), so alpha 0.5 gives exactly `rrf`'s scores). alpha 1 orders the dense ranking first (documents
    only in the lexical ranking follow, in that ranking's order) and alpha 0 the reverse."""
    _check_alpha(alpha)
    fused = rrf([dense, lexical], k, weights=(2.0 * alpha, 2.0 * (1.0 - alpha)))
    if alpha in (0.0, 1.0):  # the zero-weight list still breaks ties among the rest: a lexicographic order
        first, second = (dense, lexical) if alpha == 1.0 else (lexical, dense)
        pos1 = {d: r for r, d in enumerate(first)}
        pos2 = {d: r for r, d in enumerate(second)}
        fused.sort(key=lambda kv: (pos1.get(kv[0], math.inf), pos2.get(kv[0], math.inf), kv[0]))
    return fused


def min_max(scores: Mapping[int, float]) -> dict[int, float]:
    """(s - min) / (max - min) over the given scores; all 1.0 when they are all equal."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo
    return {d: ((s - lo) / span if span > 0 else 1.0) for d, s in scores.items()}


_min_max = min_max  # the name used before


def z_scores(scores: Mapping[int, float]) -> dict[int, float]:
    """(s - mean) / std over the given scores (population std); all 0.0 when they are all equal."""
    if not scores:
        return {}
    values = list(scores.values())
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return {d: ((s - mean) / std if std > 0 else 0.0) for d, s in scores.items()}


def _combine(dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float) -> list[tuple[int, float]]:
    """alpha * dense + (1 - alpha) * lexical over two maps with the same documents, best first. At alpha 1 (0) the
    order is lexicographic: the zero-weight side still breaks ties of the other (as in `weighted_rrf`), so
    alpha 0 is BM25's ranking with the documents BM25 does not match in dense order, not in catalog order."""
    if alpha in (0.0, 1.0):
        first, second = (dense, lexical) if alpha == 1.0 else (lexical, dense)
        order = sorted(first, key=lambda d: (-first[d], -second[d], d))
        return [(d, first[d]) for d in order]
    return _ranked({d: alpha * dense[d] + (1.0 - alpha) * lexical[d] for d in dense})


def _convex(dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float) -> list[tuple[int, float]]:
    """alpha * dense + (1 - alpha) * lexical over the union of already-normalised maps; a document missing from one
    map gets that map's lowest value."""
    _check_alpha(alpha)
    docs = set(dense) | set(lexical)
    d_low = min(dense.values(), default=0.0)
    l_low = min(lexical.values(), default=0.0)
    return _combine({d: dense.get(d, d_low) for d in docs}, {d: lexical.get(d, l_low) for d in docs}, alpha)


def weighted(dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float) -> list[tuple[int, float]]:
    """alpha * minmax(dense) + (1 - alpha) * minmax(bm25) over the union of candidates (a missing score counts
    as the lowest); best first. Convex combination with min-max normalisation (Bruch et al., TOIS 2023)."""
    return _convex(min_max(dense), min_max(lexical), alpha)


def zscore(dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float) -> list[tuple[int, float]]:
    """alpha * z(dense) + (1 - alpha) * z(bm25), each z-scored over its map (zero mean, unit variance: Montague &
    Aslam, CIKM 2001; compared for convex combination by Bruch et al., TOIS 2023); a document missing from one
    map gets that map's lowest z. Less sensitive than min-max to one outlying top score. Best first."""
    return _convex(z_scores(dense), z_scores(lexical), alpha)


def bounded(dense: Mapping[int, float], lexical: Mapping[int, float], alpha: float,
            lexical_max: float | None) -> list[tuple[int, float]]:
    """alpha * minmax(dense) + (1 - alpha) * bm25 / lexical_max; best first.

    A convex combination (Bruch et al., TOIS 2023) whose lexical side is normalised by theoretical bounds rather
    than by the candidates: BM25's minimum 0 and `lexical_max`, the query's upper bound (`BM25Retriever.
    max_score`: the sum of its terms' idf, the per-term bounds of MaxScore/WAND). So the lexical side is
    near 0 when the catalog shares only common (or none) of the query's words, and large when a document matches
    its rare ones; min-max or z-scoring would stretch both cases to the same range. A document missing from
    `lexical` has BM25 0; one missing from `dense` gets the lowest dense score. `lexical_max` None or <= 0 (a
    query without tokens) drops the lexical side.
    """
    _check_alpha(alpha)
    norm = lexical_max if lexical_max is not None and lexical_max > 0 else None
    lex = {d: (min(max(s, 0.0) / norm, 1.0) if norm else 0.0) for d, s in lexical.items()}
    docs = set(dense) | set(lexical)
    dense_n = min_max(dense)
    d_low = min(dense_n.values(), default=0.0)
    return _combine({d: dense_n.get(d, d_low) for d in docs}, {d: lex.get(d, 0.0) for d in docs}, alpha)


def resolve_alpha(method: str, alpha: float | None = None, index_info: Mapping | None = None) -> float | None:
    """The dense weight to use: `alpha` if given; else the index's stored alpha when the index's default fusion is
    `method`; else `DEFAULT_ALPHA[method]` (None for `rrf`, which has none)."""
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion '{method}': use one of {', '.join(FUSIONS)}")
    if alpha is not None:
        _check_alpha(alpha)
        return float(alpha)
    if method == "rrf":
        return None
    info = index_info or {}
    if info.get("fusion") == method and info.get("alpha") is not None:
        return float(info["alpha"])
    return DEFAULT_ALPHA[method]


def fuse(method: str, dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], alpha: float | None,
         k: int, *, exact_scores: Callable[[list[int]], tuple[Mapping[int, float], Mapping[int, float]]],
         bm25_upper: Callable[[], float]) -> list[tuple[int, float]]:
    """The top k of two candidate lists (`(id, score)`, best first) fused with `method` (alpha from `resolve_alpha`).

    Rank fusions (rrf, wrrf) use the lists as they are. Score fusions give every candidate in either list its exact
    score from both systems, `exact_scores(ids) -> (dense, bm25)`; `bounded` also needs the query's BM25 upper
    bound, `bm25_upper()`. Each index (faiss, Qdrant) supplies these two from its own storage."""
    if method == "rrf":
        return rrf([[d for d, _ in dense], [d for d, _ in lexical]])[:k]
    if method == "wrrf":
        return weighted_rrf([d for d, _ in dense], [d for d, _ in lexical], alpha)[:k]
    union = sorted({d for d, _ in dense} | {d for d, _ in lexical})
    if not union:
        return []
    dense_all, lex_all = exact_scores(union)
    if method == "weighted":
        return weighted(dense_all, lex_all, alpha)[:k]
    if method == "zscore":
        return zscore(dense_all, lex_all, alpha)[:k]
    if method == "bounded":
        return bounded(dense_all, lex_all, alpha, bm25_upper())[:k]
    raise ValueError(f"unknown fusion '{method}': use one of {', '.join(FUSIONS)}")


__all__ = ["DEFAULT_ALPHA", "DEFAULT_FUSION", "FUSIONS", "RRF_K", "bounded", "fuse", "min_max", "resolve_alpha", "rrf",
           "weighted", "weighted_rrf", "z_scores", "zscore"]

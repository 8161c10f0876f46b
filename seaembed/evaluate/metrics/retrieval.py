"""Retrieval metrics (nDCG@10, Recall@10/100, MRR@10, MAP@10) with the definitions of trec_eval.

They are computed here rather than by pytrec_eval because pytrec_eval is a test-only dependency (a C extension
that is not always installable) and the formulas are a few lines; tests check them against pytrec_eval.
- nDCG@k: linear gain (the judgement score), discount log2(rank + 1); the ideal ranking is built from all judged
  documents of the query.
- Recall@k: relevant (score >= 1) documents in the top k / all relevant documents of the query.
- MRR@k: 1 / rank of the first relevant document in the top k, else 0.
- MAP@k (trec_eval `map_cut_k`): the sum, over the relevant documents in the top k, of the precision at their
  rank, divided by the number of relevant documents of the query (all of them, not min(k, R): a query with more
  than k relevant documents cannot reach 1); 0 for a query without relevant documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from seaembed.evaluate.metrics.grouping import lang_groups

KS_NDCG = (10,)
KS_RECALL = (10, 100)
KS_MRR = (10,)
KS_MAP = (10,)


def top_k(queries: np.ndarray, corpus: np.ndarray, k: int, *, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by dot product (cosine on normalised rows): (indices, scores), each (n_queries, k), best first.

    Ties are broken by corpus order, so the ranking is deterministic.
    """
    k = min(k, corpus.shape[0])
    idx_out = np.empty((queries.shape[0], k), dtype=np.int64)
    score_out = np.empty((queries.shape[0], k), dtype=np.float32)
    for start in range(0, queries.shape[0], chunk):
        sims = queries[start:start + chunk] @ corpus.T
        if k < sims.shape[1]:
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)  # by score desc, then corpus index asc
        idx_out[start:start + chunk] = np.take_along_axis(part, order, axis=1)
        score_out[start:start + chunk] = np.take_along_axis(part_scores, order, axis=1)
    return idx_out, score_out


def query_metrics(ranked: Sequence[str], judged: Mapping[str, int]) -> dict[str, float]:
    """All metrics of one query from its ranked document ids (best first) and its judgements {doc id: score}."""
    relevant = {d for d, s in judged.items() if s >= 1}
    out: dict[str, float] = {}
    gains = np.array([max(judged.get(d, 0), 0) for d in ranked], dtype=np.float64)
    for k in KS_NDCG:
        disc = 1.0 / np.log2(np.arange(2, k + 2))
        dcg = float((gains[:k] * disc[: len(gains[:k])]).sum())
        ideal = np.sort(np.array([max(s, 0) for s in judged.values()], dtype=np.float64))[::-1][:k]
        idcg = float((ideal * disc[: len(ideal)]).sum())
        out[f"ndcg_at_{k}"] = dcg / idcg if idcg > 0 else 0.0
    for k in KS_RECALL:
        hits = sum(1 for d in ranked[:k] if d in relevant)
        out[f"recall_at_{k}"] = hits / len(relevant) if relevant else 0.0
    for k in KS_MRR:
        rr = 0.0
        for i, d in enumerate(ranked[:k], start=1):
            if d in relevant:
                rr = 1.0 / i
                break
        out[f"mrr_at_{k}"] = rr
    for k in KS_MAP:
        hits, total = 0, 0.0
        for i, d in enumerate(ranked[:k], start=1):
            if d in relevant:
                hits += 1
                total += hits / i
        out[f"map_at_{k}"] = total / len(relevant) if relevant else 0.0
    return out


def retrieval_metrics(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]],
    query_langs: Mapping[str, str | None] | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean metrics over the judged queries, overall and per query language.

    `run` maps query id -> ranked doc ids (at least 100 deep for Recall@100); a judged query missing from `run`
    scores 0.
    """
    qids = sorted(qrels)
    per_query = [query_metrics(run.get(q, []), qrels[q]) for q in qids]
    names = list(per_query[0]) if per_query else []

    def mean(rows: list[dict[str, float]]) -> dict[str, float]:
        return {n: float(np.mean([r[n] for r in rows])) for n in names} | {"n_queries": len(rows)}

    overall = mean(per_query)
    per_lang = {}
    if query_langs:
        for lang, idx in lang_groups([query_langs.get(q) for q in qids]).items():
            per_lang[lang] = mean([per_query[i] for i in idx])
    return overall, per_lang

"""The nearest-neighbour search behind hard-negative mining: every query's top k among the task's positives.

Up to `FLAT_MAX` corpus texts the search is exact (`faiss.IndexFlatIP`). Above, it is IVF-PQ whose candidates are
re-ranked by their exact cosine on the corpus vectors the caller already holds, at a search effort calibrated on a
sample of the queries themselves against exact search:

- why not HNSW (what mining used before): at 1M generated vectors building the graph took about 500 s of the
  697 s mining run, mining grew 28.9x from 100k to 1M (the scaling bound is 12x), and the graph held a second
  copy of every vector (1.5 GiB at 1M x 384) next to the corpus (benchmarks/results/scale.md);
- why not `faiss.IndexRefineFlat`: it also keeps its own copy of every vector; the re-ranking here reads only the
  candidates' rows of the caller's array (a chunk of queries at a time);
- why calibrate: a fixed nprobe loses recall as the corpus grows; the calibration searches `CAL_SAMPLE` of the
  queries at increasing (nprobe, re-ranking depth) until recall@k against the exact top k reaches `target`.

faiss has no batched search with exact re-ranking over external vectors and no calibration over that search, so
those two steps are written here. `seaembed.search.calibrate` calibrates the served index one query at a time
through the serving path; mining searches all its queries in batches, and `seaembed.search` imports from the data
build (language identification), so the two share their lower half instead (`seaembed.knn`: the exact reference
and the IVF-PQ shape).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from seaembed.knn import exact_top_k, pq_params

log = logging.getLogger(__name__)

FLAT_MAX = 50_000  # exact search up to this many corpus texts (flat search is O(n) a query)
QUERY_CHUNK = 8192  # queries per faiss call on the flat index: bounds the per-call distance buffers
RERANK_CHUNK = 256  # queries re-ranked at a time: bounds the gathered candidate block (256 x fetch x dim floats)
TRAIN_SAMPLE = 100_000  # IVF-PQ trains on at most this many corpus vectors
CAL_SAMPLE = 500  # queries the search effort is calibrated on
TARGET = 0.95  # recall@k against exact search the calibration asks for
NPROBE_GRID = (8, 16, 32, 64, 128, 256)
REFINE_GRID = (4, 10)  # candidates fetched per result wanted, re-ranked exactly


@dataclass
class MiningSearch:
    """How one mining search ran: `index` flat or ivfpq, and for ivfpq the calibrated `nprobe` and re-ranking
    depth `refine` (candidates per result), the recall@k they reached on `cal_queries` queries, and the curve
    (deterministic: no timings, so a rebuilt report is the same file)."""

    index: str
    n: int
    k: int
    nprobe: int | None = None
    refine: int | None = None
    recall: float | None = None
    target: float | None = None
    cal_queries: int = 0
    curve: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ivfpq(docs: np.ndarray, seed: int):
    """An IVF-PQ inner-product index over `docs`, shaped by `seaembed.knn.pq_params` as the catalog index is."""
    import faiss

    n, dim = docs.shape
    nlist, m, nbits = pq_params(n, dim)
    index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
    rows = np.arange(n) if n <= TRAIN_SAMPLE else np.sort(
        np.random.default_rng(seed).choice(n, TRAIN_SAMPLE, replace=False))
    index.train(np.ascontiguousarray(docs[rows], dtype=np.float32))
    for start in range(0, n, 65_536):
        index.add(np.ascontiguousarray(docs[start:start + 65_536], dtype=np.float32))
    return index


def _refined(index, docs: np.ndarray, qs: np.ndarray, k: int, nprobe: int, refine: int,
             chunk: int = RERANK_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each query by exact cosine among IVF-PQ's `refine * k` candidates at `nprobe` (-1 / -inf where
    fewer were found)."""
    import faiss

    fetch = min(int(index.ntotal), refine * k)
    params = faiss.SearchParametersIVF(nprobe=nprobe)
    scores = np.full((len(qs), k), -np.inf, dtype=np.float32)
    found = np.full((len(qs), k), -1, dtype=np.int32)
    for start in range(0, len(qs), chunk):
        q = np.ascontiguousarray(qs[start:start + chunk], dtype=np.float32)
        _, cand = index.search(q, fetch, params=params)
        valid = cand >= 0
        rows = np.where(valid, cand, 0)
        exact = np.einsum("cfd,cd->cf", np.asarray(docs[rows.ravel()], dtype=np.float32).reshape(
            *rows.shape, -1), q)
        exact[~valid] = -np.inf
        top = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        s = np.take_along_axis(exact, top, axis=1)
        f = np.take_along_axis(cand, top, axis=1)
        f[~np.isfinite(s)] = -1
        scores[start:start + len(q), :top.shape[1]] = s
        found[start:start + len(q), :top.shape[1]] = f
    return scores, found


def _exact(docs: np.ndarray, qs: np.ndarray, k: int, chunk: int = QUERY_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (`seaembed.knn.exact_top_k`, no copy of the corpus), `chunk` queries per scan."""
    scores = np.empty((len(qs), k), dtype=np.float32)
    found = np.empty((len(qs), k), dtype=np.int32)
    for start in range(0, len(qs), chunk):
        s, f = exact_top_k(docs, qs[start:start + chunk], k)
        scores[start:start + len(s)], found[start:start + len(f)] = s, f
    return scores, found


def calibration_rows(n_queries: int, seed: int = 0) -> np.ndarray:
    """The sorted query rows `search_in_chunks` calibrates on (seeded): benchmarks report recall on the others."""
    return np.sort(np.random.default_rng(seed).choice(n_queries, min(CAL_SAMPLE, n_queries), replace=False))


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's exact top k (`truth` rows) that `found` holds."""
    k = truth.shape[1]
    return float(np.mean([len(set(f[f >= 0].tolist()) & set(t.tolist())) / k
                          for f, t in zip(found, truth, strict=True)]))


def search_in_chunks(docs: np.ndarray, qs: np.ndarray, k: int, *, flat_max: int = FLAT_MAX,
                     chunk: int = QUERY_CHUNK, target: float = TARGET, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, MiningSearch]:
    """Top-k `(scores float32, ids int32, how)` of each query in `qs` against the L2-normalised `docs`, best first:
    exact up to `flat_max` texts, else calibrated IVF-PQ with exact re-ranking (scores are exact cosines either
    way; ids -1 where fewer than k were found)."""
    t0 = time.perf_counter()
    n = len(docs)
    k = max(1, min(k, n))
    if n <= flat_max:
        scores, found = _exact(docs, qs, k, chunk)
        return scores, found, MiningSearch("flat", n, k)
    index = _ivfpq(docs, seed)
    cal = calibration_rows(len(qs), seed)
    truth = exact_top_k(docs, qs[cal], k)[1]
    curve: dict[str, float] = {}
    nprobe, refine, recall = 0, 0, 0.0
    for nprobe in sorted({min(p, int(index.nlist)) for p in NPROBE_GRID}):
        for refine in REFINE_GRID:
            recall = recall_at_k(_refined(index, docs, qs[cal], k, nprobe, refine)[1], truth)
            curve[f"{nprobe}/x{refine}"] = round(recall, 4)
            if recall >= target:
                break
        if recall >= target:
            break
    if recall < target:
        log.warning("hard-negative search: recall@%d %.3f at nprobe %d x%d misses the target %.2f", k, recall,
                    nprobe, refine, target)
    scores, found = _refined(index, docs, qs, k, nprobe, refine)
    how = MiningSearch("ivfpq", n, k, nprobe, refine, round(recall, 4), target, len(cal), curve)
    log.info("hard-negative search over %d texts: IVF-PQ nprobe %d x%d, recall@%d %.3f on %d queries, %.1f s", n,
             nprobe, refine, k, recall, len(cal), time.perf_counter() - t0)
    return scores, found, how

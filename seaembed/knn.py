"""Nearest-neighbour helpers shared by the stages that search vectors (the data build's hard-negative mining and
the catalog index): exact top-k by a chunked scan of (possibly memory-mapped) vectors, the reference approximate
search is checked against, and the IVF-PQ shape faiss can train on a given number of vectors."""

from __future__ import annotations

import math

import numpy as np

SCAN_ROWS = 32_768  # rows of the vectors scanned per step: bounds the copy made, no second copy of all the vectors


def exact_top_k(vecs: np.ndarray, qs: np.ndarray, k: int, *, scan_rows: int = SCAN_ROWS
                ) -> tuple[np.ndarray, np.ndarray]:
    """`(scores, ids)` of the exact top `k` (inner product) of each query in `qs`, best first, scanning `vecs`
    `scan_rows` rows at a time: faiss's block-wise ground truth (a flat index per block, merged in a result heap)."""
    import faiss
    from faiss.contrib.exhaustive_search import knn_ground_truth

    qs = np.ascontiguousarray(qs, dtype=np.float32)
    k = max(1, min(k, len(vecs)))
    blocks = (np.ascontiguousarray(vecs[start:start + scan_rows], dtype=np.float32)
              for start in range(0, len(vecs), scan_rows))
    scores, ids = knn_ground_truth(qs, blocks, k, metric_type=faiss.METRIC_INNER_PRODUCT, ngpu=0)
    return scores, ids.astype(np.int64, copy=False)


def pq_params(n: int, dim: int) -> tuple[int, int, int]:
    """(nlist, m sub-quantisers, bits per code) of an IVF-PQ index that faiss can train on `n` vectors of `dim`:
    nlist 4 sqrt(n) (at least 39 training points a list), codes of dim/8 sub-vectors, 8 bits from 512 vectors up."""
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    m = next(c for c in (dim // 8, dim // 4, dim // 2, dim, 1) if c >= 1 and dim % c == 0)
    nbits = max(1, min(8, int(math.log2(max(n, 2))) - 1))
    return nlist, m, nbits

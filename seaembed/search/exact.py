"""Exact top-k by a chunked scan of (possibly memory-mapped) vectors: the reference approximate search is checked
against (build-time calibration of `faiss_index`, benchmarks/scale.py)."""

from __future__ import annotations

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

"""Exact top-k by a chunked scan of (possibly memory-mapped) vectors: the reference approximate search is checked
against (build-time calibration of `faiss_index`, benchmarks/scale.py)."""

from __future__ import annotations

import numpy as np

SCAN_ROWS = 32_768  # rows of the vectors scanned per step: bounds the score buffer, no second copy of the vectors


def exact_top_k(vecs: np.ndarray, qs: np.ndarray, k: int, *, scan_rows: int = SCAN_ROWS
                ) -> tuple[np.ndarray, np.ndarray]:
    """`(scores, ids)` of the exact top `k` (inner product) of each query in `qs`, best first, scanning `vecs`
    `scan_rows` rows at a time (ties broken by the lower id)."""
    qs = np.ascontiguousarray(qs, dtype=np.float32)
    k = max(1, min(k, len(vecs)))
    best_s = np.full((len(qs), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(qs), k), -1, dtype=np.int64)
    for start in range(0, len(vecs), scan_rows):
        scores = qs @ np.asarray(vecs[start:start + scan_rows], dtype=np.float32).T
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)], axis=1)
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    order = np.lexsort((best_i, -best_s), axis=1)
    return np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)

"""Consistency filter: a synthetic query is kept only if its source product ranks in the top k for it under the
guide model (exact inner-product search with faiss over all product titles)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seaembed.augment.guide import unique_encode


def consistent(model: Any, queries: list[str], source_index: list[int], product_texts: list[str], *, top_k: int,
               batch_size: int = 64, show_progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(keep mask, rank of the source product or -1 if beyond top_k) for each query.

    A product whose text equals the source product's text counts as the source (duplicate listings)."""
    import faiss

    if not queries:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=int)
    docs = unique_encode(model, product_texts, prompt="passage", batch_size=batch_size, show_progress=show_progress)
    qs = unique_encode(model, queries, prompt="query", batch_size=batch_size, show_progress=show_progress)
    index = faiss.IndexFlatIP(docs.shape[1])
    index.add(docs)
    k = min(top_k, len(product_texts))
    _, found = index.search(qs, k)
    ranks = np.full(len(queries), -1, dtype=int)
    for i, (src, row) in enumerate(zip(source_index, found, strict=True)):
        for rank, j in enumerate(row):
            if j == src or (j >= 0 and product_texts[j] == product_texts[src]):
                ranks[i] = rank
                break
    return ranks >= 0, ranks

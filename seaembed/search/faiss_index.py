"""The dense side of the catalog index: which faiss index for which size, and filtered search on it."""

from __future__ import annotations

from typing import Literal

import numpy as np

from seaembed.knn import pq_params

Kind = Literal["flat", "hnsw", "ivfpq"]
KINDS = ("auto", "flat", "hnsw", "ivfpq")
FLAT_MAX = 50_000  # exact search stays fast (~10 ms a query on 2 cores at 384-d) up to about here
TRAIN_SAMPLE = 200_000  # IVF-PQ trains its coarse quantiser and codebooks on at most this many vectors
ADD_ROWS = 65_536  # vectors added to an index per call (bounded copies out of a memory-mapped array)
REFINE_FACTOR = 10  # IVF-PQ with exact re-ranking: candidates fetched per result wanted
# search effort of an index.json without a calibrated one (seaembed.search.calibrate picks it at build time)
EF_SEARCH = 128
NPROBE = 16


def choose_kind(n: int, requested: str = "auto") -> Kind:
    """`flat` up to FLAT_MAX vectors, `ivfpq` (served with exact re-ranking) above, unless a kind is requested.

    Why not HNSW for medium catalogs: at 100k (benchmarks/results/scale.md, generated 384-d vectors) IVF-PQ with
    the re-ranking reached recall@10 0.996 at 0.26 ms p50 from a 7.6 MiB index, HNSW 0.963 at 1.11 ms (efSearch
    256, calibrated on held-out queries) from 172 MiB held in memory, and it built slower. HNSW stays available
    with `kind="hnsw"`."""
    if requested not in KINDS:
        raise ValueError(f"unknown index kind '{requested}': use one of {', '.join(KINDS)}")
    if requested != "auto":
        return requested  # type: ignore[return-value]
    if n <= FLAT_MAX:
        return "flat"
    return "ivfpq"


def build(vectors: np.ndarray, kind: Kind, *, hnsw_m: int = 32, ef_construction: int = 80,
          add_rows: int = ADD_ROWS):
    """A faiss inner-product index over L2-normalised `vectors` (so scores are cosines).

    `vectors` may be memory-mapped (`seaembed index` passes its `embeddings.npy`): it is added `add_rows` rows at a
    time, and IVF-PQ trains on a sample of at most `TRAIN_SAMPLE` rows, so no second full copy is made beyond the
    index's own storage (every vector for flat and HNSW, codes for IVF-PQ)."""
    import faiss

    n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    elif kind == "ivfpq":
        nlist, m, nbits = pq_params(n, dim)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, nbits, faiss.METRIC_INNER_PRODUCT)
        rows = np.arange(n) if n <= TRAIN_SAMPLE else np.sort(np.random.default_rng(0).choice(n, TRAIN_SAMPLE,
                                                                                             replace=False))
        index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
    else:
        raise ValueError(f"unknown index kind '{kind}'")
    for start in range(0, n, add_rows):
        index.add(np.ascontiguousarray(vectors[start:start + add_rows], dtype=np.float32))
    return index


def search(index, query: np.ndarray, k: int, allowed: np.ndarray | None = None, *, ef_search: int = EF_SEARCH,
           nprobe: int = NPROBE, refine: np.ndarray | None = None, refine_factor: int = REFINE_FACTOR,
           head: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k `(scores, ids)` of one query; `allowed` (sorted int64 ids) restricts the search via an IDSelector.

    `ef_search` (HNSW, at least the number fetched) / `nprobe` (IVF): the search effort; `SearchIndex` passes the
    one calibrated at build time (index.json `dense_search`), these defaults only for older indexes.

    `refine`: the index's own vectors (e.g. the memory-mapped `embeddings.npy`); the index then fetches
    `refine_factor * k` candidates and they are re-ranked by their exact cosine (the refine step IVF-PQ needs to
    reach a recall@10 near 1: its PQ scores are approximate).

    `head`: when only the first `head` of the k results need the calibrated accuracy (hybrid search fetches 100
    dense candidates for a top 10), `refine_factor * head` candidates (at least k) are re-ranked instead of
    `refine_factor * k`: at 1M a hybrid query otherwise read 3,000-10,000 rows of the memory map."""
    import faiss

    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    k = max(1, min(k, index.ntotal))
    fetch = min(index.ntotal, max(k, refine_factor * min(k, head or k))) if refine is not None else k
    sel = faiss.IDSelectorBatch(allowed) if allowed is not None else None
    if isinstance(index, faiss.IndexHNSWFlat):
        params = faiss.SearchParametersHNSW(efSearch=max(ef_search, fetch), sel=sel)
    elif isinstance(index, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(nprobe=nprobe, sel=sel)
    else:
        params = faiss.SearchParameters(sel=sel) if sel is not None else None
    scores, ids = index.search(q, fetch, params=params)
    keep = ids[0] >= 0
    if refine is None:
        return scores[0][keep], ids[0][keep]
    # faiss.IndexRefineFlat does this re-ranking too, but keeps its own in-RAM copy of every vector (4 bytes x dim x
    # N: 1.5 GiB at 1M x 384), which is what IVF-PQ is there to avoid; here the exact vectors are read from the
    # memory map, only for the candidates
    ids = ids[0][keep]
    rows = np.sort(ids)  # ascending rows: sequential-ish reads from a memory map
    exact = np.asarray(refine[rows], dtype=np.float32) @ q[0]
    top = np.lexsort((rows, -exact))[:k]
    return exact[top], rows[top]

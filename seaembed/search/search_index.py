"""Load a `seaembed index` directory and search it: dense, BM25 or hybrid, with category/language/price filters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seaembed.errors import ConfigError
from seaembed.search import faiss_index
from seaembed.search.calibrate import search_params
from seaembed.search.fusion import DEFAULT_FUSION, fuse, resolve_alpha
from seaembed.search.metadata import MetadataStore

Mode = Literal["dense", "bm25", "hybrid"]
MODES = ("dense", "bm25", "hybrid")
EXACT_FILTER_MAX = 20_000  # a filter leaving at most this many items is searched exactly over their vectors


def bm25_retriever(texts: list[str]):
    """The index's BM25 (bm25s, Lucene BM25, k1=1.5, b=0.75) over `texts`, in memory.

    The query side does not know its language, so documents are analysed the same way (no per-language
    stemming); Thai segmentation and Khmer/Burmese bigrams depend on the script, not on a language tag."""
    from seaembed.evaluate.bm25 import BM25Retriever

    return BM25Retriever(k1=1.5, b=0.75, method="lucene").index(texts, None)


@dataclass
class Filters:
    """Restrict results: category and lang match one of the given values (case-insensitive); price in range."""

    category: Sequence[str] | None = None
    lang: Sequence[str] | None = None
    price_min: float | None = None
    price_max: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Filters | None:
        if not d:
            return None

        def as_list(v):
            if v is None or v == "" or v == []:
                return None
            return [v] if isinstance(v, str) else list(v)

        return cls(as_list(d.get("category")), as_list(d.get("lang")), d.get("price_min"), d.get("price_max"))

    def is_empty(self) -> bool:
        return not self.category and not self.lang and self.price_min is None and self.price_max is None


class SearchIndex:
    """A catalog index: faiss for dense search, bm25s for lexical search, metadata for filters and display (a
    `MetadataStore`: filter columns in memory, a row's dict read from `metadata.jsonl` only when it is returned)."""

    def __init__(self, path: Path, info: dict, dense, vectors: np.ndarray, meta: MetadataStore | Sequence[dict],
                 bm25) -> None:
        """`meta`: the items' metadata, a `MetadataStore` (what `load` opens) or in-memory rows, one dict an item."""
        if not isinstance(meta, MetadataStore):
            meta = MetadataStore.from_rows(meta)
        self.path, self.info, self.dense, self.vectors, self.meta, self.bm25 = path, info, dense, vectors, meta, bm25
        self.effort = search_params(info)  # the efSearch / nprobe calibrated at build time (older: the defaults)
        self.size = len(meta)

    @classmethod
    def load(cls, path: str | Path) -> SearchIndex:
        """Open an index directory written by `build_index`."""
        import faiss

        from seaembed.evaluate.bm25 import BM25Retriever

        path = Path(path)
        info_path = path / "index.json"
        if not info_path.is_file():
            raise ConfigError(f"{path}: not a seaembed index (no index.json); build one with `seaembed index`")
        info = json.loads(info_path.read_text(encoding="utf-8"))
        dense = faiss.read_index(str(path / "dense.faiss"))
        vectors = np.load(path / "embeddings.npy", mmap_mode="r")
        meta = MetadataStore.open(path / "metadata.jsonl")  # rows read on demand; the filter fields as columns
        bm25 = BM25Retriever.load(path / "bm25")
        return cls(path, info, dense, vectors, meta, bm25)

    @property
    def dim(self) -> int:
        return int(self.info["dim"])

    def categories(self) -> list[str]:
        """Distinct categories, for the search page's filter."""
        return self.meta.names("category")

    def languages(self) -> list[str]:
        """Distinct languages, for the search page's filter."""
        return self.meta.names("lang")

    # --- filters ------------------------------------------------------------------------------------------------
    def filter_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask of the items passing `filters` (None when nothing is filtered)."""
        if filters is None or filters.is_empty():
            return None
        mask = np.ones(self.size, dtype=bool)
        if filters.category:
            mask &= self.meta.matches("category", filters.category)
        if filters.lang:
            mask &= self.meta.matches("lang", filters.lang)
        if filters.price_min is not None:
            mask &= self.meta.price >= filters.price_min  # NaN (no price) fails both comparisons
        if filters.price_max is not None:
            mask &= self.meta.price <= filters.price_max
        return mask

    # --- the two retrievers ------------------------------------------------------------------------------------
    def dense_search(self, query_vec: np.ndarray, k: int, mask: np.ndarray | None = None, *,
                     head: int | None = None) -> list[tuple[int, float]]:
        """Top-k `(row, cosine)`; exact over the allowed vectors when a filter leaves few items; an IVF-PQ index's
        candidates are re-ranked by their exact cosine (`faiss_index.search`'s refine step). HNSW/IVF-PQ search at
        the effort index.json's `dense_search` calibrated (on unfiltered searches: a filtered search through an
        IDSelector is not calibrated separately). `head`: only the first `head` results need that accuracy (see
        `faiss_index.search`)."""
        q = np.asarray(query_vec, dtype=np.float32).reshape(-1)
        refine = self.vectors if self.info.get("kind") == "ivfpq" else None  # PQ scores re-ranked exactly
        if mask is None:
            scores, ids = faiss_index.search(self.dense, q, k, refine=refine, head=head, **self.effort)
            return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]
        allowed = np.flatnonzero(mask)
        if allowed.size == 0:
            return []
        if allowed.size <= EXACT_FILTER_MAX or self.info.get("kind") == "flat":
            scores = np.asarray(self.vectors[allowed]) @ q
            top = np.argsort(-scores, kind="stable")[:k]
            return [(int(allowed[t]), float(scores[t])) for t in top]
        scores, ids = faiss_index.search(self.dense, q, k, allowed.astype(np.int64), refine=refine, head=head,
                                         **self.effort)
        return [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]

    def bm25_scores(self, query_text: str) -> np.ndarray:
        """BM25 score of every item for `query_text` (zeros when no query term is in the index)."""
        return self.bm25.get_scores(query_text, None)

    def bm25_search(self, query_text: str, k: int, mask: np.ndarray | None = None,
                    scores: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k `(row, bm25)` among items matching at least one query term."""
        s = self.bm25_scores(query_text) if scores is None else scores
        valid = s > 0
        if mask is not None:
            valid &= mask
        rows = np.flatnonzero(valid)
        top = rows[np.lexsort((rows, -s[rows]))][:k]
        return [(int(r), float(s[r])) for r in top]

    # --- the API ----------------------------------------------------------------------------------------------------
    def search(self, query_vec: np.ndarray | None, query_text: str, k: int = 10, filters: Filters | dict | None = None,
               mode: Mode = "hybrid", *, fusion: str | None = None, alpha: float | None = None,
               candidates: int | None = None) -> list[dict[str, Any]]:
        """Top-k items as dicts (`id`, `score`, `rank` + stored metadata). `query_vec` is needed for dense/hybrid."""
        if mode not in MODES:
            raise ValueError(f"unknown mode '{mode}': use one of {', '.join(MODES)}")
        if isinstance(filters, dict):
            filters = Filters.from_dict(filters)
        mask = self.filter_mask(filters)
        if mode == "dense":
            ranked = self.dense_search(query_vec, k, mask)
        elif mode == "bm25":
            ranked = self.bm25_search(query_text, k, mask)
        else:
            n = candidates or max(100, 5 * k)
            # the fused top k needs the dense list's head as accurate as a dense top k; its tail only as candidates
            dense = self.dense_search(query_vec, n, mask, head=k)
            lexical_scores = self.bm25_scores(query_text)
            lexical = self.bm25_search(query_text, n, mask, scores=lexical_scores)
            method = fusion or self.info.get("fusion", DEFAULT_FUSION)
            a = resolve_alpha(method, alpha, self.info)
            q = np.asarray(query_vec, dtype=np.float32).reshape(-1)

            def exact_scores(ids: list[int]) -> tuple[dict[int, float], dict[int, float]]:
                rows = np.array(ids, dtype=np.int64)
                return (dict(zip(ids, (np.asarray(self.vectors[rows]) @ q).tolist(), strict=True)),
                        {r: float(lexical_scores[r]) for r in ids})

            ranked = fuse(method, dense, lexical, a, k, exact_scores=exact_scores,
                          bm25_upper=lambda: self.bm25.max_score(query_text))
        return [{"rank": r + 1, "score": round(float(s), 6), **self.meta[d]} for r, (d, s) in enumerate(ranked)]

"""`seaembed serve --search-backend qdrant`: /search answered from a Qdrant collection written by
`seaembed.search.qdrant_sink`, behind the same interface as the faiss `SearchIndex` (size, dim, info, categories(),
languages(), search()), so the server only chooses the backend.

Dense and BM25 run in Qdrant (dense: its HNSW; BM25: the sparse vectors with the IDF modifier). Hybrid fetches the
candidates of both there and fuses them here with the same functions as the faiss index (seaembed.search.fusion);
score-based fusions get every candidate's exact score from both systems (two queries restricted to the candidate
ids), like `SearchIndex.search`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seaembed.errors import ConfigError
from seaembed.search.fusion import DEFAULT_FUSION, fuse, resolve_alpha
from seaembed.search.qdrant_sink import DENSE, META_KEY, SPARSE, connect, query_sparse
from seaembed.search.search_index import MODES, Filters, Mode

PUBLIC_DROP = ("_category", "_lang", "_terms", META_KEY)
DF_CACHE_MAX = 200_000  # remembered document frequencies (tokens)


class QdrantSearchIndex:
    """A seaembed index stored in Qdrant collection `collection`."""

    def __init__(self, client, collection: str) -> None:
        self.client, self.collection = client, collection
        if not client.collection_exists(collection):
            raise ConfigError(f"Qdrant collection '{collection}' does not exist; write it with "
                              "`seaembed index --sink qdrant`")
        first = client.retrieve(collection, [0], with_payload=[META_KEY])
        if not first or META_KEY not in (first[0].payload or {}):
            raise ConfigError(f"Qdrant collection '{collection}' was not written by `seaembed index --sink qdrant`")
        self.info: dict = dict(first[0].payload[META_KEY])
        self.size = int(client.count(collection, exact=True).count)
        self.path = f"qdrant:{collection}"
        self._facets: dict[str, list[str]] = {}
        self._df: dict[str, int] = {}

    @classmethod
    def connect(cls, url: str, collection: str, api_key: str | None = None) -> QdrantSearchIndex:
        client = connect(url, api_key)
        try:
            return cls(client, collection)
        except ConfigError:
            client.close()
            raise

    def close(self) -> None:
        """Close the client (the server does it at shutdown)."""
        self.client.close()

    @property
    def dim(self) -> int:
        return int(self.info["dim"])

    def _distinct(self, key: str) -> list[str]:
        if key not in self._facets:
            values: set[str] = set()
            offset = None
            while True:  # scroll only this field's payload; done once per key
                rows, offset = self.client.scroll(self.collection, limit=10_000, offset=offset,
                                                  with_payload=[key], with_vectors=False)
                values.update(str(r.payload[key]) for r in rows if r.payload.get(key))
                if offset is None:
                    break
            self._facets[key] = sorted(values)
        return self._facets[key]

    def categories(self) -> list[str]:
        return self._distinct("category")

    def languages(self) -> list[str]:
        return self._distinct("lang")

    # --- filters ------------------------------------------------------------------------------------------------
    @staticmethod
    def qdrant_filter(filters: Filters | None, ids: list[int] | None = None):
        """The Qdrant Filter of `filters` (case-insensitive category/lang, price range), optionally to `ids`."""
        from qdrant_client import models

        must: list[Any] = []
        if filters is not None and not filters.is_empty():
            if filters.category:
                must.append(models.FieldCondition(key="_category", match=models.MatchAny(
                    any=[c.casefold() for c in filters.category])))
            if filters.lang:
                must.append(models.FieldCondition(key="_lang", match=models.MatchAny(
                    any=[c.casefold() for c in filters.lang])))
            if filters.price_min is not None or filters.price_max is not None:
                must.append(models.FieldCondition(key="price", range=models.Range(
                    gte=filters.price_min, lte=filters.price_max)))
        if ids is not None:
            must.append(models.HasIdCondition(has_id=ids))
        return models.Filter(must=must) if must else None

    # --- the two retrievers ------------------------------------------------------------------------------------
    def _query(self, query, using: str, k: int, flt, payload: bool, search_params=None) -> list[tuple[int, float, dict]]:
        res = self.client.query_points(self.collection, query=query, using=using, limit=k, query_filter=flt,
                                       with_payload=payload, with_vectors=False, search_params=search_params)
        return [(int(p.id), float(p.score), p.payload or {}) for p in res.points]

    def dense_search(self, query_vec: np.ndarray, k: int, filters: Filters | None = None, *, ids=None,
                     payload: bool = False, hnsw_ef: int | None = 128):
        from qdrant_client import models

        q = np.asarray(query_vec, dtype=np.float32).reshape(-1).tolist()
        return self._query(q, DENSE, k, self.qdrant_filter(filters, ids), payload,
                           search_params=models.SearchParams(hnsw_ef=hnsw_ef) if hnsw_ef else None)

    def bm25_search(self, query_text: str, k: int, filters: Filters | None = None, *, ids=None,
                    payload: bool = False):
        from qdrant_client import models

        idx, val = query_sparse(query_text)
        if not idx:
            return []
        # BM25 ties are common: fetch past the cut-off and order ties by row, as SearchIndex.bm25_search does
        # (scores rounded: Qdrant's float32 sums differ from bm25s's in the last digits)
        hits = self._query(models.SparseVector(indices=idx, values=val), SPARSE, 2 * k + 10,
                           self.qdrant_filter(filters, ids), payload)
        hits.sort(key=lambda h: (-round(h[1], 4), h[0]))
        return [h for h in hits if h[1] > 0][:k]

    def _document_frequency(self, token: str) -> int:
        """How many items hold `token`: one count request per token, then remembered (the collection is read-only
        while it is served, as the faiss index is)."""
        if token not in self._df:
            from qdrant_client import models

            if len(self._df) >= DF_CACHE_MAX:  # arbitrary query words must not grow it without bound
                self._df.clear()

            self._df[token] = int(self.client.count(self.collection, exact=True, count_filter=models.Filter(must=[
                models.FieldCondition(key="_terms", match=models.MatchValue(value=token))])).count)
        return self._df[token]

    def bm25_max_score(self, query_text: str) -> float:
        """`BM25Retriever.max_score` over this collection: the sum of the query tokens' idf (df counted here)."""
        from seaembed.data.text_analysis import analyze

        n = float(self.size)
        return float(sum(np.log1p((n - df + 0.5) / (df + 0.5))
                         for df in map(self._document_frequency, analyze(query_text))))

    def _payloads(self, rows: list[int]) -> dict[int, dict]:
        return {int(p.id): p.payload or {} for p in self.client.retrieve(self.collection, rows, with_payload=True)}

    # --- the API ----------------------------------------------------------------------------------------------------
    def search(self, query_vec: np.ndarray | None, query_text: str, k: int = 10, filters: Filters | dict | None = None,
               mode: Mode = "hybrid", *, fusion: str | None = None, alpha: float | None = None,
               candidates: int | None = None) -> list[dict[str, Any]]:
        """Top-k items as dicts (`id`, `score`, `rank` + stored metadata), as `SearchIndex.search`."""
        if mode not in MODES:
            raise ValueError(f"unknown mode '{mode}': use one of {', '.join(MODES)}")
        if isinstance(filters, dict):
            filters = Filters.from_dict(filters)
        if mode in ("dense", "bm25"):
            hits = (self.dense_search(query_vec, k, filters, payload=True) if mode == "dense"
                    else self.bm25_search(query_text, k, filters, payload=True))
            ranked = [(d, s) for d, s, _ in hits]
            payloads = {d: p for d, _, p in hits}
        else:
            n = candidates or max(100, 5 * k)
            dense = [(d, s) for d, s, _ in self.dense_search(query_vec, n, filters)]
            lexical = [(d, s) for d, s, _ in self.bm25_search(query_text, n, filters)]
            method = fusion or self.info.get("fusion", DEFAULT_FUSION)
            a = resolve_alpha(method, alpha, self.info)

            def exact_scores(ids: list[int]) -> tuple[dict[int, float], dict[int, float]]:
                dense_all = dict.fromkeys(ids, 0.0)
                dense_all.update({d: s for d, s, _ in self.dense_search(query_vec, len(ids), ids=ids, hnsw_ef=None)})
                lex_all = dict.fromkeys(ids, 0.0)
                lex_all.update({d: s for d, s, _ in self.bm25_search(query_text, len(ids), ids=ids)})
                return dense_all, lex_all

            ranked = fuse(method, dense, lexical, a, k, exact_scores=exact_scores,
                          bm25_upper=lambda: self.bm25_max_score(query_text))
            payloads = self._payloads([d for d, _ in ranked]) if ranked else {}
        out = []
        for r, (d, s) in enumerate(ranked):
            meta = {key: v for key, v in payloads.get(d, {}).items() if key not in PUBLIC_DROP}
            out.append({"rank": r + 1, "score": round(float(s), 6), **meta})
        return out

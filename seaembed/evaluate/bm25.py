"""BM25 (bm25s) over the shared analyser `seaembed.data.text_analysis.analyze`. Importable without torch.

Queries and documents are analysed by the same function, whatever their language tags (see that module for the
rules per script), and so is the serving index, which builds on `BM25Retriever`. The `lang`/`langs` arguments
below are accepted for older callers and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seaembed.data.text_analysis import ANALYZER, analyze

ANALYZER_FILE = "analyzer.json"


def tokenize(text: str, lang: str | None = None) -> list[str]:
    """BM25 tokens of `text`: `analyze(text)`; `lang` is ignored (one analyser for every language and side)."""
    del lang
    return analyze(text)


def tokenize_many(texts: Sequence[str], langs: Sequence[str | None] | str | None = None) -> list[list[str]]:
    """`analyze` over a list; `langs` is ignored."""
    del langs
    return [analyze(t) for t in texts]


def import_bm25s():
    """Import bm25s with its logger quieted: bm25s sets itself to DEBUG, which prints once anything (onnxruntime's
    quantizer, for one) has configured the root logger."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class BM25Retriever:
    """BM25 over a fixed corpus (bm25s, Lucene variant), with `analyze` as the analyser of documents and queries."""

    def __init__(self, *, k1: float = 1.5, b: float = 0.75, method: str = "lucene"):
        self.k1, self.b, self.method = k1, b, method
        self._bm25 = None
        self.n_docs = 0

    def index(self, texts: Sequence[str], langs: Sequence[str | None] | str | None = None) -> BM25Retriever:
        """Index `texts` (document i keeps index i); `langs` is ignored."""
        bm25s = import_bm25s()
        tokens = tokenize_many(texts)
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._bm25.index(tokens, show_progress=False)
        self.n_docs = len(texts)
        return self

    def save(self, path: str | Path) -> None:
        """Write the index to the directory `path` (bm25s format), with the analyser's name in `analyzer.json`."""
        if self._bm25 is None:
            raise RuntimeError("call index() first")
        self._bm25.save(str(path))
        (Path(path) / ANALYZER_FILE).write_text(json.dumps({"analyzer": ANALYZER}) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> BM25Retriever:
        """Open an index written by `save`. An index whose documents were analysed by another analyser (or by a
        seaembed from before `analyzer.json` existed) is refused: its tokens would not match the queries'."""
        from seaembed.errors import ConfigError

        marker = Path(path) / ANALYZER_FILE
        built_with = json.loads(marker.read_text(encoding="utf-8")).get("analyzer") if marker.is_file() else None
        if built_with != ANALYZER:
            raise ConfigError(f"{path}: BM25 index built with analyser {built_with or 'unknown (older seaembed)'!r}, "
                              f"this seaembed analyses queries with {ANALYZER!r}; rebuild it with `seaembed index`")
        retriever = cls()
        retriever._bm25 = import_bm25s().BM25.load(str(path))
        retriever.k1, retriever.b, retriever.method = retriever._bm25.k1, retriever._bm25.b, retriever._bm25.method
        retriever.n_docs = int(retriever._bm25.scores["num_docs"])
        return retriever

    def get_scores(self, query: str, lang: str | None = None) -> np.ndarray:
        """BM25 score of `query` against every document, shape (n_docs,); `lang` is ignored."""
        if self._bm25 is None:
            raise RuntimeError("call index() first")
        ids = self._bm25.get_tokens_ids(analyze(query))
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def max_score(self, query: str, lang: str | None = None) -> float:
        """An upper bound of `get_scores(query)`: the sum over the query's tokens (repeats included, as in the
        scores) of their idf, `log(1 + (N - df + 0.5) / (df + 0.5))`, the limit of a term's Lucene BM25 score as its
        frequency grows (the per-term bounds of MaxScore/WAND). A token the index has never seen counts with
        df = 0: no document can match it, so it lowers what the matched part is worth. 0.0 for a query without
        tokens. Used by hybrid search's `bounded` fusion (seaembed.search.fusion)."""
        if self._bm25 is None:
            raise RuntimeError("call index() first")
        tokens = analyze(query)
        if not tokens:
            return 0.0
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        n = float(self.n_docs)
        total = 0.0
        for token in tokens:
            tid = vocab.get(token)
            df = 0 if tid is None or tid + 1 >= len(indptr) else int(indptr[tid + 1] - indptr[tid])
            total += float(np.log1p((n - df + 0.5) / (df + 0.5)))
        return total

    def search(self, queries: Sequence[str], k: int = 10, langs: Sequence[str | None] | str | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (indices, scores), each (n_queries, k), best first; ties broken by document order; `langs` is
        ignored."""
        del langs
        k = min(k, self.n_docs)
        idx = np.empty((len(queries), k), dtype=np.int64)
        scores = np.empty((len(queries), k), dtype=np.float32)
        for i, q in enumerate(queries):
            s = self.get_scores(q)
            order = np.lexsort((np.arange(len(s)), -s))[:k]
            idx[i], scores[i] = order, s[order]
        return idx, scores

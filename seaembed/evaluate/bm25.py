"""BM25 (bm25s) with a tokeniser that knows Southeast Asian scripts. Importable without torch.

`tokenize(text, lang)` splits the NFKC-normalised, lowercased text into runs by script:
- Thai runs: pythainlp's dictionary word segmenter `newmm` (Thai is written without spaces between words);
- Lao, Khmer and Burmese runs: overlapping bigrams of grapheme clusters (a base letter with its marks) (no segmenter for them ships with pythainlp or
  another small library here; bigrams are the standard dictionary-free fallback for unsegmented scripts);
- everything else (Latin, Vietnamese, CJK ideographs as \\w runs, digits): Unicode word characters;
- `lang="en"`: English words are also stemmed with PyStemmer (Snowball) when it is installed.
Splitting by script rather than by the row's language lets mixed titles ("รองเท้า Nike Air") work unlabelled.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

_THAI = "\u0e00-\u0e7f"
_BIGRAM = "\u0e80-\u0eff\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f\u1780-\u17ff\u19e0-\u19ff"
_TOKEN_RE = re.compile(rf"(?P<thai>[{_THAI}]+)|(?P<bigram>[{_BIGRAM}]+)|(?P<word>[^\W{_THAI}{_BIGRAM}]+)")


@lru_cache(maxsize=1)
def _thai_segmenter():
    from pythainlp.tokenize import word_tokenize

    return word_tokenize


@lru_cache(maxsize=1)
def _english_stemmer():
    try:
        import Stemmer
    except ImportError:  # optional
        return None
    return Stemmer.Stemmer("english")


def _is_wordlike(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


_STACKERS = {"\u17d2", "\u1039"}  # Khmer coeng, Myanmar virama: the next consonant joins the cluster


def _clusters(run: str) -> list[str]:
    """Rough grapheme clusters: a base character with its combining marks (and stacked consonants)."""
    out: list[str] = []
    for c in run:
        if unicodedata.category(c).startswith(("Z", "P")):
            continue
        if out and (unicodedata.category(c)[0] == "M" or out[-1][-1] in _STACKERS):
            out[-1] += c
        else:
            out.append(c)
    return out


def _bigrams(run: str) -> list[str]:
    chars = _clusters(run)
    if len(chars) < 2:
        return ["".join(chars)] if chars else []
    return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]


def tokenize(text: str, lang: str | None = None) -> list[str]:
    """Language-aware BM25 tokens of `text` (see the module docstring for the rule per script)."""
    # NFKC splits Thai SARA AM (and Lao AM) into NIKHAHIT + SARA AA, which breaks dictionary segmentation: undo it.
    text = unicodedata.normalize("NFKC", text).lower().replace("\u0e4d\u0e32", "\u0e33").replace("\u0ecd\u0eb2", "\u0eb3")
    tokens: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        if m.lastgroup == "thai":
            segment = _thai_segmenter()
            tokens.extend(t for t in segment(m.group(), engine="newmm", keep_whitespace=False) if _is_wordlike(t))
        elif m.lastgroup == "bigram":
            tokens.extend(_bigrams(m.group()))
        else:
            tokens.append(m.group())
    if lang and lang.lower().startswith("en"):
        stemmer = _english_stemmer()
        if stemmer is not None:
            tokens = stemmer.stemWords(tokens)
    return tokens


def tokenize_many(texts: Sequence[str], langs: Sequence[str | None] | str | None = None) -> list[list[str]]:
    """`tokenize` over a list; `langs` is one language for all, or one per text."""
    if langs is None or isinstance(langs, str):
        return [tokenize(t, langs) for t in texts]
    return [tokenize(t, lang) for t, lang in zip(texts, langs, strict=True)]


def import_bm25s():
    """Import bm25s with its logger quieted: bm25s sets itself to DEBUG, which prints once anything (onnxruntime's
    quantizer, for one) has configured the root logger."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class BM25Retriever:
    """BM25 over a fixed corpus (bm25s, Lucene variant), with `tokenize` as the analyser."""

    def __init__(self, *, k1: float = 1.5, b: float = 0.75, method: str = "lucene"):
        self.k1, self.b, self.method = k1, b, method
        self._bm25 = None
        self.n_docs = 0

    def index(self, texts: Sequence[str], langs: Sequence[str | None] | str | None = None) -> BM25Retriever:
        """Index `texts` (document i keeps index i)."""
        bm25s = import_bm25s()
        tokens = tokenize_many(texts, langs)
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._bm25.index(tokens, show_progress=False)
        self.n_docs = len(texts)
        return self

    def save(self, path: str | Path) -> None:
        """Write the index to the directory `path` (bm25s format)."""
        if self._bm25 is None:
            raise RuntimeError("call index() first")
        self._bm25.save(str(path))

    @classmethod
    def load(cls, path: str | Path) -> BM25Retriever:
        """Open an index written by `save`."""
        retriever = cls()
        retriever._bm25 = import_bm25s().BM25.load(str(path))
        retriever.k1, retriever.b, retriever.method = retriever._bm25.k1, retriever._bm25.b, retriever._bm25.method
        retriever.n_docs = int(retriever._bm25.scores["num_docs"])
        return retriever

    def get_scores(self, query: str, lang: str | None = None) -> np.ndarray:
        """BM25 score of `query` against every document, shape (n_docs,)."""
        if self._bm25 is None:
            raise RuntimeError("call index() first")
        ids = self._bm25.get_tokens_ids(tokenize(query, lang))
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def max_score(self, query: str, lang: str | None = None) -> float:
        """An upper bound of `get_scores(query)`: the sum over the query's tokens (repeats included, as in the
        scores) of their idf, `log(1 + (N - df + 0.5) / (df + 0.5))`, the limit of a term's Lucene BM25 score as its
        frequency grows (the per-term bounds of MaxScore/WAND). A token the index has never seen counts with
        df = 0: no document can match it, so it lowers what the matched part is worth. 0.0 for a query without
        tokens. Used by hybrid search's `bounded` fusion (seaembed.serve.fusion)."""
        if self._bm25 is None:
            raise RuntimeError("call index() first")
        tokens = tokenize(query, lang)
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
        """Top-k (indices, scores), each (n_queries, k), best first; ties broken by document order."""
        k = min(k, self.n_docs)
        if langs is None or isinstance(langs, str):
            langs = [langs] * len(queries)
        idx = np.empty((len(queries), k), dtype=np.int64)
        scores = np.empty((len(queries), k), dtype=np.float32)
        for i, (q, lang) in enumerate(zip(queries, langs, strict=True)):
            s = self.get_scores(q, lang)
            order = np.lexsort((np.arange(len(s)), -s))[:k]
            idx[i], scores[i] = order, s[order]
        return idx, scores

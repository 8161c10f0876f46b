"""Shopper-style queries cut from product titles: a retrieval task any catalog can supply for itself.

Real search traffic is full of short navigational queries that copy words from a listing (brand, product line,
model, size). This builds them: for each sampled title, 2-3 of its first six content words (three or more
letters), a middle word sometimes dropped, the order sometimes shuffled. The title the query came from is
relevant with grade 2, other listings whose first three words are the same (variants of one product) grade 1.
Used for the shipped `prdect-title-queries` dev task (scripts/build_samples.py) and experiments/hybrid_search.py.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

WORD = re.compile(r"[a-z][a-z0-9]+")


def title_words(title: str) -> list[str]:
    """Lower-cased words of two or more characters that start with a letter (model codes like rx7 stay whole;
    a size like 500ml keeps only its unit)."""
    return WORD.findall(title.lower())


def cut_title_queries(items: Sequence[tuple[str, str]], n_queries: int, seed: int = 0,
                      lang: str = "id") -> tuple[list[dict], list[tuple[str, str, int]]]:
    """`items` are (id, title) pairs in a fixed order; returns BEIR queries and (query-id, doc-id, grade) qrels."""
    words = {doc_id: title_words(title) for doc_id, title in items}
    groups: dict[tuple[str, ...], list[str]] = {}
    for doc_id, _ in items:
        groups.setdefault(tuple(words[doc_id][:3]), []).append(doc_id)
    rng = random.Random(seed)
    candidates = [doc_id for doc_id, _ in items if len([w for w in words[doc_id] if len(w) >= 3]) >= 3]
    rng.shuffle(candidates)
    queries: list[dict] = []
    qrels: list[tuple[str, str, int]] = []
    for doc_id in candidates[:n_queries]:
        content = [w for w in words[doc_id][:6] if len(w) >= 3]
        size = rng.choice([2, 3])
        start = rng.randrange(0, max(1, len(content) - size + 1))
        q = content[start:start + size]
        if len(q) == 3 and rng.random() < 0.3:
            q.pop(rng.randrange(3))
        if rng.random() < 0.3:
            rng.shuffle(q)
        qid = f"q{len(queries):04d}"
        queries.append({"_id": qid, "text": " ".join(q), "lang": lang})
        qrels.append((qid, doc_id, 2))
        qrels += [(qid, other, 1) for other in groups[tuple(words[doc_id][:3])] if other != doc_id]
    return queries, qrels

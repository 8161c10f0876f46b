"""Run one task with one system (an embedding encoder, or BM25) and return its result entry.

A result entry is `{"type", "main_metric", "main_score", "metrics": {...}, "per_lang": {lang: {...}}, "size"}`;
a system that cannot do a task type returns the same keys with empty metrics and `"skipped": "<why>"`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from seaembed.evaluate.encoders import Encoder
from seaembed.evaluate.metrics import (
    bitext_metrics,
    classification_metrics,
    clustering_metrics,
    pair_metrics,
    retrieval_metrics,
    top_k,
)
from seaembed.evaluate.tasks import Task

RETRIEVAL_DEPTH = 100  # enough for Recall@100


def doc_text(doc: dict[str, Any]) -> str:
    """A corpus document as one string: title and text joined by a space (as BEIR/MTEB do)."""
    return " ".join(p for p in (doc.get("title"), doc.get("text")) if p)


def _entry(task: Task, metrics: dict[str, Any], per_lang: dict[str, dict[str, Any]], started: float) -> dict:
    return {"type": task.type, "main_metric": task.main_metric, "main_score": metrics.get(task.main_metric),
            "metrics": metrics, "per_lang": per_lang, "size": task.describe(),
            "seconds": round(time.perf_counter() - started, 2)}


def skipped(task: Task, reason: str) -> dict:
    """The entry of a task a system cannot do."""
    return {"type": task.type, "main_metric": task.main_metric, "main_score": None, "metrics": {}, "per_lang": {},
            "size": task.describe(), "skipped": reason}


def retrieval_run(task: Task, encoder: Encoder) -> dict[str, list[str]]:
    """Each judged query's top `RETRIEVAL_DEPTH` corpus ids by cosine, queries in sorted id order."""
    doc_ids = list(task.corpus)
    qids = sorted(task.qrels)
    docs = encoder.encode([doc_text(task.corpus[d]) for d in doc_ids], task.passage_prompt)
    queries = encoder.encode([task.queries[q]["text"] for q in qids], task.query_prompt)
    idx, _ = top_k(queries, docs, RETRIEVAL_DEPTH)
    return {q: [doc_ids[j] for j in row] for q, row in zip(qids, idx, strict=True)}


def run_with_encoder(task: Task, encoder: Encoder) -> dict:
    """Evaluate `task` with embeddings from `encoder`."""
    started = time.perf_counter()
    if task.type == "retrieval":
        run = retrieval_run(task, encoder)
        metrics, per_lang = retrieval_metrics(run, task.qrels, {q: task.queries[q]["lang"] for q in run})
    elif task.type == "classification":
        train_x = encoder.encode([r.text for r in task.train], task.symmetric_prompt)
        test_x = encoder.encode([r.text for r in task.test], task.symmetric_prompt)
        metrics, per_lang = classification_metrics(train_x, [r.label for r in task.train], test_x,
                                                   [r.label for r in task.test], [r.lang for r in task.test])
    elif task.type == "pair-classification":
        def scores(pairs):
            a = encoder.encode([p.text1 for p in pairs], task.query_prompt)
            b = encoder.encode([p.text2 for p in pairs], task.passage_prompt)
            return np.sum(a * b, axis=1)

        dev = task.dev
        metrics, per_lang = pair_metrics(
            scores(task.test), [p.label for p in task.test], [p.lang for p in task.test],
            dev_scores=scores(dev) if dev else None, dev_labels=[p.label for p in dev] if dev else None)
    elif task.type == "bitext":
        src = encoder.encode([p.src for p in task.pairs], task.query_prompt)
        tgt = encoder.encode([p.tgt for p in task.pairs], task.passage_prompt)
        metrics, per_lang = bitext_metrics(src, tgt, [p.src_lang for p in task.pairs],
                                           [p.tgt_lang for p in task.pairs])
    elif task.type == "clustering":
        x = encoder.encode([r.text for r in task.test], task.symmetric_prompt)
        metrics, per_lang = clustering_metrics(x, [r.label for r in task.test], [r.lang for r in task.test])
    else:  # pragma: no cover - load_task validates the type
        raise ValueError(task.type)
    return _entry(task, metrics, per_lang, started)


def run_with_bm25(task: Task) -> dict:
    """Evaluate `task` with BM25: retrieval, and pair classification scored by BM25(text1 -> text2)."""
    from seaembed.evaluate.bm25 import BM25Retriever

    started = time.perf_counter()
    if task.type == "retrieval":
        doc_ids = list(task.corpus)
        qids = sorted(task.qrels)
        # One analyser for queries and documents, whatever their language tags (seaembed.data.text_analysis).
        bm25 = BM25Retriever().index([doc_text(task.corpus[d]) for d in doc_ids])
        idx, _ = bm25.search([task.queries[q]["text"] for q in qids], k=RETRIEVAL_DEPTH)
        run = {q: [doc_ids[j] for j in row] for q, row in zip(qids, idx, strict=True)}
        metrics, per_lang = retrieval_metrics(run, task.qrels, {q: task.queries[q]["lang"] for q in qids})
        return _entry(task, metrics, per_lang, started)
    if task.type == "pair-classification":
        # One index over every text2 of dev and test, so dev and test scores share one IDF and one scale.
        pairs = list(task.test) + list(task.dev or [])
        texts = list(dict.fromkeys(p.text2 for p in pairs))
        pos = {t: i for i, t in enumerate(texts)}
        bm25 = BM25Retriever().index(texts)

        def scores(rows):
            return np.array([bm25.get_scores(p.text1)[pos[p.text2]] for p in rows], dtype=np.float32)

        dev = task.dev
        metrics, per_lang = pair_metrics(
            scores(task.test), [p.label for p in task.test], [p.lang for p in task.test],
            dev_scores=scores(dev) if dev else None, dev_labels=[p.label for p in dev] if dev else None)
        return _entry(task, metrics, per_lang, started)
    return skipped(task, f"bm25 gives no embeddings or similarity scores for {task.type} tasks")

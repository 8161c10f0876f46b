"""Quality kept by a converted model: cosine against the original and the change in a retrieval metric."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Embed = Callable[[Sequence[str], str | None], np.ndarray]


@dataclass
class RetrievalTask:
    """Queries, a corpus and graded relevance `qrels[query_index] = {corpus_index: grade}`."""

    name: str
    queries: list[str]
    corpus: list[str]
    qrels: list[dict[int, float]]


def builtin_task() -> RetrievalTask:
    """The small multilingual product-search task shipped in `parity_data`."""
    from seaembed.export.parity_data import retrieval_task

    queries, corpus, rel = retrieval_task()
    return RetrievalTask("builtin-sea-products", queries, corpus, [{r: 1.0} for r in rel])


def load_beir_task(path) -> RetrievalTask:
    """A BEIR-layout retrieval task directory (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`)."""
    from pathlib import Path

    from seaembed.data.io import iter_records
    from seaembed.errors import InputError

    path = Path(path)
    corpus_ids, corpus = [], []
    for rec in iter_records(path / "corpus.jsonl", required=["_id"]):
        title, text = rec.data.get("title") or "", rec.data.get("text") or ""
        corpus_ids.append(str(rec.get("_id")))
        corpus.append(f"{title} {text}".strip())
    query_ids, queries = [], []
    for rec in iter_records(path / "queries.jsonl", required=["_id", "text"]):
        query_ids.append(str(rec.get("_id")))
        queries.append(rec.get("text"))
    qpos = {q: i for i, q in enumerate(query_ids)}
    cpos = {c: i for i, c in enumerate(corpus_ids)}
    qrels: list[dict[int, float]] = [{} for _ in queries]
    qrels_path = path / "qrels" / "test.tsv"
    for rec in iter_records(qrels_path, fmt="tsv", required=["query-id", "corpus-id", "score"]):
        q, c = str(rec.get("query-id")), str(rec.get("corpus-id"))
        if q not in qpos or c not in cpos:
            raise InputError(qrels_path, f"unknown query or corpus id ({q}, {c})", line=rec.line)
        qrels[qpos[q]][cpos[c]] = float(rec.get("score"))
    keep = [i for i, r in enumerate(qrels) if any(v > 0 for v in r.values())]
    return RetrievalTask(path.name, [queries[i] for i in keep], corpus, [qrels[i] for i in keep])


def ndcg_at_k(scores: np.ndarray, qrels: Sequence[dict[int, float]], k: int = 10) -> float:
    """Mean nDCG@k of a `(n_queries, n_docs)` score matrix (ties broken by document order)."""
    total = 0.0
    for i, rel in enumerate(qrels):
        order = np.argsort(-scores[i], kind="stable")[:k]
        dcg = sum(rel.get(int(d), 0.0) / np.log2(r + 2) for r, d in enumerate(order))
        ideal = sorted(rel.values(), reverse=True)[:k]
        idcg = sum(g / np.log2(r + 2) for r, g in enumerate(ideal))
        total += dcg / idcg if idcg > 0 else 0.0
    return total / max(len(qrels), 1)


def retrieval_ndcg(embed: Embed, task: RetrievalTask, k: int = 10) -> float:
    """nDCG@k of `embed` on `task` (query prompt for queries, passage prompt for the corpus)."""
    q = embed(task.queries, "query")
    d = embed(task.corpus, "passage")
    return ndcg_at_k(q @ d.T, task.qrels, k)


def compare(reference: Embed, candidate: Embed, texts: Sequence[str], task: RetrievalTask) -> dict:
    """Cosine of candidate vs reference embeddings on `texts` and nDCG@10 of both on `task`."""
    cos = []
    for prompt in ("query", "passage"):
        a, b = reference(texts, prompt), candidate(texts, prompt)
        cos.append(np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12))
    cos_all = np.concatenate(cos)
    ref_ndcg, cand_ndcg = retrieval_ndcg(reference, task), retrieval_ndcg(candidate, task)
    return {
        "n_texts": len(texts),
        "cosine_mean": float(cos_all.mean()),
        "cosine_min": float(cos_all.min()),
        "cosine_p01": float(np.quantile(cos_all, 0.01)),
        "task": task.name,
        "task_queries": len(task.queries),
        "task_corpus": len(task.corpus),
        "ndcg@10_reference": round(ref_ndcg, 5),
        "ndcg@10_candidate": round(cand_ndcg, 5),
        "ndcg@10_delta": round(cand_ndcg - ref_ndcg, 5),
    }


def render_markdown(report: dict) -> str:
    """A short Markdown parity report."""
    lines = [f"# Export parity: {report.get('format', '?')}", "",
             f"Model: `{report.get('source', '?')}`; reference: a freshly loaded fp32 torch model.", "",
             "| measure | value |", "|---|---|"]
    for key in ("n_texts", "cosine_mean", "cosine_min", "cosine_p01", "task", "task_queries", "task_corpus",
                "ndcg@10_reference", "ndcg@10_candidate", "ndcg@10_delta"):
        v = report.get(key)
        lines.append(f"| {key} | {v:.6f} |" if isinstance(v, float) else f"| {key} | {v} |")
    return "\n".join(lines) + "\n"

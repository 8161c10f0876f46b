"""Reranked search (#17 item 5): nDCG@10 of hybrid search (dense e5 + BM25, RRF) with and without rescoring the top
k by the relevance cross-encoder, on the shipped retrieval tasks, and the latency the rescoring adds per query at
k = 20, 50, 100, measured in the same run.

    flock /tmp/seaembed-heavy.lock env OMP_NUM_THREADS=2 python benchmarks/rerank.py --model DIR \
        --out benchmarks/results/rerank.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from seaembed.evaluate.metrics.retrieval import query_metrics
from seaembed.evaluate.tasks import load_task
from seaembed.samples import sample_path
from seaembed.search.fusion import rrf
from seaembed.search.search_index import bm25_retriever
from seaembed.train.cross_encoder import RelevancePair, load_cross_encoder, score_pairs

TASKS = ("multilingual-product-search", "prdect-category-retrieval")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="a trained relevance cross-encoder directory")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--ndcg-k", type=int, default=20, help="candidates reranked for the nDCG numbers")
    ap.add_argument("--latency-ks", type=int, nargs="+", default=[20, 50, 100])
    ap.add_argument("--latency-queries", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--bi-model", default="packaged:multilingual-e5-small", help="first-stage dense model")
    ap.add_argument("--out", default="benchmarks/results/rerank.md")
    a = ap.parse_args(argv)
    import torch

    from seaembed.models import load_model
    from seaembed.models.encode import encode

    bi = load_model(a.bi_model)
    ce = load_cross_encoder(a.model)
    rows, latency = [], {}
    for name in a.tasks:
        task = load_task(sample_path(f"tasks/{name}"))
        ids = list(task.corpus)
        titles = [task.corpus[d].get("title") or task.corpus[d].get("text") or "" for d in ids]
        docs = [" ".join(x for x in (task.corpus[d].get("title"), task.corpus[d].get("text")) if x) for d in ids]
        qids = [q for q in task.queries if q in task.qrels]
        qtext = [task.queries[q]["text"] for q in qids]
        dvec = encode(bi, docs, prompt="passage", batch_size=64)
        qvec = encode(bi, qtext, prompt="query", batch_size=64)
        bm25 = bm25_retriever(docs)
        n = max(100, a.ndcg_k, *a.latency_ks)
        first = []
        for i, q in enumerate(qtext):
            dense = np.argsort(-(dvec @ qvec[i]))[:n].tolist()
            lex = np.argsort(-bm25.get_scores(q))[:n].tolist()
            first.append([d for d, _ in rrf([dense, lex])][:n])
        plain, reranked = [], []
        for i, q in enumerate(qtext):
            top = first[i][: a.ndcg_k]
            s = score_pairs(ce, [RelevancePair(q, titles[d], 0, "query-item") for d in top], batch_size=a.batch_size)
            order = [top[j] for j in np.argsort(-s, kind="stable")] + first[i][a.ndcg_k:]
            plain.append(query_metrics([ids[d] for d in first[i]], task.qrels[qids[i]])["ndcg_at_10"])
            reranked.append(query_metrics([ids[d] for d in order], task.qrels[qids[i]])["ndcg_at_10"])
        diff = np.array(reranked) - np.array(plain)
        rng = np.random.default_rng(0)
        boots = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(1000)]
        rows.append({"task": name, "queries": len(qids), "k": a.ndcg_k, "ndcg10_hybrid": float(np.mean(plain)),
                     "ndcg10_reranked": float(np.mean(reranked)), "delta": float(diff.mean()),
                     "delta_ci95": [float(x) for x in np.percentile(boots, [2.5, 97.5])]})
        print(json.dumps(rows[-1]), flush=True)
        if name == a.tasks[0]:
            for k in a.latency_ks:
                times = []
                for i in range(min(a.latency_queries, len(qtext))):
                    pairs = [RelevancePair(qtext[i], titles[d], 0, "query-item") for d in first[i][:k]]
                    t0 = time.perf_counter()
                    score_pairs(ce, pairs, batch_size=a.batch_size)
                    times.append(1000 * (time.perf_counter() - t0))
                t0 = time.perf_counter()
                for i in range(min(a.latency_queries, len(qtext))):
                    _ = np.argsort(-(dvec @ qvec[i]))[:n], bm25.get_scores(qtext[i])
                first_ms = 1000 * (time.perf_counter() - t0) / min(a.latency_queries, len(qtext))
                latency[k] = {"median_ms": statistics.median(times), "max_ms": max(times),
                              "first_stage_ms": first_ms}
    env = (f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, torch threads {torch.get_num_threads()}, "
           f"load average at the end {tuple(round(x, 2) for x in os.getloadavg())}, cross-encoder batch {a.batch_size}")
    lines = ["# Reranked hybrid search: nDCG@10 and added latency\n",
             f"Cross-encoder: `{a.model}` (torch fp32, CPU); first-stage dense model `{a.bi_model}`. {env}.\n",
             f"First stage: the dense model above + BM25 fused by RRF; reranked: the top {a.ndcg_k} rescored by the "
             "cross-encoder on (query, title), the rest kept in first-stage order. All queries of each task (no "
             "setting is chosen here). Delta CI: 95% bootstrap over queries.\n",
             "| task | queries | nDCG@10 hybrid | nDCG@10 reranked | delta | delta 95% CI |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['queries']} | {100 * r['ndcg10_hybrid']:.1f} | "
                     f"{100 * r['ndcg10_reranked']:.1f} | {100 * r['delta']:+.1f} | "
                     f"{100 * r['delta_ci95'][0]:+.1f} to {100 * r['delta_ci95'][1]:+.1f} |")
    lines += [f"\n### Added latency per query ({a.tasks[0]}, {a.latency_queries} queries, in-process, no HTTP)\n",
              "| k | rerank median ms | rerank max ms | first stage ms (dense dot + BM25, no query encoding) | ratio |",
              "|---|---|---|---|---|"]
    for k, v in latency.items():
        lines.append(f"| {k} | {v['median_ms']:.0f} | {v['max_ms']:.0f} | {v['first_stage_ms']:.1f} | "
                     f"{v['median_ms'] / max(v['first_stage_ms'], 1e-6):.0f}x |")
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(a.out).with_suffix(".json").write_text(json.dumps({"rows": rows, "latency": latency, "env": env}, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

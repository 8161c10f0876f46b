"""Dense vs BM25 vs hybrid (reciprocal rank fusion, weighted) retrieval, through the evaluation stage's tasks,
metrics and BM25 tokeniser and the serving stage's fusion code.

Tasks:
- `multilingual-product-search` (shipped): 200 shopper queries in 8 languages, 722 products;
- `prdect-category-retrieval` (shipped): category names (en/id) -> held-out PRDECT-ID products;
- `prdect-title-queries` (built here from ../shared/datasets/prdect_id, seed 0): short shopper-style queries cut
  from real Tokopedia product names (2-3 of the name's leading words, sometimes reordered, one word sometimes
  dropped), corpus = all 1,308 distinct product names; relevance 2 = the product the query came from, 1 = other
  listings whose names start with the same three words (variants of one product).

The weight of the weighted fusion is chosen on half of each task's queries (even positions) and reported on the
other half (odd positions); RRF has no weight. Usage:

    .venv/bin/python experiments/hybrid_search.py [--model packaged:multilingual-e5-small] [--max-queries 300]

Writes experiments/results/hybrid_search.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seaembed.atomic import write_json, write_jsonl, write_text  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
DEPTH = 100
ALPHAS = [round(a * 0.1, 1) for a in range(11)]


def build_title_query_task(out: Path, *, n_queries: int = 300, seed: int = 0) -> Path:
    """A BEIR-layout retrieval task of shopper-style queries over PRDECT-ID product names (see module doc)."""
    from seaembed.data.io import iter_records

    names: dict[str, str] = {}
    for rec in iter_records(DATASETS / "prdect_id" / "prdect_id.csv", delimiter=";", required=["Product Name"]):
        names.setdefault(rec.get("Product Name").strip(), rec.data.get("Category") or "")
    titles = sorted(names)
    ids = {t: f"p{i:04d}" for i, t in enumerate(titles)}
    words = {t: re.findall(r"[a-z][a-z0-9]+", t.lower()) for t in titles}
    groups: dict[tuple[str, ...], list[str]] = {}
    for t in titles:
        groups.setdefault(tuple(words[t][:3]), []).append(t)
    rng = random.Random(seed)
    candidates = [t for t in titles if len([w for w in words[t] if len(w) >= 3]) >= 3]
    rng.shuffle(candidates)
    queries, qrels = [], []
    for t in candidates[:n_queries]:
        content = [w for w in words[t][:6] if len(w) >= 3]
        size = rng.choice([2, 3])
        start = rng.randrange(0, max(1, len(content) - size + 1))
        q = content[start:start + size]
        if len(q) == 3 and rng.random() < 0.3:
            q.pop(rng.randrange(3))
        if rng.random() < 0.3:
            rng.shuffle(q)
        qid = f"q{len(queries):04d}"
        queries.append({"_id": qid, "text": " ".join(q), "lang": "id"})
        qrels.append((qid, ids[t], 2))
        for other in groups[tuple(words[t][:3])]:
            if other != t:
                qrels.append((qid, ids[other], 1))
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "corpus.jsonl", ({"_id": ids[t], "title": t, "text": "", "lang": "id"} for t in titles))
    write_jsonl(out / "queries.jsonl", queries)
    (out / "qrels").mkdir(exist_ok=True)
    write_text(out / "qrels" / "test.tsv",
               "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t{s}\n" for q, c, s in qrels))
    write_json(out / "task.json", {"name": "prdect-title-queries", "type": "retrieval", "languages": ["id"],
                                   "main_metric": "ndcg_at_10", "source": ["prdect-id"], "license": "CC BY 4.0"})
    return out


def rankings(scores: np.ndarray, depth: int) -> list[list[int]]:
    """Row-wise top-`depth` indices, best first, ties by index."""
    out = []
    for row in scores:
        top = np.argpartition(-row, min(depth, len(row) - 1))[:depth]
        out.append(top[np.lexsort((top, -row[top]))].tolist())
    return out


def evaluate_task(task_dir: Path, encoder, max_queries: int | None) -> dict:
    from seaembed.evaluate.bm25 import BM25Retriever
    from seaembed.evaluate.metrics import retrieval_metrics
    from seaembed.evaluate.runners import doc_text
    from seaembed.evaluate.tasks import load_task
    from seaembed.serve.fusion import rrf, weighted

    task = load_task(task_dir)
    doc_ids = list(task.corpus)
    qids = sorted(task.qrels)
    if max_queries and len(qids) > max_queries:
        qids = sorted(random.Random(0).sample(qids, max_queries))
    texts = [doc_text(task.corpus[d]) for d in doc_ids]
    started = time.perf_counter()
    docs = encoder.encode(texts, task.passage_prompt or "passage")
    qv = encoder.encode([task.queries[q]["text"] for q in qids], task.query_prompt or "query")
    dense_scores = qv @ docs.T
    dense_time = time.perf_counter() - started
    # the serving index analyses documents and queries without a language (see seaembed/serve/index.py)
    bm25 = BM25Retriever().index(texts, None)
    bm25_scores = np.stack([bm25.get_scores(task.queries[q]["text"], None) for q in qids])
    dense_rank, bm25_rank = rankings(dense_scores, DEPTH), rankings(bm25_scores, DEPTH)

    def run_of(ranked_rows) -> dict[str, list[str]]:
        return {q: [doc_ids[d] for d in row] for q, row in zip(qids, ranked_rows, strict=True)}

    def fused_weighted(alpha: float) -> list[list[int]]:
        rows = []
        for i in range(len(qids)):
            union = set(dense_rank[i]) | set(bm25_rank[i])
            d = {j: float(dense_scores[i, j]) for j in union}
            b = {j: float(bm25_scores[i, j]) for j in union}
            rows.append([j for j, _ in weighted(d, b, alpha)][:DEPTH])
        return rows

    systems = {
        "dense": dense_rank,
        "bm25": bm25_rank,
        "hybrid_rrf": [[j for j, _ in rrf([dr, br])][:DEPTH] for dr, br in zip(dense_rank, bm25_rank, strict=True)],
    }
    weighted_runs = {a: fused_weighted(a) for a in ALPHAS}
    langs = {q: task.queries[q].get("lang") for q in qids}
    dev = {q for i, q in enumerate(qids) if i % 2 == 0}
    test = {q for i, q in enumerate(qids) if i % 2 == 1}

    def score(rows, subset=None) -> float:
        run = run_of(rows)
        qrels = {q: task.qrels[q] for q in qids if subset is None or q in subset}
        return retrieval_metrics(run, qrels)[0]["ndcg_at_10"]

    best_alpha = max(ALPHAS, key=lambda a: (score(weighted_runs[a], dev), -abs(a - 0.5)))
    systems["hybrid_weighted"] = weighted_runs[best_alpha]
    result = {"task": task.name, "n_queries": len(qids), "n_docs": len(doc_ids), "dense_seconds": round(dense_time, 1),
              "alpha_chosen_on_dev_half": best_alpha,
              "ndcg@10_test_half": {k: round(score(v, test), 4) for k, v in systems.items()},
              "ndcg@10_all": {k: round(score(v), 4) for k, v in systems.items()},
              "weighted_alpha_sweep_all": {str(a): round(score(r), 4) for a, r in weighted_runs.items()}}
    per_lang = {}
    for name, rows in systems.items():
        _, by_lang = retrieval_metrics(run_of(rows), {q: task.qrels[q] for q in qids}, langs)
        for lang, m in by_lang.items():
            per_lang.setdefault(lang, {})[name] = round(m["ndcg_at_10"], 4)
    result["ndcg@10_per_lang_all"] = per_lang
    return result


def render(report: dict) -> str:
    lines = ["# Hybrid search: dense vs BM25 vs hybrid", "",
             f"Model: `{report['model']}`. nDCG@10. The weighted fusion's dense weight alpha is chosen on the even "
             "half of each task's queries and reported on the odd half (`test half`); `all` uses every query "
             "(alpha then tuned on half of them). Run: `.venv/bin/python experiments/hybrid_search.py` "
             f"({report['seconds']:.0f} s on this machine).", ""]
    for r in report["tasks"]:
        lines += [f"## {r['task']} ({r['n_queries']} queries, {r['n_docs']} documents)", "",
                  "| system | nDCG@10 test half | nDCG@10 all |", "|---|---|---|"]
        for k in r["ndcg@10_all"]:
            label = f"{k} (alpha={r['alpha_chosen_on_dev_half']})" if k == "hybrid_weighted" else k
            lines.append(f"| {label} | {r['ndcg@10_test_half'][k]:.4f} | {r['ndcg@10_all'][k]:.4f} |")
        best_single = max(r["ndcg@10_test_half"]["dense"], r["ndcg@10_test_half"]["bm25"])
        for k in ("hybrid_rrf", "hybrid_weighted"):
            delta = r["ndcg@10_test_half"][k] - best_single
            lines.append(f"\n{k} vs the better single system on the test half: {delta:+.4f}")
        sweep = ", ".join(f"{a}: {v:.3f}" for a, v in r["weighted_alpha_sweep_all"].items())
        lines += ["", f"Weighted fusion, alpha sweep (all queries): {sweep}", ""]
        if len(r["ndcg@10_per_lang_all"]) > 1:
            names = list(r["ndcg@10_all"])
            lines += ["| lang | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
            for lang, row in sorted(r["ndcg@10_per_lang_all"].items()):
                lines.append(f"| {lang} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |")
            lines.append("")
    lines += ["## Verdict", "", report["verdict"], ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="packaged:multilingual-e5-small")
    parser.add_argument("--max-queries", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "hybrid_search"))
    args = parser.parse_args()

    from seaembed.evaluate.encoders import load_encoder
    from seaembed.samples import task_dirs

    started = time.perf_counter()
    encoder = load_encoder(args.model, batch_size=64)
    shipped = {p.name: p for p in task_dirs("domain")}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        task_paths = [shipped["multilingual-product-search"], shipped["prdect-category-retrieval"],
                      build_title_query_task(Path(tmp) / "prdect-title-queries")]
        for path in task_paths:
            print(f"{path.name} ...", flush=True)
            results.append(evaluate_task(path, encoder, args.max_queries))
            print(json.dumps(results[-1]["ndcg@10_test_half"]), flush=True)
    wins = []
    for r in results:
        t = r["ndcg@10_test_half"]
        best_single = max(t["dense"], t["bm25"])
        wins.append(f"{r['task']}: RRF {'beats' if t['hybrid_rrf'] > best_single else 'does not beat'} both "
                    f"({t['hybrid_rrf']:.4f} vs dense {t['dense']:.4f} / BM25 {t['bm25']:.4f}); weighted "
                    f"{'beats' if t['hybrid_weighted'] > best_single else 'does not beat'} both "
                    f"({t['hybrid_weighted']:.4f}).")
    report = {"model": args.model, "max_queries": args.max_queries, "tasks": results,
              "seconds": round(time.perf_counter() - started, 1), "verdict": " ".join(wins)}
    out = Path(args.out)
    write_json(out.with_suffix(".json"), report)
    write_text(out.with_suffix(".md"), render(report))
    print(render(report))


if __name__ == "__main__":
    main()

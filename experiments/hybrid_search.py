"""Dense vs BM25 vs hybrid retrieval (five fusion methods), through the evaluation stage's tasks, metrics and BM25
tokeniser and the serving stage's own search code (`SearchIndex.search`, `seaembed.serve.fusion`).

Tasks:
- `multilingual-product-search` (shipped): 200 shopper queries in 8 languages, 722 products;
- `prdect-category-retrieval` (shipped): category names (en/id) -> held-out PRDECT-ID products;
- `prdect-title-queries` (built here from ../shared/datasets/prdect_id, seed 0): short shopper-style queries cut
  from real Tokopedia product names (2-3 of the name's leading words, sometimes reordered, one word sometimes
  dropped), corpus = all 1,308 distinct product names; relevance 2 = the product the query came from, 1 = other
  listings whose names start with the same three words (variants of one product).
- `prdect-title-queries-typos` (built here, design fixed before any result was seen): the same 300 queries, corpus
  and qrels; each query, with probability 0.5, gets exactly one typo in one random word of length >= 4 (uniform
  over such words; a query without one stays clean), by one of four operations chosen uniformly: deletion of a
  letter, insertion of a QWERTY neighbour of a letter next to it, substitution of a letter by a QWERTY
  neighbour, transposition of two adjacent (different) letters. Own random stream (seed "0:typos"), so the
  queries are those of `prdect-title-queries` exactly. Modelled on the typo generator of Zhuang & Zuccon (2021,
  "Dealing with Typos for BERT-based Passage Retrieval and Ranking", EMNLP; their code draws from TextAttack's
  random-letter insertion/substitution, neighbour swap and QWERTY substitution, words of >= 3 letters, typo rate
  0.5 in training); the operations here are the brief's keyboard-based four. It shares its queries with
  `prdect-title-queries`, so it takes no part in choosing the fixed alpha or method (that stays on the three
  other tasks), its leave-one-task-out alpha comes from the two tasks other than both title tasks, and
  nothing is tuned on its test half.

Every system runs through an in-memory `SearchIndex` (flat faiss + the index's BM25, k1 1.5, b 0.75), exactly as
`seaembed serve` answers `/search` with k=10: dense, bm25, and hybrid over the top 100 of each side with
`rrf`, `wrrf`, `weighted`, `zscore` and `bounded` fusion (seaembed/serve/fusion.py).

Each task's queries are split in two: the even positions (`dev`) choose, the odd positions (`test`) report.
- `fixed` alpha: one dense weight per fusion method for *all* tasks, the one with the best mean dev-half gain over
  the better single system across the three tasks (what a shipped default has to be);
- `tuned` alpha: chosen on that task's dev half alone (what `seaembed index --alpha` tuned per catalog can do);
- leave-one-task-out: alpha chosen on the other two tasks' dev halves, reported on the held-out task's test half.
Differences on the test half come with a paired bootstrap 95% interval (2,000 resamples of the test queries).

Usage:

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
K = 10  # nDCG@10; the index fuses the top max(100, 5k) = 100 of each side, as the server does for k=10
ALPHAS = [round(a * 0.05, 2) for a in range(1, 20)]  # dense weight; 0 and 1 are the single systems
FAMILIES = ("wrrf", "weighted", "zscore", "bounded")
BOOTSTRAP = 2000


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


QWERTY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
TYPO_OPS = ("delete", "insert", "substitute", "transpose")
TYPO_RATE, TYPO_MIN_LEN = 0.5, 4


def keyboard_neighbours() -> dict[str, str]:
    """Each QWERTY key's neighbours: left/right in its row, the two touching keys in the rows above and below
    (rows are staggered: key i of a row touches keys i and i+1 of the row above, i-1 and i of the row below)."""
    at = {c: (r, i) for r, row in enumerate(QWERTY_ROWS) for i, c in enumerate(row)}
    out = {}
    for c, (r, i) in at.items():
        near = [(r, i - 1), (r, i + 1), (r - 1, i), (r - 1, i + 1), (r + 1, i - 1), (r + 1, i)]
        out[c] = "".join(QWERTY_ROWS[y][x] for y, x in near if 0 <= y < len(QWERTY_ROWS) and 0 <= x < len(QWERTY_ROWS[y]))
    return out


NEIGHBOURS = keyboard_neighbours()


def typo_word(word: str, op: str, rng: random.Random) -> str:
    """`word` with one typo of kind `op` (TYPO_OPS) at a random position; letters off the keyboard map are not
    touched by insert/substitute."""
    keyed = [i for i, c in enumerate(word) if c in NEIGHBOURS]
    if op == "delete":
        i = rng.randrange(len(word))
        return word[:i] + word[i + 1:]
    if op in ("insert", "substitute"):
        i = rng.choice(keyed)
        key = rng.choice(NEIGHBOURS[word[i]])
        if op == "substitute":
            return word[:i] + key + word[i + 1:]
        j = i + rng.randrange(2)  # the neighbour lands just before or just after the letter it was meant to be
        return word[:j] + key + word[j:]
    if op == "transpose":
        i = rng.choice([i for i in range(len(word) - 1) if word[i] != word[i + 1]])
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    raise ValueError(f"unknown typo operation {op!r}")


def add_typo(text: str, rng: random.Random, rate: float = TYPO_RATE,
             min_len: int = TYPO_MIN_LEN) -> tuple[str, dict | None]:
    """With probability `rate`, one typo in one random word of at least `min_len` characters (see module doc);
    returns the text and what was done (None: left clean)."""
    if rng.random() >= rate:
        return text, None
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= min_len]
    if not long:
        return text, None
    i = rng.choice(long)
    w = words[i]
    ops = [op for op in TYPO_OPS if op != "transpose" or any(a != b for a, b in zip(w, w[1:], strict=False))]
    if not any(c in NEIGHBOURS for c in w):
        ops = [op for op in ops if op not in ("insert", "substitute")]
    op = rng.choice(ops)
    words[i] = typo_word(w, op, rng)
    return " ".join(words), {"op": op, "word": w, "typo": words[i]}


def build_typo_task(src: Path, out: Path, *, seed: int = 0) -> Path:
    """`prdect-title-queries-typos`: the queries of the task at `src` with `add_typo` applied (own random stream),
    the same corpus and qrels; each query row keeps its `original` text and the `typo` done (or null)."""
    import shutil

    rng = random.Random(f"{seed}:typos")
    queries = [json.loads(line) for line in (src / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = []
    for q in queries:
        text, typo = add_typo(q["text"], rng)
        rows.append({**q, "text": text, "original": q["text"], "typo": typo})
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "corpus.jsonl", out / "corpus.jsonl")
    (out / "qrels").mkdir(exist_ok=True)
    shutil.copyfile(src / "qrels" / "test.tsv", out / "qrels" / "test.tsv")
    write_jsonl(out / "queries.jsonl", rows)
    meta = json.loads((src / "task.json").read_text(encoding="utf-8"))
    write_json(out / "task.json", {**meta, "name": f"{meta['name']}-typos"})
    return out


def typo_stats(task_dir: Path) -> dict:
    """How many queries got a typo, by operation, and which ones (for the typo-only breakdown)."""
    rows = [json.loads(line) for line in (task_dir / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    typoed = [r for r in rows if r.get("typo")]
    ops: dict[str, int] = {}
    for r in typoed:
        ops[r["typo"]["op"]] = ops.get(r["typo"]["op"], 0) + 1
    return {"n_queries": len(rows), "n_with_typo": len(typoed), "by_op": dict(sorted(ops.items())),
            "qids_with_typo": [r["_id"] for r in typoed],
            "examples": [f"{r['original']} -> {r['text']}" for r in typoed[:8]]}


def in_memory_index(doc_ids: list[str], texts: list[str], vectors: np.ndarray):
    """A `SearchIndex` over `texts` built the way `seaembed index` builds one (flat faiss, the same BM25)."""
    from seaembed.evaluate.bm25 import BM25Retriever
    from seaembed.serve import faiss_index
    from seaembed.serve.search_index import SearchIndex

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    bm25 = BM25Retriever(k1=1.5, b=0.75, method="lucene").index(texts, None)
    info = {"kind": "flat", "size": len(doc_ids), "dim": int(vectors.shape[1])}
    return SearchIndex(Path("."), info, faiss_index.build(vectors, "flat"), vectors,
                       [{"id": d, "_text": t} for d, t in zip(doc_ids, texts, strict=True)], bm25)


def system_names() -> list[tuple[str, str, float | None]]:
    """(name, mode or fusion, alpha) of every system run."""
    out: list[tuple[str, str, float | None]] = [("dense", "dense", None), ("bm25", "bm25", None), ("rrf", "rrf", None)]
    out += [(f"{f}@{a}", f, a) for f in FAMILIES for a in ALPHAS]
    return out


def bm25_tie_bounds(index, task, qids: list[str]) -> dict:
    """How much of BM25's nDCG@10 is the order of tied scores: BM25 ranks equal scores by catalog position, an
    arbitrary order; here ties are ordered best-first and worst-first for the judgements (bounds of the lottery)."""
    from seaembed.evaluate.metrics.retrieval import query_metrics

    best, worst, tied = {}, {}, 0
    for q in qids:
        s = index.bm25_scores(task.queries[q]["text"])
        rows = np.flatnonzero(s > 0)
        judged = task.qrels[q]
        gain = np.array([judged.get(index.meta[r]["id"], 0) for r in rows], dtype=float)
        top = s[rows][np.lexsort((rows, -s[rows]))][:K]
        tied += int(len(np.unique(top)) < len(top))
        for out, sign in ((best, -1), (worst, 1)):
            order = rows[np.lexsort((sign * gain, -s[rows]))][:K]
            out[q] = query_metrics([index.meta[r]["id"] for r in order], judged)["ndcg_at_10"]
    return {"queries_with_ties_in_top10": tied, "best": best, "worst": worst}


def word_coverage(index, task, qids: list[str], qv: np.ndarray, systems: dict[str, tuple[str, float | None]]) -> dict:
    """On these queries: how often each system's top hit holds every query token (BM25's tokeniser), and how often
    BM25 scores every product holding all the query's tokens above every product holding only some (with the
    median ratio of the lowest full-match score to the highest partial-match score)."""
    from seaembed.evaluate.bm25 import tokenize

    tokens = {i: set(tokenize(m.get("_text", ""))) for i, m in enumerate(index.meta)}
    top1 = {name: 0 for name in systems}
    separated, ratios = 0, []
    for i, q in enumerate(qids):
        text = task.queries[q]["text"]
        want = set(tokenize(text))
        for name, (method, alpha) in systems.items():
            if method in ("dense", "bm25"):
                hits = index.search(qv[i], text, k=1, mode=method)
            else:
                hits = index.search(qv[i], text, k=1, mode="hybrid", fusion=method, alpha=alpha)
            top1[name] += bool(hits) and want <= tokens[index_row(index, hits[0]["id"])]
        s = index.bm25_scores(text)
        rows = np.flatnonzero(s > 0)
        full = [s[r] for r in rows if want <= tokens[int(r)]]
        part = [s[r] for r in rows if not want <= tokens[int(r)]]
        if full and part:
            separated += min(full) > max(part)
            ratios.append(min(full) / max(part))
    n = max(len(qids), 1)
    return {"top1_has_every_query_word": {k: round(v / n, 3) for k, v in top1.items()},
            "queries_with_full_and_partial_bm25_matches": len(ratios),
            "full_matches_all_above_partial": round(separated / max(len(ratios), 1), 3),
            "median_full_to_partial_bm25_ratio": round(float(np.median(ratios)), 2) if ratios else None}


def index_row(index, doc_id: str) -> int:
    if not hasattr(index, "_row_of"):
        index._row_of = {m["id"]: i for i, m in enumerate(index.meta)}
    return index._row_of[doc_id]


def evaluate_task(task_dir: Path, encoder, max_queries: int | None) -> dict:
    """Per-query nDCG@10 of every system on one task (plus its dev/test split and tie diagnostics)."""
    from seaembed.evaluate.metrics.retrieval import query_metrics
    from seaembed.evaluate.runners import doc_text
    from seaembed.evaluate.tasks import load_task

    task = load_task(task_dir)
    doc_ids = list(task.corpus)
    qids = sorted(task.qrels)
    if max_queries and len(qids) > max_queries:
        qids = sorted(random.Random(0).sample(qids, max_queries))
    texts = [doc_text(task.corpus[d]) for d in doc_ids]
    started = time.perf_counter()
    docs = encoder.encode(texts, task.passage_prompt or "passage")
    qv = encoder.encode([task.queries[q]["text"] for q in qids], task.query_prompt or "query")
    encode_seconds = time.perf_counter() - started
    index = in_memory_index(doc_ids, texts, docs)
    per_query: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for name, method, alpha in system_names():
        row = {}
        for i, q in enumerate(qids):
            text = task.queries[q]["text"]
            if method in ("dense", "bm25"):
                hits = index.search(qv[i], text, k=K, mode=method)
            else:
                hits = index.search(qv[i], text, k=K, mode="hybrid", fusion=method, alpha=alpha)
            row[q] = query_metrics([h["id"] for h in hits], task.qrels[q])["ndcg_at_10"]
        per_query[name] = row
    from seaembed.serve.fusion import DEFAULT_ALPHA, DEFAULT_FUSION

    shown = {"dense": ("dense", None), "bm25": ("bm25", None), "rrf": ("rrf", None),
             f"{DEFAULT_FUSION}@{DEFAULT_ALPHA.get(DEFAULT_FUSION)}": (DEFAULT_FUSION, DEFAULT_ALPHA.get(DEFAULT_FUSION))}
    dev_idx = list(range(0, len(qids), 2))
    coverage = word_coverage(index, task, [qids[i] for i in dev_idx], qv[dev_idx], shown)
    return {"task": task.name, "qids": qids, "dev": qids[0::2], "test": qids[1::2], "n_docs": len(doc_ids),
            "word_coverage_dev": coverage,
            "langs": {q: task.queries[q].get("lang") for q in qids}, "per_query": per_query,
            "ties": bm25_tie_bounds(index, task, qids), "encode_seconds": round(encode_seconds, 1),
            "search_seconds": round(time.perf_counter() - started, 1)}


def mean(values: dict[str, float], subset: list[str]) -> float:
    return float(np.mean([values[q] for q in subset])) if subset else 0.0


def paired_ci(a: dict[str, float], b: dict[str, float], subset: list[str], seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over `subset` and its paired bootstrap 95% interval."""
    diff = np.array([a[q] - b[q] for q in subset])
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), size=(BOOTSTRAP, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(diff.mean()), float(lo), float(hi)


def dev_gain(r: dict, name: str) -> float:
    """Dev-half nDCG@10 of `name` minus that of the better single system on the dev half."""
    pq = r["per_query"]
    return mean(pq[name], r["dev"]) - max(mean(pq["dense"], r["dev"]), mean(pq["bm25"], r["dev"]))


def choose_alpha(family: str, tasks: list[dict]) -> float:
    """The one alpha with the best mean dev gain over `tasks` (ties: the one nearer 0.5)."""
    return max(ALPHAS, key=lambda a: (float(np.mean([dev_gain(r, f"{family}@{a}") for r in tasks])), -abs(a - 0.5)))


def summarise(results: list[dict]) -> dict:
    from seaembed.serve.fusion import DEFAULT_ALPHA, DEFAULT_FUSION

    fixed = {f: choose_alpha(f, results) for f in FAMILIES}
    fixed_gain = {f: float(np.mean([dev_gain(r, f"{f}@{fixed[f]}") for r in results])) for f in FAMILIES}
    chosen_family = max(FAMILIES, key=lambda f: fixed_gain[f])
    default = f"{DEFAULT_FUSION}@{DEFAULT_ALPHA.get(DEFAULT_FUSION)}" if DEFAULT_FUSION != "rrf" else "rrf"
    tasks = []
    for r in results:
        pq, dev, test = r["per_query"], r["dev"], r["test"]
        tuned = {f: max(ALPHAS, key=lambda a, f=f: (mean(pq[f"{f}@{a}"], dev), -abs(a - 0.5))) for f in FAMILIES}
        loto = {f: choose_alpha(f, [o for o in results if o is not r]) for f in FAMILIES}
        rows = {"dense": "dense", "bm25": "bm25", "rrf": "rrf", f"**{default}** (code default)": default}
        rows |= {f"{f} (fixed alpha {fixed[f]})": f"{f}@{fixed[f]}" for f in FAMILIES}
        rows |= {f"{f} (tuned on this task's dev: alpha {tuned[f]})": f"{f}@{tuned[f]}" for f in FAMILIES}
        table = {label: {"system": name, "dev": round(mean(pq[name], dev), 4), "test": round(mean(pq[name], test), 4),
                         "all": round(mean(pq[name], r["qids"]), 4)} for label, name in rows.items()}
        compare = {}
        for name in dict.fromkeys(["rrf", default, f"{chosen_family}@{fixed[chosen_family]}"]):
            compare[name] = {other: [round(x, 4) for x in paired_ci(pq[name], pq[other], test)]
                             for other in ("dense", "bm25", "rrf") if other != name}
        sweep = {f: {str(a): [round(mean(pq[f"{f}@{a}"], dev), 4), round(mean(pq[f"{f}@{a}"], test), 4)]
                     for a in ALPHAS} for f in FAMILIES}
        per_lang: dict[str, dict[str, float]] = {}
        for lang in sorted({v for v in r["langs"].values() if v}):
            qs = [q for q in r["qids"] if r["langs"][q] == lang]
            per_lang[lang] = {n: round(mean(pq[n], qs), 4) for n in dict.fromkeys(["dense", "bm25", "rrf", default])}
        ties = r["ties"]
        tasks.append({
            "task": r["task"], "n_queries": len(r["qids"]), "n_dev": len(dev), "n_test": len(test),
            "n_docs": r["n_docs"], "encode_seconds": r["encode_seconds"], "search_seconds": r["search_seconds"],
            "ndcg@10": table, "tuned_alpha": tuned,
            "leave_one_task_out": {f: {"alpha": loto[f], "test": round(mean(pq[f"{f}@{loto[f]}"], test), 4)}
                                   for f in FAMILIES},
            "test_half_differences_with_95ci": compare, "sweep_dev_test": sweep, "ndcg@10_per_lang_all": per_lang,
            "bm25_ties": {"queries_with_ties_in_top10": ties["queries_with_ties_in_top10"],
                          **{f"{h}_{w}": round(mean(ties[w], sub), 4) for h, sub in (("dev", dev), ("test", test))
                             for w in ("best", "worst")}},
            "word_coverage_dev": r["word_coverage_dev"],
            "queries_dense_beats_bm25_dev": sum(pq["dense"][q] > pq["bm25"][q] + 1e-9 for q in dev),
            "queries_bm25_beats_dense_dev": sum(pq["bm25"][q] > pq["dense"][q] + 1e-9 for q in dev),
        })
    return {"fixed_alpha": fixed, "fixed_alpha_mean_dev_gain": {f: round(g, 4) for f, g in fixed_gain.items()},
            "dev_chosen_family": chosen_family, "code_default": default, "tasks": tasks}


def verdict(summary: dict) -> str:
    default = summary["code_default"]
    parts = [f"Default fusion `{default}` (code default; dev halves chose `{summary['dev_chosen_family']}` at alpha "
             f"{summary['fixed_alpha'][summary['dev_chosen_family']]}), test halves:"]
    for t in summary["tasks"]:
        d = t["test_half_differences_with_95ci"][default]
        test = {v["system"]: v["test"] for v in t["ndcg@10"].values()}  # the default has a row of its own
        beats = all(d[o][1] > 0 for o in ("dense", "bm25"))
        ahead = all(d[o][0] > 0 for o in ("dense", "bm25"))
        word = ("beats both (95% intervals above 0)" if beats else
                "is ahead of both but not significantly" if ahead else "does not beat both")
        parts.append(f"{t['task']}: {word}: {test[default]:.4f} vs dense {test['dense']:.4f} / BM25 "
                     f"{test['bm25']:.4f} / RRF {test['rrf']:.4f} (vs BM25 {d['bm25'][0]:+.4f} "
                     f"[{d['bm25'][1]:+.4f}, {d['bm25'][2]:+.4f}]).")
    return " ".join(parts)


def render(report: dict) -> str:
    s = report["summary"]
    lines = ["# Hybrid search: dense vs BM25 vs five fusions", "",
             f"Model: `{report['model']}`. nDCG@10 through the serving code (`SearchIndex.search`, k=10, top 100 of "
             "each side fused). Queries split in two per task: even positions (`dev`) choose, odd positions (`test`)"
             f" report. Run: `.venv/bin/python experiments/hybrid_search.py{report.get('args', '')}` "
             f"({report['seconds']:.0f} s on this machine, embeddings from the evaluation stage's cache).", "",
             "Methods (seaembed/serve/fusion.py): `rrf` (k 60), `wrrf` (weighted RRF), `weighted` (min-max convex "
             "combination), `zscore` (z-score convex combination), `bounded` (min-max cosine + BM25 / the query's "
             "BM25 upper bound). `fixed alpha`: one dense weight per method for all three tasks (a shipped "
             "default); `tuned`: chosen on that task's dev half alone (per-index tuning); leave-one-task-out: "
             "chosen on the other two tasks' dev halves.", "",
             "Fixed dense weight per method (one number for all tasks, best mean dev gain over the better single "
             "system): " + ", ".join(f"{f} {a} (mean dev gain {s['fixed_alpha_mean_dev_gain'][f]:+.4f})"
                                     for f, a in s["fixed_alpha"].items()) +
             f". Dev-chosen method: **{s['dev_chosen_family']}**; code default (`seaembed index`, and search "
             f"when index.json names none): **{s['code_default']}**.", ""]
    for t in s["tasks"]:
        lines += [f"## {t['task']} ({t['n_queries']} queries: {t['n_dev']} dev / {t['n_test']} test; "
                  f"{t['n_docs']} documents)", "", "| system | dev | test | all |", "|---|---|---|---|"]
        for label, v in t["ndcg@10"].items():
            lines.append(f"| {label} | {v['dev']:.4f} | {v['test']:.4f} | {v['all']:.4f} |")
        lines += ["", "Test half, paired differences with bootstrap 95% intervals:", ""]
        for name, d in t["test_half_differences_with_95ci"].items():
            lines.append(f"- `{name}` " + "; ".join(f"vs {o} {m:+.4f} [{lo:+.4f}, {hi:+.4f}]"
                                                    for o, (m, lo, hi) in d.items()))
        loto = ", ".join(f"{f} alpha {v['alpha']} -> {v['test']:.4f}" for f, v in t["leave_one_task_out"].items())
        bt = t["bm25_ties"]
        lines += ["", f"Leave-one-task-out (alpha from the other tasks' dev halves), test half: {loto}.", "",
                  f"BM25 ties: {bt['queries_with_ties_in_top10']} of {t['n_queries']} queries have tied scores in "
                  f"BM25's top 10; ordering ties best/worst for the judgements gives BM25 dev {bt['dev_worst']:.4f}-"
                  f"{bt['dev_best']:.4f}, test {bt['test_worst']:.4f}-{bt['test_best']:.4f}. Dev queries where dense "
                  f"beats BM25: {t['queries_dense_beats_bm25_dev']}, BM25 beats dense: "
                  f"{t['queries_bm25_beats_dense_dev']}.", ""]
        wc = t["word_coverage_dev"]
        lines += ["Dev half, top hit holds every query word (BM25 tokens): " + ", ".join(
            f"{k} {v:.3f}" for k, v in wc["top1_has_every_query_word"].items()) +
            f". BM25 scores every full match above every partial match in {wc['full_matches_all_above_partial']:.3f}"
            f" of the {wc['queries_with_full_and_partial_bm25_matches']} dev queries having both (median ratio "
            f"lowest full / highest partial {wc['median_full_to_partial_bm25_ratio']}).", ""]
        for f in FAMILIES:
            sweep = ", ".join(f"{a}: {dv:.3f}/{tv:.3f}" for a, (dv, tv) in t["sweep_dev_test"][f].items())
            lines.append(f"- {f} sweep (alpha: dev/test): {sweep}")
        lines.append("")
        if len(t["ndcg@10_per_lang_all"]) > 1:
            names = list(next(iter(t["ndcg@10_per_lang_all"].values())))
            lines += ["| lang (all queries) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
            for lang, row in t["ndcg@10_per_lang_all"].items():
                lines.append(f"| {lang} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |")
            lines.append("")
    if "extra_model" in report:
        lines += render_extra(report["extra_model"], s["fixed_alpha"])
    lines += ["## Verdict", "", report["verdict"], ""]
    return "\n".join(lines)


def provenance(model: str) -> dict:
    """What a local model directory says about itself (a `seaembed run` output: its merge.json and run.json)."""
    path = Path(model)
    out: dict = {}
    for name, keys in (("merge.json", ("created", "base", "tuned", "method", "t")),
                       ("../run.json", ("started_at", "base_model", "train_data"))):
        f = path / name
        if f.is_file():
            data = json.loads(f.read_text(encoding="utf-8"))
            out |= {k: data[k] for k in keys if k in data}
    return out


def seen_in_training(train_data: str | None, task_paths: list[Path]) -> dict[str, str] | None:
    """Per task, how many corpus documents appear verbatim as a text of the extra model's training file."""
    from seaembed.evaluate.runners import doc_text
    from seaembed.evaluate.tasks import load_task

    if not train_data or not Path(train_data).is_file():
        return None
    texts: set[str] = set()
    with open(train_data, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for key in ("query", "positive"):
                if isinstance(row.get(key), str):
                    texts.add(row[key].strip())
            texts.update(n.strip() for n in row.get("negatives") or [] if isinstance(n, str))
    out = {}
    for path in task_paths:
        task = load_task(path)
        docs = [doc_text(d).strip() for d in task.corpus.values()]
        out[task.name] = f"{sum(d in texts for d in docs)} of {len(docs)}"
    return out


def render_extra(extra: dict, main_fixed: dict) -> list[str]:
    s = extra["summary"]
    lines = [f"## Extra rows: `{extra['model']}`", "",
             f"Provenance: {json.dumps(extra['provenance'])}. Same tasks, splits and serving code; test half. "
             f"`fixed` = the alphas chosen for the main model above ({', '.join(f'{f} {a}' for f, a in main_fixed.items())}); "
             "`tuned` = chosen on this model's dev half of the task. Corpus documents found verbatim in its "
             f"training file: {json.dumps(extra['corpus_texts_in_its_training_data'])}.", "",
             "| task | dense | BM25 | RRF | " + " | ".join(f"{f} fixed" for f in FAMILIES) + " | bounded tuned |",
             "|---" * (5 + len(FAMILIES)) + "|"]
    for t in s["tasks"]:
        sweep = t["sweep_dev_test"]
        test = {v["system"]: v["test"] for v in t["ndcg@10"].values()}
        fixed = [f"{sweep[f][str(main_fixed[f])][1]:.4f}" for f in FAMILIES]
        tuned = t["tuned_alpha"]["bounded"]
        lines.append(f"| {t['task']} | {test['dense']:.4f} | {test['bm25']:.4f} | {test['rrf']:.4f} | "
                     + " | ".join(fixed) + f" | {sweep['bounded'][str(tuned)][1]:.4f} (alpha {tuned}) |")
    lines += ["", extra["verdict"], ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="packaged:multilingual-e5-small")
    parser.add_argument("--max-queries", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "hybrid_search"))
    parser.add_argument("--extra-model", default=None,
                        help="Also run another model (e.g. the final model of `seaembed run`) as extra rows; the "
                             "method and alpha choices stay those of --model.")
    args = parser.parse_args()

    from seaembed.evaluate.encoders import load_encoder
    from seaembed.samples import task_dirs

    started = time.perf_counter()
    encoder = load_encoder(args.model, batch_size=64)
    shipped = {p.name: p for p in task_dirs("domain")}
    results, extra = [], []
    with tempfile.TemporaryDirectory() as tmp:
        task_paths = [shipped["multilingual-product-search"], shipped["prdect-category-retrieval"],
                      build_title_query_task(Path(tmp) / "prdect-title-queries")]
        for path in task_paths:
            print(f"{path.name} ...", flush=True)
            results.append(evaluate_task(path, encoder, args.max_queries))
        if args.extra_model:
            extra_encoder = load_encoder(args.extra_model, batch_size=64)
            for path in task_paths:
                print(f"{path.name} ({args.extra_model}) ...", flush=True)
                extra.append(evaluate_task(path, extra_encoder, args.max_queries))
            seen = seen_in_training(provenance(args.extra_model).get("train_data"), task_paths)
    summary = summarise(results)
    report = {"model": args.model, "max_queries": args.max_queries, "alphas": ALPHAS, "summary": summary,
              "seconds": round(time.perf_counter() - started, 1),
              "args": (f" --extra-model {args.extra_model}" if args.extra_model else "")}
    report["verdict"] = verdict(summary)
    if extra:
        report["extra_model"] = {"model": args.extra_model, "provenance": provenance(args.extra_model),
                                 "corpus_texts_in_its_training_data": seen, "summary": summarise(extra)}
        report["extra_model"]["verdict"] = verdict(report["extra_model"]["summary"])
    out = Path(args.out)
    write_json(out.with_suffix(".json"), report)
    write_text(out.with_suffix(".md"), render(report))
    print(render(report))


if __name__ == "__main__":
    main()

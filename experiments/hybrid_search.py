"""Dense vs BM25 vs hybrid retrieval (five fusion methods), through the evaluation stage's tasks, metrics and BM25
tokeniser and the serving stage's own search code (`SearchIndex.search`, `seaembed.search.fusion`).

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

Every system runs through the per-index tuning's code (`seaembed.search.tune_fusion`: an in-memory `SearchIndex`,
flat faiss + the index's BM25, k1 1.5, b 0.75), exactly as `seaembed serve` answers `/search` with k=10: dense,
bm25, and hybrid over the top 100 of each side with `rrf`, and `wrrf`, `weighted`, `zscore` and `bounded` fusion
at dense weights 0, 0.05, ..., 1 (seaembed/search/fusion.py).

Each task's queries are split in two: the even positions (`dev`) choose, the odd positions (`test`) report.
- `fixed` alpha: one dense weight per fusion method for the three voting tasks (not the typo copy), the one with
  the best mean dev-half gain over the better single system (what a shipped default has to be);
- `tuned` alpha: chosen on that task's dev half alone;
- leave-one-task-out: alpha chosen on the dev halves of the other voting tasks (not the task's typo sibling);
- per-index tuning: `tune_fusion`'s choice (default fusion, best mean nDCG@10, ties to a single system) on the dev
  halves of the pipeline's default `tune_on` tasks (`seaembed.pipeline.config.DEFAULT_TUNE_ON`); the two title
  tasks are held out from it entirely. The same choice on all those tasks' queries is what `seaembed run` stores.
Ties between alphas follow `tune_fusion.choose_alpha` everywhere. Differences on the test half come with a paired
bootstrap 95% interval (2,000 resamples of the test queries).

Usage:

    .venv/bin/python experiments/hybrid_search.py [--model packaged:multilingual-e5-small] [--max-queries 300] \
        [--extra-model runs/demo/merged]

Writes experiments/results/hybrid_search.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seaembed.atomic import write_json, write_jsonl, write_results, write_text  # noqa: E402
from seaembed.pipeline.config import DEFAULT_TUNE_ON  # noqa: E402
from seaembed.search.tune_fusion import (  # noqa: E402
    GRID,
    K,
    choose_alpha,
    per_query_ndcg,
    prepare_task,
    search,
    system_name,
    tuning_from_scores,
)

DATASETS = ROOT.parent / "shared" / "datasets"
ALPHAS = list(GRID)  # dense weight, 0 (BM25 alone) to 1 (dense alone) in steps of 0.05: per-index tuning's grid
FAMILIES = ("wrrf", "weighted", "zscore", "bounded")
PIPELINE_TASKS = tuple(entry.rsplit("/", 1)[-1] for entry in DEFAULT_TUNE_ON)  # the index stage's tune_on tasks
BOOTSTRAP = 2000


def build_title_query_task(out: Path, *, n_queries: int = 300, seed: int = 0) -> Path:
    """A BEIR-layout retrieval task of shopper-style queries over PRDECT-ID product names (see module doc)."""
    from seaembed.data.io import iter_records
    from seaembed.evaluate.title_queries import cut_title_queries

    names: dict[str, str] = {}
    for rec in iter_records(DATASETS / "prdect_id" / "prdect_id.csv", delimiter=";", required=["Product Name"]):
        names.setdefault(rec.get("Product Name").strip(), rec.data.get("Category") or "")
    titles = sorted(names)
    ids = {t: f"p{i:04d}" for i, t in enumerate(titles)}
    queries, qrels = cut_title_queries([(ids[t], t) for t in titles], n_queries, seed)
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


def system_names() -> list[tuple[str, str, float | None]]:
    """(name, mode or fusion, alpha) of every system run."""
    out: list[tuple[str, str, float | None]] = [("dense", "dense", None), ("bm25", "bm25", None), ("rrf", "rrf", None)]
    out += [(system_name(f, a), f, a) for f in FAMILIES for a in ALPHAS]
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
            hits = search(index, qv[i], text, method, alpha, k=1)
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


def evaluate_task(task_dir: Path, encoder, max_queries: int | None, *, select: bool = True,
                  group: str | None = None) -> dict:
    """Per-query nDCG@10 of every system on one task (plus its dev/test split and tie diagnostics). `select`: the
    task takes part in choosing the fixed alpha and method; `group`: tasks sharing their queries (none of them
    chooses a leave-one-task-out alpha for another)."""
    from seaembed.evaluate.tasks import load_task
    from seaembed.search.fusion import DEFAULT_ALPHA, DEFAULT_FUSION

    task = load_task(task_dir)
    qids = sorted(task.qrels)
    if max_queries and len(qids) > max_queries:
        qids = sorted(random.Random(0).sample(qids, max_queries))
    started = time.perf_counter()
    prepared = prepare_task(task, encoder, qids)  # the per-index tuning's own code path
    prepare_seconds = time.perf_counter() - started
    started = time.perf_counter()
    per_query = {name: per_query_ndcg(prepared, method, alpha) for name, method, alpha in system_names()}
    search_seconds = time.perf_counter() - started
    default_alpha = DEFAULT_ALPHA.get(DEFAULT_FUSION)
    shown = {"dense": ("dense", None), "bm25": ("bm25", None), "rrf": ("rrf", None),
             system_name(DEFAULT_FUSION, default_alpha): (DEFAULT_FUSION, default_alpha)}
    dev_idx = list(range(0, len(qids), 2))
    coverage = word_coverage(prepared.index, task, [qids[i] for i in dev_idx], prepared.query_vectors[dev_idx], shown)
    return {"task": task.name, "select": select, "group": group or task.name, "qids": qids, "dev": qids[0::2],
            "test": qids[1::2], "n_docs": len(task.corpus), "word_coverage_dev": coverage,
            "langs": {q: task.queries[q].get("lang") for q in qids}, "per_query": per_query,
            "ties": bm25_tie_bounds(prepared.index, task, qids), "prepare_seconds": round(prepare_seconds, 1),
            "search_seconds": round(search_seconds, 1)}


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


def fixed_alpha(family: str, tasks: list[dict]) -> float:
    """The one alpha with the best mean dev gain over `tasks` (tie rule of `tune_fusion.choose_alpha`)."""
    return choose_alpha({a: float(np.mean([dev_gain(r, system_name(family, a)) for r in tasks])) for a in ALPHAS})


def per_index_tuning(results: list[dict], half: str) -> dict:
    """What the pipeline's index stage does (`tune_fusion` on its default `tune_on` tasks, default fusion), on the
    per-query scores measured here: `half` "dev" (dev halves only: the test halves stay clean) or "qids" (all
    queries, what `seaembed run` stores for this model)."""
    from seaembed.search.fusion import DEFAULT_FUSION

    runs = [(r["task"], "", r["per_query"], r[half]) for r in results if r["task"] in PIPELINE_TASKS]
    return tuning_from_scores(DEFAULT_FUSION, ALPHAS, runs).to_dict()


def summarise(results: list[dict]) -> dict:
    from seaembed.search.fusion import DEFAULT_ALPHA, DEFAULT_FUSION

    selection = [r for r in results if r["select"]]
    fixed = {f: fixed_alpha(f, selection) for f in FAMILIES}
    fixed_gain = {f: float(np.mean([dev_gain(r, system_name(f, fixed[f])) for r in selection])) for f in FAMILIES}
    chosen_family = max(FAMILIES, key=lambda f: fixed_gain[f])
    default = system_name(DEFAULT_FUSION, DEFAULT_ALPHA.get(DEFAULT_FUSION))
    pipeline_dev, pipeline_all = per_index_tuning(results, "dev"), per_index_tuning(results, "qids")
    tuned_system = system_name(pipeline_dev["method"], pipeline_dev["alpha"])
    by_name = {r["task"]: r for r in results}
    tasks = []
    for r in results:
        pq, dev, test = r["per_query"], r["dev"], r["test"]
        tuned = {f: choose_alpha({a: mean(pq[system_name(f, a)], dev) for a in ALPHAS}) for f in FAMILIES}
        loto = {f: fixed_alpha(f, [o for o in selection if o["group"] != r["group"]]) for f in FAMILIES}
        rows = {"dense": "dense", "bm25": "bm25", "rrf": "rrf", f"**{default}** (code default)": default,
                f"**{tuned_system}** (per-index tuning: pipeline tasks' dev halves)": tuned_system}
        rows |= {f"{f} (fixed alpha {fixed[f]})": system_name(f, fixed[f]) for f in FAMILIES}
        rows |= {f"{f} (tuned on this task's dev: alpha {tuned[f]})": system_name(f, tuned[f]) for f in FAMILIES}
        table = {label: {"system": name, "dev": round(mean(pq[name], dev), 4), "test": round(mean(pq[name], test), 4),
                         "all": round(mean(pq[name], r["qids"]), 4)} for label, name in rows.items()}
        compare = {}
        for name in dict.fromkeys(["rrf", default, tuned_system, system_name(chosen_family, fixed[chosen_family])]):
            compare[name] = {other: [round(x, 4) for x in paired_ci(pq[name], pq[other], test)]
                             for other in ("dense", "bm25", "rrf") if other != name}
        sweep = {f: {str(a): [round(mean(pq[system_name(f, a)], dev), 4), round(mean(pq[system_name(f, a)], test), 4)]
                     for a in ALPHAS} for f in FAMILIES}
        shown = list(dict.fromkeys(["dense", "bm25", "rrf", default, tuned_system]))
        per_lang: dict[str, dict[str, float]] = {}
        for lang in sorted({v for v in r["langs"].values() if v}):
            qs = [q for q in r["qids"] if r["langs"][q] == lang]
            per_lang[lang] = {n: round(mean(pq[n], qs), 4) for n in shown}
        ties = r["ties"]
        entry = {
            "task": r["task"], "selects_fixed_alpha": r["select"], "group": r["group"], "n_queries": len(r["qids"]),
            "n_dev": len(dev), "n_test": len(test), "n_docs": r["n_docs"], "prepare_seconds": r["prepare_seconds"],
            "search_seconds": r["search_seconds"], "ndcg@10": table, "tuned_alpha": tuned,
            "leave_one_task_out": {f: {"alpha": loto[f], "test": round(mean(pq[system_name(f, loto[f])], test), 4)}
                                   for f in FAMILIES},
            "test_half_differences_with_95ci": compare, "sweep_dev_test": sweep, "ndcg@10_per_lang_all": per_lang,
            "bm25_ties": {"queries_with_ties_in_top10": ties["queries_with_ties_in_top10"],
                          **{f"{h}_{w}": round(mean(ties[w], sub), 4) for h, sub in (("dev", dev), ("test", test))
                             for w in ("best", "worst")}},
            "word_coverage_dev": r["word_coverage_dev"],
            "queries_dense_beats_bm25_dev": sum(pq["dense"][q] > pq["bm25"][q] + 1e-9 for q in dev),
            "queries_bm25_beats_dense_dev": sum(pq["bm25"][q] > pq["dense"][q] + 1e-9 for q in dev),
        }
        if "typos" in r:
            entry["typos"] = typo_breakdown(r, by_name.get(r["typos"]["clean_task"]), shown)
        tasks.append(entry)
    return {"fixed_alpha": fixed, "fixed_alpha_mean_dev_gain": {f: round(g, 4) for f, g in fixed_gain.items()},
            "fixed_alpha_tasks": [r["task"] for r in selection], "dev_chosen_family": chosen_family,
            "code_default": default, "per_index_tuning_dev_halves": pipeline_dev,
            "per_index_tuning_all_queries": pipeline_all, "per_index_tuned_system": tuned_system, "tasks": tasks}


def typo_breakdown(r: dict, clean: dict | None, systems: list[str]) -> dict:
    """Test half of the typo task split into queries with and without a typo; for the typo'd ones, the same
    queries without the typo (the clean task) beside them."""
    pq, test = r["per_query"], r["test"]
    with_typo = set(r["typos"]["qids_with_typo"])
    typo_test = [q for q in test if q in with_typo]
    clean_test = [q for q in test if q not in with_typo]
    out = {k: v for k, v in r["typos"].items() if k != "qids_with_typo"}
    out |= {"n_test_with_typo": len(typo_test), "n_test_clean": len(clean_test),
            "test_with_typo": {n: round(mean(pq[n], typo_test), 4) for n in systems},
            "test_clean": {n: round(mean(pq[n], clean_test), 4) for n in systems}}
    if clean is not None:
        out["same_queries_without_typo"] = {n: round(mean(clean["per_query"][n], typo_test), 4) for n in systems}
    return out


def verdict(summary: dict, name: str, label: str) -> str:
    """Does system `name` beat both single systems on each task's test half?"""
    parts = [f"{label}, test halves:"]
    for t in summary["tasks"]:
        d = t["test_half_differences_with_95ci"][name]
        test = {v["system"]: v["test"] for v in t["ndcg@10"].values()}
        if name in ("dense", "bm25"):
            continue
        beats = all(d[o][1] > 0 for o in ("dense", "bm25"))
        ahead = all(d[o][0] > 0 for o in ("dense", "bm25"))
        same = [o for o in ("dense", "bm25") if d[o] == [0.0, 0.0, 0.0]]
        word = (f"is {same[0]} search (single-system fallback)" if same else
                "beats both (95% intervals above 0)" if beats else
                "is ahead of both but not significantly" if ahead else "does not beat both")
        parts.append(f"{t['task']}: {word}: {test[name]:.4f} vs dense {test['dense']:.4f} / BM25 "
                     f"{test['bm25']:.4f} / RRF {test['rrf']:.4f} (vs dense {d['dense'][0]:+.4f} "
                     f"[{d['dense'][1]:+.4f}, {d['dense'][2]:+.4f}], vs BM25 {d['bm25'][0]:+.4f} "
                     f"[{d['bm25'][1]:+.4f}, {d['bm25'][2]:+.4f}]).")
    return " ".join(parts)


def verdicts(summary: dict) -> list[str]:
    fam = summary["dev_chosen_family"]
    tuning = summary["per_index_tuning_dev_halves"]
    return [verdict(summary, summary["code_default"], f"Default fusion `{summary['code_default']}` (code default; "
                    f"dev halves chose `{fam}` at alpha {summary['fixed_alpha'][fam]})"),
            verdict(summary, summary["per_index_tuned_system"],
                    f"Per-index tuning `{summary['per_index_tuned_system']}` (`tune_fusion` on the dev halves of "
                    f"{' and '.join(PIPELINE_TASKS)}: {describe_tuning(tuning)})")]


def describe_tuning(t: dict) -> str:
    what = {"dense": ", dense alone", "bm25": ", BM25 alone"}.get(t["single_system"] or "", "")
    return (f"alpha {t['alpha']}{what}, mean nDCG@10 {t['mean_ndcg']:.4f} vs dense {t['mean_dense']:.4f} / "
            f"BM25 {t['mean_bm25']:.4f} on {t['n_queries']} queries")


def render(report: dict) -> str:
    s = report["summary"]
    lines = ["# Hybrid search: dense vs BM25 vs five fusions, and per-index tuning", "",
             f"Model: `{report['model']}`. nDCG@10 through the serving code (`SearchIndex.search`, k=10, top 100 of "
             "each side fused). Queries split in two per task: even positions (`dev`) choose, odd positions (`test`)"
             f" report. Run: `.venv/bin/python experiments/hybrid_search.py{report.get('args', '')}` "
             f"({report['seconds']:.0f} s on this machine, embeddings from the evaluation stage's cache).", "",
             "Methods (seaembed/search/fusion.py): `rrf` (k 60), `wrrf` (weighted RRF), `weighted` (min-max convex "
             "combination), `zscore` (z-score convex combination), `bounded` (min-max cosine + BM25 / the query's "
             "BM25 upper bound); alpha is the dense weight, grid 0 to 1 in steps of 0.05 (1: dense search; 0: BM25 "
             "search, the candidates it does not match after it in dense order). `fixed alpha`: one dense weight "
             f"per method for {', '.join(s['fixed_alpha_tasks'])} together "
             "(a shipped default; the typo task shares its queries with the title task and does not vote); "
             "`tuned`: chosen on that task's dev half alone; leave-one-task-out: chosen on the dev halves of the "
             "voting tasks other than this one and its typo sibling. **Per-index tuning**: "
             "`seaembed.search.tune_fusion` as the pipeline's index stage runs it (default fusion, its default "
             f"`tune_on` tasks {', '.join(PIPELINE_TASKS)}), here on their dev halves only, so every test half "
             "stays clean (the two title tasks are not tuned on at all).", "",
             "Fixed dense weight per method (best mean dev gain over the better single system): "
             + ", ".join(f"{f} {a} (mean dev gain {s['fixed_alpha_mean_dev_gain'][f]:+.4f})"
                         for f, a in s["fixed_alpha"].items()) +
             f". Dev-chosen method: **{s['dev_chosen_family']}**; code default (`seaembed index`, and search "
             f"when index.json names none): **{s['code_default']}**. Per-index tuning on the dev halves: "
             f"{describe_tuning(s['per_index_tuning_dev_halves'])}; on all their queries (what `seaembed run` "
             f"stores for this model): {describe_tuning(s['per_index_tuning_all_queries'])}.", ""]
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
        lines += ["", f"Leave-one-task-out (alpha from the other voting tasks' dev halves), test half: {loto}.", "",
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
        if "typos" in t:
            lines += render_typos(t["typos"])
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
    lines += ["## Verdict", ""] + [f"- {v}" for v in report["verdicts"]] + [""]
    return "\n".join(lines)


def render_typos(ty: dict) -> list[str]:
    names = list(ty["test_with_typo"])
    lines = [f"Typos (design fixed before any result, see the script's docstring): {ty['n_with_typo']} of "
             f"{ty['n_queries']} queries got one ({', '.join(f'{k} {v}' for k, v in ty['by_op'].items())}); "
             f"e.g. {'; '.join(ty['examples'][:4])}. Test half split:", "",
             "| test queries | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
             f"| with a typo ({ty['n_test_with_typo']}) | " + " | ".join(f"{ty['test_with_typo'][n]:.4f}" for n in names) + " |"]
    if "same_queries_without_typo" in ty:
        lines.append("| the same queries without it | "
                     + " | ".join(f"{ty['same_queries_without_typo'][n]:.4f}" for n in names) + " |")
    lines += [f"| without a typo ({ty['n_test_clean']}) | " + " | ".join(f"{ty['test_clean'][n]:.4f}" for n in names) + " |",
              ""]
    return lines


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
    tuned_system = s["per_index_tuned_system"]
    lines = [f"## Extra rows: `{extra['model']}`", "",
             f"Provenance: {json.dumps(extra['provenance'])}. Same tasks, splits and serving code; test half. "
             f"`fixed` = the alphas chosen for the main model above ({', '.join(f'{f} {a}' for f, a in main_fixed.items())}); "
             f"`per-index tuned` = `tune_fusion` for this model on the dev halves of {' and '.join(PIPELINE_TASKS)} "
             f"({describe_tuning(s['per_index_tuning_dev_halves'])}); `tuned on task` = chosen on this model's dev "
             "half of that task. Tuned on all queries of those two tasks, as `seaembed run` does for this model: "
             f"**{describe_tuning(s['per_index_tuning_all_queries'])}**. Corpus documents found verbatim in its "
             f"training file: {json.dumps(extra['corpus_texts_in_its_training_data'])}.", "",
             "| task | dense | BM25 | RRF | " + " | ".join(f"{f} fixed" for f in FAMILIES)
             + f" | per-index tuned ({tuned_system}) | bounded tuned on task |",
             "|---" * (6 + len(FAMILIES)) + "|"]
    for t in s["tasks"]:
        sweep = t["sweep_dev_test"]
        test = {v["system"]: v["test"] for v in t["ndcg@10"].values()}
        fixed = [f"{sweep[f][str(main_fixed[f])][1]:.4f}" for f in FAMILIES]
        tuned = t["tuned_alpha"]["bounded"]
        lines.append(f"| {t['task']} | {test['dense']:.4f} | {test['bm25']:.4f} | {test['rrf']:.4f} | "
                     + " | ".join(fixed) + f" | {test[tuned_system]:.4f} | "
                     f"{sweep['bounded'][str(tuned)][1]:.4f} (alpha {tuned}) |")
    lines.append("")
    for t in s["tasks"]:
        if "typos" in t:
            lines += [f"{t['task']}:", ""] + render_typos(t["typos"])
    lines += [f"- {v}" for v in extra["verdicts"]] + [""]
    return lines


def run_model(model: str, task_paths: list[tuple[Path, bool, str | None]], max_queries: int | None) -> list[dict]:
    from seaembed.evaluate.encoders import load_encoder

    encoder = load_encoder(model, batch_size=64)
    results = []
    for path, select, clean_task in task_paths:
        print(f"{path.name} ({model}) ...", flush=True)
        r = evaluate_task(path, encoder, max_queries, select=select, group=clean_task)
        if clean_task:
            r["typos"] = {**typo_stats(path), "clean_task": clean_task}
        results.append(r)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="packaged:multilingual-e5-small")
    parser.add_argument("--max-queries", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "hybrid_search"))
    parser.add_argument("--extra-model", default=None,
                        help="Also run another model (e.g. the final model of `seaembed run`) as extra rows; the "
                             "fixed method and alpha stay those of --model, per-index tuning is its own.")
    args = parser.parse_args()

    from seaembed.samples import task_dirs

    started = time.perf_counter()
    shipped = {p.name: p for p in task_dirs("domain")}
    extra: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        titles = build_title_query_task(Path(tmp) / "prdect-title-queries")
        typos = build_typo_task(titles, Path(tmp) / "prdect-title-queries-typos")
        # (path, votes for the fixed alpha, the clean task it is a typo'd copy of)
        task_paths = [(shipped["multilingual-product-search"], True, None),
                      (shipped["prdect-category-retrieval"], True, None), (titles, True, None),
                      (typos, False, "prdect-title-queries")]
        results = run_model(args.model, task_paths, args.max_queries)
        if args.extra_model:
            extra = run_model(args.extra_model, task_paths, args.max_queries)
            seen = seen_in_training(provenance(args.extra_model).get("train_data"), [p for p, _, _ in task_paths])
    summary = summarise(results)
    report = {"model": args.model, "max_queries": args.max_queries, "alphas": ALPHAS, "summary": summary,
              "seconds": round(time.perf_counter() - started, 1),
              "args": (f" --extra-model {args.extra_model}" if args.extra_model else "")}
    report["verdicts"] = verdicts(summary)
    if extra:
        report["extra_model"] = {"model": args.extra_model, "provenance": provenance(args.extra_model),
                                 "corpus_texts_in_its_training_data": seen, "summary": summarise(extra)}
        report["extra_model"]["verdicts"] = verdicts(report["extra_model"]["summary"])
    write_results(args.out, report, render(report))
    print(render(report))


if __name__ == "__main__":
    main()
